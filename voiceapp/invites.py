"""Invite codes: easy to type on a phone, hopeless to guess.

A code is 12 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), so
31**12 (about 2**59) codes exist. Wrong guesses are limited per IP and per code prefix
(:mod:`voiceapp.security`), so even a crowd of machines guessing for years would almost
certainly never find one. The database keeps a keyed hash to look a code up (a dump cannot
be searched offline without the instance secret) and the code itself sealed under the
instance key, so a coordinator can print the card again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import crypto
from .auth import instance_key
from .db import db, utcnow
from .models import Conference, Invite

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
GROUP = 4


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
                    code_sealed=b"", label=label.strip(), expires_at=conference.starts_at)
    tx.add(invite)
    tx.flush()
    invite.code_sealed = crypto.seal_secret(code.encode(), instance_key("invite-code"),
                                            crypto.context("invite-code", invite=invite.id))
    return invite, code


def code_of(invite: Invite) -> str:
    return crypto.open_secret(invite.code_sealed, instance_key("invite-code"),
                              crypto.context("invite-code", invite=invite.id)).decode()


def find_invite(code: str) -> Invite | None:
    code = normalise_code(code)
    if not looks_like_code(code):
        return None
    return db.scalar(select(Invite).where(Invite.code_lookup == code_lookup(code)))


def state_of(invite: Invite, now: datetime | None = None) -> InviteState:
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if (now or utcnow()) >= min(invite.expires_at, invite.conference.starts_at):
        return InviteState.EXPIRED
    return InviteState.OPEN
