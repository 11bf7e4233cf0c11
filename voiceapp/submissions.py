"""Sealing what a child (or an advocate for them) sends, and opening it for its readers.

A submission is stored in one transaction: the sealed answers, one wrapped content key per
reader, and its attachments moved from the draft. The idempotency key (unique) makes a
second send of the same draft -- a double tap, a retry after a dropped connection -- find
the first instead of making another.

What a reader is shown about a submission must be what was sent:
- the sealed context binds the answers to the submission, its conference, its invite and
  who wrote it (format 2), so a row moved to another child or author no longer opens;
- the row's integrity seal (:mod:`voiceapp.integrity`) covers the metadata an inbox shows
  without opening anything (the invite, the author, urgency, read and recorded marks);
- urgency is worked out again from the answers when they are opened.
Anything that does not match is shown as "this record has been altered", never as a label.
The answers are padded to a size bucket before sealing, so the length of a ciphertext says
little about how much a child wrote.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import audit, crypto, integrity, keyring
from .db import utcnow
from .i18n import service_words
from .models import (
    AdvocacyService, Attachment, Author, Conference, Invite, ServiceWords, Submission, User,
    WrappedKey,
)
from .questions import GATHERED, LOW_SCORE, Row, files_in, label_of, summary_rows

PAYLOAD_VERSION = 1
# 1: the context binds the submission and conference; 2: also its invite and author.
SUBMISSION_FORMAT = 2
_SMALLEST_BUCKET = 2048  # more than every answer left empty takes


def submission_context(submission: Submission) -> bytes:
    if submission.format_version == 1:
        return crypto.context("submission", submission=submission.id,
                              conference=submission.conference_id)
    return crypto.context("submission", submission=submission.id,
                          conference=submission.conference_id, invite=submission.invite_id,
                          author=submission.author, author_user=submission.author_user_id)


def is_urgent(answers: dict) -> bool:
    """A safety score of 3 or less puts the submission at the top of the chair's inbox."""
    score = answers.get("safety")
    return isinstance(score, int) and not isinstance(score, bool) and score <= LOW_SCORE


def padded(body: bytes) -> bytes:
    """``body`` with spaces after it, up to the next power of two (2 KiB at least). JSON
    allows trailing spaces, so it reads back unchanged."""
    size = _SMALLEST_BUCKET
    while size < len(body):
        size *= 2
    return body + b" " * (size - len(body))


@dataclass
class Sent:
    submission: Submission
    advocates: list[User]  # the advocates it was sealed to
    chair: User | None  # the chair it was sealed to


def seal_submission(tx: Session, *, conference: Conference, invite: Invite | None,
                    payload: dict, idempotency_key: str, language: str,
                    author: Author = Author.CHILD, author_user: User | None = None,
                    agreed: keyring.Agreed = keyring.Agreed(),
                    draft_id: uuid.UUID | None = None, attachment_ids: list[uuid.UUID] = (),
                    advocacy_service_id: int | None = None,
                    started_at: datetime | None = None) -> Sent:
    """Seal ``payload`` to the chair, the recovery key and exactly who was ``agreed``; add
    it to ``tx``, and move the attachments ``attachment_ids`` of draft ``draft_id`` to it."""
    readers = keyring.recipients_for(tx, conference, agreed)
    submission = Submission(
        id=uuid.uuid4(), conference_id=conference.id, invite_id=invite.id if invite else None,
        author=author, author_user_id=author_user.id if author_user else None,
        language=language, urgent=is_urgent(payload.get("answers", {})),
        idempotency_key=idempotency_key,
        advocacy_service_id=advocacy_service_id,
        shared_with_advocates=bool(readers.advocates), format_version=SUBMISSION_FORMAT,
        started_at=started_at, created_at=utcnow(), read_at=None, read_by_id=None,
        recorded_at=None)
    body = json.dumps({"v": PAYLOAD_VERSION, **payload}, separators=(",", ":")).encode()
    envelope = crypto.seal_for_recipients(padded(body), readers.recipients,
                                          submission_context(submission))
    submission.ciphertext = envelope.ciphertext
    submission.wrapped_keys = [WrappedKey(recipient_key_id=key_id, wrapped=wrapped)
                               for key_id, wrapped in envelope.wrapped_keys.items()]
    tx.add(submission)
    tx.flush()
    if attachment_ids:
        tx.execute(update(Attachment).where(Attachment.id.in_(list(attachment_ids)),
                                            Attachment.draft_id == draft_id)
                   .values(draft_id=None, submission_id=submission.id)
                   .execution_options(synchronize_session=False))
    return Sent(submission, readers.advocates, readers.chair)


def sent_detail(submission: Submission) -> dict:
    """What the audit log keeps about a send, for the coordinator's numbers: never content."""
    minutes = None
    if submission.started_at is not None:
        minutes = round((submission.created_at - submission.started_at).total_seconds() / 60)
    return {"conference": submission.conference_id, "author": submission.author,
            "language": submission.language, "minutes": minutes}


class CannotOpen(Exception):
    """None of the reader's keys is a recipient of this submission."""


class Altered(crypto.DecryptionError):
    """The submission's row or its sealed answers were changed outside voiceapp."""


def open_submission(submission: Submission, private_keys: dict[str, bytes]) -> dict:
    """The decrypted payload. Raises :class:`CannotOpen` if no key fits, and
    :class:`Altered` (a :class:`crypto.DecryptionError`) if anything stored was changed."""
    if not integrity.holds(submission):
        raise Altered("the submission's row fails its seal")
    context = submission_context(submission)
    for wrapped in submission.wrapped_keys:
        if wrapped.recipient_key_id in private_keys:
            body, _ = crypto.open_envelope(submission.ciphertext, wrapped.wrapped,
                                           wrapped.recipient_key_id,
                                           private_keys[wrapped.recipient_key_id], context)
            payload = json.loads(body)
            if payload.get("v") != PAYLOAD_VERSION:
                raise Altered("unknown payload version")
            if is_urgent(payload.get("answers", {})) != submission.urgent:
                raise Altered("the urgent mark does not match the answers")
            return payload
    raise CannotOpen(str(submission.id))


@dataclass
class Reading:
    """What a reader sees of one submission: its payload, or why it cannot be shown."""

    submission: Submission
    payload: dict | None = None
    problem: str | None = None  # "no-key" or "altered"
    altered_files: set[str] = field(default_factory=set)  # voice notes or photos changed
    services: dict[int, ServiceWords] = field(default_factory=dict)  # in the reader's words
    added_later: bool = False  # the child sent something with this invite before

    @property
    def attachments(self) -> list[dict]:
        return files_in((self.payload or {}).get("answers", {}))

    @property
    def rows(self) -> list[Row]:
        """The answers, question by question, in the order the child was asked."""
        if self.payload is None:
            return []
        return summary_rows(self.payload.get("answers", {}), self.services,
                            about_child=self.submission.author == Author.ADVOCATE,
                            text_lang=self.payload.get("language", ""))

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

    A submission whose stored bytes or metadata were changed is never shown, only reported.
    """
    subject = f"submission:{submission.id}"
    try:
        payload = open_submission(submission, keys)
    except CannotOpen:
        audit.record(tx, "submission.no-key", actor=audit.actor_for(reader), subject=subject)
        return Reading(submission, problem="no-key")
    except (crypto.DecryptionError, ValueError):
        integrity.report_altered(tx, submission, reader=audit.actor_for(reader))
        return Reading(submission, problem="altered")
    audit.record(tx, action, actor=audit.actor_for(reader), subject=subject)
    return Reading(submission, payload=payload, services=_services_named(tx, reader, payload),
                   added_later=_added_later(tx, submission))


def _added_later(tx: Session, submission: Submission) -> bool:
    """Whether the child had already sent something with this invite: this adds to it."""
    if submission.author != Author.CHILD or submission.invite_id is None:
        return False
    return tx.scalar(select(func.count()).select_from(Submission).where(
        Submission.invite_id == submission.invite_id, Submission.author == Author.CHILD,
        Submission.created_at < submission.created_at)) > 0


def _services_named(tx: Session, reader: User, payload: dict) -> dict[int, ServiceWords]:
    """The advocacy service the child chose, in the reader's language (the child may have
    seen it in another)."""
    service_id = (payload.get("answers") or {}).get("helper_service")
    service = tx.get(AdvocacyService, service_id) if isinstance(service_id, int) else None
    if service is None or service.organisation_id != reader.organisation_id \
            or not integrity.holds(service):  # changed in the database: not named
        return {}
    return {service.id: service_words(service)}


def attachment_for(tx: Session, reader: User, keys: dict[str, bytes], submission: Submission,
                   attachment_id: str, record: bool) -> dict | None:
    """The sealed details (file key, type, name) of one of a submission's attachments, or
    None. ``record`` writes the opening to the audit log (once per playback, not per seek)."""
    try:
        payload = open_submission(submission, keys)
    except (CannotOpen, crypto.DecryptionError, ValueError):
        return None
    answers = payload.get("answers", {})
    meta = next((m for m in files_in(answers) if m.get("id") == attachment_id), None)
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
        if not integrity.holds(submission):
            continue
        context = submission_context(submission)
        content_key = crypto.unwrap_content_key(wrapped[recovery_id].wrapped, recovery_id,
                                                recovery_private, context)
        tx.add(WrappedKey(submission_id=submission.id, recipient_key_id=mine.id,
                          wrapped=crypto.wrap_content_key(content_key, recipient, context)))
        count += 1
    return count
