"""The coordinator's pages: conferences, invites, staff, settings, numbers and the audit log.

A coordinator sets things up and sees counts. No page here decrypts anything, and no route
takes a coordinator to a child's words: they hold no key.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import segno
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from .. import audit, auth, delivery, integrity, invites, keyring, notifications
from ..config import settings as app_settings
from ..db import db, utcnow, writing
from ..i18n import available_locales, forget_offered_locales, language_name
from ..models import (
    DEFAULT_EXIT_URL, AdvocacyService, AuditEvent, Conference, Invite, KeyResetRequest,
    Notification, Organisation, Role, StaffInvite, Submission, User,
)
from ..sessions import end_sessions_of
from .forms import (
    AssignAdvocateForm, ConferenceForm, InviteForm, SettingsForm, StaffForm, service_form,
)
from .numbers import monthly_numbers

bp = Blueprint("admin", __name__, url_prefix="/admin")
coordinator_only = auth.staff_required(Role.COORDINATOR)
AUDIT_PAGE = 100


def _organisation(user: User) -> Organisation:
    return user.organisation


def _own(model, user: User, object_id: int):
    """A row of this coordinator's organisation, or "not found"."""
    row = db.get(model, object_id)
    if row is None:
        abort(404)
    owner = row.conference if isinstance(row, Invite) else row
    if owner.organisation_id != user.organisation_id:
        abort(404)
    return row


def _record(user: User, action: str, subject: str, **detail) -> None:
    audit.record(db, action, actor=audit.actor_for(user), subject=subject, **detail)


def _page_number() -> int:
    """``?page=`` as a page number; nonsense or a number too big for the database is page 1."""
    page = request.args.get("page", default=1, type=int)
    return page if 1 <= page <= 1_000_000 else 1


def _confirm(user: User, title, explanation: list, button, cancel: str):
    return render_template("components/confirm.html", user=user, title=title,
                           explanation=explanation, button=button, cancel=cancel)


def _people(user: User, role: Role) -> list[User]:
    return list(db.scalars(select(User).where(
        User.organisation_id == user.organisation_id, User.role == role,
        User.disabled_at.is_(None)).order_by(User.name)))


def _public_base() -> str:
    """Where links given to people point: VOICEAPP_PUBLIC_URL, as the command line and the
    invite cards use, else the address this page was asked for."""
    return (app_settings().public_url or request.host_url).rstrip("/")


def _zone() -> ZoneInfo:
    return ZoneInfo(app_settings().timezone)


# ---------------------------------------------------------------------------------------
# Conferences


@bp.get("/")
@coordinator_only
def home(user: User):
    opened = func.count(case((Invite.opened_at.is_not(None), 1)))
    invite_counts = (select(Invite.conference_id, func.count(Invite.id).label("invites"),
                            opened.label("opened"))
                     .group_by(Invite.conference_id).subquery())
    sent_counts = (select(Submission.conference_id, func.count(Submission.id).label("sent"))
                   .group_by(Submission.conference_id).subquery())
    rows = db.execute(
        select(Conference, func.coalesce(invite_counts.c.invites, 0),
               func.coalesce(invite_counts.c.opened, 0), func.coalesce(sent_counts.c.sent, 0))
        .outerjoin(invite_counts, invite_counts.c.conference_id == Conference.id)
        .outerjoin(sent_counts, sent_counts.c.conference_id == Conference.id)
        .where(Conference.organisation_id == user.organisation_id)
        .order_by((Conference.starts_at < utcnow()).asc(), Conference.starts_at)
    ).all()
    return render_template("admin/home.html", user=user, rows=rows, now=utcnow(),
                           alarms=integrity.recent_alarms(db),
                           disabled_chairs=[c for c, *_ in rows if c.starts_at >= utcnow()
                                            and c.chair.disabled_at is not None],
                           organisation=_organisation(user))


def _conference_form(user: User, conference: Conference | None = None) -> ConferenceForm:
    form = ConferenceForm(obj=None)
    form.chair.choices = [(0, _("Choose a chair"))] + [(c.id, c.name)
                                                       for c in _people(user, Role.CHAIR)]
    if conference is not None and request.method == "GET":
        local = conference.starts_at.astimezone(_zone())
        form.reference.data, form.date.data, form.time.data = (
            conference.reference, local.date(), local.time())
        form.kind.data, form.chair.data = conference.kind, conference.chair_id
        form.place.data = conference.place
    return form


def _save_conference(user: User, form: ConferenceForm, conference: Conference | None):
    starts_at = datetime.combine(form.date.data, form.time.data, _zone())
    moved = conference is None or starts_at != conference.starts_at
    if moved and starts_at <= utcnow():
        form.date.errors = [_("The conference must be in the future")]
        return None
    if form.chair.data not in {c.id for c in _people(user, Role.CHAIR)}:
        form.chair.errors = [_("Choose the chair")]
        return None
    if conference is None:
        conference = Conference(organisation_id=user.organisation_id)
        db.add(conference)
    conference.reference = form.reference.data.strip()
    conference.starts_at = starts_at
    conference.kind = form.kind.data
    conference.chair_id = form.chair.data
    conference.place = form.place.data or ""
    db.flush()
    for invite in db.scalars(select(Invite).where(Invite.conference_id == conference.id)):
        invite.expires_at = starts_at  # invites stay open until the meeting starts
    return conference


@bp.route("/conferences/new", methods=["GET", "POST"])
@coordinator_only
def new_conference(user: User):
    form = _conference_form(user)
    if form.validate_on_submit():
        with writing():
            conference = _save_conference(user, form, None)
            if conference is not None:
                _record(user, "conference.created", f"conference:{conference.id}")
        if conference is not None:
            return redirect(url_for("admin.conference", conference_id=conference.id))
    return render_template("admin/conference_form.html", user=user, form=form,
                           conference=None), 400 if form.errors else 200


@bp.route("/conferences/<int:conference_id>/edit", methods=["GET", "POST"])
@coordinator_only
def edit_conference(user: User, conference_id: int):
    conference = _own(Conference, user, conference_id)
    form = _conference_form(user, conference)
    if form.validate_on_submit():
        with writing():
            saved = _save_conference(user, form, conference)
            if saved:
                _record(user, "conference.changed", f"conference:{conference.id}")
        if saved:
            return redirect(url_for("admin.conference", conference_id=conference.id))
    return render_template("admin/conference_form.html", user=user, form=form,
                           conference=conference), 400 if form.errors else 200


@bp.get("/conferences/<int:conference_id>")
@coordinator_only
def conference(user: User, conference_id: int):
    conference = _own(Conference, user, conference_id)
    sent = func.count(Submission.id)
    rows = db.execute(
        select(Invite, sent, func.max(Submission.created_at))
        .outerjoin(Submission, Submission.invite_id == Invite.id)
        .where(Invite.conference_id == conference.id)
        .group_by(Invite.id).order_by(Invite.created_at)).all()
    advocates = {a.id: a.name for a in _people(user, Role.ADVOCATE)}
    form = InviteForm(data={"label": invites.pseudonym()})
    form.advocate.choices = [(0, _("No one yet"))] + list(advocates.items())
    chair_has_key = keyring.active_key(db, conference.chair_id, user.organisation_id) is not None
    return render_template("admin/conference.html", user=user, conference=conference,
                           rows=rows, form=form, advocates=advocates, now=utcnow(),
                           chair_has_key=chair_has_key, state_of=invites.state_of)


# ---------------------------------------------------------------------------------------
# Invites


@bp.post("/conferences/<int:conference_id>/invites")
@coordinator_only
def new_invite(user: User, conference_id: int):
    conference = _own(Conference, user, conference_id)
    form = InviteForm()
    advocates = {a.id for a in _people(user, Role.ADVOCATE)}
    form.advocate.choices = [(0, "")] + [(a, "") for a in advocates]
    if not form.validate_on_submit():
        return redirect(url_for("admin.conference", conference_id=conference.id))
    if conference.starts_at <= utcnow():
        abort(400)
    with writing():
        invite, _code = invites.create_invite(db, conference, form.label.data or "")
        invite.assigned_advocate_id = form.advocate.data or None
        _record(user, "invite.created", f"invite:{invite.id}", conference=conference.id)
    return redirect(url_for("admin.invite_card", invite_id=invite.id))


def _qr(text: str, title: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False,
                                     svgns=True, svgclass="qr-code", lineclass=None,
                                     title=title)
    return Markup(buffer.getvalue().decode())


@bp.get("/invites/<int:invite_id>/card")
@coordinator_only
def invite_card(user: User, invite_id: int):
    """A card to print or send for one child: the address, the code and a QR code, in the
    languages chosen (Welsh first when offered, then English). It says nothing about child
    protection, so it is safe to leave on a table."""
    invite = _own(Invite, user, invite_id)
    if invites.state_of(invite) is not invites.InviteState.OPEN:
        return render_template("admin/invite_closed.html", user=user, invite=invite), 410
    code = invites.code_of(invite)
    base = _public_base()
    link = f"{base}/i/{code}"
    offered = [available_locales()[0], *_other_languages(user)]
    languages = _card_languages(offered, request.args.getlist("languages"))
    return render_template("admin/invite_card.html", user=user, invite=invite,
                           code=invites.display_code(code), link=link, offered=offered,
                           languages=languages,
                           words=[_card_words(lang, invite, f"{base}/") for lang in languages],
                           qr=_qr(link, _("QR code that opens the invite")))


def _card_languages(offered: list[str], asked: list[str]) -> list[str]:
    """The card's languages in the order a council prints them: Welsh first, then English,
    then the others. Without a choice: Welsh and English where Welsh is offered."""
    chosen = [code for code in offered if code in asked] or \
        [code for code in offered if code in ("cy", offered[0])]
    return sorted(chosen, key=lambda code: (code != "cy", code != offered[0]))


def _card_words(lang: str, invite: Invite, start: str) -> dict:
    with force_locale(lang):
        return {
            "lang": lang,
            "title": _("Tell us what you think"),
            "intro": _("You can tell the person in charge of your meeting what you think, in "
                       "your own way. It is private."),
            # The address isolated left to right (U+2066 ... U+2069), whatever the language.
            "scan": _("Scan the code with a phone camera, or go to %(address)s and type this "
                      "code:", address=f"\u2066{start}\u2069"),
            "until": _("It works until %(date)s.", date=format_date(invite.expires_at, "long")),
            "keep": _("Keep this card somewhere private. If you need help, ask the person who "
                      "gave it to you."),
        }


@bp.route("/invites/<int:invite_id>/revoke", methods=["GET", "POST"])
@coordinator_only
def revoke_invite(user: User, invite_id: int):
    invite = _own(Invite, user, invite_id)
    if request.method == "GET":
        return _confirm(user, _("Stop this invite?"), [
            _("The child will not be able to use this code again. This cannot be undone: you "
              "would make a new invite instead."),
            _("Anything they have already sent is kept.")], _("Stop the invite"),
            url_for("admin.conference", conference_id=invite.conference_id))
    if invite.revoked_at is None:
        with writing():
            invite.revoked_at = utcnow()
            _record(user, "invite.revoked", f"invite:{invite.id}")
    return redirect(url_for("admin.conference", conference_id=invite.conference_id))


@bp.post("/invites/<int:invite_id>/advocate")
@coordinator_only
def assign_advocate(user: User, invite_id: int):
    invite = _own(Invite, user, invite_id)
    form = AssignAdvocateForm()
    form.advocate.choices = [(0, "")] + [(a.id, "") for a in _people(user, Role.ADVOCATE)]
    if form.validate_on_submit():
        with writing():
            invite.assigned_advocate_id = form.advocate.data or None
            _record(user, "invite.advocate-assigned", f"invite:{invite.id}",
                    advocate=invite.assigned_advocate_id)
    return redirect(url_for("admin.conference", conference_id=invite.conference_id))


# ---------------------------------------------------------------------------------------
# Staff


@bp.route("/staff", methods=["GET", "POST"])
@coordinator_only
def staff(user: User):
    services = list(db.scalars(select(AdvocacyService).where(
        AdvocacyService.organisation_id == user.organisation_id)))
    form = StaffForm()
    form.service.choices = [(0, _("None"))] + [(s.id, s.name) for s in services]
    link, made = None, False
    if form.validate_on_submit():
        email = auth.normalise_email(form.email.data)
        if db.scalar(select(User).where(User.email == email)):
            form.email.errors = [_("Someone already has an account with this email address")]
        else:
            with writing():
                person = User(organisation_id=user.organisation_id, email=email,
                              name=form.name.data.strip(), role=form.role.data,
                              advocacy_service_id=(form.service.data or None)
                              if form.role.data == Role.ADVOCATE else None)
                db.add(person)
                db.flush()
                link = _send_link(person, "staff.welcome", user)
                _record(user, "staff.invited", f"user:{person.id}", role=person.role)
            made = True
            form = StaffForm(formdata=None)
            form.service.choices = [(0, _("None"))] + [(s.id, s.name) for s in services]
    people = db.scalars(select(User).where(User.organisation_id == user.organisation_id)
                        .order_by(User.role, User.name)).all()
    pending = set(db.scalars(select(StaffInvite.user_id).where(
        StaffInvite.used_at.is_(None), StaffInvite.expires_at > utcnow())))
    key_resets = {asked.user_id: asked for asked in db.scalars(select(KeyResetRequest).where(
        KeyResetRequest.decided_at.is_(None))) if integrity.holds(asked)}
    may_approve = {asked.id for asked in key_resets.values()
                   if keyring.may_approve(db, asked, user)}
    return render_template("admin/staff.html", user=user, form=form, people=people,
                           link=link, made=made, pending=pending, key_resets=key_resets,
                           may_approve=may_approve,
                           services={s.id: s.name for s in services}), \
        400 if form.errors else 200


@bp.route("/staff/<int:person_id>/disable", methods=["GET", "POST"])
@coordinator_only
def disable(user: User, person_id: int):
    person = _own(User, user, person_id)
    if person.id == user.id:
        abort(400)
    if request.method == "GET":
        return _confirm(user, _("Disable %(name)s?", name=person.name), [
            _("They will be signed out everywhere at once and will not be able to sign in. "
              "You can enable them again later.")], _("Disable"), url_for("admin.staff"))
    if person.disabled_at is None:
        with writing():
            person.disabled_at = utcnow()
            end_sessions_of(db, person.id)
            _record(user, "staff.disabled", f"user:{person.id}")
    return redirect(url_for("admin.staff"))


@bp.post("/staff/<int:person_id>/enable")
@coordinator_only
def enable(user: User, person_id: int):
    person = _own(User, user, person_id)
    if person.disabled_at is not None:
        with writing():
            person.disabled_at = None
            _record(user, "staff.enabled", f"user:{person.id}")
    return redirect(url_for("admin.staff"))


@bp.route("/staff/<int:person_id>/reset", methods=["GET", "POST"])
@coordinator_only
def reset_authenticator(user: User, person_id: int):
    """A lost phone: the old authenticator and password stop working at once, and the
    person sets up new ones from a one-time link. Their key and passphrase are unchanged."""
    person = _own(User, user, person_id)
    if request.method == "GET":
        return _confirm(user, _("Give %(name)s a new sign-in link?", name=person.name), [
            _("Their password and authenticator stop working at once and they are signed "
              "out everywhere. They set up new ones from the link. Their key passphrase does "
              "not change.")], _("Make a new sign-in link"), url_for("admin.staff"))
    with writing():
        person.password_hash = None
        person.totp_secret_sealed = None
        person.totp_last_step = None
        end_sessions_of(db, person.id)
        link = _send_link(person, "staff.sign-in-link", user)
        _record(user, "staff.authenticator-reset", f"user:{person.id}")
    return render_template("admin/staff_link.html", user=user, person=person, link=link)


def _send_link(person: User, kind: str, by: User) -> str | None:
    """Make a one-time sign-in link and email it to ``person`` (inside writing()). Returns
    it for the coordinator to pass on only when no mail is set up: with mail, nobody but
    its owner ever sees it."""
    link = _public_base() + url_for("staff.welcome",
                                    token=auth.create_staff_invite(db, person, by))
    notifications.tell(db, notifications.note(kind, person.email, user=person, link=link))
    return None if delivery.emails_for_real(app_settings()) else link


@bp.route("/staff/<int:person_id>/reset-key", methods=["GET", "POST"])
@coordinator_only
def reset_key(user: User, person_id: int):
    """A forgotten passphrase: ask for a new key for them. A second coordinator must approve
    it (:func:`decide_key_reset`), so one coordinator alone cannot take over what is sent to
    a chair or an advocate from now on."""
    person = _own(User, user, person_id)
    if person.role not in (Role.CHAIR, Role.ADVOCATE) or person.id == user.id:
        abort(400)
    if request.method == "GET":
        return _confirm(user, _("Has %(name)s forgotten their key passphrase?", name=person.name), [
            _("Only do this if they cannot remember it. Another coordinator must approve it. "
              "Then they make a new key when they next sign in, and until the organisation's "
              "recovery key is used they cannot read what was sent before.")],
            _("Yes, ask for a new key"), url_for("admin.staff"))
    with writing():
        if keyring.pending_key_reset(db, person) is None:
            db.add(KeyResetRequest(user_id=person.id, requested_by_id=user.id))
            _record(user, "staff.key-reset-requested", f"user:{person.id}")
            notifications.tell(db, notifications.note("staff.key-reset-requested",
                                                      person.email, user=person))
    return render_template("admin/key_reset.html", user=user, person=person, approved=False)


@bp.post("/key-resets/<int:request_id>")
@coordinator_only
def decide_key_reset(user: User, request_id: int):
    """Another coordinator approves (or refuses) a request for someone's new key."""
    asked = db.get(KeyResetRequest, request_id)
    if asked is None or asked.decided_at is not None or not integrity.holds(asked):
        abort(404)
    person = _own(User, user, asked.user_id)
    if not keyring.may_approve(db, asked, user):
        abort(403)  # not a second person: the one who asked, or someone they let in
    approve = request.form.get("decision") == "approve"
    with writing():
        keyring.decide_key_reset(db, asked, person, approve, user, audit.actor_for(user))
    if not approve:
        return redirect(url_for("admin.staff"))
    return render_template("admin/key_reset.html", user=user, person=person, approved=True)


# ---------------------------------------------------------------------------------------
# Settings and advocacy services


@bp.route("/settings", methods=["GET", "POST"])
@coordinator_only
def settings(user: User):
    organisation = _organisation(user)
    form = SettingsForm(obj=organisation if request.method == "GET" else None)
    form.languages.choices = [(code, language_name(code)) for code in available_locales()[1:]]
    if request.method == "GET":
        form.languages.data = organisation.language_codes
    altered = not integrity.holds(organisation)
    if form.validate_on_submit():
        with writing():
            if altered:  # every sealed setting is on this form, checked by the coordinator
                integrity.vouch(db, organisation)
                _record(user, "integrity.vouched", f"organisation:{organisation.id}")
            organisation.name = form.name.data.strip()
            organisation.exit_url = (form.exit_url.data or "").strip()
            organisation.out_of_hours_phone = (form.out_of_hours_phone.data or "").strip()
            organisation.duty_email = auth.normalise_email(form.duty_email.data or "")
            organisation.out_of_hours_email = auth.normalise_email(
                form.out_of_hours_email.data or "")
            organisation.languages = ",".join(form.languages.data)
            organisation.retention_days_after_recorded = \
                form.retention_days_after_recorded.data
            organisation.retention_days_after_meeting = form.retention_days_after_meeting.data
            _record(user, "settings.changed", f"organisation:{organisation.id}")
        forget_offered_locales()
        return redirect(url_for("admin.settings", saved=1))
    services = db.scalars(select(AdvocacyService).where(
        AdvocacyService.organisation_id == user.organisation_id)
        .order_by(AdvocacyService.name)).all()
    offered = [available_locales()[0], *_other_languages(user)]
    missing = {s.id: [language_name(code) for code in s.missing_words(offered, offered[0])]
               if s.active else [] for s in services}
    return render_template("admin/settings.html", user=user, form=form, services=services,
                           missing_words=missing, saved=request.args.get("saved"),
                           altered=altered, default_exit_url=DEFAULT_EXIT_URL,
                           can_read=keyring.services_that_can_read(db, user.organisation_id)), \
        400 if form.errors else 200


@bp.route("/services/new", methods=["GET", "POST"], defaults={"service_id": None})
@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@coordinator_only
def service(user: User, service_id: int | None):
    existing = _own(AdvocacyService, user, service_id) if service_id else None
    languages = _other_languages(user)
    form = service_form(languages, existing)
    altered = existing is not None and not integrity.holds(existing)
    if form.validate_on_submit():
        with writing():
            service = existing or AdvocacyService(organisation_id=user.organisation_id)
            for name in ("name", "in_a_sentence", "description", "contact"):
                setattr(service, name, (form[name].data or "").strip())
            service.shared_email = auth.normalise_email(form.shared_email.data or "")
            service.active = form.active.data
            if altered:  # the coordinator checked what is on the form: only that is kept
                service.translations = form.translations()
                integrity.vouch(db, service)
                _record(user, "integrity.vouched", f"service:{service.id}")
            else:  # languages no longer offered keep their words, for if offered again
                service.translations = {**(service.translations or {}), **form.translations()}
            db.add(service)
            db.flush()
            _record(user, "service.saved", f"service:{service.id}")
        return redirect(url_for("admin.settings", saved=1))
    return render_template("admin/service_form.html", user=user, form=form,
                           service=existing, altered=altered), 400 if form.errors else 200


def _other_languages(user: User) -> list[str]:
    """The languages besides the default that this organisation offers children."""
    offered = set(user.organisation.language_codes)
    return [code for code in available_locales()[1:] if code in offered]


# ---------------------------------------------------------------------------------------
# Numbers and the audit log


@bp.get("/numbers")
@coordinator_only
def numbers(user: User):
    return render_template("admin/numbers.html", user=user,
                           months=monthly_numbers(db, user.organisation_id))


@bp.get("/audit")
@coordinator_only
def audit_log(user: User):
    page = _page_number()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                        .offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)).all()
    checked = bool(request.args.get("check"))
    names = {f"{person.role}:{person.id}": person.name for person in db.scalars(
        select(User).where(User.organisation_id == user.organisation_id))}
    broken = audit.verify(db) if checked else None
    if broken is not None:
        with writing():
            notifications.to_coordinators(db, "coordinator.audit-broken",
                                          once_within=timedelta(hours=1))
    return render_template("admin/audit.html", user=user, events=events[:AUDIT_PAGE],
                           names=names,
                           page=page, more=len(events) > AUDIT_PAGE, checked=checked,
                           broken=broken)


# ---------------------------------------------------------------------------------------
# Notifications: what was sent to whom and when, never what a child said


@bp.get("/notifications")
@coordinator_only
def notifications_page(user: User):
    """Every message to staff: to whom, about which conference, when, sent or failed and
    why. In development with no mail set up, this is the mail outbox: the messages
    themselves. Messages told because of what a child did are only counted: who was told
    when would tell a coordinator the child's choices."""
    page = _page_number()
    rows = db.scalars(select(Notification).options(selectinload(Notification.conference))
                      .where(Notification.kind.not_in(notifications.ABOUT_A_CHILD))
                      .order_by(Notification.created_at.desc())
                      .offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)).all()
    state = case((Notification.sent_at.is_not(None), "sent"),
                 (Notification.failed_at.is_not(None), "failed"), else_="waiting")
    about_children = dict(db.execute(
        select(state, func.count()).where(Notification.kind.in_(notifications.ABOUT_A_CHILD))
        .group_by(state)).all())
    config = app_settings()
    outbox = not delivery.emails_for_real(config) and not config.is_production
    shown = {}
    if outbox:
        for row in rows:
            try:
                shown[row.id] = delivery.message_for(row)
            except delivery.Undeliverable:
                pass
    return render_template("admin/notifications.html", user=user, rows=rows[:AUDIT_PAGE],
                           page=page, more=len(rows) > AUDIT_PAGE,
                           subjects={row.id: delivery.subject_of(row) for row in rows},
                           outbox=outbox, shown=shown, about_children=about_children,
                           channel=delivery.channel_for(config), now=utcnow())


@bp.post("/notifications/<int:notification_id>/again")
@coordinator_only
def send_again(user: User, notification_id: int):
    notification = db.get(Notification, notification_id)
    if notification is None or notification.kind in notifications.ABOUT_A_CHILD:
        abort(404)
    if notification.failed_at is not None:
        with writing():
            delivery.send_again(notification)
            _record(user, "notification.sent-again", f"notification:{notification.id}")
    return redirect(url_for("admin.notifications_page"))


@bp.post("/notifications/about-children/again")
@coordinator_only
def send_again_about_children(user: User):
    """Every message about a child's send that could not be delivered, sent again together
    (one by one would show who they were to)."""
    with writing():
        failed = db.scalars(select(Notification).where(
            Notification.kind.in_(notifications.ABOUT_A_CHILD),
            Notification.failed_at.is_not(None))).all()
        for notification in failed:
            delivery.send_again(notification)
        if failed:
            _record(user, "notification.sent-again", "notifications:about-children",
                    count=len(failed))
    return redirect(url_for("admin.notifications_page"))
