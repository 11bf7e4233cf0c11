"""Files made to hurt: they are refused quickly and kindly, the words typed with them are
kept, and nobody else waits (the checks run in a child process with hard limits)."""

from __future__ import annotations

import struct
import threading
import time
import urllib.request
import zlib

import pytest
from sqlalchemy import func, select, update

from voiceapp import media
from voiceapp.models import AttachmentChunk

from .evidence import audit_actions, change_as_attacker, count, newest_submission
from .live import LiveServer
from .people import Chair, Child
from .test_attachments import VOICE, started


def empty_webm(megabytes: int = 24) -> bytes:
    """A WebM header, then millions of empty (Void) elements."""
    header = bytes.fromhex("1a45dfa3") + bytes([0x9F]) + b"\x42\x82\x84webm" + b"\x00" * 23
    segment = bytes.fromhex("18538067") + b"\x01" + b"\xff" * 7
    return header + segment + b"\xec\x80" * (megabytes * 1024 * 1024 // 2)


def atom_mp4(atoms: int = 3_000_000) -> bytes:
    """An M4A of millions of empty atoms."""
    return struct.pack(">I4s4sI", 16, b"ftyp", b"M4A ", 0) + struct.pack(">I4s", 8, b"free") \
        * atoms


def png_bomb(side: int = 5400) -> bytes:
    """About 30 KB that decodes to 29 million pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixels = zlib.compress(b"".join(b"\x00" * (side + 1) for _ in range(side)), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def empty_wav() -> bytes:
    """A WAV header that promises a minute of sound, and no sound at all."""
    return (b"RIFF" + struct.pack("<I", 36 + 1_920_000) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data"
            + struct.pack("<I", 1_920_000))


@pytest.mark.parametrize("field,data,name,kind,message", [
    ("voice", empty_webm(), "v.webm", "audio/webm", "seems to be broken"),
    ("voice", atom_mp4(), "v.m4a", "audio/mp4", "seems to be broken"),
    ("voice", empty_wav(), "v.wav", "audio/wav", "seems to be broken"),
    ("photo", png_bomb(), "d.png", "image/png", "too big for us to open"),
], ids=["webm-of-empty-elements", "mp4-of-empty-atoms", "wav-with-no-sound", "png-bomb"])
def test_a_hostile_file_is_refused_kindly_and_the_words_are_kept(app, child, field, data,
                                                                 name, kind, message):
    started(child)
    page = child.adds_file("/worries", field, data, name, kind, text="my words stay")
    assert page.status_code == 400
    assert message in child.sees
    assert count(app, AttachmentChunk) == 0
    child.opens("/check")
    assert "my words stay" in child.sees


def test_a_child_process_that_runs_out_of_time_is_a_kind_refusal(monkeypatch, app, child):
    monkeypatch.setattr(media, "DEADLINE_SECONDS", 0.01)
    started(child)
    child.adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm", text="kept")
    assert "We could not check that file" in child.sees
    child.opens("/check")
    assert "kept" in child.sees


def test_health_answers_while_two_hostile_uploads_are_checked(app, demo):
    server = LiveServer(app)
    try:
        children = [Child(app.test_client(), invite["code"]) for invite in demo["invites"]]
        for child in children:
            started(child)
        done = threading.Event()

        def upload(child: Child) -> None:
            child.adds_file("/worries", "voice", empty_webm(), "v.webm", "audio/webm")

        uploads = [threading.Thread(target=upload, args=(c,)) for c in children]
        for thread in uploads:
            thread.start()
        time.sleep(0.2)
        answered = []
        while any(t.is_alive() for t in uploads) and len(answered) < 5:
            with urllib.request.urlopen(server.url + "/healthz", timeout=10) as health:
                answered.append(health.status)
        done.set()
        for thread in uploads:
            thread.join()
        assert answered and set(answered) == {200}
    finally:
        server.stop()


def test_uploads_are_limited_per_invite_as_well_as_per_session(app, child):
    started(child)
    for _ in range(30):
        child.adds_file("/worries", "voice", b"not audio", "v.webm", "audio/webm")
    child.client.delete_cookie("voiceapp")  # a fresh session on the same invite
    child.opens_invite()
    child.starts()
    for _ in range(30):
        child.adds_file("/hopes", "voice", b"not audio", "v.webm", "audio/webm")
    page = child.adds_file("/hopes", "voice", VOICE, "v.webm", "audio/webm",
                           text="typed with the 61st file")
    assert page.status_code == 400
    assert "You have added a lot of files today" in child.sees
    child.opens("/check")
    assert "typed with the 61st file" in child.sees


def test_a_changed_voice_note_is_shown_as_altered_on_the_chair_page(app, demo, child):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    child.sends()
    last = select(func.max(AttachmentChunk.seq)).scalar_subquery()
    change_as_attacker(app, update(AttachmentChunk).where(AttachmentChunk.seq == last)
                       .values(data=b"\x00" * 40))
    chair = Chair(app.test_client(), demo["chair"])
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(newest_submission(app))
    assert page.status_code == 200
    assert "This voice note has been altered since it was sent" in chair.sees
    assert "<audio" not in page.get_data(as_text=True)
    assert "attachment.altered" in audit_actions(app)
