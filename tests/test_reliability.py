"""Nothing a child writes is lost: many children sending at once, a commit that fails
half-way, and fuzzed forms that must never crash a page."""

from __future__ import annotations

import string
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from voiceapp.models import Submission

from .evidence import count, more_invites
from .people import Child




def test_many_children_sending_at_once_each_make_one_submission(app, demo):
    children = [Child(app.test_client(), code) for code in more_invites(app, 8)]
    for n, child in enumerate(children):
        child.tells(worries=f"child number {n}")
        child.opens("/check")
    forms = [{"csrf_token": c.csrf_token(), "token": c.send_token()} for c in children]
    results: list[int] = []
    barrier = threading.Barrier(len(children) * 2)

    def send(child: Child, form: dict) -> None:
        barrier.wait()
        results.append(child.client.post("/send", data=form).status_code)

    threads = [threading.Thread(target=send, args=(c, f)) for c, f in zip(children, forms)
               for _ in range(2)]  # and every child taps Send twice
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(302) == len(threads)
    assert count(app, Submission) == len(children)
    for n, child in enumerate(children):  # what was sent left the draft
        child.opens("/check")
        assert f"child number {n}" not in child.sees


def test_a_commit_that_fails_half_way_keeps_the_draft(app, child):
    child.tells(worries="please keep this safe")

    def fail(session: Session) -> None:
        if any(isinstance(o, Submission) for o in session):
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(Session, "before_commit", fail)
    try:
        page = child.sends()
    finally:
        event.remove(Session, "before_commit", fail)
    assert page.status_code == 503
    assert "Your answers have not been sent yet" in child.sees
    assert count(app, Submission) == 0
    child.opens("/check")
    assert "please keep this safe" in child.sees
    assert child.sends().request.path == "/sent"
    assert count(app, Submission) == 1


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
VALUES = st.one_of(TEXT, st.sampled_from(["", "0", "10", "-1", "11", "declined", "yes",
                                          "service:1", "service:999", "service:x",
                                          "someone_else", "\x00", "%s%n", "<script>"]))
FIELDS = st.sampled_from(["text", "feelings", "topics", "score", "helper", "someone_name",
                          "attend", "share_service", "share_advocate", "share_parents",
                          "mode", "token", "read_aloud", "code", "remove", "keep", "switch"])
PAGES = ["/welcome", "/how", "/going-well", "/worries", "/hopes", "/safe", "/help",
         "/meeting", "/sharing", "/send", "/"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page=st.sampled_from(PAGES), form=st.dictionaries(FIELDS, VALUES, max_size=6))
def test_fuzzed_child_forms_never_crash(child, page, form):
    if not child.client.get_cookie("voiceapp"):
        child.opens_invite()
        child.starts()
    child.opens("/")
    response = child.client.post(page, data={"csrf_token": child.csrf_token(), **form})
    assert response.status_code < 500, (page, form)
    assert "Traceback" not in response.get_data(as_text=True)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=string.ascii_letters + string.digits + "-_%.", min_size=1,
                    max_size=40))
def test_fuzzed_codes_and_links_never_crash(app, demo, path):
    client = app.test_client()
    for url in (f"/i/{path}", f"/staff/welcome/{path}", f"/chair/submissions/{path}"):
        response = client.get(url, environ_base={"REMOTE_ADDR": f"10.1.{len(path)}.1"})
        assert response.status_code < 500, url


@pytest.mark.parametrize("path", ["/going-well", "/staff/sign-in", "/admin/settings"])
def test_non_form_bodies_get_a_kind_answer(app, demo, path):
    client = app.test_client()
    for body, kind in ((b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
                       (b"{\"json\": true}", "application/json"),
                       (b"--x\r\nbroken", "multipart/form-data; boundary=x")):
        response = client.post(path, data=body, content_type=kind)
        assert response.status_code in (302, 400), (path, kind)


def test_after_sending_the_check_page_never_offers_to_send_nothing_again(app, child):
    """Back to the check page after "sent" (or after the sent page failed to load): it goes
    to the sent page, and a Send pressed again makes no second, empty submission."""
    child.tells(worries="sent once")
    child.sends()
    assert count(app, Submission) == 1
    page = child.opens("/check")
    assert page.status_code == 302 and page.headers["Location"].endswith("/sent")
    child.opens("/sent")
    child.posts("/send", {"token": "anything"})
    assert child.page.request.path == "/sent"
    assert count(app, Submission) == 1
    child.answers("/worries", text="one more thing")  # answering again is adding
    child.sends()
    assert count(app, Submission) == 2
