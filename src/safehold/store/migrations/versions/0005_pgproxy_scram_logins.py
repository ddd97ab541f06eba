"""SCRAM verifiers of capabilities, for the PostgreSQL proxy's logins.

Revision ID: 0005_pgproxy_scram_logins
Revises: 0004_multi_signin_failures
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_pgproxy_scram_logins"
down_revision = "0004_multi_signin_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pgproxy_logins",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("capability_id", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("stored_key", sa.LargeBinary(), nullable=False),
        sa.Column("server_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )


def downgrade() -> None:
    op.drop_table("pgproxy_logins")
