"""Two app servers behind nginx with TLS, sharing one PostgreSQL database and Redis.

Every request goes to nginx on 127.0.0.1 over HTTPS, as a phone's would; nginx passes it
to one of the two gunicorn servers. The conftest says what the deployment is made of.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import ssl
import statistics
import threading
import time

import pytest
from PIL import Image
from werkzeug.test import EnvironBuilder

from ..people import Chair, Child
from ..servers import wait_until

pytestmark = [pytest.mark.deploy, pytest.mark.slow, pytest.mark.timeout(600)]


def secrets_of(deployment, *more: str) -> list[str]:
    """What no log may ever hold: codes (as typed and as linked), passwords, passphrases,
    authenticator secrets, and whatever else the test names."""
    found = list(more)
    for invite in deployment.demo["invites"]:
        found += [invite["code"], invite["url"].removeprefix("/i/")]
    for role in ("chair", "advocate", "coordinator"):
        person = deployment.demo[role]
        found += [person["password"], person["totp_secret"], person.get("passphrase", "")]
    return [secret for secret in found if secret]


def eventually(check, what: str) -> None:
    """gunicorn writes an access line just after the response: allow it a moment."""
    wait_until(check, what, seconds=10)


def assert_no_log_holds(deployment, secrets: list[str]) -> None:
    for name, log in deployment.logs().items():
        for secret in secrets:
            assert secret not in log, f"{name} holds a secret"


def wait_for_nginx(deployment) -> None:
    """After a server stops, nginx finds out on the next request it sends there, and passes
    that request on to the other. A server nginx found down is not tried again for 10
    seconds (fail_timeout), so one just restarted may take that long to be used: meanwhile,
    with the other one stopped, nginx answers 502."""
    wait_until(lambda: deployment.browser().get("/healthz").status_code == 200,
               "nginx reaching a running server", seconds=30)


def wait_until_nginx_uses_both(deployment) -> None:
    """Until nginx passes requests to both servers again (a server it found down in the
    last 10 seconds is left alone)."""
    def through_nginx(name: str) -> int:  # nginx speaks HTTP/1.0 to the app servers
        return sum('"GET /healthz HTTP/1.0"' in line for line in deployment.access_lines(name))

    def both_answered() -> bool:
        counts = {name: through_nginx(name) for name in "ab"}
        for _ in range(4):
            deployment.browser().get("/healthz")
        time.sleep(0.2)
        return all(through_nginx(name) > counts[name] for name in "ab")

    wait_until(both_answered, "nginx using both servers", seconds=30)


def test_a_child_sends_through_one_server_and_the_chair_reads_through_the_other(deployment):
    a, b = deployment.servers["a"], deployment.servers["b"]
    words = "I want my nan to come to the meeting"
    try:
        b.stop()
        # nginx tries server b for one of the next two requests, finds it down and passes
        # the request to a. Its line about that would quote the path, and so the code.
        children = [Child(deployment.browser(), invite["code"])
                    for invite in deployment.demo["invites"]]
        for child in children:
            assert child.opens_invite().request.path == "/welcome"
        child = children[0]
        child.tells(worries=words)
        assert child.sends().request.path == "/sent"
        eventually(lambda: any('"POST /send HTTP/1.0" 302' in line
                               for line in deployment.access_lines("a")), "a sent by server a")

        b.start()
        a.stop()
        wait_for_nginx(deployment)
        chair = Chair(deployment.browser(), dict(deployment.demo["chair"]))
        assert chair.signs_in_and_unlocks().status_code == 200
        chair.opens_inbox()
        conference = re.search(r'href="(/chair/conferences/\d+)"', chair.page.get_data(True))
        chair.opens(conference.group(1))
        submission = re.search(r'href="(/chair/submissions/[0-9a-f-]+)"',
                               chair.page.get_data(True))
        chair.opens(submission.group(1))
        assert words in chair.sees
        eventually(lambda: any('"GET /chair/submissions/<uuid:submission_id> HTTP/1.0" 200'
                               in line for line in deployment.access_lines("b")),
                   "the submission read through server b")
        # Two notification senders (one beside each server) told the chair exactly once,
        # and the email says nothing of what the child said.
        chair_address = deployment.demo["chair"]["email"]
        eventually(lambda: deployment.mail.mailbox.to(chair_address), "the chair's email")
        time.sleep(6)  # both senders have had another turn since
        [told] = deployment.mail.mailbox.to(chair_address)
        assert told["Subject"] == "Something new for conference CP-DEMO-0001"
        assert deployment.https_url + "/staff/sign-in" in told.get_payload(decode=True).decode()
        assert words not in deployment.mail.mailbox.everything()
    finally:
        for server in (a, b):
            if server.process.poll() is not None:
                server.start()
    assert_no_log_holds(deployment, secrets_of(deployment, words))


def test_children_keep_going_while_a_server_stops_mid_journey(deployment):
    codes = deployment.new_invites(4)
    before = deployment.submissions()
    started = threading.Barrier(len(codes) + 1)
    results: dict[int, str] = {}

    def journey(n: int) -> None:
        child = Child(deployment.browser(source=f"127.0.0.{10 + n}"), codes[n])
        child.opens_invite()
        child.starts()
        started.wait(timeout=60)
        try:
            child.tells(worries=f"child {n} kept going")
            results[n] = child.sends().request.path
        except Exception as error:  # noqa: BLE001 - reported below
            results[n] = repr(error)

    children = [threading.Thread(target=journey, args=(n,)) for n in range(len(codes))]
    for thread in children:
        thread.start()
    started.wait(timeout=60)
    time.sleep(0.3)  # the children are answering
    stopped_at = time.monotonic()
    assert deployment.servers["a"].stop() == 0  # graceful: requests in progress finish
    print(f"server a stopped gracefully in {time.monotonic() - stopped_at:.2f} s")
    for thread in children:
        thread.join(timeout=120)
    try:
        assert results == {n: "/sent" for n in range(len(codes))}
        assert deployment.submissions() == before + len(codes)
        assert_no_log_holds(deployment, secrets_of(deployment, *codes))
    finally:
        deployment.servers["a"].start()


WRONG_CODES_ALLOWED = 20  # a minute, per address


def guess(browser, n: int, spoof: str | None = None) -> int:
    """A wrong code, a different one each time."""
    code = f"ZZZZZZZZZ{n:03d}"
    headers = {"X-Forwarded-For": spoof} if spoof else None
    return browser.get(f"/i/{code}", headers=headers).status_code


def test_rate_limits_are_shared_by_both_servers_and_keyed_on_the_address_nginx_passes(
        deployment):
    wait_until_nginx_uses_both(deployment)
    since = {name: len(deployment.access_lines(name)) for name in "ab"}
    guesser = deployment.browser(source="127.0.0.2")
    statuses = [guess(guesser, n, spoof=f"192.0.2.{n}") for n in range(WRONG_CODES_ALLOWED)]
    assert statuses == [400] * WRONG_CODES_ALLOWED
    # Each server answered some of them: a limit kept per server would allow more.
    for name in "ab":
        eventually(lambda: any('"GET /i/<code> HTTP/1.0" 400' in line for line in
                               deployment.access_lines(name)[since[name]:]),
                   f"guesses answered by server {name}")
    assert [guess(guesser, WRONG_CODES_ALLOWED + n, spoof="192.0.2.99")
            for n in range(2)] == [429, 429]
    # Another address behind the same nginx is not held back.
    assert guess(deployment.browser(source="127.0.0.3"), 99) == 400


def photo_bytes(megabytes: float) -> bytes:
    """A PNG of noise, which cannot be compressed: about ``megabytes`` big."""
    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def fetch(port: int, path: str, tls_context=None, host="localhost") -> tuple[int, float]:
    """One request on a new connection: status and seconds to the last byte."""
    began = time.perf_counter()
    if tls_context:
        connection = http.client.HTTPSConnection(host, port, timeout=20, context=tls_context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.perf_counter() - began


def open_files_under(pid: int, folder) -> list[str]:
    paths = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            paths.append(target)
    return paths


def test_nginx_holds_a_slow_upload_in_memory_while_both_servers_keep_answering(deployment):
    """A phone on a poor connection sends a 4 MB photo in small pieces. nginx collects it
    whole before passing it on, so with one worker each, both app servers keep answering
    everyone else throughout; and it never lands in a temporary file."""
    child = Child(deployment.browser(source="127.0.0.20"), deployment.new_invites(1)[0])
    child.opens_invite()
    child.starts()
    child.opens("/worries")
    photo = photo_bytes(4)
    form = EnvironBuilder(method="POST", data={
        "csrf_token": child.csrf_token(), "text": "my drawing",
        "photo": (io.BytesIO(photo), "photo.png", "image/png")}).get_environ()
    body = form["wsgi.input"].read()
    head = (f"POST /worries HTTP/1.1\r\nHost: localhost:{deployment.https_port}\r\n"
            f"Cookie: {child.client.cookie_header()}\r\n"
            f"Content-Type: {form['CONTENT_TYPE']}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    context = ssl.create_default_context(cafile=str(deployment.cafile))
    raw = context.wrap_socket(socket.create_connection(("127.0.0.1", deployment.https_port),
                                                      timeout=60,
                                                      source_address=("127.0.0.20", 0)),
                              server_hostname="localhost")
    piece, pause = 32 * 1024, 0.02
    half = len(body) // 2
    latencies: list[float] = []
    began = time.perf_counter()
    raw.sendall(head)
    for start in range(0, half, piece):
        raw.sendall(body[start:min(start + piece, half)])
        time.sleep(pause)
    # Half the photo is with nginx, and the phone has gone quiet. Both app servers (one
    # worker each) answer directly: neither is waiting for the rest of this upload.
    for server in deployment.servers.values():
        for _ in range(5):
            status, seconds = fetch(server.port, "/healthz")
            assert status == 200
            latencies.append(seconds)
    for worker in deployment.nginx_worker_pids():
        assert open_files_under(worker, deployment.folder / "client_body_temp") == []
    through_nginx = []
    for start in range(half, len(body), piece):
        raw.sendall(body[start:start + piece])
        status, seconds = fetch(deployment.https_port, "/", context)
        assert status == 200
        through_nginx.append(seconds)
        time.sleep(pause)
    answer = b""
    while chunk := raw.recv(65536):
        answer += chunk
    raw.close()
    upload_seconds = time.perf_counter() - began
    assert answer.startswith(b"HTTP/1.1 302"), answer[:200]
    child.opens("/check")
    assert "Photo of a drawing" in child.sees
    stored = re.search(r'<img src="(/attachments/[0-9a-f-]+)"', child.page.get_data(True))
    image = child.client.get(stored.group(1))
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")
    print(f"upload of {len(body):,} bytes took {upload_seconds:.1f} s; meanwhile "
          f"direct /healthz p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms; start page through nginx "
          f"p50 {statistics.median(through_nginx) * 1000:.1f} ms, "
          f"max {max(through_nginx) * 1000:.1f} ms ({len(through_nginx)} requests)")


def test_nginx_speaks_tls_only_and_compresses_no_page(deployment):
    browser = deployment.browser()
    page = browser.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert page.status_code == 200 and "Content-Encoding" not in page.headers
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    css = re.search(r'href="(/static/css/app\.css\?v=\w+)"', page.get_data(True)).group(1)
    styles = browser.get(css, headers={"Accept-Encoding": "gzip"})
    assert styles.status_code == 200 and styles.headers["Content-Encoding"] == "gzip"
    plain = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=10)
    plain.request("GET", "/welcome", headers={"Host": "localhost"})
    response = plain.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == "https://localhost/welcome"
    with pytest.raises(ssl.SSLError):  # a name that is not ours: no handshake at all
        fetch(deployment.https_port, "/", ssl.create_default_context(
            cafile=str(deployment.cafile)), host="127.0.0.1")
