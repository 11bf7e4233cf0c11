"""Staff accounts: passwords, authenticator codes, sign-in state and role checks.

Threats and answers:
- Password guessing: argon2id hashes, a length floor and a list of common passwords, and
  limits on failures per account and per IP (:mod:`voiceapp.security`).
- Finding out who has an account: every failure says the same thing, and an unknown email
  costs the same hashing time as a known one.
- A stolen password alone: every staff role must also give a 6-digit authenticator code
  (TOTP, 30 s), and a code that has been used once is refused (replay).
- A database dump: authenticator secrets are sealed under the instance key, passwords are
  hashed, and session rows are named by a hash of the cookie.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from . import crypto
from .db import db, utcnow
from .models import Role, StaffInvite, User

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("voiceapp: a password nobody has")
MIN_PASSWORD_LENGTH = 12
TOTP_STEP = 30
COMMON_PASSWORDS = frozenset(
    line.strip().lower()
    for line in (Path(__file__).with_name("common_passwords.txt")).read_text().splitlines()
    if line.strip())

ROLE_NAMES = {Role.CHAIR: _l("Conference chair"), Role.ADVOCATE: _l("Advocate"),
              Role.COORDINATOR: _l("Coordinator")}

SIGNED_IN = "signed-in"
NEEDS_CODE = "needs-code"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is not good enough, in words for the person choosing it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    local = normalise_email(email).split("@")[0]
    if lowered in COMMON_PASSWORDS or (len(local) >= 3 and local in lowered):
        return _("This password is too easy to guess. Try three or four random words.")
    return None


_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm",
         "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")


def easy_to_guess(secret: str) -> bool:
    """Long but guessable: few different characters, a repeated piece ("passwordpassword"),
    a run along the alphabet, the digits or the keyboard ("qwertyuiop..."), or mostly a
    common password. Such a passphrase falls to a few guesses against a stolen database."""
    text = secret.lower()
    if len(set(text)) < 8:
        return True
    if any(len(text) % size == 0 and text == text[:size] * (len(text) // size)
           for size in range(1, len(text) // 2 + 1)):
        return True
    in_runs = sum(1 for a, b in zip(text, text[1:])
                  if any(a + b in run or b + a in run for run in _RUNS))
    if in_runs >= (len(text) - 1) * 0.6:
        return True
    covered = [False] * len(text)
    for word in COMMON_PASSWORDS:
        start = text.find(word) if len(word) >= 4 else -1
        while start != -1:
            covered[start:start + len(word)] = [True] * len(word)
            start = text.find(word, start + 1)
    return sum(covered) * 2 > len(text)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_user(email: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def check_password(user: User | None, password: str) -> bool:
    """True if ``password`` is right; takes the same time whether or not the user exists."""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and user.is_active and stored is not _DUMMY_HASH


# ---------------------------------------------------------------------------------------
# Authenticator codes


def _totp_context(user: User) -> bytes:
    return crypto.context("totp-secret", user=user.id)


def instance_key(purpose: str) -> bytes:
    """A key from the instance secret, for secrets the server itself must be able to use
    (derived once per purpose, then kept for the life of the app)."""
    keys = current_app.extensions.setdefault("voiceapp.instance_keys", {})
    if purpose not in keys:
        keys[purpose] = crypto.derive_key(current_app.config["SECRET_KEY"].encode(),
                                          "instance/" + purpose)
    return keys[purpose]


def new_totp_secret() -> str:
    return pyotp.random_base32()


def set_totp_secret(user: User, secret: str) -> None:
    """Seal the secret under the instance key; the user must already have an id."""
    user.totp_secret_sealed = crypto.seal_secret(secret.encode(), instance_key("totp"),
                                                 _totp_context(user))
    user.totp_last_step = None


def totp_secret(user: User) -> str:
    if user.totp_secret_sealed is None:
        raise LookupError("no authenticator enrolled")
    return crypto.open_secret(user.totp_secret_sealed, instance_key("totp"),
                              _totp_context(user)).decode()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="voiceapp")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code ``code`` is (allowing 30 s of clock drift), if any."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // TOTP_STEP
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def code_matches(secret: str, code: str) -> bool:
    """Whether ``code`` is right for ``secret`` now, without using it up."""
    return _matching_step(secret, code) is not None


def accept_code(user: User, code: str, secret: str | None = None) -> bool:
    """Check a 6-digit code and refuse one used before (call it inside db.writing())."""
    step = _matching_step(secret or totp_secret(user), code)
    return step is not None and _use_step(user, step)


def _use_step(user: User, step: int) -> bool:
    """Claim a time step for ``user`` once: a single conditional UPDATE, so two requests
    racing with the same code cannot both win (a replayed or shoulder-surfed code)."""
    claimed = db.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                   User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    if claimed == 1:
        user.totp_last_step = step
        db.flush()
    return claimed == 1


# ---------------------------------------------------------------------------------------
# One-time links for new staff (and for resetting an authenticator)

STAFF_INVITE_SECONDS = 7 * 24 * 60 * 60


def _token_hash(token: str) -> str:
    """An HMAC of a one-time link's token under a key from the instance secret: a row
    written into the database can never be a working link."""
    return hmac.new(instance_key("staff-link"), token.encode(), hashlib.sha256).hexdigest()


def create_staff_invite(tx: Session, user: User, created_by: User | None = None) -> str:
    """A one-time link token for ``user``; earlier unused links for them stop working."""
    for old in tx.scalars(select(StaffInvite).where(StaffInvite.user_id == user.id,
                                                    StaffInvite.used_at.is_(None))):
        old.used_at = utcnow()
    token = secrets.token_urlsafe(32)
    tx.add(StaffInvite(user_id=user.id, token_hash=_token_hash(token),
                       expires_at=utcnow() + timedelta(seconds=STAFF_INVITE_SECONDS),
                       created_by_id=created_by.id if created_by else None))
    return token


def find_staff_invite(token: str) -> StaffInvite | None:
    """The invite for ``token`` if it is unused, unexpired and its account is not disabled."""
    invite = db.scalar(select(StaffInvite).where(StaffInvite.token_hash == _token_hash(token)))
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        return None
    return invite if invite.user.disabled_at is None else None


# ---------------------------------------------------------------------------------------
# Who is signed in


def signed_in_user() -> User | None:
    """The signed-in member of staff, if their account is active and its row holds its
    integrity seal (a role or email changed in the database does not count)."""
    from .integrity import holds

    if session.get("stage") != SIGNED_IN:
        return None
    user = db.get(User, session.get("user_id"))
    return user if user is not None and user.is_active and holds(user) else None


def staff_required(*roles: Role) -> Callable:
    """Hand the signed-in user to the view; anyone else goes to sign in, or gets 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = signed_in_user()
            if user is None:
                session.pop("next", None)
                if request.method == "GET":
                    session["next"] = request.full_path if request.query_string else request.path
                return redirect(url_for("staff.sign_in"))
            if roles and user.role not in roles:
                abort(403)
            return view(user, *args, **kwargs)

        return wrapped

    return decorator
