"""The scale-out set-up: several app servers sharing PostgreSQL and Redis.

Limits on guessing must hold across servers, so with Redis two app instances share one
allowance. Sessions and drafts live in the database, so a child can move between servers.
"""

from __future__ import annotations

import socket

import pytest
import redis

from .conftest import NO_REDIS, make_app, worker_redis_url
from .people import Child


@pytest.fixture
def redis_url() -> str:
    url = worker_redis_url()
    if not url:
        pytest.skip(NO_REDIS)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def two_servers(database_url, tmp_path, redis_url):
    apps = [make_app(database_url, tmp_path / f"server{n}", redis_url=redis_url)
            for n in (1, 2)]
    yield apps
    redis.Redis.from_url(redis_url).flushdb()
    for app in apps:
        app.extensions["voiceapp.db"].engine.dispose()


@pytest.mark.redis
def test_guessing_limits_are_shared_between_servers(two_servers):
    one, two = (app.test_client() for app in two_servers)
    statuses = [(one if n % 2 else two).get(f"/i/ZZZZZZZZZ{n:03d}").status_code
                for n in range(22)]
    assert statuses == [400] * 20 + [429, 429]
    health = two.get("/healthz").get_json()
    assert health == {"database": "up", "rate_limits": "up"}


@pytest.mark.redis
def test_a_child_can_move_between_servers_mid_journey(two_servers):
    first, second = two_servers
    import json
    demo = json.loads(first.test_cli_runner().invoke(args=["demo", "--json"]).stdout)
    child = Child(first.test_client(), demo["invites"][0]["code"])
    child.tells(worries="started on server one")
    cookie = child.client.get_cookie("voiceapp").value
    moved = Child(second.test_client(), child.code)
    moved.client.set_cookie("voiceapp", cookie)
    moved.opens("/check")
    assert "started on server one" in moved.sees
    assert moved.sends().request.path == "/sent"


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_unreachable_children_still_start_and_guessing_is_still_limited(
        database_url, tmp_path, demo, caplog):
    app = make_app(database_url, tmp_path / "broken",
                   redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    child = Child(app.test_client(), demo["invites"][0]["code"])
    assert child.opens_invite().request.path == "/welcome"
    child.starts()
    child.answers("/worries", text="typed while Redis was down")
    assert child.sends().request.path == "/sent"
    guesser = app.test_client()
    statuses = [guesser.get(f"/i/ZZZZZZZZZ{n:03d}").status_code for n in range(22)]
    assert statuses == [400] * 20 + [429, 429]  # counted in this process instead
    health = guesser.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"database": "up", "rate_limits": "fallback"}
    assert sum("Redis is unreachable" in r.message for r in caplog.records) == 1
