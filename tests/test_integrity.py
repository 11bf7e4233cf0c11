"""Someone who can write to the database, but has not the instance secret, cannot make
themselves a reader, nor change what a reader is shown: every such change is refused and
reported, never used or shown as if true.

Each attack here writes rows straight into the database (:func:`change_as_attacker`), as a
tampered backup, a database administrator or an SQL injection elsewhere would.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from voiceapp import crypto, integrity
from voiceapp.config import UnsafeSettings
from voiceapp.db import utcnow
from voiceapp.models import (
    DEFAULT_EXIT_URL, AdvocacyService, Conference, Invite, Notification, Organisation,
    RecipientKey, Submission, User,
)

from .conftest import add_staff, make_app
from .evidence import (
    audit_actions, change_as_attacker, change_as_voiceapp, count, newest_submission,
    raw_database_contains, readers_of,
)
from .people import Advocate, Child, Coordinator

CHAIR = "chair@example.org"


def attackers_key(app, user_id: int | None, seal: str = "") -> bytes:
    """Insert a recipient key the attacker holds the private half of; return that half."""
    private = crypto.generate_private_key()
    public = crypto.public_key_of(private)
    change_as_attacker(app, insert(RecipientKey).values(
        id=crypto.key_id_of(public), organisation_id=1, user_id=user_id, public_key=public,
        created_at=utcnow() + timedelta(days=1), seal=seal))
    return private


def notifications_written(app) -> list[tuple[str, str]]:
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(Notification.kind, Notification.to_address))]


def value_of(app, column, *where):
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return connection.scalar(select(column).where(*where))


# --------------------------------------------------------------------------- who reads

def test_a_recovery_key_written_into_the_database_is_never_sealed_to(app, child, coordinator):
    attackers_key(app, None)
    child.tells(worries="not for a stranger")
    child.sends()
    readers = readers_of(app, newest_submission(app))
    assert readers == {CHAIR, "recovery"}
    real = value_of(app, RecipientKey.id, RecipientKey.user_id.is_(None),
                    RecipientKey.seal != "")
    assert real in {row for row in _wrapped_key_ids(app)}
    assert "integrity.altered" in audit_actions(app)
    coordinator.signs_in()
    coordinator.opens("/admin/")
    assert "Something was changed outside voiceapp" in coordinator.sees


def _wrapped_key_ids(app) -> set[str]:
    from voiceapp.models import WrappedKey
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return set(connection.scalars(select(WrappedKey.recipient_key_id)))


def test_a_key_written_for_the_chair_is_not_used_and_a_copied_seal_does_not_help(app, child):
    chair_id = value_of(app, User.id, User.email == CHAIR)
    real_seal = value_of(app, RecipientKey.seal, RecipientKey.user_id == chair_id)
    attackers_key(app, chair_id, seal=real_seal)
    child.tells(worries="for the real chair")
    child.sends()
    keys = _wrapped_key_ids(app)
    assert value_of(app, RecipientKey.id, RecipientKey.user_id == chair_id,
                    RecipientKey.seal == real_seal, RecipientKey.created_at < utcnow()) in keys
    assert len(keys) == 2


def test_a_key_written_for_the_chair_does_not_lock_them_out_and_is_reported(app, chair,
                                                                             child):
    chair_id = value_of(app, User.id, User.email == CHAIR)
    child.tells(worries="the chair still reads this")
    child.sends()
    forged = crypto.key_id_of(crypto.public_key_of(attackers_key(app, chair_id)))
    chair.signs_in_and_unlocks()
    assert chair.page.request.path != "/staff/unlock", "the real passphrase still unlocks"
    assert "integrity.altered" in audit_actions(app)
    assert "key.unlock-failed" not in audit_actions(app)
    chair.opens_submission(newest_submission(app))
    assert "the chair still reads this" in chair.sees
    chair.opens("/staff/account")
    assert forged[:12] not in chair.page.get_data(as_text=True)


def test_moving_an_advocate_into_a_service_in_the_database_makes_no_reader(app, child):
    account = add_staff(app, "advocate", "mover@example.org", "mover passphrase 909",
                        service_id=2)
    change_as_attacker(app, update(User).where(User.id == account["id"])
                       .values(advocacy_service_id=1))
    child.tells(worries="for service one", helper="service:1", share_service="yes")
    child.sends()
    assert "mover@example.org" not in readers_of(app, newest_submission(app))
    moved = Advocate(app.test_client(), account)
    moved.signs_in()  # a changed row does not count as a signed-in person
    assert moved.client.get("/advocate/").status_code == 302


def test_a_pinned_recovery_key_that_does_not_match_is_not_sealed_to(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "pinned",
                   recovery_key_fingerprint="0000 " * 16)
    import json
    demo = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).stdout)
    child = Child(app.test_client(), demo["invites"][0]["code"])
    child.tells(worries="pinned elsewhere")
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR}
    assert "integrity.altered" in audit_actions(app)
    with pytest.raises(UnsafeSettings):
        make_app(database_url, tmp_path / "pinned", env="production", secure_cookies=True,
                 recovery_key_fingerprint="0000 " * 16)
    right = make_app(database_url, tmp_path / "pinned",
                     recovery_key_fingerprint=demo["recovery_fingerprint"].upper())
    child = Child(right.test_client(), demo["invites"][1]["code"])
    child.tells(worries="pinned right")
    child.sends()
    assert readers_of(right, newest_submission(right)) == {CHAIR, "recovery"}


def test_a_conference_moved_to_another_chair_in_the_database_reaches_neither(app, child,
                                                                            other_chair):
    change_as_attacker(app, update(Conference).where(Conference.reference == "CP-DEMO-0001")
                       .values(chair_id=other_chair.account["id"]))
    child.tells(worries="moved conference")
    child.sends()
    assert readers_of(app, newest_submission(app)) == {"recovery"}
    other_chair.signs_in_and_unlocks()
    conference_id = value_of(app, Conference.id, Conference.reference == "CP-DEMO-0001")
    assert other_chair.client.get(f"/chair/conferences/{conference_id}").status_code == 404
    assert other_chair.client.get(
        f"/chair/submissions/{newest_submission(app)}").status_code == 404


def test_a_disabled_chair_is_not_sealed_to_and_the_coordinator_is_told(app, child, coordinator):
    change_as_voiceapp(app, User, User.email == CHAIR, disabled_at=utcnow())
    child.tells(worries="while the chair is away")
    child.sends()
    assert readers_of(app, newest_submission(app)) == {"recovery"}
    coordinator.signs_in()
    coordinator.opens("/admin/")
    assert "The chair of CP-DEMO-0001 is disabled" in coordinator.sees


def test_with_no_reader_left_nothing_is_sealed_and_the_answers_stay(app, child):
    change_as_attacker(app, update(Conference).values(chair_id=2))
    change_as_attacker(app, update(RecipientKey).where(RecipientKey.user_id.is_(None))
                       .values(retired_at=utcnow()))
    child.tells(worries="kept until someone can read it")
    page = child.sends()
    assert page.status_code == 503
    assert "Your answers have not been sent yet" in child.sees
    assert count(app, Submission) == 0
    child.opens("/check")
    assert "kept until someone can read it" in child.sees
    assert "integrity.no-reader" in audit_actions(app)


# --------------------------------------------------------------------------- what is shown

def two_sent(app, child, another_child) -> tuple[str, str]:
    child.tells(worries="first child's words")
    child.sends()
    first = newest_submission(app)
    another_child.tells(worries="second child's words")
    another_child.sends()
    return first, newest_submission(app)


@pytest.mark.parametrize("change", [
    lambda first, second: [update(Submission).where(Submission.id == uuid.UUID(first))
                           .values(invite_id=2)],
    lambda first, second: [update(Submission).values(urgent=False)],
    lambda first, second: [update(Submission).where(Submission.id == uuid.UUID(first))
                           .values(read_at=utcnow())],
    lambda first, second: [update(Submission).where(Submission.id == uuid.UUID(first))
                           .values(author="advocate")],
], ids=["who-it-came-from", "urgent-cleared", "marked-read", "author"])
def test_changed_metadata_shows_altered_never_a_wrong_label(app, chair, child, another_child,
                                                            change):
    first, second = two_sent(app, child, another_child)
    change_as_voiceapp(app, Submission, urgent=True)  # as if both said 2 out of 10
    for statement in change(first, second):
        change_as_attacker(app, statement)
    chair.signs_in_and_unlocks()
    conference = value_of(app, Conference.id)
    chair.opens(f"/chair/conferences/{conference}")
    assert "This record has been altered" in chair.sees
    chair.opens_submission(first)
    assert "This record has been altered" in chair.sees
    assert "first child's words" not in chair.sees
    assert "second child's words" not in chair.sees
    assert "Demo child" not in chair.sees
    assert "integrity.altered" in audit_actions(app)


def test_a_submission_moved_to_another_invite_with_a_resealed_row_still_does_not_open(
        app, chair, child, another_child):
    """Even with the row's seal made good again (the server's own secret stolen too), the
    sealed answers name the invite they came from."""
    first, second = two_sent(app, child, another_child)
    change_as_voiceapp(app, Submission, Submission.id == uuid.UUID(first), invite_id=2)
    chair.signs_in_and_unlocks()
    chair.opens_submission(first)
    assert "This record has been altered" in chair.sees
    assert "first child's words" not in chair.sees


def test_swapped_code_lookups_never_open_another_childs_invite(app, child, another_child):
    a, b = (value_of(app, Invite.code_lookup, Invite.id == n) for n in (1, 2))
    change_as_attacker(app, update(Invite).where(Invite.id == 1).values(code_lookup="x"))
    change_as_attacker(app, update(Invite).where(Invite.id == 2).values(code_lookup=a))
    change_as_attacker(app, update(Invite).where(Invite.id == 1).values(code_lookup=b))
    page = child.opens_invite()
    assert page.request.path != "/welcome"
    assert "integrity.altered" in audit_actions(app)


def test_an_invite_pointed_at_another_conference_is_not_used(app, child, other_chair):
    child.tells(worries="meant for my own conference")
    change_as_attacker(app, update(Invite).where(Invite.id == 1)
                       .values(conference_id=other_chair.account["conference_id"]))
    page = child.opens("/check")
    assert page.status_code == 410
    assert count(app, Submission) == 0
    assert "integrity.altered" in audit_actions(app)


def test_a_chair_never_marks_an_altered_record_read(app, chair, child):
    child.tells(worries="hello")
    child.sends()
    submission = newest_submission(app)
    change_as_attacker(app, update(Submission).values(language="cy"))
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    chair.client.post(f"/chair/submissions/{submission}/read",
                      data={"csrf_token": chair.csrf_token()})
    assert value_of(app, Submission.read_at) is None


# --------------------------------------------------------------------------- what a child is told

SETTINGS = {"name": "Demo Council (example data)", "exit_url": "https://www.example.org/weather",
            "out_of_hours_phone": "01632 960 123", "duty_email": "duty@example.org",
            "languages": ["cy", "ar"], "retention_days_after_recorded": "30",
            "retention_days_after_meeting": "90"}


def test_settings_changed_in_the_database_give_a_child_no_forged_number_or_exit(
        app, child, coordinator):
    """A child who feels unsafe is never given a number, nor sent to an exit site, that
    someone wrote into the database; the duty address they wrote is not told; a coordinator
    who checks the settings and saves them puts them back in use."""
    change_as_voiceapp(app, Organisation, duty_email="duty@example.org")
    change_as_attacker(app, update(Organisation).values(
        out_of_hours_phone="07700 900666", exit_url="https://watching.example/track",
        duty_email="someone@watching.example"))
    child.tells(worries="things at home", safety=2)
    child.opens("/safe/support")
    assert "07700 900666" not in child.sees and "tonight or at the weekend" not in child.sees
    assert "0800 1111" in child.sees and "999" in child.sees
    child.sends()
    told = set(notifications_written(app))
    assert ("submission.urgent", CHAIR) in told  # the chair still is
    assert not any(to.endswith("watching.example") for _, to in told)
    assert child.leaves_quickly().headers["Location"] == DEFAULT_EXIT_URL
    assert "integrity.altered" in audit_actions(app)

    coordinator.signs_in()
    coordinator.opens("/admin/settings")
    assert "These settings were changed outside voiceapp" in coordinator.sees
    coordinator.fills_in("/admin/settings", SETTINGS)
    assert "Saved." in coordinator.sees
    assert "changed outside voiceapp" not in coordinator.sees
    assert "integrity.vouched" in audit_actions(app)
    child.tells(worries="still hard", safety=2)
    child.opens("/safe/support")
    assert "01632 960 123" in child.sees


def test_a_service_changed_in_the_database_is_neither_offered_nor_named(app, child,
                                                                       coordinator):
    """Someone who writes a service's name or number into the database cannot tell a child
    to ask "the police" for help, nor have a child agree to share with them by that name."""
    change_as_attacker(app, update(AdvocacyService).where(AdvocacyService.id == 1).values(
        name="Police Child Line", in_a_sentence="the police", contact="07700 900999"))
    child.opens_invite()
    child.starts()
    child.opens("/help")
    assert "Police Child Line" not in child.sees and "07700 900999" not in child.sees
    assert "service:1" not in child.page.get_data(as_text=True)
    assert child.client.get("/meeting/said/service-1").status_code == 404
    assert "integrity.altered" in audit_actions(app)

    coordinator.signs_in()
    coordinator.opens("/admin/settings")
    assert "Changed outside voiceapp: not offered to children" in coordinator.sees
    coordinator.opens("/admin/services/1")
    assert "This service was changed outside voiceapp" in coordinator.sees
    coordinator.fills_in("/admin/services/1", {
        "name": "Children's Rights Officer", "in_a_sentence": "the Children's Rights Officer",
        "contact": "01632 960 456", "active": "y",
        "words_cy-name": "Swyddog Hawliau Plant", "words_cy-in_a_sentence": "y Swyddog",
        "words_ar-name": "مسؤول حقوق الأطفال", "words_ar-in_a_sentence": "مسؤول حقوق الأطفال"})
    assert "integrity.vouched" in audit_actions(app)
    child.opens("/help")
    assert "Children's Rights Officer" in child.sees and "01632 960 456" in child.sees


def test_a_coordinators_ordinary_save_does_not_vouch_for_what_it_did_not_show(app,
                                                                              coordinator):
    """Saving a service that holds its seal keeps the words of languages no longer offered
    (for if they are offered again); only a changed service loses them when vouched for."""
    coordinator.signs_in()
    coordinator.fills_in("/admin/settings", {**SETTINGS, "languages": []})
    coordinator.fills_in("/admin/services/1", {
        "name": "Children's Rights Officer", "in_a_sentence": "the Children's Rights Officer",
        "active": "y"})
    assert "integrity.vouched" not in audit_actions(app)
    with app.app_context():
        from voiceapp.db import db
        service = db.get(AdvocacyService, 1)
        assert service.translations["cy"]["name"] == "Swyddog Hawliau Plant"
        assert integrity.holds(service)


# --------------------------------------------------------------------------- a stolen database

def test_an_invite_label_is_not_readable_in_the_database(app, coordinator):
    coordinator.signs_in()
    coordinator.opens("/admin/conferences/1")
    assert "Never use the child's name" in coordinator.sees
    suggested = re.search(r'id="label"[^>]*value="([^"]+)"', coordinator.page.text).group(1)
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ \d\d", suggested)  # a made-up name
    coordinator.posts("/admin/conferences/1/invites", {"label": "Jordan Smith-Label"})
    coordinator.opens("/admin/conferences/1")
    assert "Jordan Smith-Label" in coordinator.sees  # the coordinator sees it
    assert not raw_database_contains(app, b"Jordan Smith-Label")
    assert not raw_database_contains(app, b"Demo child A")


def test_how_much_a_child_wrote_does_not_show_in_the_ciphertext_length(app, child,
                                                                      another_child):
    child.tells(worries="ok")
    child.sends()
    another_child.tells(worries="much more to say than the other child " * 12)
    another_child.sends()
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        lengths = set(connection.scalars(select(Submission.ciphertext)).all())
    assert len({len(c) for c in lengths}) == 1


def test_the_instance_folder_and_database_are_private(tmp_path):
    from voiceapp import create_app

    folder = tmp_path / "fresh"
    app = create_app(dict(env="testing", instance_path=folder))  # SQLite, made here
    database = folder / "voiceapp.sqlite3"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder / "secret_key").st_mode) == 0o600
    app.extensions["voiceapp.db"].engine.dispose()


# --------------------------------------------------------------------------- one coordinator

def test_a_key_reset_needs_a_second_coordinator(app, chair, coordinator):
    chair_id = value_of(app, User.id, User.email == CHAIR)
    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts(f"/admin/staff/{chair_id}/reset-key")
    assert "Another coordinator must approve this" in coordinator.sees
    chair.signs_in()
    assert chair.unlocks().request.path == "/chair/"  # nothing has changed yet
    request_id = value_of(app, __import__("voiceapp.models", fromlist=["KeyResetRequest"])
                          .KeyResetRequest.id)
    coordinator.opens("/admin/staff")
    assert "New key asked for: waiting for another coordinator" in coordinator.sees
    refused = coordinator.client.post(f"/admin/key-resets/{request_id}", data={
        "csrf_token": coordinator.csrf_token(), "decision": "approve"})
    assert refused.status_code == 403
    second = Coordinator(app.test_client(), add_staff(app, "coordinator",
                                                      "second.coordinator@example.org"))
    second.signs_in()
    second.opens("/admin/staff")
    second.posts(f"/admin/key-resets/{request_id}", {"decision": "approve"})
    assert "will make a new key" in second.sees
    assert chair.client.get("/chair/").status_code == 302  # signed out everywhere
    actions = audit_actions(app)
    assert "staff.key-reset-requested" in actions and "staff.key-reset" in actions


# --------------------------------------------------------------------------- rows that sign in

def test_a_session_row_written_into_the_database_signs_nobody_in(app, coordinator):
    """A database writer inserts a session for the coordinator with a token they chose."""
    import hashlib
    import json as plain_json

    from voiceapp.models import WebSession
    token = "A" * 43
    for row_id, data in (
            (hashlib.sha256(b"voiceapp session\x00" + token.encode()).hexdigest(),
             plain_json.dumps({"user_id": 3, "stage": "signed-in", "role": "coordinator"})),):
        change_as_attacker(app, insert(WebSession).values(
            id=row_id, user_id=3, data=data, version=1, created_at=utcnow(),
            last_seen_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
    intruder = app.test_client()
    intruder.set_cookie("voiceapp", token)
    assert intruder.get("/admin/").status_code == 302


def test_an_edited_session_row_is_no_session(app, coordinator, child):
    """A database writer edits their own (child's) session row to say it is a coordinator's."""
    from voiceapp.models import WebSession
    child.opens_invite()
    coordinator.signs_in()
    staff_data = value_of(app, WebSession.data, WebSession.user_id.is_not(None))
    change_as_attacker(app, update(WebSession).where(WebSession.user_id.is_(None))
                       .values(data=staff_data, user_id=3))
    assert child.client.get("/admin/").status_code == 302


def test_a_staff_link_written_into_the_database_does_not_work(app, demo):
    import hashlib

    from voiceapp.models import StaffInvite
    token = "B" * 43
    change_as_attacker(app, insert(StaffInvite).values(
        user_id=2, token_hash=hashlib.sha256(b"voiceapp staff invite\x00" + token.encode())
        .hexdigest(), created_at=utcnow(), expires_at=utcnow() + timedelta(days=1)))
    assert app.test_client().get(f"/staff/welcome/{token}").status_code == 410


def test_a_coordinator_cannot_approve_a_key_reset_with_an_account_they_made(app, chair,
                                                                            coordinator):
    chair_id = value_of(app, User.id, User.email == CHAIR)
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "Helper", "email": "helper@example.org",
                                          "role": "coordinator"})
    link = re.search(r"http://localhost(/staff/welcome/[\w-]+)", coordinator.sees).group(1)
    coordinator.opens("/admin/staff")
    coordinator.posts(f"/admin/staff/{chair_id}/reset-key")
    made = Coordinator(app.test_client(), {"email": "helper@example.org"})
    made.enrols(link)
    made.opens("/admin/staff")
    assert "Approve the new key" not in made.sees
    from voiceapp.models import KeyResetRequest
    request_id = value_of(app, KeyResetRequest.id)
    refused = made.client.post(f"/admin/key-resets/{request_id}",
                               data={"csrf_token": made.csrf_token(), "decision": "approve"})
    assert refused.status_code == 403
