"""Rotation (SPEC.md section 10): what `plan` finds about a host's pins, and `promote`."""
