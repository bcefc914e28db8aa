"""Bring a leads database to the newest revision of its schema (Alembic, in migrations/).

migrations/ is Alembic's script directory, deliberately not a Python package: the action
server imports every module of `actions`, and Alembic's env.py runs when imported. The
store calls `upgrade()` on first use, so the action server and the staff command line
upgrade a database themselves. A database
made before migrations existed (a `leads` table and no `alembic_version`) holds exactly the
first revision's table: it is stamped with that revision, then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

CONFIG_FILE = Path(__file__).resolve().parent / "migrations" / "alembic.ini"
BASELINE = "0001"  # the `leads` table as the store created it before migrations
_POSTGRES_LOCK = 7_370_841_620_105_101  # any number, the same in every process


def config(connection: sa.engine.Connection | None = None) -> Config:
    """Alembic's settings; with a connection, the migrations run on it (in its transaction)."""
    settings = Config(str(CONFIG_FILE))
    settings.attributes["connection"] = connection
    return settings


def upgrade(connection: sa.engine.Connection) -> None:
    """Bring the database to the newest revision, within the connection's transaction."""
    _one_at_a_time(connection)
    settings = config(connection)
    tables = sa.inspect(connection)
    if tables.has_table("leads") and not tables.has_table("alembic_version"):
        command.stamp(settings, BASELINE)
    command.upgrade(settings, "head")


def _one_at_a_time(connection: sa.engine.Connection) -> None:
    """Several processes (action servers, the staff command line) may find the database old at
    once: the first migrates, the others wait for its commit and then find nothing to do."""
    if connection.dialect.name == "postgresql":  # a lock released when the transaction ends
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK})
    elif connection.dialect.name == "sqlite":  # the write lock now, and the DDL in the transaction
        connection.exec_driver_sql("BEGIN IMMEDIATE")
