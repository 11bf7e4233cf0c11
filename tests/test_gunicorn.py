"""gunicorn with the shipped configuration (deploy/gunicorn.conf.py), run for real.

Its access log names the route a request matched, never the path: an invite link's path is
a child's code and a welcome link's path is a one-time token. A reload replaces every
worker without refusing a request.
"""

from __future__ import annotations

import http.client
import importlib.util
import logging
import re
import shutil
import socket
import sys
import threading
import time

import pytest
from gunicorn.config import Config

from .conftest import TEST_SECRET, make_app
from .servers import GUNICORN_CONFIG, Gunicorn, environ, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path, sqlite_template):
    """A production server's folder with the demo organisation and one staff welcome link;
    returns (folder, server environment, invite code, welcome token)."""
    folder = tmp_path / "srv"
    (folder / "instance").mkdir(parents=True, mode=0o700)
    database = folder / "instance" / "voiceapp.sqlite3"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    setup = make_app(url, folder / "instance")
    runner = setup.test_cli_runner()
    code = re.search(r"/i/(\w+)", runner.invoke(args=["demo"]).output).group(1)
    made = runner.invoke(args=["create-user", "--role", "chair", "--email",
                               "new.chair@example.org", "--name", "New Chair"])
    token = re.search(r"/staff/welcome/(\S+)", made.output).group(1)
    setup.extensions["voiceapp.db"].engine.dispose()
    server_environ = environ(
        VOICEAPP_ENV="production", VOICEAPP_SECRET_KEY=TEST_SECRET,
        VOICEAPP_DATABASE_URL=url, VOICEAPP_INSTANCE_PATH=str(folder / "instance"),
        VOICEAPP_PUBLIC_URL="https://views.example.org", VOICEAPP_TRUSTED_PROXIES="1")
    return folder, server_environ, code, token


def get(port: int, path: str, headers: dict | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_the_access_log_names_routes_never_codes_tokens_or_queries(site):
    folder, server_environ, code, token = site
    server = Gunicorn(sys.executable, server_environ, folder, "server").start()
    try:
        assert get(server.port, f"/i/{code}", {
            "Referer": f"https://views.example.org/i/{code}",
            "Cookie": f"remembered={code}", "User-Agent": f"phone {token}"}) == 302
        assert get(server.port, f"/staff/welcome/{token}") == 200
        assert get(server.port, "/welcome?lang=cy&note=QUERYSECRET") == 302
        assert get(server.port, "/i/PATHSECRET/more") == 404
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(f"GET /i/{code}\r\n\r\n".encode())  # a malformed request line
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
    finally:
        assert server.stop() == 0
    log = server.output()
    print(log)
    dashed = "-".join((code[:4], code[4:8], code[8:]))
    for secret in (code, dashed, token, "QUERYSECRET", "PATHSECRET", "lang=cy"):
        assert secret not in log
    assert re.search(r'"GET /i/<code> HTTP/1.1" 302 \d+ \d+ms', log)
    assert re.search(r'"GET /staff/welcome/<token> HTTP/1.1" 200 ', log)
    assert re.search(r'"GET /welcome HTTP/1.1" 302 ', log)
    assert re.search(r'"GET \(no route\) HTTP/1.1" 404 ', log)
    assert "[WARNING] Invalid request from ip=127.0.0.1: (not logged)" in log


def load_config_module():
    spec = importlib.util.spec_from_file_location("shipped_gunicorn_config", GUNICORN_CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_request_that_fails_inside_gunicorn_is_logged_without_its_address(tmp_path):
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = load_config_module().RedactingLogger(config)
    try:
        raise ConnectionResetError("client went away")
    except ConnectionResetError:
        logger.exception("Error handling request %s %s", "POST", "/i/ABCDEFGHJKMN?x=1")
        logger.exception("Error handling request %s", "http://views.example.org/i/ABCDEFGHJKMN")
    logger.info("Listening at: %s (%s)", "http://127.0.0.1:8000", 42)
    for handler in logging.getLogger("gunicorn.error").handlers:
        handler.flush()
    log = (tmp_path / "error.log").read_text()
    assert "ABCDEFGHJKMN" not in log
    assert log.count("Error handling request (not logged)") == 2
    assert "ConnectionResetError: client went away" in log  # the news is kept
    assert "Listening at: http://127.0.0.1:8000 (42)" in log  # other lines untouched


def test_a_reload_replaces_every_worker_without_refusing_a_request(site):
    folder, server_environ, _code, _token = site
    server = Gunicorn(sys.executable, server_environ, folder, "server", workers=2).start()
    statuses: list[int | str] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                statuses.append(get(server.port, "/healthz"))
            except OSError as error:
                statuses.append(type(error).__name__)

    try:
        wait_until(lambda: len(server.worker_pids()) == 2, "two workers")
        before = server.worker_pids()
        # The master never loads the app, so new workers import whatever is installed now.
        maps = open(f"/proc/{server.process.pid}/maps").read()
        assert "cryptography" not in maps and "sqlalchemy" not in maps
        asking = threading.Thread(target=keep_asking)
        asking.start()
        time.sleep(0.5)
        server.reload()
        wait_until(lambda: len(server.worker_pids() - before) == 2
                   and not server.worker_pids() & before, "new workers")
        time.sleep(0.5)
        stop.set()
        asking.join()
    finally:
        stop.set()
        assert server.stop() == 0
    print(f"{len(statuses)} requests during the reload")
    assert len(statuses) > 10
    assert set(statuses) == {200}
