"""Server-side sessions: the cookie carries one random token, the database keeps the rest.

Threats and answers:
- A database dump must not give working cookies, and someone who can write to the database
  must not be able to make one: rows are named by an HMAC of the token under a key from the
  instance secret, and a row's data is sealed under a key derived from the token itself, so
  a row written (or edited) in the database is no session at all.
- The session's own secrets must not be readable from the database alone: the token also
  derives the session's key (:meth:`ServerSession.key`), which seals a child's draft and a
  staff member's unlocked private key. The cookie alone holds no ciphertext, so neither half
  opens anything without the other.
- Session fixation: :meth:`ServerSession.regenerate` issues a new token at sign-in.
- Forgotten sessions on shared phones: every session has an idle lifetime, refreshed as the
  person uses it, and the cookie itself ends when the browser does.
- Two tabs at once: a save writes only what its request changed, merged into whatever
  another request saved meanwhile (``version`` tells), so neither undoes the other.
- The database failing while a session is read: the request gets a kind "try again" page
  (:func:`refuse_when_unavailable`), never a new, empty session in place of the child's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import datetime, timedelta

from flask import Flask, Request, Response, request, session as current_session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from . import crypto
from .auth import instance_key
from .changes import merge, snapshot
from .db import db, release_request_session, utcnow, write_transaction
from .models import WebSession
from .security import client_ip, throttle

log = logging.getLogger("voiceapp")

ANONYMOUS_IDLE_SECONDS = 60 * 60
_TOUCH_EVERY = timedelta(seconds=30)
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def session_id(token: str) -> str:
    """The row's name: an HMAC of the cookie's token under a key from the instance secret."""
    return hmac.new(instance_key("session-id"), token.encode(), hashlib.sha256).hexdigest()


def _data_key(token: str) -> bytes:
    return crypto.derive_key(token.encode(), "session/data")


def _seal_data(token: str, data: dict) -> str:
    return base64.b64encode(crypto.seal_secret(
        json.dumps(data, separators=(",", ":")).encode(), _data_key(token),
        crypto.context("session-data", session=session_id(token)))).decode()


def _open_data(token: str, stored: str) -> dict | None:
    """A row's data, or None if it was not sealed by this token (written in the database)."""
    try:
        return json.loads(crypto.open_secret(base64.b64decode(stored), _data_key(token),
                                             crypto.context("session-data",
                                                            session=session_id(token))))
    except (crypto.DecryptionError, ValueError):
        return None


class ServerSession(CallbackDict, SessionMixin):
    """A session dict plus the token it is stored under (kept in memory, never stored).

    ``loaded`` is the data as it was read, so a save can tell what this request changed.
    """

    def __init__(self, initial: dict | None = None, token: str | None = None,
                 last_seen: datetime | None = None, version: int = 0,
                 expires_at: datetime | None = None) -> None:
        def on_update(_self: ServerSession) -> None:
            _self.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.stored_token = token
        self.cookie_token = token
        self.last_seen = last_seen
        self.expires_at = expires_at
        self.gone = False  # ended by another request (signed out everywhere, a new token)
        self.version = version
        self.loaded = snapshot(dict(initial or {}))
        self.modified = False
        self.ended = False
        self.unavailable = False

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

    @property
    def changed(self) -> bool:
        return dict(self) != self.loaded


class DatabaseSessionInterface(SessionInterface):
    """Stores :class:`ServerSession` rows in ``web_session``; shared by every worker."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app), "")
        if not _TOKEN_PATTERN.match(token):
            return ServerSession()
        try:
            row = db.get(WebSession, session_id(token))
        except SQLAlchemyError:
            release_request_session()
            log.error("could not read a session: the database is unavailable")
            unavailable = ServerSession(token=token)
            unavailable.unavailable = True
            return unavailable
        now = utcnow()
        if row is None or row.expires_at <= now:
            return ServerSession()
        data = _open_data(token, row.data)
        if data is None or data.get("_until", now.timestamp() + 1) <= now.timestamp():
            return ServerSession()
        return ServerSession(data, token=token, last_seen=row.last_seen_at, version=row.version,
                             expires_at=row.expires_at)

    def save_within(self, tx: Session) -> None:
        """Save the request's session inside its write transaction (:func:`db.writing`)."""
        session = current_session._get_current_object()
        if isinstance(session, ServerSession) and not session.unavailable:
            if _needs_storing(session) and (not _starting(session)
                                            or _may_start_session(session)):
                _store(tx, session)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        release_request_session()
        if session.unavailable:  # never replace a child's session because the database was
            if session.ended:    # down; but leaving quickly still takes the cookie away
                self._set_cookie(app, session, response)
            return
        try:
            if _needs_storing(session) and (not _starting(session)
                                            or _may_start_session(session)):
                with write_transaction() as tx:
                    _store(tx, session)
        except SQLAlchemyError:  # the page already says what went wrong; keep the old row
            log.error("could not save a session: the database is unavailable")
            return
        self._set_cookie(app, session, response)

    def _set_cookie(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        cookie = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                      secure=self.get_cookie_secure(app), httponly=True,
                      samesite=self.get_cookie_samesite(app))
        if session.gone:
            return  # another tab may already hold the new cookie: leave the browser's alone
        if session.ended or session.stored_token is None:
            if session.cookie_token is not None:
                response.delete_cookie(name, **cookie)
            return
        if session.stored_token != session.cookie_token:
            response.set_cookie(name, session.stored_token, **cookie)
        response.vary.add("Cookie")


def _starting(session: ServerSession) -> bool:
    """Whether saving means a new row: a new session, or one given a new token."""
    return session.stored_token is None or session.token != session.stored_token


def _needs_storing(session: ServerSession) -> bool:
    if session.gone:
        return False
    if session.ended:
        return session.stored_token is not None
    if _starting(session):
        return bool(session)
    if session.stored_token is None:
        return False
    return session.changed or _touch_due(session)


def _touch_due(session: ServerSession) -> bool:
    """Staff sessions are kept alive every 30 s of activity; others (a child's) once half
    their idle time has gone, so a child who keeps answering never times out."""
    now = utcnow()
    if "user_id" in session:
        return session.last_seen is None or now - session.last_seen >= _TOUCH_EVERY
    return session.expires_at is not None and (
        session.expires_at - now < timedelta(seconds=session.idle_seconds / 2))


def _store(tx: Session, session: ServerSession) -> None:
    """Write the session's row in ``tx``: a new row for a new token, otherwise only what this
    request changed, merged into the stored data if another request saved it meanwhile."""
    now = utcnow()
    if session.stored_token is not None and (session.ended or _starting(session)):
        tx.execute(delete(WebSession).where(WebSession.id == session_id(session.stored_token)))
    if session.ended:
        session.stored_token = None
        return
    values = dict(user_id=session.get("user_id"), last_seen_at=now,
                  expires_at=now + timedelta(seconds=session.idle_seconds))
    if _starting(session):
        tx.add(WebSession(id=session.id, created_at=now, version=1,
                          data=_seal_data(session.token, dict(session)), **values))
        tx.flush()
        session.version = 1
    else:
        row_id = session_id(session.stored_token)
        stored = tx.execute(update(WebSession).where(
            WebSession.id == row_id, WebSession.version == session.version)
            .values(data=_seal_data(session.token, dict(session)), version=session.version + 1,
                    **values)
            .execution_options(synchronize_session=False)).rowcount
        if stored:
            session.version += 1
        elif not _merge_into_newer(tx, session, row_id, values):
            session.gone, session.stored_token = True, None
            return
    session.stored_token = session.token
    session.last_seen = now
    session.expires_at = values["expires_at"]
    session.loaded = snapshot(dict(session))
    session.modified = False


def _merge_into_newer(tx: Session, session: ServerSession, row_id: str, values: dict) -> bool:
    """Another request saved this session meanwhile: apply our changes to its data. False if
    the session ended meanwhile (signed out, or signed out everywhere): it stays ended."""
    row = tx.execute(select(WebSession.data, WebSession.version)
                     .where(WebSession.id == row_id).with_for_update()).first()
    if row is None:
        return False
    merged = merge(_open_data(session.token, row.data) or {}, session.loaded, dict(session))
    tx.execute(update(WebSession).where(WebSession.id == row_id)
               .values(data=_seal_data(session.token, merged), version=row.version + 1,
                       **values).execution_options(synchronize_session=False))
    session.clear()
    session.update(merged)
    session.version = row.version + 1
    return True


_ANONYMOUS_KEYS = {"csrf_token", "lang", "next", "_idle"}


def _may_start_session(session: ServerSession) -> bool:
    """Anonymous visitors (a CSRF token, a language) get a stored session only within a
    per-address allowance, so a bot cannot fill the table."""
    if set(session) - _ANONYMOUS_KEYS:
        return True
    return throttle().hit("session:ip", client_ip())


_STILL_WORKS_WHEN_DOWN = {"static", "health.healthz", "child.leave", "child.about_leaving"}


def refuse_when_unavailable():
    """Before every request: if the session could not be read, say so kindly (503) instead
    of carrying on as if the person had no session."""
    from .errors import render_error

    if getattr(current_session, "unavailable", False) and \
            request.endpoint not in _STILL_WORKS_WHEN_DOWN:
        return render_error(503)
    return None


def end_sessions_of(tx, user_id: int) -> None:
    """Sign a person out everywhere: every session row (and every unlocked key) goes."""
    tx.execute(delete(WebSession).where(WebSession.user_id == user_id))


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface()
    app.before_request(refuse_when_unavailable)
