"""Per-lead delivery schedule: when each pending lead is next due for the CRM.

A lead the CRM cannot take yet waits for its own next attempt (exponential backoff), so a
lead that keeps failing never holds up newer ones. Leads pending before this revision are
due at once (their creation time); delivered leads, and failed ones (a status this
revision introduces), have no next attempt.

Revision ID: 0004_delivery_schedule
Revises: 0003_retention
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_delivery_schedule"
down_revision = "0003_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_leads_next_attempt_at", ["next_attempt_at"])
    leads = sa.table(
        "leads",
        sa.column("delivery_status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    op.execute(leads.update().where(leads.c.delivery_status == "pending").values(next_attempt_at=leads.c.created_at))


def downgrade() -> None:
    # A failed lead was never delivered: before this revision it was pending, retried each round.
    leads = sa.table("leads", sa.column("delivery_status", sa.String))
    op.execute(leads.update().where(leads.c.delivery_status == "failed").values(delivery_status="pending"))
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_next_attempt_at")
        batch.drop_column("next_attempt_at")
