"""Telling the right adult in time, through a real SMTP server on loopback (aiosmtpd), and
never a word of what a child said."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from voiceapp import delivery, notifications
from voiceapp.db import utcnow
from voiceapp.models import AdvocacyService, Invite, Notification, Organisation, User

from .conftest import make_app
from .evidence import change_as_attacker, change_as_voiceapp, count, raw_database_contains
from .mail import SMTPServer
from .people import Chair, Child, Coordinator, Staff

PHRASE = "purple-giraffe-secret-5521"
CHAIR, ADVOCATE, COORDINATOR = ("chair@example.org", "advocate@example.org",
                                "coordinator@example.org")


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(database_url, tmp_path, smtp):
    app = make_app(database_url, tmp_path / "instance", smtp_url=f"smtp://127.0.0.1:{smtp.port}",
                   mail_from="voiceapp <views@example.org>",
                   public_url="https://views.example.org")
    yield app
    app.extensions["voiceapp.db"].engine.dispose()


def deliver(app, now=None) -> delivery.Report:
    with app.app_context():
        return delivery.deliver_due(delivery.channel_for(app.extensions["voiceapp.settings"]),
                                    now=now)


def set_duty_addresses(app) -> None:
    change_as_voiceapp(app, Organisation, duty_email="duty@example.org",
                       out_of_hours_email="edt@example.org")


def test_a_childs_send_tells_the_chair_once_and_says_nothing_of_what_was_said(
        app, smtp, child, caplog):
    caplog.set_level(logging.DEBUG)
    child.tells(worries=PHRASE, hopes=PHRASE, safety=8)
    child.sends()
    assert deliver(app).sent == 1
    [message] = smtp.mailbox.to(CHAIR)
    assert message["Subject"] == "Something new for conference CP-DEMO-0001"
    assert re.fullmatch(r"<[0-9a-f-]{36}@voiceapp\.invalid>", message["Message-ID"])
    body = message.get_payload(decode=True).decode()
    assert "https://views.example.org/staff/sign-in" in body
    assert "never says what a child said" in body
    assert len(smtp.mailbox.messages) == 1
    for place in (smtp.mailbox.everything(), caplog.text):
        assert PHRASE not in place and "Demo child" not in place
    assert "8" not in message["Subject"]
    assert not raw_database_contains(app, PHRASE.encode())
    assert deliver(app).sent == 0  # exactly once


@pytest.mark.parametrize("office_hours", [True, False], ids=["office-hours", "out-of-hours"])
def test_a_low_safety_score_tells_the_chair_and_the_duty_team_at_once(
        app, smtp, child, monkeypatch, office_hours):
    set_duty_addresses(app)
    change_as_voiceapp(app, User, User.email == CHAIR, daily_summary=True)  # urgent: at once
    monkeypatch.setattr(notifications, "in_office_hours", lambda at: office_hours)
    child.tells(worries=PHRASE, safety=2)
    child.sends()
    deliver(app)
    [chair] = smtp.mailbox.to(CHAIR)
    assert chair["Subject"] == "Needs looking at soon: conference CP-DEMO-0001"
    told = {m["To"] for m in smtp.mailbox.messages}
    assert told == ({CHAIR, "duty@example.org"} if office_hours
                    else {CHAIR, "duty@example.org", "edt@example.org"})
    assert "2" not in chair["Subject"] and PHRASE not in smtp.mailbox.everything()
    assert "Its chair has been told too" in smtp.mailbox.to(
        "duty@example.org")[0].get_payload(decode=True).decode()


def test_an_advocacy_service_is_told_when_chosen_and_an_advocate_when_shared_with(
        app, smtp, child, another_child):
    child.tells(worries=PHRASE, helper="service:1", share_service="no")
    child.sends()
    deliver(app)
    assert [m["Subject"] for m in smtp.mailbox.to(ADVOCATE)] == [
        "A child asked for your help: conference CP-DEMO-0001"]
    another_child.tells(worries=PHRASE, helper="service:1", share_service="yes")
    another_child.sends()
    deliver(app)
    assert sorted(m["Subject"] for m in smtp.mailbox.to(ADVOCATE)) == [
        "A child asked for your help: conference CP-DEMO-0001",
        "A child asked for your help: conference CP-DEMO-0001",
        "A child shared their views with you: conference CP-DEMO-0001"]
    change_as_voiceapp(app, AdvocacyService, shared_email="rights@example.org")
    child.opens("/sent")
    child.posts("/start-again")
    child.sends()
    deliver(app)
    assert len(smtp.mailbox.to("rights@example.org")) == 1  # the service's shared address
    assert PHRASE not in smtp.mailbox.everything()


def test_a_staff_welcome_link_arrives_by_email_and_works(app, smtp, coordinator):
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "New Chair", "email": "new.chair@example.org",
                                          "role": "chair"})
    assert "We have emailed them a one-time sign-in link" in coordinator.sees
    assert "/staff/welcome/" not in coordinator.page.get_data(as_text=True)
    deliver(app)
    [message] = smtp.mailbox.to("new.chair@example.org")
    link = re.search(r"https://views\.example\.org(/staff/welcome/\S+)",
                     message.get_payload(decode=True).decode()).group(1)
    with app.app_context():
        from voiceapp.db import db
        row = db.scalar(select(Notification).where(Notification.kind == "staff.welcome"))
        assert row.link_sealed is None  # the link is gone from the outbox once delivered
    person = Staff(app.test_client(), {"email": "new.chair@example.org"})
    person.enrols(link)
    assert person.page.request.path == "/staff/keys/new"


def test_account_changes_are_never_silent(app, smtp, chair, coordinator, runner):
    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/1/reset-key")
    runner.invoke(args=["approve-key-reset", "--email", CHAIR])
    coordinator.opens("/admin/staff/1/reset")
    coordinator.posts("/admin/staff/1/reset")
    deliver(app)
    assert [m["Subject"] for m in smtp.mailbox.to(CHAIR)] == [
        "A new key was asked for on your voiceapp account", "Your voiceapp key was reset",
        "A new sign-in link for voiceapp"]


def test_with_the_mail_server_down_messages_wait_and_then_go_exactly_once(app, smtp, child):
    smtp.stop()
    child.tells(worries=PHRASE)
    child.sends()
    report = deliver(app)
    assert report.retried == 1 and report.sent == 0
    with app.app_context():
        from voiceapp.db import db
        row = db.scalar(select(Notification))
        assert row.attempts == 1 and "could not be reached" in row.last_error
    assert deliver(app).sent == 0  # not due again yet: it waits a minute
    smtp.start()
    assert deliver(app, now=utcnow() + timedelta(minutes=2)).sent == 1
    assert deliver(app, now=utcnow() + timedelta(hours=2)).sent == 0
    assert len(smtp.mailbox.to(CHAIR)) == 1


def test_a_wrong_address_fails_visibly_and_can_be_sent_again(app, smtp, child, coordinator):
    smtp.mailbox.refuse.add(CHAIR)
    child.tells(worries=PHRASE)
    child.sends()
    assert deliver(app).failed == 1
    deliver(app)  # the coordinators' "could not be delivered" message
    assert [m["Subject"] for m in smtp.mailbox.to(COORDINATOR)] == [
        "A voiceapp message could not be delivered"]
    coordinator.signs_in()
    coordinator.opens("/admin/notifications")
    assert "Could not be delivered 1" in coordinator.sees  # counted, not listed
    assert CHAIR not in coordinator.sees
    smtp.mailbox.refuse.clear()
    coordinator.posts("/admin/notifications/about-children/again")
    assert deliver(app).sent == 1
    assert len(smtp.mailbox.to(CHAIR)) == 1


def test_a_coordinator_cannot_work_out_a_childs_choices_from_who_was_told(
        app, smtp, child, coordinator):
    """A low score tells the chair and the duty address "needs looking at soon", and a
    child's yes tells the advocate: listed with times beside the audit log's "sent", these
    would give away the child's score and choices, so the coordinator sees counts."""
    child.tells(worries=PHRASE, safety=1, helper="service:1", share_service="yes")
    child.sends()
    coordinator.signs_in()
    coordinator.opens("/admin/notifications")
    for tell_tale in ("Needs looking at soon", "asked for your help", "shared their views",
                      "advocate@example.org", CHAIR):
        assert tell_tale not in coordinator.sees
    with app.app_context():
        from voiceapp.db import db
        told = db.scalars(select(Notification.kind)).all()
        any_row = db.scalar(select(Notification.id))
    assert {"submission.urgent", "advocate.asked", "advocate.shared"} <= set(told)
    assert f"Waiting {len(told)}" in coordinator.sees
    assert coordinator.posts(f"/admin/notifications/{any_row}/again",
                             follow=False).status_code == 404


def test_a_line_break_in_an_address_never_reaches_a_header(app, smtp):
    with app.app_context():
        from voiceapp.db import write_transaction
        with write_transaction() as tx:
            notifications.tell(tx, notifications.note(
                "submission.new", "chair@example.org\r\nBcc: everyone@example.org"))
    assert deliver(app).failed == 1
    assert smtp.mailbox.messages == []


def test_a_conference_reference_with_a_line_break_is_refused(app, coordinator):
    coordinator.signs_in()
    page = coordinator.creates_conference(reference="CP-1\r\nBcc: x@example.org")
    assert page.status_code == 400


def test_a_sender_killed_mid_delivery_sends_at_most_one_duplicate_with_the_same_id(app, smtp,
                                                                                    child):
    child.tells(worries=PHRASE)
    child.sends()
    with app.app_context():
        channel = delivery.channel_for(app.extensions["voiceapp.settings"])
        [claimed] = delivery.claim(utcnow())
        channel.send(delivery.message_for(claimed))  # ...and the sender is killed here
    assert deliver(app).sent == 0  # someone else's lease: not yet
    assert deliver(app, now=utcnow() + delivery.LEASE + timedelta(seconds=1)).sent == 1
    assert deliver(app, now=utcnow() + timedelta(hours=1)).sent == 0
    first, second = smtp.mailbox.to(CHAIR)
    assert first["Message-ID"] == second["Message-ID"]


def test_two_senders_at_once_send_every_message_once(app, smtp, database_url, tmp_path, demo):
    for code in [invite["code"] for invite in demo["invites"]]:
        child = Child(app.test_client(), code)
        child.tells(worries=PHRASE)
        child.sends()
    more = make_app(database_url, tmp_path / "second-server",
                    smtp_url=f"smtp://127.0.0.1:{smtp.port}")
    with app.app_context(), app.extensions["voiceapp.db"].write_sessions() as tx, tx.begin():
        for n in range(40):
            notifications.tell(tx, notifications.note("staff.passphrase-changed",
                                                      f"person{n}@example.org"))
    barrier = threading.Barrier(2)

    def sender(server) -> None:
        barrier.wait()
        for _ in range(5):
            deliver(server)

    threads = [threading.Thread(target=sender, args=(a,)) for a in (app, more)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    more.extensions["voiceapp.db"].engine.dispose()
    ids = [m["Message-ID"] for m in smtp.mailbox.messages]
    assert len(ids) == 42 and len(set(ids)) == 42


class SlowChannel:
    """A mail server that takes a minute a message, on a clock the test moves."""

    def __init__(self, clock: list) -> None:
        self.clock, self.sent = clock, []

    def send(self, message) -> None:
        self.clock[0] += timedelta(minutes=1)
        self.sent.append(message.message_id)


def test_a_slow_mail_server_never_makes_a_second_sender_send_the_same_message(
        app, monkeypatch):
    """A sender stops before its claim runs out and lets the rest go, so another sender
    taking them later cannot send one it is still sending."""
    with app.app_context(), app.extensions["voiceapp.db"].write_sessions() as tx, tx.begin():
        notifications.tell(tx, *[notifications.note("staff.passphrase-changed",
                                                    f"person{n}@example.org")
                                 for n in range(6)])
    clock = [utcnow()]
    monkeypatch.setattr(delivery, "utcnow", lambda: clock[0])
    channel = SlowChannel(clock)
    with app.app_context():
        first = delivery.deliver_due(channel, now=clock[0])
        assert 0 < first.sent < 6  # it stopped while its claim held
        while len(channel.sent) < 6:
            delivery.deliver_due(channel, now=clock[0])  # the other sender, later
    assert len(channel.sent) == len(set(channel.sent)) == 6


def test_a_message_that_needs_looking_at_soon_goes_first(app, smtp, child):
    with app.app_context(), app.extensions["voiceapp.db"].write_sessions() as tx, tx.begin():
        notifications.tell(tx, *[notifications.note("staff.passphrase-changed",
                                                    f"person{n}@example.org")
                                 for n in range(5)])
    child.tells(worries=PHRASE, safety=1)
    child.sends()
    with app.app_context():
        delivery.deliver_due(delivery.channel_for(app.extensions["voiceapp.settings"]),
                             batch=1)
    [first] = smtp.mailbox.messages
    assert first["Subject"].startswith("Needs looking at soon")


def test_a_chair_who_prefers_one_email_each_morning_gets_one_summary(app, smtp, child,
                                                                     another_child):
    change_as_voiceapp(app, User, User.email == CHAIR, daily_summary=True)
    for person in (child, another_child):
        person.tells(worries=PHRASE)
        person.sends()
    assert deliver(app).sent == 0
    with app.app_context():
        morning = notifications.next_summary(utcnow())
    deliver(app, now=morning + timedelta(minutes=1))
    [summary] = smtp.mailbox.to(CHAIR)
    assert summary["Subject"] == "New views for your conferences"
    assert "CP-DEMO-0001" in summary.get_payload(decode=True).decode()


def test_tampering_is_told_to_coordinators_once_an_hour(app, smtp, child):
    change_as_attacker(app, update(Invite).values(assigned_advocate_id=2))
    for _ in range(3):
        child.opens_invite()
    deliver(app)
    assert [m["Subject"] for m in smtp.mailbox.to(COORDINATOR)] == [
        "voiceapp found something changed outside voiceapp"]


def test_the_outbox_holds_no_words_and_no_working_link(app, smtp, coordinator, child):
    child.tells(worries=PHRASE)
    child.sends()
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "New Advocate", "role": "advocate",
                                          "email": "new.advocate@example.org"})
    assert not raw_database_contains(app, PHRASE.encode())
    assert not raw_database_contains(app, b"/staff/welcome/")  # sealed until delivered
    assert count(app, Notification) == 2


# --------------------------------------------------------------------------- a reply

def test_a_chairs_reply_reaches_the_child_in_their_language_and_is_sealed(app, demo, child):
    child.opens_invite()
    child.opens("/welcome?lang=cy")
    child.tells(worries=PHRASE)
    child.sends()
    chair = Chair(app.test_client(), demo["chair"])
    chair.signs_in_and_unlocks()
    with app.app_context():
        from voiceapp.db import db
        from voiceapp.models import Submission
        submission = db.scalar(select(Submission.id))
    chair.opens_submission(submission)
    chair.posts(f"/chair/submissions/{submission}/read", {"reply": "read_out"})
    assert "Marked as read" in chair.sees
    child.opens("/welcome")
    assert "Sam Taylor" in child.sees
    from voiceapp.replies import SUGGESTIONS
    assert "I will read your words out at the meeting" not in child.sees  # Welsh, not English
    child.opens("/welcome?lang=en_GB")
    assert "Sam Taylor, the chair, wrote to you:" in child.sees
    assert str(SUGGESTIONS["read_out"]) in child.sees
    assert not raw_database_contains(app, b"read your words out")
    assert not raw_database_contains(app, b"read_out")


def test_a_chairs_own_words_are_sealed_and_audited_without_them(app, demo, child):
    from .evidence import audit_actions
    child.tells(worries=PHRASE)
    child.sends()
    chair = Chair(app.test_client(), demo["chair"])
    chair.signs_in_and_unlocks()
    with app.app_context():
        from voiceapp.db import db
        from voiceapp.models import AuditEvent, Submission
        submission = db.scalar(select(Submission.id))
    chair.opens_submission(submission)
    page = chair.posts(f"/chair/submissions/{submission}/read", {"reply": "own"})
    assert page.status_code == 400 and "Write your message" in chair.sees
    chair.posts(f"/chair/submissions/{submission}/read",
                {"reply": "own", "own_words": "Thank you, Robin-tree-7731."})
    assert "Reply to the child Thank you, Robin-tree-7731." in chair.sees  # the chair sees it
    child.opens("/welcome")
    assert "Thank you, Robin-tree-7731." in child.sees
    assert not raw_database_contains(app, b"Robin-tree-7731")
    assert "submission.replied" in audit_actions(app)
    with app.app_context():
        from voiceapp.db import db
        assert all("Robin" not in (e.detail or "") for e in db.scalars(select(AuditEvent)))


def test_a_reply_written_into_the_database_is_never_shown(app, demo, child):
    import uuid as uuidlib

    from voiceapp.models import Reply, Submission
    child.tells(worries=PHRASE)
    child.sends()
    with app.app_context():
        from voiceapp.db import db
        submission = db.scalar(select(Submission))
    change_as_attacker(app, insert(Reply).values(
        id=uuidlib.uuid4(), submission_id=submission.id, invite_id=submission.invite_id,
        chair_id=1, sealed=b"\x01" + b"\x00" * 40, created_at=utcnow()))
    child.opens("/welcome")
    assert "wrote to you" not in child.sees


# --------------------------------------------------------------------------- development

def test_in_development_messages_show_on_the_coordinators_mail_outbox(database_url, tmp_path,
                                                                       demo, capsys):
    app = make_app(database_url, tmp_path / "dev", env="development")
    coordinator = Coordinator(app.test_client(), demo["coordinator"])
    child = Child(app.test_client(), demo["invites"][0]["code"])
    child.tells(worries=PHRASE)
    child.sends()
    sender = app.extensions["voiceapp.sender"]  # started by the first request
    assert sender.is_alive()
    for _ in range(50):
        with app.app_context():
            from voiceapp.db import db
            if db.scalar(select(Notification.sent_at)):
                break
        time.sleep(0.2)
    assert "Something new for conference CP-DEMO-0001" in capsys.readouterr().err
    coordinator.signs_in()
    coordinator.opens("/admin/notifications")
    assert "trial copy of voiceapp with no email set up" in coordinator.sees
    assert "Shown on the console 1" in coordinator.sees  # the chair's message, counted
    assert "Something new has been sent for conference CP-DEMO-0001" not in coordinator.sees
    assert PHRASE not in coordinator.sees
    app.extensions["voiceapp.db"].engine.dispose()


def test_production_with_no_way_to_send_keeps_messages_waiting(database_url, tmp_path):
    from voiceapp.config import Settings
    assert delivery.channel_for(Settings(env="production")) is None
    assert isinstance(delivery.channel_for(Settings(env="development")),
                      delivery.ConsoleChannel)
    assert not delivery.emails_for_real(Settings(env="development"))


# --------------------------------------------------------------------------- GOV.UK Notify

class NotifyStandIn:
    """A local HTTP server standing in for GOV.UK Notify's API, accepting exactly the request
    shape the official client (notifications-python-client) documents: POST
    /v2/notifications/email with a JSON body (email_address, template_id, personalisation,
    reference) and a Bearer JWT signed with the key's secret, issued by the service id. It is
    not Notify itself: it checks the shape and answers as Notify does (201, or an error)."""

    def __init__(self, service_id: str, secret: str) -> None:
        import http.server

        self.received: list[dict] = []
        self.answer = 201
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import jwt
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                token = self.headers["Authorization"].removeprefix("Bearer ")
                claims = jwt.decode(token, secret, algorithms=["HS256"])
                assert claims["iss"] == service_id and self.path == "/v2/notifications/email"
                stand_in.received.append(body)
                self.send_response(stand_in.answer)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(
                    {"id": "x", "reference": body.get("reference")} if stand_in.answer == 201
                    else {"errors": [{"error": "BadRequestError", "message": "no"}],
                          "status_code": stand_in.answer}).encode())

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_notify_channel_sends_the_documented_request(database_url, tmp_path, child):
    import uuid as uuidlib
    service_id, secret = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    notify = NotifyStandIn(service_id, secret)
    template = str(uuidlib.uuid4())
    app = make_app(database_url, tmp_path / "notify", notify_api_key=f"voiceapp-{service_id}-"
                   f"{secret}", notify_template_id=template, notify_base_url=notify.url,
                   public_url="https://views.example.org")
    child = Child(app.test_client(), child.code)
    child.tells(worries=PHRASE)
    child.sends()
    assert deliver(app).sent == 1
    [request] = notify.received
    assert request["email_address"] == CHAIR and request["template_id"] == template
    assert request["personalisation"]["subject"] == "Something new for conference CP-DEMO-0001"
    assert "https://views.example.org/staff/sign-in" in request["personalisation"]["body"]
    assert re.fullmatch(r"<[0-9a-f-]{36}@voiceapp\.invalid>", request["reference"])
    assert PHRASE not in json.dumps(request)
    notify.answer = 500  # Notify having a bad moment: try again later
    child.opens("/sent")
    child.posts("/start-again")
    child.sends()
    assert deliver(app).retried == 1
    notify.answer = 400  # refused for good (say, an address Notify will not send to)
    assert deliver(app, now=utcnow() + timedelta(minutes=5)).failed == 1
    notify.server.shutdown()
    app.extensions["voiceapp.db"].engine.dispose()
