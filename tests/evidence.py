"""Looking at what voiceapp stored, the way someone with a database dump would."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from voiceapp.db import Base


def raw_database_contains(app, needle: bytes) -> bool:
    """True if ``needle`` appears anywhere in the stored data: in any column of any row, and
    for SQLite in the database files themselves (including the write-ahead log)."""
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if value is None:
                        continue
                    data = value if isinstance(value, bytes) else str(value).encode()
                    if needle in data:
                        return True
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
            if file.exists() and needle in file.read_bytes():
                return True
    return False


def audit_actions(app) -> list[str]:
    from voiceapp.models import AuditEvent

    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return list(connection.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
