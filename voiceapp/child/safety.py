"""The 0 to 10 safety scale, its two follow-ups (why that number, and what would make it one
higher), and the support page a low score goes to first."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..db import writing
from ..i18n import this_page
from ..questions import SCALE_DECLINED, SCALE_FOLLOW_UPS
from ..security import allow_microphone
from ..submissions import is_urgent
from .files import save_with_files, stays_on_page
from .forms import SafetyForm, ScaleWhyForm
from .journey import Journey
from .pages import (
    after_saving, bp, child_journey, next_screen, said_about_answers, save_answers,
    screens_shown, show_page, switching,
)


@bp.route("/safe", methods=["GET", "POST"])
@child_journey
def safety(journey: Journey):
    saved = journey.answers["safety"]
    form = SafetyForm(data={"score": None if saved is None else str(saved)})
    if form.validate_on_submit():
        value = form.score.data
        journey.answers["safety"] = (
            None if not value else value if value == SCALE_DECLINED else int(value))
        with writing():
            save_answers(journey, "child.safety")
        if is_urgent(journey.answers) and not switching():
            return redirect(url_for("child.support", change=request.args.get("change")))
        if not isinstance(journey.answers["safety"], int) and not switching() \
                and not request.args.get("change"):  # no number: nothing to ask why about
            return redirect(after_saving(journey, "child.safety_why"))
        return redirect(after_saving(journey, "child.safety"))
    return show_page("child/safety.html", journey, form, "child.safety")


# In pictures mode, one screen each: the two questions, then drawing or saying the answers.
SCALE_SCREENS = (*SCALE_FOLLOW_UPS, "draw", "record")


@bp.route("/safe/why", methods=["GET", "POST"])
@child_journey
def safety_why(journey: Journey):
    """Why that number, and what would make it one higher: asked only after a score, in
    words, or said or drawn."""
    if not isinstance(journey.answers["safety"], int):
        return redirect(url_for("child.safety", change=request.args.get("change")))
    allow_microphone()
    item, shown = screens_shown(journey, SCALE_SCREENS)
    form = ScaleWhyForm(data={key: journey.answers[key] for key in SCALE_FOLLOW_UPS})
    if form.validate_on_submit():
        for key in SCALE_FOLLOW_UPS if item is None else shown:
            if key in SCALE_FOLLOW_UPS:
                journey.answers[key] = (form[key].data or "").strip()
        if save_with_files(journey, "scale", form, "child.safety_why"):
            if stays_on_page():
                return redirect(this_page() + "#attachments")
            return redirect(next_screen(journey, "child.safety_why", item, SCALE_SCREENS))
    return show_page("child/safety_why.html", journey, form, "child.safety_why", item=item,
                     shown=shown, score=journey.answers["safety"], house=None,
                     picked=said_about_answers(journey))


@bp.get("/safe/support")
@child_journey
def support(journey: Journey):
    return render_template("child/support.html", journey=journey,
                           next=after_saving(journey, "child.safety"),
                           back=url_for("child.safety", change=request.args.get("change")),
                           pictures=journey.answers.get("mode") == "pictures")


