"""The three houses: what is going well, worries and hopes, each in words, faces, picture
tiles, a drawing, a voice note or a photo."""

from __future__ import annotations

from flask import redirect

from ..i18n import this_page
from ..questions import HOUSES
from ..security import allow_microphone
from .forms import HouseForm
from .journey import QUESTIONS, Journey
from .files import save_with_files, stays_on_page
from .pages import bp, child_journey, next_screen, screens_shown, show_page

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
        if save_with_files(journey, house, form, endpoint):
            if stays_on_page():
                return redirect(this_page() + "#attachments")
            return redirect(next_screen(journey, endpoint, item, HOUSE_SCREENS))
    return show_page("child/house_pictures.html" if item is not None else "child/house.html",
                     journey, form, endpoint, item=item, shown=shown, house=house)


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


