"""Alembic environment: always run on the connection `safehold.store.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from safehold.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("safehold migrations run through safehold.store.db.migrate()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
