"""A chair's short reply to the child, shown the next time the child opens their invite.

The chair may pick one of a few kind sentences (shown to the child in the child's own
language) or write their own. The reply is sealed under a key from the instance secret,
bound to the reply, its submission, invite and chair: a copy of the database alone cannot
read it, and a row written into the database cannot put words in a chair's mouth. The
audit log records that a reply was sent, never its words.
"""

from __future__ import annotations

import json
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from . import crypto
from .auth import instance_key
from .models import Reply, Submission, User

SUGGESTIONS = {
    "read": _l("Thank you for telling me. I have read everything you sent."),
    "read_out": _l("Thank you for telling me. I will read your words out at the meeting."),
    "heard": _l("Thank you. I will make sure the meeting hears what you think."),
    "meet": _l("Thank you. If you would like to, we can meet before the meeting."),
}
REPLY_LIMIT = 500


def _context(reply: Reply) -> bytes:
    return crypto.context("chair-reply", reply=reply.id, submission=reply.submission_id,
                          invite=reply.invite_id, chair=reply.chair_id)


def add(tx: Session, submission: Submission, chair: User, suggestion: str | None = None,
        text: str = "") -> Reply:
    """Seal and store a reply: a suggestion's key, or the chair's own words."""
    words = {"suggestion": suggestion} if suggestion in SUGGESTIONS else {"text": text}
    reply = Reply(id=uuid.uuid4(), submission_id=submission.id, invite_id=submission.invite_id,
                  chair_id=chair.id, sealed=b"")
    reply.sealed = crypto.seal_secret(json.dumps(words).encode(), instance_key("chair-reply"),
                                      _context(reply))
    tx.add(reply)
    return reply


def words_of(reply: Reply) -> str | None:
    """What the chair said, in the page's language for a suggestion; None if the reply was
    changed in the database (it is then not shown)."""
    try:
        words = json.loads(crypto.open_secret(reply.sealed, instance_key("chair-reply"),
                                              _context(reply)))
    except (crypto.DecryptionError, ValueError):
        return None
    if words.get("suggestion") in SUGGESTIONS:
        return str(SUGGESTIONS[words["suggestion"]])
    return words.get("text") or None


def _replies(tx: Session, *where) -> list[tuple[Reply, str, str]]:
    """Replies matching ``where``, oldest first: (reply, chair's name, words); one changed in
    the database is left out."""
    found = []
    for reply in tx.scalars(select(Reply).options(joinedload(Reply.chair)).where(*where)
                            .order_by(Reply.created_at)):
        words = words_of(reply)
        if words:
            found.append((reply, reply.chair.name, words))
    return found


def for_invite(tx: Session, invite_id: int) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """Each submission's replies to the child: (chair's name, words), oldest first."""
    found: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for reply, name, words in _replies(tx, Reply.invite_id == invite_id):
        found.setdefault(reply.submission_id, []).append((name, words))
    return found


def for_submission(tx: Session, submission: Submission) -> list[tuple[str, str]]:
    """The replies to one submission, as the child sees them (in the reader's language)."""
    return [(name, words) for _reply, name, words
            in _replies(tx, Reply.submission_id == submission.id)]
