"""Checking and sending: the check page, the sealed send, the sent page, and adding more."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import audit, notifications
from ..db import db, release_request_session, utcnow, writing
from ..i18n import isolate, service_words
from ..invites import InviteState
from ..keyring import NoReader
from ..models import Draft, ServiceWords, Submission, User
from ..questions import as_sent, files_in, stored_service_words, summary_rows
from ..submissions import seal_submission, sent_detail
from . import consent
from .forms import SendForm
from .journey import NOT_SENT, SENT_FROM_HERE, Journey
from .pages import (
    actor, assigned_advocate, bp, child_journey, known_service, sent_and_not_adding,
    services_offered, show_page, start_adding,
)


@bp.get("/check")
@child_journey
def check(journey: Journey):
    if sent_and_not_adding(journey):
        return redirect(url_for("child.sent"))  # never "Not answered" for what was just sent
    services = {s.id: service_words(s) for s in services_offered(journey)}
    advocate = assigned_advocate(journey)
    answers = journey.answers
    rows = summary_rows(answers, services, advocate_name=advocate.name if advocate else "")
    agreed = consent.agreed(answers, journey.invite)
    return show_page("child/check.html", journey, SendForm(data={"token": journey.token}),
                     "child.check", rows=rows, change_pages=_change_pages(),
                     readers=_readers(agreed, answers, services, advocate),
                     ask_again=consent.needs_asking_again(answers, journey.invite),
                     changed=request.args.get("changed"))


def _readers(agreed, answers: dict, services: dict[int, ServiceWords],
             advocate: User | None) -> list[Markup]:
    """Who will be able to read what the child sends, as a list of who they are."""
    readers = [Markup(escape(_("The chair of your meeting")))]
    if agreed.service_id is not None:
        words = services.get(agreed.service_id) or stored_service_words(answers)
        readers.append(isolate(words.name, words.lang))
    if advocate is not None and advocate.id in agreed.advocate_ids:
        readers.append(Markup(escape(_("%(name)s, your advocate")))
                       % {"name": isolate(advocate.name)})
    return readers


def _change_pages() -> dict[str, str]:
    return {"going_well": "child.going_well", "worries": "child.worries",
            "hopes": "child.hopes", "safety": "child.safety", "safety_why": "child.safety_why",
            "safety_higher": "child.safety_why", "helper": "child.helper",
            "meeting": "child.meeting", "sharing": "child.sharing"}


@bp.post("/send")
@child_journey
def send(journey: Journey):
    """Send exactly the answers the check page showed, sealed to exactly who the child
    agreed, in one write transaction; a second press finds the first."""
    form = SendForm()
    form.validate_on_submit()  # CSRF is checked for every POST before this view runs
    token = form.token.data or ""
    invite_id = journey.invite.id
    if journey.conference.starts_at <= utcnow():
        return render_template("child/closed.html", state=InviteState.EXPIRED), 410
    if sent_and_not_adding(journey):
        return redirect(url_for("child.sent"))  # a Send pressed again: nothing new to send
    ask_again = False
    try:
        with writing():
            taken = journey.take_for_sending(token)
            if taken is not None and consent.needs_asking_again(taken[1], journey.invite):
                ask_again = True  # nothing is sealed to anyone the child was not asked about
            elif taken is not None:
                _seal_and_record(journey, token, *taken)
    except NoReader:
        with writing():
            audit.record(db, "integrity.no-reader", actor="system:integrity",
                         subject=f"conference:{journey.conference.id}")
        return render_template("child/not_sent.html"), 503
    except SQLAlchemyError:
        # The connection may have dropped after the commit: look before saying anything.
        release_request_session()
        try:
            stored = _already_sent(invite_id, token)
        except SQLAlchemyError:
            return render_template("child/not_sent.html", unknown=True), 503
        if stored:
            return redirect(url_for("child.sent"))
        return render_template("child/not_sent.html"), 503
    if ask_again:
        return redirect(url_for("child.sharing", change=1, again=1))
    if taken is None and not _already_sent(invite_id, token):
        return redirect(url_for("child.check", changed=1))
    return redirect(url_for("child.sent"))


def _seal_and_record(journey: Journey, token: str, draft: Draft, answers: dict) -> None:
    language = str(get_locale())
    in_draft = [uuid.UUID(meta["id"]) for meta in files_in(answers)]
    answers = as_sent(answers)
    kept = [uuid.UUID(meta["id"]) for meta in files_in(answers)]
    unsent = [file_id for file_id in in_draft if file_id not in kept]
    sent = seal_submission(
        db, conference=journey.conference, invite=journey.invite,
        payload={"author": "child", "language": language,
                 "answers": {k: v for k, v in answers.items()
                             if k not in NOT_SENT}},
        idempotency_key=token, language=language,
        agreed=consent.agreed(answers, journey.invite), draft_id=draft.id,
        attachment_ids=kept, advocacy_service_id=consent.service_asked_about(answers),
        started_at=draft.created_at)
    audit.record(db, "submission.sent", actor=actor(journey.invite),
                 subject=f"submission:{sent.submission.id}", **sent_detail(sent.submission))
    notifications.for_a_send(db, conference=journey.conference,
                             organisation=journey.organisation, chair=sent.chair,
                             urgent=sent.submission.urgent,
                             asked_service_id=consent.service_asked_about(answers),
                             shared_with=sent.advocates)
    journey.keep_choices_after_sending(draft, answers, sent.submission.id, unsent)


def _already_sent(invite_id: int, token: str) -> bool:
    if not token:
        return False
    return db.scalar(select(Submission.id).where(
        Submission.idempotency_key == token, Submission.invite_id == invite_id)) is not None


@bp.get("/sent")
@child_journey
def sent(journey: Journey):
    """Only for the browser that sent: someone else holding the code learns nothing here."""
    from_here = [uuid.UUID(sent_id) for sent_id in journey.answers.get(SENT_FROM_HERE, [])]
    latest = db.scalar(select(Submission).where(  # this browser's, whatever others sent since
        Submission.invite_id == journey.invite.id, Submission.id.in_(from_here))
        .order_by(Submission.created_at.desc()).limit(1)) if from_here else None
    if latest is None:
        return redirect(url_for("child.welcome"))
    service = known_service(latest.advocacy_service_id)
    return render_template("child/sent.html", journey=journey,
                           service=service_words(service) if service else None)


@bp.post("/start-again")
@child_journey
def start_again(journey: Journey):
    """Add something else: the draft still holds the child's choices (who helps, the
    meeting, who may see), so only the questions about what they think are asked again."""
    start_adding(journey)
    with writing():
        journey.save()
    return redirect(url_for("child.going_well"))
