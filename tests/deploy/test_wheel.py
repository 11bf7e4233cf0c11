"""The wheel, installed the way a server is built: built from a copy of the source, installed
(not editable) into a fresh virtualenv, then run from an empty folder with no checkout in
sight. Templates, static files, compiled translations and migrations must all come with it.

Needs pip to reach a package index (or its cache) for the build tools and dependencies.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ..servers import ROOT, Gunicorn, answers, environ, free_port, wait_until
from ..web import Browser

pytestmark = [pytest.mark.wheel, pytest.mark.slow, pytest.mark.timeout(900)]

NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                    "instance", "__pycache__", "*.pyc", "*.mo", "artifacts")


def run(command: list, cwd: Path, **variables: str) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd,
                            env=environ(**variables), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def welsh(message: str) -> str:
    with (ROOT / "translations/cy/LC_MESSAGES/messages.po").open("rb") as handle:
        return read_po(handle)[message].string


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; returns its folder."""
    folder = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, folder / "source", ignore=NOT_SOURCE)
    # What an earlier build in the same folder left behind (pip builds in place) must not ship.
    stale = folder / "source/build/lib/voiceapp"
    (stale / "templates").mkdir(parents=True)
    (stale / "removed_module.py").write_text("")
    (stale / "templates" / "removed.html").write_text("")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", folder / "dist",
         folder / "source"], folder)
    wheel, = (folder / "dist").glob("voiceapp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    print(f"{wheel.name}: {wheel.stat().st_size:,} bytes, {len(names)} files")
    for shipped in ("voiceapp/templates/child/welcome.html", "voiceapp/static/css/app.css",
                    "voiceapp/translations/cy/LC_MESSAGES/messages.mo",
                    "voiceapp/translations/ar/LC_MESSAGES/messages.mo",
                    "voiceapp/migrations/env.py",
                    "voiceapp/migrations/versions/0001_the_first_tables.py"):
        assert shipped in names
    assert not [name for name in names if name.startswith(("tests/", "instance", "bench/"))
                or name.endswith(("removed_module.py", "removed.html"))]
    run([sys.executable, "-m", "venv", folder / "venv"], folder)
    run([folder / "venv/bin/pip", "install", "--quiet", wheel], folder)
    return folder / "venv"


def test_the_installed_package_uses_its_own_files(installed, tmp_path):
    where = run([installed / "bin/python", "-c",
                 "from voiceapp import resources; print(resources.folder('templates'))"],
                tmp_path)
    assert where.strip().startswith(str(installed))


def test_init_db_demo_and_gunicorn_work_from_an_empty_folder(installed, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    flask = [installed / "bin/flask", "--app", "voiceapp"]
    assert run([*flask, "init-db"], empty).strip() == "The database is ready."
    assert (empty / "instance" / "voiceapp.sqlite3").exists()  # ./instance by default
    code = re.search(r'"url": "/i/(\w+)"', run([*flask, "demo", "--json"], empty)).group(1)

    server = Gunicorn(str(installed / "bin/python"), environ(), empty, "gunicorn")
    server.start()
    try:
        child = Browser(server.url())
        page = child.get(f"/i/{code}", follow_redirects=True)
        assert page.request.path == "/welcome" and "Before you start" in page.get_data(True)
        stylesheet = re.search(r'href="(/static/css/app\.css\?v=\w+)"', page.get_data(True))
        styles = child.get(stylesheet.group(1))
        assert styles.status_code == 200 and styles.headers["Content-Type"].startswith("text/css")
        assert b".button" in styles.get_data()
        translated = child.get("/welcome?lang=cy")
        assert welsh("Before you start") in translated.get_data(True)
        assert 'lang="cy"' in translated.get_data(True)
    finally:
        assert server.stop() == 0
    assert code not in server.output()


def test_flask_run_and_check_work_installed(installed, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    flask = [installed / "bin/flask", "--app", "voiceapp"]
    run([*flask, "init-db"], empty)
    check = subprocess.run([str(part) for part in (*flask, "check")], cwd=empty,
                           env=environ(), capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 1  # a development instance is not ready to go live
    assert "UNSAFE  environment" in check.stdout
    assert "ok      schema" in check.stdout  # the migrations came with the wheel
    port = free_port()
    development = subprocess.Popen([str(part) for part in (*flask, "run", "--port", port)],
                                   cwd=empty, env=environ(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(port, "/"), "flask run", process=development)
        page = Browser(f"http://127.0.0.1:{port}").get("/")
        assert page.status_code == 200 and "/static/css/app.css?v=" in page.get_data(True)
    finally:
        development.terminate()
        development.wait(timeout=30)
