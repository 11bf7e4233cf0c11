"""Statements and transactions per request: counted, so the figures are the same every run.

    .venv/bin/python bench/queries.py
    VOICEAPP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/queries.py          # SQLite, then PostgreSQL

Budget (ENGINEERING.md): a question page <= 4 statements and no write; saving an answer one
write transaction; a send one write transaction of <= 12 statements (the session, audit line
and outbox row included); the write lock never held while a request body arrives.

Method. A throwaway instance with the demo data (the PostgreSQL database named by
VOICEAPP_BENCH_DATABASE_URL is emptied first: make one for this). The app runs in production
mode in this process; Flask's test client plays a child who opens an invite and answers, and
a chair who signs in and unlocks. SQLAlchemy's engine events count every statement sent to
the database during one request (BEGIN and COMMIT are not statements), and every write
transaction (a connection that begins in write mode); reads run without a transaction.
Each request is measured after one like it, so nothing is counted that happens only once
(a first session, a first language lookup).

Prints ``name: value`` lines: ``page_statements``, ``page_transactions``,
``save_statements``, ``save_transactions``, ``send_statements``, ``send_transactions``,
``inbox_statements``, ``inbox_transactions``, for each database.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

from sqlalchemy import event

from common import CSRF, TOKEN, Instance, SECRET, figure

COUNTED = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


class Counter:
    """Statements and write transactions on one engine, while :meth:`counting`."""

    def __init__(self, engine) -> None:
        self.on = False
        self.statements = self.transactions = 0
        self.writes_while_reading = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, connection, _cursor, statement, *_args) -> None:
        if self.on and not COUNTED.match(statement):
            self.statements += 1

    def _begin(self, connection) -> None:
        if self.on and connection.get_execution_options().get("voiceapp_mode") == "write":
            self.transactions += 1

    @contextmanager
    def counting(self):
        self.statements = self.transactions = 0
        self.on = True
        try:
            yield self
        finally:
            self.on = False


def measure(instance: Instance) -> None:
    app = instance.served_app()
    counter = Counter(app.extensions["voiceapp.db"].engine)
    kind = instance.kind
    codes = [invite["code"] for invite in instance.demo["invites"]]

    def child_ready(code: str):
        client = app.test_client()
        page = client.get(f"/i/{code}", follow_redirects=True)
        csrf = CSRF.search(page.text).group(1)
        client.post("/welcome", data={"csrf_token": csrf})
        return client, csrf

    client, csrf = child_ready(codes[0])
    client.get("/worries")
    with counter.counting() as page:
        assert client.get("/worries").status_code == 200
    report(kind, "page", page)

    client.post("/worries", data={"csrf_token": csrf, "text": "a first answer"})
    with counter.counting() as save:
        assert client.post("/hopes", data={"csrf_token": csrf, "text": "an answer"}
                           ).status_code == 302
    report(kind, "save", save)

    token = TOKEN.search(client.get("/check").text).group(1)
    with counter.counting() as send:
        assert client.post("/send", data={"csrf_token": csrf, "token": token}
                           ).status_code == 302
    report(kind, "send", send)

    chair = app.test_client()
    account = instance.demo["chair"]
    cookie = instance.staff_cookie(account)
    chair.set_cookie(*cookie.split("=", 1))
    chair.get("/chair/")
    with counter.counting() as inbox:
        assert chair.get("/chair/").status_code == 200
    report(kind, "inbox", inbox)


def report(kind: str, name: str, counted: Counter) -> None:
    figure(f"{name}_statements ({kind})", counted.statements)
    figure(f"{name}_transactions ({kind})", counted.transactions)
    if kind == "SQLite":  # the lines a script can read without knowing the databases
        figure(f"{name}_statements", counted.statements)
        figure(f"{name}_transactions", counted.transactions)


def main() -> None:
    print("# Statements and write transactions per request (budget: page <= 4 and no write;"
          " save 1 write transaction; send 1 write transaction of <= 12 statements)")
    urls = [None]
    if os.environ.get("VOICEAPP_BENCH_DATABASE_URL"):
        urls.append(os.environ["VOICEAPP_BENCH_DATABASE_URL"])
    for url in urls:
        instance = Instance(url)
        try:
            measure(instance)
        finally:
            instance.close()


if __name__ == "__main__":
    assert SECRET
    main()
