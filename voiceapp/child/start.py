"""Starting: an invite link or a typed code opens the child's journey under a new session."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from .. import audit
from ..config import settings
from ..db import db, utcnow, writing
from ..invites import InviteAltered, InviteState, find_invite, normalise_code, state_of
from ..models import Draft
from ..security import Throttled, client_ip, throttle
from .forms import CodeForm
from .journey import Journey, forget_drafts_of_session, move_draft_to_new_session, resume_page
from .pages import actor, altered_invite, bp, child_journey


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
        return altered_invite(altered.invite)
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
            audit.record(db, "invite.opened", actor=actor(invite),
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


