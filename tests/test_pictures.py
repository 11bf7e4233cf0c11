"""Pictures mode and the scaling question's follow-ups: one thing per screen, the same
questions and answers as the words mode, and nothing said kept in plain text."""

from __future__ import annotations

from sqlalchemy import select

from voiceapp.models import Submission

from .evidence import raw_database_contains


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
