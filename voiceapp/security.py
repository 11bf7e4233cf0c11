"""Security for every response: headers, the Content Security Policy, CSRF and rate limits.

The app sets its own headers, so they hold wherever it is deployed. The policy allows only
the app's own scripts, styles, images and media (plus ``blob:`` for a voice note recorded in
the browser): no inline script, no third party, no framing, forms post only to the app.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, g, request
from flask_wtf import CSRFProtect
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",  # data: only for the page icon, inlined to save a request
    "media-src 'self' blob:",
    "connect-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])

csrf = CSRFProtect()
log = logging.getLogger("voiceapp")

# Every limit in one place. Each attempt is counted before the work is done, so parallel
# requests cannot overshoot a limit.
LIMITS: dict[str, RateLimitItem] = {
    "sign-in:account": parse("5/minute"),
    "sign-in:ip": parse("5/minute"),
    "code:account": parse("5/minute"),
    "unlock:account": parse("5/minute"),
    # Invite codes: every attempt counts towards a generous per-address ceiling (so parallel
    # requests cannot overshoot), but only wrong codes count towards the real limits: many
    # children behind one school's or children's home's address, each typing their own
    # right code (or mistyping it now and then), never lock each other out.
    "invite:ip": parse("120/minute"),
    "invite:wrong": parse("20/minute"),
    "invite:wrong-hour": parse("200/hour"),
    "staff-link:ip": parse("10/minute"),
    "upload:session": parse("30/hour"),
    "upload:invite": parse("60/hour"),
    "upload-mb:invite": parse("250/hour"),  # megabytes: one code cannot fill the disk
    "session:ip": parse("200/minute"),  # a whole school typing codes at once
}


class Throttled(Exception):
    """Too many attempts: the caller shows a kind "wait a minute" page (HTTP 429)."""


class Throttle:
    """Moving-window limits, in Redis when configured (shared by every server), else memory.

    Without Redis each worker process counts on its own, so several workers multiply every
    limit: set VOICEAPP_REDIS_URL whenever more than one process serves. If Redis cannot be
    reached, each process falls back to counting on its own (logged once, shown on
    ``/healthz``) and tries Redis again after :attr:`RETRY_SECONDS`: children can still
    start and send, and guessing is still limited, per process.
    """

    RETRY_SECONDS = 30

    def __init__(self, redis_url: str | None) -> None:
        self.local = MovingWindowRateLimiter(storage_from_string("memory://"))
        self.shared = MovingWindowRateLimiter(storage_from_string(
            redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)) if redis_url else None
        self._shared_down_until = 0.0

    @property
    def falling_back(self) -> bool:
        return self.shared is not None and self._shared_down_until > time.monotonic()

    def _run(self, operation):
        if self.shared is not None and not self.falling_back:
            try:
                result = operation(self.shared)
            except Exception:  # noqa: BLE001 - Redis unreachable: count in this process
                if not self._shared_down_until:
                    log.error("rate limits: Redis is unreachable; counting in this process "
                              "until it is back")
                self._shared_down_until = time.monotonic() + self.RETRY_SECONDS
            else:
                if self._shared_down_until:
                    log.warning("rate limits: Redis is back")
                    self._shared_down_until = 0.0
                return result
        return operation(self.local)

    def hit(self, rule: str, *key: str, cost: int = 1) -> bool:
        """Count one attempt (or ``cost`` of them), atomically; False if over the limit."""
        return self._run(lambda limiter: limiter.hit(LIMITS[rule], rule, *key, cost=cost))

    def allows(self, rule: str, *key: str) -> bool:
        """Whether another attempt would be allowed, without counting one."""
        return self._run(lambda limiter: limiter.test(LIMITS[rule], rule, *key))

    def check(self, *rules: tuple[str, ...]) -> None:
        """Count an attempt against every (rule, *key); raise :class:`Throttled` if any is
        used up."""
        for rule, *key in rules:
            if not self.hit(rule, *key):
                raise Throttled(rule)

    def forgive(self, rule: str, *key: str) -> None:
        """Start a key's count again (after a complete, successful sign-in)."""
        self._run(lambda limiter: limiter.clear(LIMITS[rule], rule, *key))

    def status(self) -> str:
        """"up" (Redis answers, or no Redis is configured) or "fallback" (counting in each
        process because Redis does not answer)."""
        if self.shared is None:
            return "up"
        try:
            reachable = bool(self.shared.storage.check())
        except Exception:  # noqa: BLE001
            reachable = False
        return "up" if reachable else "fallback"

    def reset(self) -> None:
        self.local.storage.reset()
        if self.shared is not None:
            self.shared.storage.reset()


def throttle() -> Throttle:
    return current_app.extensions["voiceapp.throttle"]


def client_ip() -> str:
    return request.remote_addr or "unknown"


def allow_microphone() -> None:
    """Called by the pages that record a voice note; every other page refuses the mic."""
    g.allow_microphone = True


# Static files that are never shown as a page of their own: the headers that only a page
# (a document) obeys are left off them, which saves a slow phone about 400 bytes each.
NOT_DOCUMENTS = ("text/css", "text/javascript", "application/javascript", "audio/ogg")


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.is_secure or current_app.config["SESSION_COOKIE_SECURE"]:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint == "static" and response.mimetype in NOT_DOCUMENTS:
        for name in ("Content-Disposition", "Expires"):  # said already: type, max-age
            headers.pop(name, None)
        return response
    headers.setdefault("Content-Security-Policy", CSP)
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    microphone = "(self)" if g.get("allow_microphone") else "()"
    headers["Permissions-Policy"] = (
        f"microphone={microphone}, camera=(), geolocation=(), payment=(), usb=()")
    if request.endpoint != "static":
        # Nothing personal may linger in a cache or the back-forward cache of a shared phone.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask, redis_url: str | None, trusted_proxies: int) -> None:
    csrf.init_app(app)
    app.extensions["voiceapp.throttle"] = Throttle(redis_url)
    if trusted_proxies:
        # The client's address (for per-address limits) and scheme, from exactly this many
        # proxies. Never the host: nginx passes a client's own X-Forwarded-Host on untouched.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies)
    app.after_request(_set_headers)
