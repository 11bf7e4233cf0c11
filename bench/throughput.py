"""Server throughput and latency: hello vs a child's question page vs a full send.

    .venv/bin/python bench/throughput.py [--workers 2] [--threads 1] [--seconds 5]

Budget (docs/performance.md): on this 2-core machine with gunicorn, a child's question page
at >= 30% and a full send at >= 10% of the requests/s of a bare "hello" route on the same
server, measured side by side in one run; p99 latency < 100 ms at half of each rate.

Method. One gunicorn (bench/wsgi_app.py: the app in production mode plus /bench/hello)
serves all three; wrk (one thread, --connections) drives each with bench/sessions.lua:
- hello: GET /bench/hello, no cookie.
- page:  GET /worries, each request as one of 200 prepared children (own session, own
         saved draft), round and round.
- send:  POST /send, each request a different prepared child's draft (cookie, csrf_token
         and send token), so every request is a real send: database write, HPKE sealing
         to the chair and the recovery key, audit line. The children are prepared through
         the running server (open one of 50 invites, answer /worries, read /check) before
         timing, and the submissions made are counted afterwards.
The three run in turn, --rounds times, --seconds each; figures are medians of the rounds.
Then each gets requests at half its median rate for --paced-seconds from bench/paced.py
(an open-loop generator: random arrivals, a new connection per request, latency from the
scheduled time), which reports p99. SQLite; if VOICEAPP_BENCH_DATABASE_URL is set, that
PostgreSQL database is emptied and measured too.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
from pathlib import Path

import paced
from common import BENCH, Gunicorn, Instance, figure, load_average

PAGE_CHILDREN = 200


def prepare_children(instance: Instance, codes: list[str], count: int, path: Path,
                     start: int = 0) -> Path:
    """A file of ``count`` children, each with a saved draft (see sessions.lua)."""
    lines = instance.children(codes, start, count)
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(server: Gunicorn, mode: str, pool: Path | None, seconds: int,
        connections: int) -> dict:
    """Run wrk flat out; returns requests/s, p50 and p99 (ms), requests and errors."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(BENCH / "sessions.lua"), server.url, "--", str(pool or "-"), mode]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    requests, duration_us, p50, p99, errors = map(int, line.split()[1:])
    return {"rate": requests / (duration_us / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "requests": requests, "errors": errors}


def submissions(instance: Instance) -> int:
    from sqlalchemy import func, select

    from voiceapp.db import database
    from voiceapp.models import Submission
    with instance.app.app_context():
        with database().engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Submission))


def run(args, database_url: str | None) -> None:
    instance = Instance(database_url)
    server = None
    label = instance.kind
    try:
        codes = [code for _, code in instance.add_conferences(50)]
        server = Gunicorn(instance, workers=args.workers, threads=args.threads)
        folder = instance.folder
        rounds, c = args.rounds, args.connections
        print(f"[{label}] preparing {PAGE_CHILDREN} + {args.sends} children with drafts...",
              flush=True)
        page_pool = prepare_children(instance, codes, PAGE_CHILDREN, folder / "page.tsv")
        per_round = args.sends // rounds  # every round sends drafts of its own
        send_pools = [prepare_children(instance, codes, per_round, folder / f"send{r}.tsv",
                                       PAGE_CHILDREN + r * per_round) for r in range(rounds)]
        wrk(server, "hello", None, 2, c)            # warm up every worker
        wrk(server, "page", page_pool, 2, c)
        # Interleaved rounds, so that a passing disturbance (this machine is shared) hits
        # all three alike; each figure is the median of its rounds.
        results: dict[str, list[dict]] = {"hello": [], "page": [], "send": []}
        before = submissions(instance)
        for r in range(rounds):
            results["hello"].append(wrk(server, "hello", None, args.seconds, c))
            results["page"].append(wrk(server, "page", page_pool, args.seconds, c))
            results["send"].append(wrk(server, "send", send_pools[r], args.seconds, c))
            if results["send"][-1]["requests"] >= per_round - c:
                print(f"[{label}] WARNING: round {r + 1} used all its {per_round} drafts "
                      "before the time was up. Run again with a larger --sends.")
        made = submissions(instance) - before
        sent = sum(result["requests"] for result in results["send"])
        hello, page, send = (min(results[name], key=lambda result: abs(
            result["rate"] - statistics.median(x["rate"] for x in results[name])))
            for name in ("hello", "page", "send"))
        for name in results:
            figure(f"{label} {name} requests/s (median of {rounds} rounds)",
                   f"{statistics.median(x['rate'] for x in results[name]):.0f} (rounds: "
                   + ", ".join(f"{x['rate']:.0f}" for x in results[name]) + ")")
        figure(f"{label} send: submissions created / send requests", f"{made} / {sent}")
        page_ratio, send_ratio = page["rate"] / hello["rate"], send["rate"] / hello["rate"]
        figure(f"{label} page/hello", f"{page_ratio:.1%} (budget >= 30%: "
               f"{'pass' if page_ratio >= 0.30 else 'FAIL'})")
        figure(f"{label} send/hello", f"{send_ratio:.1%} (budget >= 10%: "
               f"{'pass' if send_ratio >= 0.10 else 'FAIL'})")

        # Latency at about half of each median rate, with an open-loop generator (see
        # paced.py); sends need fresh drafts again.
        sends_needed = math.ceil(send["rate"] / 2 * args.paced_seconds * 1.5) + 50
        print(f"[{label}] preparing {sends_needed} more children for the paced send run...",
              flush=True)
        paced_sends = instance.children(codes, PAGE_CHILDREN + rounds * per_round,
                                         sends_needed)
        host = f"127.0.0.1:{server.port}"
        for name, lines, result in (("hello", None, hello),
                                    ("page", page_pool.read_text().splitlines(), page),
                                    ("send", paced_sends, send)):
            target = result["rate"] / 2
            slow = paced.run("127.0.0.1", server.port, paced.requests_from(lines, name, host),
                             target, args.paced_seconds)
            verdict = "pass" if slow["p99"] < 100 else "FAIL"
            figure(f"{label} {name} p99 at {slow['rate']:.0f} requests/s "
                   f"(half of {result['rate']:.0f})",
                   f"{slow['p99']:.1f} ms (p50 {slow['p50']:.1f} ms; budget < 100 ms: "
                   f"{verdict})")
            if slow["errors"] or result["errors"]:
                figure(f"{label} {name} errors", slow["errors"] + result["errors"])
    finally:
        if server:
            server.stop()
        instance.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2,
                        help="sync workers (2, one per core, did best here; see docs)")
    parser.add_argument("--threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument("--seconds", type=int, default=5, help="per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paced-seconds", type=int, default=10,
                        help="length of each paced (half-rate) run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--sends", type=int, default=3000,
                        help="drafts prepared for the full-speed send runs (all rounds)")
    args = parser.parse_args()
    kind = (f"{args.workers} gthread workers x {args.threads} threads" if args.threads > 1
            else f"{args.workers} sync workers")
    print("Throughput: bare hello vs a child's question page (GET /worries) vs a full send "
          f"(POST /send), gunicorn with {kind}, wrk with {args.connections} connections, "
          f"{args.seconds} s each, on {os.cpu_count()} cores.")
    print("Budget: page >= 30% and send >= 10% of hello's requests/s; "
          "p99 < 100 ms at half of each rate.")
    load_average("before")
    run(args, None)
    if os.environ.get("VOICEAPP_BENCH_DATABASE_URL"):
        run(args, os.environ["VOICEAPP_BENCH_DATABASE_URL"])
    load_average("after")


if __name__ == "__main__":
    main()
