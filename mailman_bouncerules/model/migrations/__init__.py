"""Alembic migrations of the plugin's tables (own version table)."""
