"""The advocate's pages: the children who chose them or were assigned, what those children
agreed to share, and recording a child's views on their behalf.

An advocate sees a child only if a coordinator assigned them, or the child chose their
advocacy service when sending; anyone else is "not found". They can read a submission only
if its content key was sealed to their key, which happens only when the child agreed.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import defer
from sqlalchemy.exc import IntegrityError

from .. import audit, integrity, notifications
from ..attachments import check_files, play_for_reader
from ..auth import staff_required
from ..db import db, utcnow, writing
from ..invites import InviteState, state_of
from ..keyring import Agreed, NoReader, keys_of, unlocked_required
from ..models import Attachment, Author, Conference, Invite, Role, Submission, User, WrappedKey
from ..questions import SCALE_DECLINED, TEXT_LIMIT, empty_answers
from ..submissions import read_for, seal_submission, sent_detail
from .forms import ViewsForm

bp = Blueprint("advocate", __name__, url_prefix="/advocate")
advocate_only = staff_required(Role.ADVOCATE)


def _my_invite_ids(user: User) -> list[int]:
    """Invites of children who asked this advocate's service for help when sending, or were
    assigned to this advocate; only rows that hold their integrity seal count, so a row
    changed in the database shows nobody a child they were not linked to."""
    assigned = db.scalars(select(Invite).where(Invite.assigned_advocate_id == user.id))
    ids = {invite.id for invite in assigned if integrity.holds(invite)}
    if user.advocacy_service_id is not None:
        asked = db.scalars(select(Submission).options(defer(Submission.ciphertext)).where(
            Submission.advocacy_service_id == user.advocacy_service_id,
            Submission.invite_id.is_not(None)))
        ids |= {s.invite_id for s in asked if integrity.holds(s)}
    return sorted(ids)


def _children(user: User) -> Select:
    return (select(Invite).join(Conference)
            .where(Conference.organisation_id == user.organisation_id,
                   Invite.id.in_(_my_invite_ids(user))))


def _own_invite(user: User, invite_id: int) -> Invite:
    invite = db.scalar(_children(user).where(Invite.id == invite_id))
    if invite is None:
        abort(404)
    return invite


def _own_submission(user: User, submission_id) -> tuple[Submission, Invite]:
    """A submission about one of this advocate's children, with its invite, or "not found"."""
    found = db.get(Submission, submission_id) if submission_id else None
    if found is None or found.invite_id is None:
        abort(404)
    return found, _own_invite(user, found.invite_id)


def _my_key_ids(user: User) -> list[str]:
    return [key.id for key in keys_of(user)]


@bp.get("/")
@advocate_only
def dashboard(user: User):
    shared_with_me = (select(WrappedKey.submission_id)
                      .where(WrappedKey.recipient_key_id.in_(_my_key_ids(user))))
    stats = (select(Submission.invite_id,
                    func.count(Submission.id).label("sent"),
                    func.max(Submission.created_at).label("last"),
                    func.count(case((Submission.id.in_(shared_with_me), 1))).label("shared"),
                    func.count(case((Submission.advocacy_service_id == user.advocacy_service_id,
                                     1))).label("asked"))
             .group_by(Submission.invite_id).subquery())
    rows = db.execute(
        _children(user).add_columns(func.coalesce(stats.c.sent, 0), stats.c.last,
                                    func.coalesce(stats.c.shared, 0),
                                    func.coalesce(stats.c.asked, 0))
        .outerjoin(stats, stats.c.invite_id == Invite.id)
        .order_by(Conference.starts_at)).all()
    return render_template("advocate/dashboard.html", user=user, rows=rows)


def _submissions_for(user: User, invite: Invite) -> list[tuple[Submission, bool]]:
    """The invite's submissions whose rows hold their seal, and whether each was shared
    with this advocate."""
    key_ids = set(_my_key_ids(user))
    submissions = db.scalars(select(Submission).where(Submission.invite_id == invite.id)
                             .order_by(Submission.created_at)).all()
    return [(s, any(w.recipient_key_id in key_ids for w in s.wrapped_keys))
            for s in submissions if integrity.holds(s)]


@bp.get("/children/<int:invite_id>")
@advocate_only
def child(user: User, invite_id: int):
    invite = _own_invite(user, invite_id)
    return render_template("advocate/child.html", user=user, invite=invite,
                           submissions=_submissions_for(user, invite),
                           open=state_of(invite) is InviteState.OPEN)


@bp.get("/submissions/<uuid:submission_id>")
@advocate_only
@unlocked_required
def submission(user: User, keys: dict[str, bytes], submission_id: uuid.UUID):
    found, invite = _own_submission(user, submission_id)
    if not any(w.recipient_key_id in keys for w in found.wrapped_keys):
        abort(404)  # the child did not agree to share this one with them
    with writing():
        reading = read_for(db, user, keys, found)
        check_files(db, reading, audit.actor_for(user))
    return render_template("advocate/submission.html", user=user, invite=invite,
                           reading=reading)


@bp.get("/attachments/<uuid:attachment_id>")
@advocate_only
@unlocked_required
def attachment(user: User, keys: dict[str, bytes], attachment_id: uuid.UUID):
    found = db.get(Attachment, attachment_id)
    submission, _invite = _own_submission(user, found.submission_id if found else None)
    with writing():
        return play_for_reader(db, user, keys, submission, found)


@bp.route("/children/<int:invite_id>/record", methods=["GET", "POST"])
@advocate_only
def record(user: User, invite_id: int):
    invite = _own_invite(user, invite_id)
    if state_of(invite) is not InviteState.OPEN:
        return render_template("advocate/closed.html", user=user, invite=invite), 410
    form = ViewsForm()
    if not form.is_submitted():
        form.token.data = str(uuid.uuid4())
    token = _valid_token(form.token.data)
    if token is None and form.is_submitted():
        form.token.data = str(uuid.uuid4())  # forged or lost: keep what they typed, ask again
        form.token.errors = [_("Please check the form and press “Send to the chair” again.")]
    elif form.validate_on_submit():
        if db.scalar(select(Submission.id).where(Submission.idempotency_key == token)):
            return redirect(url_for("advocate.child", invite_id=invite.id, sent=1))
        # Sealed to the chair and the recovery key, and to this advocate only if the child
        # agreed that they may read it again.
        agreed = Agreed(advocate_ids=frozenset({user.id}) if form.advocate_may_read.data
                        else frozenset())
        try:
            with writing():
                sent = seal_submission(
                    db, conference=invite.conference, invite=invite,
                    payload=_payload(user, form), idempotency_key=token,
                    language=str(get_locale()), author=Author.ADVOCATE, author_user=user,
                    agreed=agreed, started_at=utcnow())
                audit.record(db, "submission.sent", actor=audit.actor_for(user),
                             subject=f"submission:{sent.submission.id}",
                             **sent_detail(sent.submission))
                notifications.for_a_send(
                    db, conference=invite.conference, organisation=invite.conference.organisation,
                    chair=sent.chair, urgent=sent.submission.urgent, asked_service_id=None,
                    shared_with=[])
        except IntegrityError:  # the same form sent twice at once: the first one stands
            pass
        except NoReader:
            with writing():
                audit.record(db, "integrity.no-reader", actor="system:integrity",
                             subject=f"conference:{invite.conference_id}")
            abort(503)
        return redirect(url_for("advocate.child", invite_id=invite.id, sent=1))
    return render_template("advocate/record.html", user=user, invite=invite, form=form,
                           limit=TEXT_LIMIT), \
        400 if form.errors else 200


def _valid_token(token: str | None) -> str | None:
    try:
        return str(uuid.UUID(token or ""))
    except ValueError:
        return None


def _payload(user: User, form: ViewsForm) -> dict:
    answers = empty_answers()
    for house in ("going_well", "worries", "hopes"):
        answers[house]["text"] = (form[house].data or "").strip()
    value = form.safety.data
    answers["safety"] = None if not value else value if value == SCALE_DECLINED else int(value)
    answers["attend"] = form.attend.data or None
    answers["share_parents"] = form.share_parents.data or None
    return {
        "author": "advocate",
        "language": str(get_locale()),
        "answers": answers,
        "advocate": {"name": user.name, "gathered": form.gathered.data,
                     "child_agreed": bool(form.child_agreed.data),
                     "summary": (form.summary.data or "").strip()},
    }
