"""Nothing a child was told is saved is lost when things happen at once, and one slow request
never holds up everyone else.

- Two tabs of the same child save different pages at the same moment: both answers stay.
- A send in one tab while another tab saves: the saved answer is in the submission or in the
  draft, never in neither.
- On SQLite, the write lock is never held while a request body arrives, while an upload is
  checked, or while Argon2 runs.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from voiceapp import crypto, keyring, media
from voiceapp.models import Submission, User
from voiceapp.submissions import open_submission

from .evidence import count
from .live import LiveServer
from .people import Child, visible_text

ROUNDS = 12


def tabs(app, child: Child) -> tuple[Child, Child]:
    """Two tabs: two clients sharing the child's cookie."""
    second = Child(app.test_client(), child.code)
    second.client.set_cookie("voiceapp", child.client.get_cookie("voiceapp").value)
    return child, second


def together(*actions) -> list:
    """Run the actions at the same moment, in threads; their results, in order."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int, action) -> None:
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def form_post(person: Child, path: str, **fields):
    person.opens(path)
    token = person.csrf_token()
    return lambda: person.client.post(path, data={"csrf_token": token, **fields})


def test_two_tabs_saving_different_pages_at_once_keep_both_answers(app, child):
    child.opens_invite()
    child.starts()
    one, two = tabs(app, child)
    for n in range(ROUNDS):
        saved = together(form_post(one, "/worries", text=f"worry {n}"),
                         form_post(two, "/hopes", text=f"hope {n}"))
        assert [r.status_code for r in saved] == [302, 302]
        one.opens("/check")
        assert f"worry {n}" in one.sees and f"hope {n}" in one.sees, n


def test_two_tabs_starting_at_once_make_one_draft_with_both_answers(app, child):
    child.opens_invite()  # a session, but no draft yet
    one, two = tabs(app, child)
    together(form_post(one, "/worries", text="from the first tab"),
             form_post(two, "/hopes", text="from the second tab"))
    one.opens("/check")
    assert "from the first tab" in one.sees and "from the second tab" in one.sees


def test_a_send_in_one_tab_while_saving_in_another_loses_nothing(app, demo, child):
    """Whichever comes first, every answer that was saved ends up sent or still in the
    draft: the send takes exactly the draft the check page showed, or asks again."""
    child.tells()
    one, two = tabs(app, child)
    for n in range(ROUNDS // 2):
        one.answers("/worries", text=f"sent words {n}")
        one.opens("/check")
        token, csrf = one.send_token(), one.csrf_token()
        together(lambda: one.client.post("/send", data={"csrf_token": csrf, "token": token}),
                 form_post(two, "/hopes", text=f"saved at the same moment {n}"))
        two.opens("/check")
        kept = two.sees + " ".join(sent_texts(app, demo))
        assert f"sent words {n}" in kept and f"saved at the same moment {n}" in kept, n


def sent_texts(app, demo) -> list[str]:
    with app.test_request_context():
        from voiceapp.db import db
        chair = db.scalar(select(User).where(User.email == demo["chair"]["email"]))
        keys = keyring.unlock(chair, demo["chair"]["passphrase"])
        return [open_submission(s, keys)["answers"][house]["text"]
                for s in db.scalars(select(Submission)) for house in ("worries", "hopes")]


def test_a_second_tab_keeps_its_session_changes(app, child):
    """A change to the session in one tab (the language) and a save in another (words or
    pictures) both stay: the session row merges, it is not overwritten."""
    child.opens_invite()
    child.starts()
    one, two = tabs(app, child)
    two.opens("/how")
    token = two.csrf_token()
    together(lambda: one.client.get("/how?lang=cy"),
             lambda: two.client.post("/how", data={"csrf_token": token, "mode": "pictures"}))
    one.opens("/how")
    assert 'lang="cy"' in one.page.get_data(as_text=True)
    assert 'value="pictures" checked' in one.page.get_data(as_text=True)


# --------------------------------------------------------------------------- the write lock

def sqlite_path(app) -> str:
    engine = app.extensions["voiceapp.db"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    return engine.url.database


def write_lock_is_free(path: str) -> bool:
    """Whether another process could start writing right now."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_argon2_runs_without_the_write_lock(app, chair, monkeypatch):
    path = sqlite_path(app)
    seen: list[bool] = []
    real = crypto._kek

    def watched(*args, **kwargs):
        seen.append(write_lock_is_free(path))
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto, "_kek", watched)
    chair.signs_in_and_unlocks()
    assert seen and all(seen)


def test_an_upload_is_checked_without_the_write_lock(app, child, monkeypatch):
    path = sqlite_path(app)
    seen: list[bool] = []
    real = media.inspect

    def watched(*args, **kwargs):
        seen.append(write_lock_is_free(path))
        return real(*args, **kwargs)

    monkeypatch.setattr(media, "inspect", watched)
    child.opens_invite()
    child.starts()
    from .test_attachments import VOICE
    child.adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm", text="typed")
    assert seen == [True]


def slow_post(url: str, path: str, cookie: str, body: bytes, content_type: str,
              finished: threading.Event, pieces: int = 40, pause: float = 0.05) -> None:
    """A phone on a bad connection: the request body arrives in small pieces."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                            f"Cookie: {cookie}\r\nContent-Type: {content_type}\r\n"
                            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
                           .encode())
        size = -(-len(body) // pieces)
        for start in range(0, len(body), size):
            connection.sendall(body[start:start + size])
            time.sleep(pause)
        finished.set()
        connection.recv(1024)


@pytest.mark.parametrize("with_session", [True, False], ids=["a-child", "any-cookie"])
def test_a_slow_upload_does_not_hold_up_another_childs_send(app, demo, tmp_path,
                                                           with_session):
    sqlite_path(app)
    server = LiveServer(app)
    try:
        slow = Child(app.test_client(), demo["invites"][0]["code"])
        if with_session:
            slow.opens_invite()
            slow.starts()
            cookie = f"voiceapp={slow.client.get_cookie('voiceapp').value}"
        else:
            cookie = "voiceapp=" + "x" * 43  # no real session behind it
        other = Child(app.test_client(), demo["invites"][1]["code"])
        other.tells(worries="sent while someone else uploads")
        other.opens("/check")
        form = {"csrf_token": other.csrf_token(), "token": other.send_token()}
        body = (b"--b\r\nContent-Disposition: form-data; name=\"voice\"; filename=\"v.webm\""
                b"\r\nContent-Type: audio/webm\r\n\r\n" + b"\x00" * 2_000_000
                + b"\r\n--b--\r\n")
        upload_done = threading.Event()
        uploading = threading.Thread(target=slow_post, args=(
            server.url, "/worries", cookie, body, "multipart/form-data; boundary=b",
            upload_done))
        uploading.start()
        time.sleep(0.3)  # the upload is under way
        sent = other.client.post("/send", data=form)
        sent_while_uploading = not upload_done.is_set()
        uploading.join()
        assert sent.status_code == 302
        assert sent_while_uploading, "the send waited for the slow upload to finish"
        assert count(app, Submission) == 1
    finally:
        server.stop()


def test_pages_and_saves_take_no_lock_while_reading(app, child):
    """Reading a page runs without a transaction: a writer elsewhere never waits for it."""
    path = sqlite_path(app)
    child.opens_invite()
    child.starts()
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # someone else is writing
    try:
        page = child.opens("/worries")
        assert page.status_code == 200
        assert "What are you worried about?" in visible_text(page)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_save_racing_a_second_tab_that_reopens_the_code_is_never_silently_lost(app, child):
    """Opening the code again gives the session a new token: a save still on its way from
    the old one is told it was not saved (never "saved" and gone)."""
    child.tells(worries="kept before")
    one, two = tabs(app, child)
    for n in range(ROUNDS // 2):
        save = form_post(one, "/hopes", text=f"racing hope {n}")
        results = together(save, lambda: two.client.get(f"/i/{child.code}"))
        one.client.set_cookie("voiceapp", two.client.get_cookie("voiceapp").value)
        two.opens("/check")
        if results[0].status_code == 302:  # told saved: it must be there
            assert f"racing hope {n}" in two.sees, n
        elif results[0].status_code == 409:  # its session was found, then the draft had moved
            assert "What you just wrote on this page was not saved" in visible_text(
                results[0])
        else:  # the old session had already gone: its form's token with it
            assert results[0].status_code == 400
            assert "This page timed out" in visible_text(results[0])
        assert "kept before" in two.sees


def test_two_tabs_loading_their_first_pages_at_once_can_both_save(app, child):
    child.opens_invite()
    one, two = tabs(app, child)
    pages = together(lambda: one.client.get("/worries"), lambda: two.client.get("/hopes"))
    tokens = [re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
              for page in pages]
    saved = together(
        lambda: one.client.post("/worries", data={"csrf_token": tokens[0], "text": "w"}),
        lambda: two.client.post("/hopes", data={"csrf_token": tokens[1], "text": "h"}))
    assert [r.status_code for r in saved] == [302, 302]


def test_two_people_sending_with_one_code_each_see_their_own_sent_page(app, child):
    """Two phones with the same code (a child and a worker beside them, say) both send: each
    sees "sent", not the start, though the other's sending came after theirs."""
    first, second = child, Child(app.test_client(), child.code)
    for person, words in ((first, "sent from the first phone"), (second, "and the second")):
        person.opens_invite()
        person.tells(worries=words)
    first.opens("/check")
    first_send = first.posts("/send", {"token": first.send_token()}, follow=False)
    assert second.sends().request.path == "/sent"
    assert first.client.get(first_send.location).status_code == 200  # still its own page
    assert "Thank you. You have sent your views." in visible_text(
        first.client.get("/sent"))
