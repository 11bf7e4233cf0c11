"""The chair's inbox: keys, reading, read receipts, printing, the audit log, and who is refused."""

from __future__ import annotations

import base64
import logging
import re
import uuid

import pytest
from sqlalchemy import select, update

from voiceapp import keyring
from voiceapp.models import Submission, User, WebSession

from .evidence import audit_actions, raw_database_contains
from .people import Child, visible_text

PHRASE = "my-unique-words-for-the-chair-3141"


def sent_submission(app, child: Child, **answers) -> str:
    child.tells(**({"worries": PHRASE} | answers))
    child.sends()
    with app.app_context():
        from voiceapp.db import db
        return str(db.scalars(select(Submission.id).order_by(Submission.created_at.desc()))
                   .first())


def test_the_inbox_shows_counts_but_no_content(app, chair, child):
    sent_submission(app, child, safety=1)
    chair.signs_in()
    page = chair.opens_inbox()
    assert "CP-DEMO-0001" in chair.sees
    assert "1 needs looking at soon" in chair.sees
    assert PHRASE not in page.get_data(as_text=True)
    conference = chair.opens(re.search(r'href="(/chair/conferences/\d+)"',
                                       page.get_data(as_text=True)).group(1))
    assert "The child" in chair.sees and "New" in chair.sees
    assert PHRASE not in conference.get_data(as_text=True)


def test_reading_needs_an_unlocked_key(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in()
    response = chair.client.get(f"/chair/submissions/{submission}")
    assert response.headers["Location"] == "/staff/unlock"
    chair.unlocks()
    assert chair.page.request.path == f"/chair/submissions/{submission}"
    assert PHRASE in chair.sees


def test_the_chair_reads_every_answer_in_order(app, chair, child):
    submission = sent_submission(app, child, going_well="Football", hopes="See my nan",
                                 safety=6, attend="chair_first", share_parents="some")
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    text = chair.sees
    order = ["What is going well for you? Football", f"What are you worried about? {PHRASE}",
             "What would you like to happen? See my nan", "How safe do you feel? 😐 6 / 10",
             "I'd like to meet the chair on my own first", "Some of it"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "From the child" in text and "English" in text
    assert "submission.opened" in audit_actions(app)


def test_marking_as_read_shows_the_child_a_receipt(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    chair.marks_read(submission)
    assert "Read" in chair.sees
    child.opens("/welcome")
    assert "The chair has read it." in child.sees
    assert "submission.marked-read" in audit_actions(app)


def test_recorded_in_the_minutes_starts_the_retention_clock(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    chair.posts(f"/chair/submissions/{submission}/recorded")
    with app.app_context():
        from voiceapp.db import db
        assert db.get(Submission, uuid.UUID(submission)).recorded_at is not None
    assert "submission.recorded" in audit_actions(app)


def test_a_clean_record_prints_for_one_submission_and_a_whole_conference(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    page = chair.opens(f"/chair/submissions/{submission}/print")
    assert "Child's views for conference CP-DEMO-0001" in chair.sees
    assert PHRASE in chair.sees and "Confidential" in chair.sees
    assert 'media="print"' not in page.get_data(as_text=True)  # one stylesheet, @media print
    with app.app_context():
        from voiceapp.db import db
        conference_id = db.get(Submission, uuid.UUID(submission)).conference_id
    chair.opens(f"/chair/conferences/{conference_id}/print")
    assert PHRASE in chair.sees
    assert audit_actions(app).count("submission.printed") == 2


def test_a_tampered_submission_is_reported_not_shown(app, chair, child):
    submission = sent_submission(app, child)
    with app.app_context():
        from voiceapp.db import db
        row = db.get(Submission, uuid.UUID(submission))
        tampered = bytearray(row.ciphertext)
        tampered[20] ^= 1
        db.execute(update(Submission).values(ciphertext=bytes(tampered)))
        db.commit()
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(submission)
    assert page.status_code == 200
    assert "This record has been altered" in chair.sees
    assert "Traceback" not in page.get_data(as_text=True)
    assert "integrity.altered" in audit_actions(app)


def test_rows_swapped_between_submissions_do_not_open(app, chair, child, another_child):
    first = sent_submission(app, child)
    second = sent_submission(app, another_child, worries="the other child's words")
    with app.app_context():
        from voiceapp.db import db
        a, b = (db.get(Submission, uuid.UUID(s)) for s in (first, second))
        a_text, b_text = a.ciphertext, b.ciphertext
        a.ciphertext, b.ciphertext = b_text, a_text
        db.commit()
    chair.signs_in_and_unlocks()
    chair.opens_submission(first)
    assert "This record has been altered" in chair.sees
    assert "the other child's words" not in chair.sees


# --------------------------------------------------------------------------- keys

def test_a_wrong_passphrase_is_refused_and_throttled(app, chair):
    chair.signs_in()
    for _ in range(5):
        page = chair.unlocks("not my passphrase")
        assert page.status_code == 400
        assert "That passphrase is not right" in chair.sees
    assert chair.unlocks().status_code == 429
    assert audit_actions(app).count("key.unlock-failed") == 5


def test_the_unlocked_key_is_kept_only_sealed_to_the_session(app, demo, chair):
    chair.signs_in_and_unlocks()
    with app.test_request_context():
        from voiceapp.db import db
        user = db.scalar(select(User).where(User.email == demo["chair"]["email"]))
        private = next(iter(keyring.unlock(user, demo["chair"]["passphrase"]).values()))
    assert not raw_database_contains(app, private)
    assert not raw_database_contains(app, base64.b64encode(private))
    token = chair.client.get_cookie("voiceapp").value
    assert len(token) == 43  # the cookie holds one random token, not the key


def test_signing_out_destroys_the_unlocked_key(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    with app.app_context():
        from voiceapp.db import db
        data = db.scalar(select(WebSession.data).where(WebSession.user_id.is_not(None)))
    assert data and "unlocked" not in data  # the session's data is sealed too
    chair.signs_out()
    with app.app_context():
        from voiceapp.db import db
        assert db.scalar(select(WebSession.data).where(WebSession.user_id.is_not(None))) is None
    chair.signs_in()
    assert chair.client.get(f"/chair/submissions/{submission}").headers["Location"] \
        == "/staff/unlock"


def test_locking_and_expiry_need_the_passphrase_again(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    chair.opens("/staff/account")
    chair.posts("/staff/lock")
    assert chair.client.get(f"/chair/submissions/{submission}").status_code == 302
    chair.unlocks()
    with chair.client.session_transaction() as session:
        session["unlocked_until"] = 0
    assert chair.client.get(f"/chair/submissions/{submission}").status_code == 302


def test_changing_the_passphrase_keeps_everything_readable(app, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in()
    chair.fills_in("/staff/keys/passphrase", {
        "current": chair.account["passphrase"], "passphrase": "a brand new passphrase 77",
        "confirm": "a brand new passphrase 77"})
    assert chair.page.request.path == "/staff/account"
    assert chair.unlocks().status_code == 400  # the old passphrase no longer works
    chair.unlocks("a brand new passphrase 77")
    chair.opens_submission(submission)
    assert PHRASE in chair.sees


def test_a_new_keypair_keeps_old_submissions_readable(app, chair, child, another_child):
    old = sent_submission(app, child)
    chair.signs_in()
    chair.fills_in("/staff/keys/replace", {"passphrase": chair.account["passphrase"]})
    assert "Your key has been replaced" in chair.sees
    new = sent_submission(app, another_child, worries="after the new key")
    chair.signs_out()
    chair.signs_in_and_unlocks()
    chair.opens_submission(old)
    assert PHRASE in chair.sees
    chair.opens_submission(new)
    assert "after the new key" in chair.sees
    with app.app_context():
        from voiceapp.db import db
        old_keys = {w.recipient_key_id for w in db.get(Submission, uuid.UUID(old)).wrapped_keys}
        new_keys = {w.recipient_key_id for w in db.get(Submission, uuid.UUID(new)).wrapped_keys}
    assert old_keys != new_keys and len(new_keys) == 2  # the new chair key and recovery key


# --------------------------------------------------------------------------- who is refused

def test_a_chair_cannot_see_another_chairs_conference_or_submission(app, chair, other_chair):
    child = Child(app.test_client(), other_chair.account["invite_code"])
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    assert "CP-OTHER-1" not in visible_text(chair.opens_inbox())
    conference = other_chair.account["conference_id"]
    for path in (f"/chair/conferences/{conference}", f"/chair/conferences/{conference}/print",
                 f"/chair/submissions/{submission}", f"/chair/submissions/{submission}/print"):
        assert chair.client.get(path).status_code == 404, path
    for path in (f"/chair/submissions/{submission}/read",
                 f"/chair/submissions/{submission}/recorded"):
        chair.opens("/chair/")
        assert chair.client.post(path, data={"csrf_token": chair.csrf_token()}).status_code == 404
    assert chair.client.get(f"/chair/submissions/{uuid.uuid4()}").status_code == 404
    assert chair.client.get("/chair/conferences/99999").status_code == 404


def test_the_other_chair_reads_their_own(app, other_chair):
    child = Child(app.test_client(), other_chair.account["invite_code"])
    submission = sent_submission(app, child)
    other_chair.signs_in_and_unlocks()
    other_chair.opens_submission(submission)
    assert PHRASE in other_chair.sees


CHAIR_PAGES = ["/chair/", "/chair/conferences/1", "/chair/submissions/{s}",
               "/chair/submissions/{s}/print", "/chair/conferences/1/print"]


@pytest.mark.parametrize("role", ["advocate", "coordinator"])
def test_advocates_and_coordinators_cannot_open_a_childs_submission(app, demo, child, role,
                                                                    request):
    submission = sent_submission(app, child)
    person = request.getfixturevalue(role)
    person.signs_in()
    for path in CHAIR_PAGES:
        response = person.client.get(path.format(s=submission))
        assert response.status_code == 403, path
        assert PHRASE not in response.get_data(as_text=True)


def test_signed_out_people_are_sent_to_sign_in(app, child):
    submission = sent_submission(app, child)
    client = app.test_client()
    for path in CHAIR_PAGES:
        response = client.get(path.format(s=submission))
        assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in"
    for path in (f"/chair/submissions/{submission}/read",):
        assert client.post(path).status_code == 400  # no CSRF token: refused before anything


# --------------------------------------------------------------------------- nothing leaks

def test_no_log_line_error_page_or_list_contains_what_a_child_wrote(app, chair, child, caplog):
    with caplog.at_level(logging.DEBUG):
        submission = sent_submission(app, child)
        chair.signs_in_and_unlocks()
        pages = [chair.opens_inbox(), chair.opens("/chair/conferences/1"),
                 chair.opens("/chair/no-such-page"), chair.opens("/staff/account")]
        chair.opens_submission(submission)
        assert PHRASE in chair.sees
        chair.posts(f"/chair/submissions/{submission}/read")
        chair.signs_out()
    assert PHRASE not in caplog.text
    for page in pages:
        assert PHRASE not in page.get_data(as_text=True)
    assert not raw_database_contains(app, PHRASE.encode())


def test_the_audit_chain_verifies_and_an_edit_is_caught(app, runner, chair, child):
    submission = sent_submission(app, child)
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "intact" in result.output
    with app.app_context():
        from voiceapp.db import db
        from voiceapp.models import AuditEvent
        db.execute(update(AuditEvent).where(AuditEvent.action == "submission.opened")
                   .values(actor="chair:999"))
        db.commit()
    broken = runner.invoke(args=["audit-verify"])
    assert broken.exit_code != 0 and "changed" in broken.output
