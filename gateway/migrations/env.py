"""alembic's environment: migrations run on the connection gateway.migrations hands in.

There is no alembic.ini and no URL here: ``gateway.migrations`` opens the database the
way the gateway does (gateway.db) and passes the connection, so SQLite's pragmas and
PostgreSQL's search_path are the ones the code runs with.
"""

from __future__ import annotations

from alembic import context

from gateway.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it; alembic's batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
