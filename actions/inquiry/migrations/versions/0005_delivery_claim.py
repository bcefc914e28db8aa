"""Delivery claims: which process is sending a lead to the CRM now, and until when.

With several action servers, each runs a delivery worker over the same leads table. Before a
POST a worker claims the lead (`claimed_by`, a token naming its host and process) for a lease
(`claimed_until`); no other worker takes a lead whose lease has not ended, and a worker that
dies mid-POST holds it only until then. Existing leads start unclaimed.

Revision ID: 0005_delivery_claim
Revises: 0004_delivery_schedule
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_delivery_claim"
down_revision = "0004_delivery_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128)))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
