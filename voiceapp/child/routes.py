"""The child's journey, one question per page, from an invite to "sent".

Every page works without JavaScript, keeps nothing in the browser but the session cookie,
has the quick exit, and carries a neutral title ("My views").
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from types import SimpleNamespace

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import attachments, audit
from ..config import settings
from ..db import db, utcnow, writes
from ..invites import InviteState, find_invite, normalise_code, state_of
from ..models import (
    DEFAULT_EXIT_URL, AdvocacyService, Attachment, Conference, Invite, Organisation, Submission,
)
from ..questions import (
    ATTEND, FEELINGS, HELPER_EMOJI, HOUSE_EMOJI, HOUSE_HINTS, HOUSE_QUESTIONS, HOUSES, NAME_LIMIT,
    SCALE_DECLINED, SCALE_FACES, SHARE_ADVOCATE, SHARE_PARENTS, TEXT_LIMIT, TOPICS, emoji_map,
    summary_rows,
)
from ..security import Throttled, allow_microphone, client_ip, throttle
from ..submissions import advocates_for, is_urgent, seal_submission, sent_detail
from .forms import (
    CodeForm, HelperForm, HouseForm, HowForm, MeetingForm, SafetyForm, SendForm, SharingForm,
    WelcomeForm,
)
from .journey import (
    PAGES, QUESTIONS, Journey, forget_drafts_of_session, next_page, previous_page,
    question_number,
)

bp = Blueprint("child", __name__)


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
        state = state_of(invite)
        if state is not InviteState.OPEN:
            return render_template("child/closed.html", state=state), 410
        journey = Journey(invite)
        if (request.method == "GET" and request.endpoint in PAGES
                and session.get("page") != request.endpoint):
            session["page"] = request.endpoint
        return view(journey, *args, **kwargs)

    return wrapped


def _after_save(endpoint: str) -> str:
    """Where "Continue" goes: the next question, or back to the check page after a change."""
    if request.args.get("change"):
        return url_for("child.check")
    return url_for(next_page(endpoint))


def _page(template: str, journey: Journey, form, endpoint: str, **context):
    return render_template(
        template, journey=journey, form=form, endpoint=endpoint,
        back=url_for("child.check") if request.args.get("change") else (
            url_for(previous_page(endpoint)) if endpoint != PAGES[0] else None),
        number=question_number(endpoint) if endpoint in QUESTIONS else None,
        total=len(QUESTIONS), **context)


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
@writes
def open_link(code: str):
    return _open_invite(code, CodeForm(formdata=None))


def _open_invite(code: str, form: CodeForm):
    code = normalise_code(code)
    prefix = code[:4] or "-"
    throttle().check(("invite:ip", client_ip()), ("invite:ip-hour", client_ip()))
    # Only wrong guesses count against a code's first letters, so guessers spread over many
    # addresses cannot lock a child out of their own code.
    if not throttle().allows("invite:prefix", prefix):
        raise Throttled("invite:prefix")
    invite = find_invite(code)
    if invite is None:
        throttle().hit("invite:prefix", prefix)
        form.code.errors = [_("We could not find that code. Check it and try again. If it "
                              "still does not work, ask the person who gave it to you.")]
        return render_template("child/start.html", form=form, resume=False), 400
    state = state_of(invite)
    if state is not InviteState.OPEN:
        return render_template("child/closed.html", state=state), 410
    if session.get("invite_id") != invite.id:
        if session.get("draft_id") and request.method == "GET":
            # A link (perhaps from another site) must not throw away unsent answers: ask.
            return render_template("child/switch.html", form=CodeForm(data={"code": code}))
        if session.get("invite_id"):
            forget_drafts_of_session()
            db.commit()
        session.regenerate({"kind": "child", "invite_id": invite.id,
                            "_idle": settings().child_session_seconds,
                            **({"lang": session["lang"]} if "lang" in session else {})})
    if invite.opened_at is None:
        invite.opened_at = utcnow()
        audit.record(db, "invite.opened", actor=_actor(invite), subject=f"invite:{invite.id}",
                     conference=invite.conference_id)
        db.commit()
    return redirect(url_for(session.get("page", "child.welcome")))


# ---------------------------------------------------------------------------------------
# The questions


@bp.route("/welcome", methods=["GET", "POST"])
@child_journey
def welcome(journey: Journey):
    form = WelcomeForm(data={"read_aloud": session.get("read_aloud", False)})
    if form.validate_on_submit():
        session["read_aloud"] = bool(form.read_aloud.data)
        if not journey.started:
            journey.save()  # an empty draft: sending is the only thing a child must do
        return redirect(url_for("child.how"))
    sent = db.scalars(select(Submission).where(Submission.invite_id == journey.invite.id)
                      .order_by(Submission.created_at)).all()
    return _page("child/welcome.html", journey, form, "child.welcome", sent=sent)


@bp.route("/how", methods=["GET", "POST"])
@child_journey
def how(journey: Journey):
    form = HowForm(data={"mode": journey.answers["mode"]})
    if form.validate_on_submit():
        journey.answers["mode"] = form.mode.data or None
        journey.save()
        return redirect(_after_save("child.how"))
    return _page("child/how.html", journey, form, "child.how")


def _house(journey: Journey, house: str):
    allow_microphone()
    endpoint = QUESTIONS[HOUSES.index(house) + 1]
    saved = journey.answers[house]
    form = HouseForm(data=saved)
    if form.validate_on_submit():
        saved.update(text=(form.text.data or "").strip(), feelings=form.feelings.data,
                     topics=form.topics.data)
        journey.remove_attachment(house, request.form.get("remove"))
        problems = journey.receive_uploads(house, ((form.voice, "audio"),
                                                   (form.photo, "image")))
        journey.save()
        if not problems:
            if request.form.get("keep") or request.form.get("remove"):  # stay on the page
                return redirect(request.full_path.rstrip("?") + "#attachments")
            return redirect(_after_save(endpoint))
    return _page("child/house.html", journey, form, endpoint, house=house), \
        400 if form.errors else 200


@bp.get("/attachments/<uuid:attachment_id>")
@child_journey
def attachment(journey: Journey, attachment_id):
    """The child's own recording or photo, to listen to or see before sending."""
    meta = journey.attachment_meta(str(attachment_id))
    found = attachments.find(db, meta) if meta else None
    if found is None or found.draft_id != journey.draft.id:
        abort(404)
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
        journey.save()
        if is_urgent(journey.answers):
            return redirect(url_for("child.support", change=request.args.get("change")))
        return redirect(_after_save("child.safety"))
    return _page("child/safety.html", journey, form, "child.safety")


@bp.get("/safe/support")
@child_journey
def support(journey: Journey):
    return render_template("child/support.html", journey=journey,
                           next=_after_save("child.safety"))


@bp.route("/help", methods=["GET", "POST"])
@child_journey
def helper(journey: Journey):
    services = _services(journey)
    answers = journey.answers
    current = (f"service:{answers['helper_service']}" if answers["helper"] == "service"
               else answers["helper"])
    form = HelperForm(data={"helper": current, "someone_name": answers["helper_name"]})
    form.offer(services)
    if form.validate_on_submit():
        choice = form.helper.data or None
        service_id = int(choice.split(":")[1]) if choice and choice.startswith("service:") else None
        answers.update(helper="service" if service_id else choice, helper_service=service_id,
                       helper_name=(form.someone_name.data or "").strip()
                       if choice == "someone_else" else "")
        if not _can_share_with_advocate(journey):
            answers["share_advocate"] = None
        journey.save()
        return redirect(_after_save("child.helper"))
    helper_emoji = {**HELPER_EMOJI, **{f"service:{s.id}": HELPER_EMOJI["service"]
                                       for s in services}}
    return _page("child/helper.html", journey, form, "child.helper", helper_emoji=helper_emoji,
                 helper_notes={f"service:{s.id}": s.description for s in services})


@bp.route("/meeting", methods=["GET", "POST"])
@child_journey
def meeting(journey: Journey):
    form = MeetingForm(data={"attend": journey.answers["attend"]})
    if form.validate_on_submit():
        journey.answers["attend"] = form.attend.data or None
        journey.save()
        return redirect(_after_save("child.meeting"))
    return _page("child/meeting.html", journey, form, "child.meeting")


@bp.route("/sharing", methods=["GET", "POST"])
@child_journey
def sharing(journey: Journey):
    answers = journey.answers
    form = SharingForm(data={"share_advocate": answers["share_advocate"],
                             "share_parents": answers["share_parents"]})
    ask_advocate = _can_share_with_advocate(journey)
    service = (db.get(AdvocacyService, answers["helper_service"])
               if answers["helper"] == "service" else None)
    if service is not None:
        form.share_advocate.label.text = _("Can %(service)s see what you said too?",
                                           service=service.name)
    if form.validate_on_submit():
        answers["share_advocate"] = (form.share_advocate.data or None) if ask_advocate else None
        answers["share_parents"] = form.share_parents.data or None
        journey.save()
        return redirect(url_for("child.check"))
    return _page("child/sharing.html", journey, form, "child.sharing",
                 ask_advocate=ask_advocate)


def _services(journey: Journey) -> list[AdvocacyService]:
    return list(db.scalars(select(AdvocacyService).where(
        AdvocacyService.organisation_id == journey.organisation.id,
        AdvocacyService.active.is_(True)).order_by(AdvocacyService.name)))


def _can_share_with_advocate(journey: Journey) -> bool:
    """Only ask about an advocate when the child chose a service or has an advocate."""
    return (journey.answers["helper"] == "service"
            or journey.invite.assigned_advocate_id is not None)


# ---------------------------------------------------------------------------------------
# Checking and sending


@bp.get("/check")
@child_journey
def check(journey: Journey):
    services = {s.id: s.name for s in _services(journey)}
    rows = summary_rows(journey.answers, services)
    token = str(journey.draft.id) if journey.draft else ""
    return _page("child/check.html", journey, SendForm(data={"token": token}), "child.check",
                 rows=rows, change_pages=_change_pages())


def _change_pages() -> dict[str, str]:
    return {"going_well": "child.going_well", "worries": "child.worries",
            "hopes": "child.hopes", "safety": "child.safety", "helper": "child.helper",
            "meeting": "child.meeting", "sharing": "child.sharing"}


@bp.post("/send")
@child_journey
def send(journey: Journey):
    form = SendForm()
    form.validate_on_submit()  # CSRF is checked for every POST before this view runs
    token = form.token.data or ""
    if _already_sent(journey.invite, token):
        return redirect(url_for("child.sent"))
    if journey.draft is None or token != str(journey.draft.id):
        return redirect(url_for("child.check"))
    if journey.conference.starts_at <= utcnow():
        return render_template("child/closed.html", state=InviteState.EXPIRED), 410
    answers = journey.answers
    service = (db.get(AdvocacyService, answers["helper_service"])
               if answers["helper"] == "service" else None)
    readers = (advocates_for(db, journey.invite, service.id if service else None)
               if answers.get("share_advocate") == "yes" else [])
    payload = {
        "author": "child",
        "language": str(get_locale()),
        "answers": {**answers, "helper_service_name": service.name if service else ""},
    }
    kept = [uuid.UUID(meta["id"]) for meta in journey.all_attachments()]
    files = list(db.scalars(select(Attachment).where(
        Attachment.draft_id == journey.draft.id, Attachment.id.in_(kept))))
    try:
        submission = seal_submission(
            db, conference=journey.conference, invite=journey.invite, payload=payload,
            idempotency_key=token, language=str(get_locale()), readers=readers,
            attachments=files, advocacy_service=service,
            started_at=journey.draft.created_at)
        db.delete(journey.draft)
        audit.record(db, "submission.sent", actor=_actor(journey.invite),
                     subject=f"submission:{submission.id}", **sent_detail(submission))
        db.commit()
    except IntegrityError:
        db.rollback()
        if _already_sent(journey.invite, token):
            return redirect(url_for("child.sent"))
        raise
    except SQLAlchemyError:
        db.rollback()
        return render_template("child/not_sent.html"), 503
    session.pop("draft_id", None)
    session.pop("page", None)
    return redirect(url_for("child.sent"))


def _already_sent(invite: Invite, token: str) -> bool:
    if not token:
        return False
    try:
        uuid.UUID(token)
    except ValueError:
        return False
    return db.scalar(select(Submission.id).where(
        Submission.idempotency_key == token, Submission.invite_id == invite.id)) is not None


@bp.get("/sent")
@child_journey
def sent(journey: Journey):
    latest = db.scalar(select(Submission).where(Submission.invite_id == journey.invite.id)
                       .order_by(Submission.created_at.desc()).limit(1))
    if latest is None:
        return redirect(url_for("child.welcome"))
    service = db.get(AdvocacyService, latest.advocacy_service_id) \
        if latest.advocacy_service_id else None
    return render_template("child/sent.html", journey=journey, service=service)


@bp.post("/start-again")
@child_journey
def start_again(journey: Journey):
    """Add something else: a fresh draft for a new submission with the same invite."""
    forget_drafts_of_session()
    db.commit()
    session.pop("draft_id", None)
    session.pop("page", None)
    return redirect(url_for("child.how"))


# ---------------------------------------------------------------------------------------
# Leaving quickly


@bp.get("/leave")
@writes
def leave():
    """End the session (and delete its draft), then go to the neutral exit site.

    A plain link, so it works without JavaScript; with JavaScript the page replaces itself
    with this address, so Back does not return to the journey.
    """
    exit_url = _exit_url()
    if request.headers.get("Sec-Fetch-Site", "none") not in ("same-origin", "none"):
        return redirect(exit_url, 303)  # another site cannot end a child's session
    if session.get("invite_id"):
        forget_drafts_of_session()
        db.commit()
    session.end()
    return redirect(exit_url, 303)


def _exit_url() -> str:
    invite = db.get(Invite, session["invite_id"]) if session.get("invite_id") else None
    if invite is not None:
        return invite.conference.organisation.exit_url
    organisation = db.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    return organisation.exit_url if organisation else DEFAULT_EXIT_URL


@bp.get("/leaving-quickly")
def about_leaving():
    return render_template("child/about_leaving.html", exit_url=_exit_url())
