"""The leads table, exactly as the lead store created it before it had migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("study_option", sa.Text, nullable=False),
        sa.Column("contact_method", sa.String(16), nullable=False),
        sa.Column("consent_text", sa.Text, nullable=False),
        sa.Column("consent_given", sa.Boolean, nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sms_consent_text", sa.Text),
        sa.Column("sms_consent_given", sa.Boolean),
        sa.Column("page_url", sa.Text),
        sa.Column("questions", sa.Text, nullable=False),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_leads_created_at", "leads", ["created_at"])
    op.create_index("ix_leads_delivery_status", "leads", ["delivery_status"])


def downgrade() -> None:
    op.drop_index("ix_leads_delivery_status", table_name="leads")
    op.drop_index("ix_leads_created_at", table_name="leads")
    op.drop_table("leads")
