"""Renderers: one module per result type, each with a RENDERERS registry keyed by `-o`.

Only `terminal` and the table renderers import rich, and only when stdout is a terminal.
"""
