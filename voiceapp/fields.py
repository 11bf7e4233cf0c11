"""Form pieces every role's forms share: optional questions and tick-box lists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Optional
from wtforms.widgets import CheckboxInput, ListWidget

NOT_A_CHOICE = _l("Choose one of the answers, or leave them all empty.")


def choices_of(options: list[tuple]) -> list[SelectChoice]:
    """Form choices from the (value, emoji, words) answers in :mod:`voiceapp.questions`."""
    return [SelectChoice(value, label) for value, _emoji, label in options]


def optional_choice(label, choices: list[SelectChoice]) -> RadioField:
    """A question with answers to pick from, that may be left empty."""
    return RadioField(label, choices=choices, validate_choice=False, validators=[
        Optional(), AnyOf([choice.value for choice in choices], message=NOT_A_CHOICE)])


class MultiCheckboxField(SelectMultipleField):
    """Pick any number, as tick boxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
