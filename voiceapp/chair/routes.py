"""The chair's inbox: their conferences, the submissions for each, reading and printing.

A chair sees only conferences they chair: anything else is "not found", however the URL was
made. Lists show metadata only, each row checked against its integrity seal (a changed row
says "altered", never a wrong label); a submission is decrypted when it is opened, with the
key the chair unlocked for this session, and every opening is in the audit log first.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import defer, selectinload

from .. import audit, integrity, replies
from ..attachments import check_files, play_for_reader
from ..auth import staff_required
from ..db import db, utcnow, writing
from ..keyring import unlocked_required
from ..models import Attachment, AuditEvent, Author, Conference, Role, Submission, User
from ..submissions import read_for
from .forms import OWN_WORDS, MarkReadForm

bp = Blueprint("chair", __name__, url_prefix="/chair")


def _own_conference(user: User, conference_id: int) -> Conference:
    """A conference this user chairs; one whose row was changed to name them is not theirs."""
    conference = db.get(Conference, conference_id)
    if conference is None or conference.chair_id != user.id:
        abort(404)
    if not integrity.holds(conference):
        with writing():
            integrity.report_altered(db, conference, reader=audit.actor_for(user))
        abort(404)
    return conference


def _own_submission(user: User, submission_id: uuid.UUID) -> Submission:
    submission = db.get(Submission, submission_id)
    if submission is None:
        abort(404)
    _own_conference(user, submission.conference_id)
    return submission


def _submissions(conference: Conference, sealed: bool = False,
                 reader: User | None = None) -> list[Submission]:
    """The conference's submissions, urgent first (in time order when ``sealed``, for the
    record); the ciphertext only when it is to be opened (lists show metadata). Rows that
    fail their seal are reported once here, and shown as altered."""
    order = (Submission.created_at,) if sealed else (Submission.urgent.desc(),
                                                      Submission.created_at)
    query = (select(Submission).where(Submission.conference_id == conference.id)
             .options(selectinload(Submission.invite)).order_by(*order))
    if not sealed:
        query = query.options(defer(Submission.ciphertext))
    submissions = list(db.scalars(query))
    altered = [s for s in submissions if not integrity.holds(s)]
    if altered and reader is not None:
        with writing():
            for submission in altered:
                integrity.report_altered(db, submission, reader=audit.actor_for(reader))
    return submissions


@bp.get("/")
@staff_required(Role.CHAIR)
def inbox(user: User):
    # A conference with nothing sent joins one empty row: it is neither new nor read.
    unread = Submission.id.is_not(None) & Submission.read_at.is_(None)
    counts = (
        select(Conference,
               func.count(Submission.id).label("total"),
               func.count(case((unread, 1))).label("new"),
               func.count(case((unread & Submission.urgent, 1))).label("urgent"),
               func.count(case((Submission.author == Author.ADVOCATE, 1))).label("advocates"))
        .outerjoin(Submission, Submission.conference_id == Conference.id)
        .where(Conference.chair_id == user.id)
        .group_by(Conference.id)
    )
    today = utcnow() - timedelta(hours=12)
    # A conference whose row was changed to name this chair is not listed as theirs.
    upcoming = [row for row in db.execute(counts.where(Conference.starts_at >= today)
                                          .order_by(Conference.starts_at))
                if integrity.holds(row[0])]
    earlier = [row for row in db.execute(counts.where(Conference.starts_at < today)
                                         .order_by(Conference.starts_at.desc()).limit(50))
               if integrity.holds(row[0])]
    return render_template("chair/inbox.html", user=user, upcoming=upcoming, earlier=earlier)


@bp.get("/conferences/<int:conference_id>")
@staff_required(Role.CHAIR)
def conference(user: User, conference_id: int):
    conference = _own_conference(user, conference_id)
    return render_template("chair/conference.html", user=user, conference=conference,
                           submissions=_submissions(conference, reader=user))


@bp.get("/submissions/<uuid:submission_id>")
@staff_required(Role.CHAIR)
@unlocked_required
def submission(user: User, keys: dict[str, bytes], submission_id: uuid.UUID,
               form: MarkReadForm | None = None):
    found = _own_submission(user, submission_id)
    with writing():
        reading = read_for(db, user, keys, found)
        check_files(db, reading, audit.actor_for(user))
    return render_template("chair/submission.html", user=user, reading=reading,
                           conference=reading.submission.conference,
                           replies=replies.for_submission(db, found),
                           form=form or MarkReadForm()), 400 if form else 200


def _mark(user: User, submission_id: uuid.UUID, field: str, action: str, done: str,
          reply: tuple[str | None, str] | None = None):
    submission = _own_submission(user, submission_id)
    if getattr(submission, field) is None and integrity.holds(submission):
        with writing():
            setattr(submission, field, utcnow())
            if field == "read_at":
                submission.read_by_id = user.id
            audit.record(db, action, actor=audit.actor_for(user),
                         subject=f"submission:{submission.id}")
            if reply and submission.invite_id is not None:
                replies.add(db, submission, user, *reply)
                audit.record(db, "submission.replied", actor=audit.actor_for(user),
                             subject=f"submission:{submission.id}")
    return redirect(url_for("chair.submission", submission_id=submission.id, done=done))


@bp.post("/submissions/<uuid:submission_id>/read")
@staff_required(Role.CHAIR)
def mark_read(user: User, submission_id: uuid.UUID):
    """The child will see "The chair has read it" when they come back, and the
    chair's short message if they wrote one."""
    form = MarkReadForm()
    if not form.validate_on_submit():
        return submission(submission_id=submission_id, form=form)
    choice = form.reply.data
    reply = None
    if choice == OWN_WORDS:
        reply = (None, form.own_words.data.strip())
    elif choice:
        reply = (choice, "")
    return _mark(user, submission_id, "read_at", "submission.marked-read", "read", reply)


@bp.route("/submissions/<uuid:submission_id>/recorded", methods=["GET", "POST"])
@staff_required(Role.CHAIR)
def mark_recorded(user: User, submission_id: uuid.UUID):
    """Recorded in the conference minutes: this starts the retention clock, so it is asked
    first."""
    submission = _own_submission(user, submission_id)
    if request.method == "GET":
        days = submission.conference.organisation.retention_days_after_recorded
        return render_template(
            "components/confirm.html", user=user,
            title=_("Is this recorded in the conference minutes?"),
            explanation=[_("Once it is, voiceapp deletes it after %(days)s days: the "
                           "conference record is the lasting record.", days=days)],
            button=_("Yes, it is recorded in the minutes"),
            cancel=url_for("chair.submission", submission_id=submission.id))
    return _mark(user, submission_id, "recorded_at", "submission.recorded", "recorded")


@bp.get("/attachments/<uuid:attachment_id>")
@staff_required(Role.CHAIR)
@unlocked_required
def attachment(user: User, keys: dict[str, bytes], attachment_id: uuid.UUID):
    """A voice note or photo, decrypted as it streams, with byte ranges for seeking."""
    found = db.get(Attachment, attachment_id)
    if found is None or found.submission_id is None:
        abort(404)
    submission = _own_submission(user, found.submission_id)
    with writing():
        return play_for_reader(db, user, keys, submission, found)


def _record(user: User, conference: Conference, readings: list):
    """The printable record: each child's views in the order they were sent, and for each
    voice note when this chair listened to it (paper cannot play one)."""
    listened = dict(db.execute(
        select(AuditEvent.subject, func.min(AuditEvent.at))
        .where(AuditEvent.action == "attachment.opened",
               AuditEvent.actor == audit.actor_for(user))
        .group_by(AuditEvent.subject)).all())
    return render_template("chair/print.html", conference=conference, readings=readings,
                           printed_at=utcnow(),
                           listened={subject.split(":", 1)[1]: at
                                     for subject, at in listened.items()})


@bp.get("/submissions/<uuid:submission_id>/print")
@staff_required(Role.CHAIR)
@unlocked_required
def print_submission(user: User, keys: dict[str, bytes], submission_id: uuid.UUID):
    submission = _own_submission(user, submission_id)
    with writing():
        readings = [read_for(db, user, keys, submission, action="submission.printed")]
    return _record(user, submission.conference, readings)


@bp.get("/conferences/<int:conference_id>/print")
@staff_required(Role.CHAIR)
@unlocked_required
def print_conference(user: User, keys: dict[str, bytes], conference_id: int):
    conference = _own_conference(user, conference_id)
    submissions = _submissions(conference, sealed=True)
    with writing():
        readings = [read_for(db, user, keys, s, action="submission.printed")
                    for s in submissions]
    return _record(user, conference, readings)
