"""The foundation: settings, security headers, error pages, health, and the database setup."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from voiceapp import create_app
from voiceapp.config import Settings, UnsafeSettings, from_env
from voiceapp.security import CSP

from .conftest import make_app
from .people import visible_text

# --------------------------------------------------------------------------- settings


def test_settings_come_from_voiceapp_variables(tmp_path):
    settings = from_env({
        "VOICEAPP_INSTANCE_PATH": str(tmp_path),
        "VOICEAPP_DATABASE_URL": "sqlite:///x.db",
        "VOICEAPP_REDIS_URL": "redis://localhost:6379/1",
        "VOICEAPP_STAFF_IDLE_SECONDS": "600",
        "VOICEAPP_SECURE_COOKIES": "yes",
    })
    assert settings.instance_path == tmp_path
    assert settings.database_url == "sqlite:///x.db"
    assert settings.redis_url == "redis://localhost:6379/1"
    assert settings.staff_idle_seconds == 600
    assert settings.secure_cookies is True


def test_the_defaults_are_an_sqlite_file_and_a_generated_secret(tmp_path):
    settings = from_env({"VOICEAPP_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'voiceapp.sqlite3'}"
    secret_file = tmp_path / "secret_key"
    assert settings.secret_key == secret_file.read_text().strip()
    assert len(settings.secret_key) == 64
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert from_env({"VOICEAPP_INSTANCE_PATH": str(tmp_path)}).secret_key == settings.secret_key


def test_no_secret_is_a_constant_in_code(tmp_path):
    one = from_env({"VOICEAPP_INSTANCE_PATH": str(tmp_path / "a")})
    two = from_env({"VOICEAPP_INSTANCE_PATH": str(tmp_path / "b")})
    assert one.secret_key != two.secret_key


@pytest.mark.parametrize("environ,problem", [
    ({"VOICEAPP_SECURE_COOKIES": "false"}, "HTTPS-only cookies"),
    ({"VOICEAPP_SECRET_KEY": "short"}, "at least 32 characters"),
    ({"VOICEAPP_KEY_KDF_MEMORY_KIB": "1024"}, "64 MiB"),
    ({"VOICEAPP_PUBLIC_URL": "http://voice.example.org"}, "https://"),
])
def test_production_refuses_unsafe_settings(tmp_path, environ, problem):
    base = {"VOICEAPP_ENV": "production", "VOICEAPP_INSTANCE_PATH": str(tmp_path),
            "VOICEAPP_SECRET_KEY": "x" * 40}
    with pytest.raises(UnsafeSettings, match=problem):
        from_env({**base, **environ})


def test_production_starts_with_safe_settings(tmp_path):
    app = create_app(from_env({"VOICEAPP_ENV": "production",
                               "VOICEAPP_INSTANCE_PATH": str(tmp_path),
                               "VOICEAPP_SECRET_KEY": "x" * 40,
                               "VOICEAPP_PUBLIC_URL": "https://voice.example.org"}))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-voiceapp"


def test_an_unknown_environment_is_refused(tmp_path):
    with pytest.raises(UnsafeSettings):
        from_env({"VOICEAPP_ENV": "staging", "VOICEAPP_INSTANCE_PATH": str(tmp_path)})


# --------------------------------------------------------------------------- headers


def test_every_page_sends_the_security_headers(client):
    response = client.get("/")
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                      "img-src 'self' blob: data:", "media-src 'self' blob:",
                      "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"):
        assert directive in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert "microphone=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests


def test_https_gets_hsts(client):
    response = client.get("/", base_url="https://voice.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_have_no_inline_script_or_style(client):
    body = client.get("/").get_data(as_text=True)
    assert "<script>" not in body and "style=" not in body and "<style" not in body
    assert "onclick" not in body


def test_static_files_are_cached_compressed_and_versioned(client):
    body = client.get("/").get_data(as_text=True)
    assert "/static/css/app.css?v=" in body
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_static_file_is_compressed_once_at_brotlis_best_and_then_served_from_memory(
        app, client, monkeypatch):
    import brotli
    import flask_compress.flask_compress as compress
    plain = (Path(app.static_folder) / "css" / "app.css").read_bytes()
    calls = []
    real = compress._compress_data
    monkeypatch.setattr(compress, "_compress_data",
                        lambda *args: calls.append(args[-1]) or real(*args))
    first = client.get("/static/css/app.css?v=1", headers={"Accept-Encoding": "br"})
    again = client.get("/static/css/app.css?v=2", headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br" and calls == ["br"]  # once a file
    assert brotli.decompress(first.data) == brotli.decompress(again.data) == plain
    assert len(first.data) <= len(brotli.compress(plain, quality=11))
    assert client.get("/static/css/none.css", headers={"Accept-Encoding": "br"}
                      ).status_code == 404 and calls == ["br"]
    for made_up in ("/static/css/x/../app.css", "/static//css/./app.css"):
        response = client.get(made_up, headers={"Accept-Encoding": "br"})
        assert response.status_code in (200, 308, 404) and calls == ["br"], made_up


def test_scripts_and_styles_carry_only_the_headers_that_apply_to_them(client):
    """A stylesheet or script is never shown as a page: the headers only a page obeys are
    left off (bytes a slow phone need not fetch); the ones that protect a file stay."""
    headers = client.get("/static/js/app.js").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    for name in ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy",
                 "Content-Disposition", "Expires"):
        assert name not in headers
    # A picture can be opened on its own, as a page: it keeps them all
    symbol = client.get("/static/img/icon.svg").headers
    assert symbol["Content-Security-Policy"] == CSP and symbol["X-Frame-Options"] == "DENY"


def test_pages_are_not_compressed(client):
    """Compressing a page that holds a CSRF token beside typed text invites BREACH."""
    response = client.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers


def test_the_session_cookie_is_httponly_and_lax(child):
    child.opens_invite()
    cookie = child.client.get_cookie("voiceapp")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert cookie.expires is None  # ends with the browser


# --------------------------------------------------------------------------- errors and health


def test_a_missing_page_is_friendly(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find this page" in visible_text(response)


def test_a_crash_shows_a_kind_page_and_logs_no_content(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("child said: secret-words-123")

    with caplog.at_level(logging.ERROR, logger="voiceapp"):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Sorry, something went wrong" in visible_text(response)
    assert "secret-words-123" not in body and "Traceback" not in body
    assert "secret-words-123" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_health_says_what_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "up", "rate_limits": "up"}


def test_health_and_pages_say_when_the_database_is_down(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3", tmp_path / "instance")
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"] == "down"
    page = client.get("/i/ABCDEFGHJKMN")
    assert page.status_code == 503
    assert "we cannot show this page right now" in visible_text(page)
    assert "Nothing you saved before is lost" in visible_text(page)
    posted = client.post("/", data={"code": "ABCD-EFGH-JKMN"})
    assert posted.status_code in (400, 503)  # no session, so no CSRF token either


def test_sqlite_connections_are_configured_for_safety(app):
    if app.extensions["voiceapp.db"].engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with app.extensions["voiceapp.db"].engine.connect() as connection:
        pragma = lambda name: connection.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("secure_delete") == 1
        assert pragma("busy_timeout") >= 5000


def test_settings_are_frozen():
    with pytest.raises(Exception):
        Settings().env = "production"  # type: ignore[misc]
