"""Advocates: the children who chose them or were assigned, what they may read, and
views recorded on a child's behalf."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from voiceapp.models import Invite, Submission

from .conftest import add_staff, staff_the_other_service
from .evidence import audit_actions, change_as_voiceapp, raw_database_contains
from .people import Advocate

SHARED = "words-the-child-shared-8080"


def invite_id_of(app, code: str) -> int:
    from voiceapp.invites import code_lookup
    with app.test_request_context():
        from voiceapp.db import db
        return db.scalar(select(Invite.id).where(Invite.code_lookup == code_lookup(code)))


def submission_ids(app) -> list[str]:
    with app.app_context():
        from voiceapp.db import db
        return [str(s) for s in db.scalars(select(Submission.id).order_by(Submission.created_at))]


def test_a_child_who_chose_the_service_and_shared_is_readable(app, child, advocate):
    child.tells(worries=SHARED, helper="service:1", share_service="yes")
    child.sends()
    advocate.signs_in_and_unlocks()
    dashboard = advocate.opens_dashboard()
    assert "CP-DEMO-0001" in advocate.sees
    assert SHARED not in dashboard.get_data(as_text=True)  # a request, without their words
    invite_id = invite_id_of(app, child.code)
    page = advocate.opens(f"/advocate/children/{invite_id}")
    link = re.search(r'href="(/advocate/submissions/[^"]+)"', page.get_data(as_text=True))
    advocate.opens(link.group(1))
    assert SHARED in advocate.sees
    assert "submission.opened" in audit_actions(app)


def test_a_child_who_did_not_allow_sharing_stays_unreadable(app, child, advocate):
    child.tells(worries="not for the advocate", helper="service:1", share_service="no")
    child.sends()
    [submission] = submission_ids(app)
    advocate.signs_in_and_unlocks()
    advocate.opens_dashboard()
    assert "CP-DEMO-0001" in advocate.sees  # they still see the request for help
    page = advocate.opens(f"/advocate/children/{invite_id_of(app, child.code)}")
    assert "Not shared with you." in advocate.sees
    assert "/advocate/submissions/" not in page.get_data(as_text=True)
    response = advocate.client.get(f"/advocate/submissions/{submission}")
    assert response.status_code == 404
    assert "not for the advocate" not in response.get_data(as_text=True)
    with app.app_context():
        from voiceapp.db import db
        assert len(db.get(Submission, uuid.UUID(submission)).wrapped_keys) == 2


def test_an_advocate_never_sees_children_who_did_not_choose_them(app, child, another_child,
                                                                 advocate):
    child.tells(worries="chose myself", helper="myself")
    child.sends()
    staff_the_other_service(app)
    another_child.tells(worries="chose the other service", helper="service:2",
                        share_service="yes")
    another_child.sends()
    advocate.signs_in_and_unlocks()
    advocate.opens_dashboard()
    assert "No children have asked for you yet." in advocate.sees
    for code in (child.code, another_child.code):
        assert advocate.client.get(
            f"/advocate/children/{invite_id_of(app, code)}").status_code == 404
    for submission in submission_ids(app):
        assert advocate.client.get(f"/advocate/submissions/{submission}").status_code == 404


def test_an_assigned_advocate_sees_the_child_before_anything_is_sent(app, child, advocate):
    change_as_voiceapp(app, Invite, Invite.id == invite_id_of(app, child.code),
                       assigned_advocate_id=2)
    advocate.signs_in()
    advocate.opens_dashboard()
    assert "Assigned to you" in advocate.sees and "Not yet" in advocate.sees


def test_an_advocate_of_another_service_sees_nothing(app, child, demo):
    account = add_staff(app, "advocate", "other.advocate@example.org",
                        "another advocate phrase", service_id=2)
    other = Advocate(app.test_client(), account)
    child.tells(worries=SHARED, helper="service:1", share_service="yes")
    child.sends()
    other.signs_in_and_unlocks()
    other.opens_dashboard()
    assert "No children have asked for you yet." in other.sees
    [submission] = submission_ids(app)
    assert other.client.get(f"/advocate/submissions/{submission}").status_code == 404


def test_an_advocate_reads_back_what_they_sent_only_if_the_child_agreed(app, child, advocate,
                                                                        chair):
    change_as_voiceapp(app, Invite, assigned_advocate_id=2)
    invite_id = invite_id_of(app, child.code)
    advocate.signs_in_and_unlocks()
    advocate.records_views(invite_id, worries="kept between the child and the chair")
    [submission] = submission_ids(app)
    assert advocate.client.get(f"/advocate/submissions/{submission}").status_code == 404
    with app.app_context():
        from voiceapp.db import db
        assert len(db.get(Submission, uuid.UUID(submission)).wrapped_keys) == 2  # chair, recovery
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    assert "kept between the child and the chair" in chair.sees


def test_views_recorded_on_behalf_reach_the_chair_as_from_an_advocate(app, child, advocate,
                                                                      chair):
    change_as_voiceapp(app, Invite, assigned_advocate_id=2)
    invite_id = invite_id_of(app, child.code)
    advocate.signs_in_and_unlocks()
    page = advocate.records_views(invite_id, worries="In their words: the shouting",
                                  summary="My summary: needs a quiet place", safety="4",
                                  gathered="video", advocate_may_read="y")
    assert page.request.path == f"/advocate/children/{invite_id}"
    assert "Sent to the chair" in advocate.sees
    [submission] = submission_ids(app)
    advocate.opens(f"/advocate/submissions/{submission}")  # they can read back what they sent
    assert "In their words: the shouting" in advocate.sees
    chair.signs_in_and_unlocks()
    chair.opens_submission(submission)
    text = chair.sees
    assert "From an advocate, for the child" in text
    assert "The child's own words" in text and "In their words: the shouting" in text
    assert "The advocate's summary" in text and "My summary: needs a quiet place" in text
    assert text.index("In their words") < text.index("My summary")
    assert "On a video call" in text and "What is the child worried about?" in text
    assert not raw_database_contains(app, b"needs a quiet place")


def test_views_need_the_childs_agreement_and_how_they_were_gathered(app, child, advocate):
    change_as_voiceapp(app, Invite, assigned_advocate_id=2)
    advocate.signs_in()
    page = advocate.records_views(invite_id_of(app, child.code), worries="kept",
                                  child_agreed="", gathered="")
    assert page.status_code == 400
    assert "Only send what the child has agreed to" in advocate.sees
    assert "Say how you gathered the views" in advocate.sees
    assert "kept" in page.get_data(as_text=True)
    assert submission_ids(app) == []


def test_recording_views_twice_with_the_same_form_sends_once(app, child, advocate):
    change_as_voiceapp(app, Invite, assigned_advocate_id=2)
    invite_id = invite_id_of(app, child.code)
    advocate.signs_in()
    advocate.opens(f"/advocate/children/{invite_id}/record")
    token = re.search(r'name="token"[^>]*value="([^"]+)"',
                      advocate.page.get_data(as_text=True)).group(1)
    data = {"csrf_token": advocate.csrf_token(), "token": token, "gathered": "phone",
            "child_agreed": "y", "worries": "once"}
    for _ in range(2):
        advocate.client.post(f"/advocate/children/{invite_id}/record", data=data)
    assert len(submission_ids(app)) == 1


@pytest.mark.parametrize("role", ["chair", "coordinator"])
def test_other_roles_cannot_use_advocate_pages(app, child, role, request):
    child.tells(worries=SHARED, helper="service:1", share_service="yes")
    child.sends()
    [submission] = submission_ids(app)
    person = request.getfixturevalue(role)
    person.signs_in()
    invite_id = invite_id_of(app, child.code)
    for path in ("/advocate/", f"/advocate/children/{invite_id}",
                 f"/advocate/submissions/{submission}",
                 f"/advocate/children/{invite_id}/record"):
        assert person.client.get(path).status_code == 403, path


def test_signed_out_people_cannot_use_advocate_pages(app, demo):
    for path in ("/advocate/", "/advocate/children/1", f"/advocate/submissions/{uuid.uuid4()}"):
        assert app.test_client().get(path).headers["Location"] == "/staff/sign-in"


def test_an_empty_record_is_not_sent(app, child, advocate):
    change_as_voiceapp(app, Invite, assigned_advocate_id=2)
    advocate.signs_in()
    page = advocate.records_views(invite_id_of(app, child.code))
    assert page.status_code == 400
    assert "Write the child's words or your summary before sending" in advocate.sees
    assert submission_ids(app) == []
