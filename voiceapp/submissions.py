"""Sealing what a child (or an advocate for them) sends, and opening it for its readers.

A submission is stored in one transaction: the sealed answers, one wrapped content key per
reader, and its attachments moved from the draft. The idempotency key (unique) makes a
second send of the same draft -- a double tap, a retry after a dropped connection -- find
the first instead of making another.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import audit, crypto, keyring
from .models import (
    AdvocacyService, Attachment, Author, Conference, Invite, Role, Submission, User, WrappedKey,
)
from .questions import GATHERED, HOUSES, LOW_SCORE, Row, label_of, summary_rows

PAYLOAD_VERSION = 1


def submission_context(submission_id: uuid.UUID, conference_id: int) -> bytes:
    return crypto.context("submission", submission=submission_id, conference=conference_id)


def is_urgent(answers: dict) -> bool:
    """A safety score of 3 or less puts the submission at the top of the chair's inbox."""
    score = answers.get("safety")
    return isinstance(score, int) and score <= LOW_SCORE


def advocates_for(tx: Session, invite: Invite | None, service_id: int | None) -> list[User]:
    """The advocates who may read what a child shares: the service's and the assigned one."""
    conditions = []
    if service_id is not None:
        conditions.append(User.advocacy_service_id == service_id)
    if invite is not None and invite.assigned_advocate_id is not None:
        conditions.append(User.id == invite.assigned_advocate_id)
    if not conditions:
        return []
    return list(tx.scalars(select(User).where(
        User.role == Role.ADVOCATE, User.disabled_at.is_(None), or_(*conditions))))


def seal_submission(tx: Session, *, conference: Conference, invite: Invite | None,
                    payload: dict, idempotency_key: str, language: str,
                    author: Author = Author.CHILD, author_user: User | None = None,
                    readers: list[User] = (), attachments: list[Attachment] = (),
                    advocacy_service: AdvocacyService | None = None,
                    started_at: datetime | None = None) -> Submission:
    """Seal ``payload`` to the chair, the recovery key and ``readers``; add it to ``tx``."""
    submission_id = uuid.uuid4()
    context = submission_context(submission_id, conference.id)
    recipients = keyring.recipients_for(tx, conference, list(readers))
    body = json.dumps({"v": PAYLOAD_VERSION, **payload}, separators=(",", ":")).encode()
    envelope = crypto.seal_for_recipients(body, recipients, context)
    submission = Submission(
        id=submission_id, conference_id=conference.id,
        invite_id=invite.id if invite else None, author=author,
        author_user_id=author_user.id if author_user else None, language=language,
        urgent=is_urgent(payload.get("answers", {})), idempotency_key=idempotency_key,
        advocacy_service_id=advocacy_service.id if advocacy_service else None,
        shared_with_advocates=bool(readers), format_version=crypto.FORMAT_VERSION,
        ciphertext=envelope.ciphertext, started_at=started_at,
        wrapped_keys=[WrappedKey(recipient_key_id=key_id, wrapped=wrapped)
                      for key_id, wrapped in envelope.wrapped_keys.items()])
    tx.add(submission)
    tx.flush()
    for attachment in attachments:
        attachment.draft_id = None
        attachment.submission_id = submission.id
    return submission


def sent_detail(submission: Submission) -> dict:
    """What the audit log keeps about a send, for the coordinator's numbers: never content."""
    minutes = None
    if submission.started_at is not None:
        minutes = round((submission.created_at - submission.started_at).total_seconds() / 60)
    return {"conference": submission.conference_id, "author": submission.author,
            "language": submission.language, "minutes": minutes}


class CannotOpen(Exception):
    """None of the reader's keys is a recipient of this submission."""


def open_submission(submission: Submission, private_keys: dict[str, bytes]) -> dict:
    """The decrypted payload. Raises :class:`CannotOpen` if no key fits, and
    :class:`crypto.DecryptionError` if the stored data was changed."""
    context = submission_context(submission.id, submission.conference_id)
    for wrapped in submission.wrapped_keys:
        if wrapped.recipient_key_id in private_keys:
            body, _ = crypto.open_envelope(submission.ciphertext, wrapped.wrapped,
                                           wrapped.recipient_key_id,
                                           private_keys[wrapped.recipient_key_id], context)
            payload = json.loads(body)
            if payload.get("v") != PAYLOAD_VERSION:
                raise crypto.DecryptionError("unknown payload version")
            return payload
    raise CannotOpen(str(submission.id))


@dataclass
class Reading:
    """What a reader sees of one submission: its payload, or why it cannot be shown."""

    submission: Submission
    payload: dict | None = None
    problem: str | None = None  # "no-key" or "tampered"

    @property
    def rows(self) -> list[Row]:
        """The answers, question by question, in the order the child was asked."""
        if self.payload is None:
            return []
        return summary_rows(self.payload.get("answers", {}), {},
                            about_child=self.submission.author == Author.ADVOCATE)

    @property
    def advocate_note(self) -> dict | None:
        """For views an advocate sent: who, how they were gathered, the child's agreement
        and the advocate's own summary (kept apart from the child's words)."""
        note = (self.payload or {}).get("advocate")
        if not note:
            return None
        return {**note, "gathered_label": label_of(GATHERED, note.get("gathered"))}


def read_for(tx: Session, reader: User, keys: dict[str, bytes], submission: Submission,
             action: str = "submission.opened") -> Reading:
    """Decrypt ``submission`` for ``reader`` and write who opened it to the audit log first.

    A submission whose stored bytes were changed is never shown, only reported.
    """
    subject = f"submission:{submission.id}"
    try:
        payload = open_submission(submission, keys)
    except CannotOpen:
        audit.record(tx, "submission.no-key", actor=audit.actor_for(reader), subject=subject)
        return Reading(submission, problem="no-key")
    except (crypto.DecryptionError, ValueError):
        audit.record(tx, "submission.tampered", actor=audit.actor_for(reader), subject=subject)
        return Reading(submission, problem="tampered")
    audit.record(tx, action, actor=audit.actor_for(reader), subject=subject)
    return Reading(submission, payload=payload)


def attachment_for(tx: Session, reader: User, keys: dict[str, bytes], submission: Submission,
                   attachment_id: str, record: bool) -> dict | None:
    """The sealed details (file key, type, name) of one of a submission's attachments, or
    None. ``record`` writes the opening to the audit log (once per playback, not per seek)."""
    try:
        payload = open_submission(submission, keys)
    except (CannotOpen, crypto.DecryptionError, ValueError):
        return None
    answers = payload.get("answers", {})
    meta = next((m for house in HOUSES for m in (answers.get(house) or {}).get(
        "attachments", []) if m.get("id") == attachment_id), None)
    if meta is not None and record:
        audit.record(tx, "attachment.opened", actor=audit.actor_for(reader),
                     subject=f"attachment:{attachment_id}", submission=str(submission.id))
    return meta


def reseal_with_recovery_key(tx: Session, user: User, recovery_private: bytes) -> int:
    """Give ``user`` their own wrapped key for every submission of the conferences they chair
    that they cannot open yet (a lost passphrase, a new chair, sent before they had a key),
    using the organisation's offline recovery key. Returns how many were resealed."""
    recovery_id = crypto.key_id_of(crypto.public_key_of(recovery_private))
    mine = keyring.active_key(tx, user.id, user.organisation_id)
    if mine is None:
        raise LookupError("this person has no key yet")
    recipient = crypto.Recipient(mine.id, mine.public_key)
    count = 0
    submissions = tx.scalars(select(Submission).join(Conference).where(
        Conference.chair_id == user.id, Conference.organisation_id == user.organisation_id))
    for submission in submissions:
        wrapped = {w.recipient_key_id: w for w in submission.wrapped_keys}
        if mine.id in wrapped or recovery_id not in wrapped:
            continue
        context = submission_context(submission.id, submission.conference_id)
        content_key = crypto.unwrap_content_key(wrapped[recovery_id].wrapped, recovery_id,
                                                recovery_private, context)
        tx.add(WrappedKey(submission_id=submission.id, recipient_key_id=mine.id,
                          wrapped=crypto.wrap_content_key(content_key, recipient, context)))
        count += 1
    return count
