"""The three houses: what is going well, worries and hopes, each in words, faces, picture
tiles, a drawing, a voice note or a photo; and the child's own files, to hear or see again."""

from __future__ import annotations

from flask import abort, redirect, request, session
from flask_babel import gettext as _

from .. import attachments
from ..db import db, writing
from ..i18n import this_page
from ..questions import HOUSES
from ..security import allow_microphone, throttle
from .forms import HouseForm
from .journey import QUESTIONS, Journey
from .pages import actor, bp, child_journey, next_screen, save_answers, screens_shown, show_page

# A house in pictures mode, one screen each: faces, pictures, drawing, a voice note, words.
HOUSE_SCREENS = ("feelings", "topics", "draw", "record", "write")
_ON_SCREEN = {"feelings": ("feelings",), "topics": ("topics",), "draw": (), "record": (),
              "write": ("text",)}


def _house(journey: Journey, house: str):
    allow_microphone()
    endpoint = QUESTIONS[HOUSES.index(house) + 1]
    saved = journey.answers[house]
    item, shown = screens_shown(journey, HOUSE_SCREENS)
    form = HouseForm(data=saved)
    if form.validate_on_submit():
        # Only what this screen shows is saved: the words page has no pictures, so pictures
        # picked in pictures mode stay when a child switches.
        on_screen = ("text", "feelings") if item is None else _ON_SCREEN[shown[0]]
        for name in on_screen:
            saved[name] = (form.text.data or "").strip() if name == "text" else form[name].data
        checked = _check_uploads(journey, ((form.voice, "audio"), (form.photo, "image")))
        with writing():
            journey.remove_attachment(house, request.form.get("remove"))
            for upload in checked:
                journey.store_upload(house, upload)
            save_answers(journey, endpoint)
        if not (form.voice.errors or form.photo.errors):
            if any(request.form.getlist("keep")) or request.form.get("remove"):  # stay here
                return redirect(this_page() + "#attachments")
            return redirect(next_screen(journey, endpoint, item, HOUSE_SCREENS))
    return show_page("child/house_pictures.html" if item is not None else "child/house.html",
                 journey, form, endpoint, item=item, shown=shown, house=house,
                 drawing=True)


def _check_uploads(journey: Journey, fields) -> list[attachments.Checked]:
    """Check each file sent with a page before anything is written. A refused file gets a
    kind message on its own field; the rest of the page is saved all the same."""
    checked: list[attachments.Checked] = []
    stored = journey.attachment_bytes()
    for field, expected in fields:
        upload = field.data
        if not upload or not upload.filename and not upload.stream.size:
            continue
        megabytes = max(1, -(-upload.stream.size // (1024 * 1024)))
        if not (throttle().hit("upload:session", session.id)
                and throttle().hit("upload:invite", str(journey.invite.id))
                and throttle().hit("upload-mb:invite", str(journey.invite.id),
                                   cost=megabytes)):
            field.errors = [_("You have added a lot of files today. Everything else on this "
                              "page is saved. Please try again in an hour.")]
            continue
        try:
            checked.append(attachments.check(upload, expected, stored))
        except attachments.UploadProblem as problem:
            field.errors = [str(problem)]
            continue
        stored += checked[-1].spool.size
    return checked


@bp.get("/attachments/<uuid:attachment_id>")
@child_journey
def attachment(journey: Journey, attachment_id):
    """The child's own recording or photo, to listen to or see before sending."""
    meta = journey.attachment_meta(str(attachment_id))
    found = attachments.find(db, meta) if meta else None
    if found is None or found.draft_id != journey.draft.id:
        abort(404)
    if not attachments.intact(found, meta):
        with writing():
            return attachments.altered_page(db, found, actor(journey.invite))
    return attachments.playback(found, meta)


@bp.route("/going-well", methods=["GET", "POST"])
@child_journey
def going_well(journey: Journey):
    return _house(journey, "going_well")


@bp.route("/worries", methods=["GET", "POST"])
@child_journey
def worries(journey: Journey):
    return _house(journey, "worries")


@bp.route("/hopes", methods=["GET", "POST"])
@child_journey
def hopes(journey: Journey):
    return _house(journey, "hopes")


