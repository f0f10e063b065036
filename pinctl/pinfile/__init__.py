"""pins.toml: the model, its schema declared once, reading with errors that name the
line, and edits as one guarded transaction that keeps the user's layout."""
