"""Alembic environment: runs on the connection the service hands over (see plugin.storage.db).

Alembic runs this file as a script, at the top of the stack: it may import the forums'
tables (plugin/forums/tables.py), so that the metadata it compares against is complete.
"""

from alembic import context
from sqlalchemy import text

from plugin.forums.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Several processes may start at once on a fresh database; one migrates, the rest
        # wait here and then find nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    context.run_migrations()
