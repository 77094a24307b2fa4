"""The store: one DuckDB file with the library's tables, and its ordered migrations."""
