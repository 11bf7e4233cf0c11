"""The child's journey through HTTP: starting, answering, resuming, sending, leaving."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from voiceapp import keyring
from voiceapp.db import utcnow
from voiceapp.models import Conference, Draft, Invite, Submission, User, WebSession
from voiceapp.submissions import open_submission

from .evidence import (
    audit_actions, change_as_voiceapp, count, more_invites, raw_database_contains,
)
from .people import Child, visible_text

PAGES = ["/welcome", "/how", "/going-well", "/worries", "/hopes", "/safe", "/help", "/meeting",
         "/sharing", "/check"]



def in_db(app, fn):
    with app.app_context():
        from voiceapp.db import db
        result = fn(db)
        db.commit()
        return result


# --------------------------------------------------------------------------- starting

def test_the_start_page_asks_for_a_code_in_plain_words(client):
    response = client.get("/")
    assert response.status_code == 200
    text = visible_text(response)
    assert "Tell us what you think" in text
    assert "Your code" in text
    assert "Leave this page quickly" in text


def test_an_invite_link_opens_the_welcome_page(child):
    page = child.opens_invite()
    assert page.request.path == "/welcome"
    assert "If you tell us someone is hurting you, the chair must make sure you are safe." \
        in child.sees
    assert "The chair will read what you send here." in child.sees


def test_a_typed_code_works_with_spaces_dashes_and_small_letters(child):
    messy = " " + child.code.lower().replace("-", " ") + " "
    page = child.types_code(messy)
    assert page.request.path == "/welcome"


def test_a_wrong_code_gets_a_kind_message(client, demo):
    child = Child(client, "ABCD-EFGH-JKMN")
    page = child.types_code()
    assert page.status_code == 400
    assert "We could not find that code. Check it and try again." in child.sees
    assert "There is a problem" in child.sees


def test_an_empty_code_is_asked_for_again(client, demo):
    child = Child(client, "")
    page = child.fills_in("/", {"code": ""})
    assert page.status_code == 400
    assert "Type the code you were given" in child.sees


def test_guessing_codes_is_throttled_per_ip(client, demo):
    guesser = Child(client, "")
    statuses = []
    for n in range(22):
        guesser.opens("/")
        guesser.posts("/", {"code": f"ABCD-EFGH-J{n:03d}"})
        statuses.append(guesser.page.status_code)
    assert statuses == [400] * 20 + [429, 429]
    assert "Please wait a few minutes" in guesser.sees


def test_guessing_by_link_is_throttled_too(client, demo):
    statuses = [client.get(f"/i/ZZZZZZZZZ{n:03d}").status_code for n in range(20)]
    assert statuses == [400] * 20
    assert client.get("/i/ZZZZZZZZZZ77").status_code == 429


def test_guesses_at_one_code_prefix_never_lock_out_the_child_who_owns_it(app, demo, child):
    """A correct code is never refused because others guessed near it: only each guessing
    address is limited (a limit that let right codes through would tell guessers nothing
    anyway, while one that refused them would lock a child out)."""
    prefix = child.code.replace("-", "")[:4]
    for n in range(40):
        wrong = f"{prefix}{'23456789'[n % 8]}{'ABCDEFGH'[n // 8]}ZZZZZZ"
        app.test_client().get(f"/i/{wrong}", environ_base={"REMOTE_ADDR": f"10.0.1.{n}"})
    assert child.opens_invite().request.path == "/welcome"


def test_many_children_behind_one_address_all_get_in(app, demo):
    """A school, a children's home, a foster family's router: right codes never count."""
    codes = more_invites(app, 35)
    pages = [app.test_client().get(f"/i/{code}", environ_base={"REMOTE_ADDR": "10.7.7.7"},
                                   follow_redirects=True) for code in codes]
    assert [page.request.path for page in pages] == ["/welcome"] * len(codes)


def test_a_right_code_gets_in_after_a_few_wrong_ones_from_the_same_address(app, demo, child):
    """Children behind one address mistype now and then: that never keeps a right code out,
    but an address that has guessed wrong very often waits, whatever it types."""
    address = {"REMOTE_ADDR": "10.6.6.6"}
    for n in range(8):
        app.test_client().get(f"/i/ZZZZZZZZZ{n:03d}", environ_base=address)
    assert child.client.get(f"/i/{child.code}", environ_base=address).status_code == 302
    statuses = [app.test_client().get(f"/i/ZZZZZZZZY{n:03d}", environ_base=address)
                .status_code for n in range(14)]
    assert statuses == [400] * 12 + [429, 429]
    assert app.test_client().get(f"/i/{child.code}", environ_base=address).status_code == 429


def test_a_revoked_code_says_so_kindly(app, child):
    change_as_voiceapp(app, Invite, revoked_at=utcnow())
    page = child.opens_invite()
    assert page.status_code == 410
    assert "This code does not work any more" in child.sees


def test_an_expired_code_says_the_meeting_has_started(app, child):
    in_db(app, lambda db: db.execute(update(Conference).values(
        starts_at=utcnow() - timedelta(minutes=1))))
    page = child.opens_invite()
    assert page.status_code == 410
    assert "The meeting has started" in child.sees


def test_opening_an_invite_is_recorded_for_the_coordinator(app, child):
    assert count(app, Invite, Invite.opened_at.is_not(None)) == 0
    child.opens_invite()
    assert count(app, Invite, Invite.opened_at.is_not(None)) == 1


# --------------------------------------------------------------------------- the questions

def test_every_page_has_the_quick_exit_a_neutral_title_and_no_store(child):
    child.opens_invite()
    child.starts()
    for path in PAGES + ["/leaving-quickly", "/"]:
        response = child.opens(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert re.search(r'href="/leave\?t=[A-Za-z0-9_-]{16}"', body) and "data-exit" in body, path
        title = re.search(r"<title>(.*?)</title>", body, re.S).group(1)
        assert title.startswith("My views"), path
        assert "protection" not in title.lower() and "conference" not in title.lower()
        assert response.headers["Cache-Control"] == "no-store"


def test_questions_show_progress_and_back_links(child):
    child.opens_invite()
    child.starts()
    child.opens("/worries")
    assert "Question 3 of 8" in child.sees
    assert 'href="/going-well"' in child.page.get_data(as_text=True)
    assert ">Back<" in child.page.get_data(as_text=True)


def test_nothing_is_compulsory(child):
    child.opens_invite()
    child.starts()
    for path in PAGES[1:-1]:
        page = child.answers(path)
        assert page.status_code == 200, path
        assert "There is a problem" not in child.sees, path
    assert child.page.request.path == "/check"
    assert child.sees.count("Not answered") >= 6


def test_questions_never_suggest_a_harm(child):
    harms = ("hit", "abuse", "touch", "hurt", "drug", "drink", "sexual", "physical", "neglect",
             "violence", "police")
    child.opens_invite()
    child.starts()
    for path in PAGES[1:]:
        words = set(re.findall(r"[a-z]+", child.opens(path) and child.sees.lower()))
        found = [h for h in harms if any(w.startswith(h) for w in words)]
        assert not found, f"{path} mentions {found}"


def test_answers_are_kept_and_shown_back(child):
    child.tells(going_well="My dog Biscuit", worries="Walking home in the dark",
                hopes="More time with my brother", safety=7, attend="video",
                helper="someone_else", someone_name="Aunt Mo", share_parents="ask")
    text = child.sees
    for words in ("My dog Biscuit", "Walking home in the dark", "More time with my brother",
                  "7 / 10", "I'd like to join by video", "Someone else I trust: Aunt Mo",
                  "Ask me first"):
        assert words in text


def test_change_links_return_to_the_check_page(child):
    child.tells(worries="first try")
    assert 'href="/worries?change=1"' in child.page.get_data(as_text=True)
    child.opens("/worries?change=1")
    assert 'href="/check"' in child.page.get_data(as_text=True)  # Back goes to check
    child.posts("/worries?change=1", {"text": "second try"})
    assert child.page.request.path == "/check"
    assert "second try" in child.sees and "first try" not in child.sees


def test_pictures_mode_offers_topic_tiles_and_faces(child):
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    child.opens("/going-well")
    assert "Pick any faces that show how you feel" in child.sees  # one thing a screen
    child.posts("/going-well", {"feelings": ["happy"]})
    assert "Tap the pictures that fit" in child.sees
    child.posts("/going-well?item=1", {"topics": ["pets", "friends"]})
    child.opens("/check")
    assert "Pets" in child.sees and "Friends" in child.sees and "Happy" in child.sees


def test_a_low_safety_score_shows_who_to_talk_to(child):
    child.opens_invite()
    child.starts()
    page = child.answers("/safe", score="2")
    assert page.request.path == "/safe/support"
    assert "0800 1111" in child.sees
    assert "01632 960 123" in child.sees  # the organisation's out-of-hours number


def test_a_forged_choice_is_refused_kindly(child):
    child.opens_invite()
    child.starts()
    page = child.answers("/meeting", attend="run-away")
    assert page.status_code == 400
    assert "Choose one of the answers" in child.sees


def test_the_advocate_question_is_only_asked_when_a_service_was_chosen(child):
    child.opens_invite()
    child.starts()
    child.answers("/help", helper="myself")
    child.opens("/sharing")
    assert "Can your advocate see" not in child.sees
    child.answers("/help", helper="service:1")
    child.opens("/sharing")
    assert "Can the Children's Rights Officer see what you said too?" in child.sees


# --------------------------------------------------------------------------- bad input

def test_oversized_text_is_refused_kindly_and_loses_nothing(child):
    child.tells(worries="my first answer")
    too_long = "a" * 5001
    page = child.answers("/worries", text=too_long)
    assert page.status_code == 400
    assert "That is more than 5,000 characters" in child.sees
    assert too_long in page.get_data(as_text=True)  # still in the box, to shorten
    assert "maxlength" not in page.get_data(as_text=True)  # never cut off silently
    child.opens("/check")
    assert "my first answer" in child.sees


def test_a_long_name_is_refused_kindly_and_kept_whole(child):
    child.opens_invite()
    child.starts()
    name = "N" * 150
    page = child.answers("/help", helper="someone_else", someone_name=name)
    assert page.request.path == "/help"
    assert "That is too long. Use up to 100 characters." in child.sees
    assert f'value="{name}"' in page.get_data(as_text=True)
    assert "maxlength" not in page.get_data(as_text=True)


def test_a_huge_request_gets_the_too_big_page_and_keeps_the_draft(app, child):
    child.tells(worries="kept safe")
    child.opens("/worries")
    response = child.client.post("/worries", data={"csrf_token": child.csrf_token(),
                                                   "text": "x" * (31 * 1024 * 1024)})
    assert response.status_code == 413
    assert "That was too big" in visible_text(response)
    child.opens("/check")
    assert "kept safe" in child.sees


@pytest.mark.parametrize("token", [None, "forged-token", ""])
def test_a_missing_or_forged_csrf_token_is_refused_and_keeps_the_draft(child, token):
    child.tells(worries="before the attack")
    data = {"text": "changed by someone else"}
    if token is not None:
        data["csrf_token"] = token
    response = child.client.post("/worries", data=data)
    assert response.status_code == 400
    assert "This page timed out" in visible_text(response)
    child.opens("/check")
    assert "before the attack" in child.sees


def test_a_csrf_token_from_another_session_is_refused(app, child, another_child):
    another_child.opens_invite()
    stolen = another_child.csrf_token()
    child.tells(worries="mine")
    response = child.client.post("/worries", data={"csrf_token": stolen, "text": "theirs"})
    assert response.status_code == 400


def test_pages_need_an_open_invite(client, demo):
    for path in PAGES + ["/sent"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/?again=1")


# --------------------------------------------------------------------------- drafts

def test_a_draft_is_resumed_in_the_same_session(child):
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="words")
    child.answers("/worries", text="half-finished thought")
    page = child.opens_invite()  # the child taps the link in their letter again
    assert page.request.path == "/hopes"  # the question after the last one they answered
    child.opens("/worries")
    assert "half-finished thought" in child.page.get_data(as_text=True)


def test_a_new_session_starts_cleanly(app, child):
    child.tells(worries="left on another phone")
    fresh = Child(app.test_client(), child.code)
    page = fresh.opens_invite()
    assert page.request.path == "/welcome"
    fresh.opens("/worries")
    assert "left on another phone" not in fresh.page.get_data(as_text=True)


def test_an_expired_draft_is_not_resumed(app, child):
    child.tells(worries="yesterday's words")
    in_db(app, lambda db: db.execute(update(Draft).values(expires_at=utcnow())))
    child.opens("/worries")
    assert "yesterday's words" not in child.page.get_data(as_text=True)


# --------------------------------------------------------------------------- sending

def test_sending_seals_one_submission_that_the_chair_key_opens(app, demo, child):
    child.tells(worries="a phrase only the chair reads 4417", safety=8)
    page = child.sends()
    assert page.request.path == "/sent"
    assert "Thank you. You have sent your views." in child.sees
    assert count(app, Submission) == 1
    assert count(app, Draft) == 1  # the child's choices stay, for adding something later
    child.opens("/check")
    assert "a phrase only the chair reads 4417" not in child.sees
    with app.test_request_context():
        from voiceapp.db import db
        submission = db.scalar(select(Submission))
        chair = db.scalar(select(User).where(User.email == demo["chair"]["email"]))
        keys = keyring.unlock(chair, demo["chair"]["passphrase"])
        payload = open_submission(submission, keys)
    assert payload["answers"]["worries"]["text"] == "a phrase only the chair reads 4417"
    assert payload["answers"]["safety"] == 8
    assert payload["author"] == "child"
    assert submission.urgent is False
    assert "submission.sent" in audit_actions(app)


def test_the_database_never_holds_a_childs_words_in_plain_text(app, child):
    phrase = "zebra-crossing-secret-90210"
    child.tells(worries=phrase, hopes=phrase)
    assert not raw_database_contains(app, phrase.encode()), "a draft leaked"
    child.sends()
    assert count(app, Submission) == 1
    assert not raw_database_contains(app, phrase.encode()), "a submission leaked"


def test_a_double_send_makes_exactly_one_submission(app, child):
    child.tells(worries="pressed twice")
    child.opens("/check")
    token = child.send_token()
    csrf = child.csrf_token()
    first = child.client.post("/send", data={"csrf_token": csrf, "token": token})
    second = child.client.post("/send", data={"csrf_token": csrf, "token": token})
    assert first.headers["Location"] == "/sent"
    assert second.headers["Location"] == "/sent"
    assert count(app, Submission) == 1


def test_a_retry_after_a_lost_response_finds_the_first_send(app, child):
    child.tells(worries="slow network")
    child.opens("/check")
    token, csrf = child.send_token(), child.csrf_token()
    child.client.post("/send", data={"csrf_token": csrf, "token": token})
    # The phone never saw the answer, the child presses Back and Send again.
    retry = child.client.post("/send", data={"csrf_token": csrf, "token": token},
                              follow_redirects=True)
    assert retry.request.path == "/sent"
    assert count(app, Submission) == 1


def test_sending_after_the_meeting_started_is_refused_kindly(app, child):
    child.tells(worries="too late")
    child.opens("/check")
    token, csrf = child.send_token(), child.csrf_token()
    in_db(app, lambda db: db.execute(update(Conference).values(
        starts_at=utcnow() - timedelta(seconds=1))))
    response = child.client.post("/send", data={"csrf_token": csrf, "token": token})
    assert response.status_code == 410
    assert "The meeting has started" in visible_text(response)
    assert count(app, Submission) == 0


def test_a_failed_send_keeps_the_draft_and_says_not_sent_yet(app, child, monkeypatch):
    child.tells(worries="please do not lose this")
    from voiceapp.child import sending

    def broken(*args, **kwargs):
        from sqlalchemy.exc import OperationalError
        raise OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(sending, "seal_submission", broken)
    page = child.sends()
    assert page.status_code == 503
    assert "Your answers have not been sent yet" in child.sees
    assert "Nothing you wrote is lost" in child.sees
    monkeypatch.undo()
    child.opens("/check")
    assert "please do not lose this" in child.sees
    assert child.sends().request.path == "/sent"
    assert count(app, Submission) == 1


def test_a_low_score_marks_the_submission_urgent(app, child):
    child.tells(safety=1)
    child.sends()
    assert count(app, Submission, Submission.urgent.is_(True)) == 1


def test_the_child_can_add_something_later_and_sees_the_read_receipt(app, child):
    child.tells(worries="first")
    child.sends()
    child.opens("/sent")
    child.posts("/start-again")
    assert child.page.request.path == "/going-well"
    child.tells(worries="second")
    child.sends()
    assert count(app, Submission) == 2
    child.opens("/welcome")
    assert "You first sent your views on" in child.sees
    assert "You added more on" in child.sees
    assert "The chair has not read it yet." in child.sees
    change_as_voiceapp(app, Submission, read_at=utcnow())
    child.opens("/welcome")
    assert "The chair has read it." in child.sees


# --------------------------------------------------------------------------- leaving

def test_leaving_quickly_ends_the_session_and_deletes_the_draft(app, child):
    child.tells(worries="nobody should see this")
    assert count(app, Draft) == 1 and count(app, WebSession) >= 1
    response = child.leaves_quickly()
    assert response.status_code == 303
    assert response.headers["Location"] == "https://www.bbc.co.uk/weather"
    assert "voiceapp=;" in response.headers.get("Set-Cookie", "")
    assert count(app, Draft) == 0
    assert count(app, WebSession) == 0
    back = child.client.get("/worries")
    assert back.status_code == 302  # the journey is gone, not one Back press away


def test_the_exit_page_explains_what_it_cannot_hide(client, demo):
    text = visible_text(client.get("/leaving-quickly"))
    assert "It cannot clear the list of websites you have been to" in text
    assert "Shift key three times" in text


def test_leaving_uses_the_organisations_exit_site(app, child):
    from voiceapp.models import Organisation
    change_as_voiceapp(app, Organisation, exit_url="https://www.example.org/recipes")
    child.opens_invite()
    child.opens("/check")
    assert child.leaves_quickly().headers["Location"] == "https://www.example.org/recipes"


def test_nothing_a_child_writes_goes_in_a_cookie(child):
    child.tells(worries="cookie-monster-phrase")
    cookies = [c.value for c in child.client._cookies.values()]
    assert cookies and all("cookie-monster" not in c for c in cookies)
    assert all(len(c) == 43 for c in cookies)  # one random token, nothing else


def test_sessions_are_stored_under_a_keyed_hash_of_the_cookie_and_sealed(app, child):
    child.opens_invite()
    token = next(iter(child.client._cookies.values())).value
    assert not raw_database_contains(app, token.encode())
    assert not raw_database_contains(app, hashlib.sha256(
        b"voiceapp session\x00" + token.encode()).hexdigest().encode())
    assert not raw_database_contains(app, b'"kind"')  # the session's data is sealed
    with app.test_request_context():
        from voiceapp.sessions import _open_data, session_id
        from voiceapp.db import db
        row = db.get(WebSession, session_id(token))
        assert _open_data(token, row.data)["kind"] == "child"


def test_a_child_can_send_without_answering_anything(app, child):
    child.opens_invite()
    child.starts()
    child.opens("/check")
    assert "Send your answers" in child.sees
    assert child.sends().request.path == "/sent"
    assert count(app, Submission) == 1
