"""Coordinators: conferences, invites, staff, settings and numbers, and never any content."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from voiceapp.db import utcnow
from voiceapp.models import Conference, Invite, Organisation, Submission, User

from .evidence import audit_actions, change_as_voiceapp
from .people import Child, visible_text
from .test_i18n import _translation

PHRASE = "coordinators-must-never-see-this-2718"


def conference_id(coordinator) -> int:
    return int(re.search(r"/admin/conferences/(\d+)", coordinator.page.request.path).group(1))


def test_a_coordinator_sets_up_a_conference_and_an_invite_for_a_child(app, coordinator):
    coordinator.signs_in()
    page = coordinator.creates_conference("CP-2030-17", "2030-03-14", "14:30", kind="review")
    assert page.request.path.startswith("/admin/conferences/")
    assert "Thursday 14 March 2030, 14:30" in coordinator.sees
    assert "Review conference" in coordinator.sees
    code = coordinator.creates_invite(conference_id(coordinator), label="AB")
    card = coordinator.sees
    assert "Tell us what you think" in card and "<svg" in coordinator.page.get_data(as_text=True)
    assert "protection" not in card.split("Link to send")[0].lower()
    printed = re.search(r"<section.*?</section>", coordinator.page.get_data(as_text=True),
                        re.S).group(0)
    assert "AB" in printed and "CP-2030-17" not in printed  # a label, never the reference
    child = Child(app.test_client(), code)
    assert child.opens_invite().request.path == "/welcome"
    assert "Thursday, 14 March 2030" in child.sees or "14 March 2030" in child.sees
    assert {"conference.created", "invite.created", "invite.opened"} <= set(audit_actions(app))


def test_the_meeting_time_is_uk_time(app, coordinator):
    coordinator.signs_in()
    coordinator.creates_conference("CP-SUMMER", "2030-07-01", "10:00")
    with app.app_context():
        from voiceapp.db import db
        conference = db.scalar(select(Conference).where(Conference.reference == "CP-SUMMER"))
    assert conference.starts_at.hour == 9  # 10:00 BST is 09:00 UTC


def test_a_conference_in_the_past_or_without_a_chair_is_refused(coordinator):
    coordinator.signs_in()
    page = coordinator.creates_conference("CP-OLD", "2020-01-01", "10:00")
    assert page.status_code == 400 and "must be in the future" in coordinator.sees
    page = coordinator.creates_conference("CP-NOCHAIR", "2030-01-01", "10:00", chair=0)
    assert page.status_code == 400 and "Choose the chair" in coordinator.sees
    page = coordinator.creates_conference("CP-NOTACHAIR", "2030-01-01", "10:00", chair=3)
    assert page.status_code == 400


def test_moving_a_meeting_moves_its_invites_closing_time(app, coordinator):
    coordinator.signs_in()
    coordinator.creates_conference("CP-MOVE", "2030-01-15", "10:00")
    conference = conference_id(coordinator)
    coordinator.creates_invite(conference)
    coordinator.fills_in(f"/admin/conferences/{conference}/edit", {
        "reference": "CP-MOVE", "date": "2030-02-20", "time": "11:00", "kind": "initial",
        "chair": 1})
    with app.app_context():
        from voiceapp.db import db
        invite = db.scalar(select(Invite).where(Invite.conference_id == conference))
        assert invite.expires_at == invite.conference.starts_at
        assert invite.expires_at.month == 2


def test_revoking_an_invite_stops_it_and_opened_and_sent_are_shown(app, coordinator, child):
    child.tells(worries="hello")
    child.sends()
    coordinator.signs_in()
    coordinator.opens("/admin/conferences/1")
    text = coordinator.sees
    assert "Yes" in text and "Open" in text
    first_invite = re.search(r'href="(/admin/invites/(\d+)/revoke)"',
                             coordinator.page.get_data(as_text=True))
    coordinator.opens(first_invite.group(1))
    assert "Stop this invite?" in coordinator.sees  # asked first: it cannot be undone
    coordinator.posts(first_invite.group(1))
    assert "Stopped" in coordinator.sees
    assert child.opens_invite().status_code == 410
    assert app.test_client().get(f"/admin/invites/{first_invite.group(2)}/card").status_code \
        == 302
    assert "invite.revoked" in audit_actions(app)


def test_staff_are_invited_by_one_time_link_and_can_be_disabled(app, coordinator):
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "Riley Advocate",
                                          "email": "riley@example.org", "role": "advocate",
                                          "service": 1})
    link = re.search(r"http://localhost(/staff/welcome/\S+)", coordinator.sees).group(1)
    assert "Invited, not set up yet" in coordinator.sees
    assert app.test_client().get(link).status_code == 200
    with app.app_context():
        from voiceapp.db import db
        riley = db.scalar(select(User).where(User.email == "riley@example.org"))
        assert riley.role == "advocate" and riley.advocacy_service_id == 1
    coordinator.opens("/admin/staff")
    coordinator.posts(f"/admin/staff/{riley.id}/disable")
    assert "Disabled" in coordinator.sees
    assert app.test_client().get(link).status_code == 410  # a disabled account's link stops
    assert {"staff.invited", "staff.disabled"} <= set(audit_actions(app))


def test_disabling_someone_signs_them_out_at_once(app, coordinator, chair):
    chair.signs_in()
    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/1/disable")
    assert chair.client.get("/chair/").status_code == 302


def test_resetting_an_authenticator_gives_a_new_link_and_stops_the_old_sign_in(app,
                                                                               coordinator,
                                                                               chair):
    chair.signs_in()
    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/1/reset")
    assert "New sign-in link for" in coordinator.sees
    assert re.search(r"/staff/welcome/\S+", coordinator.sees)
    assert chair.client.get("/chair/").status_code == 302
    assert chair.signs_in().status_code == 400
    assert "staff.authenticator-reset" in audit_actions(app)


def test_a_duplicate_email_is_refused(coordinator):
    coordinator.signs_in()
    page = coordinator.fills_in("/admin/staff", {"name": "Sam", "email": "chair@example.org",
                                                 "role": "chair"})
    assert page.status_code == 400
    assert "already has an account" in coordinator.sees


def test_settings_change_the_exit_site_languages_and_retention(app, coordinator, child):
    coordinator.signs_in()
    coordinator.fills_in("/admin/settings", {
        "name": "Demo Council (example data)", "exit_url": "https://www.example.org/recipes",
        "out_of_hours_phone": "01632 960 999", "languages": ["cy"],
        "retention_days_after_recorded": "14", "retention_days_after_meeting": "60"})
    assert "Saved." in coordinator.sees
    with app.app_context():
        from voiceapp.db import db
        organisation = db.scalar(select(Organisation))
    assert organisation.exit_url == "https://www.example.org/recipes"
    assert organisation.languages == "cy"
    assert organisation.retention_days_after_recorded == 14
    child.opens_invite()
    child.opens("/check")
    assert child.leaves_quickly().headers["Location"] == "https://www.example.org/recipes"


@pytest.mark.parametrize("field,value,problem", [
    ("exit_url", "javascript:alert(1)", "full web address"),
    ("exit_url", "http://plain.example.org", "must start with https://"),
    ("retention_days_after_meeting", "365", "between 1 and 90"),
])
def test_unsafe_settings_are_refused(coordinator, field, value, problem):
    coordinator.signs_in()
    data = {"name": "Demo", "exit_url": "https://www.example.org", "languages": [],
            "retention_days_after_recorded": "30", "retention_days_after_meeting": "90",
            field: value}
    page = coordinator.fills_in("/admin/settings", data)
    assert page.status_code == 400
    assert problem in coordinator.sees.lower() or problem in coordinator.sees


def test_numbers_are_counts_only(app, coordinator, child):
    child.tells(worries=PHRASE)
    child.sends()
    coordinator.signs_in()
    page = coordinator.opens("/admin/numbers")
    assert PHRASE not in page.get_data(as_text=True)
    row = re.search(r"<th scope=\"row\">[^<]+</th>\s*<td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>"
                    r"<td[^>]*>(\d+)</td>",
                    page.get_data(as_text=True))
    invites, opened, sent = map(int, row.groups())
    assert (invites, opened, sent) == (2, 1, 1)
    assert "English" in coordinator.sees


def test_the_audit_log_viewer_checks_the_chain(app, coordinator, child):
    child.tells(worries=PHRASE)
    child.sends()
    coordinator.signs_in()
    coordinator.opens("/admin/audit?check=1")
    assert "Checked: the log is intact." in coordinator.sees
    assert "submission.sent" in coordinator.sees
    assert PHRASE not in coordinator.page.get_data(as_text=True)


COORDINATOR_PAGES = ["/admin/", "/admin/conferences/new", "/admin/conferences/1",
                     "/admin/conferences/1/edit", "/admin/invites/1/card", "/admin/staff",
                     "/admin/settings", "/admin/services/new", "/admin/numbers", "/admin/audit"]


@pytest.mark.parametrize("role", ["chair", "advocate"])
def test_only_coordinators_use_coordinator_pages(app, role, request):
    person = request.getfixturevalue(role)
    person.signs_in()
    for path in COORDINATOR_PAGES:
        assert person.client.get(path).status_code == 403, path


def test_signed_out_people_are_sent_to_sign_in(app, demo):
    for path in COORDINATOR_PAGES:
        assert app.test_client().get(path).headers["Location"] == "/staff/sign-in", path


def test_a_coordinator_can_never_open_content(app, coordinator, child):
    """No route, no export: every page a coordinator can reach is free of the child's words."""
    child.tells(worries=PHRASE)
    child.sends()
    with app.app_context():
        from voiceapp.db import db
        submission = str(db.scalar(select(Submission.id)))
    coordinator.signs_in()
    for path in COORDINATOR_PAGES + ["/staff/account", "/admin/audit?check=1"]:
        response = coordinator.client.get(path)
        assert PHRASE not in response.get_data(as_text=True), path
    for path in (f"/chair/submissions/{submission}", f"/chair/submissions/{submission}/print",
                 "/chair/conferences/1/print", f"/advocate/submissions/{submission}"):
        assert coordinator.client.get(path).status_code == 403, path
    assert coordinator.client.get("/staff/unlock").status_code == 403


def test_a_coordinator_only_sees_their_organisation(app, coordinator):
    from voiceapp.db import write_transaction
    with app.app_context(), write_transaction() as tx:
        other = Organisation(name="Elsewhere Council")
        tx.add(other)
        tx.flush()
        chair = User(organisation_id=other.id, email="far@example.org", name="Far",
                     role="chair")
        tx.add(chair)
        tx.flush()
        tx.add(Conference(organisation_id=other.id, reference="FAR-1", chair_id=chair.id,
                          starts_at=utcnow() + timedelta(days=3)))
        tx.flush()
        far_id = tx.scalar(select(Conference.id).where(Conference.reference == "FAR-1"))
    coordinator.signs_in()
    assert "FAR-1" not in visible_text(coordinator.opens("/admin/"))
    assert coordinator.client.get(f"/admin/conferences/{far_id}").status_code == 404
    assert coordinator.client.get(f"/admin/staff/{chair.id}/disable").status_code == 404


def _card(coordinator, query: str = "") -> str:
    coordinator.signs_in()
    return coordinator.opens(f"/admin/invites/1/card{query}").get_data(as_text=True)


def _card_languages(page: str) -> list[str]:
    card = page[page.index('<section class="panel card"'):page.index("</section>")]
    return re.findall(r'<span class="card-language" lang="([^"]+)"', card)


def test_the_invite_card_is_welsh_first_then_english_where_welsh_is_offered(coordinator):
    page = _card(coordinator)
    assert _card_languages(page) == ["cy", "en-GB"]
    assert str(escape(_translation("cy", "Tell us what you think"))) in page
    welsh = page.index('<p lang="cy" dir="ltr">')
    english = page.index('<p lang="en-GB" dir="ltr">')
    assert welsh < english
    assert page.count('class="code-display"') == 1 and page.count("<svg") == 1


def test_the_invite_card_can_be_printed_in_english_and_arabic(coordinator):
    page = _card(coordinator, "?languages=ar&languages=en_GB")
    assert _card_languages(page) == ["en-GB", "ar"]
    assert '<p lang="ar" dir="rtl">' in page
    assert "Keep this card somewhere private." in page


def test_the_invite_card_in_english_only_where_welsh_is_not_offered(app, coordinator):
    from voiceapp.i18n import forget_offered_locales
    change_as_voiceapp(app, Organisation, Organisation.id == 1, languages="ar")
    with app.app_context():
        forget_offered_locales()
    page = _card(coordinator)
    assert _card_languages(page) == ["en-GB"]
    assert 'lang="cy"' not in page[page.index('<section class="panel card"'):]


def test_the_invite_card_ignores_a_language_that_is_not_offered(coordinator):
    page = _card(coordinator, "?languages=fr&languages=<script>")
    assert _card_languages(page) == ["cy", "en-GB"]
    assert "<script>" not in page
