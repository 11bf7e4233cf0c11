"""The child's journey, one question per page, from an invite to "sent".

Every page works without JavaScript, keeps nothing in the browser but the session cookie,
has the quick exit, and carries a neutral title ("My views"). Pages only read; each answer
is saved in one short write transaction (:func:`voiceapp.db.writing`), opened after the
form and any file have arrived and been checked.
"""

from __future__ import annotations

import base64
import functools
import hmac
import logging
import uuid
from collections.abc import Callable
from types import SimpleNamespace

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from .. import attachments, audit, integrity, keyring, notifications, replies
from ..config import settings
from ..db import db, release_request_session, utcnow, writing
from ..i18n import isolate, offered_locales, service_words, this_page
from ..invites import InviteAltered, InviteState, find_invite, normalise_code, state_of
from ..keyring import NoReader
from ..models import (
    DEFAULT_EXIT_URL, AdvocacyService, Author, Conference, Draft, Invite, Organisation,
    ServiceWords, Submission, User,
)
from ..questions import (
    ATTEND, FEELINGS, HELPER_EMOJI, HOUSE_EMOJI, HOUSE_HINTS, HOUSE_QUESTIONS, HOUSES, NAME_LIMIT,
    SCALE_DECLINED, SCALE_FACES, SCALE_FOLLOW_UPS, SHARE_ADVOCATE, SHARE_PARENTS, TEXT_LIMIT,
    TOPICS,
    advocate_question, emoji_map, says_what_they_think, service_question, stored_service_words,
    summary_rows,
)
from ..security import Throttled, allow_microphone, client_ip, throttle
from ..sessions import session_id
from ..submissions import is_urgent, seal_submission, sent_detail
from . import consent
from .story import STORY
from .forms import (
    CodeForm, HelperForm, HouseForm, HowForm, MeetingForm, SafetyForm, ScaleWhyForm, SendForm,
    SharingForm, WelcomeForm,
)
from .journey import (
    ADDING, FOLLOW_UPS, NOT_SENT, PAGES, QUESTIONS, RESUME, SENT_FROM_HERE, Journey, SessionMoved,
    forget_drafts_of_session, move_draft_to_new_session, next_page, previous_page,
    questions_asked, resume_page,
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


def _actor(invite: Invite) -> str:
    return f"child:invite:{invite.id}"


def child_journey(view: Callable) -> Callable:
    """Hand the view the child's :class:`Journey`, or send them back to the start."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        invite = db.get(Invite, session["invite_id"], options=[
            joinedload(Invite.conference).joinedload(Conference.organisation)]) \
            if session.get("invite_id") else None
        if invite is None:
            return redirect(url_for("child.start", again=1))
        if not integrity.holds(invite):
            return _altered_invite(invite)
        state = state_of(invite)
        if state is not InviteState.OPEN:
            return render_template("child/closed.html", state=state), 410
        return view(Journey(invite), *args, **kwargs)

    return wrapped


def _language_button() -> str | None:
    """The language chosen with a button on a question page, which sends the page's form."""
    choice = request.form.get("lang") if request.method == "POST" else None
    return choice if choice in offered_locales() else None


@bp.before_request
def _language_from_a_button():
    """The answers are saved as with Continue, and this response and the next are in the
    chosen language."""
    choice = _language_button()
    if choice:
        session["lang"] = choice
        refresh()


@bp.errorhandler(SessionMoved)
def _session_moved(_error: SessionMoved):
    return render_template("child/moved.html"), 409


def _altered_invite(invite: Invite):
    """An invite changed outside voiceapp is never used: it is reported, and the child is
    told kindly to ask for help, without anything frightening."""
    with writing():
        integrity.report_altered(db, invite)
    return render_template("child/closed.html", state=InviteState.REVOKED), 410


def _after_save(journey: Journey, endpoint: str) -> str:
    """Where "Continue" goes: the next question, or back to the check page after a change;
    a language button stays on the page, now in that language."""
    if _language_button():
        return this_page()
    if request.args.get("change"):
        return url_for("child.check")
    return url_for(next_page(endpoint, journey.answers.get(ADDING, False)))


def _save(journey: Journey, endpoint: str) -> None:
    """Save the answers, and where to come back to (inside :func:`writing`)."""
    if _sent_and_not_adding(journey) and endpoint in QUESTIONS:
        journey.answers[ADDING] = True  # answering again after sending adds to what was sent
    if _language_button():
        journey.answers[RESUME] = endpoint
    elif request.args.get("change"):
        journey.answers[RESUME] = "child.check"
    else:
        journey.answers[RESUME] = next_page(endpoint, journey.answers.get(ADDING, False))
    journey.save()


def _sent_and_not_adding(journey: Journey) -> bool:
    """This browser sent, and nothing has been added since: the draft holds only the kept
    choices, which are not a new sending (an answer saved in another tab as the send went
    through is something new, and is kept to send)."""
    answers = journey.answers
    return bool(answers.get(SENT_FROM_HERE)) and not answers.get(ADDING) \
        and not says_what_they_think(answers)


def _page(template: str, journey: Journey, form, endpoint: str, item: int | None = None,
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


def _screens(journey: Journey, items: tuple[str, ...]) -> tuple[int | None, tuple[str, ...]]:
    """The parts of a page shown now. In pictures mode, one thing per screen (``?item=``,
    each saved as it is answered, so switching mode loses nothing); in words mode, all."""
    if journey.answers.get("mode") != "pictures" or len(items) < 2:
        return None, items
    n = min(max(request.args.get("item", 0, type=int), 0), len(items) - 1)
    return n, items[n:n + 1]


def _next_screen(journey: Journey, endpoint: str, item: int | None, items: tuple) -> str:
    """After saving one screen: the next screen of the page, or the next page."""
    if item is not None and item + 1 < len(items) and not _language_button():
        return url_for(endpoint, item=item + 1, change=request.args.get("change"))
    return _after_save(journey, endpoint)


# ---------------------------------------------------------------------------------------
# Starting: a link or a typed code


@bp.route("/", methods=["GET", "POST"])
def start():
    form = CodeForm()
    resume = bool(session.get("invite_id"))
    if form.validate_on_submit():
        return _open_invite(form.code.data, form)
    return render_template("child/start.html", form=form, resume=resume,
                           again=request.args.get("again")), 400 if form.errors else 200


@bp.get("/i/<code>")
def open_link(code: str):
    return _open_invite(code, CodeForm(formdata=None))


def _open_invite(code: str, form: CodeForm):
    """Open an invite: always under a new session token (a cookie someone set before cannot
    read the draft later), with the child's draft for this invite sealed under it."""
    ip = client_ip()
    throttle().check(("invite:ip", ip))  # every attempt: a ceiling no school reaches
    # Only wrong codes count, so children behind one address never lock each other out;
    # an address that has guessed wrong very often waits, whatever it types next.
    if not (throttle().allows("invite:wrong", ip) and throttle().allows("invite:wrong-hour", ip)):
        raise Throttled("invite:wrong")
    try:
        invite = find_invite(code)
    except InviteAltered as altered:
        return _altered_invite(altered.invite)
    if invite is None:
        throttle().hit("invite:wrong", ip)
        throttle().hit("invite:wrong-hour", ip)
        form.code.errors = [_("We could not find that code. Check it and try again. If it "
                              "still does not work, ask the person who gave it to you.")]
        return render_template("child/start.html", form=form, resume=False), 400
    state = state_of(invite)
    if state is not InviteState.OPEN:
        return render_template("child/closed.html", state=state), 410
    same_invite = session.get("invite_id") == invite.id
    had_session = session.stored_token is not None
    unsent = had_session and not same_invite and _has_unsent_answers()
    if had_session and not same_invite and not form.switch.data and (
            unsent or request.method == "GET" and session.get("invite_id")):
        # A link (perhaps from another site) must not move a child to another invite
        # without asking, nor a different code throw away unsent answers.
        return render_template("child/switch.html", unsent=unsent, form=CodeForm(data={
            "code": normalise_code(code), "switch": "1"}))
    old_session_id = session.id if had_session else None
    old_key = session.key("draft") if had_session else None
    kept = ("lang",)
    session.regenerate({"kind": "child", "invite_id": invite.id,
                        "_idle": settings().child_session_seconds,
                        **{key: session[key] for key in kept if key in session}})
    generate_csrf()  # now, so two tabs loading their first page share one token
    answers = None
    with writing():
        if old_session_id is not None:
            if same_invite:
                answers = move_draft_to_new_session(invite, old_session_id, old_key)
            else:
                forget_drafts_of_session(old_session_id)
        if invite.opened_at is None:
            invite.opened_at = utcnow()
            audit.record(db, "invite.opened", actor=_actor(invite),
                         subject=f"invite:{invite.id}", conference=invite.conference_id)
    return redirect(url_for(resume_page(answers)))


@bp.get("/carry-on")
@child_journey
def carry_on(journey: Journey):
    """Back to where the child left off: the question after the last one they answered."""
    return redirect(url_for(resume_page(journey.answers)))


def _has_unsent_answers() -> bool:
    return db.scalar(select(Draft.id).where(Draft.session_id == session.id).limit(1)) \
        is not None


# ---------------------------------------------------------------------------------------
# The questions


@bp.route("/welcome", methods=["GET", "POST"])
@child_journey
def welcome(journey: Journey):
    form = WelcomeForm()
    if form.validate_on_submit():
        adding = bool(journey.answers.get(SENT_FROM_HERE))  # "Add something else"
        if adding:
            _start_adding(journey)
        with writing():
            if adding:
                journey.save()
            else:
                _save(journey, "child.welcome")  # a draft now: sending is all a child must do
        return redirect(url_for(resume_page(journey.answers)))
    sent = _sent_before(journey.invite)
    return _page("child/welcome.html", journey, form, "child.welcome", sent=sent,
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
                    service = db.get(AdvocacyService, person.advocacy_service_id) \
                        if person.advocacy_service_id else None
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
            _save(journey, "child.how")
        return redirect(_after_save(journey, "child.how"))
    return _page("child/how.html", journey, form, "child.how", pictures=True)  # two tiles


# A house in pictures mode, one screen each: faces, pictures, drawing, a voice note, words.
HOUSE_SCREENS = ("feelings", "topics", "draw", "record", "write")
_ON_SCREEN = {"feelings": ("feelings",), "topics": ("topics",), "draw": (), "record": (),
              "write": ("text",)}


def _house(journey: Journey, house: str):
    allow_microphone()
    endpoint = QUESTIONS[HOUSES.index(house) + 1]
    saved = journey.answers[house]
    item, shown = _screens(journey, HOUSE_SCREENS)
    form = HouseForm(data=saved)
    if form.validate_on_submit():
        # Only what this screen shows is saved: the words page has no pictures, so pictures
        # picked in pictures mode stay when a child switches.
        on_screen = ("text", "feelings") if item is None else _ON_SCREEN[shown[0]]
        for name in on_screen:
            saved[name] = (form.text.data or "").strip() if name == "text" else form[name].data
        checked = _check_uploads(journey, ((form.voice, "audio"), (form.photo, "image")))
        with writing():
            journey.remove_attachment(house, request.form.get("remove"))
            for upload in checked:
                journey.store_upload(house, upload)
            _save(journey, endpoint)
        if not (form.voice.errors or form.photo.errors):
            if any(request.form.getlist("keep")) or request.form.get("remove"):  # stay here
                return redirect(this_page() + "#attachments")
            return redirect(_next_screen(journey, endpoint, item, HOUSE_SCREENS))
    return _page("child/house_pictures.html" if item is not None else "child/house.html",
                 journey, form, endpoint, item=item, shown=shown, house=house,
                 drawing=True)


def _check_uploads(journey: Journey, fields) -> list[attachments.Checked]:
    """Check each file sent with a page before anything is written. A refused file gets a
    kind message on its own field; the rest of the page is saved all the same."""
    checked: list[attachments.Checked] = []
    stored = journey.attachment_bytes()
    for field, expected in fields:
        upload = field.data
        if not upload or not upload.filename and not upload.stream.size:
            continue
        megabytes = max(1, -(-upload.stream.size // (1024 * 1024)))
        if not (throttle().hit("upload:session", session.id)
                and throttle().hit("upload:invite", str(journey.invite.id))
                and throttle().hit("upload-mb:invite", str(journey.invite.id),
                                   cost=megabytes)):
            field.errors = [_("You have added a lot of files today. Everything else on this "
                              "page is saved. Please try again in an hour.")]
            continue
        try:
            checked.append(attachments.check(upload, expected, stored))
        except attachments.UploadProblem as problem:
            field.errors = [str(problem)]
            continue
        stored += checked[-1].spool.size
    return checked


@bp.get("/attachments/<uuid:attachment_id>")
@child_journey
def attachment(journey: Journey, attachment_id):
    """The child's own recording or photo, to listen to or see before sending."""
    meta = journey.attachment_meta(str(attachment_id))
    found = attachments.find(db, meta) if meta else None
    if found is None or found.draft_id != journey.draft.id:
        abort(404)
    if not attachments.intact(found, meta):
        with writing():
            return attachments.altered_page(db, found, _actor(journey.invite))
    return attachments.playback(found, meta)


@bp.route("/going-well", methods=["GET", "POST"])
@child_journey
def going_well(journey: Journey):
    return _house(journey, "going_well")


@bp.route("/worries", methods=["GET", "POST"])
@child_journey
def worries(journey: Journey):
    return _house(journey, "worries")


@bp.route("/hopes", methods=["GET", "POST"])
@child_journey
def hopes(journey: Journey):
    return _house(journey, "hopes")


@bp.route("/safe", methods=["GET", "POST"])
@child_journey
def safety(journey: Journey):
    saved = journey.answers["safety"]
    form = SafetyForm(data={"score": None if saved is None else str(saved)})
    if form.validate_on_submit():
        value = form.score.data
        journey.answers["safety"] = (
            None if not value else value if value == SCALE_DECLINED else int(value))
        with writing():
            _save(journey, "child.safety")
        if is_urgent(journey.answers) and not _language_button():
            return redirect(url_for("child.support", change=request.args.get("change")))
        if not isinstance(journey.answers["safety"], int) and not _language_button() \
                and not request.args.get("change"):  # no number: nothing to ask why about
            return redirect(_after_save(journey, "child.safety_why"))
        return redirect(_after_save(journey, "child.safety"))
    return _page("child/safety.html", journey, form, "child.safety")


SCALE_SCREENS = tuple(SCALE_FOLLOW_UPS)


@bp.route("/safe/why", methods=["GET", "POST"])
@child_journey
def safety_why(journey: Journey):
    """Why that number, and what would make it one higher: asked only after a score."""
    if not isinstance(journey.answers["safety"], int):
        return redirect(url_for("child.safety", change=request.args.get("change")))
    item, shown = _screens(journey, SCALE_SCREENS)
    form = ScaleWhyForm(data={key: journey.answers[key] for key in SCALE_SCREENS})
    if form.validate_on_submit():
        for key in shown:
            journey.answers[key] = (form[key].data or "").strip()
        with writing():
            _save(journey, "child.safety_why")
        return redirect(_next_screen(journey, "child.safety_why", item, SCALE_SCREENS))
    return _page("child/safety_why.html", journey, form, "child.safety_why", item=item,
                 shown=shown, score=journey.answers["safety"])


@bp.get("/safe/support")
@child_journey
def support(journey: Journey):
    return render_template("child/support.html", journey=journey,
                           next=_after_save(journey, "child.safety"))


HELPER_SCREENS = ("helper", "name")


@bp.route("/help", methods=["GET", "POST"])
@child_journey
def helper(journey: Journey):
    services = {s.id: service_words(s) for s in _services(journey)}
    answers = journey.answers
    current = (f"service:{answers['helper_service']}" if answers["helper"] == "service"
               else answers["helper"])
    item, shown = _screens(journey, HELPER_SCREENS)
    form = HelperForm(data={"helper": current, "someone_name": answers["helper_name"]})
    form.offer(services)
    if form.validate_on_submit():
        if shown == ("name",):  # pictures mode: their name, on its own screen
            answers["helper_name"] = (form.someone_name.data or "").strip() \
                if answers["helper"] == "someone_else" else ""
            with writing():
                _save(journey, "child.helper")
            return redirect(_after_save(journey, "child.helper"))
        choice = form.helper.data or None
        service_id = int(choice.split(":")[1]) if choice and choice.startswith("service:") else None
        chosen = services.get(service_id)
        name = (form.someone_name.data or "").strip() if "name" in shown else \
            answers["helper_name"]
        answers.update(helper="service" if service_id else choice, helper_service=service_id,
                       helper_name=name if choice == "someone_else" else "")
        # As the child saw it, for if the service stops being offered before they send.
        answers.update(helper_service_name=chosen.name if chosen else "",
                       helper_service_in_a_sentence=chosen.in_a_sentence if chosen else "",
                       helper_service_contact=chosen.contact if chosen else "",
                       helper_service_lang=chosen.lang if chosen else "")
        asked_again = consent.forget_stale_answers(answers, journey.invite)
        with writing():
            _save(journey, "child.helper")
        if request.args.get("change") and not _language_button() and (
                asked_again or (service_id and answers["share_service"] is None)):
            # Changed from the check page to a helper the child was not asked about: the
            # sharing question comes before the check page (in the usual order it comes next).
            return redirect(url_for("child.sharing", change=1, again=1 if asked_again else None))
        if item is not None and choice != "someone_else":
            return redirect(_after_save(journey, "child.helper"))
        return redirect(_next_screen(journey, "child.helper", item, HELPER_SCREENS))
    helper_emoji = {**HELPER_EMOJI, **{f"service:{i}": HELPER_EMOJI["service"]
                                       for i in services}}
    return _page("child/helper.html", journey, form, "child.helper", helper_emoji=helper_emoji,
                 item=item, shown=shown,
                 services={f"service:{i}": words for i, words in services.items()})


@bp.route("/meeting", methods=["GET", "POST"])
@child_journey
def meeting(journey: Journey):
    form = MeetingForm(data={"attend": journey.answers["attend"]})
    if form.validate_on_submit():
        journey.answers["attend"] = form.attend.data or None
        with writing():
            _save(journey, "child.meeting")
        return redirect(_after_save(journey, "child.meeting"))
    return _page("child/meeting.html", journey, form, "child.meeting")


@bp.get("/meeting/story")
@child_journey
def story(journey: Journey):
    """The meeting explained as a short picture story, one scene a screen, from the welcome
    page or the meeting question, and back there."""
    back_to = "meeting" if request.args.get("back") == "meeting" else "welcome"
    item = min(max(request.args.get("item", 0, type=int), 0), len(STORY) - 1)
    next_scene = item + 1 if item + 1 < len(STORY) else None
    chair = db.get(User, journey.conference.chair_id)
    return render_template(
        "child/story.html", journey=journey, scenes=STORY[item:item + 1],
        next_scene=next_scene, back_to=back_to,
        chair_name=chair.name if chair is not None else "", pictures=True,
        back=url_for("child.story", item=item - 1, back=back_to) if item else
        url_for(f"child.{back_to}"))


@bp.route("/sharing", methods=["GET", "POST"])
@child_journey
def sharing(journey: Journey):
    """Who may see what the child sends, asked about each person or service by name."""
    answers = journey.answers
    consent.forget_stale_answers(answers, journey.invite)
    service_id = consent.service_asked_about(answers)
    service = db.get(AdvocacyService, service_id) if service_id else None
    advocate = _assigned_advocate(journey)
    asked = f"{service.id if service else ''}:{advocate.id if advocate else ''}"
    form = _sharing_form(service, advocate, {key: answers[key] for key in (
        "share_service", "share_advocate", "share_parents")})
    screens = tuple(name for name, needed in (("share_service", service is not None),
                                              ("share_advocate", advocate is not None),
                                              ("share_parents", True)) if needed)
    item, shown = _screens(journey, screens)
    changed = form.is_submitted() and form.asked.data != asked
    if changed:
        # The helper or the assigned advocate changed after the page was shown (another tab,
        # a coordinator): the answer was about someone else, so it is not kept. Ask again.
        form = _sharing_form(service, advocate, {"share_parents": form.share_parents.data},
                             formdata=None)
    form.asked.data = asked
    if not changed and form.validate_on_submit():
        if "share_service" in shown or service is None:
            answers.update(
                share_service=(form.share_service.data or None) if service else None,
                share_service_id=service.id if service and form.share_service.data else None,
                share_service_name=service.name if service else "")
        if "share_advocate" in shown or advocate is None:
            answers.update(
                share_advocate=(form.share_advocate.data or None) if advocate else None,
                share_advocate_id=advocate.id if advocate and form.share_advocate.data
                else None,
                share_advocate_name=advocate.name if advocate else "")
            consent.remember(answers, advocate.id if advocate else None,
                             answers["share_advocate"])
        if "share_parents" in shown:
            answers["share_parents"] = form.share_parents.data or None
        with writing():
            _save(journey, "child.sharing")
        return redirect(_next_screen(journey, "child.sharing", item, screens))
    return _page("child/sharing.html", journey, form, "child.sharing", item=item, shown=shown,
                 ask_service=service is not None, ask_advocate=advocate is not None,
                 again=changed or request.args.get("again"))


def _sharing_form(service: AdvocacyService | None, advocate: User | None, data: dict,
                  **options) -> SharingForm:
    """The sharing questions, each naming who it is about."""
    form = SharingForm(data=data, **options)
    if service is not None:
        form.share_service.label.text = service_question(service_words(service))
    if advocate is not None:
        form.share_advocate.label.text = advocate_question(advocate.name)
    return form


def _services(journey: Journey) -> list[AdvocacyService]:
    """The services a child may choose: offered, and with an advocate who can read."""
    can_read = keyring.services_that_can_read(db, journey.organisation.id)
    return list(db.scalars(select(AdvocacyService).where(
        AdvocacyService.organisation_id == journey.organisation.id,
        AdvocacyService.active.is_(True), AdvocacyService.id.in_(can_read))
        .order_by(AdvocacyService.name)))


def _assigned_advocate(journey: Journey) -> User | None:
    """The advocate a coordinator assigned to this child, if any (and still an advocate)."""
    if journey.invite.assigned_advocate_id is None:
        return None
    person = db.get(User, journey.invite.assigned_advocate_id)
    return person if person is not None and person.disabled_at is None else None


# ---------------------------------------------------------------------------------------
# Checking and sending


@bp.get("/check")
@child_journey
def check(journey: Journey):
    if _sent_and_not_adding(journey):
        return redirect(url_for("child.sent"))  # never "Not answered" for what was just sent
    services = {s.id: service_words(s) for s in _services(journey)}
    advocate = _assigned_advocate(journey)
    answers = journey.answers
    rows = summary_rows(answers, services, advocate_name=advocate.name if advocate else "")
    agreed = consent.agreed(answers, journey.invite)
    return _page("child/check.html", journey, SendForm(data={"token": journey.token}),
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
    if _sent_and_not_adding(journey):
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
    kept = [uuid.UUID(meta["id"]) for house in HOUSES
            for meta in answers[house]["attachments"]]
    sent = seal_submission(
        db, conference=journey.conference, invite=journey.invite,
        payload={"author": "child", "language": language,
                 "answers": {k: v for k, v in answers.items()
                             if k not in NOT_SENT}},
        idempotency_key=token, language=language,
        agreed=consent.agreed(answers, journey.invite), draft_id=draft.id,
        attachment_ids=kept, advocacy_service_id=consent.service_asked_about(answers),
        started_at=draft.created_at)
    audit.record(db, "submission.sent", actor=_actor(journey.invite),
                 subject=f"submission:{sent.submission.id}", **sent_detail(sent.submission))
    notifications.for_a_send(db, conference=journey.conference,
                             organisation=journey.organisation, chair=sent.chair,
                             urgent=sent.submission.urgent,
                             asked_service_id=consent.service_asked_about(answers),
                             shared_with=sent.advocates)
    journey.keep_choices_after_sending(draft, answers, sent.submission.id)


def _already_sent(invite_id: int, token: str) -> bool:
    if not token:
        return False
    return db.scalar(select(Submission.id).where(
        Submission.idempotency_key == token, Submission.invite_id == invite_id)) is not None


@bp.get("/sent")
@child_journey
def sent(journey: Journey):
    """Only for the browser that sent: someone else holding the code learns nothing here."""
    latest = db.scalar(select(Submission).where(Submission.invite_id == journey.invite.id)
                       .order_by(Submission.created_at.desc()).limit(1))
    if latest is None or str(latest.id) not in journey.answers.get(SENT_FROM_HERE, []):
        return redirect(url_for("child.welcome"))
    service = db.get(AdvocacyService, latest.advocacy_service_id) \
        if latest.advocacy_service_id else None
    return render_template("child/sent.html", journey=journey,
                           service=service_words(service) if service else None)


@bp.post("/start-again")
@child_journey
def start_again(journey: Journey):
    """Add something else: the draft still holds the child's choices (who helps, the
    meeting, who may see), so only the questions about what they think are asked again."""
    _start_adding(journey)
    with writing():
        journey.save()
    return redirect(url_for("child.going_well"))


def _start_adding(journey: Journey) -> None:
    journey.answers[ADDING] = True
    journey.answers[RESUME] = "child.going_well"


# ---------------------------------------------------------------------------------------
# Leaving quickly


def leave_token() -> str:
    """What the quick-exit link carries, so that only a page of this session can end it
    (not another site, nor a link prefetcher)."""
    if session.stored_token is None:
        return ""
    return base64.urlsafe_b64encode(session.key("leave")[:12]).decode()


@bp.app_context_processor
def _quick_exit() -> dict:
    return {"leave_token": leave_token}


def _really_leaving() -> bool:
    token = leave_token()
    prefetch = "prefetch" in (request.headers.get("Sec-Purpose", "")
                              + request.headers.get("Purpose", "")).lower()
    return bool(token) and not prefetch and hmac.compare_digest(
        request.args.get("t", ""), token) and request.headers.get(
        "Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


@bp.get("/leave")
def leave():
    """End the session (and delete its draft), then go to the neutral exit site.

    A plain link, so it works without JavaScript; with JavaScript the page replaces itself
    with this address, so Back does not return to the journey. Without this session's token
    (another site, a prefetch) it only goes to the exit site.
    """
    exit_url = _exit_url()
    if _really_leaving():
        session.end()
        if not session.unavailable:
            try:
                with writing():
                    forget_drafts_of_session(session_id(session.stored_token))
            except SQLAlchemyError:  # leaving must work even then; purge deletes it later
                log.error("leaving quickly: the draft could not be deleted now")
    return redirect(exit_url, 303)


def _exit_url() -> str:
    try:
        invite = db.get(Invite, session["invite_id"]) if session.get("invite_id") else None
        if invite is not None:
            return invite.conference.organisation.exit_url
        organisation = db.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    except SQLAlchemyError:
        return DEFAULT_EXIT_URL
    return organisation.exit_url if organisation else DEFAULT_EXIT_URL


@bp.get("/leaving-quickly")
def about_leaving():
    return render_template("child/about_leaving.html", exit_url=_exit_url())
