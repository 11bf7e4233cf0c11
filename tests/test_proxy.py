"""Behind a reverse proxy: the app trusts exactly VOICEAPP_TRUSTED_PROXIES of them.

nginx appends the address it sees to X-Forwarded-For and sets X-Forwarded-Proto. With one
proxy trusted, the last address is the client's: limits count against it, and whatever a
client wrote into the header itself is ignored. tests/deploy/ shows the same through nginx.
"""

from __future__ import annotations

import re

import pytest

from .conftest import make_app
from .people import Coordinator

NGINX = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def proxied(database_url, tmp_path, demo):
    app = make_app(database_url, tmp_path / "proxied", trusted_proxies=1)
    yield app
    app.extensions["voiceapp.db"].engine.dispose()


WRONG_CODES_ALLOWED = 20  # a minute, per address


def guess(app, n: int, forwarded_for: str) -> int:
    """A wrong code, a different one each time, as nginx passes it on."""
    code = f"ZZZZZZZZZ{n:03d}"
    return app.test_client().get(f"/i/{code}", environ_base=NGINX,
                                 headers={"X-Forwarded-For": forwarded_for}).status_code


def test_limits_count_against_the_address_nginx_saw(proxied):
    statuses = [guess(proxied, n, "10.0.0.7") for n in range(WRONG_CODES_ALLOWED + 1)]
    assert statuses == [400] * WRONG_CODES_ALLOWED + [429]
    assert guess(proxied, 99, "10.0.0.8") == 400  # another child behind the same proxy


def test_an_address_a_client_writes_itself_is_ignored(proxied):
    statuses = [guess(proxied, n, f"192.0.2.{n}, 10.0.0.7")
                for n in range(WRONG_CODES_ALLOWED + 1)]
    assert statuses == [400] * WRONG_CODES_ALLOWED + [429]


def test_without_a_trusted_proxy_the_header_means_nothing(app, demo):
    statuses = [guess(app, n, f"10.0.0.{n}") for n in range(WRONG_CODES_ALLOWED + 1)]
    assert statuses == [400] * WRONG_CODES_ALLOWED + [429]  # all from nginx's own address


def test_the_scheme_comes_from_the_proxy(proxied):
    headers = {"X-Forwarded-For": "10.0.0.7", "X-Forwarded-Proto": "https"}
    response = proxied.test_client().get("/", environ_base=NGINX, headers=headers)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_host_a_client_writes_itself_never_reaches_a_sign_in_link(proxied, demo):
    """nginx passes X-Forwarded-Host through from the client untouched: trusting it would
    let someone make the app print welcome links to their own site."""
    coordinator = Coordinator(proxied.test_client(), demo["coordinator"])
    coordinator.client.environ_base.update(
        REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7",
        HTTP_X_FORWARDED_HOST="attacker.example")
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "Riley Chair", "email": "riley@example.org",
                                          "role": "chair"})
    assert re.search(r"http://localhost/staff/welcome/\S+", coordinator.sees)
    assert "attacker.example" not in coordinator.sees


def test_links_given_to_staff_use_the_public_address(database_url, tmp_path, demo):
    """Behind nginx the app sees its own name without the port people use (nginx passes
    $host); a sign-in link must be the address in VOICEAPP_PUBLIC_URL, as on invite cards."""
    app = make_app(database_url, tmp_path / "public", trusted_proxies=1,
                   public_url="https://views.example.org:8443")
    coordinator = Coordinator(app.test_client(), demo["coordinator"])
    coordinator.client.environ_base.update(REMOTE_ADDR="127.0.0.1",
                                           HTTP_X_FORWARDED_FOR="10.0.0.7")
    coordinator.signs_in()
    coordinator.fills_in("/admin/staff", {"name": "Riley Chair", "email": "riley@example.org",
                                          "role": "chair"})
    assert re.search(r"https://views\.example\.org:8443/staff/welcome/\S+", coordinator.sees)
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/4/reset")
    assert re.search(r"https://views\.example\.org:8443/staff/welcome/\S+", coordinator.sees)
    app.extensions["voiceapp.db"].engine.dispose()
