"""Attacks a hostile reviewer tried, each shown to fail."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import uuid

import pyotp
from PIL import Image
from sqlalchemy import delete, func, select, update

from voiceapp import audit
from voiceapp.db import write_transaction
from voiceapp.models import Attachment, AttachmentChunk, AuditEvent, Draft, WebSession

from .conftest import make_app, staff_the_other_service
from .evidence import audit_actions, count, more_invites
from .people import Chair, Child, Staff, visible_text
from .test_attachments import VOICE, sent_attachment_url, started



def test_forms_work_over_https_with_secure_cookies_and_no_referer(database_url, tmp_path):
    """Referrer-Policy: no-referrer means browsers send no Referer: CSRF must not need one."""
    app = make_app(database_url, tmp_path / "https", secure_cookies=True)
    demo = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).stdout)
    client = app.test_client()
    https = "https://views.example.org"
    page = client.get("/", base_url=https)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    response = client.post("/", base_url=https, data={
        "csrf_token": token.split('"')[0], "code": demo["invites"][0]["code"]})
    assert response.status_code == 302 and response.headers["Location"] == "/welcome"
    assert client.get_cookie("__Host-voiceapp", domain="views.example.org").secure


def test_an_authenticator_code_wins_only_once_even_when_sent_in_parallel(app, demo):
    account = demo["chair"]
    people = [Staff(app.test_client(), account) for _ in range(5)]  # the account limit
    for person in people:
        person.fills_in("/staff/sign-in", {"email": account["email"],
                                           "password": account["password"]})
        assert person.page.request.path == "/staff/sign-in/code"
    code = pyotp.TOTP(account["totp_secret"]).now()
    barrier, results = threading.Barrier(len(people)), []
    forms = [{"csrf_token": p.csrf_token(), "code": code} for p in people]

    def submit(person, form):
        barrier.wait()
        results.append(person.client.post("/staff/sign-in/code", data=form).status_code)

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(people, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302] + [400] * (len(people) - 1)


def test_a_session_ended_during_a_request_stays_ended(app, chair):
    @app.get("/test/end-my-sessions-midway")
    def midway():
        from flask import session

        from voiceapp.db import write_transaction, writing
        with write_transaction() as other:  # sign-out-everywhere, from another request
            other.execute(delete(WebSession))
        with writing():
            session["touched"] = True       # this request still saves its session
        return "ok"

    chair.signs_in_and_unlocks()
    chair.client.get("/test/end-my-sessions-midway")
    assert count(app, WebSession) == 0
    assert chair.client.get("/chair/").status_code == 302


def test_a_chair_can_unlock_again_after_a_key_reset(app, runner, chair, coordinator):
    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/1/reset-key")
    runner.invoke(args=["approve-key-reset", "--email", "chair@example.org"])
    chair.signs_in()
    chair.posts("/staff/keys/new", {"passphrase": "my brand new passphrase",
                                    "confirm": "my brand new passphrase"})
    chair.signs_out()
    chair.signs_in()
    page = chair.unlocks("my brand new passphrase")
    assert page.status_code == 200 and page.request.path == "/chair/"


def test_a_shortened_attachment_row_cannot_cut_a_recording_short(app, demo, child):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    chair, url = sent_attachment_url(app, demo, child)
    with app.app_context():
        from voiceapp.db import db
        db.execute(update(Attachment).values(size=100, chunk_count=1))
        db.commit()
    assert chair.client.get(url).data == VOICE  # the sealed length wins
    with app.app_context():
        from voiceapp.db import db
        last = db.scalar(select(func.max(AttachmentChunk.seq)))
        db.execute(update(AttachmentChunk).where(AttachmentChunk.seq == last)
                   .values(data=b"\x00" * 32))
        db.commit()
    response = chair.client.get(url)
    assert response.status_code == 409  # checked before a byte is sent
    assert "This file has been altered" in visible_text(response)
    assert VOICE[:64] not in response.data
    assert "attachment.altered" in audit_actions(app)


def test_a_photo_with_too_many_pixels_is_refused_before_decoding(app, child):
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 200_000
    started(child)
    page = child.adds_file("/hopes", "photo", bomb.getvalue(), "drawing.png", "image/png")
    assert page.status_code == 400
    assert "too big for us to open" in child.sees


def test_rewriting_the_audit_chain_without_the_instance_secret_is_detected(app, child):
    child.tells(worries="hello")
    child.sends()
    with app.app_context(), write_transaction() as tx:
        events = tx.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        previous = audit.GENESIS
        for event in events:  # what an attacker with only the database can do
            if event.action == "submission.sent":
                event.action = "invite.opened"
            event.prev_hash = f"x{event.id:063d}"
        tx.flush()
        for event in events:
            line = json.dumps([previous, event.at.isoformat(timespec="microseconds"),
                               event.actor, event.action, event.subject, event.detail],
                              separators=(",", ":"))
            event.prev_hash, event.hash = previous, hashlib.sha256(line.encode()).hexdigest()
            previous = event.hash
    with app.app_context(), write_transaction() as tx:
        assert audit.verify(tx) == events[0].id


def test_the_audit_log_keeps_no_safety_score_or_sharing_choice(app, child):
    child.tells(worries="x", safety=1)
    child.sends()
    with app.app_context():
        from voiceapp.db import db
        detail = db.scalar(select(AuditEvent.detail).where(
            AuditEvent.action == "submission.sent"))
    assert "urgent" not in detail and "shared" not in detail


def test_anonymous_visits_cannot_fill_the_session_table(app, demo):
    client = app.test_client()
    for _ in range(230):
        client.delete_cookie("voiceapp")
        client.get("/")
    assert count(app, WebSession) == 200  # a school's worth a minute, and no more


def test_a_whole_class_typing_codes_behind_one_address_all_get_in(app, demo):
    codes = more_invites(app, 90)
    children = [Child(app.test_client(), code) for code in codes]
    for child in children:
        child.opens("/")
    arrived = [child.posts("/", {"code": child.code}).request.path for child in children]
    assert arrived == ["/welcome"] * 90


def test_another_site_cannot_end_a_childs_session(app, child):
    child.tells(worries="still mine")
    response = child.client.get("/leave", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303
    assert child.client.get("/leave").status_code == 303  # an old browser, no token
    assert child.leaves_quickly(**{"Sec-Fetch-Site": "cross-site"}).status_code == 303
    assert count(app, Draft) == 1
    child.opens("/check")
    assert "still mine" in child.sees
    child.leaves_quickly(**{"Sec-Fetch-Site": "same-origin"})
    assert count(app, Draft) == 0


def test_a_link_prefetcher_does_not_end_a_childs_session(app, child):
    child.tells(worries="still mine")
    for header in ({"Sec-Purpose": "prefetch"}, {"Purpose": "prefetch"},
                   {"Sec-Purpose": "prefetch;prerender"}):
        assert child.leaves_quickly(**header).status_code == 303
    assert count(app, Draft) == 1
    child.opens("/check")
    assert child.leaves_quickly().status_code == 303  # the child's own press (no headers)
    assert count(app, Draft) == 0


def test_a_link_to_another_invite_asks_before_dropping_unsent_answers(app, child,
                                                                      another_child):
    child.tells(worries="not sent yet")
    page = child.opens_invite(another_child.code)
    assert "You have answers you have not sent yet" in child.sees
    assert count(app, Draft) == 1
    child.opens("/check")
    assert "not sent yet" in child.sees
    child.opens_invite(another_child.code)
    child.posts("/", {"code": another_child.code, "switch": "1"})  # "Use the new code"
    assert child.page.request.path == "/welcome"
    assert count(app, Draft) == 0
    assert page.status_code == 200


def test_typing_a_different_code_asks_before_dropping_unsent_answers(app, child,
                                                                     another_child):
    child.tells(worries="not sent yet")
    child.types_code(another_child.code)
    assert "You have answers you have not sent yet" in child.sees
    assert count(app, Draft) == 1
    child.opens("/check")
    assert "not sent yet" in child.sees


def test_every_first_opening_of_a_file_is_audited_whatever_the_range(app, demo, child):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    chair, url = sent_attachment_url(app, demo, child)
    chair.client.get(url, headers={"Range": "bytes=1-"})
    chair.client.get(url, headers={"Range": "bytes=-10"})
    chair.client.get(url)
    assert audit_actions(app).count("attachment.opened") == 1
    other_session = Chair(app.test_client(), demo["chair"])
    other_session.signs_in_and_unlocks()
    other_session.client.get(url, headers={"Range": "bytes=-10"})
    assert audit_actions(app).count("attachment.opened") == 2
    assert uuid.UUID(url.rsplit("/", 1)[1])


def test_a_cookie_planted_before_the_child_opens_their_invite_reads_nothing(app, child):
    """Session fixation: an adult opens the invite on the child's phone (or sets its cookie),
    hands it over, and later comes back with the cookie they kept."""
    adult = Child(app.test_client(), child.code)
    adult.opens_invite()
    planted = adult.client.get_cookie("voiceapp").value
    child.client.set_cookie("voiceapp", planted)
    child.opens_invite()
    assert child.client.get_cookie("voiceapp").value != planted
    child.starts()
    child.answers("/worries", text="what the child wrote afterwards")
    child.opens_invite()  # every opening gives a new token; the draft moves with the child
    child.opens("/check")
    assert "what the child wrote afterwards" in child.sees
    assert adult.client.get("/check").status_code == 302


def test_someone_else_holding_the_code_is_not_shown_the_sent_page(app, child):
    staff_the_other_service(app)
    child.tells(worries="sent from my phone", helper="service:2")
    child.sends()
    assert "Example Advocacy Service" in child.sees
    other = Child(app.test_client(), child.code)
    other.opens_invite()
    response = other.client.get("/sent")
    assert response.status_code == 302 and response.headers["Location"] == "/welcome"


def test_a_link_to_another_invite_asks_even_with_nothing_unsent(app, child, another_child):
    child.opens_invite()
    child.opens_invite(another_child.code)
    assert "You opened a new code" in child.sees
    child.opens("/welcome")
    assert child.page.status_code == 200
    child.posts("/", {"code": another_child.code, "switch": "1"})
    assert child.page.request.path == "/welcome"


def test_query_parameters_never_become_part_of_the_pages_own_addresses(app, client):
    """Language links and form addresses keep the page's path: a parameter cannot turn them
    into another host's address, another scheme or a crash."""
    assert client.get("/?endpoint=1").status_code == 200
    page = client.get("/?_external=1", headers={"Host": "evil.example"})
    assert "evil.example" not in page.get_data(as_text=True)
    assert 'href="/?_external=1&amp;lang=cy"' in page.get_data(as_text=True)
    for hostile in ("_scheme=https", "_anchor=x", "_method=POST", "endpoint=x"):
        body = client.get(f"/leaving-quickly?{hostile}").get_data(as_text=True)
        links = re.findall(r'href="([^"]*)" lang=', body)  # the language links
        assert links and all(link.startswith(f"/leaving-quickly?{hostile}&amp;lang=")
                             for link in links), links


def test_numbers_too_big_for_the_database_are_not_found(app, coordinator, chair):
    coordinator.signs_in()
    huge = "9" * 25
    for path in (f"/admin/conferences/{huge}", f"/admin/invites/{huge}/card",
                 f"/admin/services/{huge}"):
        assert coordinator.opens(path).status_code == 404, path
    assert coordinator.opens(f"/admin/audit?page={huge}").status_code == 200
    assert coordinator.opens(f"/admin/notifications?page={huge}").status_code == 200
    chair.signs_in()
    assert chair.opens(f"/chair/conferences/{huge}").status_code == 404
