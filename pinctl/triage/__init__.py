"""Triage of the pin-failure reports apps send: read, pinned, classified against the pin file."""
