"""Fixtures that read like the people who use voiceapp: a child, a chair, a coordinator.

Every test gets a fresh database: a copy of a migrated SQLite file, or (when
VOICEAPP_TEST_DATABASE_URL is set) the PostgreSQL test database emptied between tests.
Tests that need PostgreSQL or Redis skip, saying why, when those are not configured.
Run in parallel (``pytest -n``), each worker has its own PostgreSQL database beside the
test database (``<name>_gw0``...) and its own Redis database number, so none empties
another's.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text

from voiceapp import create_app
from voiceapp.db import Base, upgrade_schema

from .people import Advocate, Chair, Child, Coordinator

POSTGRES_URL = os.environ.get("VOICEAPP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("VOICEAPP_TEST_REDIS_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1"... under pytest -n
NO_POSTGRES = "set VOICEAPP_TEST_DATABASE_URL to a PostgreSQL database to run this variant"
NO_REDIS = "set VOICEAPP_TEST_REDIS_URL to a Redis server to run this variant"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-tests-0123456789"


def pytest_configure(config) -> None:
    if not WORKER:  # once, before any worker starts
        _compile_translations()


def _compile_translations() -> None:
    """Tests always run against freshly compiled catalogues."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).resolve().parent.parent.glob(
            "translations/*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        compiled = po_path.with_suffix(".mo.new")
        with compiled.open("wb") as handle:
            write_mo(handle, catalog)
        os.replace(compiled, po_path.with_suffix(".mo"))


def worker_redis_url() -> str | None:
    """The test Redis database, numbered up by this worker's number under pytest -n."""
    if not REDIS_URL or not WORKER:
        return REDIS_URL
    url = make_url(REDIS_URL)
    return str(url.set(database=str(int(url.database or 0) + int(WORKER[2:]))))


def _worker_postgres_url() -> str:
    """The test database, or this worker's own beside it (made when missing)."""
    if not WORKER:
        return POSTGRES_URL
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_{WORKER}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "voiceapp.sqlite3"
    upgrade_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> str:
    url = _worker_postgres_url()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade_schema(url)
    return url


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "voiceapp.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    url = request.getfixturevalue("postgres_schema")
    _empty_postgres(url)
    return url


def make_app(database_url: str, instance_path: Path, **overrides):
    settings = dict(env="testing", instance_path=instance_path, database_url=database_url,
                    secret_key=TEST_SECRET, key_kdf_memory_kib=8 * 1024,
                    key_kdf_iterations=1, redis_url=None)
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "instance")
    yield app
    app.extensions["voiceapp.db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(runner) -> dict:
    """The demo organisation, as `flask --app voiceapp demo --json` prints it."""
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # a warning on stderr must not spoil the JSON


@pytest.fixture
def child(app, demo) -> Child:
    return Child(app.test_client(), demo["invites"][0]["code"])


@pytest.fixture
def another_child(app, demo) -> Child:
    return Child(app.test_client(), demo["invites"][1]["code"])


@pytest.fixture
def chair(app, demo) -> Chair:
    return Chair(app.test_client(), demo["chair"])


@pytest.fixture
def advocate(app, demo) -> Advocate:
    return Advocate(app.test_client(), demo["advocate"])


@pytest.fixture
def coordinator(app, demo) -> Coordinator:
    return Coordinator(app.test_client(), demo["coordinator"])


def staff_the_other_service(app) -> dict:
    """The demo's second service has nobody who can read, so children are not offered it
    until an advocate with a key joins it: this one."""
    return add_staff(app, "advocate", "other.service@example.org", "other service phrase 55",
                     service_id=2)


def add_staff(app, role: str, email: str, passphrase: str | None = None,
              service_id: int | None = None) -> dict:
    """Another member of staff in the demo organisation, ready to sign in."""
    from voiceapp import auth, keyring
    from voiceapp.db import write_transaction
    from voiceapp.models import Organisation, User

    password = "a long test password 123"
    with app.app_context(), write_transaction() as tx:
        organisation = tx.scalar(select(Organisation))
        user = User(organisation_id=organisation.id, email=email, name=email.split("@")[0],
                    role=role, password_hash=auth.hash_password(password),
                    advocacy_service_id=service_id)
        tx.add(user)
        tx.flush()
        secret = auth.new_totp_secret()
        auth.set_totp_secret(user, secret)
        if passphrase:
            keyring.create_person_key(tx, user, passphrase)
        user_id = user.id
    account = {"email": email, "password": password, "totp_secret": secret, "id": user_id}
    if passphrase:
        account["passphrase"] = passphrase
    return account


def add_conference(app, chair_id: int, reference: str = "CP-OTHER-1",
                   days_ahead: int = 5) -> tuple[int, str]:
    """A conference with one invite; returns its id and the invite code."""
    from datetime import timedelta

    from voiceapp import invites
    from voiceapp.db import utcnow, write_transaction
    from voiceapp.models import Conference, Organisation

    with app.app_context(), write_transaction() as tx:
        organisation = tx.scalar(select(Organisation))
        conference = Conference(organisation_id=organisation.id, reference=reference,
                                starts_at=utcnow() + timedelta(days=days_ahead),
                                chair_id=chair_id)
        tx.add(conference)
        tx.flush()
        _, code = invites.create_invite(tx, conference)
        return conference.id, code


@pytest.fixture
def other_chair(app, demo) -> Chair:
    account = add_staff(app, "chair", "other.chair@example.org", "other chair passphrase 42")
    account["conference_id"], account["invite_code"] = add_conference(app, account["id"])
    return Chair(app.test_client(), account)
