"""Alembic migrations shipped with the package; `open_store` runs them, no alembic.ini needed."""
