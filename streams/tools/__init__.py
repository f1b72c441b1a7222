"""Tools for users of the log: lineage, audit and export (and replay)."""
