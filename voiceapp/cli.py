"""``flask --app voiceapp ...`` commands: init-db, demo, recovery-key and friends."""

from __future__ import annotations

import json
import os
import sys
import secrets
import sqlite3
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, func, select

from . import (
    audit, auth, crypto, delivery, invites, keyring, notifications, preflight, retention,
    submissions,
)
from .config import settings
from .db import Base, database, upgrade_schema, write_transaction
from .models import (
    AdvocacyService, AuditEvent, Conference, ConferenceKind, Organisation, RecipientKey, Role,
    User,
)

DEMO_ORGANISATION = "Demo Council (example data)"


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database tables (runs every migration)."""
    upgrade_schema(settings().database_url, settings().secret_key)
    click.echo("The database is ready.")


@click.command("recovery-key")
@with_appcontext
@click.option("--rotate", is_flag=True, help="Replace the current recovery key.")
def recovery_key(rotate: bool) -> None:
    """Create the organisation's offline recovery key and print its private half once."""
    with write_transaction() as tx:
        organisation = tx.scalar(select(Organisation).order_by(Organisation.id).limit(1))
        if organisation is None:
            raise click.ClickException("Create the organisation first (see the README).")
        if keyring.active_key(tx, None, organisation.id) and not rotate:
            raise click.ClickException(
                "A recovery key already exists. Use --rotate to replace it (the old key "
                "still opens everything sealed to it).")
        key, private_text = keyring.create_recovery_key(tx, organisation)
        fingerprint = crypto.key_fingerprint(key.public_key)
    click.echo(f"Recovery key {key.id} created. Its private half is below. Print it or "
               "write it down, keep it offline in a safe, and never store it on this "
               "server. It will not be shown again.\n")
    click.echo(private_text)
    click.echo("\nPin it: set this on every server, so that no other recovery key written "
               "into the database is ever used:\n")
    click.echo(f"VOICEAPP_RECOVERY_KEY_FINGERPRINT='{fingerprint}'")


def _password() -> str:
    return secrets.token_urlsafe(12)


def _demo_person(tx, organisation: Organisation, role: Role, email: str, name: str,
                 **extra) -> tuple[User, dict]:
    password = _password()
    user = User(organisation_id=organisation.id, email=email, name=name, role=role,
                password_hash=auth.hash_password(password), **extra)
    tx.add(user)
    tx.flush()
    secret = auth.new_totp_secret()
    auth.set_totp_secret(user, secret)
    return user, {"email": email, "password": password, "totp_secret": secret}


def _wipe_demo(tx) -> None:
    organisations = tx.scalars(select(Organisation)).all()
    if any(o.name != DEMO_ORGANISATION for o in organisations):
        raise click.ClickException("This database holds a real organisation: "
                                   "the demo only runs on an empty or demo database.")
    for table in reversed(Base.metadata.sorted_tables):
        tx.execute(delete(table))


@click.command("demo")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo(as_json: bool) -> None:
    """Load (or reload) demo data: an organisation, a conference, staff and two invites."""
    if settings().is_production:
        raise click.ClickException("The demo data is not for production.")
    upgrade_schema(settings().database_url, settings().secret_key)
    zone = ZoneInfo(settings().timezone)
    meeting_day = datetime.now(zone).date() + timedelta(days=7)
    starts_at = datetime.combine(meeting_day, time(10, 0), zone)
    with write_transaction() as tx:
        _wipe_demo(tx)
        organisation = Organisation(name=DEMO_ORGANISATION, out_of_hours_phone="01632 960 123",
                                    languages="cy,ar")
        tx.add(organisation)
        tx.flush()
        recovery, recovery_text = keyring.create_recovery_key(tx, organisation)
        recovery_fingerprint = crypto.key_fingerprint(recovery.public_key)
        advocacy = [
            AdvocacyService(
                organisation_id=organisation.id, name="Children's Rights Officer",
                in_a_sentence="the Children's Rights Officer",
                description="Someone from the council whose job is to listen to you and help "
                            "you say what you think.",
                contact="01632 960 456",
                translations={
                    "cy": {"name": "Swyddog Hawliau Plant",
                           "in_a_sentence": "y Swyddog Hawliau Plant",
                           "description": "Rhywun o'r cyngor sydd â'r gwaith o wrando arnat "
                                          "ti a'th helpu i ddweud beth rwyt ti'n ei feddwl.",
                           "contact": ""},
                    "ar": {"name": "مسؤول حقوق الأطفال",
                           "in_a_sentence": "مسؤول حقوق الأطفال",
                           "description": "شخص من المجلس عمله أن يستمع إليك ويساعدك على قول "
                                          "ما تفكر فيه.",
                           "contact": ""}}),
            AdvocacyService(
                organisation_id=organisation.id, name="Example Advocacy Service",
                in_a_sentence="the Example Advocacy Service",
                description="An independent advocate who is only on your side.",
                contact="advocacy@example.org",
                translations={
                    "cy": {"name": "Gwasanaeth Eiriolaeth Enghreifftiol",
                           "in_a_sentence": "y Gwasanaeth Eiriolaeth Enghreifftiol",
                           "description": "Eiriolwr annibynnol sydd ar dy ochr di yn unig.",
                           "contact": ""},
                    "ar": {"name": "خدمة المناصرة النموذجية",
                           "in_a_sentence": "خدمة المناصرة النموذجية",
                           "description": "مناصر مستقل يقف إلى جانبك فقط.",
                           "contact": ""}}),
        ]
        tx.add_all(advocacy)
        tx.flush()
        chair, chair_out = _demo_person(tx, organisation, Role.CHAIR, "chair@example.org",
                                        "Sam Taylor")
        passphrase = "-".join(secrets.token_hex(3) for _ in range(4))
        keyring.create_person_key(tx, chair, passphrase)
        chair_out["passphrase"] = passphrase
        advocate, advocate_out = _demo_person(
            tx, organisation, Role.ADVOCATE, "advocate@example.org", "Jo Patel",
            advocacy_service_id=advocacy[0].id)
        advocate_passphrase = "-".join(secrets.token_hex(3) for _ in range(4))
        keyring.create_person_key(tx, advocate, advocate_passphrase)
        advocate_out["passphrase"] = advocate_passphrase
        _, coordinator_out = _demo_person(tx, organisation, Role.COORDINATOR,
                                          "coordinator@example.org", "Chris Evans")
        conference = Conference(organisation_id=organisation.id, reference="CP-DEMO-0001",
                                starts_at=starts_at, kind=ConferenceKind.INITIAL,
                                chair_id=chair.id, place="Town Hall, Room 2")
        tx.add(conference)
        tx.flush()
        codes = []
        for label in ("Demo child A", "Demo child B"):
            invite, code = invites.create_invite(tx, conference, label)
            audit.record(tx, "invite.created", actor="system:demo",
                         subject=f"invite:{invite.id}", conference=conference.id)
            codes.append(code)
    result = {
        "invites": [{"code": invites.display_code(c), "url": f"/i/{c}"} for c in codes],
        "chair": chair_out,
        "advocate": advocate_out,
        "coordinator": coordinator_out,
        "recovery_fingerprint": recovery_fingerprint,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    base = server_address()
    click.echo(f"Demo data loaded: {DEMO_ORGANISATION}, conference CP-DEMO-0001 on "
               f"{starts_at:%A %d %B %Y at %H:%M} ({settings().timezone}).\n")
    click.echo(f"These addresses are for a server at {base}: to run it elsewhere, set "
               "FLASK_RUN_PORT (and FLASK_RUN_HOST) before both commands, e.g. "
               "FLASK_RUN_PORT=8080.\n")
    click.echo("Children: open one of these invites (or type the code on the start page):")
    for item in result["invites"]:
        click.echo(f"  code {item['code']}   link {base}{item['url']}")
    click.echo(f"\nStaff sign in at {base}/staff/sign-in with a password and "
               "an authenticator code made from the secret (add the secret to an "
               f"authenticator app, or run: {sys.executable} -c \"import pyotp; "
               "print(pyotp.TOTP('SECRET').now())\").")
    for role in ("chair", "advocate", "coordinator"):
        person = result[role]
        click.echo(f"\n  {role}: {person['email']}\n    password: {person['password']}\n"
                   f"    authenticator secret: {person['totp_secret']}")
        if "passphrase" in person:
            click.echo(f"    key passphrase: {person['passphrase']}")
    click.echo(f"\nOrganisation recovery key (demo only; keep real ones offline):\n"
               f"  {recovery_text}")


def server_address() -> str:
    """Where the server will be: VOICEAPP_PUBLIC_URL, else where `flask run` will listen
    (FLASK_RUN_HOST and FLASK_RUN_PORT, as `flask run` itself reads them)."""
    if settings().public_url:
        return settings().public_url.rstrip("/")
    host = os.environ.get("FLASK_RUN_HOST", "127.0.0.1")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:" \
           f"{os.environ.get('FLASK_RUN_PORT', '5000')}"


@click.command("create-user")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organisation", help="The organisation's name, when this is the first user.")
@with_appcontext
def create_user(role: str, email: str, name: str, organisation: str | None) -> None:
    """Add a member of staff and print their one-time sign-in link (valid for 7 days)."""
    with write_transaction() as tx:
        org = tx.scalar(select(Organisation).order_by(Organisation.id).limit(1))
        if org is None:
            if not organisation:
                raise click.ClickException("This is the first user: give --organisation too.")
            org = Organisation(name=organisation)
            tx.add(org)
            tx.flush()
        email = auth.normalise_email(email)
        if tx.scalar(select(User).where(User.email == email)):
            raise click.ClickException(f"{email} already has an account.")
        user = User(organisation_id=org.id, email=email, name=name, role=role)
        tx.add(user)
        tx.flush()
        token = auth.create_staff_invite(tx, user)
    base = server_address()
    click.echo(f"{name} ({role}) can set up their account once, within 7 days, at:\n"
               f"{base}/staff/welcome/{token}")


@click.command("audit-verify")
@with_appcontext
def audit_verify() -> None:
    """Check that no line of the audit log was changed or removed."""
    with write_transaction() as tx:
        broken = audit.verify(tx)
        total = tx.scalar(select(func.count()).select_from(AuditEvent))
    if broken is not None:
        with write_transaction() as tx:
            notifications.to_coordinators(tx, "coordinator.audit-broken",
                                          once_within=timedelta(hours=1))
        raise click.ClickException(f"The audit log was changed at or before event {broken}.")
    click.echo(f"The audit log is intact ({total} events).")


@click.command("recovery-reseal")
@click.option("--email", required=True, help="The chair who needs access.")
@with_appcontext
def recovery_reseal(email: str) -> None:
    """Let a chair read what they cannot open yet (lost passphrase, new chair), using the
    offline recovery key, typed or pasted when asked (never given on the command line)."""
    text = click.prompt("Recovery key", hide_input=True)
    try:
        private = crypto.parse_recovery_key(text)
    except ValueError as problem:
        raise click.ClickException(str(problem)) from None
    with write_transaction() as tx:
        user = tx.scalar(select(User).where(User.email == auth.normalise_email(email)))
        if user is None or user.role != Role.CHAIR:
            raise click.ClickException(f"{email} is not a chair here.")
        # A well-formed key that is not ours (another organisation's, the wrong envelope in
        # a drill) would otherwise open nothing and report "0 more" as if all were well.
        if tx.scalar(select(RecipientKey.id).where(
                RecipientKey.id == crypto.key_id_of(crypto.public_key_of(private)),
                RecipientKey.user_id.is_(None),
                RecipientKey.organisation_id == user.organisation_id)) is None:
            raise click.ClickException("That is not this organisation's recovery key.")
        try:
            count = submissions.reseal_with_recovery_key(tx, user, private)
        except LookupError:
            raise click.ClickException(f"{email} must sign in and create a key first.") from None
        except crypto.DecryptionError:
            raise click.ClickException("That is not this organisation's recovery key.") from None
        audit.record(tx, "submissions.resealed", actor="system:recovery",
                     subject=f"user:{user.id}", count=count)
    click.echo(f"{user.name} can now open {count} more submissions.")


@click.command("approve-key-reset")
@click.option("--email", required=True, help="The person who needs a new key.")
@click.option("--refuse", is_flag=True, help="Refuse the request instead.")
@with_appcontext
def approve_key_reset(email: str, refuse: bool) -> None:
    """Approve a coordinator's request for someone's new key, where there is no second
    coordinator to approve it in the app. It is audited as done at the server."""
    with write_transaction() as tx:
        user = tx.scalar(select(User).where(User.email == auth.normalise_email(email)))
        asked = keyring.pending_key_reset(tx, user) if user else None
        if asked is None:
            raise click.ClickException(f"Nobody has asked for a new key for {email}.")
        keyring.decide_key_reset(tx, asked, user, not refuse, None, "system:command-line")
    click.echo(f"{'Refused' if refuse else 'Approved'}: a new key for {user.name}.")


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup(destination: str) -> None:
    """Copy the SQLite database, consistently, while the app runs (PostgreSQL: pg_dump).
    Everything a child said is sealed in it, so the copy is as safe as the recovery key."""
    engine = database().engine
    if engine.dialect.name != "sqlite":
        raise click.ClickException("For PostgreSQL, use pg_dump.")
    if Path(destination).exists():
        raise click.ClickException(f"{destination} already exists.")
    source = engine.raw_connection()
    try:
        target = sqlite3.connect(destination)
        with target:
            source.driver_connection.backup(target)
        target.close()
    finally:
        source.close()
    os.chmod(destination, 0o600)
    click.echo(f"Backed up to {destination}.")


@click.command("notify")
@click.option("--forever", is_flag=True, help="Keep delivering, every few seconds.")
@with_appcontext
def notify(forever: bool) -> None:
    """Deliver the notifications that are due (SMTP or GOV.UK Notify, as set). Safe to run
    on several servers at once: each message goes once."""
    from flask import current_app

    channel = delivery.channel_for(settings())
    if channel is None:
        raise click.ClickException("No way to send is set: set VOICEAPP_SMTP_URL, or "
                                   "VOICEAPP_NOTIFY_API_KEY and VOICEAPP_NOTIFY_TEMPLATE_ID.")
    if forever:
        click.echo(f"Delivering notifications by {channel.name}; Ctrl+C to stop.")
        delivery.run_forever(current_app._get_current_object(), channel)
        return
    report = delivery.deliver_due(channel)
    click.echo(f"Sent {report.sent}, will try {report.retried} again later, "
               f"{report.failed} could not be delivered.")


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Delete what is past its retention period. Safe to run often, and on every server."""
    report = retention.purge()
    click.echo(f"Deleted {len(report.submissions)} submissions, {report.drafts} drafts, "
               f"{report.invites} invites, {report.staff_links} old sign-in links, "
               f"{report.sessions} expired sessions and {report.spoken} old spoken "
               "sentences.")


@click.command("check")
@with_appcontext
def check() -> None:
    """Say what in the current settings is unsafe before going live (exit status 1 if
    anything is)."""
    findings = preflight.run(current_app)
    width = max(len(name) for name, _ in findings)
    for name, finding in findings:
        level = finding.level.upper() if finding.level == preflight.UNSAFE else finding.level
        click.echo(f"{level:<6}  {name:<{width}}  {finding.message}")
    unsafe = [name for name, finding in findings if finding.level == preflight.UNSAFE]
    if unsafe:
        raise click.ClickException(f"{len(unsafe)} unsafe ({', '.join(unsafe)}): fix "
                                   f"{'it' if len(unsafe) == 1 else 'them'} before children "
                                   "use this service.")
    click.echo("Nothing unsafe found. Act on the notes too.")


@click.command("record-speech")
@click.option("--again", is_flag=True, help="Record every sentence again, not only new ones.")
def record_speech(again: bool) -> None:
    """Record what the speaker button says, from the catalogues, for phones without a voice
    in the page's language (static/speech/; needs espeak-ng and opus-tools)."""
    from .speech import record_all
    made, removed = record_all(only_missing=not again)
    click.echo(f"Recorded {made} sentences; removed {removed} no longer used.")


def init_app(app: Flask) -> None:
    for command in (init_db, demo, recovery_key, recovery_reseal, create_user, audit_verify,
                    approve_key_reset, backup, notify, purge, check, record_speech):
        app.cli.add_command(command)
