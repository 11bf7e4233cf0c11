"""Who may see what the child sends, asked about each person or service by name."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..db import writing
from ..i18n import service_words
from ..models import AdvocacyService, User
from ..questions import advocate_question, service_question
from . import consent
from .forms import SharingForm
from .journey import Journey
from .pages import (
    assigned_advocate, bp, child_journey, known_service, next_screen, save_answers,
    screens_shown, show_page,
)


@bp.route("/sharing", methods=["GET", "POST"])
@child_journey
def sharing(journey: Journey):
    """Who may see what the child sends, asked about each person or service by name."""
    answers = journey.answers
    consent.forget_stale_answers(answers, journey.invite)
    service_id = consent.service_asked_about(answers)
    service = known_service(service_id)
    advocate = assigned_advocate(journey)
    asked = f"{service.id if service else ''}:{advocate.id if advocate else ''}"
    form = _sharing_form(service, advocate, {key: answers[key] for key in (
        "share_service", "share_advocate", "share_parents")})
    screens = tuple(name for name, needed in (("share_service", service is not None),
                                              ("share_advocate", advocate is not None),
                                              ("share_parents", True)) if needed)
    item, shown = screens_shown(journey, screens)
    changed = form.is_submitted() and form.asked.data != asked
    if changed:
        # The helper or the assigned advocate changed after the page was shown (another tab,
        # a coordinator): the answer was about someone else, so it is not kept. Ask again.
        form = _sharing_form(service, advocate, {"share_parents": form.share_parents.data},
                             formdata=None)
    form.asked.data = asked
    if not changed and form.validate_on_submit():
        if "share_service" in shown or service is None:
            answers.update(
                share_service=(form.share_service.data or None) if service else None,
                share_service_id=service.id if service and form.share_service.data else None,
                share_service_name=service.name if service else "")
        if "share_advocate" in shown or advocate is None:
            answers.update(
                share_advocate=(form.share_advocate.data or None) if advocate else None,
                share_advocate_id=advocate.id if advocate and form.share_advocate.data
                else None,
                share_advocate_name=advocate.name if advocate else "")
            consent.remember(answers, advocate.id if advocate else None,
                             answers["share_advocate"])
        if "share_parents" in shown:
            answers["share_parents"] = form.share_parents.data or None
        with writing():
            save_answers(journey, "child.sharing")
        return redirect(next_screen(journey, "child.sharing", item, screens))
    return show_page("child/sharing.html", journey, form, "child.sharing", item=item, shown=shown,
                     ask_service=service is not None, ask_advocate=advocate is not None,
                     again=changed or request.args.get("again"),
                     said_service={"question": url_for(
                         "child.said", what=f"share-service-{service.id}")} if service else {},
                     said_advocate={"question": url_for("child.said", what="share-advocate")})


def _sharing_form(service: AdvocacyService | None, advocate: User | None, data: dict,
                  **options) -> SharingForm:
    """The sharing questions, each naming who it is about."""
    form = SharingForm(data=data, **options)
    if service is not None:
        form.share_service.label.text = service_question(service_words(service))
    if advocate is not None:
        form.share_advocate.label.text = advocate_question(advocate.name)
    return form


