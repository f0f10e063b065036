"""The resolver guard loaded by the tests and their Python children."""
