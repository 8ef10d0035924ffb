"""Alembic environment: migrations always run on a connection the application hands over
(`Database.migrate`), inside its transaction; no alembic.ini is needed at run time.

To write a new revision after changing `store/tables.py`, autogenerate it against a database
migrated to the previous head, then read and tidy it:

    from alembic import command
    from alembic.config import Config
    from leadscore.settings import Settings
    from leadscore.store.database import MIGRATIONS, Database

    db = Database(Settings(database_url="sqlite:///scratch.db"))
    db.migrate()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message="what changed", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

from alembic import context

from leadscore.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through leadscore.store.database.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
