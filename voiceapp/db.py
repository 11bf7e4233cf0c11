"""The database: one engine per app, one SQLAlchemy session per request, the declarative Base.

SQLite (the embedded default) gets WAL, foreign keys, ``secure_delete`` and a busy timeout on
every connection. A transaction that reads and then writes must take SQLite's write lock at
its start (``BEGIN IMMEDIATE``), or a concurrent writer makes it fail instead of wait; so
requests that change things (POST and friends, and GET views marked with :func:`writes`) and
:func:`write_transaction` use the "write" engine, and page views use the plain one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (the same on SQLite and PG)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use voiceapp.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "secure_delete=ON",
                       "busy_timeout=15000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """The engines and session factories of one app."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.write_engine = self.engine.execution_options(sqlite_immediate=True)
        self.read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    def is_up(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "down" to the health check
            return False


def database() -> Database:
    return current_app.extensions["voiceapp.db"]


def writes(view):
    """Mark a GET view that changes the database, so its transaction takes the write lock
    from the start (SQLite) instead of failing when it upgrades."""
    view.writes_on_get = True
    return view


def _request_writes() -> bool:
    if not has_request_context() or request.method not in _READ_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


def _request_session() -> Session:
    if "db_session" not in g:
        factory = database().write_sessions if _request_writes() else database().read_sessions
        g.db_session = factory()
    return g.db_session


db: Session = LocalProxy(_request_session)  # type: ignore[assignment]
"""The SQLAlchemy session of the current request (or CLI command)."""


def release_request_session() -> None:
    """End the request's transaction (and SQLite lock) before the response is written."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def write_transaction() -> Iterator[Session]:
    """A short transaction of its own that holds the write lock (SQLite) from the start.

    For commands and for saving sessions after a request's own transaction has ended; a view
    writes through :data:`db` instead (a second writer inside a writing request would wait
    for its own lock).
    """
    with database().write_sessions() as session, session.begin():
        yield session


def init_app(app: Flask, url: str) -> None:
    app.extensions["voiceapp.db"] = Database(url)

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        release_request_session()


def alembic_config(url: str):
    """Alembic's settings for voiceapp's ``migrations/`` folder and ``url``."""
    from alembic.config import Config

    from .resources import folder

    config = Config()
    config.set_main_option("script_location", str(folder("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(url: str) -> None:
    """Bring the database at ``url`` up to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
