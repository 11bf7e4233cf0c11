"""A child's consent is enforced exactly as given: who they were asked about, by name, and
nothing more. Changing the helper, the service or the assigned advocate asks again."""

from __future__ import annotations

import html
import re

from voiceapp.models import Invite, Submission

from .conftest import add_staff, staff_the_other_service
from .evidence import change_as_voiceapp, count, newest_submission, readers_of
from .people import Advocate

CHAIR, ADVOCATE = "chair@example.org", "advocate@example.org"  # the demo's; service 1


def assigned_advocate(app, service_id: int | None = 2) -> dict:
    """Another advocate (of the other service), assigned by a coordinator to every invite."""
    account = add_staff(app, "advocate", "assigned@example.org", "assigned passphrase 77",
                        service_id=service_id)
    change_as_voiceapp(app, Invite, assigned_advocate_id=account["id"])
    return account


def readers_listed(child) -> list[str]:
    """Who the check page says can see what the child sends."""
    found = re.search(r'<ul class="readers">(.*?)</ul>', child.page.get_data(as_text=True), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split())
            for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def only_the_chair_can_read_it(app, child) -> None:
    """The check page lists only the chair, and what is sent is sealed to the chair and the
    recovery key alone."""
    child.opens("/check")
    assert readers_listed(child) == ["The chair of your meeting"]
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery"}


def test_an_assigned_advocate_does_not_read_what_was_shared_only_with_a_service(app, child):
    assigned = assigned_advocate(app)
    child.tells(worries="for the rights officer only", helper="service:1",
                share_service="yes")
    child.sends()
    submission = newest_submission(app)
    assert readers_of(app, submission) == {CHAIR, "recovery", ADVOCATE}
    reader = Advocate(app.test_client(), assigned)
    reader.signs_in_and_unlocks()
    assert reader.client.get(f"/advocate/submissions/{submission}").status_code == 404


def test_the_assigned_advocate_reads_only_when_the_child_said_yes_to_them_by_name(app, child):
    assigned_advocate(app)
    child.tells(worries="for my advocate", helper="myself")
    child.opens("/sharing")
    assert "Can assigned, your advocate, see what you said too?" in child.sees
    child.answers("/sharing", share_advocate="yes")
    child.opens("/check")
    assert readers_listed(child) == ["The chair of your meeting", "assigned, your advocate"]
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery",
                                                       "assigned@example.org"}


def test_no_to_the_assigned_advocate_holds_even_through_their_service(app, child):
    assigned_advocate(app, service_id=1)  # the assigned advocate works for service 1 too
    child.tells(worries="not for them", helper="service:1", share_service="yes",
                share_advocate="no")
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery", ADVOCATE}


def test_choosing_another_service_after_agreeing_asks_again(app, child):
    staff_the_other_service(app)
    child.tells(worries="about services", helper="service:1", share_service="yes")
    child.opens("/check")
    assert readers_listed(child) == ["The chair of your meeting", "Children's Rights Officer"]
    child.answers("/help?change=1", helper="service:2")
    assert child.page.request.path == "/sharing"  # asked about the new one before the check
    assert "Please answer again" in child.sees
    assert "Can the Example Advocacy Service see what you said too?" in child.sees
    only_the_chair_can_read_it(app, child)


def test_a_new_assignment_after_agreeing_is_not_a_reader_until_the_child_is_asked(app, child):
    first = assigned_advocate(app)
    child.tells(worries="said yes to the first", helper="myself", share_advocate="yes")
    second = add_staff(app, "advocate", "second@example.org", "second passphrase 88")
    change_as_voiceapp(app, Invite, assigned_advocate_id=second["id"])
    child.opens("/check")
    assert "We need to ask you again who can see what you said." in child.sees
    page = child.sends()
    assert page.request.path == "/sharing"  # asked again before anything is sent
    assert "Something changed about who can help you. Please answer again, then send." \
        in child.sees
    assert "Can second, your advocate, see what you said too?" in child.sees
    assert count(app, Submission) == 0
    child.answers("/sharing?change=1", share_advocate="no")
    child.sends()
    readers = readers_of(app, newest_submission(app))
    assert readers == {CHAIR, "recovery"}
    assert first["email"] not in readers


def test_a_new_service_chosen_from_the_check_page_is_asked_about_first(app, child):
    child.tells(worries="no service at first", helper="myself")
    child.answers("/help?change=1", helper="service:1")
    assert child.page.request.path == "/sharing"
    assert "Can the Children's Rights Officer see what you said too?" in child.sees
    child.answers("/sharing?change=1", share_service="yes")
    assert child.page.request.path == "/check"
    assert readers_listed(child) == ["The chair of your meeting", "Children's Rights Officer"]


def test_a_yes_counts_only_for_the_advocate_the_page_named(app, child):
    """The coordinator assigns someone else while the child has the sharing page open: the
    child's yes was about the first advocate, so it is not given to the second."""
    assigned_advocate(app)
    child.tells(worries="the page named someone else", helper="myself")
    child.opens("/sharing")
    assert "Can assigned, your advocate, see what you said too?" in child.sees
    second = add_staff(app, "advocate", "second@example.org", "second passphrase 88")
    change_as_voiceapp(app, Invite, assigned_advocate_id=second["id"])
    child.posts("/sharing", {"share_advocate": "yes"})
    assert child.page.request.path == "/sharing"
    assert "Something changed about who can help you. Please answer again" in child.sees
    assert "Can second, your advocate, see what you said too?" in child.sees
    only_the_chair_can_read_it(app, child)


def test_a_yes_about_one_service_is_not_kept_after_choosing_another_in_another_tab(app, child):
    staff_the_other_service(app)
    child.tells(worries="two tabs", helper="service:1")
    child.opens("/sharing")
    sharing_page = child.page
    assert "Can the Children's Rights Officer see what you said too?" in child.sees
    child.answers("/help", helper="service:2")  # the other tab
    child.page = sharing_page
    child.posts("/sharing", {"share_service": "yes"})
    assert "Please answer again" in child.sees
    assert "Can the Example Advocacy Service see what you said too?" in child.sees
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery"}


def test_adding_something_later_keeps_the_same_agreement(app, child):
    child.tells(worries="first time", helper="service:1", share_service="yes")
    child.sends()
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="something I forgot")
    child.opens("/check")
    assert readers_listed(child) == ["The chair of your meeting", "Children's Rights Officer"]
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery", ADVOCATE}


def test_a_forged_sharing_answer_for_someone_not_asked_about_is_ignored(app, child):
    child.tells(worries="forged", helper="myself")
    child.answers("/sharing", share_service="yes", share_advocate="yes")  # nobody to ask about
    child.sends()
    assert readers_of(app, newest_submission(app)) == {CHAIR, "recovery"}


def test_a_no_to_an_advocate_by_name_stays_no_when_they_are_unassigned(app, child):
    """The child said yes to the service but no to its advocate they were assigned; the
    coordinator later unassigns them: a later sending still never reaches them."""
    assigned = assigned_advocate(app, service_id=1)
    child.tells(worries="first", helper="service:1", share_service="yes", share_advocate="no")
    child.sends()
    assert assigned["email"] not in readers_of(app, newest_submission(app))
    change_as_voiceapp(app, Invite, assigned_advocate_id=None)
    child.opens("/sent")
    child.posts("/start-again")
    child.answers("/worries", text="second")
    child.sends()
    readers = readers_of(app, newest_submission(app))
    assert readers == {CHAIR, "recovery", ADVOCATE}


def test_a_service_nobody_can_read_for_is_not_offered(app, child, coordinator):
    """A yes to a service with no advocate who has a key would reach nobody, while the child
    is told it will: such a service is not offered, and the coordinator is told why."""
    child.tells(worries="who can help")
    child.opens("/help")
    assert "Children's Rights Officer" in child.sees
    assert "Example Advocacy Service" not in child.sees
    child.answers("/help", helper="service:2")  # forged: not on the page
    child.opens("/check")
    assert readers_listed(child) == ["The chair of your meeting"]
    coordinator.signs_in()
    coordinator.opens("/admin/settings")
    assert "Not offered to children yet: nobody in this service has a key" in coordinator.sees
    staff_the_other_service(app)
    child.opens("/help")
    assert "Example Advocacy Service" in child.sees
