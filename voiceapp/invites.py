"""Invite codes: easy to type on a phone, hopeless to guess.

A code is 12 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), so
31**12 (about 2**59) codes exist. Wrong guesses are limited per IP and per code prefix
(:mod:`voiceapp.security`), so even a crowd of machines guessing for years would almost
certainly never find one. The database keeps a keyed hash to look a code up (a dump cannot
be searched offline without the instance secret) and the code itself sealed under the
instance key, so a coordinator can print the card again.

A code found by its hash is also checked against its sealed copy, and the invite's row
against its integrity seal: swapping hashes between two invites in the database cannot send
one child's views to another child's conference.

The coordinator's label for an invite is sealed under the instance key too: it may be the
most identifying thing in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import crypto, integrity
from .auth import instance_key
from .db import db, utcnow
from .models import Conference, Invite

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
GROUP = 4


class InviteAltered(Exception):
    """The invite's row was changed outside voiceapp (its seal or sealed code differ)."""

    def __init__(self, invite: Invite) -> None:
        super().__init__(f"invite:{invite.id}")
        self.invite = invite


class InviteState(StrEnum):
    OPEN = "open"
    REVOKED = "revoked"
    EXPIRED = "expired"


def generate_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """Upper case, without spaces or dashes: what a child types, as stored."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    code = normalise_code(code)
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def looks_like_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def code_lookup(code: str) -> str:
    return hmac.new(instance_key("invite-lookup"), normalise_code(code).encode(),
                    hashlib.sha256).hexdigest()


def create_invite(tx: Session, conference: Conference, label: str = "") -> tuple[Invite, str]:
    """A new invite for ``conference``, open until the meeting starts. Returns it and its code."""
    code = generate_code()
    invite = Invite(conference_id=conference.id, code_lookup=code_lookup(code),
                    code_sealed=b"", expires_at=conference.starts_at)
    tx.add(invite)
    tx.flush()
    invite.code_sealed = crypto.seal_secret(code.encode(), instance_key("invite-code"),
                                            crypto.context("invite-code", invite=invite.id))
    set_label(invite, label)
    return invite, code


def code_of(invite: Invite) -> str:
    return crypto.open_secret(invite.code_sealed, instance_key("invite-code"),
                              crypto.context("invite-code", invite=invite.id)).decode()


def set_label(invite: Invite, label: str) -> None:
    label = label.strip()
    invite.label_sealed = crypto.seal_secret(
        label.encode(), instance_key("invite-label"),
        crypto.context("invite-label", invite=invite.id)) if label else None


def label_of(invite: Invite) -> str:
    """The coordinator's label for the invite ("" if none, or if it cannot be opened)."""
    if not invite.label_sealed:
        return ""
    try:
        return crypto.open_secret(invite.label_sealed, instance_key("invite-label"),
                                  crypto.context("invite-label", invite=invite.id)).decode()
    except crypto.DecryptionError:
        return ""


_ADJECTIVES = ("Blue", "Green", "Golden", "Silver", "Orange", "Purple", "Red", "Yellow",
               "Quiet", "Brave", "Bright", "Happy", "Gentle", "Swift", "Clever", "Sunny")
_ANIMALS = ("Otter", "Fox", "Owl", "Badger", "Robin", "Hedgehog", "Dolphin", "Panda",
            "Rabbit", "Squirrel", "Tiger", "Koala", "Penguin", "Deer", "Swan", "Wren")


def pseudonym() -> str:
    """A made-up name for an invite's label ("Brave Otter 42"), so nobody types a child's
    name into it."""
    return (f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_ANIMALS)} "
            f"{secrets.randbelow(90) + 10}")


def find_invite(code: str) -> Invite | None:
    """The invite this code opens, or None. Raises :class:`InviteAltered` if its row does
    not hold its seal or its sealed code is not the code given."""
    code = normalise_code(code)
    if not looks_like_code(code):
        return None
    invite = db.scalar(select(Invite).where(Invite.code_lookup == code_lookup(code)))
    if invite is None:
        return None
    try:
        sealed_code = code_of(invite)
    except crypto.DecryptionError:
        sealed_code = ""
    if not (hmac.compare_digest(sealed_code, code) and integrity.holds(invite)):
        raise InviteAltered(invite)
    return invite


def state_of(invite: Invite, now: datetime | None = None) -> InviteState:
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if (now or utcnow()) >= min(invite.expires_at, invite.conference.starts_at):
        return InviteState.EXPIRED
    return InviteState.OPEN
