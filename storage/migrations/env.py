"""Alembic's environment for the support database: the URL comes from the caller's config
(storage.migrate sets it from DESTEK_DATABASE_URL / DESTEK_DB), the target from storage.schema."""

from alembic import context

from storage.database import engine
from storage.schema import metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "storage.migrate sets sqlalchemy.url"
    with engine(url).connect() as connection:
        # SQLite: batch mode rebuilds a table for the ALTERs SQLite cannot do in place.
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run `make migrate` against the database")
run_migrations_online()
