"""Delivering the outbox (:mod:`voiceapp.notifications`): by SMTP or GOV.UK Notify, with
retries, shared safely by any number of senders.

- A sender claims a batch of due messages in a short transaction, each for a few minutes
  (a lease; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so two senders never take the
  same one). It delivers them outside any transaction, then marks each sent in another.
  A sender killed between delivering and marking leaves a message whose lease runs out:
  another sender delivers it again, with the same Message-ID, so mail systems and people
  can tell it is the same message. That is at most one duplicate.
- A message that cannot be delivered now (the server down, slow, or saying "try later") is
  tried again, waiting longer each time (1, 2, 4 ... minutes, at most an hour), for about a
  day; one refused for good (no such mailbox) fails at once. Coordinators see every failure
  on their Notifications page, can send it again, and are told by email.
- With neither SMTP nor Notify set, development and tests print messages to the console
  and keep them for the coordinator's Notifications page ("mail outbox"); production keeps
  them waiting (and ``flask check`` says so).

A message is built at delivery from its kind, its conference's reference and date and a
link: there is nothing else it could say.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app
from flask_babel import force_locale, format_datetime
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import joinedload

from .config import Settings, settings
from .db import utcnow, write_transaction
from .models import Notification
from .notifications import FOOTER, KINDS, URGENT, _SIGN_IN, link_of, to_coordinators

log = logging.getLogger("voiceapp")

LEASE = timedelta(minutes=3)
BATCH = 50
MAX_ATTEMPTS = 16  # about a day of waiting, doubling to an hour
TIMEOUT_SECONDS = 15


class NotNow(Exception):
    """The channel could not take the message now: try again later."""


class Undeliverable(Exception):
    """The channel refused the message for good (a wrong address, a broken header)."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    message_id: str


# ---------------------------------------------------------------------------------------
# Channels


class SMTPChannel:
    """Mail by SMTP (the standard library): ``smtp://`` (a local relay), ``smtp+starttls://``
    (TLS required) or ``smtps://``, with a user and password in the address if needed."""

    name = "SMTP"

    def __init__(self, url: str, mail_from: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError("VOICEAPP_SMTP_URL must start smtp://, smtp+starttls:// or smtps://")
        self.tls = parts.scheme == "smtps"
        self.starttls = parts.scheme == "smtp+starttls"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from

    def send(self, message: Message) -> None:
        email = EmailMessage()
        try:
            email["From"] = self.mail_from
            email["To"] = message.to
            email["Subject"] = message.subject
            email["Message-ID"] = message.message_id
            email["Date"] = formatdate()
            email["Auto-Submitted"] = "auto-generated"
        except ValueError as problem:  # a line break in a header: never sent
            raise Undeliverable(f"refused header: {problem}") from None
        email.set_content(message.body)
        try:
            connect = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
            kwargs = {"context": ssl.create_default_context()} if self.tls else {}
            with connect(self.host, self.port, timeout=TIMEOUT_SECONDS, **kwargs) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            raise (Undeliverable if all(c >= 500 for c in codes) else NotNow)(
                f"recipient refused ({', '.join(map(str, codes))})") from None
        except smtplib.SMTPResponseException as answer:
            raise (Undeliverable if answer.smtp_code >= 500 else NotNow)(
                f"the mail server said {answer.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as problem:
            raise NotNow(f"the mail server could not be reached ({type(problem).__name__})") \
                from None


class NotifyChannel:
    """GOV.UK Notify, with the official client. The template must have ((subject)) as its
    subject and ((body)) as its message."""

    name = "GOV.UK Notify"

    def __init__(self, api_key: str, template_id: str, base_url: str) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(api_key, base_url=base_url,
                                             timeout=TIMEOUT_SECONDS)
        self.template_id = template_id

    def send(self, message: Message) -> None:
        import requests
        from notifications_python_client.errors import HTTPError

        if any(ch in message.to for ch in "\r\n"):
            raise Undeliverable("refused header: a line break in the address")
        try:
            self.client.send_email_notification(
                email_address=message.to, template_id=self.template_id,
                personalisation={"subject": message.subject, "body": message.body},
                reference=message.message_id)
        except HTTPError as answer:
            temporary = answer.status_code in (429,) or answer.status_code >= 500
            raise (NotNow if temporary else Undeliverable)(
                f"Notify said {answer.status_code}") from None
        except requests.RequestException as problem:
            raise NotNow(f"Notify could not be reached ({type(problem).__name__})") from None


class ConsoleChannel:
    """Development: print the message (and keep it for the coordinator's page)."""

    name = "console"
    keeps_links = True

    def send(self, message: Message) -> None:
        print(f"\n--- voiceapp mail (development, not sent) ---\nTo: {message.to}\n"
              f"Subject: {message.subject}\nMessage-ID: {message.message_id}\n\n"
              f"{message.body}\n---", file=sys.stderr, flush=True)


def emails_for_real(config: Settings) -> bool:
    """Whether messages leave this server (SMTP or Notify), not only the console."""
    return bool(config.smtp_url or (config.notify_api_key and config.notify_template_id))


def channel_for(config: Settings):
    """The channel the settings choose, or None (production with nothing set: wait)."""
    if config.smtp_url:
        return SMTPChannel(config.smtp_url, config.mail_from)
    if config.notify_api_key and config.notify_template_id:
        return NotifyChannel(config.notify_api_key, config.notify_template_id,
                             config.notify_base_url)
    return None if config.is_production else ConsoleChannel()


# ---------------------------------------------------------------------------------------
# Building a message


def base_url() -> str:
    return (settings().public_url or current_app.extensions.get("voiceapp.seen_url")
            or "http://127.0.0.1:5000").rstrip("/")


def subject_of(notification: Notification) -> str:
    """The message's subject line, as the coordinator's Notifications page lists it."""
    conference = notification.conference
    return str(KINDS[notification.kind].subject) % {
        "reference": conference.reference if conference else "", "references": ""}


def message_for(notification: Notification, references: list[str] = ()) -> Message:
    """The words of one message (in the organisation's default language)."""
    kind = KINDS[notification.kind]
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if kind.link == "secret":
            link = link_of(notification)
            if link is None:
                raise Undeliverable("its one-time link has already been delivered or is gone")
        else:
            link = base_url() + current_app.url_map.bind("").build(kind.link)
        conference = notification.conference
        values = {"reference": conference.reference if conference else "",
                  "when": format_datetime(conference.starts_at, "d MMMM y, HH:mm")
                  if conference else "",
                  "references": ", ".join(references), "link": link}
        body = str(kind.body) % values
        if kind.link != "secret":
            body += "\n\n" + str(_SIGN_IN) % {"link": link}
        return Message(notification.to_address, str(kind.subject) % values,
                       body + "\n\n" + str(FOOTER), notification.message_id)


# ---------------------------------------------------------------------------------------
# The sender


@dataclass
class Report:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def claim(now: datetime, batch: int = BATCH) -> list[Notification]:
    """Take up to ``batch`` due messages for this sender, for :data:`LEASE`."""
    with write_transaction() as tx:
        claimed = list(tx.scalars(
            select(Notification).options(joinedload(Notification.conference))
            .where(Notification.sent_at.is_(None), Notification.failed_at.is_(None),
                   Notification.due_at <= now,
                   or_(Notification.claimed_until.is_(None),
                       Notification.claimed_until < now))
            .order_by(case((Notification.kind.in_(URGENT), 0), else_=1), Notification.due_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=Notification)))
        for notification in claimed:
            notification.claimed_until = now + LEASE
    return claimed


def deliver_due(channel, now: datetime | None = None, batch: int = BATCH) -> Report:
    """Deliver what is due now (in this app's context)."""
    now = now or utcnow()
    report = Report()
    claimed = claim(now, batch)
    # Stop while the claim still holds: past it, another sender may take the same messages.
    # What is left is let go at once, for the next round.
    deadline = now + LEASE - timedelta(seconds=2 * TIMEOUT_SECONDS)
    daily: dict[str, list[Notification]] = {}
    for index, notification in enumerate(claimed):
        if utcnow() >= deadline:
            _let_go(claimed[index:] + [n for group in daily.values() for n in group])
            return report
        if notification.daily:
            daily.setdefault(notification.to_address, []).append(notification)
            continue
        _deliver(channel, [notification], report, lambda n=notification: message_for(n))
    for group in daily.values():
        references = sorted({n.conference.reference for n in group if n.conference})
        summary = Notification(kind="chair.summary", to_address=group[0].to_address,
                               message_id=group[0].message_id)
        _deliver(channel, group, report, lambda s=summary, r=references: message_for(s, r))
    return report


def _let_go(unsent: list[Notification]) -> None:
    with write_transaction() as tx:
        tx.execute(update(Notification).where(Notification.id.in_([n.id for n in unsent]))
                   .values(claimed_until=None))


def _deliver(channel, group: list[Notification], report: Report, build) -> None:
    try:
        message = build()
    except Undeliverable as problem:
        _finish(group, report, failure=str(problem))
        return
    try:
        channel.send(message)
    except NotNow as problem:
        _finish(group, report, retry=str(problem))
    except Undeliverable as problem:
        _finish(group, report, failure=str(problem))
    else:
        _finish(group, report, keep_links=getattr(channel, "keeps_links", False))


def _finish(group: list[Notification], report: Report, retry: str = "", failure: str = "",
            keep_links: bool = False) -> None:
    now = utcnow()
    with write_transaction() as tx:
        rows = tx.scalars(select(Notification).where(
            Notification.id.in_([n.id for n in group]))).all()
        for row in rows:
            row.claimed_until = None
            if retry and row.attempts + 1 < MAX_ATTEMPTS:
                row.attempts += 1
                row.due_at = now + backoff(row.attempts)
                row.last_error = retry[:200]
                report.retried += 1
            elif retry or failure:
                row.attempts += 1
                row.failed_at = now
                row.last_error = (failure or retry)[:200]
                report.failed += 1
                log.error("notification %s failed for good: %s", row.id, row.last_error)
                if KINDS[row.kind].coordinators_told_of_failure:
                    to_coordinators(tx, "coordinator.delivery-failed",
                                    once_within=timedelta(hours=1))
            else:
                row.sent_at = now
                row.last_error = ""
                if not keep_links:
                    row.link_sealed = None  # a one-time link is kept only until delivered
                report.sent += 1


def send_again(notification: Notification) -> None:
    """A coordinator's "send again" for a failed message."""
    notification.failed_at = None
    notification.attempts = 0
    notification.due_at = utcnow()
    notification.last_error = ""


def run_forever(app: Flask, channel, every: float = 5.0,
                stop: threading.Event | None = None) -> None:
    """Deliver what is due, then wait a little, until stopped."""
    stop = stop or threading.Event()
    while not stop.is_set():
        with app.app_context():
            try:
                deliver_due(channel)
            except Exception:  # noqa: BLE001 - a sender must outlive a bad moment
                log.exception("the notification sender stumbled; trying again shortly")
        stop.wait(every)


_background = threading.Lock()


def start_in_background(app: Flask) -> None:
    """Development: run a sender thread inside the server process (``flask run``), so a
    newcomer sees messages without running ``flask notify`` as well."""
    with _background:
        if app.extensions.get("voiceapp.sender"):
            return
        channel = channel_for(app.extensions["voiceapp.settings"])
        thread = threading.Thread(target=run_forever, args=(app, channel),
                                  name="voiceapp-notify", daemon=True)
        app.extensions["voiceapp.sender"] = thread
        thread.start()
