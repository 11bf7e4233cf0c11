"""A child's voice notes, drawings and photos: checked as they arrive with a page, sealed into
the draft with the answer they belong to (a house, or the scale), and played back to the
child before sending."""

from __future__ import annotations

from flask import abort, request, session
from flask_babel import gettext as _

from .. import attachments
from ..db import db, writing
from ..security import throttle
from .journey import Journey
from .pages import actor, bp, child_journey, save_answers


# The name static/js/draw.js gives a drawing made on the pad: it is called a drawing, not a
# photo of one (only a label: nothing else depends on it).
PAD_DRAWING = "drawing.png"


def save_with_files(journey: Journey, holder: str, form, endpoint: str) -> bool:
    """Save the page's answers, with the voice note or photo (or drawing) it sent and
    without the one it asked to remove. False if a file was refused: the page is shown
    again with a kind message on that field, and everything else is saved."""
    checked = _check_uploads(journey, ((form.voice, "audio"), (form.photo, "image")))
    with writing():
        journey.remove_attachment(holder, request.form.get("remove"))
        for upload, drawn in checked:
            journey.store_upload(holder, upload, drawn=drawn)
        save_answers(journey, endpoint)
    return not (form.voice.errors or form.photo.errors)


def stays_on_page() -> bool:
    """A file was kept or removed with its own button: the page is shown again with it."""
    return any(request.form.getlist("keep")) or bool(request.form.get("remove"))


def _check_uploads(journey: Journey, fields) -> list[tuple[attachments.Checked, bool]]:
    """Check each file sent with a page before anything is written, and say whether it was
    drawn on the pad. A refused file gets a kind message on its own field; the rest of the
    page is saved all the same."""
    checked: list[tuple[attachments.Checked, bool]] = []
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
            found = attachments.check(upload, expected, stored)
        except attachments.UploadProblem as problem:
            field.errors = [str(problem)]
            continue
        checked.append((found, expected == "image" and upload.filename == PAD_DRAWING))
        stored += found.spool.size
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
