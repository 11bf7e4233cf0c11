"""Retention: deleting what voiceapp no longer needs, run on a schedule (``flask purge``).

The conference record, not voiceapp, is the lasting record. A submission is deleted a set
number of days after the chair records it in the minutes, and at the latest a set number of
days after the meeting, whichever comes first (both are organisation settings).

Deleting is crypto-shredding first: the wrapped content keys go, then the ciphertext and its
attachment chunks (with SQLite's ``secure_delete`` on, the bytes are overwritten too). Each
deletion is its own small transaction that removes only rows still there, so purge can run
twice, or on every server at once, and each deletion is written to the audit log once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, or_, select

from . import audit, speech
from .db import utcnow, write_transaction
from .models import (
    Conference, Draft, Invite, Organisation, StaffInvite, Submission, WebSession, WrappedKey,
)

ACTOR = "system:purge"
STAFF_LINKS_KEPT_DAYS = 30


# The longest anything is kept after the meeting (or after the minutes): the settings allow
# 1 to 90 days, and a setting changed in the database cannot keep children's words longer.
MOST_DAYS = 90


def _kept(days: int) -> timedelta:
    return timedelta(days=min(days, MOST_DAYS))


@dataclass
class PurgeReport:
    submissions: list[str] = field(default_factory=list)
    drafts: int = 0
    sessions: int = 0
    invites: int = 0
    staff_links: int = 0
    spoken: int = 0


def due_submissions(now: datetime) -> list[tuple[str, str]]:
    """(submission id, reason) for every submission past its retention period."""
    with write_transaction() as tx:
        rows = tx.execute(
            select(Submission.id, Submission.recorded_at, Conference.starts_at,
                   Organisation.retention_days_after_recorded,
                   Organisation.retention_days_after_meeting)
            .join(Conference, Submission.conference_id == Conference.id)
            .join(Organisation, Conference.organisation_id == Organisation.id)
            .where(or_(Submission.recorded_at.is_not(None), Conference.starts_at <= now))).all()
    due = []
    for submission_id, recorded_at, starts_at, after_recorded, after_meeting in rows:
        if recorded_at is not None and recorded_at + _kept(after_recorded) <= now:
            due.append((submission_id, "recorded"))
        elif starts_at + _kept(after_meeting) <= now:
            due.append((submission_id, "meeting"))
    return due


def shred_submission(submission_id, reason: str) -> bool:
    """Destroy the keys, then the ciphertext; False if another purge got there first."""
    with write_transaction() as tx:
        keys = tx.execute(delete(WrappedKey).where(WrappedKey.submission_id == submission_id))
        gone = tx.execute(delete(Submission).where(Submission.id == submission_id)).rowcount
        if gone:
            audit.record(tx, "submission.deleted", actor=ACTOR,
                         subject=f"submission:{submission_id}", reason=reason,
                         keys_destroyed=keys.rowcount)
    return bool(gone)


def _expired_invites(now: datetime) -> list[int]:
    with write_transaction() as tx:
        rows = tx.execute(select(Invite.id, Conference.starts_at,
                                 Organisation.retention_days_after_meeting)
                          .join(Conference, Invite.conference_id == Conference.id)
                          .join(Organisation, Conference.organisation_id == Organisation.id)
                          .where(Conference.starts_at <= now)).all()
    return [invite_id for invite_id, starts_at, days in rows
            if starts_at + _kept(days) <= now]


def _delete_all(statement, action: str) -> int:
    with write_transaction() as tx:
        count = tx.execute(statement).rowcount
        if count:
            audit.record(tx, action, actor=ACTOR, count=count)
    return count


def purge(now: datetime | None = None) -> PurgeReport:
    now = now or utcnow()
    report = PurgeReport()
    for submission_id, reason in due_submissions(now):
        if shred_submission(submission_id, reason):
            report.submissions.append(str(submission_id))
    report.drafts = _delete_all(delete(Draft).where(Draft.expires_at <= now), "drafts.deleted")
    expired = _expired_invites(now)
    if expired:
        report.invites = _delete_all(delete(Invite).where(Invite.id.in_(expired)),
                                     "invites.deleted")
    report.staff_links = _delete_all(delete(StaffInvite).where(
        StaffInvite.expires_at <= now - timedelta(days=STAFF_LINKS_KEPT_DAYS)),
        "staff-links.deleted")
    with write_transaction() as tx:
        report.sessions = tx.execute(delete(WebSession).where(
            WebSession.expires_at <= now)).rowcount
    report.spoken = speech.forget_spoken(Path(current_app.instance_path) / "speech",
                                         now.timestamp())
    return report
