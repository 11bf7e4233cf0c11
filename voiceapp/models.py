"""The data voiceapp keeps. Nothing a child says is stored in a readable column.

Readable here: who works for the organisation, conference references and dates, invites
(their codes and labels sealed under the instance key), and metadata a chair needs to sort
an inbox (when something was sent, by whom, in which language, whether it is urgent).
Everything a child or an advocate writes or records lives only in ``ciphertext`` columns and
attachment chunks, sealed by :mod:`voiceapp.crypto`.

Rows that decide who may read a submission, or what a reader is shown about it, carry a
``seal``: an HMAC under a key the database does not hold (:mod:`voiceapp.integrity`), so
someone who can write to the database cannot quietly change them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import (
    JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    CHAIR = "chair"
    ADVOCATE = "advocate"
    COORDINATOR = "coordinator"


class ConferenceKind(StrEnum):
    INITIAL = "initial"
    REVIEW = "review"


class Author(StrEnum):
    CHILD = "child"
    ADVOCATE = "advocate"


DEFAULT_EXIT_URL = "https://www.bbc.co.uk/weather"


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow)


def _seal() -> Mapped[str]:
    """The row's integrity seal (:mod:`voiceapp.integrity`); set as the row is written."""
    return mapped_column(String(64), default="")


class Organisation(Base):
    """The council (or service) that runs this voiceapp, and its settings."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    exit_url: Mapped[str] = mapped_column(String(500), default=DEFAULT_EXIT_URL)
    out_of_hours_phone: Mapped[str] = mapped_column(String(40), default="")
    # Languages offered to children besides the default (English), e.g. "cy,ar".
    languages: Mapped[str] = mapped_column(String(200), default="cy")
    # Who is told at once when a child says they do not feel safe (office hours, and out of
    # hours: see voiceapp.notifications).
    duty_email: Mapped[str] = mapped_column(String(254), default="")
    out_of_hours_email: Mapped[str] = mapped_column(String(254), default="")
    retention_days_after_recorded: Mapped[int] = mapped_column(Integer, default=30)
    retention_days_after_meeting: Mapped[int] = mapped_column(Integer, default=90)
    created_at: Mapped[datetime] = _created()
    seal: Mapped[str] = _seal()

    @property
    def language_codes(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]


class ServiceWords(NamedTuple):
    """An advocacy service as a child reads it in one language."""

    name: str  # on its own: "Children's Rights Officer"
    in_a_sentence: str  # inside a sentence: "the Children's Rights Officer"
    description: str
    contact: str
    lang: str  # the language these words are in (the default one when not translated)


_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,}[0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def contact_href(contact: str) -> str:
    """A link for a service's contact when it is one phone number or one email address, so
    a child can tap it; otherwise nothing (the words are shown as they are)."""
    text = contact.strip()
    if _PHONE.fullmatch(text):
        return "tel:" + re.sub(r"[^0-9+]", "", text)
    if _EMAIL.fullmatch(text):
        return "mailto:" + text
    return ""


class AdvocacyService(Base):
    """An advocacy service a child can choose (a Children's Rights Officer, an independent
    advocacy service), described in words a child understands, in each offered language."""

    __tablename__ = "advocacy_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # In the default language; ``translations`` holds the same four for each other one.
    name: Mapped[str] = mapped_column(String(120))
    in_a_sentence: Mapped[str] = mapped_column(String(160), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    # {"cy": {"name": ..., "in_a_sentence": ..., "description": ..., "contact": ...}, ...}
    translations: Mapped[dict] = mapped_column(JSON, default=dict)
    # Told when a child asks for the service (else each of its advocates is told).
    shared_email: Mapped[str] = mapped_column(String(254), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    seal: Mapped[str] = _seal()

    def words(self, locale: str, default_locale: str) -> ServiceWords:
        """The service in ``locale``, or wholly in the default language if it has no name
        in that one (never half in one language and half in another). A contact left empty
        in a translation is the default one: a phone number reads the same in any."""
        given = (self.translations or {}).get(locale) or {}
        if locale != default_locale and given.get("name"):
            return ServiceWords(given["name"], given.get("in_a_sentence") or given["name"],
                                given.get("description", ""),
                                given.get("contact") or self.contact, locale)
        return ServiceWords(self.name, self.in_a_sentence or self.name, self.description,
                            self.contact, default_locale)

    def missing_words(self, locales: list[str], default_locale: str) -> list[str]:
        """The languages in ``locales`` a child would see this service in the wrong words:
        no name in that language (or, in the default one, no name to use in a sentence)."""
        return [code for code in locales
                if (not self.in_a_sentence if code == default_locale
                    else not ((self.translations or {}).get(code) or {}).get("name"))]


class User(Base):
    """A member of staff: a chair, an advocate or a coordinator. Children have no account."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    advocacy_service_id: Mapped[int | None] = mapped_column(ForeignKey("advocacy_service.id"))
    created_at: Mapped[datetime] = _created()
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A chair may hear about new submissions in one email each morning instead of at once
    # (one needing attention soon is always told at once).
    daily_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    seal: Mapped[str] = _seal()

    organisation: Mapped[Organisation] = relationship()

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None and self.password_hash is not None


class StaffInvite(Base):
    """A one-time link that lets a new member of staff set a password and an authenticator.

    Only an HMAC of the link's token (under a key from the instance secret) is stored, so a
    row written into the database is never a working link; it works once, before
    ``expires_at``.
    """

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RecipientKey(Base):
    """A public key that submissions are sealed to, named by its key id.

    A person's private key is kept only wrapped under their passphrase. The organisation's
    recovery key (``user_id`` is empty) has no private part here at all: it is kept offline.
    """

    __tablename__ = "recipient_key"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seal: Mapped[str] = _seal()


class Conference(Base):
    __tablename__ = "conference"
    __table_args__ = (Index("ix_conference_chair_starts", "chair_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    reference: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(10), default=ConferenceKind.INITIAL)
    chair_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    # Where it is, in a few words, for the child's story about the meeting ("" not said).
    place: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = _created()
    seal: Mapped[str] = _seal()

    organisation: Mapped[Organisation] = relationship()
    chair: Mapped[User] = relationship()


class Invite(Base):
    """One child's way in: a short code, sealed at rest, looked up by its keyed hash.

    The coordinator's label is sealed too (:func:`voiceapp.invites.label_of`): it may say
    more about a child than anything else in the database.
    """

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), index=True)
    code_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    label_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An advocate a coordinator has linked to this child (they see the child's requests).
    assigned_advocate_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"),
                                                             index=True)
    seal: Mapped[str] = _seal()

    conference: Mapped[Conference] = relationship()


class Draft(Base):
    """A child's answers before sending, sealed under a key that only their cookie holds.

    One per session and invite, found by both (never through a pointer that two tabs could
    overwrite). ``version`` goes up with every save, so a save that finds it changed by
    another tab merges its own page into the newer answers instead of replacing them.
    """

    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("session_id", "invite_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id", ondelete="CASCADE"),
                                           index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Submission(Base):
    """What was sent: sealed answers plus the metadata a chair's inbox needs."""

    __tablename__ = "submission"
    __table_args__ = (Index("ix_submission_conference_created", "conference_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    invite_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite.id", ondelete="SET NULL"), index=True)
    author: Mapped[str] = mapped_column(String(10), default=Author.CHILD)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    language: Mapped[str] = mapped_column(String(10))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The child's request for help from an advocacy service, and whether its advocates may
    # read this submission (its content key is then also sealed to them).
    advocacy_service_id: Mapped[int | None] = mapped_column(ForeignKey("advocacy_service.id"),
                                                            index=True)
    shared_with_advocates: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    format_version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = _created()
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seal: Mapped[str] = _seal()

    conference: Mapped[Conference] = relationship()
    invite: Mapped[Invite | None] = relationship()
    wrapped_keys: Mapped[list[WrappedKey]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", passive_deletes=True)


class WrappedKey(Base):
    """A submission's content key, sealed to one recipient key (named by its id)."""

    __tablename__ = "wrapped_key"
    __table_args__ = (UniqueConstraint("submission_id", "recipient_key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"))
    recipient_key_id: Mapped[str] = mapped_column(ForeignKey("recipient_key.id"), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)

    submission: Mapped[Submission] = relationship(back_populates="wrapped_keys")


class Attachment(Base):
    """A voice note or a photo: a STREAM header here, the sealed chunks in their own table.

    It belongs to a draft until sending, then to the submission. Its file key, name and
    type are inside the draft's or the submission's ciphertext, never in a column.
    """

    __tablename__ = "attachment"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("draft.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    stream_header: Mapped[bytes] = mapped_column(LargeBinary)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()


class AttachmentChunk(Base):
    __tablename__ = "attachment_chunk"

    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(Base):
    """One line of the append-only audit log; ``hash`` covers this line and the one before."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = _created()
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # one successor each
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class WebSession(Base):
    """A server-side session. The id is an HMAC of the cookie's token, never the token, and
    ``data`` is sealed under a key derived from the token (:mod:`voiceapp.sessions`).

    ``version`` goes up with every save: a request that finds it changed by another (a
    second tab) merges its own changes into the newer data instead of replacing it.
    """

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class KeyResetRequest(Base):
    """A coordinator's request to give someone a new key (a forgotten passphrase).

    It takes effect only when a second coordinator approves it (or, where there is only one,
    someone with the server's command line): one person alone cannot take over a chair's
    future submissions.
    """

    __tablename__ = "key_reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"),
                                         index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = _created()
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    seal: Mapped[str] = _seal()


class Notification(Base):
    """One message telling someone that something happened: the outbox.

    Written in the same transaction as what it tells of, so nothing is told that was not
    stored and nothing stored goes untold; delivered later by ``flask notify``. It names a
    kind, an address and ids, never what a child said. A one-time link it carries is sealed
    under the instance key and wiped once delivered.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "sent_at", "failed_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    conference_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    link_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    daily: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    due_at: Mapped[datetime] = _created()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(200), default="")

    conference: Mapped[Conference | None] = relationship()


class Reply(Base):
    """A chair's short message to the child when marking their views read.

    Sealed under a key from the instance secret, bound to the reply, its submission, invite
    and chair: a copy of the database alone cannot read it, and a row written into the
    database cannot put words in a chair's mouth.
    """

    __tablename__ = "reply"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id", ondelete="CASCADE"),
                                           index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()

    chair: Mapped[User] = relationship()
