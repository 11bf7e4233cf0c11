"""Who a child agreed may see what they send, exactly as they were asked.

A child is asked about each possible reader by name: the advocacy service they chose as
helper, and the advocate a coordinator assigned to them. Each answer is kept with who it was
about (``share_service_id``, ``share_advocate_id``). If the helper changes, or the
coordinator assigns someone else, that answer no longer counts and the child is asked again
before sending; sending seals to what was agreed and still true, nothing more.

A "no" to an advocate by name is remembered for the whole invite (``refused_advocates``),
even if they stop being assigned: it never turns back into a yes through their service.
"""

from __future__ import annotations

from ..keyring import Agreed
from ..models import Invite


def service_asked_about(answers: dict) -> int | None:
    """The advocacy service the child chose as helper (the one to ask about), if any."""
    return answers.get("helper_service") if answers.get("helper") == "service" else None


def forget_stale_answers(answers: dict, invite: Invite) -> bool:
    """Clear an answer that was about someone who is no longer the helper or the assigned
    advocate. True if one was cleared (the child must be asked again)."""
    cleared = False
    if answers.get("share_service") and \
            answers.get("share_service_id") != service_asked_about(answers):
        answers["share_service"], answers["share_service_id"] = None, None
        cleared = True
    if answers.get("share_advocate") and \
            answers.get("share_advocate_id") != invite.assigned_advocate_id:
        answers["share_advocate"], answers["share_advocate_id"] = None, None
        cleared = True
    return cleared


def needs_asking_again(answers: dict, invite: Invite) -> bool:
    """An answer in the draft is about someone who no longer applies."""
    return forget_stale_answers(dict(answers), invite)


def remember(answers: dict, advocate_id: int | None, answer: str | None) -> None:
    """Keep a no to an advocate for good; a later yes to the same advocate takes it back."""
    refused = set(answers.get("refused_advocates") or [])
    if advocate_id is not None and answer == "no":
        refused.add(advocate_id)
    elif advocate_id is not None and answer == "yes":
        refused.discard(advocate_id)
    answers["refused_advocates"] = sorted(refused)


def agreed(answers: dict, invite: Invite) -> Agreed:
    """The readers, besides the chair and the recovery key, that the child agreed to."""
    service = service_asked_about(answers)
    advocate = invite.assigned_advocate_id
    about_advocate = advocate is not None and answers.get("share_advocate_id") == advocate
    return Agreed(
        service_id=service if service is not None and answers.get("share_service") == "yes"
        and answers.get("share_service_id") == service else None,
        advocate_ids=frozenset({advocate}) if about_advocate
        and answers.get("share_advocate") == "yes" else frozenset(),
        refused_ids=frozenset(answers.get("refused_advocates") or ()))
