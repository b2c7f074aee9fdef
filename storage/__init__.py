"""Shared plumbing for every process that keeps state: the support database layer (database.py: SQLite or
PostgreSQL through SQLAlchemy; schema.py: every table; migrations/ and migrate.py: Alembic), and every default
file path with the variable that overrides it (paths.py)."""
