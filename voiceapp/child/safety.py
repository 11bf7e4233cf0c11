"""The 0 to 10 safety scale, its two follow-ups (why that number, and what would make it one
higher), and the support page a low score goes to first."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..db import writing
from ..questions import SCALE_DECLINED, SCALE_FOLLOW_UPS
from ..submissions import is_urgent
from .forms import SafetyForm, ScaleWhyForm
from .journey import Journey
from .pages import (
    after_saving, bp, child_journey, language_button, next_screen, save_answers, screens_shown,
    show_page,
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
        if is_urgent(journey.answers) and not language_button():
            return redirect(url_for("child.support", change=request.args.get("change")))
        if not isinstance(journey.answers["safety"], int) and not language_button() \
                and not request.args.get("change"):  # no number: nothing to ask why about
            return redirect(after_saving(journey, "child.safety_why"))
        return redirect(after_saving(journey, "child.safety"))
    return show_page("child/safety.html", journey, form, "child.safety")


SCALE_SCREENS = tuple(SCALE_FOLLOW_UPS)


@bp.route("/safe/why", methods=["GET", "POST"])
@child_journey
def safety_why(journey: Journey):
    """Why that number, and what would make it one higher: asked only after a score."""
    if not isinstance(journey.answers["safety"], int):
        return redirect(url_for("child.safety", change=request.args.get("change")))
    item, shown = screens_shown(journey, SCALE_SCREENS)
    form = ScaleWhyForm(data={key: journey.answers[key] for key in SCALE_SCREENS})
    if form.validate_on_submit():
        for key in shown:
            journey.answers[key] = (form[key].data or "").strip()
        with writing():
            save_answers(journey, "child.safety_why")
        return redirect(next_screen(journey, "child.safety_why", item, SCALE_SCREENS))
    return show_page("child/safety_why.html", journey, form, "child.safety_why", item=item,
                 shown=shown, score=journey.answers["safety"])


@bp.get("/safe/support")
@child_journey
def support(journey: Journey):
    return render_template("child/support.html", journey=journey,
                           next=after_saving(journey, "child.safety"))


