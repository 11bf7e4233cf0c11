"""Staff sign-in: password, authenticator code, throttling, sessions and first-time set-up."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from voiceapp.db import utcnow
from voiceapp.models import StaffInvite, User, WebSession

from .evidence import audit_actions, change_as_voiceapp
from .people import Chair, Coordinator, Staff, visible_text

WRONG = "Your email address or password is not right."


def sessions_of(app, email: str) -> int:
    with app.app_context():
        from voiceapp.db import db
        user = db.scalar(select(User).where(User.email == email))
        return db.scalar(select(func.count()).select_from(WebSession)
                         .where(WebSession.user_id == user.id))


def test_a_chair_signs_in_with_password_and_code(chair):
    page = chair.signs_in()
    assert page.request.path == "/chair/"
    assert "Inbox" in chair.sees
    assert "sign-in" in audit_actions(chair.client.application)


def test_every_role_lands_on_its_own_home(advocate, coordinator):
    assert advocate.signs_in().request.path == "/advocate/"
    assert coordinator.signs_in().request.path == "/admin/"


def test_the_session_is_replaced_at_sign_in(app, chair):
    chair.opens("/staff/sign-in")
    chair.posts("/staff/sign-in", {"email": chair.account["email"],
                                   "password": chair.account["password"]})
    before = chair.client.get_cookie("voiceapp").value
    chair.posts("/staff/sign-in/code", {"code": chair.fresh_code()})
    after = chair.client.get_cookie("voiceapp").value
    assert before != after
    replayed = app.test_client()
    replayed.set_cookie("voiceapp", before)
    assert replayed.get("/chair/").status_code == 302


@pytest.mark.parametrize("email,password", [
    ("chair@example.org", "not the password"),
    ("nobody@example.org", "not the password"),
])
def test_a_wrong_password_or_unknown_email_gets_the_same_answer(chair, email, password):
    page = chair.fills_in("/staff/sign-in", {"email": email, "password": password})
    assert page.status_code == 400
    assert WRONG in chair.sees
    assert "sign-in.failed" in audit_actions(chair.client.application)


def test_a_password_alone_does_not_sign_in(chair):
    chair.fills_in("/staff/sign-in", {"email": chair.account["email"],
                                      "password": chair.account["password"]})
    assert chair.page.request.path == "/staff/sign-in/code"
    assert chair.client.get("/chair/").status_code == 302


def test_a_wrong_code_is_refused(chair):
    page = chair.signs_in(code="000000")
    assert page.status_code == 400
    assert "That code is not right" in chair.sees
    assert chair.client.get("/chair/").status_code == 302


def test_a_used_code_cannot_be_used_again(app, chair):
    code = chair.fresh_code()
    assert chair.signs_in(code=code).request.path == "/chair/"
    chair.signs_out()
    replay = chair.signs_in(code=code)
    assert replay.status_code == 400
    assert "used already" in chair.sees


def test_password_guessing_is_throttled_per_account(app, chair):
    for _ in range(5):
        assert chair.fills_in("/staff/sign-in", {"email": chair.account["email"],
                                                 "password": "wrong"}).status_code == 400
    page = chair.fills_in("/staff/sign-in", {"email": chair.account["email"],
                                             "password": chair.account["password"]})
    assert page.status_code == 429
    assert "Please wait" in chair.sees


def test_password_guessing_is_throttled_per_ip_across_accounts(app, demo):
    guesser = Staff(app.test_client(), {})
    statuses = [guesser.fills_in("/staff/sign-in", {"email": f"user{n}@example.org",
                                                    "password": "wrong"}).status_code
                for n in range(6)]
    assert statuses == [400] * 5 + [429]


def test_code_guessing_is_throttled(chair):
    for _ in range(5):
        chair.signs_in(code="000000")
    page = chair.signs_in()
    assert page.status_code == 429


def test_signing_out_ends_the_session(app, chair):
    chair.signs_in()
    assert sessions_of(app, chair.account["email"]) == 1
    page = chair.signs_out()
    assert "You have signed out" in chair.sees
    assert page.request.path == "/staff/sign-in"
    assert sessions_of(app, chair.account["email"]) == 0
    assert chair.client.get("/chair/").status_code == 302


def test_signing_out_everywhere_ends_every_session(app, demo):
    phone, laptop = (Chair(app.test_client(), demo["chair"]) for _ in range(2))
    phone.signs_in()
    laptop.signs_in()
    assert sessions_of(app, demo["chair"]["email"]) == 2
    laptop.opens("/staff/account")
    laptop.posts("/staff/sign-out-everywhere")
    assert sessions_of(app, demo["chair"]["email"]) == 0
    assert phone.client.get("/chair/").status_code == 302


def test_an_idle_session_expires(app, chair):
    chair.signs_in()
    with app.app_context():
        from voiceapp.db import db
        row = db.scalar(select(WebSession))
        assert timedelta(minutes=14) < row.expires_at - utcnow() <= timedelta(minutes=15)
        db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    response = chair.client.get("/chair/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/sign-in"


def test_chairs_are_warned_before_an_idle_sign_out(chair):
    chair.signs_in()
    body = chair.page.get_data(as_text=True)
    assert 'data-idle-seconds="900"' in body
    assert "You will be signed out in 2 minutes" in body
    assert chair.client.get("/staff/still-here").status_code == 204


def test_a_page_asked_for_before_sign_in_opens_after_it(chair):
    chair.opens("/staff/account")
    chair.signs_in()
    assert chair.page.request.path == "/staff/account"


def test_sign_in_never_redirects_off_site(app, chair):
    with chair.client.session_transaction() as session:
        session["next"] = "//evil.example.net/phish"
    chair.signs_in()
    assert chair.page.request.path == "/chair/"


def test_a_disabled_account_cannot_sign_in(app, chair):
    change_as_voiceapp(app, User, disabled_at=utcnow())
    assert chair.signs_in().status_code == 400
    assert WRONG in chair.sees


# --------------------------------------------------------------------------- first sign-in

def invite_link(runner, role="chair", email="new.chair@example.org") -> str:
    result = runner.invoke(args=["create-user", "--role", role, "--email", email,
                                 "--name", "New Person"])
    assert result.exit_code == 0, result.output
    return re.search(r"/staff/welcome/\S+", result.output).group(0)


def test_a_new_chair_sets_up_password_authenticator_and_key(app, runner, demo):
    link = invite_link(runner)
    person = Chair(app.test_client(), {"email": "new.chair@example.org"})
    person.opens(link)
    assert "<svg" in person.page.get_data(as_text=True)  # the QR code, drawn by the app
    assert "Set up your account" in person.sees
    person.enrols(link)
    assert person.page.request.path == "/staff/keys/new"
    person.posts("/staff/keys/new", {"passphrase": "kettle orbit maple drum",
                                     "confirm": "kettle orbit maple drum"})
    assert "too easy to guess" in person.sees  # the example on the page is not a passphrase
    person.posts("/staff/keys/new", {"passphrase": "lantern pebble violin crater",
                                     "confirm": "lantern pebble violin crater"})
    assert person.page.request.path == "/staff/keys/recovery-sheet"
    assert "recovery key" in person.sees
    person.opens("/chair/")
    assert "Inbox" in person.sees
    assert {"staff.enrolled", "key.created"} <= set(audit_actions(app))


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaaaaaa", "passwordpassword", "1234567890123456",
                                  "qwertyuiopasdfgh", "abcdefghijklmnopq"])
def test_a_long_but_guessable_key_passphrase_is_refused(app, runner, demo, weak):
    link = invite_link(runner)
    person = Chair(app.test_client(), {"email": "new.chair@example.org"})
    person.enrols(link)
    page = person.posts("/staff/keys/new", {"passphrase": weak, "confirm": weak})
    assert page.status_code == 400 and "too easy to guess" in person.sees


def test_a_sign_in_link_works_once(app, runner, demo):
    link = invite_link(runner, role="coordinator", email="new.coord@example.org")
    person = Coordinator(app.test_client(), {"email": "new.coord@example.org"})
    person.enrols(link)
    assert person.page.request.path == "/admin/"
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "This link does not work" in visible_text(again)


def test_an_expired_sign_in_link_does_not_work(app, runner, demo):
    link = invite_link(runner)
    with app.app_context():
        from voiceapp.db import db
        db.execute(update(StaffInvite).values(expires_at=utcnow()))
        db.commit()
    assert app.test_client().get(link).status_code == 410


def test_a_forged_sign_in_link_does_not_work_and_guessing_is_throttled(app, demo):
    client = app.test_client()
    statuses = [client.get(f"/staff/welcome/forged-token-{n}").status_code for n in range(11)]
    assert statuses == [410] * 10 + [429]


@pytest.mark.parametrize("password,problem", [
    ("short", "at least 12 characters"),
    ("password1234", "too easy to guess"),
    ("new.chair-is-my-password", "too easy to guess"),
])
def test_a_weak_password_is_refused(app, runner, demo, password, problem):
    link = invite_link(runner)
    person = Chair(app.test_client(), {"email": "new.chair@example.org"})
    person.enrols(link, password)
    assert person.page.status_code == 400
    assert problem in person.sees.lower() or problem in person.sees


def test_the_key_passphrase_must_differ_from_the_password(app, runner, demo):
    link = invite_link(runner)
    person = Chair(app.test_client(), {"email": "new.chair@example.org"})
    person.enrols(link, "three random words here")
    person.posts("/staff/keys/new", {"passphrase": "three random words here",
                                     "confirm": "three random words here"})
    assert person.page.status_code == 400
    assert "different from your password" in person.sees
