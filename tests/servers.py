"""Real servers for the tests that run voiceapp as it is deployed: gunicorn with the shipped
configuration (deploy/gunicorn.conf.py), on loopback ports, logging into files."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, what: str, seconds: float = STARTUP_SECONDS, process=None) -> None:
    """Poll ``ready()`` until it is true; fail if ``process`` ends or time runs out."""
    deadline = time.monotonic() + seconds
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} ended with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready after {seconds} s")
        time.sleep(0.1)


def answers(port: int, path: str = "/healthz") -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False


class Gunicorn:
    """One app server: ``python -m gunicorn -c deploy/gunicorn.conf.py`` on a free port,
    its output (access and error log) in ``log``."""

    def __init__(self, python: str, environ: dict[str, str], folder: Path, name: str,
                 workers: int = 1) -> None:
        self.python, self.environ, self.folder, self.name = python, environ, folder, name
        self.workers = workers
        self.port = free_port()
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                 "voiceapp:create_app()"],
                env=self.environ, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: answers(self.port), f"gunicorn {self.name}",
                       process=self.process)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"gunicorn {self.name} did not start:\n{self.output()}")
        return self

    def stop(self) -> int | None:
        """Stop gracefully (SIGTERM), as systemd does; the exit status."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def reload(self) -> None:
        """A graceful reload (SIGHUP), as ``systemctl reload`` sends."""
        self.process.send_signal(signal.SIGHUP)

    def worker_pids(self) -> set[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {int(child) for child in children}

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def environ(**variables: str) -> dict[str, str]:
    """The environment for a server: this one's, without any VOICEAPP_, gunicorn, Flask or
    Python path settings it may carry, plus ``variables``."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(
        ("VOICEAPP_", "GUNICORN_", "WEB_CONCURRENCY", "FLASK_", "PYTHONPATH"))}
    return {**keep, **variables}
