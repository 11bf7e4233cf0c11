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


def change_as_voiceapp(app, model, *where, **values) -> int:
    """Change rows the way voiceapp itself would (through its models, so their integrity
    seals follow): for setting up a test, unlike :func:`change_as_attacker`."""
    with app.app_context():
        from voiceapp.db import write_transaction

        with write_transaction() as tx:
            rows = tx.scalars(select(model).where(*where)).all()
            for row in rows:
                for name, value in values.items():
                    setattr(row, name, value)
            return len(rows)


def change_as_attacker(app, statement) -> int:
    """Run ``statement`` straight on the database, as someone with write access but without
    the instance secret would: nothing of voiceapp's runs."""
    engine = app.extensions["voiceapp.db"].engine
    with engine.begin() as connection:
        return connection.execute(statement).rowcount


def count(app, model, *where) -> int:
    """How many rows of ``model`` (matching ``where``) the database holds."""
    from sqlalchemy import func

    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where))


def more_invites(app, n: int) -> list[str]:
    """``n`` more invites for the demo conference; their codes."""
    from voiceapp import invites
    from voiceapp.db import write_transaction
    from voiceapp.models import Conference

    with app.app_context(), write_transaction() as tx:
        conference = tx.scalar(select(Conference))
        return [invites.create_invite(tx, conference)[1] for _ in range(n)]


def printed_recovery_key(output: str) -> str:
    """The private recovery key in what `flask recovery-key` printed."""
    return next(line.strip() for line in output.splitlines()
                if line.strip().startswith("VOICEAPP-RECOVERY-1-"))


def readers_of(app, submission_id) -> set[str]:
    """Whose keys a submission was sealed to: staff emails, and "recovery"."""
    import uuid

    from voiceapp.models import RecipientKey, User, WrappedKey

    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        rows = connection.execute(
            select(User.email).select_from(WrappedKey)
            .join(RecipientKey, WrappedKey.recipient_key_id == RecipientKey.id)
            .outerjoin(User, RecipientKey.user_id == User.id)
            .where(WrappedKey.submission_id == uuid.UUID(str(submission_id)))).all()
    return {email or "recovery" for (email,) in rows}


def newest_submission(app) -> str:
    from voiceapp.models import Submission

    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return str(connection.scalar(select(Submission.id)
                                     .order_by(Submission.created_at.desc()).limit(1)))
