"""Alembic migrations of the store, applied by `Database.migrate` (see env.py)."""
