"""The child's journey: the pages in order, the answers, and the draft that keeps them.

The draft is sealed under a key derived from the child's session cookie, so the database
alone cannot read it, and it ends when the session does (leaving quickly, sending, or 24
hours without a change).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from flask import session
from sqlalchemy import delete

from .. import attachments, crypto
from ..config import settings
from ..db import db, utcnow
from ..models import Conference, Draft, Invite, Organisation
from ..questions import HOUSES, empty_answers
from ..security import throttle

QUESTIONS = ("child.how", "child.going_well", "child.worries", "child.hopes", "child.safety",
             "child.helper", "child.meeting", "child.sharing")
PAGES = ("child.welcome", *QUESTIONS, "child.check")
def _context(draft_id: uuid.UUID, invite_id: int) -> bytes:
    return crypto.context("draft", draft=draft_id, invite=invite_id)


class Journey:
    """One child's visit: their invite, its conference, and their draft answers."""

    def __init__(self, invite: Invite) -> None:
        self.invite = invite
        self.conference: Conference = invite.conference
        self.organisation: Organisation = invite.conference.organisation
        self.draft: Draft | None = None
        self.answers = empty_answers()
        self._load_draft()

    def _load_draft(self) -> None:
        draft_id = session.get("draft_id")
        if not draft_id:
            return
        draft = db.get(Draft, uuid.UUID(draft_id))
        if (draft is None or draft.invite_id != self.invite.id
                or draft.session_id != session.id or draft.expires_at <= utcnow()):
            session.pop("draft_id", None)
            return
        try:
            stored = json.loads(crypto.open_secret(draft.ciphertext, session.key("draft"),
                                                   _context(draft.id, self.invite.id)))
        except crypto.DecryptionError:
            session.pop("draft_id", None)
            return
        self.draft = draft
        self.answers = {**empty_answers(), **stored}

    @property
    def started(self) -> bool:
        return self.draft is not None

    def save(self) -> None:
        """Seal the answers into the draft and commit (a new draft on the first answer)."""
        now = utcnow()
        if self.draft is None:
            self.draft = Draft(id=uuid.uuid4(), invite_id=self.invite.id, session_id=session.id,
                               ciphertext=b"", created_at=now)
            db.add(self.draft)
            session["draft_id"] = str(self.draft.id)
        self.draft.ciphertext = crypto.seal_secret(
            json.dumps(self.answers).encode(), session.key("draft"),
            _context(self.draft.id, self.invite.id))
        self.draft.updated_at = now
        self.draft.expires_at = now + timedelta(seconds=settings().child_session_seconds)
        db.commit()

    def all_attachments(self) -> list[dict]:
        return [meta for house in HOUSES for meta in self.answers[house]["attachments"]]

    def attachment_meta(self, attachment_id: str) -> dict | None:
        return next((m for m in self.all_attachments() if m["id"] == attachment_id), None)

    def attachment_bytes(self) -> int:
        return sum(meta.get("size", 0) for meta in self.all_attachments())

    def receive_uploads(self, house: str, fields) -> bool:
        """Seal any voice note or photo sent with a page into the draft. A refused file gets
        a kind message on its field (and undoes only itself); True if any was refused."""
        refused = False
        for field, expected in fields:
            upload = field.data
            if not upload or not upload.filename and not upload.stream.size:
                continue
            throttle().check(("upload:session", session.id))
            if self.draft is None:
                self.save()
            try:
                with db.begin_nested():
                    meta = attachments.receive(db, upload, expected, self.draft.id,
                                               self.attachment_bytes())
            except attachments.UploadProblem as problem:
                field.errors = [str(problem)]
                refused = True
                continue
            self.answers[house]["attachments"].append({**meta, "house": house})
        return refused

    def remove_attachment(self, house: str, attachment_id: str | None) -> None:
        meta = self.attachment_meta(attachment_id) if attachment_id else None
        if meta is None or meta.get("house") != house:
            return
        self.answers[house]["attachments"].remove(meta)
        found = attachments.find(db, meta)
        if found is not None and found.draft_id == self.draft.id:
            db.delete(found)


def next_page(endpoint: str) -> str:
    return PAGES[min(PAGES.index(endpoint) + 1, len(PAGES) - 1)]


def previous_page(endpoint: str) -> str:
    return PAGES[max(PAGES.index(endpoint) - 1, 0)]


def question_number(endpoint: str) -> int:
    return QUESTIONS.index(endpoint) + 1


def forget_drafts_of_session() -> None:
    """Delete every draft this session made (leaving quickly, or starting over)."""
    db.execute(delete(Draft).where(Draft.session_id == session.id))
