"""Storage: SQLite through aiosqlite. All SQL lives in this package."""
