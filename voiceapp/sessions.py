"""Server-side sessions: the cookie carries one random token, the database keeps the rest.

Threats and answers:
- A database dump must not give working cookies: rows are named by a hash of the token.
- The session's own secrets must not be readable from the database alone: the token also
  derives the session's key (:meth:`ServerSession.key`), which seals a child's draft and a
  staff member's unlocked private key. The cookie alone holds no ciphertext, so neither half
  opens anything without the other.
- Session fixation: :meth:`ServerSession.regenerate` issues a new token at sign-in.
- Forgotten sessions on shared phones: every session has an idle lifetime, refreshed as the
  person uses it, and the cookie itself ends when the browser does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import datetime, timedelta

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from . import crypto
from .db import db, release_request_session, utcnow, write_transaction
from .models import WebSession
from .security import client_ip, throttle

log = logging.getLogger("voiceapp")

ANONYMOUS_IDLE_SECONDS = 60 * 60
_TOUCH_EVERY = timedelta(seconds=30)
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def session_id(token: str) -> str:
    return hashlib.sha256(b"voiceapp session\x00" + token.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    """A session dict plus the token it is stored under (kept in memory, never stored)."""

    def __init__(self, initial: dict | None = None, token: str | None = None,
                 last_seen: datetime | None = None) -> None:
        def on_update(_self: ServerSession) -> None:
            _self.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.stored_token = token
        self.last_seen = last_seen
        self.modified = False
        self.ended = False

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.stored_token is None

    @property
    def id(self) -> str:
        return session_id(self._ensure_token())

    def _ensure_token(self) -> str:
        if self.token is None:
            self.token = secrets.token_urlsafe(32)
            self.modified = True
        return self.token

    def key(self, purpose: str) -> bytes:
        """A key for this session alone, derived from the cookie's token."""
        return crypto.derive_key(self._ensure_token().encode(), "session/" + purpose)

    def regenerate(self, data: dict | None = None) -> None:
        """Start afresh under a new token (at sign-in, or when a child opens an invite)."""
        self.clear()
        self.update(data or {})
        self.token = secrets.token_urlsafe(32)
        self.modified = True
        self.ended = False

    def end(self) -> None:
        """Forget everything now: the row goes, and with it what the session's key sealed."""
        self.clear()
        self.ended = True
        self.modified = True

    @property
    def idle_seconds(self) -> int:
        return int(self.get("_idle", ANONYMOUS_IDLE_SECONDS))


class DatabaseSessionInterface(SessionInterface):
    """Stores :class:`ServerSession` rows in ``web_session``; shared by every worker."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app), "")
        if not _TOKEN_PATTERN.match(token):
            return ServerSession()
        try:
            row = db.get(WebSession, session_id(token))
        except SQLAlchemyError:  # the database is down: the page says so, kindly
            release_request_session()
            return ServerSession()
        now = utcnow()
        if row is None or row.expires_at <= now:
            return ServerSession()
        data = json.loads(row.data)
        if data.get("_until", now.timestamp() + 1) <= now.timestamp():
            return ServerSession()
        return ServerSession(data, token=token, last_seen=row.last_seen_at)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        release_request_session()
        try:
            self._save(app, session, response)
        except SQLAlchemyError:  # the page already says what went wrong; keep the old row
            log.error("could not save a session: the database is unavailable")

    def _save(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        cookie = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                      secure=self.get_cookie_secure(app), httponly=True,
                      samesite=self.get_cookie_samesite(app))
        replaced = session.stored_token is not None and session.token != session.stored_token
        if session.ended or replaced:
            with write_transaction() as tx:
                tx.execute(delete(WebSession).where(
                    WebSession.id == session_id(session.stored_token or "")))
        if session.ended:
            if session.stored_token is not None:
                response.delete_cookie(name, **cookie)
            return
        if not session:
            return
        now = utcnow()
        due = session.last_seen is None or now - session.last_seen >= _TOUCH_EVERY
        if not (session.modified or due or replaced):
            return
        token = session._ensure_token()
        starting = token != session.stored_token
        if starting and not _may_start_session(session):
            return
        with write_transaction() as tx:
            row = tx.get(WebSession, session_id(token))
            if row is None and not starting:
                # Ended while this request ran (sign-out, signed out everywhere, disabled):
                # it stays ended.
                response.delete_cookie(name, **cookie)
                return
            row = row or WebSession(id=session_id(token), created_at=now)
            row.data = json.dumps(dict(session), separators=(",", ":"))
            row.user_id = session.get("user_id")
            row.last_seen_at = now
            row.expires_at = now + timedelta(seconds=session.idle_seconds)
            tx.add(row)
        if starting:
            response.set_cookie(name, token, **cookie)
        response.vary.add("Cookie")


_ANONYMOUS_KEYS = {"csrf_token", "lang", "next", "_idle"}


def _may_start_session(session: ServerSession) -> bool:
    """Anonymous visitors (a CSRF token, a language) get a stored session only within a
    per-address allowance, so a bot cannot fill the table or hold the write lock."""
    if set(session) - _ANONYMOUS_KEYS:
        return True
    return throttle().hit("session:ip", client_ip())


def end_sessions_of(tx, user_id: int) -> None:
    """Sign a person out everywhere: every session row (and every unlocked key) goes."""
    tx.execute(delete(WebSession).where(WebSession.user_id == user_id))


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface()
