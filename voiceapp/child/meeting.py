"""Whether the child wants to go to the meeting, and the picture story that explains it."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale

from .. import speech
from ..db import writing
from .forms import MeetingForm
from .journey import Journey
from .pages import after_saving, bp, child_journey, said_on_server, save_answers, show_page
from .story import STORY


@bp.route("/meeting", methods=["GET", "POST"])
@child_journey
def meeting(journey: Journey):
    form = MeetingForm(data={"attend": journey.answers["attend"]})
    if form.validate_on_submit():
        journey.answers["attend"] = form.attend.data or None
        with writing():
            save_answers(journey, "child.meeting")
        return redirect(after_saving(journey, "child.meeting"))
    return show_page("child/meeting.html", journey, form, "child.meeting")


@bp.get("/meeting/story")
@child_journey
def story(journey: Journey):
    """The meeting explained as a short picture story, one scene a screen, from the welcome
    page or the meeting question, and back there."""
    back_to = "meeting" if request.args.get("back") == "meeting" else "welcome"
    item = min(max(request.args.get("item", 0, type=int), 0), len(STORY) - 1)
    next_scene = item + 1 if item + 1 < len(STORY) else None
    return render_template(
        "child/story.html", journey=journey, scenes=STORY[item:item + 1],
        next_scene=next_scene, back_to=back_to,
        pictures=True, back=url_for("child.story", item=item - 1, back=back_to) if item else
        url_for(f"child.{back_to}"))


@bp.get("/meeting/said/<what>")
@child_journey
def said(journey: Journey, what: str):
    """One sentence about the child's meeting (when, where, who chairs it), the names of who
    may help, the child's own score or the out-of-hours number (:func:`.said_on_server`),
    spoken, for a phone without a voice in the page's language: the recordings that ship
    cannot hold a date, a name or the organisation's number, and a score is not fetched by
    an address that names it. Only sentences voiceapp writes, never words a child typed;
    like every page, no-store."""
    sentence = said_on_server(journey).get(what)
    if sentence is None:
        abort(404)
    lang, text = get_locale().language, sentence.striptags()
    shipped = speech.recording_path(lang, text) if lang in speech.LANGUAGES else None
    made = shipped if shipped is not None and shipped.exists() else speech.spoken(
        lang, text, Path(current_app.instance_path) / "speech")
    if made is None:
        abort(404)
    return send_file(made, mimetype="audio/ogg", max_age=0)  # never kept (and no-store)
