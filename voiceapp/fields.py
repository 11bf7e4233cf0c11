"""Form pieces every role's forms share: the base form, optional questions, tick-box lists."""

from __future__ import annotations

import re
import unicodedata

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

NOT_A_CHOICE = _l("Choose one of the answers, or leave them all empty.")


class Form(FlaskForm):
    """Every voiceapp form: it reads only posted form fields, and files only into its file
    fields. A file sent under a text field's name, or a JSON body, is simply not an answer
    (instead of a crash)."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is not None and not hasattr(formdata, "getlist"):  # flask-wtf's _Auto
                if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
                    return None
                files = MultiDict([(name, upload) for name, upload
                                   in request.files.items(multi=True)
                                   if isinstance(form._fields.get(name), FileField)])
                return CombinedMultiDict((files, request.form))
            return formdata


def choices_of(options: list[tuple]) -> list[SelectChoice]:
    """Form choices from the (value, emoji, words) answers in :mod:`voiceapp.questions`."""
    return [SelectChoice(value, label) for value, _emoji, label in options]


_DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class Printable:
    """Words staff type that a child is shown (a name, a place): letters, numbers, spaces
    and punctuation only. No control, invisible or format characters, no line breaks, no
    letters that show as nothing (fillers, the blank Braille pattern), and no pile of accents
    on one letter."""

    REFUSED = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}
    BLANK = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}

    def __init__(self, message) -> None:
        self.message = message

    def __call__(self, _form, field) -> None:
        marks = 0
        for character in field.data or "":
            category = unicodedata.category(character)
            marks = marks + 1 if category.startswith("M") else 0
            if category in self.REFUSED or marks > 3 or character in self.BLANK:
                raise ValidationError(str(self.message))


def one_line(value):
    """Words typed in a box of several lines, as the one line a child is shown."""
    return " ".join(value.splitlines()) if isinstance(value, str) else value


def plain_words(value):
    """Words typed by staff that children will read inside other text: without the invisible
    characters that change the direction of the text around them, every kind of space (a
    no-break space pasted from a document, say) as a plain one, and trimmed."""
    if not isinstance(value, str):
        return value
    words = _DIRECTION_CONTROLS.sub("", value)
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in words).strip()


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def optional_choice(label, choices: list[SelectChoice]) -> RadioField:
    """A question with answers to pick from, that may be left empty (spaces are empty)."""
    return RadioField(label, choices=choices, validate_choice=False, filters=[_stripped],
                      validators=[Optional(), AnyOf([choice.value for choice in choices],
                                                    message=NOT_A_CHOICE)])


class MultiCheckboxField(SelectMultipleField):
    """Pick any number, as tick boxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
