"""voiceapp deployed as docs/deploying.md deploys it, on loopback: Debian's nginx with TLS in
front of two gunicorn servers (deploy/gunicorn.conf.py), one PostgreSQL database, Redis.

Needs /usr/sbin/nginx (``apt-get install nginx``), VOICEAPP_TEST_DATABASE_URL and
VOICEAPP_TEST_REDIS_URL; without one of them the tests skip and say why, and with
VOICEAPP_REQUIRE_DEPLOY=1 (set by .ci/run) they fail instead. The deployment keeps out of
the other tests' way: it uses its own database beside the test database (``<name>_deploy``,
created when missing, emptied) and the Redis database numbered ten higher (flushed).
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..conftest import POSTGRES_URL, REDIS_URL
from ..mail import SMTPServer
from ..servers import ROOT, Gunicorn, environ, free_port, wait_until
from ..web import Browser

NGINX = "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx-voiceapp.conf"
REQUIRED = os.environ.get("VOICEAPP_REQUIRE_DEPLOY") == "1"

MAIN_CONFIG = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-main.error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # As in Debian's /etc/nginx/nginx.conf, so the site must switch them off for itself:
    access_log {folder}/nginx-access.log;
    gzip on;
    client_body_temp_path {folder}/client_body_temp;
    proxy_temp_path {folder}/proxy_temp;
    fastcgi_temp_path {folder}/fastcgi_temp;
    uwsgi_temp_path {folder}/uwsgi_temp;
    scgi_temp_path {folder}/scgi_temp;
    include {folder}/site.conf;
}}
"""


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (VOICEAPP_REQUIRE_DEPLOY=1 requires it)")
    pytest.skip(reason)


def requirements() -> None:
    if not Path(NGINX).exists():
        missing(f"{NGINX} is missing: apt-get install nginx")
    if not POSTGRES_URL:
        missing("set VOICEAPP_TEST_DATABASE_URL to a PostgreSQL database")
    if not REDIS_URL:
        missing("set VOICEAPP_TEST_REDIS_URL to a Redis server")


def own_database(test_url: str) -> str:
    """``<test database>_deploy`` on the same server, created if missing, emptied."""
    url = make_url(test_url)
    name = f"{url.database}_deploy"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    own = url.set(database=name)
    engine = create_engine(own)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def own_redis(test_url: str) -> str:
    """The Redis database numbered ten higher than the tests' own, flushed."""
    parts = urlsplit(test_url)
    number = int(parts.path.strip("/") or 0) + 10
    url = urlunsplit(parts._replace(path=f"/{number}"))
    redis.Redis.from_url(url).flushdb()
    return url


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def render_site(text_: str, replacements: list[tuple[str, str]]) -> str:
    """The shipped site file with this machine's ports, paths and name; each replaced
    piece must be there, so the test follows the file."""
    for old, new in replacements:
        assert old in text_, f"{old!r} is no longer in {SITE.name}"
        text_ = text_.replace(old, new)
    return "\n".join(line for line in text_.splitlines() if "[::]" not in line) + "\n"


class Deployment:
    """Everything the tests need to act on the deployment and look at its logs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.https_port, self.http_port = free_port(), free_port()
        self.https_url = f"https://localhost:{self.https_port}"
        self.secret = secrets.token_hex(32)
        self.database_url = own_database(POSTGRES_URL)
        self.redis_url = own_redis(REDIS_URL)
        self.cafile, self.keyfile = make_certificate(folder)
        self.mail = SMTPServer()
        self.servers = {name: Gunicorn(sys.executable, self.server_environ(name), folder,
                                       f"gunicorn-{name}", workers=1) for name in "ab"}
        self.nginx: subprocess.Popen | None = None
        self.senders: list[subprocess.Popen] = []
        self.demo: dict = {}
        self._app = None

    def server_environ(self, name: str = "cli", **more: str) -> dict[str, str]:
        instance = self.folder / f"instance-{name}"
        instance.mkdir(mode=0o700, exist_ok=True)
        return environ(**{
            "VOICEAPP_ENV": "production", "VOICEAPP_SECRET_KEY": self.secret,
            "VOICEAPP_DATABASE_URL": self.database_url, "VOICEAPP_REDIS_URL": self.redis_url,
            "VOICEAPP_PUBLIC_URL": self.https_url, "VOICEAPP_TRUSTED_PROXIES": "1",
            "VOICEAPP_SMTP_URL": f"smtp://127.0.0.1:{self.mail.port}",
            "VOICEAPP_MAIL_FROM": "voiceapp <views@example.org>",
            "VOICEAPP_INSTANCE_PATH": str(instance), **more})

    def flask(self, *args: str, **more: str) -> str:
        """``flask --app voiceapp ...`` against the deployment's database and secret."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "voiceapp", *args],
                                env=self.server_environ(**more), cwd=self.folder,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self) -> None:
        self.flask("init-db")
        self.demo = json.loads(self.flask("demo", "--json", VOICEAPP_ENV="development"))
        self.mail.start()
        for name, server in self.servers.items():
            server.start()
            # A notification sender beside each server, as voiceapp-notify.service runs.
            with (self.folder / f"notify-{name}.log").open("ab") as log:
                self.senders.append(subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "voiceapp", "notify", "--forever"],
                    env=self.server_environ(name), cwd=self.folder, stdout=log,
                    stderr=subprocess.STDOUT))
        self.start_nginx()

    def start_nginx(self) -> None:
        servers = self.servers
        site = render_site(SITE.read_text(), [
            ("    server 127.0.0.1:8000;\n", f"    server 127.0.0.1:{servers['a'].port};\n"
                                            f"    server 127.0.0.1:{servers['b'].port};\n"),
            ("listen 443 ssl default_server;",
             f"listen 127.0.0.1:{self.https_port} ssl default_server;"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("listen 80 default_server;", f"listen 127.0.0.1:{self.http_port} default_server;"),
            ("/etc/letsencrypt/live/views.example.org/fullchain.pem", str(self.cafile)),
            ("/etc/letsencrypt/live/views.example.org/privkey.pem", str(self.keyfile)),
            ("/var/log/nginx/voiceapp.error.log", str(self.folder / "nginx-site.error.log")),
            ("/var/www/html", str(self.folder / "acme")),
            ("views.example.org", "localhost"),
        ])
        (self.folder / "site.conf").write_text(site)
        (self.folder / "nginx.conf").write_text(MAIN_CONFIG.format(folder=self.folder))
        command = [NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                   "-g", "daemon off;"]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        wait_until(self.answers_through_nginx, "nginx", process=self.nginx)

    def answers_through_nginx(self) -> bool:
        try:
            return self.browser().get("/healthz").status_code == 200
        except OSError:
            return False

    def browser(self, source: str = "127.0.0.1") -> Browser:
        return Browser(self.https_url, cafile=str(self.cafile), source=source)

    def nginx_worker_pids(self) -> list[int]:
        pid = self.nginx.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def logs(self) -> dict[str, str]:
        """Every log this deployment wrote: nginx's and both gunicorns'."""
        return {path.name: path.read_text(errors="replace")
                for path in sorted(self.folder.glob("*.log"))}

    def access_lines(self, server: str) -> list[str]:
        return [line for line in self.servers[server].output().splitlines()
                if line.startswith("[") and '"' in line and "] [" not in line]

    def app(self):
        """The app in this process, on the deployment's database and secret (for setting
        up invites and reading what arrived)."""
        if self._app is None:
            from voiceapp import create_app
            self._app = create_app(dict(env="development", database_url=self.database_url,
                                        secret_key=self.secret, redis_url=None,
                                        instance_path=self.folder / "instance-tests"))
        return self._app

    def new_invites(self, count: int) -> list[str]:
        from sqlalchemy import select

        from voiceapp import invites
        from voiceapp.db import write_transaction
        from voiceapp.models import Conference

        with self.app().app_context(), write_transaction() as tx:
            conference = tx.scalar(select(Conference))
            return [invites.create_invite(tx, conference)[1] for _ in range(count)]

    def submissions(self) -> int:
        from sqlalchemy import func, select

        from voiceapp.db import database
        from voiceapp.models import Submission

        with self.app().app_context(), database().read_sessions() as session:
            return session.scalar(select(func.count()).select_from(Submission))

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=30)
        for server in self.servers.values():
            server.stop()
        for sender in self.senders:
            sender.terminate()
            sender.wait(timeout=30)
        if self.mail.controller is not None:
            self.mail.stop()
        if self._app is not None:
            self._app.extensions["voiceapp.db"].engine.dispose()
        redis.Redis.from_url(self.redis_url).flushdb()


@pytest.fixture(scope="module")
def deployment():
    requirements()
    # One deployment at a time on this machine (pytest -n runs workers side by side).
    name = make_url(POSTGRES_URL).database
    lock_path = Path(tempfile.gettempdir()) / f"voiceapp-deploy-{name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = Path(tempfile.mkdtemp(prefix="voiceapp-deploy-"))
        folder.chmod(0o755)  # nginx's workers (user nobody) reach their temporary folders
        deployed = Deployment(folder)
        try:
            deployed.start()
            yield deployed
        finally:
            deployed.stop()
            for name, log in deployed.logs().items():
                print(f"----- {name}\n{log}")
            shutil.rmtree(folder, ignore_errors=True)
