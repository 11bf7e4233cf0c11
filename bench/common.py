"""Shared pieces of the benchmarks: a throwaway instance, sessions ready to use, gunicorn.

Every benchmark builds its own instance folder in /tmp (SQLite by default), loads the demo
data with the app's own `demo` command, starts its own gunicorn and removes all of it again.
Nothing here touches the checkout's instance/ folder or the app package.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-" + "0123456789abcdef" * 3
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="token"[^>]*value="([^"]*)"')
COOKIE = "__Host-voiceapp"  # the session cookie's name in production


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """A temporary instance folder and database with the demo organisation loaded.

    ``database_url`` None means SQLite in the folder. A PostgreSQL URL is emptied first
    (DROP SCHEMA public CASCADE), so only ever pass a database made for benchmarking.
    """

    def __init__(self, database_url: str | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="voiceapp-bench-"))
        self.database_url = database_url or f"sqlite:///{self.folder / 'voiceapp.sqlite3'}"
        if not self.database_url.startswith("sqlite"):
            from sqlalchemy import create_engine, text
            engine = create_engine(self.database_url)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        from voiceapp import create_app
        from voiceapp.db import upgrade_schema
        upgrade_schema(self.database_url)  # the migrations, as `flask init-db` runs them
        # The setup app runs in development (the demo command refuses production);
        # the servers run in production with the same folder, secret and database.
        self.app = create_app(dict(env="development", instance_path=self.folder,
                                   database_url=self.database_url, secret_key=SECRET,
                                   redis_url=None))
        result = self.app.test_cli_runner().invoke(args=["demo", "--json"])
        assert result.exit_code == 0, result.output
        self.demo = json.loads(result.output)
        self.served = None

    @property
    def kind(self) -> str:
        return "SQLite" if self.database_url.startswith("sqlite") else "PostgreSQL"

    def server_env(self) -> dict[str, str]:
        return {**os.environ, "VOICEAPP_ENV": "production", "VOICEAPP_SECURE_COOKIES": "1",
                "VOICEAPP_INSTANCE_PATH": str(self.folder), "VOICEAPP_SECRET_KEY": SECRET,
                "VOICEAPP_DATABASE_URL": self.database_url, "VOICEAPP_REDIS_URL": ""}

    def add_conferences(self, count: int, days_ahead: int = 7,
                        prefix: str = "CP-BENCH") -> list[tuple[int, str]]:
        """``count`` more conferences for the demo chair, each with one invite."""
        from sqlalchemy import select

        from voiceapp import invites
        from voiceapp.db import utcnow, write_transaction
        from voiceapp.models import Conference, Organisation, Role, User
        made = []
        with self.app.app_context(), write_transaction() as tx:
            organisation = tx.scalar(select(Organisation))
            chair = tx.scalar(select(User).where(User.role == Role.CHAIR))
            for n in range(count):
                conference = Conference(organisation_id=organisation.id,
                                        reference=f"{prefix}-{n:04d}", chair_id=chair.id,
                                        starts_at=utcnow() + timedelta(days=days_ahead,
                                                                       hours=n))
                tx.add(conference)
                tx.flush()
                made.append((conference.id, invites.create_invite(tx, conference)[1]))
        return made

    def served_app(self):
        """The app configured as the servers run it (production), in this process: for
        getting sessions ready with Flask's test client (a werkzeug client). Its cookies
        work on the servers, which share the database and the secret."""
        if self.served is None:
            from voiceapp import create_app
            self.served = create_app(dict(
                env="production", secure_cookies=True, instance_path=self.folder,
                database_url=self.database_url, secret_key=SECRET, redis_url=None))
        return self.served

    def children(self, codes: list[str], start: int, count: int) -> list[str]:
        """``count`` children with a saved draft each, ready to send (see
        :func:`child_with_draft`). One process: two would wait for SQLite's write lock."""
        return [child_with_draft(self.served_app(), codes[k % len(codes)],
                                 f"I worry about school ({k})")
                for k in range(start, start + count)]

    def staff_cookie(self, account: dict) -> str:
        """Sign a member of staff in (password, then an authenticator code made with
        pyotp from their secret) and return their session's Cookie header."""
        import pyotp
        client = self.served_app().test_client()
        page = client.get("/staff/sign-in")
        client.post("/staff/sign-in", data={"csrf_token": CSRF.search(page.text).group(1),
                                            "email": account["email"],
                                            "password": account["password"]})
        page = client.get("/staff/sign-in/code")
        done = client.post("/staff/sign-in/code", data={
            "csrf_token": CSRF.search(page.text).group(1),
            "code": pyotp.TOTP(account["totp_secret"]).now()})
        assert done.status_code == 302, f"sign-in failed ({done.status_code})"
        cookie = client.get_cookie(COOKIE)
        return f"{cookie.key}={cookie.value}"

    def close(self) -> None:
        if self.served is not None:
            self.served.extensions["voiceapp.db"].engine.dispose()
        self.app.extensions["voiceapp.db"].engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def child_with_draft(app, code: str, text: str) -> str:
    """A child who opened invite ``code`` and answered /worries, ready to send:
    "Cookie header<TAB>csrf_token<TAB>send token".

    Made with :meth:`Instance.served_app`'s test client. The app limits how often one
    address may open invites; a benchmark opens thousands from one address, so this
    process's limits (kept in its memory) are reset for each child.
    """
    app.extensions["voiceapp.throttle"].reset()
    client = app.test_client()
    page = client.get(f"/i/{code}", follow_redirects=True)
    assert page.status_code == 200, f"opening an invite answered {page.status_code}"
    csrf = CSRF.search(page.text).group(1)
    answered = client.post("/worries", data={"csrf_token": csrf, "text": text})
    assert answered.status_code == 302, f"/worries answered {answered.status_code}"
    token = TOKEN.search(client.get("/check").text).group(1)
    cookie = client.get_cookie(COOKIE)
    return f"{cookie.key}={cookie.value}\t{csrf}\t{token}"


class Gunicorn:
    """gunicorn serving bench/wsgi_app.py (the app plus a bare /bench/hello route)."""

    def __init__(self, instance: Instance, workers: int = 4, threads: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(ROOT / ".venv/bin/gunicorn"), "--chdir", str(BENCH), "wsgi_app:app",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                "--log-level", "warning", "--backlog", "2048"]
        if threads > 1:
            args += ["--worker-class", "gthread", "--threads", str(threads)]
        self.log = open(instance.folder / "gunicorn.log", "w")
        self.process = subprocess.Popen(args, env=instance.server_env(), stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if get(self.url + "/bench/hello")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start: see " + self.log.name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # our own child, by its pid
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def get(url: str, headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    return request("GET", url, headers=headers)


def request(method: str, url: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection: status, headers, body."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load_average(when: str) -> None:
    """This machine may be shared: say how busy it was, so figures can be judged."""
    figure(f"load average {when} (1 min, {os.cpu_count()} cores)", os.getloadavg()[0])


def figure(name: str, value, unit: str = "") -> None:
    """One figure per line, "name: value"."""
    if isinstance(value, float):
        value = f"{value:.1f}"
    print(f"{name}: {value}{' ' + unit if unit else ''}", flush=True)
