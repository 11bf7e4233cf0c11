"""voiceapp: a child's voice, heard privately, before a Child Protection Conference."""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, request, url_for
from flask_compress import Compress
from sqlalchemy import select as sa_select
from werkzeug.routing import IntegerConverter

from . import (
    access_log, cli, db, delivery, errors, i18n, integrity, invites, resources, security,
    sessions, symbols,
)
from .attachments import UploadRequest
from .auth import ROLE_NAMES
from .models import contact_href
from .questions import CONFERENCE_KINDS
from .config import Settings, UnsafeSettings, from_env


class RowId(IntegerConverter):
    """``<int:...>`` in every address: a number bigger than any row id is not found (404),
    instead of overflowing the database's integer."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: Settings | Mapping | None = None) -> Flask:
    """Build the app. ``config`` is a :class:`Settings`, or overrides for the environment's."""
    settings = config if isinstance(config, Settings) else from_env(**dict(config or {}))
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()),
                template_folder=str(resources.folder("templates")),
                static_folder=str(resources.folder("static")))
    app.url_map.converters["int"] = RowId
    cookie_name = "__Host-voiceapp" if settings.secure_cookies else "voiceapp"
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        # One typed field (not a file) larger than this is refused with 413 before any
        # form is read: far above the longest answer, far below a flood.
        MAX_FORM_MEMORY_SIZE=512 * 1024,
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        # Sessions expire on the server; a CSRF token lives exactly as long as its session.
        WTF_CSRF_TIME_LIMIT=None,
        # The strict check wants a same-origin Referer, which "Referrer-Policy: no-referrer"
        # never sends; the token and SameSite cookies do the work.
        WTF_CSRF_SSL_STRICT=False,
        TESTING=settings.env == "testing",
        SEND_FILE_MAX_AGE_DEFAULT=365 * 24 * 60 * 60,
        # Only static files are compressed: compressing pages that carry a CSRF token next to
        # text a person typed would open the door to BREACH-style guessing.
        COMPRESS_MIMETYPES=list(COMPRESSED_TYPES),
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        # Each static file is compressed once per process, at brotli's best (a phone on a
        # slow connection gets about a sixth less to fetch), then served from memory.
        COMPRESS_BR_LEVEL=11,
        COMPRESS_CACHE_BACKEND=CompressedFiles,
        COMPRESS_CACHE_KEY=_one_key_a_file,
    )
    app.extensions["voiceapp.settings"] = settings
    app.request_class = UploadRequest
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(roles=ROLE_NAMES, kinds=CONFERENCE_KINDS,
                                 invite_label=invites.label_of, row_holds=integrity.holds,
                                 contact_href=contact_href)

    db.init_app(app, settings.database_url)
    database = app.extensions["voiceapp.db"]
    integrity.listen(database.read_sessions, database.write_sessions)
    sessions.init_app(app)
    security.init_app(app, settings.redis_url, settings.trusted_proxies)
    i18n.init_app(app, settings.default_locale, settings.timezone)
    errors.init_app(app)
    symbols.init_app(app)
    access_log.init_app(app)
    Compress(app)
    app.after_request(_whole_static_file)  # runs before Compress's, which can then cache it
    _register_static_versions(app)
    _register_blueprints(app)
    cli.init_app(app)
    if settings.env == "development":
        _deliver_while_serving(app)
    _check_pinned_recovery_key(app, settings)
    return app


def _deliver_while_serving(app: Flask) -> None:
    """Development: the first request starts a notification sender inside the server, and
    links in messages use the address the server was reached at."""

    @app.before_request
    def start_sender() -> None:
        if "voiceapp.sender" not in app.extensions:
            from flask import request

            app.extensions.setdefault("voiceapp.seen_url", request.host_url)
            delivery.start_in_background(app)


def _check_pinned_recovery_key(app: Flask, settings: Settings) -> None:
    """At start-up: the recovery key in the database must be the one pinned in the settings.
    Production refuses to start otherwise; elsewhere it is logged (and `flask check` says)."""
    if not settings.recovery_key_fingerprint:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from .keyring import active_key, recovery_fingerprint_problem
    from .models import Organisation

    with app.app_context():
        try:
            with db.write_transaction() as tx:
                organisation = tx.scalar(sa_select(Organisation).order_by(Organisation.id)
                                         .limit(1))
                key = active_key(tx, None, organisation.id) if organisation else None
                problem = recovery_fingerprint_problem(key) if organisation else None
        except SQLAlchemyError:  # no tables yet (before init-db), or the database is down
            return
    if problem and settings.is_production:
        raise UnsafeSettings(f"voiceapp will not start in production: {problem}")
    if problem:
        app.logger.error("recovery key: %s", problem)


def _register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin
    from .advocate.routes import bp as advocate
    from .chair.routes import bp as chair
    from .child.routes import bp as child
    from .staff.routes import bp as staff

    for blueprint in (child, staff, chair, advocate, admin):
        app.register_blueprint(blueprint)


COMPRESSED_TYPES = ("text/css", "text/javascript", "application/javascript", "image/svg+xml")


class CompressedFiles:
    """Flask-Compress's cache: the compressed static files of this process, by path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.files.get(key)

    def set(self, key: str, value: bytes) -> None:
        self.files[key] = value


def _one_key_a_file(request) -> str:
    """The cache key of a static file: its path as the file is found (without the query,
    and with dot segments resolved), so no address someone makes up adds an entry."""
    return posixpath.normpath(request.path)


def _whole_static_file(response: Response) -> Response:
    """A static file as one body rather than a stream, so Flask-Compress caches it
    compressed (only a file that was found: a made-up path never reaches the cache)."""
    if request.endpoint == "static" and response.status_code == 200 \
            and response.mimetype in COMPRESSED_TYPES:
        response.direct_passthrough = False
        response.set_data(response.get_data())
    return response


def _register_static_versions(app: Flask) -> None:
    """``static_url('css/app.css')`` adds a content hash, so files can be cached for a year."""
    folder = Path(app.static_folder or "")
    versions = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in folder.rglob("*")
        if path.is_file() and "speech" not in path.relative_to(folder).parts[:1]
    }  # (recorded speech is named by its words already: voiceapp/speech.py)

    urls: dict[str, str] = {}

    def static_url(filename: str) -> str:
        if filename not in urls:
            urls[filename] = url_for("static", filename=filename, v=versions.get(filename))
        return urls[filename]

    app.jinja_env.globals["static_url"] = static_url
    # The page icon travels inside each page, so a phone makes one request fewer.
    icon = (folder / "img" / "icon.svg").read_text().strip()
    app.jinja_env.globals["icon_data_url"] = "data:image/svg+xml," + quote(icon)
