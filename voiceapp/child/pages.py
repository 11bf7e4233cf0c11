"""What every page of the child's journey shares: the blueprint, finding the child's
journey (or sending them back to the start), saving an answer and where "Continue" goes, and
one screen at a time in pictures mode.

Pages only read; each answer is saved in one short write transaction
(:func:`voiceapp.db.writing`), opened after the form and any file have arrived and been
checked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import nullcontext
from types import SimpleNamespace

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext, refresh
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import integrity, keyring
from ..config import settings
from ..db import db, in_writing, writing
from ..i18n import offered_locales, service_words, this_page
from ..invites import InviteState, state_of
from ..models import AdvocacyService, Conference, Invite, User
from ..questions import (
    ATTEND, FEELINGS, HOUSE_EMOJI, HOUSE_HINTS, HOUSE_QUESTIONS, NAME_LIMIT, SCALE_FACES,
    SHARE_ADVOCATE, SHARE_PARENTS, TEXT_LIMIT, TOPICS, advocate_question, emoji_map,
    says_what_they_think, service_question,
)
from .journey import (
    ADDING, FOLLOW_UPS, PAGES, QUESTIONS, RESUME, SENT_FROM_HERE, Journey, SessionMoved, next_page,
    previous_page, questions_asked,
)

bp = Blueprint("child", __name__)
log = logging.getLogger("voiceapp")


@bp.context_processor
def _question_words() -> dict:
    return {
        "emoji": SimpleNamespace(
            house=HOUSE_EMOJI, topics=emoji_map(TOPICS), feelings=emoji_map(FEELINGS),
            attend=emoji_map(ATTEND), share_advocate=emoji_map(SHARE_ADVOCATE),
            share_parents=emoji_map(SHARE_PARENTS), scale=SCALE_FACES),
        "questions": HOUSE_QUESTIONS,
        "hints": HOUSE_HINTS,
        "limit": TEXT_LIMIT,
        "name_limit": NAME_LIMIT,
        "max_seconds": settings().max_audio_seconds,
        "max_bytes": settings().max_file_bytes,
    }


def actor(invite: Invite) -> str:
    return f"child:invite:{invite.id}"


def child_journey(view: Callable) -> Callable:
    """Hand the view the child's :class:`Journey`, or send them back to the start."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        invite = db.get(Invite, session["invite_id"], options=[
            joinedload(Invite.conference).joinedload(Conference.organisation),
            joinedload(Invite.conference).joinedload(Conference.chair)]) \
            if session.get("invite_id") else None
        if invite is None:
            return redirect(url_for("child.start", again=1))
        if not integrity.holds(invite):
            return altered_invite(invite)
        state = state_of(invite)
        if state is not InviteState.OPEN:
            return render_template("child/closed.html", state=state), 410
        journey = Journey(invite)
        if not (journey.meeting_known and journey.settings_known):
            # The child is told nothing of what was changed; the coordinators are.
            report_altered(row for row in (invite.conference, invite.conference.chair,
                                           journey.organisation)
                           if row is not None and not integrity.holds(row))
        return view(journey, *args, **kwargs)

    return wrapped


def language_button() -> str | None:
    """The language chosen with a button on a question page, which sends the page's form."""
    choice = request.form.get("lang") if request.method == "POST" else None
    return choice if choice in offered_locales() else None


MODES = ("words", "pictures")


def mode_button() -> str | None:
    """Words or pictures, chosen with a button on a question page (by the child, or by an
    adult sitting with them), which sends the page's form."""
    choice = request.form.get("mode") if request.method == "POST" else None
    return choice if choice in MODES and request.endpoint != "child.how" else None


def switching() -> bool:
    """A language or a mode button was pressed: the answers are saved as with Continue, and
    the same page is shown again, in that language or mode."""
    return bool(language_button() or mode_button())


@bp.before_request
def _language_from_a_button():
    """The answers are saved as with Continue, and this response and the next are in the
    chosen language."""
    choice = language_button()
    if choice:
        session["lang"] = choice
        refresh()


@bp.errorhandler(SessionMoved)
def _session_moved(_error: SessionMoved):
    return render_template("child/moved.html"), 409


def altered_invite(invite: Invite):
    """An invite changed outside voiceapp is never used: it is reported, and the child is
    told kindly to ask for help, without anything frightening."""
    with writing():
        integrity.report_altered(db, invite)
    return render_template("child/closed.html", state=InviteState.REVOKED), 410


def after_saving(journey: Journey, endpoint: str) -> str:
    """Where "Continue" goes: the next question, or back to the check page after a change;
    a language or mode button stays on the page, now in that language or mode (from its
    first screen)."""
    if mode_button():
        return url_for(request.endpoint, change=request.args.get("change"))
    if language_button():
        return this_page()
    if request.args.get("change"):
        return url_for("child.check")
    return url_for(next_page(endpoint, journey.answers.get(ADDING, False)))


def save_answers(journey: Journey, endpoint: str) -> None:
    """Save the answers, and where to come back to (inside :func:`writing`)."""
    if sent_and_not_adding(journey) and endpoint in QUESTIONS:
        journey.answers[ADDING] = True  # answering again after sending adds to what was sent
    if mode_button():
        journey.answers["mode"] = mode_button()
    if switching():
        journey.answers[RESUME] = endpoint
    elif request.args.get("change"):
        journey.answers[RESUME] = "child.check"
    else:
        journey.answers[RESUME] = next_page(endpoint, journey.answers.get(ADDING, False))
    journey.save()


def sent_and_not_adding(journey: Journey) -> bool:
    """This browser sent, and nothing has been added since: the draft holds only the kept
    choices, which are not a new sending (an answer saved in another tab as the send went
    through is something new, and is kept to send)."""
    answers = journey.answers
    return bool(answers.get(SENT_FROM_HERE)) and not answers.get(ADDING) \
        and not says_what_they_think(answers)


def show_page(template: str, journey: Journey, form, endpoint: str, item: int | None = None,
              **context):
    adding = journey.answers.get(ADDING, False)
    asked = questions_asked(adding)
    counted = FOLLOW_UPS.get(endpoint, endpoint)
    if item:  # pictures mode: Back goes to the screen before, on the same page
        back = url_for(endpoint, item=item - 1, change=request.args.get("change"))
    elif request.args.get("change"):
        back = url_for("child.check")
    else:
        back = url_for(previous_page(endpoint, adding)) if endpoint != PAGES[0] else None
    return render_template(
        template, journey=journey, form=form, endpoint=endpoint, adding=adding,
        page_form=counted in QUESTIONS, back=back, item=item,
        pictures=context.pop("pictures", journey.answers.get("mode") == "pictures"),
        number=asked.index(counted) + 1 if counted in asked else None,
        total=len(asked), **context), 400 if form.errors else 200


def screens_shown(journey: Journey, items: tuple[str, ...]) -> tuple[int | None, tuple[str, ...]]:
    """The parts of a page shown now. In pictures mode, one thing per screen (``?item=``,
    each saved as it is answered, so switching mode loses nothing); in words mode, all."""
    if journey.answers.get("mode") != "pictures" or len(items) < 2:
        return None, items
    n = min(max(request.args.get("item", 0, type=int), 0), len(items) - 1)
    return n, items[n:n + 1]


def next_screen(journey: Journey, endpoint: str, item: int | None, items: tuple) -> str:
    """After saving one screen: the next screen of the page, or the next page."""
    if item is not None and item + 1 < len(items) and not switching():
        return url_for(endpoint, item=item + 1, change=request.args.get("change"))
    return after_saving(journey, endpoint)


def report_altered(rows) -> None:
    """Write each row that failed its seal to the audit log (the coordinators are warned),
    in the request's write transaction if one is open, else in one of its own."""
    rows = list(rows)
    if rows:
        with nullcontext() if in_writing() else writing():
            for row in rows:
                integrity.report_altered(db, row)


def services_offered(journey: Journey) -> list[AdvocacyService]:
    """The services a child may choose: offered, with an advocate who can read, and as a
    coordinator saved them (one changed in the database is neither offered nor named)."""
    can_read = keyring.services_that_can_read(db, journey.organisation.id)
    services = list(db.scalars(select(AdvocacyService).where(
        AdvocacyService.organisation_id == journey.organisation.id,
        AdvocacyService.active.is_(True), AdvocacyService.id.in_(can_read))
        .order_by(AdvocacyService.name)))
    held = {service.id: integrity.holds(service) for service in services}
    report_altered(service for service in services if not held[service.id])
    return [service for service in services if held[service.id]]


def known_service(service_id: int | None) -> AdvocacyService | None:
    """The advocacy service ``service_id`` if it is as a coordinator saved it, to name to a
    child; None (and reported) if it was changed in the database."""
    service = db.get(AdvocacyService, service_id) if service_id else None
    if service is not None and not integrity.holds(service):
        report_altered([service])
        return None
    return service


def assigned_advocate(journey: Journey) -> User | None:
    """The advocate a coordinator assigned to this child, if any (and still an advocate)."""
    if journey.invite.assigned_advocate_id is None:
        return None
    person = db.get(User, journey.invite.assigned_advocate_id)
    return person if person is not None and person.disabled_at is None \
        and integrity.holds(person) else None


def said_about_helpers(journey: Journey) -> dict[str, Markup]:
    """The names a child hears when choosing a helper and who may see: each service offered,
    the question about it, and the question about their advocate (spoken by child.said, as
    no recording that ships can hold a name)."""
    said: dict[str, Markup] = {}
    for service in services_offered(journey):
        words = service_words(service)
        said[f"service-{service.id}"] = Markup(escape(words.name))
        said[f"share-service-{service.id}"] = service_question(words)
    advocate = assigned_advocate(journey)
    if advocate is not None:
        said["share-advocate"] = advocate_question(advocate.name)
    return said


def said_about_answers(journey: Journey) -> dict[str, Markup]:
    """The sentences that carry a child's own answer (their score), heard through child.said:
    never fetched by an address that names the answer, never kept by the browser, and never
    read by a voice that is not on the phone (they are marked as the child's own words)."""
    score = journey.answers["safety"]
    if not isinstance(score, int):
        return {}
    return {"score": Markup(escape(gettext("You picked %(n)s out of 10.", n=score))),
            "score-skip": Markup(escape(gettext("You picked %(n)s out of 10. You can skip "
                                                "this.", n=score)))}


def said_on_server(journey: Journey) -> dict[str, Markup]:
    """Every sentence child.said may speak for this child: about their meeting, who may
    help, their score, and the organisation's own out-of-hours number."""
    said = {**journey.said, **said_about_helpers(journey), **said_about_answers(journey)}
    if journey.out_of_hours_phone:
        said["support-phone"] = Markup(escape(gettext(
            "Do you feel unsafe tonight or at the weekend? You can call %(number)s.",
            number=journey.out_of_hours_phone)))
    return said


def start_adding(journey: Journey) -> None:
    journey.answers[ADDING] = True
    journey.answers[RESUME] = "child.going_well"
