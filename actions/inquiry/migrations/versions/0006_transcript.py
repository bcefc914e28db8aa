"""The conversation before the form, with each lead: what the visitor asked and was answered.

The advisor who calls a visitor back reads it (actions/inquiry/transcript.py): a JSON list
of {"role", "text"} messages, masked and capped. Leads saved before this revision have none
(an empty list).

Revision ID: 0006_transcript
Revises: 0005_delivery_claim
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_transcript"
down_revision = "0005_delivery_claim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("transcript", sa.Text, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("transcript")
