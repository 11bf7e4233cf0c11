"""People's keys and the organisation's recovery key: creating, unlocking, choosing recipients.

A chair's or advocate's private key is stored only wrapped under their passphrase. Unlocking
re-seals it under the session's own key (derived from the cookie) and keeps that copy in the
session row until it expires or they sign out: neither the database nor the cookie alone can
open it. The recovery key's private half is never stored; it is printed once, for a safe.
"""

from __future__ import annotations

import base64
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import redirect, request, url_for
from flask import session as flask_session
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import crypto, integrity
from .config import settings
from .db import db, utcnow
from .models import Conference, KeyResetRequest, Organisation, RecipientKey, Role, User
from .sessions import ServerSession

log = logging.getLogger("voiceapp")


def kdf_cost() -> crypto.KdfCost:
    s = settings()
    return crypto.KdfCost(memory_kib=s.key_kdf_memory_kib, iterations=s.key_kdf_iterations)


def _store_public(tx: Session, organisation_id: int, user_id: int | None,
                  private_key: bytes) -> RecipientKey:
    public = crypto.public_key_of(private_key)
    key = RecipientKey(id=crypto.key_id_of(public), organisation_id=organisation_id,
                       user_id=user_id, public_key=public, created_at=utcnow())
    tx.add(key)
    return key


def _retire_active(tx: Session, **owner) -> None:
    for key in tx.scalars(select(RecipientKey).filter_by(retired_at=None, **owner)):
        key.retired_at = utcnow()


@dataclass(frozen=True)
class NewKey:
    """A keypair made and wrapped under its owner's passphrase (the slow Argon2 part), ready
    to store."""

    private: bytes
    public: bytes
    wrapped: bytes

    @property
    def id(self) -> str:
        return crypto.key_id_of(self.public)


def make_person_key(passphrase: str) -> NewKey:
    """A new keypair for a chair or advocate, wrapped under ``passphrase``. Touches no
    database: do it before :func:`db.writing`."""
    private = crypto.generate_private_key()
    public = crypto.public_key_of(private)
    return NewKey(private, public, crypto.wrap_private_key(
        private, passphrase, crypto.key_id_of(public), kdf_cost()))


def store_person_key(tx: Session, user: User, new: NewKey) -> RecipientKey:
    """Store ``new`` as ``user``'s key; the previous one is retired but kept, so everything
    sealed to it stays readable."""
    _retire_active(tx, user_id=user.id)
    key = _store_public(tx, user.organisation_id, user.id, new.private)
    key.wrapped_private_key = new.wrapped
    tx.flush()
    return key


def create_person_key(tx: Session, user: User,
                      passphrase: str) -> tuple[RecipientKey, bytes]:
    """:func:`make_person_key` and :func:`store_person_key` in one (for commands)."""
    new = make_person_key(passphrase)
    return store_person_key(tx, user, new), new.private


def retire_keys(tx: Session, user: User) -> None:
    """Stop sealing to ``user``'s keys (a forgotten passphrase); they make a new one next."""
    _retire_active(tx, user_id=user.id)


def pending_key_reset(tx: Session, user: User) -> KeyResetRequest | None:
    """The request for ``user``'s new key waiting for approval (one whose row was written
    outside voiceapp does not count)."""
    asked = tx.scalar(select(KeyResetRequest).where(KeyResetRequest.user_id == user.id,
                                                    KeyResetRequest.decided_at.is_(None)))
    return asked if asked is not None and integrity.holds(asked) else None


def may_approve(tx: Session, asked: KeyResetRequest, approver: User) -> bool:
    """Whether ``approver`` is really a second person: not the one who asked, nor the one
    whose key it is, nor anyone whose sign-in link came (however indirectly) from the one
    who asked, since that account could be theirs."""
    if approver.id in (asked.requested_by_id, asked.user_id):
        return False
    return asked.requested_by_id not in invited_by(tx, approver.id)


def invited_by(tx: Session, user_id: int) -> set[int]:
    """Everyone whose one-time links led, link by link, to ``user_id``'s account."""
    from .models import StaffInvite

    found: set[int] = set()
    waiting = [user_id]
    while waiting:
        makers = set(tx.scalars(select(StaffInvite.created_by_id).where(
            StaffInvite.user_id.in_(waiting), StaffInvite.created_by_id.is_not(None))))
        waiting = list(makers - found)
        found |= makers
    return found


def decide_key_reset(tx: Session, asked: KeyResetRequest, user: User, approve: bool,
                     approver: User | None, actor: str) -> None:
    """Approve a request for ``user``'s new key (their keys retire and every session of
    theirs ends, unlocked keys with it) or refuse it; either way it is audited.
    ``approver`` is the second coordinator (None: someone at the server's command line)."""
    from . import audit, notifications
    from .sessions import end_sessions_of

    asked.decided_at = utcnow()
    asked.approved = approve
    asked.approved_by_id = approver.id if approver else None
    if approve:
        retire_keys(tx, user)
        end_sessions_of(tx, user.id)
        notifications.tell(tx, notifications.note("staff.key-reset", user.email, user=user))
    audit.record(tx, "staff.key-reset" if approve else "staff.key-reset-refused", actor=actor,
                 subject=f"user:{user.id}", requested_by=asked.requested_by_id)


def create_recovery_key(tx: Session, organisation: Organisation) -> tuple[RecipientKey, str]:
    """A new organisation recovery key. Returns the key and its private half, as text to
    write down or print once; nothing here can show it again."""
    _retire_active(tx, organisation_id=organisation.id, user_id=None)
    private = crypto.generate_private_key()
    key = _store_public(tx, organisation.id, None, private)
    tx.flush()
    return key, crypto.format_recovery_key(private)


def _every_key_of(user: User) -> list[RecipientKey]:
    return list(db.scalars(select(RecipientKey).where(RecipientKey.user_id == user.id)
                           .order_by(RecipientKey.created_at)))


def keys_of(user: User) -> list[RecipientKey]:
    """The keys voiceapp made for ``user``. A row written behind its back (its seal fails) is
    never unlocked, shown as in use or sealed to: see :func:`altered_keys_of`."""
    return [key for key in _every_key_of(user) if integrity.holds(key)]


def altered_keys_of(user: User) -> list[RecipientKey]:
    """Rows in the key table, in ``user``'s name, that voiceapp did not write: to report."""
    return [key for key in _every_key_of(user) if not integrity.holds(key)]


def services_that_can_read(tx: Session, organisation_id: int) -> set[int]:
    """The advocacy services with someone to seal to: at least one advocate in it, not
    disabled, with a key. Only these are offered to children; a child's yes to any other
    would reach nobody."""
    return set(tx.scalars(
        select(User.advocacy_service_id).join(RecipientKey, RecipientKey.user_id == User.id)
        .where(User.organisation_id == organisation_id, User.role == Role.ADVOCATE,
               User.disabled_at.is_(None), User.advocacy_service_id.is_not(None),
               RecipientKey.retired_at.is_(None)).distinct()))


def active_key(tx: Session, user_id: int | None, organisation_id: int) -> RecipientKey | None:
    """The newest key in use that voiceapp made (one whose seal fails is passed over)."""
    newest_first = tx.scalars(select(RecipientKey).where(
        RecipientKey.user_id.is_(None) if user_id is None else RecipientKey.user_id == user_id,
        RecipientKey.organisation_id == organisation_id,
        RecipientKey.retired_at.is_(None)).order_by(RecipientKey.created_at.desc()))
    return next((key for key in newest_first if integrity.holds(key)), None)


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


def rewrap_keys(user: User, old: str, new: str) -> dict[str, bytes]:
    """Every key of ``user`` wrapped again under ``new`` (raises WrongPassphrase if ``old`` is
    wrong). Touches no database: store the result with :func:`store_rewrapped`."""
    return {key_id: crypto.wrap_private_key(private, new, key_id, kdf_cost())
            for key_id, private in unlock(user, old).items()}


def store_rewrapped(tx: Session, user: User, rewrapped: dict[str, bytes]) -> None:
    for key in tx.scalars(select(RecipientKey).where(RecipientKey.user_id == user.id)):
        if key.id in rewrapped:
            key.wrapped_private_key = rewrapped[key.id]


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


@dataclass(frozen=True)
class Agreed:
    """Who, besides the chair and the organisation's recovery key, may read a submission:
    exactly what the child agreed to (or what an advocate confirmed the child agreed to)."""

    service_id: int | None = None  # every advocate of this advocacy service
    advocate_ids: frozenset[int] = frozenset()  # these advocates, by name
    refused_ids: frozenset[int] = frozenset()  # never these, even through the service


class NoReader(Exception):
    """Neither the chair's key nor the recovery key can be trusted: nothing can be sealed."""


@dataclass
class Readers:
    recipients: list[crypto.Recipient]
    advocates: list[User]
    chair: User | None  # the chair, if they are one of the readers


def recovery_fingerprint_problem(key: RecipientKey | None) -> str | None:
    """Why the recovery key in the database is not the one pinned in the settings, if so."""
    pinned = settings().recovery_key_fingerprint
    if not pinned:
        return None
    if key is None:
        return "no recovery key in the database"
    if crypto.normalise_fingerprint(pinned) != crypto.key_fingerprint(key.public_key):
        return "the recovery key is not the one pinned by VOICEAPP_RECOVERY_KEY_FINGERPRINT"
    return None


def recipients_for(tx: Session, conference: Conference, agreed: Agreed = Agreed()) -> Readers:
    """The keys to seal a submission to: the conference chair's, the recovery key, and the
    advocates in ``agreed``, in one query.

    Every row that decides this must hold its integrity seal (the conference, each person,
    each key), the chair must still be an enabled chair, advocates enabled advocates, and
    the recovery key the one pinned in the settings. A row that fails is left out and
    reported, never used: writing one row into the database makes nobody a reader.
    """

    chair_ok = integrity.checked(tx, conference)
    people = {conference.chair_id, *agreed.advocate_ids}
    owner = or_(RecipientKey.user_id.is_(None), RecipientKey.user_id.in_(people))
    if agreed.service_id is not None:
        owner = or_(owner, User.advocacy_service_id == agreed.service_id)
    rows = tx.execute(
        select(RecipientKey, User).outerjoin(User, RecipientKey.user_id == User.id)
        .where(RecipientKey.organisation_id == conference.organisation_id,
               RecipientKey.retired_at.is_(None), owner)
        .order_by(RecipientKey.created_at.desc())).all()
    chosen: dict[int | None, RecipientKey] = {}
    advocates: list[User] = []
    chair: User | None = None
    for key, person in rows:
        if key.user_id in chosen or not integrity.checked(tx, key):
            continue
        if person is None:
            problem = recovery_fingerprint_problem(key)
            if problem:
                log.error("recovery key refused: %s", problem)
                integrity.report_altered(tx, key, problem="recovery key not pinned")
                continue
        elif not integrity.checked(tx, person) or person.disabled_at is not None \
                or person.organisation_id != conference.organisation_id:
            continue
        elif person.id == conference.chair_id:
            if not (chair_ok and person.role == Role.CHAIR):
                continue
            chair = person
        elif person.role != Role.ADVOCATE or person.id in agreed.refused_ids or not (
                person.id in agreed.advocate_ids
                or person.advocacy_service_id == agreed.service_id):
            continue
        else:
            advocates.append(person)
        chosen[key.user_id] = key
    if conference.chair_id not in chosen and None not in chosen:
        raise NoReader(f"conference:{conference.id}")
    return Readers([crypto.Recipient(k.id, k.public_key) for k in chosen.values()], advocates,
                   chair)
