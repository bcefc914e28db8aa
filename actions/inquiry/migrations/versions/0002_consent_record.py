"""The consent record: the wording's version and the channel of each consent, and the moment,
version and channel of the text-message consent.

Leads saved before it keep their `consent_at` (their submit time) and have no version or channel.

Revision ID: 0002_consent_record
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_consent_record"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("consent_wording_version", sa.String(128)),
    ("consent_channel", sa.String(64)),
    ("sms_consent_at", sa.DateTime(timezone=True)),
    ("sms_consent_wording_version", sa.String(128)),
    ("sms_consent_channel", sa.String(64)),
)


def upgrade() -> None:
    with op.batch_alter_table("leads") as table:
        for name, type_ in _COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
