"""How Alembic reaches the leads database: the store's connection when the store upgrades
it (store.py), otherwise LEADS_DATABASE_URL's database (the `alembic` command line)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from actions.inquiry.store import default_url, metadata


def run_migrations(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,  # what `revision --autogenerate` compares the database with
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=default_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := context.config.attributes.get("connection")) is not None:
    run_migrations(shared)
else:
    with sa.create_engine(default_url(), future=True).begin() as own:
        run_migrations(own)
