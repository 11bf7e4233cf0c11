"""The welcome page (and what was sent before), and the choice of words or pictures."""

from __future__ import annotations

from types import SimpleNamespace

from flask import redirect, url_for
from sqlalchemy import select

from .. import integrity, replies
from ..db import db, writing
from ..i18n import service_words
from ..models import Author, Invite, Submission, User
from .forms import HowForm, WelcomeForm
from .journey import SENT_FROM_HERE, Journey, resume_page
from .pages import (
    after_saving, bp, child_journey, known_service, save_answers, show_page, start_adding,
)


@bp.route("/welcome", methods=["GET", "POST"])
@child_journey
def welcome(journey: Journey):
    form = WelcomeForm()
    if form.validate_on_submit():
        adding = bool(journey.answers.get(SENT_FROM_HERE))  # "Add something else"
        if adding:
            start_adding(journey)
        with writing():
            if adding:
                journey.save()
            else:
                # A draft now: sending is all a child must do.
                save_answers(journey, "child.welcome")
        return redirect(url_for(resume_page(journey.answers)))
    sent = _sent_before(journey.invite)
    return show_page("child/welcome.html", journey, form, "child.welcome", sent=sent,
                     replies=replies.for_invite(db, journey.invite.id) if sent else {})


def _sent_before(invite: Invite) -> list[SimpleNamespace]:
    """Everything sent for this invite, oldest first, told apart: the child's first
    sending, what they added later, and what an advocate sent for them (by whom, from which
    service). A row that fails its seal says only that something was sent, and when."""
    found = db.scalars(select(Submission).where(Submission.invite_id == invite.id)
                       .order_by(Submission.created_at)).all()
    items, child_sent = [], False
    for submission in found:
        item = SimpleNamespace(submission=submission, kind="unknown", read=False,
                               advocate="", service=None)
        if integrity.holds(submission):
            item.read = submission.read_at is not None
            if submission.author == Author.CHILD:
                item.kind = "later" if child_sent else "first"
                child_sent = True
            else:
                item.kind = "advocate"
                person = db.get(User, submission.author_user_id) \
                    if submission.author_user_id else None
                if person is not None and integrity.holds(person):
                    item.advocate = person.name
                    service = known_service(person.advocacy_service_id)
                    item.service = service_words(service) if service else None
        items.append(item)
    return items


@bp.route("/how", methods=["GET", "POST"])
@child_journey
def how(journey: Journey):
    form = HowForm(data={"mode": journey.answers["mode"]})
    if form.validate_on_submit():
        journey.answers["mode"] = form.mode.data or None
        with writing():
            save_answers(journey, "child.how")
        return redirect(after_saving(journey, "child.how"))
    return show_page("child/how.html", journey, form, "child.how", pictures=True)  # two tiles


