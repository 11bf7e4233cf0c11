"""Chairs, advocates and coordinators in a real browser, with a child sending alongside."""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from pathlib import Path

import pyotp
from PIL import Image
from playwright.sync_api import Page, expect

from voiceapp import media

from .conftest import browser_launch_args_for
from .test_child_browser import start_journey


def sign_in(page: Page, url: str, account: dict, check=None) -> None:
    page.goto(url + "/staff/sign-in")
    if check:
        check(page, "sign-in")
    page.get_by_label("Email address").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Authenticator code")).to_be_visible()
    if check:
        check(page, "code")
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(account["totp_secret"]).now())
    page.get_by_role("button", name="Sign in").click()


def unlock(page: Page, account: dict, check=None) -> None:
    expect(page.get_by_role("heading", name="Key passphrase")).to_be_visible()
    if check:
        check(page, "unlock")
    page.get_by_label("Key passphrase").fill(account["passphrase"])
    page.get_by_role("button", name="Unlock").click()


def child_sends(page: Page, url: str, code: str, worries: str, helper: str | None = None,
                share: str | None = None) -> None:
    start_journey(page, url, code)
    page.get_by_role("button", name="Start").click()
    page.goto(url + "/worries")
    page.get_by_label("Write it here").fill(worries)
    page.get_by_role("button", name="Continue").click()
    if helper:
        page.goto(url + "/help")
        page.get_by_label(helper).check()
        page.get_by_role("button", name="Continue").click()
    page.goto(url + "/sharing")
    if share:
        page.get_by_role(
            "radiogroup", name="Can the Children's Rights Officer see what you said too?") \
            .get_by_role("radio", name=share, exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you. You have sent your views.")).to_be_visible()


def test_a_chair_reads_what_a_child_sent_and_the_child_sees_the_receipt(
        browser, browser_context_args, live_app, live_demo, check):
    url, code = live_app.url, live_demo["invites"][0]["code"]
    child = browser.new_context(**browser_context_args).new_page()
    child_sends(child, url, code, "The chair should read this: 4471")

    chair = browser.new_context(**browser_context_args).new_page()
    sign_in(chair, url, live_demo["chair"], check)
    expect(chair.get_by_role("heading", name="Inbox")).to_be_visible()
    check(chair, "inbox")
    chair.get_by_role("link", name="CP-DEMO-0001").click()
    check(chair, "conference")
    chair.get_by_role("link", name=re.compile(r"\d{1,2} \w{3} \d{4}")).first.click()
    unlock(chair, live_demo["chair"], check)
    expect(chair.get_by_text("The chair should read this: 4471")).to_be_visible()
    check(chair, "submission")
    chair.get_by_role("button", name="Mark as read").click()
    expect(chair.get_by_text("Read", exact=True)).to_be_visible()
    chair.get_by_role("link", name="Print or save as PDF").click()
    expect(chair.get_by_text("Child's views for conference CP-DEMO-0001")).to_be_visible()
    check(chair, "print")
    chair.goto(url + "/staff/account")
    check(chair, "account")

    child.goto(url + live_demo["invites"][0]["url"])
    expect(child.get_by_text("The chair has read it.")).to_be_visible()


def write_tone(path: Path, seconds: float = 6.0, rate: int = 48_000) -> None:
    """A known sound for the fake microphone: a 440 Hz tone."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / rate)))
            for n in range(int(seconds * rate))))


def test_a_child_records_a_voice_note_and_the_chair_plays_it_back(
        browser_type, browser_context_args, live_app, live_demo, tmp_path, check):
    tone = tmp_path / "tone.wav"
    write_tone(tone)
    browser = browser_type.launch(**browser_launch_args_for(
        f"--use-file-for-fake-audio-capture={tone}"))
    url = live_app.url
    child = browser.new_context(**browser_context_args).new_page()
    start_journey(child, url, live_demo["invites"][0]["code"])
    child.get_by_role("button", name="Start").click()
    child.goto(url + "/worries")
    check(child, "recorder")
    child.get_by_role("button", name="Record", exact=True).click()
    expect(child.get_by_role("button", name="Stop")).to_be_visible()
    child.wait_for_timeout(2000)
    child.get_by_role("button", name="Stop").click()
    expect(child.get_by_text("Listen to your voice note")).to_be_visible()
    check(child, "recorded")
    child.get_by_role("button", name="Keep this voice note").click()
    expect(child.get_by_text(re.compile(r"Voice note \(0:0[1-3]\)"))).to_be_visible()
    check(child, "kept")

    child.goto(url + "/going-well")
    drawing = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.2)}
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (200, 150), (30, 160, 90)).save(drawing, "JPEG", exif=exif.tobytes())
    child.locator("#photo").set_input_files(
        files=[{"name": "IMG_2044.JPG", "mimeType": "image/jpeg", "buffer": drawing.getvalue()}])
    child.get_by_role("button", name="Continue").click()
    child.goto(url + "/check")
    expect(child.get_by_text("Photo of a drawing")).to_be_visible()
    check(child, "check-with-files")
    child.get_by_role("button", name="Send").click()
    thanks = child.get_by_role("heading", name="Thank you. You have sent your views.")
    expect(thanks).to_be_visible()

    chair = browser.new_context(**browser_context_args).new_page()
    sign_in(chair, url, live_demo["chair"])
    chair.get_by_role("link", name="CP-DEMO-0001").click()
    chair.get_by_role("link", name=re.compile(r"\d{1,2} \w{3} \d{4}")).first.click()
    unlock(chair, live_demo["chair"])
    audio = chair.locator("audio")
    expect(audio).to_have_count(1)
    check(chair, "submission-with-files")
    audio_url = url + audio.get_attribute("src")
    recorded = chair.request.get(audio_url).body()
    assert recorded[:4] == b"\x1a\x45\xdf\xa3"  # WebM, as Chromium records it
    seconds = media.audio_seconds("webm", io.BytesIO(recorded))
    assert 1.5 <= seconds <= 3.5
    duration = chair.evaluate("""async (src) => {
        const a = new Audio(src); a.preload = 'auto';
        await new Promise(r => a.addEventListener('loadeddata', r, {once: true}));
        return a.duration; }""", audio_url)
    assert duration > 1 or duration == float("inf")  # recorder WebM may not state a length
    image_url = url + chair.locator("main img").get_attribute("src")
    received = chair.request.get(image_url).body()
    with Image.open(io.BytesIO(received)) as picture:
        assert picture.format == "JPEG" and len(picture.getexif()) == 0
    assert b"PhoneMaker" not in received
    browser.close()


def test_coordinator_child_advocate_and_chair_work_together(
        browser, browser_context_args, live_app, live_demo, check):
    url = live_app.url
    coordinator = browser.new_context(**browser_context_args).new_page()
    sign_in(coordinator, url, live_demo["coordinator"], check)
    expect(coordinator.get_by_role("heading", name="Conferences")).to_be_visible()
    check(coordinator, "conferences")
    coordinator.get_by_role("link", name="Set up a conference").click()
    coordinator.get_by_label("Conference reference").fill("CP-2030-042")
    coordinator.get_by_label("Date").fill("2030-05-20")
    coordinator.get_by_label("Start time").fill("13:30")
    coordinator.get_by_label("Review conference").check()
    coordinator.get_by_label("Chair").select_option(label="Sam Taylor")
    check(coordinator, "new-conference")
    coordinator.get_by_role("button", name="Save").click()
    expect(coordinator.get_by_role("heading", name="Conference CP-2030-042")).to_be_visible()
    check(coordinator, "conference")
    codes = []
    for label in ("A", "B"):
        coordinator.get_by_label("A label, so you can tell invites apart").fill(label)
        coordinator.get_by_role("button", name="Make the invite").click()
        expect(coordinator.get_by_role("heading", name="Invite card")).to_be_visible()
        check(coordinator, f"card-{label}")
        codes.append(re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                               coordinator.content()).group(0))
        coordinator.get_by_role("link", name="CP-2030-042").click()
    for path, name in (("/admin/staff", "staff"), ("/admin/settings", "settings"),
                       ("/admin/numbers", "numbers"), ("/admin/audit", "audit")):
        coordinator.goto(url + path)
        check(coordinator, name)

    first = browser.new_context(**browser_context_args).new_page()
    child_sends(first, url, codes[0], "Shared with my advocate: 5150",
                helper="Children's Rights Officer", share="Yes")
    second = browser.new_context(**browser_context_args).new_page()
    child_sends(second, url, codes[1], "Only for the chair: 6160",
                helper="Children's Rights Officer", share="No")

    advocate = browser.new_context(**browser_context_args).new_page()
    sign_in(advocate, url, live_demo["advocate"], check)
    expect(advocate.get_by_role("heading", name="Children who asked for you")).to_be_visible()
    check(advocate, "dashboard")
    advocate.get_by_role("link", name="B", exact=True).click()
    expect(advocate.get_by_text("Not shared with you.")).to_be_visible()
    check(advocate, "child-not-shared")
    assert "Only for the chair: 6160" not in advocate.content()
    advocate.goto(url + "/advocate/")
    advocate.get_by_role("link", name="A", exact=True).click()
    check(advocate, "child-shared")
    advocate.get_by_role("link", name=re.compile("^Read it")).click()
    unlock(advocate, live_demo["advocate"], check)
    expect(advocate.get_by_text("Shared with my advocate: 5150")).to_be_visible()
    check(advocate, "shared-submission")
    advocate.get_by_role("link", name=re.compile(r"^\W*A$")).click()  # the back link
    advocate.get_by_role("link", name="Record views for this child").click()
    advocate.get_by_label("What is the child worried about?").fill("In her words: 7170")
    advocate.get_by_label("Your summary, as their advocate").fill("Summary: 8180")
    advocate.get_by_label("We met in person").check()
    advocate.get_by_label("The child agreed to what I am sending").check()
    check(advocate, "record-views")
    advocate.get_by_role("button", name="Send to the chair").click()
    expect(advocate.get_by_text("Sent to the chair.")).to_be_visible()

    chair = browser.new_context(**browser_context_args).new_page()
    sign_in(chair, url, live_demo["chair"])
    chair.get_by_role("link", name="CP-2030-042").click()
    expect(chair.get_by_role("cell", name="An advocate")).to_be_visible()
    chair.goto(url + chair.get_by_role("link", name="Print or save everything for the record")
               .get_attribute("href"))
    unlock(chair, live_demo["chair"])
    for words in ("Shared with my advocate: 5150", "Only for the chair: 6160",
                  "In her words: 7170", "Summary: 8180"):
        expect(chair.get_by_text(words)).to_be_visible()
    check(chair, "print-conference")


def test_staff_pages_run_their_own_script_and_warn_before_an_idle_sign_out(
        browser, browser_context_args, live_app, live_demo):
    """staff.js (loaded by staff pages only): no script error, and two minutes before the
    idle sign-out a coordinator is warned and can stay."""
    page = browser.new_context(**browser_context_args).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.clock.install()
    sign_in(page, live_app.url, live_demo["coordinator"])
    expect(page.get_by_role("heading", name="Conferences")).to_be_visible()
    warning = page.locator("#idle-warning")
    expect(warning).to_be_hidden()
    page.clock.run_for(29 * 60 * 1000)  # 30 minutes' idle sign-out: warned at 28
    expect(warning).to_be_visible()
    assert errors == []
