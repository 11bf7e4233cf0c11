"""Voice notes and photos: checked by their bytes, cleaned, sealed in chunks, played back."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from voiceapp import media
from voiceapp.attachments import SealedSpool
from voiceapp.models import Attachment, AttachmentChunk, Submission

from .conftest import make_app
from .evidence import audit_actions, count, raw_database_contains
from .people import Chair, Child, visible_text

MEDIA = Path(__file__).parent / "data" / "media"
VOICE = (MEDIA / "voice.webm").read_bytes()



def photo_with_gps(fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", (120, 80), (250, 200, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"          # Make
    exif[0xA431] = "SERIAL-12345"        # BodySerialNumber
    gps = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.2)}
    exif[0x8825] = gps                   # GPSInfo
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def started(child: Child) -> Child:
    child.opens_invite()
    child.starts()
    return child


def chair_gets(app, demo, path: str, **kwargs):
    chair = Chair(app.test_client(), demo["chair"])
    chair.signs_in_and_unlocks()
    return chair, chair.client.get(path, **kwargs)


def sent_attachment_url(app, demo, child: Child) -> tuple[Chair, str]:
    child.sends()
    with app.app_context():
        from voiceapp.db import db
        submission = db.scalar(select(Submission.id))
    chair = Chair(app.test_client(), demo["chair"])
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(submission)
    url = re.search(r'src="(/chair/attachments/[0-9a-f-]+)"', page.get_data(as_text=True))
    return chair, url.group(1)


# --------------------------------------------------------------------------- voice notes

@pytest.mark.parametrize("name,mimetype", [("voice.webm", "audio/webm"),
                                            ("voice.ogg", "audio/ogg"),
                                            ("voice.m4a", "audio/mp4")])
def test_a_voice_note_reaches_the_chair_exactly_as_recorded(app, demo, child, name, mimetype):
    original = (MEDIA / name).read_bytes()
    started(child).adds_file("/worries", "voice", original, name, mimetype,
                             text="and I said it out loud")
    assert child.page.request.path == "/hopes"
    child.opens("/check")
    assert "Voice note (0:02)" in child.sees
    chair, url = sent_attachment_url(app, demo, child)
    assert "Voice note (0:02)" in chair.sees
    response = chair.client.get(url)
    assert response.status_code == 200
    assert response.data == original
    assert response.mimetype == mimetype
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Accept-Ranges"] == "bytes"
    container = media.sniff(response.data[:64])
    assert media.audio_seconds(container, io.BytesIO(response.data)) == pytest.approx(2, abs=0.1)
    assert "attachment.opened" in audit_actions(app)


def app_with(database_url, tmp_path, **overrides):
    """An app with different limits, its demo data, and its first child."""
    import json

    app = make_app(database_url, tmp_path / "other", **overrides)
    demo = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).stdout)
    return app, demo, Child(app.test_client(), demo["invites"][0]["code"])


def test_players_can_seek_with_byte_ranges(database_url, tmp_path):
    app, demo, child = app_with(database_url, tmp_path, max_audio_seconds=600)
    big = (MEDIA / "long.ogg").read_bytes()
    started(child).adds_file("/worries", "voice", big, "long.ogg", "audio/ogg")
    chair, url = sent_attachment_url(app, demo, child)
    start, end = 70_000, 140_000  # across a 64 KiB chunk boundary
    response = chair.client.get(url, headers={"Range": f"bytes={start}-{end}"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(big)}"
    assert response.data == big[start:end + 1]
    tail = chair.client.get(url, headers={"Range": "bytes=-100"})
    assert tail.data == big[-100:]
    assert audit_actions(app).count("attachment.opened") == 1  # seeks are not new openings
    download = chair.client.get(url + "?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="voice-note.ogg"'


def test_the_child_can_listen_back_and_remove_without_losing_words(app, child):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm",
                             text="typed before", keep="voice")
    assert child.page.request.path == "/worries"
    page = child.page.get_data(as_text=True)
    own = re.search(r'src="(/attachments/[0-9a-f-]+)"', page).group(1)
    assert child.client.get(own).data == VOICE
    attachment_id = own.rsplit("/", 1)[1]
    child.posts("/worries", {"text": "typed since", "remove": attachment_id})
    assert child.page.request.path == "/worries"
    assert "typed since" in child.page.get_data(as_text=True)
    assert count(app, Attachment) == 0 and count(app, AttachmentChunk) == 0
    assert child.client.get(own).status_code == 404


def test_after_keeping_a_voice_note_the_next_question_does_not_open_scrolled_down(child):
    """Keeping a file comes back to the file list (``#attachments``); the page's form must
    then post to its own address without that part, or a browser carries it through the
    redirect and the next question opens at its bottom, below the question."""
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm",
                             keep="voice", follow=False)
    assert child.page.headers["Location"].endswith("/worries#attachments")
    page = child.opens("/worries").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]*)" id="page-form"', page)
    assert form is not None and form.group(1) == "/worries"
    page = child.opens("/worries?change=1&lang=ar").get_data(as_text=True)
    assert 'action="/worries?change=1" id="page-form"' in page  # no language to override


def test_a_voice_note_longer_than_three_minutes_is_refused_kindly(app, child):
    started(child).answers("/worries", text="kept words")
    page = child.adds_file("/worries", "voice", (MEDIA / "long.webm").read_bytes(),
                           "long.webm", "audio/webm", text="kept words")
    assert page.status_code == 400
    assert "more than 3 minutes long" in child.sees
    assert count(app, Attachment) == 0
    child.opens("/check")
    assert "kept words" in child.sees


@pytest.mark.parametrize("data,name,mimetype,message", [
    (b"\x7fELF\x02\x01\x01" + bytes(4000), "voice.webm", "audio/webm", "not a voice note"),
    (b"MZ\x90\x00" + bytes(4000), "song.mp3", "audio/mpeg", "not a voice note"),
    (VOICE[:3000], "voice.webm", "audio/webm", "broken or only partly sent"),
    ((MEDIA / "video.webm").read_bytes(), "clip.webm", "audio/webm", "not a voice note"),
    (b"OggS" + bytes(500), "voice.ogg", "audio/ogg", "not a voice note"),
])
def test_bad_voice_notes_are_refused_kindly_and_nothing_is_lost(app, child, data, name,
                                                                mimetype, message):
    started(child).answers("/worries", text="my earlier words")
    page = child.adds_file("/worries", "voice", data, name, mimetype, text="my earlier words")
    assert page.status_code == 400
    assert message in child.sees
    assert "There is a problem" in child.sees
    assert count(app, Attachment) == 0
    child.opens("/check")
    assert "my earlier words" in child.sees


def test_a_file_over_the_size_limit_is_refused_kindly(tmp_path, database_url):
    app, _demo, child = app_with(database_url, tmp_path, max_file_bytes=5_000)
    started(child).answers("/worries", text="still here")
    page = child.adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm",
                           text="still here")
    assert page.status_code == 400
    assert "That file is too big" in child.sees
    child.opens("/check")
    assert "still here" in child.sees


def test_a_request_over_the_limit_gets_the_too_big_page(app, child):
    started(child).answers("/worries", text="saved already")
    page = child.adds_file("/worries", "voice", bytes(31 * 1024 * 1024), "big.webm",
                           "audio/webm")
    assert page.status_code == 413
    assert "Anything you saved before is still here" in child.sees
    child.opens("/check")
    assert "saved already" in child.sees


def test_an_upload_cut_off_midway_is_refused_and_keeps_the_draft(app, child):
    started(child).answers("/worries", text="before the drop")
    child.opens("/worries")
    boundary = "----voiceappboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{child.csrf_token()}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"voice\"; filename=\"voice.webm\"\r\nContent-Type: audio/webm\r\n\r\n"
            ).encode() + VOICE[:4000]
    response = child.client.post(
        "/worries", input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Content-Length": str(len(body) + 50_000)})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    assert count(app, Attachment) == 0
    child.opens("/check")
    assert "before the drop" in child.sees


# --------------------------------------------------------------------------- photos

def test_a_photo_reaches_the_chair_with_no_exif_at_all(app, demo, child):
    original = photo_with_gps()
    assert b"SERIAL-12345" in original
    started(child).adds_file("/going-well", "photo", original, "IMG_0001.JPG", "image/jpeg")
    child.opens("/check")
    assert "Photo of a drawing" in child.sees
    chair, url = sent_attachment_url(app, demo, child)
    response = chair.client.get(url)
    assert response.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(response.data)) as received:
        assert received.format == "JPEG" and received.size == (120, 80)
        assert len(received.getexif()) == 0
        assert "exif" not in received.info
    assert b"Exif" not in response.data and b"SERIAL" not in response.data
    assert b"PhoneMaker" not in response.data


@pytest.mark.parametrize("fmt,mimetype", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_photos_keep_their_type_and_lose_their_metadata(app, demo, child, fmt,
                                                                     mimetype):
    started(child).adds_file("/hopes", "photo", photo_with_gps(fmt), f"x.{fmt.lower()}",
                             "application/octet-stream")
    chair, url = sent_attachment_url(app, demo, child)
    response = chair.client.get(url)
    assert response.mimetype == mimetype
    with Image.open(io.BytesIO(response.data)) as received:
        assert len(received.getexif()) == 0
    assert b"SERIAL" not in response.data


def test_a_sideways_photo_is_turned_upright(app, demo, child):
    image = Image.new("RGB", (100, 40), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    started(child).adds_file("/hopes", "photo", out.getvalue(), "x.jpg", "image/jpeg")
    chair, url = sent_attachment_url(app, demo, child)
    with Image.open(io.BytesIO(chair.client.get(url).data)) as received:
        assert received.size == (40, 100)


@pytest.mark.parametrize("data,message", [
    (photo_with_gps()[:600], "broken or only partly sent"),
    (b"GIF89a" + bytes(100), "not a photo"),
    (VOICE, "not a photo"),
])
def test_bad_photos_are_refused_kindly(app, child, data, message):
    started(child)
    page = child.adds_file("/hopes", "photo", data, "drawing.jpg", "image/jpeg")
    assert page.status_code == 400
    assert message in child.sees
    assert count(app, Attachment) == 0


# --------------------------------------------------------------------------- storage

def test_the_raw_database_holds_no_plaintext_audio_or_image(app, child):
    photo = photo_with_gps()
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    child.adds_file("/hopes", "photo", photo, "drawing.jpg", "image/jpeg")
    needles = (VOICE[200:264], VOICE[-64:], photo[-64:], photo[300:364])
    assert not any(raw_database_contains(app, needle) for needle in needles), "a draft leaked"
    child.sends()
    assert not any(raw_database_contains(app, needle) for needle in needles), "a send leaked"
    assert count(app, Attachment, Attachment.submission_id.is_not(None)) == 2


def test_attachments_move_to_the_submission_in_the_same_transaction(app, child):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm",
                             keep="voice")
    own = re.search(r'src="(/attachments/[0-9a-f-]+)"',
                    child.page.get_data(as_text=True)).group(1)
    child.opens("/check")
    form = {"csrf_token": child.csrf_token(), "token": child.send_token()}
    for _ in range(2):  # a double tap
        child.client.post("/send", data=form)
    assert count(app, Submission) == 1
    assert count(app, Attachment, Attachment.draft_id.is_(None),
                 Attachment.submission_id.is_not(None)) == 1
    assert child.client.get(own).status_code in (302, 404)  # the draft's copy is gone


def test_an_upload_is_spooled_sealed_never_in_plain_text():
    spool = SealedSpool()
    data = bytes(range(256)) * 1000  # 256 KB, several chunks
    for start in range(0, len(data), 10_000):
        spool.write(data[start:start + 10_000])
    spool.seek(0)
    spool._file.seek(0)
    on_disk = spool._file.read()
    assert data[:64] not in on_disk and data[100_000:100_064] not in on_disk
    assert spool.read() == data
    spool.seek(70_000)
    assert spool.read(10) == data[70_000:70_010]
    assert b"".join(spool.pieces()) == data
    spool.close()


# --------------------------------------------------------------------------- who can play

def test_only_the_chair_of_the_conference_can_play_an_attachment(app, demo, child,
                                                                 other_chair, coordinator,
                                                                 advocate):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    chair, url = sent_attachment_url(app, demo, child)
    other_chair.signs_in_and_unlocks()
    assert other_chair.client.get(url).status_code == 404
    coordinator.signs_in()
    assert coordinator.client.get(url).status_code == 403
    advocate.signs_in_and_unlocks()
    assert advocate.client.get(url).status_code == 403
    assert advocate.client.get(url.replace("/chair/", "/advocate/")).status_code == 404
    assert app.test_client().get(url).status_code == 302
    assert child.client.get(url).status_code == 302
    assert chair.client.get(f"/chair/attachments/{uuid.uuid4()}").status_code == 404


def test_an_advocate_plays_what_the_child_shared(app, demo, child, advocate):
    started(child).adds_file("/worries", "voice", VOICE, "voice.webm", "audio/webm")
    child.answers("/help", helper="service:1")
    child.answers("/sharing", share_service="yes")
    child.sends()
    advocate.signs_in_and_unlocks()
    with app.app_context():
        from voiceapp.db import db
        submission = db.scalar(select(Submission.id))
    page = advocate.opens(f"/advocate/submissions/{submission}")
    url = re.search(r'src="(/advocate/attachments/[0-9a-f-]+)"',
                    page.get_data(as_text=True)).group(1)
    assert advocate.client.get(url).data == VOICE


def test_the_microphone_is_allowed_only_where_recording_happens(child):
    started(child)
    assert "microphone=(self)" in child.opens("/worries").headers["Permissions-Policy"]
    assert "microphone=()" in child.opens("/safe").headers["Permissions-Policy"]


def test_every_house_page_offers_a_recorder_and_file_inputs_without_javascript(child):
    started(child)
    for path in ("/going-well", "/worries", "/hopes"):
        body = child.opens(path).get_data(as_text=True)
        assert 'accept="audio/*" capture' in body
        assert 'accept="image/*" capture="environment"' in body
        assert 'enctype="multipart/form-data"' in body
        assert "data-recorder hidden" in body
        assert "Add a voice note" in visible_text(child.page)


def test_a_refused_photo_does_not_undo_a_voice_note_sent_with_it(app, child):
    started(child)
    child.opens("/worries")
    form = {"csrf_token": child.csrf_token(), "text": "both at once",
            "voice": (io.BytesIO(VOICE), "voice.webm", "audio/webm"),
            "photo": (io.BytesIO(b"GIF89a" + bytes(100)), "x.gif", "image/gif")}
    page = child.client.post("/worries", data=form, content_type="multipart/form-data")
    assert page.status_code == 400
    assert count(app, Attachment) == 1
    child.opens("/check")
    assert "Voice note (0:02)" in child.sees and "both at once" in child.sees
    own = child.client.get(re.search(r'src="(/attachments/[0-9a-f-]+)"',
                                            child.page.get_data(as_text=True)).group(1))
    assert own.data == VOICE
