"""What axe-core cannot see, checked as a person meets it, on small screens, in every language.

At 320 x 256 (a 1280 x 1024 screen zoomed to 400%), 320 x 568 and 360 x 740, in English,
Welsh and Arabic, a child's whole journey (errors included) is walked and on every page:
axe-core finds nothing; nothing scrolls sideways; Tab and Shift+Tab never leave the focused
control under the sticky header, and the quick exit comes straight after the skip link; in
forced colours (Windows High Contrast) a ticked answer looks different from an unticked one
by its shape, not only its colour; an error page puts focus on its summary and every link in
it brings the question and its control into view. The same pages with 200% text and the WCAG
1.4.12 spacing, and the staff pages, must not scroll sideways either.
"""

from __future__ import annotations

import functools
import io
import re

import pyotp
import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from ..test_i18n import catalogue
from .conftest import SCREENSHOTS

VIEWPORTS = {"320x256": (320, 256), "320x568": (320, 568), "360x740": (360, 740)}
LANGUAGES = ("en", "cy", "ar")
MATRIX = [(size, lang) for size in VIEWPORTS for lang in LANGUAGES]
TEXT_SPACING = """
    html { font-size: 200% !important; }
    * { line-height: 1.5 !important; letter-spacing: .12em !important;
        word-spacing: .16em !important; }
    p { margin-bottom: 2em !important; }
"""
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55]")


@functools.lru_cache
def words(lang: str, english: str) -> str:
    """What ``english`` says in ``lang``, from the shipped catalogue."""
    return english if lang == "en" else catalogue(lang)[english].string


def context_for(browser, browser_context_args, size: str, lang: str = "en", **extra):
    width, height = VIEWPORTS[size]
    return browser.new_context(**{
        **browser_context_args, "viewport": {"width": width, "height": height},
        "screen": {"width": width, "height": height}, "device_scale_factor": 1,
        "locale": {"en": "en-GB", "cy": "cy-GB", "ar": "ar"}[lang], **extra})


# ---------------------------------------------------------------------------------------
# What is measured on a page

WIDTH_JS = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"

# The focused control (a hidden radio or tick box is seen as its label) and anything sticky
# or fixed that overlaps it, or that it is out of view.
OBSCURED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shown = (el.type === 'radio' || el.type === 'checkbox') && el.labels.length
      ? el.labels[0] : el;
  const box = shown.getBoundingClientRect();
  const name = (shown.innerText || el.value || el.getAttribute('aria-label') || el.tagName)
      .trim().replace(/\\s+/g, ' ').slice(0, 50);
  for (const cover of document.querySelectorAll('body *')) {
    const position = getComputedStyle(cover).position;
    if ((position !== 'sticky' && position !== 'fixed') || cover.contains(el)) continue;
    const c = cover.getBoundingClientRect();
    const x = Math.min(box.right, c.right) - Math.max(box.left, c.left);
    const y = Math.min(box.bottom, c.bottom) - Math.max(box.top, c.top);
    if (x > 0 && y > 0) {
      return `"${name}" is ${Math.round(y)} of its ${Math.round(box.height)} px under the ` +
             `${cover.tagName.toLowerCase()}`;
    }
  }
  if (box.bottom <= 0 || box.top >= innerHeight) return `"${name}" is out of view`;
  return null;
}"""

# Start the next Tab from the top of the page, wherever focus was before.
FROM_THE_TOP_JS = """() => {
  const start = document.createElement('span');
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
  start.remove();
  window.scrollTo(0, 0);
}"""

FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {index: [...document.querySelectorAll('*')].indexOf(el),
          tag: el.tagName.toLowerCase(), exit: el.hasAttribute('data-exit'),
          skip: el.classList.contains('skip-link'),
          summary: el.classList.contains('error-summary'), id: el.id};
}"""

# After following an error-summary link: the control it names is in view, clear of any sticky
# header, and so is its question (label or legend) whenever the two fit on the screen together.
LINKED_FIELD_JS = """(href) => {
  const el = document.activeElement;
  const id = href.slice(1);
  if (!el || el.id !== id) return `the link did not move focus to #${id}`;
  const field = el.closest('.field') || el.parentElement;
  const question = field.querySelector('legend, label');
  const control = (el.type === 'radio' || el.type === 'checkbox') && el.labels.length
      ? el.labels[0] : el;
  let top = 0;
  for (const cover of document.querySelectorAll('body *')) {
    const position = getComputedStyle(cover).position;
    if (position === 'sticky' || position === 'fixed') {
      top = Math.max(top, cover.getBoundingClientRect().bottom);
    }
  }
  const problems = [];
  const q = question.getBoundingClientRect(), c = control.getBoundingClientRect();
  const room = innerHeight - top;
  if (c.top < top - 1 || c.top >= innerHeight || (c.height <= room && c.bottom > innerHeight + 1)) {
    problems.push(`its control is not in view (${Math.round(c.top)} to ${Math.round(c.bottom)}` +
                  `, header to ${Math.round(top)}, screen to ${innerHeight})`);
  }
  if (c.bottom - q.top <= room && q.top < top - 1) {
    problems.push(`its question is hidden (top ${Math.round(q.top)}, ` +
                  `header to ${Math.round(top)})`);
  }
  return problems.length ? `#${id}: ` + problems.join('; ') : null;
}"""

# An invalid control tells assistive technology so, and points at its message: a radio
# group on its fieldset, anything else on itself.
INVALID_MARKED_JS = """(id) => {
  const el = document.getElementById(id);
  const holder = el.type === 'radio' ? el.closest('fieldset') : el;
  const describedBy = (holder.getAttribute('aria-describedby') || '').split(/\\s+/);
  const message = describedBy.map(i => document.getElementById(i))
      .find(m => m && m.classList.contains('error-message'));
  const problems = [];
  if (holder.getAttribute('aria-invalid') !== 'true') problems.push('no aria-invalid');
  if (!message) problems.push('aria-describedby does not name its error message');
  return problems.length ? `#${id}: ` + problems.join(', ') : null;
}"""


def shape_differs(before: bytes, after: bytes) -> bool:
    """True if two screenshots differ once reduced to black and white: a change of shape
    (a tick, a dot, a thicker border), not only of colour."""
    def ink(png: bytes):
        with Image.open(io.BytesIO(png)) as image:
            return image.convert("L").point(lambda v: 255 if v > 127 else 0)
    a, b = ink(before), ink(after)
    if a.size != b.size:
        return True
    histogram = ImageChops.difference(a, b).histogram()
    return sum(histogram) - histogram[0] >= 20


def one_colour(png: bytes) -> bool:
    """True if nearly all of a screenshot is one colour: a tile painted over."""
    with Image.open(io.BytesIO(png)) as image:
        counts = sorted(image.convert("L").histogram(), reverse=True)
    return counts[0] >= .995 * sum(counts)


class Walk:
    """A person going through pages at one size in one language, noting what goes wrong."""

    def __init__(self, page: Page, check, lang: str, size: str) -> None:
        self.page, self.check, self.lang, self.size = page, check, lang, size
        self.width = VIEWPORTS[size][0]
        self.problems: list[str] = []
        self.pages = 0

    def note(self, label: str, problem: str | None) -> None:
        if problem:
            self.problems.append(f"{label}: {problem}")

    def expect(self, label: str, assertion) -> None:
        """A check on names and descriptions, noted rather than stopping the walk."""
        try:
            assertion()
        except AssertionError as error:
            self.note(label, str(error).splitlines()[0] + " " + " ".join(
                line.strip() for line in str(error).splitlines() if "Actual" in line))

    def visit(self, label: str, child: bool = True) -> None:
        """Every check that any page must pass."""
        page = self.page
        page.wait_for_load_state("load")
        self.pages += 1
        self.check(page, label)
        width = page.evaluate(WIDTH_JS)
        if width > self.width:
            self.note(label, f"{width} px wide on a {self.width} px screen")
        self.tab_through(label, child)
        if child:
            leave = words(self.lang, "Leave this page quickly")
            named = page.get_by_role("link", name=leave).or_(page.get_by_role("button", name=leave))
            if named.count() != 1:
                self.note(label, f"{named.count()} controls are called {leave!r}: a screen "
                                 "reader or voice control cannot tell the quick exit apart")

    def tab_through(self, label: str, child: bool) -> None:
        """Tab from the top to the end, then Shift+Tab back to the top, checking each stop."""
        page = self.page
        page.evaluate(FROM_THE_TOP_JS)
        stops = []
        for key in ("Tab", "Shift+Tab"):
            for _ in range(150):
                page.keyboard.press(key)
                focused = page.evaluate(FOCUSED_JS)
                if focused is None or (key == "Shift+Tab" and focused == stops[0]):
                    break
                stops.append(focused)
                hidden = page.evaluate(OBSCURED_JS)
                self.note(label, hidden and f"{key}: {hidden}")
            else:
                self.note(label, f"{key} never reached the end of the page")
        if child and not (len(stops) > 1 and stops[0]["skip"] and stops[1]["exit"]):
            self.note(label, "the quick exit is not the first stop after the skip link")
        page.evaluate("document.activeElement.blur()")  # the skip link hides again

    def error_page(self, label: str, fields: int, child: bool = True) -> None:
        """An error page: title, focus on the summary, marked fields, links into view."""
        page = self.page
        page.wait_for_load_state("load")
        prefix = words(self.lang, "Error:")
        if not page.title().startswith(prefix):
            self.note(label, f"the title {page.title()!r} does not start with {prefix!r}")
        focused = page.evaluate(FOCUSED_JS)
        if not (focused and focused["summary"]):
            self.note(label, f"the error summary is not focused when the page opens "
                             f"(focus is on {focused})")
        links = page.locator(".error-summary a")
        if links.count() != fields:
            self.note(label, f"{links.count()} errors instead of {fields}")
        for index in range(links.count()):
            href = links.nth(index).get_attribute("href")
            self.note(label, page.evaluate(INVALID_MARKED_JS, href[1:]))
            links.nth(index).focus()
            page.keyboard.press("Enter")
            self.note(label, page.evaluate(LINKED_FIELD_JS, href))
            page.evaluate("window.scrollTo(0, 0)")
        self.visit(label, child)

    def ticked_state_shows(self, label: str, value: str, name: str | None = None) -> None:
        """In forced colours, the answer ``value`` ticked must look different from unticked,
        in shape as well as colour."""
        page = self.page
        selector = f"input[value='{value}']" + (f"[name='{name}']" if name else "")
        choice = page.locator(selector).first
        group = page.locator(f"input[name='{choice.get_attribute('name')}']")
        saved = group.evaluate_all("inputs => inputs.map(i => i.checked)")
        picture = page.locator(f"label[for='{choice.get_attribute('id')}']")
        page.evaluate("document.activeElement.blur()")
        page.emulate_media(forced_colors="active")
        shots = []
        for ticked in (False, True):
            choice.evaluate("(input, ticked) => { input.checked = ticked; }", ticked)
            picture.scroll_into_view_if_needed()
            shots.append(picture.screenshot(animations="disabled", caret="hide"))
        box = picture.bounding_box()  # held down by a finger or a mouse, it still shows
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        pressed = picture.screenshot(animations="disabled", caret="hide")
        page.mouse.up()
        page.emulate_media(forced_colors="none")
        group.evaluate_all("(inputs, saved) => inputs.forEach((i, n) => { i.checked = saved[n]; })",
                           saved)
        if not shape_differs(*shots):
            self.note(label, f"ticking {selector} does not show in forced colours")
        if one_colour(pressed):
            self.note(label, f"pressing {selector} hides it in forced colours")


def submit(page: Page) -> None:
    """Press the page's main button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator("main form .actions button[type=submit]").last.click()


def choose(page: Page, value: str, name: str | None = None) -> None:
    page.locator(f"input[value='{value}']" + (f"[name='{name}']" if name else "")).first.check()


@pytest.mark.slow
@pytest.mark.parametrize("size,lang", MATRIX)
def test_every_child_page_beyond_axe(browser, browser_context_args, live_app, live_demo,
                                     check, size, lang, tmp_path):
    context = context_for(browser, browser_context_args, size, lang)
    context.set_default_timeout(10_000)
    page = context.new_page()
    walk = Walk(page, check, lang, size)
    url, codes = live_app.url, [i["code"] for i in live_demo["invites"]]

    page.goto(f"{url}/?lang={lang}")
    walk.visit("start")
    page.fill("#code", "ABCD-EFGH-JKMN")
    submit(page)
    walk.error_page("start-wrong-code", 1)
    page.fill("#code", codes[0])
    submit(page)
    walk.visit("welcome")
    submit(page)

    page.goto(f"{url}/how")
    walk.visit("how")
    walk.ticked_state_shows("how", "pictures")
    choose(page, "pictures")
    submit(page)

    page.goto(f"{url}/going-well")
    walk.visit("going-well-faces")
    walk.ticked_state_shows("going-well-faces", "happy")
    choose(page, "happy")
    submit(page)
    walk.visit("going-well-pictures")
    walk.ticked_state_shows("going-well-pictures", "pets")
    choose(page, "pets")
    submit(page)
    page.goto(f"{url}/going-well?item=4")
    box = page.locator("textarea")
    question = re.escape(words(lang, "What is going well for you?"))
    walk.expect("going-well-words", lambda: expect(box).to_have_accessible_name(
        re.compile(question), timeout=1000))
    hint = re.escape(words(lang, "Think about what makes you happy, or what is going well. "
                                 "You can skip this."))
    walk.expect("going-well-words", lambda: expect(box).to_have_accessible_description(
        re.compile(hint), timeout=1000))
    submit(page)

    page.goto(f"{url}/worries?item=4")
    page.locator("textarea").fill("a" * 5001)
    submit(page)
    walk.error_page("worries-too-long", 1)
    page.goto(f"{url}/worries?item=2")
    not_a_photo = tmp_path / "drawing.jpg"
    not_a_photo.write_bytes(b"this is not a photo")
    page.locator("#photo").set_input_files(not_a_photo)
    with page.expect_navigation():
        page.locator("#photo").evaluate("input => input.form.requestSubmit()")
    walk.error_page("worries-bad-photo", 1)

    page.goto(f"{url}/hopes")
    walk.visit("hopes-pictures")

    page.goto(f"{url}/safe")
    walk.visit("safe")
    for score, meaning in (("0", "not safe at all"), ("10", "safe and good")):
        radio = page.locator(f"input[name=score][value='{score}']")
        walk.expect("safe", lambda: expect(radio).to_have_accessible_name(
            re.compile(f"^{score}\\b.*{re.escape(words(lang, meaning))}"), timeout=1000))
    walk.ticked_state_shows("safe", "5")
    walk.ticked_state_shows("safe", "declined")
    page.locator("input[name=score]").first.evaluate(
        "input => { input.value = 'eleven'; input.checked = true; }")
    submit(page)
    walk.error_page("safe-not-a-choice", 1)
    page.goto(f"{url}/safe")
    choose(page, "2")
    submit(page)
    walk.visit("support")

    page.goto(f"{url}/help")
    walk.visit("help")
    walk.ticked_state_shows("help", "someone_else")
    choose(page, "someone_else")
    submit(page)  # in pictures mode, their name has a screen of its own
    page.fill("#someone_name", "N" * 150)
    submit(page)
    walk.error_page("help-name-too-long", 1)
    page.goto(f"{url}/help?item=1")
    page.fill("#someone_name", "Aunt Mo")
    submit(page)

    page.goto(f"{url}/meeting")
    walk.visit("meeting")
    walk.ticked_state_shows("meeting", "some")
    page.goto(f"{url}/sharing")
    walk.visit("sharing")
    walk.ticked_state_shows("sharing", "ask")
    page.goto(f"{url}/check")
    walk.visit("check")
    heard = page.locator("main").aria_snapshot()
    if EMOJI.search(heard):
        walk.note("check", f"emoji are read out: {sorted(set(EMOJI.findall(heard)))}")

    page.goto(f"{url}/how")
    choose(page, "words")
    submit(page)
    page.goto(f"{url}/going-well")
    walk.visit("going-well-words")
    page.goto(url + live_demo["invites"][1]["url"])
    walk.visit("switch")
    page.goto(f"{url}/check")
    page.locator("main form .actions button[type=submit]").click()
    walk.visit("sent")
    page.goto(f"{url}/leaving-quickly")
    walk.visit("about-leaving")
    page.goto(f"{url}/no-such-page")
    walk.visit("not-found")
    context.close()
    assert walk.pages >= 20
    assert not walk.problems, f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems)


def with_big_text_and_wide_spacing(page: Page) -> None:
    """200% text and the WCAG 1.4.12 spacing, as a reader's own style sheet sets them."""
    page.add_style_tag(content=TEXT_SPACING)


@pytest.mark.slow
@pytest.mark.parametrize("size,lang", MATRIX)
def test_child_pages_do_not_scroll_sideways_with_big_text_and_wide_spacing(
        browser, browser_context_args, live_app, live_demo, size, lang):
    """(A strict CSP blocks the injected style, so this context bypasses it.)"""
    context = context_for(browser, browser_context_args, size, lang, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    url, width = live_app.url, VIEWPORTS[size][0]
    wide = []

    def measure(label: str) -> None:
        with_big_text_and_wide_spacing(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"big-text-{size}-{lang}-{label}.png", full_page=True)
        measured = page.evaluate(WIDTH_JS)
        if measured > width:
            wide.append(f"{label}: {measured} px")

    page.goto(f"{url}/?lang={lang}")
    measure("start")
    page.fill("#code", "ABCD-EFGH-JKMN")
    submit(page)
    measure("start-wrong-code")
    page.fill("#code", live_demo["invites"][0]["code"])
    submit(page)
    measure("welcome")
    submit(page)
    choose(page, "pictures")
    submit(page)
    for path in ("how", "going-well", "safe", "safe/support", "help", "meeting", "sharing",
                 "check", "leaving-quickly"):
        page.goto(f"{url}/{path}")
        measure(path.replace("/", "-"))
    page.goto(f"{url}/how")
    choose(page, "words")
    submit(page)
    measure("going-well-words")
    context.close()
    assert not wide, f"wider than the {width} px screen: {wide}"


def staff_signs_in(page: Page, url: str, account: dict, lang: str) -> None:
    page.goto(f"{url}/staff/sign-in?lang={lang}")
    page.fill("#email", account["email"])
    page.fill("#password", account["password"])
    submit(page)
    page.fill("#code", pyotp.TOTP(account["totp_secret"]).now())
    submit(page)
    expect(page.locator(".bar nav")).to_be_visible()


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_pages_at_400_percent_zoom_and_with_big_text(browser, browser_context_args,
                                                           live_app, live_demo, check, lang):
    """The coordinator's and advocate's pages at 320 x 256; the same pages with 200% text and
    wide spacing at 320 x 568; error pages focus their summary and bring each field into view."""
    url = live_app.url
    context = context_for(browser, browser_context_args, "320x256", lang)
    context.set_default_timeout(10_000)
    page = context.new_page()
    walk = Walk(page, check, lang, "320x256")

    page.goto(f"{url}/staff/sign-in?lang={lang}")
    walk.visit("sign-in", child=False)
    submit(page)
    walk.error_page("sign-in-empty", 2, child=False)
    staff_signs_in(page, url, live_demo["coordinator"], lang)
    visited = []

    def visit(label: str) -> None:
        visited.append(page.url)
        walk.visit(label, child=False)

    visit("conferences")
    page.goto(f"{url}/admin/conferences/new?lang={lang}")
    submit(page)
    walk.error_page("new-conference-empty", 4, child=False)
    page.goto(f"{url}/admin/?lang={lang}")
    page.get_by_role("link", name="CP-DEMO-0001").click()
    page.locator("select[name=advocate]").first.select_option(label="Jo Patel")
    page.locator("form:has(select[name=advocate]) button").first.click()
    visit("conference")
    page.locator("main form .actions button[type=submit]").last.click()
    visit("invite-card")
    page.goto(f"{url}/admin/staff?lang={lang}")
    submit(page)
    walk.error_page("staff-empty", 3, child=False)
    page.fill("#name", "Alex Morgan-Fitzwilliam")
    page.fill("#email", "alex.morgan-fitzwilliam@children.example-council.gov.uk")
    choose(page, "chair")
    submit(page)
    visit("staff-with-link")
    page.locator("tr", has_text="Alex Morgan").locator("a[href$='/reset']").click()
    page.locator("main form button[type=submit]").click()
    visit("sign-in-link")
    for path, label in (("/admin/settings", "settings"), ("/admin/numbers", "numbers"),
                        ("/admin/audit", "audit"), ("/admin/services/new", "service"),
                        ("/staff/account", "account")):
        page.goto(f"{url}{path}?lang={lang}")
        visit(label)

    spaced = browser.new_context(**{**browser_context_args, "bypass_csp": True,
                                    "storage_state": context.storage_state(),
                                    "viewport": {"width": 320, "height": 568}})
    spaced_page = spaced.new_page()
    for address in visited:
        spaced_page.goto(address)
        with_big_text_and_wide_spacing(spaced_page)
        measured = spaced_page.evaluate(WIDTH_JS)
        if measured > 320:
            walk.note(address, f"{measured} px wide with 200% text and wide spacing")
    spaced.close()

    context.close()
    advocate = context_for(browser, browser_context_args, "320x256", lang).new_page()
    walk.page = advocate
    staff_signs_in(advocate, url, live_demo["advocate"], lang)
    advocate.goto(f"{url}/advocate/?lang={lang}")
    advocate.locator("main a[href*='/advocate/children/']").first.click()
    advocate.locator("main a[href*='/record']").click()
    submit(advocate)
    walk.error_page("record-views-empty", 3, child=False)
    advocate.context.close()
    assert not walk.problems, f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems)


def child_starts(page: Page, url: str, code: str, lang: str = "en") -> None:
    page.goto(f"{url}/?lang={lang}")
    page.fill("#code", code)
    submit(page)
    submit(page)  # "Start" on the welcome page
    page.wait_for_load_state("load")


@pytest.mark.parametrize("lang", ("en", "cy"))
def test_nothing_typed_is_cut_off_and_a_count_says_how_far_over(page: Page, live_app,
                                                                 live_demo, lang):
    child_starts(page, live_app.url, live_demo["invites"][0]["code"], lang)
    too_many = words(lang, "You have %(count)s characters too many")
    page.goto(f"{live_app.url}/worries")
    box = page.locator("textarea")
    box.fill("w" * 5010)
    assert len(box.input_value()) == 5010
    expect(page.locator("#text-count")).to_have_text(too_many % {"count": "10"})
    submit(page)
    expect(page).to_have_title(re.compile("^" + re.escape(words(lang, "Error:"))))
    assert len(page.locator("textarea").input_value()) == 5010  # kept, to shorten

    page.goto(f"{live_app.url}/help")
    choose(page, "someone_else")
    if page.locator("#someone_name").count() == 0:  # pictures mode: the name's own screen
        submit(page)
    name = page.locator("#someone_name")
    name.fill("N" * 150)
    assert len(name.input_value()) == 150
    expect(page.locator("#someone_name-count")).to_have_text(too_many % {"count": "50"})
    submit(page)
    expect(page).to_have_title(re.compile("^" + re.escape(words(lang, "Error:"))))
    assert page.locator("#someone_name").input_value() == "N" * 150


COLOUR_EMOJI_FONTS = {"Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji",
                      "Segoe UI Symbol", "Twemoji Mozilla", "EmojiOne Color"}


def fonts_drawing(page: Page, cdp, selector: str) -> dict[str, set[str]]:
    """For each element matching ``selector``, the fonts Chromium drew it with."""
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    drawn = {}
    for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]:
        text = re.sub("<[^>]+>", "", cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"])
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        drawn[text] = {font["familyName"] for font in fonts}
    return drawn


def test_every_face_and_picture_is_drawn_in_colour(page: Page, live_app, live_demo):
    """No face falls back to a black outline from a text font that happens to have it
    (words mode: pictures mode draws its own symbols, and needs no emoji font)."""
    child_starts(page, live_app.url, live_demo["invites"][0]["code"])
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    page.goto(f"{live_app.url}/how")
    choose(page, "words")
    submit(page)
    drawn = {}
    for path in ("how", "going-well", "safe", "help", "meeting", "sharing"):
        page.goto(f"{live_app.url}/{path}")
        drawn.update(fonts_drawing(page, cdp, ".emoji"))
    if not any(fonts & COLOUR_EMOJI_FONTS for fonts in drawn.values()):
        pytest.skip("no colour emoji font is installed (Debian: fonts-noto-color-emoji)")
    outlines = {emoji: fonts for emoji, fonts in drawn.items()
                if not fonts <= COLOUR_EMOJI_FONTS}
    assert len(drawn) > 20  # the faces, the 0-10 scale and the answers with an emoji
    assert not outlines, f"drawn without a colour emoji font: {outlines}"


def test_without_javascript_errors_take_focus_and_nothing_is_cut_off(
        browser, browser_context_args, live_app, live_demo):
    context = browser.new_context(**{**browser_context_args, "java_script_enabled": False})
    page = context.new_page()
    page.goto(f"{live_app.url}/")
    page.fill("#code", "ABCD-EFGH-JKMN")
    submit(page)
    expect(page.locator(".error-summary")).to_be_focused()  # by autofocus alone
    page.fill("#code", live_demo["invites"][0]["code"])
    submit(page)
    submit(page)
    page.goto(f"{live_app.url}/worries")
    expect(page.locator("#text-count")).to_have_text("You can write up to 5,000 characters.")
    page.locator("textarea").fill("w" * 5001)
    submit(page)
    expect(page.locator(".error-summary")).to_be_focused()
    assert len(page.locator("textarea").input_value()) == 5001
    context.close()


@pytest.mark.parametrize("lang", ("en", "ar"))
def test_with_big_text_the_header_never_hides_what_has_focus(browser, browser_context_args,
                                                             live_app, live_demo, lang):
    """200% text makes the header tall: Tab and Shift+Tab through a child page at 320 x 568
    never leave the focused control under it (WCAG 2.4.11)."""
    context = context_for(browser, browser_context_args, "320x568", lang, bypass_csp=True)
    page = context.new_page()
    child_starts(page, live_app.url, live_demo["invites"][1]["code"], lang)
    problems = []
    for path in ("going-well", "safe", "check"):
        page.goto(f"{live_app.url}/{path}")
        with_big_text_and_wide_spacing(page)
        page.wait_for_timeout(100)  # the header is measured again when its size changes
        for key in ("Tab", "Shift+Tab"):
            page.evaluate(FROM_THE_TOP_JS)
            for _ in range(30):
                page.keyboard.press(key)
                hidden = page.evaluate(OBSCURED_JS)
                if hidden:
                    problems.append(f"{path} {key}: {hidden}")
    context.close()
    assert not problems, "\n".join(problems)
