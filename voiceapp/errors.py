"""Friendly error pages that leak nothing, and the health check.

An error page says what happened in plain words and what to do next. It never shows a stack
trace, a query or anything a person typed; the log line names the page and the kind of error,
never the request's content.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from .db import database
from .security import Throttled, throttle

log = logging.getLogger("voiceapp")

MESSAGES = {
    400: (_l("Something went wrong"),
          _l("We could not understand that. Please go back and try again.")),
    403: (_l("You cannot see this page"),
          _l("This page is not for your account. If you think it should be, "
             "ask your coordinator.")),
    404: (_l("Page not found"),
          _l("We could not find this page. Check the address, or go back to the start.")),
    405: (_l("Something went wrong"),
          _l("That did not work. Please go back and try again.")),
    413: (_l("That was too big"),
          _l("What you tried to send was too big. Anything you saved before is still "
             "here. Go back and try something smaller.")),
    429: (_l("Please wait a moment"),
          _l("There have been too many tries. Please wait a few minutes, "
             "then try again.")),
    500: (_l("Sorry, something went wrong"),
          _l("Nothing you saved before is lost. Please go back and try again in a "
             "minute.")),
    503: (_l("Sorry, we cannot save things right now"),
          _l("Nothing you saved before is lost, and what you just did has not been "
             "sent yet. Please try again in a few minutes.")),
}
# A page that only shows something (GET) has nothing of the person's to lose or send.
SHOWING_UNAVAILABLE = (_l("Sorry, we cannot show this page right now"),
                       _l("Nothing you saved before is lost. Please try again in a few "
                          "minutes."))

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Which parts are up. No names, counts or versions: nothing an attacker can use.

    503 only when the database is down: with Redis unreachable every server still works,
    counting rate limits on its own ("fallback"), so it stays in the load balancer.
    """
    database_up = database().is_up()
    return jsonify(database="up" if database_up else "down",
                   rate_limits=throttle().status()), 200 if database_up else 503


def render_error(code: int, title=None, message=None):
    default_title, default_message = (SHOWING_UNAVAILABLE if code == 503
                                      and request.method in ("GET", "HEAD") else MESSAGES[code])
    return render_template("errors/error.html", code=code, title=title or default_title,
                           message=message or default_message), code


def _http_error(error: HTTPException):
    code = error.code if error.code in MESSAGES else 500
    if code >= 500:
        log.error("error %s on %s", code, _where())
    return render_error(code)


def _csrf_error(_error: CSRFError):
    return render_error(400, _l("This page timed out"),
                        _l("Pages stop after a while, to keep you safe. Go back, reload "
                           "the page and try again."))


def _throttled(error: Throttled):
    log.warning("throttled: %s on %s", error.args[0] if error.args else "", _where())
    return render_error(429)


def _database_error(error: SQLAlchemyError):
    log.error("database unavailable on %s: %s", _where(), type(error).__name__)
    return render_error(503)


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.error("unexpected %s on %s", type(error).__name__, _where())
    return render_error(500)


def _where() -> str:
    return request.endpoint or "unknown page"


def init_app(app: Flask) -> None:
    app.register_blueprint(health)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(Throttled, _throttled)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(InternalServerError, _http_error)
    app.register_error_handler(Exception, _unexpected)
