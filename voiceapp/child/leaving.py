"""Leaving quickly: the quick exit on every page, and the page that explains it."""

from __future__ import annotations

import base64
import hmac

from flask import redirect, render_template, request, session
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import integrity
from ..db import db, writing
from ..models import DEFAULT_EXIT_URL, Invite, Organisation
from ..sessions import session_id
from .journey import forget_drafts_of_session
from .pages import bp, log


def leave_token() -> str:
    """What the quick-exit link carries, so that only a page of this session can end it
    (not another site, nor a link prefetcher)."""
    if session.stored_token is None:
        return ""
    return base64.urlsafe_b64encode(session.key("leave")[:12]).decode()


@bp.app_context_processor
def _quick_exit() -> dict:
    return {"leave_token": leave_token}


def _really_leaving() -> bool:
    token = leave_token()
    prefetch = "prefetch" in (request.headers.get("Sec-Purpose", "")
                              + request.headers.get("Purpose", "")).lower()
    return bool(token) and not prefetch and hmac.compare_digest(
        request.args.get("t", ""), token) and request.headers.get(
        "Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


@bp.get("/leave")
def leave():
    """End the session (and delete its draft), then go to the neutral exit site.

    A plain link, so it works without JavaScript; with JavaScript the page replaces itself
    with this address, so Back does not return to the journey. Without this session's token
    (another site, a prefetch) it only goes to the exit site.
    """
    exit_url = _exit_url()
    if _really_leaving():
        session.end()
        if not session.unavailable:
            try:
                with writing():
                    forget_drafts_of_session(session_id(session.stored_token))
            except SQLAlchemyError:  # leaving must work even then; purge deletes it later
                log.error("leaving quickly: the draft could not be deleted now")
    return redirect(exit_url, 303)


def _exit_url() -> str:
    """The organisation's neutral exit site, or the default one when the settings were
    changed in the database (someone could otherwise send a child to a site that watches)."""
    try:
        invite = db.get(Invite, session["invite_id"]) if session.get("invite_id") else None
        organisation = invite.conference.organisation if invite is not None else \
            db.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    except SQLAlchemyError:
        return DEFAULT_EXIT_URL
    if organisation is None or not integrity.holds(organisation):
        return DEFAULT_EXIT_URL
    return organisation.exit_url


@bp.get("/leaving-quickly")
def about_leaving():
    return render_template("child/about_leaving.html", exit_url=_exit_url())
