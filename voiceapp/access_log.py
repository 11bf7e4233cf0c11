"""What an access log may say about a request: the route it matched, never its address.

An invite link's path is a child's code (``/i/<code>``), a welcome link's path is a one-time
token (``/staff/welcome/<token>``), and a query string could carry anything. So the app notes
in the WSGI environ the rule each request matched, and the production access log
(``deploy/gunicorn.conf.py``) writes that rule (``GET /i/<code> 302``) instead of the path,
and never the query. A request that matched no route has nothing safe to show.
"""

from __future__ import annotations

from flask import Flask, request, request_started

ROUTE = "voiceapp.route"  # deploy/gunicorn.conf.py reads this key (it cannot import voiceapp)


def _note_route(_app: Flask, **_extra) -> None:
    if request.url_rule is not None:
        request.environ[ROUTE] = request.url_rule.rule


def init_app(app: Flask) -> None:
    request_started.connect(_note_route, app)
