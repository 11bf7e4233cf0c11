"""Telling the right adult in time, without ever saying what a child said.

Every event that needs someone told adds a :class:`Notification` row in the same transaction
as the event itself (the outbox): nothing is told about what was not stored, and nothing
stored goes untold. ``flask --app voiceapp notify`` (:mod:`voiceapp.delivery`) sends them.

What a message may say: that something happened, for which conference (its reference), when
the meeting is, and where to sign in. Never a child's words, name or label, a score, or what
they chose. A one-time sign-in link travels sealed under the instance key and is wiped from
the row once delivered.

Who is told what:
- the chair: something new for their conference (at once, or in one email each morning if
  they prefer); something that needs looking at soon (a low safety score), always at once;
- the duty address (in office hours) and the out-of-hours address (otherwise, and the duty
  address too): something that needs looking at soon, at once;
- an advocacy service (its shared address, else each of its advocates): a child asked for
  its help; an advocate: a child shared their views with them;
- staff: their one-time welcome link, a new sign-in link, a key asked for or reset, their
  passphrase changed (so nothing can happen to an account silently);
- coordinators: a message that could not be delivered, something changed outside voiceapp,
  the audit log failing its check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from . import crypto, integrity
from .auth import instance_key
from .config import settings
from .db import utcnow
from .models import AdvocacyService, Conference, Notification, Organisation, Role, User

OFFICE_HOURS = (time(9, 0), time(17, 0))  # Monday to Friday, in the organisation's zone
SUMMARY_AT = time(8, 0)  # when the morning summary goes
DOMAIN = "voiceapp.invalid"  # the right-hand side of every Message-ID


@dataclass(frozen=True)
class Kind:
    """What one kind of message says. ``link`` is the endpoint it points to, or "secret" for
    a one-time link of its own."""

    subject: object
    body: object
    link: str = "staff.sign_in"
    coordinators_told_of_failure: bool = True
    # Told because of what a child did: who was told, and when, would let a coordinator
    # work out the child's choices (a low score, a service, a yes), so their page only
    # counts these messages (see ABOUT_A_CHILD).
    about_a_child: bool = False


_SIGN_IN = _l("Sign in to voiceapp to read it: %(link)s")
KINDS: dict[str, Kind] = {
    "submission.new": Kind(
        _l("Something new for conference %(reference)s"),
        _l("Something new has been sent for conference %(reference)s (the meeting is on "
           "%(when)s)."), about_a_child=True),
    "submission.urgent": Kind(
        _l("Needs looking at soon: conference %(reference)s"),
        _l("Something sent for conference %(reference)s (the meeting is on %(when)s) needs "
           "looking at soon. Please read it today."), about_a_child=True),
    "submission.urgent-duty": Kind(
        _l("Needs looking at soon: conference %(reference)s"),
        _l("Something a child sent for conference %(reference)s (the meeting is on "
           "%(when)s) needs looking at soon. Its chair has been told too. If the chair "
           "cannot be reached, follow your usual safeguarding steps for this conference."),
        about_a_child=True),
    "advocate.asked": Kind(
        _l("A child asked for your help: conference %(reference)s"),
        _l("A child has asked your advocacy service to help them with conference "
           "%(reference)s (the meeting is on %(when)s). Sign in to see which child."),
        link="advocate.dashboard", about_a_child=True),
    "advocate.shared": Kind(
        _l("A child shared their views with you: conference %(reference)s"),
        _l("A child has shared their views with you for conference %(reference)s (the "
           "meeting is on %(when)s)."), link="advocate.dashboard", about_a_child=True),
    "chair.summary": Kind(
        _l("New views for your conferences"),
        _l("Since yesterday morning, something new has been sent for these conferences: "
           "%(references)s."), link="chair.inbox", about_a_child=True),
    "staff.welcome": Kind(
        _l("Your voiceapp account"),
        _l("An account has been made for you on voiceapp. Set your password and "
           "authenticator with this link. It works once, for 7 days: %(link)s"),
        link="secret"),
    "staff.sign-in-link": Kind(
        _l("A new sign-in link for voiceapp"),
        _l("Your coordinator has given you a new sign-in link: your old password and "
           "authenticator no longer work. It works once, for 7 days: %(link)s\n\nIf you did "
           "not expect this, tell your coordinator straight away."), link="secret"),
    "staff.key-reset-requested": Kind(
        _l("A new key was asked for on your voiceapp account"),
        _l("A coordinator has asked for a new key for your account, because of a forgotten "
           "passphrase. Another coordinator must approve it. If you did not ask for this, "
           "tell your coordinators straight away.")),
    "staff.key-reset": Kind(
        _l("Your voiceapp key was reset"),
        _l("A new key was approved for your account. You have been signed out, and you will "
           "choose a new key passphrase when you next sign in. If you did not ask for this, "
           "tell your coordinators straight away.")),
    "staff.passphrase-changed": Kind(
        _l("Your voiceapp key passphrase was changed"),
        _l("The passphrase of your key was changed. If you did not do this, tell your "
           "coordinator straight away.")),
    "coordinator.delivery-failed": Kind(
        _l("A voiceapp message could not be delivered"),
        _l("A message from voiceapp could not be delivered. See Notifications in voiceapp: "
           "you can send it again from there."), link="admin.notifications_page",
        coordinators_told_of_failure=False),
    "coordinator.altered": Kind(
        _l("voiceapp found something changed outside voiceapp"),
        _l("voiceapp found a record, key or file that was changed in its database, not "
           "through voiceapp. It did not use or show it. See the audit log, and tell whoever "
           "looks after the server and the database straight away."),
        link="admin.audit_log"),
    "coordinator.audit-broken": Kind(
        _l("The voiceapp audit log failed its check"),
        _l("A line of the audit log was changed or removed. Tell whoever looks after the "
           "server and the database straight away."), link="admin.audit_log"),
}
URGENT = ("submission.urgent", "submission.urgent-duty")  # delivered before anything else
ABOUT_A_CHILD = frozenset(name for name, kind in KINDS.items() if kind.about_a_child)
FOOTER = _l("This message only says that something happened. It never says what a child "
            "said. Please do not reply to it.")


def message_id() -> str:
    return f"<{uuid.uuid4()}@{DOMAIN}>"


def note(kind: str, to: str, *, conference: Conference | None = None, user: User | None = None,
         daily: bool = False, due_at: datetime | None = None, link: str | None = None) -> dict:
    """One row for the outbox (see :func:`tell`). ``link``, a one-time link, is sealed."""
    if kind not in KINDS:
        raise KeyError(kind)
    now, message = utcnow(), message_id()
    return {"message_id": message, "kind": kind, "to_address": to,
            "conference_id": conference.id if conference else None,
            "user_id": user.id if user else None, "daily": daily, "created_at": now,
            "due_at": due_at or now, "attempts": 0, "last_error": "",
            "link_sealed": crypto.seal_secret(link.encode(), instance_key("outbox-link"),
                                              _link_context(message, to)) if link else None}


def tell(tx: Session, *notes: dict) -> None:
    """Add notes to the outbox in ``tx``, all in one statement."""
    notes = [n for n in notes if n["to_address"]]
    if notes:
        tx.execute(insert(Notification), notes)


def link_of(notification: Notification) -> str | None:
    """A notification's one-time link (None once delivered, or if it cannot be opened)."""
    if notification.link_sealed is None:
        return None
    try:
        return crypto.open_secret(notification.link_sealed, instance_key("outbox-link"),
                                  _link_context(notification.message_id,
                                                notification.to_address)).decode()
    except crypto.DecryptionError:
        return None


def _link_context(message: str, to: str) -> bytes:
    return crypto.context("outbox-link", message=message, to=to)


# ---------------------------------------------------------------------------------------
# The events


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def in_office_hours(at: datetime) -> bool:
    local = at.astimezone(_zone())
    return local.weekday() < 5 and OFFICE_HOURS[0] <= local.time() < OFFICE_HOURS[1]


def next_summary(after: datetime) -> datetime:
    """The next morning summary after ``after`` (08:00 in the organisation's zone)."""
    local = after.astimezone(_zone())
    due = datetime.combine(local.date(), SUMMARY_AT, _zone())
    return due if due > local else due + timedelta(days=1)


def for_a_send(tx: Session, *, conference: Conference, organisation: Organisation,
               chair: User | None, urgent: bool, asked_service_id: int | None,
               shared_with: list[User]) -> None:
    """Everyone to tell about a child's (or an advocate's) send, in one statement."""
    now = utcnow()
    notes = []
    if chair is not None:
        daily = chair.daily_summary and not urgent
        notes.append(note("submission.urgent" if urgent else "submission.new", chair.email,
                          conference=conference, user=chair, daily=daily,
                          due_at=next_summary(now) if daily else now))
    if urgent and integrity.holds(organisation):  # else the coordinators are warned
        duty = [organisation.duty_email] if in_office_hours(now) else [
            organisation.out_of_hours_email, organisation.duty_email]
        notes += [note("submission.urgent-duty", address, conference=conference)
                  for address in dict.fromkeys(a for a in duty if a)]
    if asked_service_id is not None:
        notes += [note("advocate.asked", address, conference=conference)
                  for address in service_addresses(tx, asked_service_id)]
    notes += [note("advocate.shared", person.email, conference=conference, user=person)
              for person in shared_with]
    tell(tx, *notes)


def service_addresses(tx: Session, service_id: int) -> list[str]:
    """Where to tell an advocacy service: its shared address (while the service is as a
    coordinator saved it), else each of its advocates."""
    rows = tx.execute(select(AdvocacyService, User.email)
                      .outerjoin(User, (User.advocacy_service_id == AdvocacyService.id)
                                 & (User.role == Role.ADVOCATE) & User.disabled_at.is_(None))
                      .where(AdvocacyService.id == service_id)).all()
    shared = next((service.shared_email for service, _ in rows
                   if service.shared_email and integrity.holds(service)), None)
    return [shared] if shared else [email for _, email in rows if email]


def to_coordinators(tx: Session, kind: str, *, once_within: timedelta | None = None,
                    **extra) -> None:
    """Tell every coordinator (one organisation per deployment); with ``once_within``, not
    again if they were told of this kind that recently (an attack that trips many alarms
    sends one message, not hundreds)."""
    if once_within is not None and tx.scalar(select(Notification.id).where(
            Notification.kind == kind,
            Notification.created_at >= utcnow() - once_within).limit(1)) is not None:
        return
    people = tx.scalars(select(User).where(User.role == Role.COORDINATOR,
                                           User.disabled_at.is_(None)))
    tell(tx, *[note(kind, person.email, user=person, **extra) for person in people])
