"""The store on PostgreSQL (asyncpg): the connection pool, its schema and its migrations."""
