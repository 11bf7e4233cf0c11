"""Every route, for every role that must not reach it: found by walking the URL map, so a
new route is covered the day it is added."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.routing import IntegerConverter, UUIDConverter

from .people import Child, Staff

OWNER = {"chair": {"chair"}, "advocate": {"advocate"}, "admin": {"coordinator"}}
STAFF_KEY_PAGES = {"staff.new_key", "staff.recovery_sheet", "staff.unlock", "staff.lock",
                   "staff.change_passphrase", "staff.replace_key"}
OPEN_STAFF_PAGES = {"staff.sign_in", "staff.code", "staff.welcome"}
CHILD_OPEN_PAGES = {"child.start", "child.open_link", "child.leave", "child.about_leaving"}


def example_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, IntegerConverter) else (
            uuid.uuid4() if isinstance(converter, UUIDConverter) else "x")
    return rule.build(values)[1]


def routes(app, prefixes: tuple[str, ...]):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in prefixes or rule.endpoint in prefixes:
            for method in sorted(rule.methods & {"GET", "POST"}):
                yield rule.endpoint, method, example_url(rule)


def request_as(person, method: str, url: str):
    if method == "GET":
        return person.client.get(url)
    return person.client.post(url, data={"csrf_token": person.csrf_token()})


@pytest.fixture
def people(app, demo, chair, advocate, coordinator):
    for person in (chair, advocate, coordinator):
        person.signs_in()
        person.opens("/staff/account")  # a page with a CSRF token for this session
    return {"chair": chair, "advocate": advocate, "coordinator": coordinator}


def test_each_role_is_refused_every_other_roles_pages(app, people):
    checked = 0
    for endpoint, method, url in routes(app, ("chair", "advocate", "admin")):
        allowed = OWNER[endpoint.split(".")[0]]
        for role, person in people.items():
            if role in allowed:
                continue
            response = request_as(person, method, url)
            assert response.status_code == 403, (role, method, url, response.status_code)
            checked += 1
    assert checked > 60


def test_coordinators_have_no_key_pages(app, people):
    for endpoint, method, url in routes(app, tuple(STAFF_KEY_PAGES)):
        response = request_as(people["coordinator"], method, url)
        assert response.status_code == 403, (endpoint, method)


def test_signed_out_people_and_children_are_sent_to_sign_in(app, demo):
    child = Child(app.test_client(), demo["invites"][0]["code"])
    child.opens_invite()
    stranger = Staff(app.test_client(), {})
    stranger.opens("/staff/sign-in")
    staff_pages = set()
    for endpoint, method, url in routes(app, ("chair", "advocate", "admin", "staff")):
        if endpoint in OPEN_STAFF_PAGES:
            continue
        staff_pages.add(endpoint)
        for person in (stranger, child):
            if person is child:
                child.opens("/")
            response = request_as(person, method, url)
            assert response.status_code == 302, (endpoint, method, response.status_code)
            assert response.headers["Location"] == "/staff/sign-in", (endpoint, method)
    assert len(staff_pages) > 30


def test_child_pages_need_an_open_invite_even_for_staff(app, people):
    for endpoint, method, url in routes(app, ("child",)):
        if endpoint in CHILD_OPEN_PAGES:
            continue
        response = request_as(people["chair"], method, url)
        assert response.status_code == 302, (endpoint, method)
        assert response.headers["Location"].startswith("/?again=1")


def test_every_state_changing_route_needs_a_csrf_token(app, people):
    for endpoint, method, url in routes(app, ("child", "staff", "chair", "advocate", "admin")):
        if method != "POST":
            continue
        for person in people.values():
            response = person.client.post(url, data={})
            assert response.status_code == 400, (endpoint, response.status_code)
