"""Security for every response: headers, the Content Security Policy, CSRF and rate limits.

The app sets its own headers, so they hold wherever it is deployed. The policy allows only
the app's own scripts, styles, images and media (plus ``blob:`` for a voice note recorded in
the browser): no inline script, no third party, no framing, forms post only to the app.
"""

from __future__ import annotations

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

# Every limit in one place. Each attempt is counted before the work is done, so parallel
# requests cannot overshoot a limit.
LIMITS: dict[str, RateLimitItem] = {
    "sign-in:account": parse("5/minute"),
    "sign-in:ip": parse("5/minute"),
    "code:account": parse("5/minute"),
    "unlock:account": parse("5/minute"),
    "invite:ip": parse("10/minute"),
    "invite:ip-hour": parse("30/hour"),
    "invite:prefix": parse("10/hour"),
    "staff-link:ip": parse("10/minute"),
    "upload:session": parse("30/hour"),
    "session:ip": parse("60/minute"),
}


class Throttled(Exception):
    """Too many attempts: the caller shows a kind "wait a minute" page (HTTP 429)."""


class Throttle:
    """Moving-window limits, in Redis when configured (shared by every server), else memory.

    Without Redis each worker process counts on its own, so several workers multiply every
    limit: set VOICEAPP_REDIS_URL whenever more than one process serves. If the store is
    unreachable the answer is "not allowed": guessing never becomes unlimited because a
    cache is down.
    """

    def __init__(self, redis_url: str | None) -> None:
        self.storage = storage_from_string(redis_url or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)

    def hit(self, rule: str, *key: str) -> bool:
        """Count one attempt, atomically; False if it is over the limit."""
        try:
            return self.limiter.hit(LIMITS[rule], rule, *key)
        except Exception:  # noqa: BLE001 - an unreachable store fails closed
            return False

    def allows(self, rule: str, *key: str) -> bool:
        """Whether another attempt would be allowed, without counting one."""
        try:
            return self.limiter.test(LIMITS[rule], rule, *key)
        except Exception:  # noqa: BLE001 - an unreachable store fails closed
            return False

    def check(self, *rules: tuple[str, ...]) -> None:
        """Count an attempt against every (rule, *key); raise :class:`Throttled` if any is
        used up."""
        for rule, *key in rules:
            if not self.hit(rule, *key):
                raise Throttled(rule)

    def forgive(self, rule: str, *key: str) -> None:
        """Start a key's count again (after a complete, successful sign-in)."""
        try:
            self.limiter.clear(LIMITS[rule], rule, *key)
        except Exception:  # noqa: BLE001 - at worst the person waits a minute
            pass

    def is_up(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:  # noqa: BLE001
            return False

    def reset(self) -> None:
        self.storage.reset()


def throttle() -> Throttle:
    return current_app.extensions["voiceapp.throttle"]


def client_ip() -> str:
    return request.remote_addr or "unknown"


def allow_microphone() -> None:
    """Called by the pages that record a voice note; every other page refuses the mic."""
    g.allow_microphone = True


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    microphone = "(self)" if g.get("allow_microphone") else "()"
    headers["Permissions-Policy"] = (
        f"microphone={microphone}, camera=(), geolocation=(), payment=(), usb=()")
    if request.is_secure or current_app.config["SESSION_COOKIE_SECURE"]:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
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
