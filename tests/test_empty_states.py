"""Every list and count, with nothing in it: nobody is told of something that is not there."""

from __future__ import annotations

import re

from .conftest import add_conference
from .people import visible_text


def test_a_conference_nobody_has_sent_to_shows_nothing_new_and_nothing_read(app, chair):
    chair.signs_in()
    page = chair.opens_inbox()
    row = re.search(r"CP-DEMO-0001.*?</tr>", page.get_data(as_text=True), re.S).group(0)
    cells = [visible_text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1:] == ["0", "0", "0"]  # after the date: new, read, from advocates
    assert "needs looking at soon" not in chair.sees


def visible_text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_chair_with_no_conferences_is_told_so(app, demo):
    from .conftest import add_staff
    from .people import Chair
    lonely = Chair(app.test_client(), add_staff(app, "chair", "lonely@example.org",
                                                "lonely chair passphrase 31"))
    lonely.signs_in()
    assert "You have no conferences coming up." in visible_text(lonely.opens_inbox())


def test_a_conference_page_with_nothing_sent_says_so(app, chair):
    chair.signs_in()
    chair.opens("/chair/conferences/1")
    assert "Nothing has been sent for this conference yet." in chair.sees


def test_an_advocate_nobody_has_asked_for_is_told_so(app, advocate):
    advocate.signs_in_and_unlocks()
    advocate.opens_dashboard()
    assert "No children have asked for you yet." in advocate.sees


def test_a_coordinator_with_no_notifications_and_a_new_conference(app, coordinator, chair):
    add_conference(app, chair_id=1, reference="CP-EMPTY-1")
    coordinator.signs_in()
    coordinator.opens("/admin/notifications")
    assert "No messages to staff yet." in coordinator.sees
    assert "Waiting 0 Could not be delivered 0" in coordinator.sees
    coordinator.opens("/admin/")
    row = re.search(r"CP-EMPTY-1.*?</tr>", coordinator.page.get_data(as_text=True), re.S)
    assert [visible_text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0),
                                                     re.S)][-3:] == ["1", "0", "0"]
    assert "Something was changed outside voiceapp" not in coordinator.sees


def test_a_child_who_has_sent_nothing_sees_no_history(app, child):
    child.opens_invite()
    assert "What you sent before" not in child.sees
    assert child.client.get("/sent").headers["Location"] == "/welcome"
