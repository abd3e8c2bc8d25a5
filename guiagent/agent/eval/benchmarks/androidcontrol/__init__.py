"""AndroidControl (the GUI-KV / STaR-KV step samples): the importer, our actions in its schema, its two rules."""
