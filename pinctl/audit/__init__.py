"""The audit log of SPEC.md section 11: one hash-chained JSON line per change to a pin file."""
