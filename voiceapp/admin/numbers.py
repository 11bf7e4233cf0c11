"""Numbers for managers, month by month, counted from the audit log.

The audit log keeps no content, and it outlives the submissions (which are deleted after
their retention period), so the numbers for past months stay right.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import AuditEvent, Conference

COUNTED = ("invite.created", "invite.opened", "submission.sent")


@dataclass
class Month:
    start: datetime
    invites: int = 0
    opened: int = 0
    sent: int = 0
    by_advocates: int = 0
    languages: Counter = field(default_factory=Counter)
    minutes: list[int] = field(default_factory=list)

    @property
    def median_minutes(self) -> float | None:
        return statistics.median(self.minutes) if self.minutes else None


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def monthly_numbers(tx: Session, organisation_id: int, months: int = 12) -> list[Month]:
    """The last ``months`` months, newest first, for this organisation's conferences."""
    conferences = set(tx.scalars(select(Conference.id).where(
        Conference.organisation_id == organisation_id)))
    first = _month_start(utcnow())
    for _ in range(months - 1):
        first = _month_start(first - timedelta(days=1))
    result: dict[datetime, Month] = {}
    moment = first
    while moment <= utcnow():
        result[moment] = Month(moment)
        moment = _month_start(moment + timedelta(days=32))
    rows = tx.execute(select(AuditEvent.at, AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.action.in_(COUNTED), AuditEvent.at >= first))
    for at, action, detail_text in rows:
        detail = json.loads(detail_text) if detail_text else {}
        if detail.get("conference") not in conferences:
            continue
        month = result[_month_start(at)]
        if action == "invite.created":
            month.invites += 1
        elif action == "invite.opened":
            month.opened += 1
        else:
            month.sent += 1
            month.by_advocates += detail.get("author") == "advocate"
            month.languages[detail.get("language", "")] += 1
            if detail.get("minutes") is not None:
                month.minutes.append(detail["minutes"])
    return sorted(result.values(), key=lambda m: m.start, reverse=True)
