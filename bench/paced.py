"""An open-loop load generator: requests arrive at a set average rate, whatever the server does.

Why not wrk for this: wrk paces with a delay() *after* it has connected, so each waiting
connection is already open. A gunicorn sync worker accepts it and then sits blocked,
reading a request that only comes when the delay ends; latency then measures wrk, not the
app (p50 of ~90 ms for "hello" at a quarter of its top rate). Here each request opens its
own connection only when it is due, as a phone would, and sends the whole request at once.

Arrivals are a Poisson process (random gaps, mean 1/rate), which is what many independent
people produce. A request's latency runs from its *scheduled* time to the last byte of the
response, so a generator or server that falls behind shows up in the figure instead of
hiding it (no "coordinated omission").
"""

from __future__ import annotations

import random
import selectors
import socket
import time
from collections.abc import Iterator


def run(host: str, port: int, payloads: Iterator[bytes], rate: float,
        seconds: float) -> dict:
    """Send ``payloads`` (raw HTTP requests) at ``rate`` a second for ``seconds``: the rate
    achieved, p50 and p99 latency in ms, requests, and errors (no answer, or 4xx/5xx).

    One thread with non-blocking sockets (epoll), so that the generator itself needs
    little of the CPU it shares with the server: Python's asyncio could not keep up with
    "hello" at a few thousand requests a second on two cores.
    """
    selector = selectors.DefaultSelector()
    start = due = time.perf_counter()
    end = start + seconds
    took: list[float] = []
    errors = 0
    while due < end or selector.get_map():
        now = time.perf_counter()
        while due <= now and due < end:  # open every connection that is due
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((host, port))
            selector.register(sock, selectors.EVENT_WRITE, [due, next(payloads), b""])
            due += random.expovariate(rate)
        timeout = max(0.0, due - time.perf_counter()) if due < end else 1.0
        for key, events in selector.select(timeout):
            sock, state = key.fileobj, key.data
            try:
                if events & selectors.EVENT_WRITE:  # connected: send the whole request
                    sock.sendall(state[1])
                    selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                chunk, state[2] = b"", b"failed"
            if chunk:
                state[2] = (state[2] + chunk)[:12]  # keep the status line's start
                continue
            # The server closed the connection: the response is complete.
            took.append((time.perf_counter() - state[0]) * 1000)
            errors += state[2][9:10] not in (b"2", b"3")
            selector.unregister(sock)
            sock.close()
    took.sort()
    return {"rate": len(took) / seconds, "p50": took[len(took) // 2],
            "p99": took[min(len(took) - 1, int(len(took) * 0.99))],
            "requests": len(took), "errors": errors}


def requests_from(pool_lines: list[str] | None, mode: str, host: str) -> Iterator[bytes]:
    """The requests of bench/sessions.lua, as raw bytes: hello, page (round and round the
    prepared children) or send (each child once)."""
    def raw(method: str, path: str, headers: dict, body: str = "") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers.items())]
        if body:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    if mode == "hello":
        while True:
            yield raw("GET", "/bench/hello", {})
    children = [line.split("\t") for line in pool_lines or []]
    if mode == "send":
        for cookie, csrf, token in children:
            yield raw("POST", "/send", {"Cookie": cookie}, f"csrf_token={csrf}&token={token}")
        raise RuntimeError("not enough prepared children for the paced send run")
    while True:
        for cookie, _, _ in children:
            yield raw("GET", "/worries", {"Cookie": cookie})
