"""Integrity seals: the rows that decide who may read, or what a reader is shown, vouched for
by a key that is not in the database.

Threat: someone who can write to the database but does not hold the instance secret (an
edited backup that gets restored, a database administrator, an SQL injection elsewhere).
Unsealed, they could insert a key and become a reader of the next submissions, move a
conference to another chair, tell a child another date, place or name for their meeting or
their helper, give a child who feels unsafe another number to call or send "Leave this page
quickly" to a site that watches, send the duty team's messages elsewhere, point an invite at
another conference, make a submission look as if it came from another child, or clear its
low-safety flag.

Each such row carries ``seal``: an HMAC-SHA256, keyed from the instance secret, over the
fields that matter (:data:`FIELDS`). Seals are set as rows are written through the ORM
(:func:`init_app`), so no code path can forget one. A row whose seal does not hold is never
used or shown as if it were true: the caller refuses it, and :func:`report_altered` writes
it to the audit log, where coordinators see a warning.

What a seal cannot stop: someone who also has the instance secret (the server itself),
deleting a row outright (the chair then sees less, never something false), and putting back
a row exactly as it was earlier, seal and all (a meeting's earlier date or place, say): a seal
vouches that voiceapp wrote a row, not that it is the newest version.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from .auth import instance_key
from .models import (
    AdvocacyService, Conference, Invite, KeyResetRequest, Organisation, RecipientKey, Submission,
    User,
)

log = logging.getLogger("voiceapp")

FIELDS: dict[type, tuple[str, ...]] = {
    RecipientKey: ("id", "organisation_id", "user_id", "public_key", "created_at",
                   "retired_at"),
    User: ("id", "organisation_id", "email", "name", "role", "advocacy_service_id",
           "disabled_at"),
    Conference: ("id", "organisation_id", "chair_id", "starts_at", "place"),
    Invite: ("id", "conference_id", "code_lookup", "assigned_advocate_id", "revoked_at"),
    Submission: ("id", "conference_id", "invite_id", "author", "author_user_id", "language",
                 "urgent", "advocacy_service_id", "shared_with_advocates", "format_version",
                 "idempotency_key", "created_at", "read_at", "read_by_id", "recorded_at"),
    KeyResetRequest: ("id", "user_id", "requested_by_id", "requested_at", "decided_at",
                      "approved"),
    Organisation: ("id", "name", "exit_url", "out_of_hours_phone", "languages", "duty_email",
                   "out_of_hours_email", "retention_days_after_recorded",
                   "retention_days_after_meeting"),
    AdvocacyService: ("id", "organisation_id", "name", "in_a_sentence", "description",
                      "contact", "translations", "shared_email", "active"),
}


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):  # JSON: the same words whatever order the database keeps
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def seal_over(table: str, values, key: bytes | None = None) -> str:
    """The seal of a row of ``table`` whose sealed fields hold ``values``, in order (the
    migrations pass the fields as they were at their revision)."""
    line = json.dumps([table, [_plain(value) for value in values]], separators=(",", ":"))
    return hmac.new(key or instance_key("row-seal"), line.encode(), hashlib.sha256).hexdigest()


def seal_of(row, key: bytes | None = None) -> str:
    """The seal ``row`` should carry, from its fields as they are now."""
    return seal_over(type(row).__tablename__, [getattr(row, f) for f in FIELDS[type(row)]],
                     key)


def holds(row) -> bool:
    """Whether ``row`` is as voiceapp last wrote it."""
    return hmac.compare_digest(row.seal or "", seal_of(row))


def subject_of(row) -> str:
    return f"{type(row).__tablename__}:{row.id}"


def report_altered(tx: Session, row, **detail) -> None:
    """Write a failed seal to the audit log, in ``tx`` (the caller commits it). The
    coordinator's pages warn about every such line."""
    from . import audit, notifications

    log.error("integrity: %s failed its check", subject_of(row))
    audit.record(tx, "integrity.altered", actor="system:integrity", subject=subject_of(row),
                 **detail)
    notifications.to_coordinators(tx, "coordinator.altered", once_within=timedelta(hours=1))


ALARMS = ("integrity.altered", "integrity.no-reader", "attachment.altered")


def recent_alarms(tx: Session, days: int = 30) -> int:
    """How many times in the last ``days`` voiceapp found something changed behind its back
    (the coordinator's pages say so)."""
    from .db import utcnow
    from .models import AuditEvent

    return tx.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(ALARMS), AuditEvent.at >= utcnow() - timedelta(days=days)))


def checked(tx: Session, row, **detail) -> bool:
    """True if ``row`` holds; otherwise report it (in ``tx``) and return False."""
    if holds(row):
        return True
    report_altered(tx, row, **detail)
    return False


# ---------------------------------------------------------------------------------------
# Sealing rows as they are written

_PENDING = "voiceapp.rows-to-seal"
# Rows this transaction inserted (nobody else wrote them) or a coordinator vouched for.
_WRITTEN = "voiceapp.rows-inserted"


def _held_before(row) -> bool:
    """Whether the row's seal held for the values it had when it was loaded, before this
    change: a row someone altered behind voiceapp's back is never sealed again as if good."""
    state = inspect(row)
    values = []
    for name in ("seal", *FIELDS[type(row)]):
        history = state.attrs[name].history
        values.append(history.deleted[0] if history.deleted else getattr(row, name))
    seal, *fields = values
    return hmac.compare_digest(seal or "", seal_over(type(row).__tablename__, fields))


def vouch(session: Session, row) -> None:
    """A coordinator has checked ``row`` (the organisation's settings, an advocacy service)
    and saved it: seal it as it now is, even if it was changed outside voiceapp before. Only
    for rows a coordinator sees whole on the page they save; the caller audits it."""
    session.info.setdefault(_WRITTEN, set()).add(id(row))


def _before_flush(session: Session, _context, _instances) -> None:
    """Seal every new or changed row in the statement that writes it. New rows whose id the
    database chooses (people, conferences, invites) are sealed just after (one more
    statement), once the id is known."""
    for row in [*session.new, *session.dirty]:
        if type(row) not in FIELDS:
            continue
        if row in session.new:
            session.info.setdefault(_WRITTEN, set()).add(id(row))
            if row.id is None:
                session.info.setdefault(_PENDING, []).append(row)
                continue
        elif id(row) not in session.info.get(_WRITTEN, ()) and not _held_before(row):
            log.error("integrity: %s was altered before this change; not sealing it",
                      subject_of(row))
            continue
        seal = seal_of(row)
        if row.seal != seal:
            row.seal = seal


def _after_flush_postexec(session: Session, _context) -> None:
    for row in session.info.pop(_PENDING, []):
        row.seal = seal_of(row)


def _transaction_ended(session: Session, *_args) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)


def listen(*sessionmakers) -> None:
    """Seal rows written through these session factories."""
    for factory in sessionmakers:
        event.listen(factory, "before_flush", _before_flush)
        event.listen(factory, "after_flush_postexec", _after_flush_postexec)
        event.listen(factory, "after_commit", _transaction_ended)
        event.listen(factory, "after_soft_rollback", _transaction_ended)
