"""Languages: every shipped catalogue is complete, pages render in Welsh, Arabic runs right to left.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from .people import visible_text

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(ROOT.glob("translations/*/LC_MESSAGES/messages.po"))
LOCALES = [path.parent.parent.name for path in CATALOGUES]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%s|%d")


def source_messages() -> set[str]:
    """Every message the code and templates ask to translate, extracted afresh."""
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for path, method in (("voiceapp", "python"), ("templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / path, [(pattern, method)], keywords=keywords,
                options_map={pattern: {"extensions": "jinja2.ext.do"}}):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _singular(message_id) -> str:
    """A plural message's id is (singular, plural); a plain one is a string."""
    return message_id[0] if isinstance(message_id, tuple) else message_id


def _forms(string) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


def catalogue(locale: str):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_welsh_and_arabic_are_shipped():
    assert {"cy", "ar"} <= set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    messages = source_messages()
    assert len(messages) > 100
    translated = {_singular(m.id): m for m in catalogue(locale) if m.id}
    missing = sorted(m for m in messages if m not in translated
                     or not all(_forms(translated[m].string)) or translated[m].fuzzy)
    assert not missing, f"{locale} is missing {len(missing)}: {missing[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale):
    for message in catalogue(locale):
        if message.id and message.string:
            expected = sorted(PLACEHOLDER.findall(_singular(message.id)))
            if isinstance(message.string, tuple):  # a plural form may leave the number out
                for form in message.string:
                    assert set(PLACEHOLDER.findall(form)) <= set(expected), message.id
            else:
                assert sorted(PLACEHOLDER.findall(message.string)) == expected, message.id


def _translation(locale: str, english: str) -> str:
    return catalogue(locale)[english].string


def test_a_page_renders_in_welsh(client):
    response = client.get("/?lang=cy")
    body = response.get_data(as_text=True)
    assert '<html lang="cy" dir="ltr">' in body
    assert _translation("cy", "Tell us what you think") in visible_text(response)
    assert _translation("cy", "Leave this page quickly") in visible_text(response)


def test_the_language_choice_is_remembered(child):
    child.opens("/?lang=cy")
    child.opens_invite()
    assert _translation("cy", "Before you start") in child.sees


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    response = client.get("/", headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"})
    assert '<html lang="cy"' in response.get_data(as_text=True)


def test_english_is_the_default(client):
    response = client.get("/", headers={"Accept-Language": "xx"})
    assert '<html lang="en-GB" dir="ltr">' in response.get_data(as_text=True)


def test_arabic_runs_right_to_left(client, demo):
    response = client.get("/?lang=ar")
    body = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in body
    assert _translation("ar", "Tell us what you think") in visible_text(response)


def test_a_language_the_organisation_does_not_offer_is_not_used(app, client, demo):
    from sqlalchemy import update

    from voiceapp.models import Organisation
    with app.app_context():
        from voiceapp.db import db
        db.execute(update(Organisation).values(languages=""))
        db.commit()
    body = client.get("/?lang=ar").get_data(as_text=True)
    assert '<html lang="en-GB"' in body


def test_the_language_list_names_each_language_in_itself(client, demo):
    text = visible_text(client.get("/"))
    assert "Cymraeg" in text and "العربية" in text and "English" in text


# --------------------------------------------------------------------------- every page

def _question_page(child, path: str = "/worries"):
    child.opens_invite()
    child.starts()
    return child.opens(path)


@pytest.mark.parametrize("path", ["/how", "/going-well", "/worries", "/hopes", "/safe",
                                  "/help", "/meeting", "/sharing"])
def test_every_question_page_offers_the_languages_as_buttons_that_send_its_form(child, path):
    body = _question_page(child, path).get_data(as_text=True)
    assert 'id="page-form"' in body
    for code in ("cy", "ar"):
        assert re.search(rf'<button type="submit" form="page-form" name="lang" '
                         rf'value="{code}"', body)
    assert '<span aria-current="true" lang="en-GB">English</span>' in body


@pytest.mark.parametrize("path", ["/check", "/safe/support", "/leaving-quickly"])
def test_pages_without_a_question_offer_the_languages_as_links(child, path):
    body = _question_page(child, path).get_data(as_text=True)
    assert re.search(r'<a href="/[^"]*\?lang=cy" lang="cy" hreflang="cy">Cymraeg</a>', body)


def test_choosing_a_language_on_a_question_page_keeps_what_was_typed(child):
    _question_page(child, "/worries")
    page = child.posts("/worries", {"text": "words typed in English", "lang": "cy"})
    assert page.request.path == "/worries"
    assert '<html lang="cy"' in page.get_data(as_text=True)
    assert "words typed in English" in page.get_data(as_text=True)
    assert _translation("cy", "What are you worried about?") in child.sees
    child.opens("/check")  # saved, as Continue would have
    assert "words typed in English" in child.sees
    assert '<html lang="cy"' in child.page.get_data(as_text=True)


def test_a_language_button_on_the_safety_page_stays_there_even_with_a_low_score(child):
    _question_page(child, "/safe")
    page = child.posts("/safe", {"score": "1", "lang": "ar"})
    assert page.request.path == "/safe"
    assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)
    child.answers("/safe", score="1")
    assert child.page.request.path == "/safe/support"


def test_a_language_button_with_a_mistake_shows_the_mistake_in_that_language(child):
    _question_page(child, "/meeting")
    page = child.posts("/meeting", {"attend": "run-away", "lang": "cy"})
    assert page.status_code == 400
    assert _translation("cy", "Choose one of the answers, or leave them all empty.") in child.sees


def test_a_language_the_organisation_does_not_offer_cannot_be_chosen_with_a_button(child):
    _question_page(child, "/worries")
    page = child.posts("/worries", {"text": "kept", "lang": "fr"})
    assert page.request.path == "/hopes"  # an ordinary Continue
    assert '<html lang="en-GB"' in page.get_data(as_text=True)


def test_lang_en_and_en_gb_both_choose_english(client):
    client.get("/?lang=cy")
    for name in ("en", "en-GB", "en_GB"):
        client.get("/?lang=cy")
        page = client.get(f"/?lang={name}")
        assert '<html lang="en-GB"' in page.get_data(as_text=True), name
