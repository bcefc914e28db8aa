"""Retention and erasure: when a lead was first exported, and a record of each erasure.

A lead's retention clock starts when it left us (delivered to the CRM or exported), so the
export time must be kept. An erasure record holds a salted hash of the identifier, never
the identifier itself.

Revision ID: 0003_retention
Revises: 0002_consent_record
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_retention"
down_revision = "0002_consent_record"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("exported_at", sa.DateTime(timezone=True)))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identifier_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leads_deleted", sa.Integer, nullable=False),
        sa.Column("conversations_deleted", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("exported_at")
