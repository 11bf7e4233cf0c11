"""Retention: purge deletes what is past its time, says so in the audit log, and is safe to
run twice or from several servers at once."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from voiceapp import retention, speech
from voiceapp.db import utcnow
from voiceapp.models import Conference, Draft, Invite, Organisation, Submission, WrappedKey

from .evidence import (
    audit_actions, change_as_attacker, change_as_voiceapp, count, raw_database_contains,
)


def purge(app) -> retention.PurgeReport:
    with app.app_context():
        return retention.purge()


def send(child, words: str) -> None:
    child.tells(worries=words)
    child.sends()


def recorded_days_ago(app, days: int) -> None:
    change_as_voiceapp(app, Submission, recorded_at=utcnow() - timedelta(days=days))


def test_nothing_is_deleted_before_its_time(app, runner, child):
    send(child, "keep me")
    recorded_days_ago(app, 29)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "Deleted 0 submissions" in result.output
    assert count(app, Submission) == 1


def test_a_submission_goes_30_days_after_it_is_recorded(app, runner, child):
    send(child, "delete-me-after-30-days")
    recorded_days_ago(app, 31)
    result = runner.invoke(args=["purge"])
    assert "Deleted 1 submissions" in result.output
    assert count(app, Submission) == 0
    assert count(app, WrappedKey) == 0
    assert "submission.deleted" in audit_actions(app)
    assert not raw_database_contains(app, b"delete-me-after-30-days")


def test_everything_goes_at_the_latest_90_days_after_the_meeting(app, child):
    send(child, "never recorded")
    with app.app_context():
        from voiceapp.db import db
        db.execute(update(Conference).values(starts_at=utcnow() - timedelta(days=91)))
        db.commit()
    report = purge(app)
    assert len(report.submissions) == 1
    assert report.invites == 2  # the codes of a long-past meeting go too
    assert count(app, Submission) == 0 and count(app, Invite) == 0


def test_expired_drafts_go(app, child):
    child.tells(worries="an abandoned draft")
    with app.app_context():
        from voiceapp.db import db
        db.execute(update(Draft).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.commit()
    assert purge(app).drafts == 1
    assert count(app, Draft) == 0
    assert "drafts.deleted" in audit_actions(app)


def test_running_purge_twice_does_no_harm(app, runner, child, another_child):
    send(child, "one")
    send(another_child, "two")
    recorded_days_ago(app, 40)
    assert "Deleted 2 submissions" in runner.invoke(args=["purge"]).output
    assert "Deleted 0 submissions" in runner.invoke(args=["purge"]).output
    assert audit_actions(app).count("submission.deleted") == 2
    assert runner.invoke(args=["audit-verify"]).exit_code == 0


def test_purges_from_several_servers_at_once_delete_each_row_once(app, child, another_child):
    send(child, "one")
    send(another_child, "two")
    recorded_days_ago(app, 40)
    reports = []

    def one_server() -> None:
        reports.append(purge(app))

    servers = [threading.Thread(target=one_server) for _ in range(3)]
    for server in servers:
        server.start()
    for server in servers:
        server.join()
    assert sorted(len(r.submissions) for r in reports)[-1] <= 2
    assert sum(len(r.submissions) for r in reports) == 2
    assert count(app, Submission) == 0
    assert audit_actions(app).count("submission.deleted") == 2
    with app.app_context():
        from voiceapp import audit
        from voiceapp.db import write_transaction
        with write_transaction() as tx:
            assert audit.verify(tx) is None


def test_a_retention_changed_in_the_database_keeps_nothing_longer(app, child):
    """The settings allow at most 90 days; a row set to keep children's words for years
    (written into the database) is still purged at 90."""
    send(child, "not kept for years")
    change_as_attacker(app, update(Organisation).values(retention_days_after_recorded=9999,
                                                        retention_days_after_meeting=9999))
    recorded_days_ago(app, 91)
    assert len(purge(app).submissions) == 1
    assert count(app, Submission) == 0


def test_sentences_spoken_on_the_server_are_kept_a_week(app):
    """A meeting's old place or chair, spoken for a child, does not stay in the instance
    folder (or its backups) for ever."""
    folder = Path(app.instance_path) / "speech" / "cy"
    folder.mkdir(parents=True, exist_ok=True)
    old, new = folder / "0000000000000000.opus", folder / "1111111111111111.opus"
    old.write_bytes(b"OggS old")
    new.write_bytes(b"OggS new")
    week_ago = time.time() - (speech.SPOKEN_KEPT_DAYS * 86400 + 60)
    os.utime(old, (week_ago, week_ago))
    assert purge(app).spoken == 1
    assert not old.exists() and new.exists()
