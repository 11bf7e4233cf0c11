"""The audit log: append-only and hash-chained, so an edited or deleted line is detectable.

Each event's hash covers its own fields and the hash of the event before it, and is an HMAC
under a key derived from the instance secret, which is not in the database: someone who can
write to the database cannot edit a line and quietly recompute the chain after it. (Keep the
instance secret: a new one cannot verify the old chain.) ``prev_hash`` is
unique, so two servers appending at once cannot fork the chain: one of them waits (SQLite's
write lock, PostgreSQL's advisory lock) and the unique index is the last line of defence.
Events name people and records by id and never carry anything a child said.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .auth import instance_key
from .db import utcnow
from .models import AuditEvent, User

GENESIS = "0" * 64
_ADVISORY_LOCK = 0x766F696365  # "voice"


def _digest(prev_hash: str, at: datetime, actor: str, action: str, subject: str,
            detail: str) -> str:
    line = json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor, action,
                       subject, detail], separators=(",", ":"))
    return hmac.new(instance_key("audit-chain"), line.encode(), hashlib.sha256).hexdigest()


def actor_for(user: User | None) -> str:
    return f"{user.role}:{user.id}" if user else "anonymous"


def record(session: Session, action: str, *, actor: str, subject: str = "",
           **detail: str | int | bool | None) -> AuditEvent:
    """Append one event in the caller's transaction (it commits with the action it records)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK)))
    prev_hash = session.scalar(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    at = utcnow()
    detail_text = json.dumps(detail, sort_keys=True, separators=(",", ":")) if detail else ""
    event = AuditEvent(at=at, actor=actor, action=action, subject=subject, detail=detail_text,
                       prev_hash=prev_hash,
                       hash=_digest(prev_hash, at, actor, action, subject, detail_text))
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> int | None:
    """Return the id of the first event that breaks the chain, or None if it all holds."""
    expected = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(500):
        digest = _digest(event.prev_hash, event.at, event.actor, event.action, event.subject,
                         event.detail)
        if event.prev_hash != expected or event.hash != digest:
            return event.id
        expected = event.hash
    return None
