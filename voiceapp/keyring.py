"""People's keys and the organisation's recovery key: creating, unlocking, choosing recipients.

A chair's or advocate's private key is stored only wrapped under their passphrase. Unlocking
re-seals it under the session's own key (derived from the cookie) and keeps that copy in the
session row until it expires or they sign out: neither the database nor the cookie alone can
open it. The recovery key's private half is never stored; it is printed once, for a safe.
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable

from flask import redirect, request, url_for
from flask import session as flask_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import crypto
from .config import settings
from .db import db, utcnow
from .models import Conference, Organisation, RecipientKey, User
from .sessions import ServerSession


def kdf_cost() -> crypto.KdfCost:
    s = settings()
    return crypto.KdfCost(memory_kib=s.key_kdf_memory_kib, iterations=s.key_kdf_iterations)


def _store_public(tx: Session, organisation_id: int, user_id: int | None,
                  private_key: bytes) -> RecipientKey:
    public = crypto.public_key_of(private_key)
    key = RecipientKey(id=crypto.key_id_of(public), organisation_id=organisation_id,
                       user_id=user_id, public_key=public)
    tx.add(key)
    return key


def _retire_active(tx: Session, **owner) -> None:
    for key in tx.scalars(select(RecipientKey).filter_by(retired_at=None, **owner)):
        key.retired_at = utcnow()


def create_person_key(tx: Session, user: User,
                      passphrase: str) -> tuple[RecipientKey, bytes]:
    """A new keypair for a chair or advocate; the previous one is retired but kept, so
    everything sealed to it stays readable. Returns the key and its private half (for the
    creator's session only)."""
    _retire_active(tx, user_id=user.id)
    private = crypto.generate_private_key()
    key = _store_public(tx, user.organisation_id, user.id, private)
    key.wrapped_private_key = crypto.wrap_private_key(private, passphrase, key.id, kdf_cost())
    tx.flush()
    return key, private


def retire_keys(tx: Session, user: User) -> None:
    """Stop sealing to ``user``'s keys (a forgotten passphrase); they make a new one next."""
    _retire_active(tx, user_id=user.id)


def create_recovery_key(tx: Session, organisation: Organisation) -> tuple[RecipientKey, str]:
    """A new organisation recovery key. Returns the key and its private half, as text to
    write down or print once; nothing here can show it again."""
    _retire_active(tx, organisation_id=organisation.id, user_id=None)
    private = crypto.generate_private_key()
    key = _store_public(tx, organisation.id, None, private)
    tx.flush()
    return key, crypto.format_recovery_key(private)


def keys_of(user: User) -> list[RecipientKey]:
    return list(db.scalars(select(RecipientKey).where(RecipientKey.user_id == user.id)
                           .order_by(RecipientKey.created_at)))


def active_key(tx: Session, user_id: int | None, organisation_id: int) -> RecipientKey | None:
    return tx.scalar(select(RecipientKey).where(
        RecipientKey.user_id.is_(None) if user_id is None else RecipientKey.user_id == user_id,
        RecipientKey.organisation_id == organisation_id,
        RecipientKey.retired_at.is_(None)).order_by(RecipientKey.created_at.desc()).limit(1))


def unlock(user: User, passphrase: str) -> dict[str, bytes]:
    """Every private key of ``user`` that ``passphrase`` opens. The active key must open, or
    :class:`crypto.WrongPassphrase`; retired keys under a forgotten passphrase are skipped."""
    keys = [k for k in keys_of(user) if k.wrapped_private_key]
    active = [k for k in keys if k.retired_at is None]
    if not active:
        raise LookupError("no active key")
    opened = {}
    for key in keys:
        try:
            opened[key.id] = crypto.unwrap_private_key(key.wrapped_private_key, passphrase,
                                                       key.id)
        except crypto.WrongPassphrase:
            if key.retired_at is None:
                raise
    return opened


def change_passphrase(tx: Session, user: User, old: str, new: str) -> None:
    """Re-wrap every key of ``user`` under ``new`` (raises WrongPassphrase if ``old`` is wrong)."""
    unlocked = unlock(user, old)
    for key in tx.scalars(select(RecipientKey).where(RecipientKey.user_id == user.id)):
        if key.id in unlocked:
            key.wrapped_private_key = crypto.wrap_private_key(unlocked[key.id], new, key.id,
                                                              kdf_cost())


# ---------------------------------------------------------------------------------------
# Unlocked keys live in the session, sealed under the session's own key


def _session_context(session: ServerSession, key_id: str) -> bytes:
    return crypto.context("unlocked-key", session=session.id, key=key_id)


def keep_unlocked(session: ServerSession, private_keys: dict[str, bytes]) -> None:
    box = session.key("unlocked-keys")
    session["unlocked"] = {
        key_id: base64.b64encode(
            crypto.seal_secret(private, box, _session_context(session, key_id))).decode()
        for key_id, private in private_keys.items()}
    session["unlocked_until"] = time.time() + settings().unlock_seconds


def unlocked_keys(session: ServerSession) -> dict[str, bytes]:
    """The private keys this session unlocked, or {} once the unlock has expired."""
    if session.get("unlocked_until", 0) <= time.time():
        lock(session)
        return {}
    box = session.key("unlocked-keys")
    try:
        return {key_id: crypto.open_secret(base64.b64decode(blob), box,
                                           _session_context(session, key_id))
                for key_id, blob in session.get("unlocked", {}).items()}
    except crypto.DecryptionError:  # not this session's copy: forget it
        lock(session)
        return {}


def unlocked_required(view: Callable) -> Callable:
    """For a view that reads sealed content (under :func:`auth.staff_required`): hand it the
    session's private keys, or send the person to unlock first."""

    @functools.wraps(view)
    def wrapped(user: User, *args, **kwargs):
        keys = unlocked_keys(flask_session)
        if not keys:
            flask_session["next"] = (request.full_path if request.query_string
                                     else request.path)
            return redirect(url_for("staff.unlock"))
        extend_unlock(flask_session)
        return view(user, keys, *args, **kwargs)

    return wrapped


def extend_unlock(session: ServerSession) -> None:
    if "unlocked" in session:
        session["unlocked_until"] = time.time() + settings().unlock_seconds


def lock(session: ServerSession) -> None:
    session.pop("unlocked", None)
    session.pop("unlocked_until", None)


# ---------------------------------------------------------------------------------------
# Who a submission is sealed to


def recipients_for(tx: Session, conference: Conference,
                   also: list[User] = ()) -> list[crypto.Recipient]:
    """The conference chair's key, the organisation's recovery key, and ``also`` (people the
    child agreed may read it) -- each only if they have a key."""
    keys = [active_key(tx, conference.chair_id, conference.organisation_id),
            active_key(tx, None, conference.organisation_id)]
    keys += [active_key(tx, user.id, conference.organisation_id) for user in also]
    unique = {key.id: key for key in keys if key is not None}
    return [crypto.Recipient(key.id, key.public_key) for key in unique.values()]

