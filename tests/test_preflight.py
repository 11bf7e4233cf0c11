"""`flask --app voiceapp check`: what is unsafe before going live, one named check at a time."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from voiceapp import preflight
from voiceapp.config import UnsafeSettings

from .conftest import NO_POSTGRES, NO_REDIS, POSTGRES_URL, REDIS_URL, TEST_SECRET, make_app

LIVE = dict(env="production", secure_cookies=True, public_url="https://views.example.org",
            key_kdf_memory_kib=64 * 1024, key_kdf_iterations=3, trusted_proxies=1)


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """A migrated database in a folder only its owner can open."""
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "voiceapp.sqlite3"
    shutil.copy(sqlite_template, path)
    os.chmod(path, 0o600)
    return f"sqlite:///{path}"


@pytest.fixture
def apps(tmp_path):
    """Make apps; dispose of their engines afterwards."""
    made = []

    def make(database_url: str, **settings):
        instance = tmp_path / f"instance{len(made)}"
        instance.mkdir(mode=0o700)
        app = make_app(database_url, instance, **settings)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["voiceapp.db"].engine.dispose()


def set_up_organisation(app, recovery_key: bool = True) -> str | None:
    """The first coordinator, and the recovery key; returns the fingerprint to pin."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--role", "coordinator", "--email",
                                 "it@council.example", "--name", "IT", "--organisation",
                                 "Northshire County Council"])
    assert result.exit_code == 0, result.output
    if recovery_key:
        made = runner.invoke(args=["recovery-key"])
        assert made.exit_code == 0
        return re.search(r"VOICEAPP_RECOVERY_KEY_FINGERPRINT='([0-9a-f ]+)'",
                         made.output).group(1)
    return None


@pytest.fixture
def live(apps, sqlite_url, monkeypatch):
    """Production on SQLite with one gunicorn worker, an organisation, a pinned recovery key
    and email: as safe as one server without Redis can be."""
    monkeypatch.setenv("VOICEAPP_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    fingerprint = set_up_organisation(apps(sqlite_url, **LIVE))
    return apps(sqlite_url, **LIVE, recovery_key_fingerprint=fingerprint,
                smtp_url="smtp+starttls://voiceapp:secret@mail.example.org:587")


def finding(app, check) -> preflight.Finding:
    with app.app_context():
        return check(app)


def test_a_safe_server_passes_and_says_what_only_a_person_can_confirm(live):
    result = live.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    *lines, last = result.output.splitlines()
    levels = {line.split()[1]: line.split()[0] for line in lines}
    assert list(levels) == [check.__name__ for check in preflight.CHECKS]
    from voiceapp.speech import can_speak
    assert {name for name, level in levels.items() if level != "ok"} == {
        "rate_limits", "backups", *(() if can_speak() else ("speech",))}
    assert {level for level in levels.values()} == {"ok", "note"}
    assert last == "Nothing unsafe found. Act on the notes too."


def test_without_a_voice_on_the_server_the_check_says_what_a_child_will_not_hear(
        live, monkeypatch):
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name: None)
    found = finding(live, preflight.speech)
    assert found.level == "note" and "apt install espeak-ng opus-tools" in found.message
    assert "date, place or chair of their meeting" in found.message


def test_check_fails_and_names_every_unsafe_setting(apps, sqlite_url, monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = apps(sqlite_url, env="development", public_url="http://views.example.org")
    set_up_organisation(app)
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "UNSAFE  environment" in result.output and "UNSAFE  public_url" in result.output
    assert result.output.rstrip().endswith(
        "unsafe (environment, cookies, public_url, key_wrapping, rate_limits, recovery_key, "
        "mail): fix them before children use this service.")


@pytest.mark.parametrize("setting,check,words", [
    (dict(env="development"), preflight.environment, "set it to production"),
    (dict(secret_key="short"), preflight.secret, "5 characters"),
    (dict(secret_key="password" * 5), preflight.secret, "7 of them different"),
    (dict(secure_cookies=False), preflight.cookies, "without HTTPS"),
    (dict(public_url=None), preflight.public_url, "not set"),
    (dict(public_url="http://views.example.org"), preflight.public_url,
     "use an https:// address"),
    (dict(key_kdf_memory_kib=8 * 1024), preflight.key_wrapping, "8 MiB"),
    (dict(key_kdf_iterations=1), preflight.key_wrapping, "1 passes"),
    (dict(redis_url="redis://127.0.0.1:1/0"), preflight.rate_limits, "cannot be reached"),
])
def test_each_unsafe_setting_is_found(apps, sqlite_url, setting, check, words):
    # "testing" lets the app start with a setting production itself would refuse.
    app = apps(sqlite_url, **{**LIVE, "env": "testing", **setting})
    assert finding(app, check).level == preflight.UNSAFE
    assert words in finding(app, check).message


def test_the_secret_generated_into_the_instance_folder_is_a_note(apps, sqlite_url, monkeypatch):
    monkeypatch.delenv("VOICEAPP_SECRET_KEY", raising=False)
    app = apps(sqlite_url, **{**LIVE, "secret_key": ""})
    result = finding(app, preflight.secret)
    assert result.level == preflight.NOTE
    assert "every server must use the same one" in result.message


def test_debug_mode_is_unsafe(live):
    live.debug = True
    assert finding(live, preflight.debug).level == preflight.UNSAFE


def test_sqlite_files_open_to_other_accounts_are_unsafe(live, sqlite_url):
    path = sqlite_url.removeprefix("sqlite:///")
    os.chmod(path, 0o644)
    os.chmod(os.path.dirname(path), 0o755)
    result = finding(live, preflight.database_access)
    assert result.level == preflight.UNSAFE
    assert f"{path} is readable by other accounts (644): chmod 600" in result.message
    assert f"{os.path.dirname(path)} is open to other accounts (755): chmod 700" in result.message


def test_a_database_that_needs_migrating_is_unsafe(apps, tmp_path):
    app = apps(f"sqlite:///{tmp_path / 'empty.sqlite3'}", **LIVE)
    result = finding(app, preflight.schema)
    assert result.level == preflight.UNSAFE
    assert "run `flask --app voiceapp init-db`" in result.message


def test_a_remote_database_without_tls_is_unsafe(apps):
    app = apps("postgresql+psycopg://voiceapp@db.invalid/voiceapp", **LIVE)
    result = finding(app, preflight.database_access)
    assert result.level == preflight.UNSAFE
    assert "db.invalid is reached without TLS" in result.message
    assert "cannot reach the database" in result.message
    assert finding(app, preflight.schema).message.startswith("cannot reach the database")


@pytest.mark.postgres
def test_connecting_to_postgresql_as_a_superuser_is_unsafe(apps):
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    app = apps(POSTGRES_URL, **LIVE)
    result = finding(app, preflight.database_access)
    assert result.level == preflight.UNSAFE and "a superuser" in result.message


def test_rate_limits_without_redis_are_unsafe_unless_one_worker_serves(apps, sqlite_url,
                                                                      monkeypatch):
    app = apps(sqlite_url, **LIVE)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert finding(app, preflight.rate_limits).level == preflight.UNSAFE
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert finding(app, preflight.rate_limits).level == preflight.UNSAFE
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert finding(app, preflight.rate_limits).level == preflight.NOTE


@pytest.mark.redis
def test_rate_limits_in_a_reachable_redis_are_ok(apps, sqlite_url):
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    app = apps(sqlite_url, **{**LIVE, "redis_url": REDIS_URL})
    assert finding(app, preflight.rate_limits).level == preflight.OK


@pytest.mark.parametrize("count,level", [(0, preflight.NOTE), (1, preflight.OK),
                                         (2, preflight.NOTE)])
def test_the_trusted_proxies_are_confirmed(apps, sqlite_url, count, level):
    app = apps(sqlite_url, **{**LIVE, "trusted_proxies": count})
    assert finding(app, preflight.proxies).level == level


def test_no_organisation_or_no_recovery_key_is_unsafe(apps, sqlite_url, tmp_path):
    app = apps(sqlite_url, **LIVE)
    assert "create-user" in finding(app, preflight.recovery_key).message
    set_up_organisation(app, recovery_key=False)
    result = finding(app, preflight.recovery_key)
    assert result.level == preflight.UNSAFE and "recovery-key" in result.message
    made = app.test_cli_runner().invoke(args=["recovery-key"])
    result = finding(app, preflight.recovery_key)
    assert result.level == preflight.UNSAFE and "not pinned" in result.message
    fingerprint = re.search(r"FINGERPRINT='([0-9a-f ]+)'", made.output).group(1)
    pinned = apps(sqlite_url, **LIVE, recovery_key_fingerprint=fingerprint)
    assert finding(pinned, preflight.recovery_key).level == preflight.OK
    with pytest.raises(UnsafeSettings, match="not the one pinned"):
        apps(sqlite_url, **LIVE, recovery_key_fingerprint="0000 " * 16)


def test_no_way_to_send_email_is_unsafe(apps, sqlite_url):
    assert finding(apps(sqlite_url, **LIVE), preflight.mail).level == preflight.UNSAFE
    for mail in ({"smtp_url": "smtps://u:p@mail.example.org:465"},
                 {"notify_api_key": "k", "notify_template_id": "t"}):
        assert finding(apps(sqlite_url, **LIVE, **mail), preflight.mail).level == preflight.OK


def test_production_that_refuses_to_start_says_why_in_one_line(tmp_path):
    """Run as a person would: the `flask` command, with a short secret in production."""
    environ = {**os.environ, "VOICEAPP_ENV": "production", "VOICEAPP_SECRET_KEY": "short",
               "VOICEAPP_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "voiceapp", "check"],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("Error: voiceapp will not start in production: "
                             "VOICEAPP_SECRET_KEY must be at least 32 characters\n")
