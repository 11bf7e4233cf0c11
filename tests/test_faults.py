"""Faults and bad input: a child is never told something untrue about what was saved or
sent, and nothing already saved is lost.

Redis unreachable, the database failing mid-request (or its connections cut), a full disk
while a file arrives, a file sent where words were expected, a flood of words in one field.
"""

from __future__ import annotations

import errno
import io
import tempfile

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError

from voiceapp import attachments

from .conftest import make_app
from .evidence import count
from .people import Child, visible_text
from .test_attachments import VOICE, started
from .test_scale_out import closed_port


def failing(app, when):
    """Make the database fail for statements that ``when(statement)`` picks."""
    engine = app.extensions["voiceapp.db"].engine

    def fail(_connection, _cursor, statement, *_args) -> None:
        if when(statement):
            raise OperationalError(statement, {}, Exception("server closed the connection"))

    event.listen(engine, "before_cursor_execute", fail)
    return lambda: event.remove(engine, "before_cursor_execute", fail)


def test_a_sent_page_that_fails_to_load_never_says_it_was_not_sent(app, child):
    child.tells(worries="safely stored")
    assert child.sends(follow=False).status_code == 302
    stop = failing(app, lambda sql: "FROM submission" in sql)
    try:
        page = child.opens("/sent")
    finally:
        stop()
    assert page.status_code == 503
    assert "Nothing you saved before is lost" in child.sees
    assert "not been sent" not in child.sees and "deleted" not in child.sees
    assert "Thank you. You have sent your views." in visible_text(child.opens("/sent"))


def test_a_session_that_cannot_be_read_is_a_kind_wait_never_a_new_session(app, child):
    child.tells(worries="still here after the outage")
    cookie = child.client.get_cookie("voiceapp").value
    stop = failing(app, lambda sql: "FROM web_session" in sql)
    try:
        page = child.opens("/check")
    finally:
        stop()
    assert page.status_code == 503
    assert "Nothing you saved before is lost" in child.sees
    assert "Set-Cookie" not in page.headers
    assert child.client.get_cookie("voiceapp").value == cookie
    child.opens("/check")
    assert "still here after the outage" in child.sees


def test_with_redis_down_a_voice_note_and_the_words_with_it_are_saved(database_url, tmp_path,
                                                                      demo):
    app = make_app(database_url, tmp_path / "no-redis",
                   redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    child = started(Child(app.test_client(), demo["invites"][0]["code"]))
    page = child.adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm",
                           text="typed with Redis down")
    assert page.status_code == 200
    child.opens("/check")
    assert "typed with Redis down" in child.sees and "Voice note" in child.sees


def test_the_31st_file_in_an_hour_is_refused_but_the_words_are_saved(app, child):
    started(child)
    for _ in range(30):
        child.adds_file("/worries", "voice", b"not audio", "v.webm", "audio/webm")
    page = child.adds_file("/worries", "voice", VOICE, "v.webm", "audio/webm",
                           text="typed with the 31st file")
    assert page.status_code == 400
    assert "You have added a lot of files today" in child.sees
    child.opens("/check")
    assert "typed with the 31st file" in child.sees


@pytest.mark.parametrize("path,field", [("/worries", "text"), ("/help", "someone_name"),
                                        ("/", "code")])
def test_a_file_sent_as_a_text_field_is_not_a_crash(app, child, path, field):
    started(child)
    child.opens(path)
    response = child.client.post(path, data={"csrf_token": child.csrf_token(),
                                             field: (io.BytesIO(b"surprise"), "x.txt")},
                                 content_type="multipart/form-data")
    assert response.status_code in (200, 302, 400)
    assert "Traceback" not in response.get_data(as_text=True)


class FullDisk(io.RawIOBase):
    """A temporary file on a disk that fills after a few kilobytes."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.written += len(data)
        if self.written > 20_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)


def test_a_full_upload_folder_refuses_the_file_and_keeps_the_words(app, child, monkeypatch):
    started(child)
    monkeypatch.setattr(attachments.tempfile, "TemporaryFile", FullDisk)
    page = child.adds_file("/worries", "voice", VOICE * 10, "voice.webm", "audio/webm",
                           text="typed while the disk was full")
    monkeypatch.setattr(attachments.tempfile, "TemporaryFile", tempfile.TemporaryFile)
    assert page.status_code == 400
    assert "We could not take that file just now" in child.sees
    child.opens("/check")
    assert "typed while the disk was full" in child.sees


def test_a_flood_in_one_field_gets_too_big_not_an_echo(app, child):
    started(child)
    child.opens("/worries")
    flood = "x" * (10 * 1024 * 1024)
    response = child.client.post("/worries", data={"csrf_token": child.csrf_token(),
                                                   "text": flood})
    assert response.status_code == 413
    assert "That was too big" in visible_text(response)
    assert len(response.get_data()) < 20_000


@pytest.mark.postgres
def test_connections_cut_by_the_database_lose_nothing(app, child):
    engine = app.extensions["voiceapp.db"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL")
    child.tells(worries="before the cut")
    admin = create_engine(str(engine.url.set(database="postgres")))
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :name AND pid <> pg_backend_pid()"),
                           {"name": engine.url.database})
    admin.dispose()
    assert child.sends().request.path == "/sent"
    assert "Thank you. You have sent your views." in child.sees
    from voiceapp.models import Submission
    assert count(app, Submission) == 1


def test_a_send_stored_just_before_the_connection_dropped_says_sent(app, child):
    """The commit reached the database, then the connection went: the child is told the
    truth (sent), not "not sent"."""
    from sqlalchemy.orm import Session

    from voiceapp.models import Submission

    def drop(session: Session) -> None:
        if any(isinstance(o, Submission) for o in session.identity_map.values()):
            raise OperationalError("COMMIT", {}, Exception("connection reset after commit"))

    child.tells(worries="stored after all")
    event.listen(Session, "after_commit", drop)
    try:
        page = child.sends()
    finally:
        event.remove(Session, "after_commit", drop)
    assert page.request.path == "/sent"
    assert "Thank you. You have sent your views." in child.sees
    assert count(app, Submission) == 1


def test_a_send_whose_outcome_cannot_be_checked_says_so_and_press_again(app, child):
    child.tells(worries="maybe stored")
    stop = failing(app, lambda sql: "submission" in sql.lower())
    try:
        page = child.sends()
    finally:
        stop()
    assert page.status_code == 503
    assert "We could not check if your answers were sent" in child.sees
    assert "never be sent twice" in child.sees
    assert child.sends().request.path == "/sent"


def test_a_child_who_keeps_answering_never_times_out(database_url, tmp_path, demo):
    """The child's time runs from their last change, not from opening the invite."""
    from datetime import timedelta

    from voiceapp.db import utcnow
    app = make_app(database_url, tmp_path / "short", child_session_seconds=600)
    child = Child(app.test_client(), demo["invites"][0]["code"])
    child.opens_invite()
    child.starts()
    with app.app_context():
        from voiceapp.db import write_transaction
        from voiceapp.models import WebSession
        with write_transaction() as tx:  # as if the invite was opened 8 minutes ago
            for row in tx.scalars(select(WebSession)):
                row.expires_at = utcnow() + timedelta(minutes=2)
    child.answers("/worries", text="still answering")
    with app.app_context():
        from voiceapp.db import db
        from voiceapp.models import WebSession
        expires = db.scalar(select(WebSession.expires_at))
    assert expires > utcnow() + timedelta(minutes=9)


@pytest.mark.parametrize("blank", [" ", "\n", "\t", "\r\n"])
def test_a_blank_answer_is_no_answer_not_a_crash(app, child, blank):
    started(child)
    for path, field in (("/safe", "score"), ("/how", "mode"), ("/meeting", "attend")):
        assert child.answers(path, follow=False, **{field: blank}).status_code == 302, path
    child.opens("/check")
    assert child.page.status_code == 200
