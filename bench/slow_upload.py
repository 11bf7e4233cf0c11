"""Other children's sends while one child's phone uploads a big voice note slowly.

    .venv/bin/python bench/slow_upload.py [--megabytes 20] [--rate-kb 1024] [--sends 30]

Budget (issue: "one slow request holds the write lock for everyone"): with a slow 20 MB
upload in progress, other children's sends keep their normal latency.

Method. gunicorn serves the app in production mode on SQLite (the embedded default, where
this mattered: its one write lock), 2 workers of 4 threads. First, --sends children send
one after another with nothing else happening: the normal latency. Then one child starts
posting a --megabytes voice note at --rate-kb KB/s (a raw socket sending the body in
pieces, as a phone on a poor connection does), and while it is still arriving the same
number of other children send, one after another. A send's latency is from writing the
request to reading the whole response. The upload's own outcome is reported too (the app
refuses this one, as it is not audio: what matters here is that it held nothing while it
arrived).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
import urllib.parse

from common import CSRF, Gunicorn, Instance, child_with_draft, figure, load_average, request


def send(server: Gunicorn, child: str, failures: list) -> float:
    """One send; its latency in ms. Anything but "sent" (302) is kept in ``failures``."""
    cookie, csrf, token = child.split("\t")
    body = urllib.parse.urlencode({"csrf_token": csrf, "token": token}).encode()
    started = time.perf_counter()
    status, _, _ = request("POST", server.url + "/send", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": "https"})
    elapsed = (time.perf_counter() - started) * 1000
    if status != 302:
        failures.append(status)
    return elapsed


def slow_upload(server: Gunicorn, cookie: str, csrf: str, megabytes: int, rate_kb: int,
                finished: threading.Event, outcome: list) -> None:
    head = (f"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"voice\"; filename=\"v.webm\"\r\n"
            "Content-Type: audio/webm\r\n\r\n").encode()
    body = head + b"\x1a\x45\xdf\xa3" + b"\x00" * (megabytes * 1024 * 1024) + b"\r\n--b--\r\n"
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port)) as connection:
        connection.sendall((f"POST /worries HTTP/1.1\r\nHost: {parts.hostname}\r\n"
                            f"Cookie: {cookie}\r\nX-Forwarded-Proto: https\r\n"
                            "Content-Type: multipart/form-data; boundary=b\r\n"
                            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
                           .encode())
        piece = rate_kb * 1024 // 10
        started = time.perf_counter()
        for n, start in enumerate(range(0, len(body), piece)):
            connection.sendall(body[start:start + piece])
            time.sleep(max(0.0, started + (n + 1) / 10 - time.perf_counter()))
        finished.set()
        outcome.append(connection.recv(64).split(b"\r\n")[0].decode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--rate-kb", type=int, default=1024)
    parser.add_argument("--sends", type=int, default=30)
    args = parser.parse_args()
    print("# Other children's sends while one slow upload arrives (SQLite, gunicorn "
          "2 workers x 4 threads, production)")
    load_average("before")
    instance = Instance()
    server = Gunicorn(instance, workers=2, threads=4)
    try:
        codes = [code for _, code in instance.add_conferences(2 * args.sends + 1)]
        quiet_failures: list[int] = []
        quiet = [send(server, child_with_draft(instance.served_app(), code, "a worry"),
                      quiet_failures) for code in codes[:args.sends]]
        uploader = child_with_draft(instance.served_app(), codes[-1], "typed before")
        cookie, csrf, _ = uploader.split("\t")
        children = [child_with_draft(instance.served_app(), code, "a worry")
                    for code in codes[args.sends:2 * args.sends]]
        finished, outcome = threading.Event(), []
        uploading = threading.Thread(target=slow_upload, args=(
            server, cookie, csrf, args.megabytes, args.rate_kb, finished, outcome))
        uploading.start()
        time.sleep(1)
        busy, busy_failures = [], []
        for child in children:
            busy.append(send(server, child, busy_failures))
        during = not finished.is_set()
        uploading.join()
    finally:
        server.stop()
        instance.close()
    answer = outcome[0] if outcome else "no answer"
    figure("upload", f"{args.megabytes} MB at {args.rate_kb} KB/s ({answer})")
    figure("all sends done while the upload was still arriving", "yes" if during else "no")
    figure("sends not sent, quiet", f"{len(quiet_failures)} of {len(quiet)} {quiet_failures}")
    figure("sends not sent, during the slow upload",
           f"{len(busy_failures)} of {len(busy)} {busy_failures}")
    for name, values in (("quiet", quiet), ("during the slow upload", busy)):
        figure(f"send latency {name}, median", statistics.median(values), "ms")
        figure(f"send latency {name}, p95", sorted(values)[int(0.95 * (len(values) - 1))], "ms")
        figure(f"send latency {name}, max", max(values), "ms")
    load_average("after")


if __name__ == "__main__":
    assert CSRF
    main()
