"""The flask commands a person runs: init-db, demo and recovery-key."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from voiceapp import crypto
from voiceapp.models import Invite, Organisation, RecipientKey, User


def test_demo_json_prints_exactly_one_object_with_every_sign_in(runner):
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"invites", "chair", "advocate", "coordinator", "recovery_fingerprint"}
    assert len(data["invites"]) == 2
    for invite in data["invites"]:
        assert set(invite) == {"code", "url"}
        assert invite["url"].startswith("/i/")
    for role in ("chair", "advocate", "coordinator"):
        person = data[role]
        assert {"email", "password", "totp_secret"} <= set(person)
        assert person["email"].endswith("@example.org")
        assert len(person["password"]) >= 12
        crypto_ok = __import__("base64").b32decode(person["totp_secret"])
        assert len(crypto_ok) >= 16
    assert data["chair"]["passphrase"]


def test_demo_codes_open_the_journey(app, demo):
    for invite in demo["invites"]:
        client = app.test_client()
        assert client.get(invite["url"]).headers["Location"] == "/welcome"
        assert app.test_client().post("/", data={}).status_code == 400


def test_demo_without_json_is_for_a_person(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0
    assert "chair@example.org" in result.output
    assert "http://127.0.0.1:5000/i/" in result.output
    assert "VOICEAPP-RECOVERY-1-" in result.output


def test_demo_can_run_again(app, runner):
    first = json.loads(runner.invoke(args=["demo", "--json"]).stdout)
    second = json.loads(runner.invoke(args=["demo", "--json"]).stdout)
    assert first["chair"]["password"] != second["chair"]["password"]
    with app.app_context():
        from voiceapp.db import db
        assert db.scalar(select(func.count()).select_from(User)) == 3
        assert db.scalar(select(func.count()).select_from(Invite)) == 2


def test_demo_never_touches_a_real_organisation(app, runner):
    with app.app_context():
        from voiceapp.db import db
        db.add(Organisation(name="Northshire County Council"))
        db.commit()
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code != 0
    assert "real organisation" in result.output


def test_init_db_can_run_twice(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_the_recovery_key_is_printed_once_and_only_its_public_half_is_kept(app, runner, demo):
    refused = runner.invoke(args=["recovery-key"])
    assert refused.exit_code != 0 and "already exists" in refused.output
    result = runner.invoke(args=["recovery-key", "--rotate"])
    assert result.exit_code == 0
    text = next(line for line in result.output.splitlines()
                if line.startswith("VOICEAPP-RECOVERY-1-"))
    private = crypto.parse_recovery_key(text)
    fingerprint = crypto.key_fingerprint(crypto.public_key_of(private))
    assert f"VOICEAPP_RECOVERY_KEY_FINGERPRINT='{fingerprint}'" in result.output
    with app.app_context():
        from voiceapp.db import db
        keys = db.scalars(select(RecipientKey).where(RecipientKey.user_id.is_(None))).all()
    assert len(keys) == 2
    active = [k for k in keys if k.retired_at is None]
    assert len(active) == 1
    assert active[0].public_key == crypto.public_key_of(private)
    assert active[0].wrapped_private_key is None


def test_a_backup_is_a_consistent_copy_that_reveals_nothing(app, runner, child, tmp_path):
    if app.extensions["voiceapp.db"].engine.dialect.name != "sqlite":
        result = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite3")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    child.tells(worries="backed-up-but-sealed-4242")
    child.sends()
    copy = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    data = copy.read_bytes()
    assert data.startswith(b"SQLite format 3") and b"backed-up-but-sealed" not in data
    import sqlite3
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM submission").fetchone() == (1,)
    assert runner.invoke(args=["backup", str(copy)]).exit_code != 0  # never overwrites


def test_the_demo_prints_addresses_for_the_port_the_server_will_use(runner, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_PORT", "8123")
    output = runner.invoke(args=["demo"]).output
    assert "http://127.0.0.1:8123/i/" in output
    assert "http://127.0.0.1:8123/staff/sign-in" in output
    assert ":5000" not in output
