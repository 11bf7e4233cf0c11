"""Picture symbols for the pictures mode: small SVG files under ``static/img/symbols/``, set
inside the page itself, so a screen of tiles costs no extra request and needs no emoji
font. A symbol beside its words is decoration (hidden from screen readers, the words name
the tile); a symbol alone is named with ``label``."""

from __future__ import annotations

import re
from functools import cache

from flask import Flask, g, has_request_context
from markupsafe import Markup, escape

from . import resources

FOLDER = resources.folder("static") / "img" / "symbols"  # inside the package when installed

# What each answer is shown with: answers are the values in voiceapp.questions.
FOR_ANSWER = {
    "happy": "happy", "calm": "calm", "okay": "okay", "sad": "sad", "worried": "worried",
    "angry": "angry", "scared": "scared", "confused": "confused",
    "home": "home", "family": "family", "friends": "friends", "school": "school",
    "pets": "pets", "playing": "playing", "food": "food", "sleep": "sleep",
    "feelings": "feelings", "other": "other",
    "words": "pencil", "pictures": "picture",
    "all": "all", "some": "some", "chair_first": "chair-person", "video": "video",
    "no_read": "paper", "not_sure": "not-sure",
    "yes": "yes", "no": "no", "ask": "ask-me",
    "myself": "myself", "social_worker": "social-worker", "someone_else": "trusted",
    "service": "advocate", "declined": "quiet",
}
HOUSE = {"going_well": "house-good", "worries": "house-worries", "hopes": "house-dreams"}
# The 0-10 scale, from a crying face to a big smile.
SCALE = {0: "very-sad", 1: "very-sad", 2: "sad", 3: "sad", 4: "okay", 5: "okay", 6: "okay",
         7: "smile", 8: "smile", 9: "very-happy", 10: "very-happy"}


@cache
def _inner(name: str) -> str:
    text = (FOLDER / f"{name}.svg").read_text()
    return re.sub(r"^<svg[^>]*>|</svg>\s*$", "", text.strip())


def symbol(name: str, label: str | None = None, size: str = "") -> Markup:
    """An inline SVG symbol: named when ``label`` is given, otherwise hidden decoration.
    A symbol drawn once on a page is used again by reference (the 0-10 scale repeats its
    faces), which keeps the page small."""
    named = (Markup(' role="img" aria-label="{}"').format(label) if label
             else Markup(' aria-hidden="true"'))
    drawn = g.setdefault("symbols_drawn", set()) if has_request_context() else set()
    if name in drawn:
        body = Markup('<use href="#symbol-{}"/>').format(name)
    else:
        drawn.add(name)
        body = Markup('<g id="symbol-{}">{}</g>').format(name, Markup(_inner(name)))
    return Markup('<svg class="symbol{}" viewBox="0 0 64 64" focusable="false"{}>{}</svg>'
                  ).format(f" {escape(size)}" if size else "", named, body)


def symbol_for(value: str | None, label: str | None = None, size: str = "") -> Markup:
    """The symbol for an answer's value (a feeling, a topic, yes or no...), if it has one."""
    name = FOR_ANSWER.get((value or "").split(":")[0])
    return symbol(name, label, size) if name else Markup("")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(symbol=symbol, symbol_for=symbol_for,
                                 house_symbol=HOUSE, scale_symbol=SCALE)
