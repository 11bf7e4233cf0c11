"""Typed settings from VOICEAPP_* environment variables, with safe defaults.

Everything the app needs to know about where it runs lives in one frozen :class:`Settings`.
Nothing secret is a constant in code: the secret key comes from the environment or is
generated once into the instance folder.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app

ENVIRONMENTS = ("development", "production", "testing")


class UnsafeSettings(click.ClickException, RuntimeError):
    """Production refuses to start with a setting that would put children's data at risk.

    A click error, so a ``flask`` command says why in one line instead of a traceback.
    """


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    # The SQLite database and the generated secret: ``instance/`` in the working directory.
    instance_path: Path = Path("instance")
    database_url: str = ""
    secret_key: str = ""
    redis_url: str | None = None
    public_url: str | None = None
    secure_cookies: bool = False
    timezone: str = "Europe/London"
    default_locale: str = "en_GB"
    # Sessions: a staff member is signed out after this long without activity.
    staff_idle_seconds: int = 30 * 60
    chair_idle_seconds: int = 15 * 60
    staff_absolute_seconds: int = 12 * 60 * 60
    # A child's draft lives this long after their last change, unless they send or leave.
    child_session_seconds: int = 24 * 60 * 60
    unlock_seconds: int = 15 * 60
    # Argon2id cost for wrapping private keys; production refuses less than 64 MiB.
    key_kdf_memory_kib: int = 64 * 1024
    key_kdf_iterations: int = 3
    max_request_bytes: int = 30 * 1024 * 1024
    # Voice notes and photos: per file, per draft, and the longest recording.
    max_file_bytes: int = 25 * 1024 * 1024
    max_draft_attachment_bytes: int = 60 * 1024 * 1024
    max_audio_seconds: int = 3 * 60
    # How many reverse proxies in front of the app set X-Forwarded-For (0: none trusted).
    trusted_proxies: int = 0
    # The organisation recovery key's fingerprint, as `flask recovery-key` prints it: a key
    # in the database that does not match is never sealed to.
    recovery_key_fingerprint: str | None = None
    # Telling people (voiceapp.delivery): SMTP, e.g. smtp://127.0.0.1:25,
    # smtp+starttls://user:password@mail.example.org:587 or smtps://user:password@host:465;
    # or GOV.UK Notify, by its API key and the id of a template with ((subject)) and ((body)).
    # With neither, development shows messages on the console and the coordinator's pages.
    smtp_url: str | None = None
    mail_from: str = "voiceapp <voiceapp@localhost>"
    notify_api_key: str | None = None
    notify_template_id: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def check_safe(self) -> None:
        """Refuse to run production with settings that would leak or weaken protection."""
        problems = []
        if not self.secure_cookies:
            problems.append("VOICEAPP_SECURE_COOKIES must be on (HTTPS-only cookies)")
        if len(self.secret_key) < 32:
            problems.append("VOICEAPP_SECRET_KEY must be at least 32 characters")
        if self.key_kdf_memory_kib < 64 * 1024:
            problems.append("VOICEAPP_KEY_KDF_MEMORY_KIB must be at least 65536 (64 MiB)")
        if self.public_url and not self.public_url.startswith("https://"):
            problems.append("VOICEAPP_PUBLIC_URL must start with https://")
        if self.notify_api_key and not self.notify_template_id:
            problems.append("VOICEAPP_NOTIFY_TEMPLATE_ID is needed with VOICEAPP_NOTIFY_API_KEY")
        if problems:
            raise UnsafeSettings("voiceapp will not start in production: " + "; ".join(problems))


_INT_FIELDS = {f.name for f in dataclasses.fields(Settings) if f.type == "int"}


def make_private_folder(path: Path) -> None:
    """The instance folder: made (or tightened) so only its owner can enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def load_secret_key(instance_path: Path) -> str:
    """Read the instance secret, creating it once (safely, even with several workers)."""
    path = instance_path / "secret_key"
    make_private_folder(instance_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_env(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Build settings from the environment; ``overrides`` (tests, the factory) win."""
    environ = dict(os.environ if environ is None else environ)
    values: dict = {}
    for f in dataclasses.fields(Settings):
        raw = environ.get("VOICEAPP_" + f.name.upper())
        if raw is None:
            continue
        if f.name in _INT_FIELDS:
            values[f.name] = int(raw)
        elif f.name == "secure_cookies":
            values[f.name] = _flag(raw)
        elif f.name == "instance_path":
            values[f.name] = Path(raw)
        elif f.name in {"redis_url", "public_url", "recovery_key_fingerprint", "smtp_url",
                        "notify_api_key", "notify_template_id"}:
            values[f.name] = raw or None
        else:
            values[f.name] = raw
    values.update(overrides)
    env = values.setdefault("env", "development")
    if env not in ENVIRONMENTS:
        raise UnsafeSettings(f"VOICEAPP_ENV must be one of {', '.join(ENVIRONMENTS)}")
    if env == "production":
        values.setdefault("secure_cookies", True)
    instance_path = Path(values.get("instance_path", Settings.instance_path)).absolute()
    values["instance_path"] = instance_path
    if not values.get("database_url"):
        make_private_folder(instance_path)
        values["database_url"] = f"sqlite:///{instance_path / 'voiceapp.sqlite3'}"
    if not values.get("secret_key"):
        values["secret_key"] = load_secret_key(instance_path)
    settings = Settings(**values)
    if settings.is_production:
        settings.check_safe()
    return settings


def settings() -> Settings:
    """The settings of the running app."""
    return current_app.extensions["voiceapp.settings"]
