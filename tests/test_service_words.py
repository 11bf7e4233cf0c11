"""Advocacy services in the child's language: names, what they do, how to reach them, and
sentences built from whole phrases (in English, Welsh and Arabic).

The demo's Children's Rights Officer (service 1) has Welsh and Arabic words and a phone
number; the demo offers Welsh and Arabic.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from voiceapp.models import AdvocacyService

from .conftest import add_staff, staff_the_other_service
from .evidence import change_as_voiceapp, newest_submission

WORDS = {
    "en": {"name": "Children's Rights Officer",
           "question": "Can the Children's Rights Officer see what you said too?",
           "told": "We will tell the Children's Rights Officer that you would like their help.",
           "description": "Someone from the council whose job is to listen to you"},
    "cy": {"name": "Swyddog Hawliau Plant", "in_a_sentence": "y Swyddog Hawliau Plant",
           "description": "Rhywun o'r cyngor sydd â'r gwaith o wrando arnat ti"},
    "ar": {"name": "مسؤول حقوق الأطفال", "in_a_sentence": "مسؤول حقوق الأطفال",
           "description": "شخص من المجلس عمله أن يستمع إليك"},
}
TEL = 'href="tel:01632960456"'


def body(page) -> str:
    return page.get_data(as_text=True)


def chooses_the_officer(child, lang: str):
    child.opens_invite()
    child.opens(f"/welcome?lang={lang}")
    child.starts()
    child.answers("/help", helper="service:1")
    return child.opens("/sharing")


@pytest.mark.parametrize("lang", ["cy", "ar"])
def test_the_helper_page_names_and_describes_each_service_in_the_childs_language(child, lang):
    child.opens_invite()
    child.opens(f"/welcome?lang={lang}")
    child.starts()
    page = child.opens("/help")
    assert WORDS[lang]["name"] in child.sees
    assert WORDS[lang]["description"] in child.sees
    assert "Children's Rights Officer" not in child.sees
    assert "Someone from the council" not in child.sees
    assert TEL in body(page)  # the number is shown, and a tap rings it


def test_the_helper_page_shows_how_to_contact_each_service(app, child):
    staff_the_other_service(app)
    child.opens_invite()
    child.starts()
    page = child.opens("/help")
    assert "You can also contact them yourself" in child.sees
    assert f'<a {TEL} dir="ltr">01632 960 456</a>' in body(page)
    assert 'href="mailto:advocacy@example.org"' in body(page)


def test_the_sharing_question_is_a_whole_sentence_in_english(child):
    chooses_the_officer(child, "en")
    assert WORDS["en"]["question"] in child.sees


@pytest.mark.parametrize("lang", ["cy", "ar"])
def test_the_sharing_question_names_the_service_in_the_childs_language(child, lang):
    page = chooses_the_officer(child, lang)
    assert f"<bdi>{WORDS[lang]['in_a_sentence']}</bdi>" in body(page)
    assert "Children's Rights Officer" not in child.sees


def test_an_arabic_sentence_keeps_an_english_name_apart_and_says_it_is_english(app, child):
    """A service not yet named in Arabic is shown wholly in English, marked as English and
    isolated so the Arabic question mark stays at the end of the Arabic sentence."""
    change_as_voiceapp(app, AdvocacyService, AdvocacyService.id == 1, translations={})
    page = chooses_the_officer(child, "ar")
    assert '<bdi lang="en-GB">the Children&#39;s Rights Officer</bdi>' in body(page)


def test_the_check_page_lists_who_can_see_in_the_childs_language(child):
    chooses_the_officer(child, "cy")
    child.answers("/sharing", share_service="yes")
    page = child.opens("/check")
    readers = re.search(r'<ul class="readers">(.*?)</ul>', body(page), re.S).group(1)
    assert "Swyddog Hawliau Plant" in readers
    assert "Children" not in readers


@pytest.mark.parametrize("lang", ["en", "cy", "ar"])
def test_the_sent_page_says_who_will_be_told_and_how_to_reach_them(child, lang):
    chooses_the_officer(child, lang)
    child.answers("/sharing", share_service="no")
    child.opens("/check")
    page = child.sends()
    if lang == "en":
        assert WORDS["en"]["told"] in child.sees
    else:
        assert f"<bdi>{WORDS[lang]['in_a_sentence']}</bdi>" in body(page)
        assert "Children's Rights Officer" not in child.sees
    assert TEL in body(page)


def test_arabic_lists_use_the_arabic_comma(child):
    child.opens_invite()
    child.opens("/welcome?lang=ar")
    child.starts()
    child.answers("/how", mode="pictures")
    child.answers("/going-well", feelings=["happy", "calm"])
    child.opens("/check")
    assert "، " in child.sees
    assert re.search(r"[\u0600-\u06ff], ", child.sees) is None


def test_the_chair_and_advocate_see_the_service_in_their_language_with_its_contact(
        app, child, chair, advocate):
    chooses_the_officer(child, "cy")
    child.answers("/sharing", share_service="yes")
    child.opens("/check")
    child.sends()
    submission = newest_submission(app)
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(submission)
    assert "Children's Rights Officer" in chair.sees
    assert "Swyddog" not in chair.sees
    assert "Contact: 01632 960 456" in chair.sees and TEL in body(page)
    advocate.signs_in_and_unlocks()
    advocate.opens(f"/advocate/submissions/{submission}")
    assert "Contact: 01632 960 456" in advocate.sees


def test_the_childs_own_words_are_marked_with_the_language_they_wrote_in(app, child, chair):
    child.opens_invite()
    child.opens("/welcome?lang=cy")
    child.starts()
    child.answers("/how", mode="words")
    child.answers("/going-well", text="Mae'r ysgol yn dda")
    child.opens("/check")
    child.sends()
    chair.signs_in_and_unlocks()
    page = chair.opens_submission(newest_submission(app))
    assert '<span class="pre" dir="auto" lang="cy">Mae&#39;r ysgol yn dda</span>' in body(page)
    assert 'lang="cy">What is going well' not in body(page)  # the questions are the chair's


# --------------------------------------------------------------------------- coordinators

def service_form(lang_words: dict | None = None, **english) -> dict:
    data = {"name": "Riverside Young People's Advocacy",
            "in_a_sentence": "Riverside Young People's Advocacy",
            "description": "Someone on your side who helps you speak up.",
            "contact": "advocacy@example.org", "active": "y", **english}
    for code, words in (lang_words or {}).items():
        data.update({f"words_{code}-{key}": value for key, value in words.items()})
    return data


RIVERSIDE = {"cy": {"name": "Eiriolaeth Glan yr Afon",
                    "in_a_sentence": "Eiriolaeth Glan yr Afon",
                    "description": "Rhywun ar dy ochr di."},
             "ar": {"name": "مناصرة ريفرسايد", "in_a_sentence": "مناصرة ريفرسايد",
                    "description": "شخص في صفك."}}


def test_a_coordinator_names_a_service_in_every_offered_language(app, coordinator, child):
    coordinator.signs_in()
    page = coordinator.opens("/admin/services/new")
    assert "In Cymraeg" in coordinator.sees and "In العربية" in coordinator.sees
    assert 'dir="rtl" id="words_ar-name" lang="ar" name="words_ar-name"' in body(page)
    page = coordinator.fills_in("/admin/services/new", service_form(RIVERSIDE))
    assert page.status_code == 200
    with app.app_context():
        from voiceapp.db import db
        riverside = db.scalar(select(AdvocacyService.id).where(
            AdvocacyService.name == "Riverside Young People's Advocacy"))
    add_staff(app, "advocate", "riverside@example.org", "riverside phrase 333",
              service_id=riverside)
    child.opens_invite()
    child.opens("/welcome?lang=cy")
    child.starts()
    child.opens("/help")
    assert "Eiriolaeth Glan yr Afon" in child.sees and "Rhywun ar dy ochr di." in child.sees
    assert "Riverside" not in child.sees


def test_a_service_without_words_in_an_offered_language_is_refused_kindly(app, coordinator):
    coordinator.signs_in()
    page = coordinator.fills_in("/admin/services/new",
                                service_form({"ar": RIVERSIDE["ar"]}, in_a_sentence=""))
    assert page.status_code == 400
    assert "Enter the name in Cymraeg" in coordinator.sees
    assert "Enter what they do in Cymraeg" in coordinator.sees
    assert "Enter the name as it goes inside a sentence" in coordinator.sees
    assert "مناصرة ريفرسايد" in body(page)  # what was typed is kept
    with app.app_context():
        from voiceapp.db import db
        assert db.scalar(select(AdvocacyService).where(
            AdvocacyService.name.like("Riverside%"))) is None


def test_settings_say_which_services_need_words_in_an_offered_language(app, coordinator):
    change_as_voiceapp(app, AdvocacyService, AdvocacyService.id == 2, translations={},
                       in_a_sentence="")
    coordinator.signs_in()
    coordinator.opens("/admin/settings")
    assert "Needs words in: English, العربية, Cymraeg" in coordinator.sees
    assert coordinator.sees.count("Needs words in") == 1


def test_words_in_a_language_no_longer_offered_are_kept(app, coordinator):
    coordinator.signs_in()
    coordinator.fills_in("/admin/settings", {
        "name": "Demo", "exit_url": "https://www.bbc.co.uk/weather", "languages": ["cy"],
        "retention_days_after_recorded": "30", "retention_days_after_meeting": "90"})
    page = coordinator.fills_in("/admin/services/1", service_form(
        {"cy": WORDS["cy"] | {"description": "Newydd"}}, name="Children's Rights Officer",
        in_a_sentence="the Children's Rights Officer"))
    assert page.status_code == 200, coordinator.sees
    with app.app_context():
        from voiceapp.db import db
        service = db.get(AdvocacyService, 1)
        assert service.translations["cy"]["description"] == "Newydd"
        assert service.translations["ar"]["name"] == WORDS["ar"]["name"]


def test_characters_that_turn_text_around_are_taken_out_of_a_services_words(app, coordinator,
                                                                            child):
    """A right-to-left override typed into a service's name would reverse the sentence
    around it on every child's page."""
    coordinator.signs_in()
    page = coordinator.fills_in("/admin/services/1", service_form(
        RIVERSIDE, name="Helpline\u202e", in_a_sentence="the \u2067Helpline",
        contact="0800 1111\u200f"))
    assert page.status_code == 200 and page.request.path != "/admin/services/1"
    child.opens_invite()
    child.starts()
    page = child.opens("/help")
    for control in ("\u202e", "\u2067", "\u200f"):
        assert control not in body(page)
    assert "Helpline" in child.sees


@pytest.mark.parametrize("hidden", ["CRO\x00x", "CRO\x1b[31m", "C\u200bRO", "CRO\U000e0041",
                                    "C" + "\u0301" * 60, "CRO\u3164", "CRO\u2800"])
def test_a_services_words_are_letters_numbers_spaces_and_punctuation(app, coordinator, hidden):
    """What a child reads and hears of a service is checked like a meeting's place and a
    person's name: nothing invisible, no control characters, no pile of accents."""
    coordinator.signs_in()
    for field in ("name", "in_a_sentence", "description", "contact"):
        page = coordinator.fills_in("/admin/services/1", service_form(**{field: hidden}))
        assert page.status_code == 400, (field, repr(hidden))
        assert "Use letters, numbers, spaces and punctuation" in coordinator.sees
    welsh = {**RIVERSIDE, "cy": {**RIVERSIDE["cy"], "name": "Eiriolaeth" + hidden}}
    page = coordinator.fills_in("/admin/services/1", service_form(welsh))
    assert page.status_code == 400
    assert "Use letters, numbers, spaces and punctuation" in coordinator.sees


def test_a_services_words_pasted_with_odd_spaces_and_lines_are_one_plain_line(app,
                                                                               coordinator):
    coordinator.signs_in()
    page = coordinator.fills_in("/admin/services/1", service_form(
        RIVERSIDE, name="Riverside\u00a0Advocacy", description="Someone on your side.\r\n"
                                                               "They help you speak up."))
    assert page.status_code == 200
    with app.app_context():
        from voiceapp.db import db
        service = db.get(AdvocacyService, 1)
    assert service.name == "Riverside Advocacy"
    assert service.description == "Someone on your side. They help you speak up."
