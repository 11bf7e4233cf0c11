"""Pictures mode on small phones, in English, Welsh and Arabic: one screen at a time with no
scrolling, every speaker button heard (a voice in the page's language, or the recording that
ships with the app), a drawing made by touch and sent, and the chair reading it.

Screenshots of every screen go to
tests/artifacts/screenshots/pictures/<lang>-<size>-NN-<screen>.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from voiceapp.models import Submission

from ..evidence import raw_database_contains
from ..people import Chair

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots" / "pictures"
SIZES = {"320x568": (320, 568), "360x740": (360, 740)}
LOCALES = {"en": "en-GB", "cy": "cy-GB", "ar": "ar"}
# English has a voice on the device (a stand-in for the phone's own); Welsh and Arabic have
# none, as on many phones, so their recordings are played.
FAKE_SPEECH = """
(() => {
  const voices = %s;
  window.__spoken = [];
  const synth = {
    getVoices: () => voices,
    speak: (u) => {
      window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name});
      setTimeout(() => u.onend && u.onend(), 10);
    },
    cancel: () => {},
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
})();
"""


class Screens:
    """Each screen of the walk: no scrolling, heard, axe-clean, and photographed."""

    def __init__(self, page: Page, check, lang: str, size: str) -> None:
        self.page, self.check, self.lang, self.size = page, check, lang, size
        self.count = 0
        self.too_tall: list[str] = []
        SHOTS.mkdir(parents=True, exist_ok=True)

    def see(self, name: str, listen: bool = True, scrolls_ok: bool = False) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.count += 1
        page.screenshot(path=SHOTS / f"{self.lang}-{self.size}-{self.count:02d}-{name}.png")
        over = page.evaluate("document.documentElement.scrollHeight - window.innerHeight")
        if over > 0 and not scrolls_ok:
            self.too_tall.append(f"{name}: {over}px too tall")
        assert page.evaluate("document.documentElement.lang").split("-")[0] == self.lang
        if listen:
            self.listen(name)
        self.check(page, f"{self.lang}-{self.size}-{name}")

    def heard(self) -> list[dict]:
        """What the stand-in voice said, once it has finished reading: the speaker shows
        Listen again and nothing more has been said for a while (up to 15 s on a busy
        machine; wait_for_function would need 'unsafe-eval')."""
        spoken: list[dict] = []
        quiet = 0
        for _ in range(300):
            said = self.page.evaluate("window.__spoken")
            reading = self.page.locator("[data-speak] [data-stop]").is_visible()
            quiet = quiet + 1 if len(said) == len(spoken) and not reading else 0
            spoken = said
            if len(spoken) > 2 and quiet >= 4:
                break
            self.page.wait_for_timeout(50)
        return spoken

    def listen(self, name: str) -> None:
        """Press the speaker: the page is read in its language (a voice or a recording that
        exists), and Stop stops it."""
        page = self.page
        speaker = page.locator("[data-speak]")
        expect(speaker).to_be_visible()
        expect(speaker).to_have_accessible_name(re.compile("Listen|Gwrando|استمع"))
        if self.lang == "en":
            page.evaluate("window.__spoken = []")
            if self.count == 1:  # speak.js is fetched on the first press only
                with page.expect_request(re.compile(r"/static/js/speak\.js")):
                    speaker.click()
                self.heard()
                page.evaluate("window.__spoken = []")
            speaker.click()
            spoken = self.heard()
            assert {s["lang"].split("-")[0] for s in spoken} == {"en"}, name
            texts = [s["text"] for s in spoken]
            assert len(texts) == len(set(texts)), f"{name}: something was read twice"
            assert not any(re.search("[\U0001F300-\U0001FAFF]", t) for t in texts), name
            assert any("Leave this page quickly" in t for t in texts), (name, texts)
            assert texts[0] not in ("Leave this page quickly", "Back", "More"), \
                f"{name}: the page's own words are not read first: {texts[:3]}"
            assert not any(t.startswith("Question ") for t in texts[:1]), name
            page.wait_for_timeout(50)
        else:
            with page.expect_response(re.compile(rf"/static/speech/{self.lang}/[0-9a-f]{{16}}"
                                                 r"\.opus")) as heard:
                speaker.click()
            assert heard.value.status in (200, 206), f"{name}: no recording: {heard.value.url}"
            assert heard.value.headers["content-type"].startswith(("audio/ogg", "audio/opus"))
            speaker.click()  # Stop
            expect(page.locator("audio[data-spoken]")).to_have_count(0)
        expect(speaker).to_have_accessible_name(re.compile("Listen|Gwrando|استمع"))


def draw_by_touch(page: Page, context) -> None:
    canvas = page.locator("[data-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cdp = context.new_cdp_session(page)
    x, y = box["x"] + box["width"] * .3, box["y"] + box["height"] * .3
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 12):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": x + step * box["width"] * .04, "y": y + step * box["height"] * .03}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    # The line is where the finger went: ink under the start, the middle and the end of the
    # stroke, and none in the opposite corner.
    ink = page.evaluate("""([points]) => {
      const canvas = document.querySelector("[data-canvas]");
      const pixels = canvas.getContext("2d");
      return points.map(([fx, fy]) => {
        const d = pixels.getImageData(Math.round(fx * canvas.width) - 3,
                                      Math.round(fy * canvas.height) - 3, 7, 7).data;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 0 && d[i] < 100 && d[i + 1] < 100 && d[i + 2] < 100) { return true; }
        }
        return false;
      });
    }""", [[[.3, .3], [.54, .48], [.74, .63], [.9, .1]]])
    assert ink == [True, True, True, False], f"the line is not under the finger: {ink}"


def next_screen(page: Page) -> None:
    with page.expect_navigation():
        page.locator("main form .actions button[type=submit]").last.click()


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", list(LOCALES))
def test_a_child_finishes_pictures_mode_alone(browser, browser_context_args, live_app,
                                              live_demo, check, lang, size):
    width, height = SIZES[size]
    context = browser.new_context(**{
        **browser_context_args, "viewport": {"width": width, "height": height},
        "screen": {"width": width, "height": height}, "device_scale_factor": 1,
        "locale": LOCALES[lang]})
    context.set_default_timeout(20_000)
    voices = ('[{"lang": "en-GB", "name": "On this phone", "localService": true}]'
              if lang == "en" else "[]")
    context.add_init_script(FAKE_SPEECH % voices)
    page = context.new_page()
    screens = Screens(page, check, lang, size)
    url = live_app.url
    page.goto(f"{url}/?lang={lang}")
    page.fill("#code", live_demo["invites"][0]["code"])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile("/welcome"))
    screens.see("welcome", scrolls_ok=True)  # the welcome page is a page of words
    page.locator(".story-link a").click()
    for n in range(6):
        screens.see(f"story-{n + 1}")
        if n < 5:
            page.locator("main .actions a.button").first.click()
    page.locator("main .actions a.button").click()  # the last scene: back to the start
    page.wait_for_url(re.compile("/welcome"))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile("/how"))
    screens.see("how")
    page.locator("input[value=pictures]").check()
    next_screen(page)

    for house in ("going_well", "worries", "hopes"):
        screens.see(f"{house}-faces")
        if house == "going_well":
            page.locator("input[value=happy]").check()
        next_screen(page)
        screens.see(f"{house}-pictures")
        if house == "going_well":
            page.locator("input[value=pets]").check()
        next_screen(page)
        if house == "going_well":
            with page.expect_request(re.compile(r"/static/js/draw\.js")):
                page.locator("[data-draw-open]").click()  # draw.js is fetched only now
            expect(page.locator("[data-canvas]")).to_be_visible()
            draw_by_touch(page, context)
        screens.see(f"{house}-draw")
        next_screen(page)  # Continue keeps the drawing
        screens.see(f"{house}-record")
        if house == "going_well":  # record, listen back: the whole screen still fits; keep it
            with page.expect_request(re.compile(r"/static/js/record\.js")):
                page.locator("[data-record]").click()  # record.js is fetched only now
            expect(page.locator("[data-recorder] [data-stop]")).to_be_visible()
            page.wait_for_timeout(1200)
            page.locator("[data-recorder] [data-stop]").click()
            expect(page.locator("[data-review]")).to_be_visible()
            screens.see(f"{house}-record-listen", listen=False)
            with page.expect_navigation():
                page.locator("[data-keep]").click()
            expect(page.locator("#attachments")).to_be_visible()
            expect(page.locator(".attachments audio")).to_have_count(1)
            expect(page.get_by_role("button", name=re.compile(
                "Remove this voice note|Dileu|احذف"))).to_have_count(1)
            screens.see(f"{house}-record-kept", listen=False)  # still fits, with the note
        if house == "worries":  # recorded, then Continue instead of Keep: kept all the same
            page.locator("[data-record]").click()
            expect(page.locator("[data-recorder] [data-stop]")).to_be_visible()
            page.wait_for_timeout(800)
            page.locator("[data-recorder] [data-stop]").click()
            expect(page.locator("[data-review]")).to_be_visible()
            next_screen(page)
            page.goto(live_app.url + "/worries?item=3")
            expect(page.locator(".attachments audio")).to_have_count(1)
        next_screen(page)
        screens.see(f"{house}-write")
        next_screen(page)
        if house == "going_well":  # Back to the drawing: it was kept
            page.goto(live_app.url + "/going-well?item=2")
            expect(page.locator(".kept")).to_be_visible()
            page.goto(live_app.url + "/worries")

    screens.see("safe")
    page.locator("input[value='7']").check()
    next_screen(page)
    screens.see("safe-why")
    page.locator("textarea").fill("I have my dog 7301")
    next_screen(page)
    screens.see("safe-higher")
    page.locator("textarea").fill("More time with Gran 7302")
    next_screen(page)
    page.locator("[data-draw-open]").click()  # the answers drawn instead, on a blank page
    expect(page.locator("[data-canvas]")).to_be_visible()
    draw_by_touch(page, context)
    screens.see("safe-draw")
    next_screen(page)
    screens.see("safe-record")
    next_screen(page)
    screens.see("help")
    page.locator("input[value=myself]").check()
    next_screen(page)
    screens.see("meeting")
    page.locator("input[value=chair_first]").check()
    next_screen(page)
    while page.url.split("?")[0].endswith("/sharing"):
        screens.see(f"sharing-{page.url.rsplit('=', 1)[-1] if '?' in page.url else 0}")
        page.locator("main form input[type=radio]").first.check()
        next_screen(page)
    screens.see("check", scrolls_ok=True)  # every answer, to read through
    with page.expect_navigation():
        page.locator("form[action$='/send'] button[type=submit]").click()
    screens.see("sent", scrolls_ok=True)
    assert not screens.too_tall, f"screens that scroll at {size}: {screens.too_tall}"
    context.close()

    if lang == "en" and size == "320x568":
        _the_chair_sees_the_drawing_and_the_scaling_answers(live_app, live_demo)


def _the_chair_sees_the_drawing_and_the_scaling_answers(live_app, live_demo) -> None:
    app = live_app.app
    assert not raw_database_contains(app, b"\x89PNG"), "a drawing is stored in the clear"
    assert not raw_database_contains(app, b"IHDR")
    for words in (b"I have my dog 7301", b"More time with Gran 7302"):
        assert not raw_database_contains(app, words)
    with app.app_context():
        from voiceapp.db import db
        submission_id = db.scalar(select(Submission.id))
    chair = Chair(app.test_client(), live_demo["chair"])
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(submission_id)
    html = page.get_data(as_text=True)
    assert "I have my dog 7301" in chair.sees and "More time with Gran 7302" in chair.sees
    assert "Why did you pick that number?" in chair.sees
    drawings = re.findall(r'<img src="(/chair/[^"]+)" alt="A drawing by the child', html)
    assert len(drawings) == 2, "the chair does not see both drawings (a house, the scale)"
    assert html.index(drawings[1]) > html.index("I have my dog 7301")  # by the score
    for drawing in drawings:
        picture = chair.opens(drawing)
        assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until ``selector`` has focus, as a keyboard user would."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def press_continue(page: Page) -> None:
    tab_to(page, "main form > .actions button[type=submit], main .actions a.button")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_keyboard_alone_completes_pictures_mode(page: Page, live_app, live_demo):
    page.set_viewport_size({"width": 320, "height": 568})
    page.goto(live_app.url + "/")
    tab_to(page, "#code")
    page.keyboard.type(live_demo["invites"][0]["code"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    press_continue(page)  # Start
    tab_to(page, "input[name=mode]")
    page.keyboard.press("ArrowDown")  # from "With words" to "With pictures"
    assert page.locator("input[value=pictures]").is_checked()
    press_continue(page)
    tab_to(page, "input[value=happy]")
    page.keyboard.press("Space")
    press_continue(page)
    while not page.url.endswith("/safe"):
        press_continue(page)  # the rest of the houses: pictures, drawing, voice, words
    tab_to(page, "input[name=score]")
    page.keyboard.press("Space")  # 0: the page of people to talk to comes first
    press_continue(page)
    assert page.url.endswith("/safe/support")
    while "/check" not in page.url:
        press_continue(page)
    tab_to(page, "form[action$='/send'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/sent$"))
