"""The child's journey: the pages in order, the answers, and the draft that keeps them.

The draft is sealed under a key derived from the child's session cookie, so the database
alone cannot read it, and it ends when the session does (leaving quickly, or 24 hours
without a change). There is one draft per session and invite, found by both.

Two tabs may save at once: a save writes only what its page changed, over whatever the other
tab saved meanwhile (:mod:`voiceapp.changes`), under the draft's row lock (PostgreSQL) or
SQLite's write lock. Sending takes the draft under the same lock, so it sends exactly what
is stored, and keeps the child's choices (who helps, who may see) for adding more later.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import timedelta

from flask import session
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import attachments, crypto, integrity
from ..changes import merge, snapshot
from ..config import settings
from ..db import db, utcnow
from ..models import Attachment, Conference, Draft, Invite, Organisation, WebSession
from ..questions import empty_answers, files_in
from ..submissions import padded
from .story import meeting_sentences

QUESTIONS = ("child.how", "child.going_well", "child.worries", "child.hopes", "child.safety",
             "child.helper", "child.meeting", "child.sharing")
# Pages that follow up a question, counted as part of it ("question 5 of 8").
FOLLOW_UPS = {"child.safety_why": "child.safety"}
PAGES = ("child.welcome", *QUESTIONS[:5], "child.safety_why", *QUESTIONS[5:], "child.check")
# What a child chose that stays for "add something else": never anything they said.
KEPT_AFTER_SENDING = ("mode", "helper", "helper_service", "helper_service_name",
                      "helper_service_in_a_sentence", "helper_service_contact",
                      "helper_service_lang", "helper_name", "attend", "share_service",
                      "share_service_id", "share_service_name", "share_advocate",
                      "share_advocate_id", "share_advocate_name", "refused_advocates",
                      "share_parents")
# The questions about those choices: not asked again when adding more (the check page
# shows the answers, each with a Change link).
CHOICES = ("child.how", "child.helper", "child.meeting", "child.sharing")
RESUME = "resume_at"  # kept in the draft: where the child comes back to
SENT_FROM_HERE = "sent_from_here"  # kept in the draft: what this browser sent
ADDING = "adding_more"  # kept in the draft: adding to what was sent, with the choices kept
NOT_SENT = (RESUME, SENT_FROM_HERE, ADDING)  # the draft's own notes, never sent
_UNREAD = object()


def resume_page(answers: dict | None) -> str:
    """Where to take a returning child: the question after the last one they answered."""
    page = (answers or {}).get(RESUME)
    return page if page in PAGES else "child.welcome"


class SessionMoved(Exception):
    """This session was replaced (the invite was opened again, perhaps in another tab)
    while this request was saving: its answer has nowhere to go, and the child is told."""


def _context(draft_id: uuid.UUID, invite_id: int) -> bytes:
    return crypto.context("draft", draft=draft_id, invite=invite_id)


def seal_answers(answers: dict, key: bytes, draft_id: uuid.UUID, invite_id: int) -> bytes:
    return crypto.seal_secret(padded(json.dumps(answers).encode()), key,
                              _context(draft_id, invite_id))


def open_answers(draft: Draft, key: bytes) -> dict | None:
    """The draft's answers, or None if this key cannot open them."""
    try:
        return {**empty_answers(), **json.loads(
            crypto.open_secret(draft.ciphertext, key, _context(draft.id, draft.invite_id)))}
    except crypto.DecryptionError:
        return None


def send_token(draft: Draft) -> str:
    """What the check page's Send button carries: this draft, as it was shown."""
    return f"{draft.id}:{draft.version}"


class Journey:
    """One child's visit: their invite, its conference, and their draft answers (read only
    when a page needs them)."""

    def __init__(self, invite: Invite) -> None:
        self.invite = invite
        self.conference: Conference = invite.conference
        self.organisation: Organisation = invite.conference.organisation
        self._draft: Draft | None | object = _UNREAD
        self._answers: dict = {}
        self._loaded: dict = {}

    def _mine(self):
        return select(Draft).where(Draft.session_id == session.id,
                                   Draft.invite_id == self.invite.id)

    def _read(self) -> None:
        draft = db.scalar(self._mine())
        answers = open_answers(draft, session.key("draft")) if draft is not None else None
        if draft is not None and draft.expires_at <= utcnow():
            answers = None
        self._draft = draft
        self._answers = answers or empty_answers()
        self._loaded = snapshot(self._answers)
        self.readable = answers is not None

    @property
    def draft(self) -> Draft | None:
        if self._draft is _UNREAD:
            self._read()
        return self._draft  # type: ignore[return-value]

    @property
    def answers(self) -> dict:
        if self._draft is _UNREAD:
            self._read()
        return self._answers

    @functools.cached_property
    def meeting_known(self) -> bool:
        """Whether the meeting's date, place and chair are as voiceapp wrote them, so the
        child may be told them (a conference changed in the database is told nothing about;
        what the child sends still reaches only who may read it)."""
        chair = self.conference.chair
        return integrity.holds(self.conference) and chair is not None \
            and integrity.holds(chair)

    @functools.cached_property
    def settings_known(self) -> bool:
        """Whether the organisation's settings are as a coordinator saved them: otherwise a
        child is not given its out-of-hours number (Childline and 999 still are), and "Leave
        this page quickly" goes to the default exit site."""
        return integrity.holds(self.organisation)

    @property
    def out_of_hours_phone(self) -> str:
        return self.organisation.out_of_hours_phone if self.settings_known else ""

    @functools.cached_property
    def said(self) -> dict:
        """What the child is told of their meeting (:func:`.story.meeting_sentences`)."""
        if not self.meeting_known:
            return {}
        return meeting_sentences(self.conference, self.conference.chair.name)

    @property
    def started(self) -> bool:
        return self.draft is not None and self.readable

    @property
    def token(self) -> str:
        return send_token(self.draft) if self.started else ""

    # -- saving (inside db.writing()) -------------------------------------------------

    def save(self) -> None:
        """Store the answers. If another tab saved (or sent) meanwhile, only what this
        request changed is written over what is stored now."""
        answers, draft = self.answers, self.draft
        if draft is not None and self._write(draft, answers, draft.version):
            return
        # Changed, sent or not made yet: take the session's row lock first, so two tabs
        # that both find no draft cannot both make one (PostgreSQL; SQLite's write lock
        # already does this).
        if db.execute(select(WebSession.id).where(WebSession.id == session.id)
                      .with_for_update()).first() is None and session.stored_token is not None:
            raise SessionMoved()
        current = db.scalar(self._mine().with_for_update()
                            .execution_options(populate_existing=True))
        if current is None:
            merged = merge(empty_answers(), self._loaded, answers)
            current = Draft(id=uuid.uuid4(), invite_id=self.invite.id, session_id=session.id,
                            version=0, ciphertext=b"", created_at=utcnow())
            db.add(current)
        else:
            stored = open_answers(current, session.key("draft")) or empty_answers()
            merged = merge(stored, self._loaded, answers)
        self._answers = merged
        self._write(current, merged, current.version)

    def _write(self, draft: Draft, answers: dict, version: int) -> bool:
        """Write ``answers`` over ``draft`` if it is still at ``version`` (0: a new one)."""
        now = utcnow()
        values = dict(ciphertext=seal_answers(answers, session.key("draft"), draft.id,
                                              self.invite.id),
                      version=version + 1, updated_at=now,
                      expires_at=now + timedelta(seconds=settings().child_session_seconds))
        if version == 0:
            for name, value in values.items():
                setattr(draft, name, value)
            db.flush()
        else:
            if not db.execute(update(Draft).where(Draft.id == draft.id,
                                                  Draft.version == version)
                              .values(**values)
                              .execution_options(synchronize_session=False)).rowcount:
                return False
            for name, value in values.items():
                set_committed_value(draft, name, value)
        self._draft, self._loaded, self.readable = draft, snapshot(answers), True
        return True

    # -- sending (inside db.writing()) ------------------------------------------------

    def take_for_sending(self, token: str) -> tuple[Draft, dict] | None:
        """The draft the Send button was for, locked, with its answers as stored; None if
        it changed since the check page was shown (or was sent already)."""
        draft_id, _, version = token.partition(":")
        try:
            draft_uuid = uuid.UUID(draft_id)
        except ValueError:
            return None
        draft = db.scalar(self._mine().where(Draft.id == draft_uuid).with_for_update()
                          .execution_options(populate_existing=True))
        if draft is None or str(draft.version) != version or draft.expires_at <= utcnow():
            return None
        answers = open_answers(draft, session.key("draft"))
        return (draft, answers) if answers is not None else None

    def keep_choices_after_sending(self, draft: Draft, answers: dict,
                                   submission_id: uuid.UUID,
                                   unsent: list[uuid.UUID] = ()) -> None:
        """The sent answers leave the draft; the child's choices stay for adding more, and
        what was sent from here is remembered (for the "sent" page). The files that were
        not sent with them (the scale's, after "I don't want to say") go too."""
        if unsent:  # (only then: a send is one statement shorter without it)
            db.execute(delete(Attachment).where(Attachment.id.in_(list(unsent)),
                                                Attachment.draft_id == draft.id))
        kept = {**empty_answers(), **{key: answers.get(key) for key in KEPT_AFTER_SENDING},
                SENT_FROM_HERE: [*answers.get(SENT_FROM_HERE, []), str(submission_id)]}
        now = utcnow()
        db.execute(update(Draft).where(Draft.id == draft.id).values(
            ciphertext=seal_answers(kept, session.key("draft"), draft.id, self.invite.id),
            version=draft.version + 1, created_at=now, updated_at=now,
            expires_at=now + timedelta(seconds=settings().child_session_seconds))
            .execution_options(synchronize_session=False))

    # -- voice notes and photos -------------------------------------------------------

    def all_attachments(self) -> list[dict]:
        return files_in(self.answers)

    def attachment_meta(self, attachment_id: str) -> dict | None:
        return next((m for m in self.all_attachments() if m["id"] == attachment_id), None)

    def attachment_bytes(self) -> int:
        return sum(meta.get("size", 0) for meta in self.all_attachments())

    def store_upload(self, holder: str, checked: attachments.Checked,
                     drawn: bool = False) -> None:
        """Seal a checked voice note, photo or drawing into the draft (inside
        db.writing()), with the answer it belongs to (a house, or the scale:
        :data:`FILE_HOLDERS`)."""
        if not self.started:
            self.save()
        meta = attachments.receive(db, checked, self.draft.id)
        self.answers[holder]["attachments"].append(
            {**meta, "house": holder, **({"drawn": True} if drawn else {})})

    def remove_attachment(self, holder: str, attachment_id: str | None) -> None:
        meta = self.attachment_meta(attachment_id) if attachment_id else None
        if meta is None or meta.get("house") != holder:
            return
        self.answers[holder]["attachments"].remove(meta)
        found = attachments.find(db, meta)
        if found is not None and found.draft_id == self.draft.id:
            db.delete(found)


def next_page(endpoint: str, adding: bool = False) -> str:
    """The page after ``endpoint``; when adding more, the kept choices are skipped."""
    later = PAGES[PAGES.index(endpoint) + 1:]
    return next((p for p in later if not (adding and p in CHOICES)), PAGES[-1])


def previous_page(endpoint: str, adding: bool = False) -> str:
    earlier = PAGES[:PAGES.index(endpoint)]
    return next((p for p in reversed(earlier) if not (adding and p in CHOICES)), PAGES[0])


def questions_asked(adding: bool = False) -> list[str]:
    return [q for q in QUESTIONS if not (adding and q in CHOICES)]


def forget_drafts_of_session(session_id: str | None = None) -> None:
    """Delete every draft this session made (leaving quickly, or starting over)."""
    db.execute(delete(Draft).where(Draft.session_id == (session_id or session.id)))


def move_draft_to_new_session(invite: Invite, old_session_id: str,
                              old_key: bytes) -> dict | None:
    """After the session's token was replaced (opening an invite), seal the child's draft
    for this invite under the new token's key; any other draft of the old session goes.
    Returns the draft's answers, if there was one."""
    draft = db.scalar(select(Draft).where(Draft.session_id == old_session_id,
                                          Draft.invite_id == invite.id).with_for_update())
    db.execute(delete(Draft).where(Draft.session_id == old_session_id,
                                   Draft.invite_id != invite.id))
    if draft is None:
        return None
    answers = open_answers(draft, old_key)
    if answers is None:
        db.delete(draft)
        return None
    draft.session_id = session.id
    draft.ciphertext = seal_answers(answers, session.key("draft"), draft.id, invite.id)
    draft.version += 1
    return answers
