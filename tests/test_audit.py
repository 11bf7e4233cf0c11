"""The audit log is hash-chained: editing or deleting a line is detected."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select, update

from voiceapp import audit
from voiceapp.db import write_transaction
from voiceapp.models import AuditEvent


def _append(app, n: int, actor: str = "coordinator:1") -> None:
    with app.app_context():
        for i in range(n):
            with write_transaction() as tx:
                audit.record(tx, "conference.created", actor=actor, subject=f"conference:{i}")


def _verify(app):
    with app.app_context():
        with write_transaction() as tx:
            return audit.verify(tx)


def test_an_untouched_chain_verifies(app):
    _append(app, 5)
    assert _verify(app) is None


def test_an_edited_line_breaks_the_chain(app):
    _append(app, 5)
    with app.app_context(), write_transaction() as tx:
        tx.execute(update(AuditEvent).where(AuditEvent.id == 3).values(actor="chair:9"))
    assert _verify(app) == 3


def test_a_deleted_line_breaks_the_chain(app):
    _append(app, 5)
    with app.app_context(), write_transaction() as tx:
        tx.execute(delete(AuditEvent).where(AuditEvent.id == 2))
    assert _verify(app) == 3


def test_appends_from_many_threads_make_one_unbroken_chain(app):
    threads = [threading.Thread(target=_append, args=(app, 5, f"chair:{n}")) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _verify(app) is None
    with app.app_context(), write_transaction() as tx:
        assert tx.scalar(select(func.count()).select_from(AuditEvent)) == 20


def test_audit_lines_carry_no_content(app, child):
    child.tells(worries="audit-must-not-see-this")
    child.sends()
    with app.app_context(), write_transaction() as tx:
        lines = [" ".join([e.actor, e.action, e.subject, e.detail])
                 for e in tx.scalars(select(AuditEvent))]
    assert lines and not any("audit-must-not-see" in line for line in lines)
