"""Alembic environment: migrations run against voiceapp's own engine setup."""

from alembic import context

from voiceapp import models  # noqa: F401 - registers every table on Base.metadata
from voiceapp.db import Base, make_engine

config = context.config


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
