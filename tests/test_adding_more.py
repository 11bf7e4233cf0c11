"""A child who adds something after sending: their choices are kept and said to be kept,
only the questions about what they think are asked again, and "What you sent before" tells
each sending apart (the first, one added later, one an advocate sent for them)."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from voiceapp.db import utcnow
from voiceapp.models import Submission

from .evidence import change_as_voiceapp, newest_submission, readers_of

KEPT = ("We kept what you chose last time. That is who helps you, if you go to the meeting, "
        "and who can see it.")


def sends_sharing_with_the_service(child):
    child.tells(worries="first worry", helper="service:1", attend="some",
                share_service="yes", share_parents="ask")
    child.sends()


def test_adding_more_keeps_the_choices_and_asks_only_what_is_new(app, child, advocate):
    sends_sharing_with_the_service(child)
    first = newest_submission(app)
    child.opens("/sent")
    child.posts("/start-again")
    assert child.page.request.path == "/going-well"
    assert KEPT in child.sees
    assert "Question 1 of 4" in child.sees
    child.answers("/going-well", text="")
    child.answers("/worries", text="something new")
    child.answers("/hopes", text="")
    assert child.answers("/safe", score="7").request.path == "/safe/why"
    page = child.answers("/safe/why")
    assert page.request.path == "/check"  # who helps, the meeting and sharing are kept
    assert KEPT in child.sees
    assert "Children's Rights Officer" in child.sees
    assert "Yes, some of it" in child.sees
    assert "Can the Children's Rights Officer see what you said too? Yes" in child.sees
    child.sends()
    second = newest_submission(app)
    assert second != first
    assert readers_of(app, second) == readers_of(app, first)
    assert "advocate@example.org" in readers_of(app, second)
    advocate.signs_in_and_unlocks()
    advocate.opens(f"/advocate/submissions/{second}")
    assert "something new" in advocate.sees


def test_the_chair_sees_which_sending_was_added_later(app, child, chair):
    sends_sharing_with_the_service(child)
    first = newest_submission(app)
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="one more thing")
    child.sends()
    second = newest_submission(app)
    chair.signs_in_and_unlocks()
    chair.opens_submission(first)
    assert "The child added this to what they sent before." not in chair.sees
    chair.opens_submission(second)
    assert "The child added this to what they sent before." in chair.sees


def test_a_child_who_changes_their_mind_while_adding_is_heard(app, child):
    sends_sharing_with_the_service(child)
    first = newest_submission(app)
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="only for the chair")
    child.answers("/sharing?change=1", share_service="no", share_parents="no")
    assert child.page.request.path == "/check"
    child.sends()
    second = newest_submission(app)
    assert "advocate@example.org" not in readers_of(app, second)
    assert "advocate@example.org" in readers_of(app, first)  # what was agreed then stands


def test_add_something_else_on_the_welcome_page_keeps_the_choices_too(app, child):
    sends_sharing_with_the_service(child)
    child.opens_invite()  # coming back later, in the same browser
    assert "Add something else" in child.sees
    page = child.starts()
    assert page.request.path == "/going-well"
    assert KEPT in child.sees
    back = re.search(r'class="back" href="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert back == "/welcome"


def test_after_sending_again_the_next_add_starts_fresh_answers(app, child):
    sends_sharing_with_the_service(child)
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="second worry")
    child.opens("/check")
    child.sends()
    child.opens("/sent")
    child.posts("/start-again")
    child.opens("/worries")
    assert "second worry" not in child.page.get_data(as_text=True)


def test_what_you_sent_before_tells_each_sending_apart(app, child, advocate):
    sends_sharing_with_the_service(child)
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="more")
    child.opens("/check")
    child.sends()
    advocate.signs_in_and_unlocks()
    invite_id = re.search(r"/advocate/children/(\d+)",
                          advocate.opens_dashboard().get_data(as_text=True)).group(1)
    advocate.records_views(int(invite_id), going_well="school", summary="They like school.")
    first_sent = _child_submissions(app)[0]
    change_as_voiceapp(app, Submission, Submission.id == first_sent, read_at=utcnow())
    child.opens("/welcome")
    lines = re.findall(r"<li>(.*?)</li>", _sent_before(child), re.S)
    words = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", line)).split()) for line in lines]
    assert len(words) == 3
    assert words[0].startswith("You first sent your views on")
    assert words[0].endswith("The chair has read it.")
    assert words[1].startswith("You added more on")
    assert words[1].endswith("The chair has not read it yet.")
    assert words[2].startswith("Jo Patel from the Children's Rights Officer sent your views "
                               "for you on")
    assert re.search(r"on \d+ \w+ \d{4} at \d{2}:\d{2}\.", words[0])


def test_an_advocates_sending_in_welsh_names_the_service_in_welsh(app, child, advocate):
    child.tells(helper="service:1", share_service="no")  # asks for the service's help
    child.sends()
    advocate.signs_in_and_unlocks()
    invite_id = re.search(r"/advocate/children/(\d+)",
                          advocate.opens_dashboard().get_data(as_text=True)).group(1)
    advocate.records_views(int(invite_id), going_well="school")
    child.opens_invite()
    child.opens("/welcome?lang=cy")
    assert "<bdi>y Swyddog Hawliau Plant</bdi>" in _sent_before(child)
    assert "Children's Rights Officer" not in _sent_before(child)


def _sent_before(child) -> str:
    return re.search(r'<ul class="sent-before">(.*?)</ul>',
                     child.page.get_data(as_text=True), re.S).group(1)


def _child_submissions(app) -> list:
    """The child's own sendings, oldest first."""
    engine = app.extensions["voiceapp.db"].engine
    with engine.connect() as connection:
        return list(connection.scalars(select(Submission.id)
                                       .where(Submission.author == "child")
                                       .order_by(Submission.created_at)))


def test_a_kept_choice_opened_directly_while_adding_goes_on_to_what_is_new(app, child):
    sends_sharing_with_the_service(child)
    child.opens("/sent")
    child.posts("/start-again")
    for path in ("/how", "/help", "/meeting", "/sharing"):
        page = child.opens(path)
        assert page.status_code == 200, path
    page = child.answers("/help", helper="myself")
    assert page.request.path == "/check"
    page = child.answers("/how", mode="pictures")
    assert page.request.path == "/going-well"
