"""Pictures mode and the scaling question's follow-ups: one thing per screen, the same
questions and answers as the words mode, and nothing said kept in plain text."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update

from voiceapp import speech
from voiceapp.child.journey import questions_asked
from voiceapp.models import Attachment, Conference, Submission, User

from .evidence import audit_actions, change_as_attacker, raw_database_contains


def _sent_submission_id(app):
    with app.app_context():
        from voiceapp.db import db
        return db.scalar(select(Submission.id))


def test_after_a_score_the_child_is_asked_why_and_what_would_make_it_higher(
        app, child, chair):
    why, higher = "kestrel-why-5531", "kestrel-higher-7720"
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="words")
    page = child.answers("/safe", score="6")
    assert page.request.path == "/safe/why"
    assert "Why did you pick that number?" in child.sees
    assert "What would make it one number higher?" in child.sees
    assert "Question 5 of 8" in child.sees
    page = child.answers("/safe/why", safety_why=why, safety_higher=higher)
    assert page.request.path == "/help"
    assert not raw_database_contains(app, why.encode()), "a draft leaked"
    child.opens("/check")
    assert why in child.sees and higher in child.sees
    assert 'href="/safe/why?change=1"' in child.page.get_data(as_text=True)
    child.sends()
    assert not raw_database_contains(app, why.encode())
    assert not raw_database_contains(app, higher.encode())
    chair.signs_in_and_unlocks()
    chair.opens_submission(_sent_submission_id(app))
    text = chair.sees
    assert "6 / 10" in text and why in text and higher in text
    assert text.index("6 / 10") < text.index(why) < text.index(higher)


def test_a_low_score_still_shows_who_to_talk_to_first(child):
    child.opens_invite()
    child.starts()
    page = child.answers("/safe", score="1")
    assert page.request.path == "/safe/support"
    child.opens("/safe/support")
    assert 'href="/safe/why"' in child.page.get_data(as_text=True)


def test_without_a_number_there_is_no_why(child):
    child.opens_invite()
    child.starts()
    assert child.answers("/safe", score="declined").request.path == "/help"
    assert child.opens("/safe/why").status_code == 302


def test_in_pictures_mode_each_follow_up_has_its_own_screen(child):
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    child.answers("/safe", score="8")
    assert "Why did you pick that number?" in child.sees
    assert "one number higher" not in child.sees
    page = child.answers("/safe/why", safety_why="my cat")
    assert page.request.path == "/safe/why" and page.request.args["item"] == "1"
    assert "What would make it one number higher?" in child.sees
    child.answers("/safe/why?item=1", safety_higher="more cake")
    child.opens("/check")
    assert "my cat" in child.sees and "more cake" in child.sees


def test_pictures_mode_asks_one_thing_a_screen_and_keeps_every_answer(child):
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    child.opens("/going-well")
    assert "Pick any faces that show how you feel" in child.sees
    assert "Tap the pictures that fit" not in child.sees
    assert '<svg class="symbol' in child.page.get_data(as_text=True)  # no emoji font needed
    page = child.answers("/going-well", feelings=["happy"])
    assert page.request.full_path == "/going-well?item=1"
    assert "Tap the pictures that fit" in child.sees
    page = child.answers("/going-well?item=1", topics=["pets"])
    assert page.request.full_path == "/going-well?item=2"
    assert "Draw it" in child.sees
    page = child.answers("/going-well?item=2")
    assert "Add a voice note" in child.sees and "Write it here" not in child.sees
    page = child.answers("/going-well?item=3")
    assert "Write it here" in child.sees
    page = child.answers("/going-well?item=4", text="my dog")
    assert page.request.path == "/worries"
    # Switching to words keeps what was picked, and the words page keeps the pictures
    child.answers("/how", mode="words")
    child.answers("/going-well", text="my dog and my bike", feelings=["happy"])
    child.opens("/check")
    for words in ("Happy", "Pets", "my dog and my bike"):
        assert words in child.sees


def test_any_question_page_switches_mode_and_keeps_what_was_on_it(child):
    """A child, or an adult sitting with them, can change between pictures and words on any
    question page: what was on the page is saved first, as with Continue, and the same
    question is shown in the other mode (from its first screen)."""
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    child.opens("/worries?item=1")
    assert "Use words instead" in child.sees and "More" in child.sees
    page = child.answers("/worries?item=1", topics=["school"], mode="words")
    assert page.request.full_path == "/worries?"
    assert "Write it here" in child.sees and "Use pictures instead" in child.sees
    page = child.answers("/worries", text="the bus ride", mode="pictures")
    assert page.request.full_path == "/worries?"
    assert "Pick any faces" in child.sees and "Use words instead" in child.sees
    page = child.answers("/safe", score="7", mode="words")  # no support page, no follow-up yet
    assert page.request.path == "/safe" and "Use pictures instead" in child.sees
    child.opens("/check")
    for words in ("School", "the bus ride", "7"):
        assert words in child.sees
    assert "Use pictures instead" not in child.sees  # only where there is a page to send
    child.opens("/how")
    assert "Use pictures instead" not in child.sees


def test_every_page_of_pictures_mode_works(child):
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    for path in ("/worries", "/hopes", "/safe", "/help", "/meeting", "/sharing",
                 "/meeting/story", "/meeting/story?item=5&back=meeting", "/check"):
        assert child.opens(path).status_code == 200, path
        assert "Listen" in child.sees, path
    child.answers("/help", helper="someone_else")
    assert child.page.request.full_path == "/help?item=1"
    child.answers("/help?item=1", someone_name="Aunt Mo")
    child.answers("/meeting", attend="chair_first")
    child.answers("/sharing", share_parents="ask")
    child.opens("/check")
    for words in ("Aunt Mo", "meet the chair on my own first", "Ask me first"):
        assert words in child.sees


def test_the_meeting_story_says_who_the_chair_is_and_when(child, demo):
    child.opens_invite()
    text = " ".join(child.opens(f"/meeting/story?item={n}") and child.sees for n in range(6))
    assert "Your chair is called" in text and "Sam Taylor" in text
    assert "It cannot take you away from your mum, dad or carers." in text
    assert "If you come, the chair will meet you first." in text
    assert "Next" not in child.sees and "Back to the start" in child.sees
    child.opens("/welcome")
    assert 'href="/meeting/story?back=welcome"' in child.page.get_data(as_text=True)


def test_every_sentence_a_child_can_hear_has_its_recording_in_each_language():
    """The recordings ship with the app (made by ``flask record-speech``); a new or changed
    sentence without one fails here, without needing espeak-ng to test."""
    missing = {lang: [text for text in speech.spoken_sentences(lang)
                      if not speech.recording_path(lang, text).exists()]
               for lang in speech.LANGUAGES}
    assert not any(missing.values()), f"run `flask record-speech`: {missing}"
    wanted = {speech.recording_path(lang, text).name for lang in speech.LANGUAGES
              for text in speech.spoken_sentences(lang)}
    assert "Continue" in speech.spoken_messages()
    assert "Soon there will be a meeting about you." in speech.spoken_messages()
    for lang in speech.LANGUAGES:
        for recording in (speech.FOLDER / lang).glob("*.opus"):
            assert recording.name in wanted, f"{recording} is no longer said"
            assert recording.read_bytes()[:4] == b"OggS"
            assert recording.stat().st_size < 64_000  # the longest paragraph


def test_a_recording_is_named_by_its_language_and_words():
    assert speech.recording_name("cy", "Nesaf") == speech.recording_name("cy", "  Nesaf ")
    assert speech.recording_name("cy", "Nesaf") != speech.recording_name("en", "Nesaf")
    assert len(speech.recording_name("ar", "التالي")) == 16


def test_recordings_are_served_as_ogg_audio(client):
    text = speech.spoken_sentences("cy")[0]
    response = client.get(f"/static/speech/cy/{speech.recording_name('cy', text)}.opus")
    assert response.status_code == 200
    assert response.mimetype in ("audio/ogg", "audio/opus")


def test_a_childs_own_answers_are_marked_for_a_voice_on_the_device_only(child):
    """speak.js reads [data-own-words] only with a voice on the device (localService),
    never a cloud voice, and has no recordings of a child's words."""
    child.tells(worries="only on this phone 3318")
    html = child.page.get_data(as_text=True)
    answer = html.index("only on this phone 3318")
    assert html.rfind("<dd data-own-words>", 0, answer) > html.rfind("<dt>", 0, answer)


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def test_the_follow_ups_can_be_said_or_drawn_and_the_chair_gets_them_beside_the_score(
        app, child, chair):
    voice = (Path(__file__).parent / "data" / "media" / "voice.webm").read_bytes()
    drawing = _png((214, 40, 40))
    child.opens_invite()
    child.starts()
    child.answers("/how", mode="pictures")
    child.answers("/safe", score="4")
    child.answers("/safe/why")
    page = child.answers("/safe/why?item=1")
    assert page.request.full_path == "/safe/why?item=2"
    assert "Draw it" in child.sees and "Why did you pick that number?" in child.sees
    page = child.adds_file("/safe/why?item=2", "photo", drawing, "drawing.png", "image/png")
    assert page.request.full_path == "/safe/why?item=3"
    assert "Add a voice note" in child.sees
    page = child.adds_file("/safe/why?item=3", "voice", voice, "voice.webm", "audio/webm")
    assert page.request.path == "/help"
    child.opens("/check")
    assert child.sees.count("A drawing") == 1 and "Voice note" in child.sees  # drawn on the pad
    # The words page shows them too, each with its own Delete, and keeps them on Continue
    child.answers("/how", mode="words")
    child.opens("/safe/why")
    assert "Say it or draw it" in child.sees and "Remove this drawing" in child.sees
    child.answers("/safe/why", safety_why="")
    child.sends()
    assert not raw_database_contains(app, drawing[-64:])
    chair.signs_in_and_unlocks()
    chair.opens_submission(_sent_submission_id(app))
    text = chair.sees
    assert "4 / 10" in text and "A drawing" in text and "Voice note" in text
    assert text.index("4 / 10") < text.index("Why did you pick that number?") \
        < text.index("A drawing") < text.index("Who do you want to help")


def test_a_file_with_the_follow_ups_can_be_deleted_before_sending(child):
    child.opens_invite()
    child.starts()
    child.answers("/safe", score="7")
    child.adds_file("/safe/why", "photo", _png((31, 92, 153)), "d.png", "image/png",
                    keep="photo")
    assert child.page.request.path == "/safe/why"
    body = child.page.get_data(as_text=True)
    removed = re.search(r'name="remove" value="([0-9a-f-]{36})"', body).group(1)
    child.answers("/safe/why", remove=removed)
    child.opens("/check")
    assert "Photo of a drawing" not in child.sees


def test_the_story_says_where_the_meeting_is_and_the_coordinator_sets_it(app, coordinator,
                                                                          child):
    child.opens_invite()
    child.opens("/meeting/story")
    assert "Town Hall, Room 2" in child.sees
    coordinator.signs_in()
    coordinator.fills_in("/admin/conferences/1/edit", {
        "reference": "CP-DEMO-0001", "date": "2030-02-20", "time": "11:00", "kind": "initial",
        "chair": 1, "place": "  Family Centre,\u202e Oak Road "})
    assert "Family Centre, Oak Road" in coordinator.sees
    child.opens("/meeting/story")
    assert "It will be at Family Centre, Oak Road." in child.sees
    assert "\u202e" not in child.page.get_data(as_text=True)
    for hidden in ("Oak\u200bRoad", "Oak\u2028Road", "Oak\x85Road", "O" + "\u0301" * 4,
                   "Oak\u3164Road", "Oak\u2800Road"):
        page = coordinator.fills_in("/admin/conferences/1/edit", {
            "reference": "CP-DEMO-0001", "date": "2030-02-20", "time": "11:00",
            "kind": "initial", "chair": 1, "place": hidden})
        assert page.status_code == 400, repr(hidden)
        assert "Use letters, numbers, spaces and punctuation" in coordinator.sees


def test_a_date_or_place_changed_in_the_database_is_not_told_to_the_child(app, child):
    child.opens_invite()
    change_as_attacker(app, update(Conference).values(place="Behind the shops"))
    child.opens("/meeting/story")
    assert "Behind the shops" not in child.sees and "It is on" not in child.sees
    assert "What is the meeting?" in child.sees
    child.opens("/welcome")
    assert "Your meeting is on" not in child.sees
    child.opens("/meeting/story?item=2")
    assert "Your chair is called" not in child.sees


def _can_speak_or_skip():
    if not speech.can_speak():
        reason = "espeak-ng and opus-tools are not installed (apt install espeak-ng opus-tools)"
        if os.environ.get("VOICEAPP_REQUIRE_DEPLOY") == "1":
            pytest.fail(f"{reason}; VOICEAPP_REQUIRE_DEPLOY=1 requires them")
        pytest.skip(reason)


def test_the_meetings_date_place_and_chair_are_spoken_once_on_the_server_in_welsh(
        app, child, monkeypatch):
    """No recording that ships can hold a date or a name: the story's sentences about the
    meeting are spoken on the server the first time they are asked for, then kept."""
    _can_speak_or_skip()
    child.opens("/?lang=cy")
    child.opens_invite()
    child.opens("/meeting/story")
    body = child.page.get_data(as_text=True)
    said = dict(re.findall(r'<p data-said="(/meeting/said/([a-z-]+))">', body))
    assert set(said.values()) == {"story-date", "story-place"}
    assert "Bydd yn <bdi>Town Hall, Room 2</bdi>." in body
    first = child.client.get("/meeting/said/story-place")
    assert first.status_code == 200 and first.mimetype == "audio/ogg"
    assert first.data.startswith(b"OggS") and b"OpusHead" in first.data[:100]
    assert first.headers["Cache-Control"] == "no-store"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("spoken again")))
    assert child.client.get("/meeting/said/story-place").data == first.data  # kept
    child.opens("/meeting/story?item=2")
    assert 'data-said="/meeting/said/story-chair"' in child.page.get_data(as_text=True)


def test_only_the_meetings_own_sentences_are_spoken_and_only_for_its_child(app, child, client):
    _can_speak_or_skip()
    assert client.get("/meeting/said/story-date").status_code == 302  # no child: the start
    child.opens_invite()
    for what in ("story-nothing", "..%2f..%2fsecret_key", "story-date.opus"):
        assert child.client.get(f"/meeting/said/{what}").status_code == 404
    change_as_attacker(app, update(Conference).values(place="Behind the shops"))
    assert child.client.get("/meeting/said/story-place").status_code == 404
    assert child.client.get("/meeting/said/story-date").status_code == 404


def test_after_i_dont_want_to_say_the_follow_ups_are_neither_shown_nor_sent(app, child, chair):
    """A child who gives a number, explains it, then says they do not want to say: nothing
    about a number is shown or sent, and their words wait in the draft in case they pick a
    number again."""
    why = "kestrel-why-withdrawn-4410"
    child.opens_invite()
    child.starts()
    child.answers("/safe", score="5")
    child.adds_file("/safe/why", "photo", _png((42, 157, 63)), "d.png", "image/png",
                    safety_why=why)
    child.answers("/safe?change=1", score="declined")
    child.opens("/check")
    assert why not in child.sees and "Photo of a drawing" not in child.sees
    child.answers("/safe?change=1", score="6")  # a number again: what they said is back
    child.opens("/check")
    assert why in child.sees and "Photo of a drawing" in child.sees
    child.answers("/safe?change=1", score="declined")
    child.tells(worries="something to send")
    child.sends()
    chair.signs_in_and_unlocks()
    chair.opens_submission(_sent_submission_id(app))
    assert "I don't want to say" in chair.sees
    assert why not in chair.sees and "Photo of a drawing" not in chair.sees
    with app.app_context():
        from voiceapp.db import db
        assert db.scalar(select(Attachment.id)) is None  # the drawing was not kept


def test_a_chairs_name_changed_in_the_database_is_not_told_and_is_reported(app, child,
                                                                         coordinator):
    child.opens_invite()
    change_as_attacker(app, update(User).where(User.email == "chair@example.org")
                       .values(name="Your Dad (call him now)"))
    child.opens("/meeting/story?item=2")
    assert "Your Dad" not in child.sees and "Your chair is called" not in child.sees
    assert "integrity.altered" in audit_actions(app)
    change_as_attacker(app, update(Conference).values(place="Somewhere else"))
    coordinator.signs_in()
    coordinator.opens("/admin/conferences/1")
    assert "This conference was changed outside voiceapp" in coordinator.sees


def test_the_recorded_progress_lines_are_the_ones_a_child_meets():
    totals = {values["total"] for values in speech.WITH_NUMBERS["Question %(n)s of %(total)s"]}
    assert totals == {len(questions_asked(False)), len(questions_asked(True))}


def test_the_names_of_who_may_help_are_spoken_too_and_nothing_else(app, child):
    _can_speak_or_skip()
    child.opens("/?lang=cy")
    child.opens_invite()
    child.opens("/help")
    body = child.page.get_data(as_text=True)
    services = re.findall(r'data-said="(/meeting/said/service-\d+)"', body)
    assert services, "no service name can be heard"
    heard = child.client.get(services[0])
    assert heard.status_code == 200 and heard.data.startswith(b"OggS")
    service_id = services[0].rsplit("-", 1)[1]
    child.answers("/help", helper=f"service:{service_id}")
    child.opens("/sharing")
    body = child.page.get_data(as_text=True)
    assert f'data-said="/meeting/said/share-service-{service_id}"' in body
    assert child.client.get(f"/meeting/said/share-service-{service_id}").status_code == 200
    assert child.client.get("/meeting/said/service-999").status_code == 404


def test_a_hostile_file_with_the_follow_ups_is_refused_kindly_and_the_words_are_kept(
        app, child):
    child.opens_invite()
    child.starts()
    child.answers("/safe", score="5")
    page = child.adds_file("/safe/why", "photo", b"<svg onload=alert(1)>" + b"x" * 200,
                           "drawing.png", "image/png", safety_why="kestrel-kept-8812")
    assert page.status_code == 400 and page.request.path == "/safe/why"
    assert "That file is not a photo we can open" in child.sees
    assert "kestrel-kept-8812" in child.page.get_data(as_text=True)
    with app.app_context():
        from voiceapp.db import db
        assert db.scalar(select(Attachment.id)) is None
    child.opens("/check")
    assert "kestrel-kept-8812" in child.sees


def test_a_childs_score_is_heard_from_an_address_that_does_not_name_it(app, child):
    """The recordings that ship are named by their words, so fetching "You picked 2 out of
    10." by its name would tell a shared phone's cache, or a network that logs addresses,
    the child's score. It is heard through child.said instead (never kept), and only a
    voice on the phone may read it."""
    child.opens("/?lang=cy")
    child.opens_invite()
    child.starts()
    child.answers("/safe", score="2")
    child.opens("/safe/why")
    body = child.page.get_data(as_text=True)
    assert '<h1 data-own-words data-said="/meeting/said/score">' in body
    heard = child.client.get("/meeting/said/score")
    assert heard.status_code == 200 and heard.headers["Cache-Control"] == "no-store"
    words = "Fe wnest ti ddewis 2 allan o 10."
    assert words in body
    assert heard.data == speech.recording_path("cy", words).read_bytes()
    child.answers("/how", mode="pictures")
    child.opens("/safe/why")
    assert 'data-own-words data-said="/meeting/said/score-skip"' in \
        child.page.get_data(as_text=True)
    assert child.client.get("/meeting/said/score-skip").status_code == 200
    child.answers("/safe?change=1", score="declined")
    assert child.client.get("/meeting/said/score").status_code == 404


def test_one_sentence_is_spoken_once_however_many_ask_at_once(tmp_path, monkeypatch):
    """Twelve requests for a sentence nobody has heard yet make one espeak-ng, not twelve:
    the others wait, then find it made."""
    import threading
    import time

    made = []

    def record(lang, text, target):
        made.append(text)
        time.sleep(0.2)
        target.write_bytes(b"OggS spoken")

    monkeypatch.setattr(speech, "record", record)
    monkeypatch.setattr(speech, "can_speak", lambda: True)
    found = []
    askers = [threading.Thread(target=lambda: found.append(
        speech.spoken("ar", "It will be at Town Hall.", tmp_path))) for _ in range(12)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert made == ["It will be at Town Hall."]
    assert len(found) == 12 and len(set(found)) == 1 and found[0].read_bytes() == b"OggS spoken"
