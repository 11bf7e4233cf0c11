"""Merging one request's changes into data another request changed meanwhile (two tabs).

A request loads some data (a child's answers, a session), changes part of it, and saves. If
another request saved the same data in between, writing the whole of it back would undo the
other's work. Instead the change this request made (from what it loaded to what it has now)
is applied to what is stored now: a page that changed one answer changes only that answer.
"""

from __future__ import annotations

import copy

MISSING = object()


def snapshot(data):
    """A deep copy to compare with later."""
    return copy.deepcopy(data)


def _by_id(items) -> dict | None:
    if isinstance(items, list) and all(isinstance(i, dict) and "id" in i for i in items):
        return {item["id"]: item for item in items}
    return None


def merge(current, before, after):
    """``current`` with the change from ``before`` to ``after`` applied.

    Dictionaries merge key by key, lists of things with an ``id`` (voice notes, photos)
    keep what the other request added and drop what this one removed; anything else this
    request changed takes its new value.
    """
    if before == after:
        return current
    if isinstance(after, dict) and isinstance(before, dict) and isinstance(current, dict):
        merged = dict(current)
        for key in before.keys() | after.keys():
            if key not in after:
                merged.pop(key, None)
            elif before.get(key, MISSING) != after[key]:
                merged[key] = merge(current.get(key, MISSING), before.get(key, MISSING),
                                    after[key])
        return merged
    now, old, new = _by_id(current), _by_id(before), _by_id(after)
    if now is not None and old is not None and new is not None:
        removed = old.keys() - new.keys()
        kept = [item for item in current if item["id"] not in removed]
        return kept + [item for key, item in new.items() if key not in now and key not in old]
    return after
