"""The database: engines, one SQLAlchemy session per request, the declarative Base.

Reading and writing are kept apart, so that one slow request never holds up everyone else:

- A request reads without a transaction (each statement on its own). On SQLite, in WAL
  mode, readers never wait for the writer, and nothing is locked while a request body is
  still arriving, while an upload is being checked, or while Argon2 runs.
- Everything a request changes happens in one short write transaction, :func:`writing`,
  opened only once the form and files have been received and checked. On SQLite it takes
  the write lock at its start (``BEGIN IMMEDIATE``), so it waits its turn instead of failing
  half-way; what it must re-check (a draft, a session) it re-reads inside.
- The request's session row is saved inside that same transaction.
- A statement that writes while the request is only reading is refused
  (:class:`WriteWhileReading`): a write can never slip out of its transaction.

Commands and background work use :func:`write_transaction`, a session of their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import DateTime, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

_MODE = "voiceapp_mode"  # an execution option: "read" or "write"
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class WriteWhileReading(RuntimeError):
    """A statement tried to change the database outside :func:`writing`."""


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
        mode = connection.get_execution_options().get(_MODE)
        if mode == "read":
            return  # each statement reads on its own, holding nothing
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "write" else "BEGIN")


def _refuse_writes_while_reading(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def check(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        if connection.get_execution_options().get(_MODE) == "read" and _WRITES.match(statement):
            raise WriteWhileReading("a write outside voiceapp.db.writing()")


def _private_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (its -wal and -shm files follow
    it), and tighten an existing one: a copy of it is everything children sent."""
    path = make_url(url).database
    if not path or path == ":memory:":
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
    except OSError:  # no such folder: the health check will say the database is down
        pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _private_file(url)
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    _refuse_writes_while_reading(engine)
    return engine


class Database:
    """The engines and session factories of one app."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        sqlite = self.engine.dialect.name == "sqlite"
        # PostgreSQL reads in autocommit; SQLite simply never opens a transaction to read.
        self.read_options = {_MODE: "read", **({} if sqlite else {"isolation_level": "AUTOCOMMIT"})}
        self.write_options = {_MODE: "write",
                              **({} if sqlite else {"isolation_level": "READ COMMITTED"})}
        self.read_engine = self.engine.execution_options(**self.read_options)
        self.write_engine = self.engine.execution_options(**self.write_options)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
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


def _request_session() -> Session:
    if "db_session" not in g:
        factory = (database().read_sessions if has_request_context()
                   else database().write_sessions)
        g.db_session = factory()
    return g.db_session


db: Session = LocalProxy(_request_session)  # type: ignore[assignment]
"""The SQLAlchemy session of the current request (reading) or command (writing)."""


def release_request_session() -> None:
    """Close the request's session (and give back its connection)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def in_writing() -> bool:
    """Whether the current request is inside :func:`writing`."""
    return bool(g.get("db_writing"))


@contextmanager
def writing() -> Iterator[Session]:
    """The request's one write transaction: it commits at the end of the block, saving the
    request's session row in it too, or rolls everything back if the block fails.

    Open it after the form and files have been received and checked, never around Argon2 or
    anything slow: on SQLite, every other writer waits while it is open.
    """
    if in_writing():
        raise RuntimeError("writing() is already open")
    session = _request_session()
    session.commit()  # ends the reading (nothing to write: writes were refused)
    session.connection(execution_options=database().write_options)
    g.db_writing = True
    try:
        yield session
        if has_request_context():
            current_app.session_interface.save_within(session)
        session.commit()
    except BaseException:
        try:
            session.rollback()
        except SQLAlchemyError:  # the connection is gone: the next use starts afresh
            release_request_session()
        raise
    finally:
        g.db_writing = False


@contextmanager
def write_transaction() -> Iterator[Session]:
    """A short write transaction in a session of its own (SQLite: the write lock from the
    start), for commands and background work. Requests use :func:`writing` instead."""
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


def upgrade_schema(url: str, secret_key: str | None = None) -> None:
    """Bring the database at ``url`` up to the newest migration. ``secret_key`` (the
    instance secret) lets a migration seal rows that were written before seals existed."""
    from alembic import command

    config = alembic_config(url)
    config.attributes["secret_key"] = secret_key
    command.upgrade(config, "head")
