"""Before going live: what in the current settings would put children's words at risk.

``flask --app voiceapp check`` runs every function in :data:`CHECKS` and prints what each
found. A check is a small function that takes the app (inside its app context) and returns
one :class:`Finding`: ``ok``, ``unsafe`` (the command then exits non-zero), or a ``note``
for what only a person can confirm. To add a check, write one and add it to the list.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from . import keyring
from .config import Settings, settings
from .db import alembic_config, database
from .models import Organisation
from .security import throttle

OK, UNSAFE, NOTE = "ok", "unsafe", "note"
MIN_SECRET_LENGTH = 32
MIN_SECRET_SYMBOLS = 10  # "x" * 40 or "password" * 4 is long, not random
MIN_KDF_MEMORY_KIB = 64 * 1024
MIN_KDF_ITERATIONS = 3


@dataclass(frozen=True)
class Finding:
    level: str
    message: str


def ok(message: str) -> Finding:
    return Finding(OK, message)


def unsafe(message: str) -> Finding:
    return Finding(UNSAFE, message)


def note(message: str) -> Finding:
    return Finding(NOTE, message)


def environment(app: Flask) -> Finding:
    if settings().is_production:
        return ok("VOICEAPP_ENV is production: the app refuses the worst settings at start")
    return unsafe(f"VOICEAPP_ENV is {settings().env}: set it to production, which refuses "
                  "unsafe settings at start and the demo data")


def debug(app: Flask) -> Finding:
    if app.debug:
        return unsafe("debug mode is on (FLASK_DEBUG): its debugger runs any code a visitor "
                      "sends; unset FLASK_DEBUG")
    return ok("debug mode is off")


def secret(app: Flask) -> Finding:
    key = settings().secret_key
    if len(key) < MIN_SECRET_LENGTH or len(set(key)) < MIN_SECRET_SYMBOLS:
        return unsafe(f"VOICEAPP_SECRET_KEY is {len(key)} characters, {len(set(key))} of "
                      f"them different: use at least {MIN_SECRET_LENGTH} random characters "
                      "(e.g. from `openssl rand -hex 32`)")
    if os.environ.get("VOICEAPP_SECRET_KEY"):
        return ok(f"the secret comes from VOICEAPP_SECRET_KEY ({len(key)} characters)")
    return note(f"the secret was generated into {settings().instance_path / 'secret_key'}: "
                "every server must use the same one, and a backup is useless without it; "
                "keep a copy with the recovery key, or set VOICEAPP_SECRET_KEY")


def cookies(app: Flask) -> Finding:
    if settings().secure_cookies:
        return ok("cookies are sent over HTTPS only (Secure, __Host- prefix)")
    return unsafe("VOICEAPP_SECURE_COOKIES is off: session cookies would travel without "
                  "HTTPS")


def public_url(app: Flask) -> Finding:
    url = settings().public_url
    if not url:
        return unsafe("VOICEAPP_PUBLIC_URL is not set: sign-in links from the command line "
                      "would point at http://127.0.0.1:5000; set it to the https:// address")
    if not url.startswith("https://"):
        return unsafe(f"VOICEAPP_PUBLIC_URL is {url}: invite codes would travel without "
                      "HTTPS; use an https:// address")
    return ok(f"the public address is {url}")


def key_wrapping(app: Flask) -> Finding:
    memory, passes = settings().key_kdf_memory_kib, settings().key_kdf_iterations
    if memory < MIN_KDF_MEMORY_KIB or passes < MIN_KDF_ITERATIONS:
        return unsafe(f"private keys are wrapped with Argon2id at {memory // 1024} MiB and "
                      f"{passes} passes: use at least {MIN_KDF_MEMORY_KIB // 1024} MiB "
                      f"(VOICEAPP_KEY_KDF_MEMORY_KIB) and {MIN_KDF_ITERATIONS} passes "
                      "(VOICEAPP_KEY_KDF_ITERATIONS)")
    return ok(f"private keys are wrapped with Argon2id at {memory // 1024} MiB, "
              f"{passes} passes")


def schema(app: Flask) -> Finding:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(settings().database_url)).get_current_head()
    try:
        with database().engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as error:  # noqa: BLE001 - any failure means "cannot reach it"
        return unsafe(f"cannot reach the database ({type(error).__name__})")
    if current != head:
        return unsafe(f"the database is at migration {current or 'none'}, the code needs "
                      f"{head}: run `flask --app voiceapp init-db`")
    return ok(f"the database is reachable and up to date (migration {head})")


def database_access(app: Flask) -> Finding:
    url = make_url(settings().database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_files(Path(url.database or ""), settings())
    if url.get_backend_name() != "postgresql":
        return unsafe(f"{url.get_backend_name()} is not a supported database")
    problems = []
    local = url.host in (None, "", "localhost", "127.0.0.1", "::1")
    if not local and url.query.get("sslmode") not in ("require", "verify-ca", "verify-full"):
        problems.append(f"the database at {url.host} is reached without TLS: add "
                        "?sslmode=verify-full to VOICEAPP_DATABASE_URL")
    try:
        with database().engine.connect() as connection:
            role, superuser = connection.execute(text(
                "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
    except Exception as error:  # noqa: BLE001 - any failure means "cannot reach it"
        return unsafe("; ".join(problems + [f"cannot reach the database "
                                            f"({type(error).__name__})"]))
    if superuser:
        problems.append(f"the app connects as {role}, a superuser, who can do anything to "
                        "every database and run programs as the postgres account; give "
                        "the app its own ordinary role")
    if problems:
        return unsafe("; ".join(problems))
    return ok(f"PostgreSQL as {role}, an ordinary role" + ("" if local else ", over TLS"))


def _sqlite_files(path: Path, current: Settings) -> Finding:
    problems = []
    folders = {path.parent, current.instance_path}
    for folder in sorted(folders):
        if folder.exists() and stat.S_IMODE(folder.stat().st_mode) & 0o077:
            problems.append(f"{folder} is open to other accounts "
                            f"({stat.S_IMODE(folder.stat().st_mode):o}): chmod 700")
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm"),
             current.instance_path / "secret_key"]
    for file in files:
        if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
            problems.append(f"{file} is readable by other accounts "
                            f"({stat.S_IMODE(file.stat().st_mode):o}): chmod 600")
    if problems:
        return unsafe("; ".join(problems))
    return ok(f"SQLite at {path}, readable by this account only (one server only: several "
              "servers need PostgreSQL)")


def rate_limits(app: Flask) -> Finding:
    current = settings()
    if current.redis_url:
        if throttle().status() == "up":
            return ok("rate limits are kept in Redis, shared by every worker and server")
        return unsafe("Redis (VOICEAPP_REDIS_URL) cannot be reached: each worker counts "
                      "guesses on its own until it can")
    one_worker = os.environ.get("WEB_CONCURRENCY") == "1"
    if one_worker and current.database_url.startswith("sqlite"):
        return note("rate limits are kept in memory: right for one gunicorn worker on one "
                    "server only")
    return unsafe("VOICEAPP_REDIS_URL is not set: each gunicorn worker would count guesses "
                  "on its own (the shipped gunicorn.conf.py starts at least two), "
                  "multiplying every limit")


def proxies(app: Flask) -> Finding:
    count = settings().trusted_proxies
    if count == 1:
        return ok("one proxy (nginx) is trusted for the client's address and scheme")
    if count == 0:
        return note("VOICEAPP_TRUSTED_PROXIES is 0: right only if browsers connect to "
                    "gunicorn directly; behind nginx set it to 1, or every child shares "
                    "nginx's address and one child's wrong guesses lock out the rest")
    return note(f"VOICEAPP_TRUSTED_PROXIES is {count}: make sure exactly {count} proxies "
                "stand in front, or a visitor can choose the address limits count against")


def recovery_key(app: Flask) -> Finding:
    with database().read_sessions() as session:
        organisation = session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
        if organisation is None:
            return unsafe("there is no organisation yet: create the first coordinator with "
                          "`flask --app voiceapp create-user --organisation ...`")
        key = keyring.active_key(session, None, organisation.id)
        if key is None:
            return unsafe("there is no recovery key: without it a lost passphrase loses "
                          "what children sent; run `flask --app voiceapp recovery-key`")
        problem = keyring.recovery_fingerprint_problem(key)
    if problem:
        return unsafe(f"{problem}: nothing will be sealed to it")
    if not settings().recovery_key_fingerprint:
        return unsafe("the recovery key is not pinned: set VOICEAPP_RECOVERY_KEY_FINGERPRINT "
                      "to the fingerprint `flask --app voiceapp recovery-key` printed, so no "
                      "other recovery key written into the database is ever used")
    return ok("the organisation has a recovery key, pinned by its fingerprint")


def mail(app: Flask) -> Finding:
    current = settings()
    if current.smtp_url:
        return ok("email goes by SMTP; run `flask --app voiceapp notify --forever` as a service")
    if current.notify_api_key and current.notify_template_id:
        return ok("email goes by GOV.UK Notify; run `flask --app voiceapp notify --forever` "
                  "as a service")
    return unsafe("no email is set up (VOICEAPP_SMTP_URL, or GOV.UK Notify): nobody is told "
                  "when a child sends something, not even when they say they do not feel "
                  "safe, and coordinators see sign-in links")


def speech(app: Flask) -> Finding:
    from .speech import can_speak
    if can_speak():
        return ok("the sentences about a child's meeting (its date, place and chair) can be "
                  "spoken on phones without a voice in the page's language")
    return note("espeak-ng and opus-tools are not installed (apt install espeak-ng "
                "opus-tools): on a phone without a Welsh or Arabic voice, a child does not "
                "hear the date, place or chair of their meeting")


def backups(app: Flask) -> Finding:
    return note("this cannot be checked from here: back up the database every day to "
                "another machine, keep the secret with the recovery key, and practise a "
                "restore (docs/deploying.md)")


Check = Callable[[Flask], Finding]

CHECKS: list[Check] = [
    environment, debug, secret, cookies, public_url, key_wrapping, schema, database_access,
    rate_limits, proxies, recovery_key, mail, speech, backups,
]


def run(app: Flask, checks: list[Check] | None = None) -> list[tuple[str, Finding]]:
    """Every check's name and finding, in order (inside the app's context)."""
    return [(check.__name__, check(app)) for check in (CHECKS if checks is None else checks)]
