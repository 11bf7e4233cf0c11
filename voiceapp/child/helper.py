"""Who will help the child speak: an advocacy service, someone they name, or themselves."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..db import writing
from ..i18n import service_words
from ..questions import HELPER_EMOJI
from . import consent
from .forms import HelperForm
from .journey import Journey
from .pages import (
    after_saving, bp, child_journey, next_screen, save_answers, screens_shown, services_offered,
    show_page, switching,
)

HELPER_SCREENS = ("helper", "name")


@bp.route("/help", methods=["GET", "POST"])
@child_journey
def helper(journey: Journey):
    services = {s.id: service_words(s) for s in services_offered(journey)}
    answers = journey.answers
    current = (f"service:{answers['helper_service']}" if answers["helper"] == "service"
               else answers["helper"])
    item, shown = screens_shown(journey, HELPER_SCREENS)
    form = HelperForm(data={"helper": current, "someone_name": answers["helper_name"]})
    form.offer(services)
    if form.validate_on_submit():
        if shown == ("name",):  # pictures mode: their name, on its own screen
            answers["helper_name"] = (form.someone_name.data or "").strip() \
                if answers["helper"] == "someone_else" else ""
            with writing():
                save_answers(journey, "child.helper")
            return redirect(after_saving(journey, "child.helper"))
        choice = form.helper.data or None
        service_id = int(choice.split(":")[1]) if choice and choice.startswith("service:") else None
        chosen = services.get(service_id)
        name = (form.someone_name.data or "").strip() if "name" in shown else \
            answers["helper_name"]
        answers.update(helper="service" if service_id else choice, helper_service=service_id,
                       helper_name=name if choice == "someone_else" else "")
        # As the child saw it, for if the service stops being offered before they send.
        answers.update(helper_service_name=chosen.name if chosen else "",
                       helper_service_in_a_sentence=chosen.in_a_sentence if chosen else "",
                       helper_service_contact=chosen.contact if chosen else "",
                       helper_service_lang=chosen.lang if chosen else "")
        asked_again = consent.forget_stale_answers(answers, journey.invite)
        with writing():
            save_answers(journey, "child.helper")
        if request.args.get("change") and not switching() and (
                asked_again or (service_id and answers["share_service"] is None)):
            # Changed from the check page to a helper the child was not asked about: the
            # sharing question comes before the check page (in the usual order it comes next).
            return redirect(url_for("child.sharing", change=1, again=1 if asked_again else None))
        if item is not None and choice != "someone_else":
            return redirect(after_saving(journey, "child.helper"))
        return redirect(next_screen(journey, "child.helper", item, HELPER_SCREENS))
    helper_emoji = {**HELPER_EMOJI, **{f"service:{i}": HELPER_EMOJI["service"]
                                       for i in services}}
    return show_page("child/helper.html", journey, form, "child.helper", helper_emoji=helper_emoji,
                     item=item, shown=shown,
                     services={f"service:{i}": words for i, words in services.items()},
                     said={f"service:{i}": url_for("child.said", what=f"service-{i}")
                           for i in services})


