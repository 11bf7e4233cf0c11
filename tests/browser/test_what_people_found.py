"""What people trying voiceapp found, checked as they met it: at 360 px, in English, Welsh
and Arabic, a child adds a photo and keeps it, changes language with a half-written answer,
chooses a helper from the advocacy service and sends, then adds something else; the chair
reads it on a phone; the coordinator names a service in each language and prints a card.
Every page is checked with axe-core and kept as a screenshot."""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from .test_beyond_axe import (
    LANGUAGES, WIDTH_JS, child_starts, choose, context_for, staff_signs_in, submit, words,
)

SERVICE = {"en": "Children's Rights Officer", "cy": "Swyddog Hawliau Plant",
           "ar": "مسؤول حقوق الأطفال"}
IN_A_SENTENCE = {"en": "the Children's Rights Officer", "cy": "y Swyddog Hawliau Plant",
                 "ar": "مسؤول حقوق الأطفال"}
OTHER = {"en": ("cy", "Cymraeg"), "cy": ("en", "English"), "ar": ("en", "English")}
HTML_LANG = {"en": "en-GB", "cy": "cy", "ar": "ar"}

# Every cell of every table lies inside the screen (nothing clipped, nothing to scroll to).
CELLS_OUTSIDE_JS = """() => [...document.querySelectorAll('table tbody td, table tbody th')]
  .filter(cell => cell.offsetParent !== null)
  .map(cell => cell.getBoundingClientRect())
  .filter(box => box.left < -1 || box.right > innerWidth + 1).length"""


def at_the_top_with_no_fragment(page: Page) -> str | None:
    if "#" in page.url:
        return f"{page.url} carries a #part"
    if page.evaluate("scrollY") != 0:
        return f"{page.url} opened scrolled down by {page.evaluate('scrollY')} px"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_child_adds_a_photo_changes_language_chooses_a_helper_and_adds_more(
        browser, browser_context_args, live_app, live_demo, check, lang, tmp_path):
    url, code = live_app.url, live_demo["invites"][0]["code"]
    context = context_for(browser, browser_context_args, "360x740", lang)
    context.set_default_timeout(10_000)
    page = context.new_page()
    child_starts(page, url, code, lang)
    choose(page, "words")
    submit(page)

    # A photo: a translated button, a preview before sending, then kept on the page.
    page.goto(f"{url}/worries")
    expect(page.locator("label.file-button[for=photo]")).to_have_text(
        words(lang, "Take or choose a photo"))
    expect(page.get_by_role("button", name=words(lang, "Add this photo"))).to_be_hidden()
    drawing = tmp_path / "drawing.png"
    Image.new("RGB", (400, 300), (250, 200, 40)).save(drawing)
    page.locator("#photo").set_input_files(drawing)
    preview = page.locator("img[data-file-preview]")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("blob:")
    expect(page.locator("#photo ~ .file-chosen [data-file-name]")).to_contain_text("drawing.png")
    check(page, f"photo-chosen-{lang}")
    with page.expect_navigation():
        page.get_by_role("button", name=words(lang, "Add this photo")).click()
    assert page.url.endswith("/worries#attachments")
    expect(page.locator(".attachments img")).to_be_visible()
    check(page, f"photo-kept-{lang}")
    submit(page)  # Continue: the next question opens at its top
    assert page.url.endswith("/hopes")
    assert at_the_top_with_no_fragment(page) is None, at_the_top_with_no_fragment(page)

    # Another language, with an answer half written: nothing is lost.
    other, name = OTHER[lang]
    page.locator("textarea").fill("to stay at my school")
    with page.expect_navigation():
        page.get_by_role("navigation", name=words(lang, "Choose your language")) \
            .get_by_role("button", name=name).click()
    assert page.url.endswith("/hopes")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[other])
    expect(page.locator("textarea")).to_have_value("to stay at my school")
    check(page, f"language-changed-{lang}-to-{other}")
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role(
            "button", name={"en": "English", "cy": "Cymraeg", "ar": "العربية"}[lang]).click()
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[lang])

    # The helper: the service in the child's language, and how to reach it.
    page.goto(f"{url}/help")
    expect(page.get_by_text(SERVICE[lang]).first).to_be_visible()
    expect(page.locator("a[href='tel:01632960456']")).to_be_visible()
    check(page, f"help-{lang}")
    choose(page, "service:1")
    submit(page)
    page.goto(f"{url}/sharing")
    question = page.locator("legend", has_text=IN_A_SENTENCE[lang])
    expect(question).to_be_visible()
    if lang != "en":
        expect(question).not_to_contain_text("Children's Rights Officer")
    check(page, f"sharing-{lang}")
    choose(page, "yes", "share_service")
    submit(page)
    check(page, f"check-{lang}")
    with page.expect_navigation():
        page.locator("main form[action$='/send'] button").click()
    expect(page.locator("a[href='tel:01632960456']")).to_be_visible()
    check(page, f"sent-{lang}")

    # Adding more: the choices are kept and it says so.
    with page.expect_navigation():
        page.locator("form[action$='/start-again'] button").click()
    assert page.url.endswith("/going-well")
    kept = words(lang, "You are adding more to what you sent. We kept what you chose last "
                       "time. That is who helps you, if you go to the meeting, and who can see "
                       "it. You can change them at the end.")
    expect(page.locator(".panel.calm").first).to_have_text(kept)
    check(page, f"adding-more-{lang}")
    page.goto(f"{url}/welcome")
    expect(page.locator("ul.sent-before li")).to_have_count(1)
    check(page, f"sent-before-{lang}")
    context.close()


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_tables_stack_on_a_phone_and_the_chair_sees_the_service(
        browser, browser_context_args, live_app, live_demo, check, lang):
    url, code = live_app.url, live_demo["invites"][0]["code"]
    child = context_for(browser, browser_context_args, "360x740", "en").new_page()
    child_starts(child, url, code)
    child.goto(f"{url}/help")
    choose(child, "service:1")
    submit(child)
    child.goto(f"{url}/check")
    child.locator("main form[action$='/send'] button").click()
    child.context.close()

    context = context_for(browser, browser_context_args, "360x740", lang)
    context.set_default_timeout(10_000)
    page = context.new_page()
    staff_signs_in(page, url, live_demo["chair"], lang)
    page.goto(f"{url}/chair/?lang={lang}")
    assert page.evaluate(WIDTH_JS) <= 360
    assert page.evaluate(CELLS_OUTSIDE_JS) == 0
    expect(page.locator("table.stack tbody tr").first).to_be_visible()
    check(page, f"chair-inbox-{lang}")
    page.locator("table.stack a").first.click()
    assert page.evaluate(CELLS_OUTSIDE_JS) == 0
    check(page, f"chair-conference-{lang}")
    page.locator("table.stack a").first.click()
    if page.locator("input[type=password]").count():  # the key is unlocked once
        page.fill("input[type=password]", live_demo["chair"]["passphrase"])
        submit(page)
    expect(page.locator("a[href='tel:01632960456']")).to_be_visible()
    check(page, f"chair-submission-{lang}")
    context.close()

    coordinator = context_for(browser, browser_context_args, "360x740", lang).new_page()
    staff_signs_in(coordinator, url, live_demo["coordinator"], lang)
    for path, label in (("/admin/", "conferences"), ("/admin/staff", "staff"),
                        ("/admin/services/1", "service"), ("/admin/invites/1/card", "card")):
        coordinator.goto(f"{url}{path}?lang={lang}")
        assert coordinator.evaluate(WIDTH_JS) <= 360, label
        assert coordinator.evaluate(CELLS_OUTSIDE_JS) == 0, label
        check(coordinator, f"coordinator-{label}-{lang}")
    card = coordinator.locator("section.card")
    expect(card.locator("p[lang=cy]")).to_have_count(4)  # Welsh first, then English
    expect(card.locator("p").first).to_have_attribute("lang", "cy")
    coordinator.context.close()
