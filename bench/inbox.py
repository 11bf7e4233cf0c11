"""A chair's inbox with 10,000 submissions in the database.

    .venv/bin/python bench/inbox.py [--submissions 10000] [--conferences 200] [--times 200]

Budget (docs/performance.md): a chair's inbox with 10,000 submissions in the database renders
in < 150 ms (metadata only; decryption happens when one is opened).

Method. A throwaway SQLite instance with the demo data gets --conferences more conferences
for the demo chair (half of them already held, half coming up) and --submissions child
submissions spread evenly over them, each really sealed (HPKE to the chair and the recovery
key) with voiceapp.submissions.seal_submission, in batches of one write transaction each.
About 1 in 8 is urgent (a low safety score), 1 in 10 is from an advocate, and those for
conferences already held have been read. gunicorn (one sync worker, nothing else running
on it) serves the app in production mode; the chair signs in with their password and an
authenticator code (pyotp), then GET /chair/ and GET /chair/conferences/<id> (one with an
average number of submissions) are each timed --times times, one after another, from
sending the request to the last byte of the response.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta

from common import Gunicorn, Instance, figure, load_average, percentile, request

BUDGET_MS = 150
BATCH = 500


def answers_for(n: int) -> dict:
    """A plausible child's answers: a few sentences per house, a score, some choices."""
    from voiceapp.questions import empty_answers
    answers = empty_answers()
    # A third give a score from 0 to 10, the rest 7: 4 in 11 of the thirds (0-3) are urgent.
    answers.update(mode="words", safety=n % 11 if n % 3 == 0 else 7, helper="social_worker",
                   attend="yes", share_parents="no")
    for house, words in (("going_well", "I like my football club and my teacher. "),
                         ("worries", "I worry when there is shouting at home at night. "),
                         ("hopes", "I want to stay at my school and see my nan. ")):
        answers[house].update(text=words * 4, feelings=["happy", "worried"][: n % 3])
    return answers


def fill(instance: Instance, count: int, conferences: int) -> int:
    """Seal ``count`` submissions over ``conferences`` new conferences of the demo chair.
    Returns the id of a conference with an average number of submissions."""
    from sqlalchemy import select

    from voiceapp.db import utcnow, write_transaction
    from voiceapp.models import Author, Conference, Invite
    from voiceapp.submissions import seal_submission
    made = instance.add_conferences(conferences // 2, days_ahead=7)
    past = instance.add_conferences(conferences - conferences // 2, days_ahead=-400,
                                    prefix="CP-HELD")
    ids = [conference_id for conference_id, _ in made + past]
    now = utcnow()
    with instance.app.app_context():
        for start in range(0, count, BATCH):
            with write_transaction() as tx:
                cache = {}
                for n in range(start, min(count, start + BATCH)):
                    conference_id = ids[n % len(ids)]
                    if conference_id not in cache:
                        conference = tx.get(Conference, conference_id)
                        invite = tx.scalar(select(Invite).where(
                            Invite.conference_id == conference_id))
                        cache[conference_id] = conference, invite
                    conference, invite = cache[conference_id]
                    submission = seal_submission(
                        tx, conference=conference, invite=invite,
                        payload={"author": "child", "language": "en_GB",
                                 "answers": answers_for(n)},
                        idempotency_key=str(uuid.uuid4()), language="en_GB",
                        author=Author.ADVOCATE if n % 10 == 0 else Author.CHILD,
                        started_at=now - timedelta(minutes=n + 20))
                    submission.created_at = conference.starts_at - timedelta(days=2,
                                                                             minutes=n)
                    if conference.starts_at < now:
                        submission.read_at = submission.created_at + timedelta(hours=3)
    return ids[0]


def timed(url: str, cookie: str, times: int) -> tuple[list[float], int]:
    """Milliseconds for each of ``times`` GETs of ``url``, one after another; page size."""
    took = []
    for _ in range(times):
        start = time.perf_counter()
        status, _, body = request("GET", url, headers={"Cookie": cookie})
        took.append((time.perf_counter() - start) * 1000)
        assert status == 200, f"{url} answered {status}"
    return took, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--conferences", type=int, default=200)
    parser.add_argument("--times", type=int, default=200)
    args = parser.parse_args()
    print(f"Chair's inbox: GET /chair/ with {args.submissions} submissions over "
          f"{args.conferences} conferences (SQLite, gunicorn, 1 worker), {args.times} times.")
    print(f"Budget: renders in < {BUDGET_MS} ms (metadata only).")
    load_average("before")
    instance = Instance()
    server = None
    try:
        started = time.perf_counter()
        conference_id = fill(instance, args.submissions, args.conferences)
        figure("time to seal the submissions", time.perf_counter() - started, "s")
        server = Gunicorn(instance, workers=1)
        cookie = instance.staff_cookie(instance.demo["chair"])
        for name, path in (("inbox /chair/", "/chair/"),
                           (f"conference page ({args.submissions // args.conferences} "
                            "submissions)", f"/chair/conferences/{conference_id}")):
            timed(server.url + path, cookie, 10)  # warm up
            took, size = timed(server.url + path, cookie, args.times)
            p95 = percentile(took, 95)
            figure(f"{name} bytes", size)
            figure(f"{name} median", statistics.median(took), "ms")
            figure(f"{name} p95", p95, "ms")
            figure(f"{name} budget", f"{'pass' if p95 < BUDGET_MS else 'FAIL'} "
                   f"(p95 < {BUDGET_MS} ms)")
    finally:
        if server:
            server.stop()
        instance.close()
    load_average("after")


if __name__ == "__main__":
    main()
