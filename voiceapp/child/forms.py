"""The child's forms. Every question is optional; only the code is needed to start."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..fields import NOT_A_CHOICE, Form, MultiCheckboxField, choices_of, optional_choice
from ..questions import (
    ATTEND, FEELINGS, HELPERS_FIXED, MODES, NAME_LIMIT, SCALE_DECLINED, SCALE_FOLLOW_UPS,
    SHARE_ADVOCATE,
    SHARE_PARENTS, TEXT_LIMIT, TOPICS,
)

class CodeForm(Form):
    code = StringField(_l("Your code"), validators=[
        DataRequired(message=_l("Type the code you were given")),
        Length(max=40, message=_l("That code is too long. Check it and try again."))])
    # Set by "Use the new code": the child has been told their unsent answers will go.
    switch = HiddenField()


class WelcomeForm(Form):
    """Start (the speaker button on every page reads it out loud; nothing to tick)."""


class HowForm(Form):
    mode = optional_choice(_l("How do you want to tell us?"), choices_of(MODES))


class FilesForm(Form):
    """A voice note and a photo (or a drawing, which is sent as a photo), each optional."""

    voice = FileField(_l("Add a voice note"))
    photo = FileField(_l("Add a photo of a drawing"))


class HouseForm(FilesForm):
    feelings = MultiCheckboxField(_l("Pick any faces that show how you feel"),
                                  choices=choices_of(FEELINGS))
    topics = MultiCheckboxField(_l("Tap the pictures that fit"), choices=choices_of(TOPICS))
    text = TextAreaField(_l("Write it here"), validators=[Length(
        max=TEXT_LIMIT, message=_l("That is more than %(n)s characters. Please make it a "
                                   "bit shorter, or record a voice note instead.",
                                   n="{:,}".format(TEXT_LIMIT)))])


class SafetyForm(Form):
    score = optional_choice(_l("How safe do you feel?"),
                            [SelectChoice(str(n)) for n in range(11)]
                            + [SelectChoice(SCALE_DECLINED, _l("I don't want to say"))])


class ScaleWhyForm(FilesForm):
    """After the score: both optional, each on its own screen in pictures mode, and said or
    drawn instead of written if the child wants."""

    safety_why = TextAreaField(SCALE_FOLLOW_UPS["safety_why"], validators=[Length(
        max=TEXT_LIMIT, message=_l("That is more than %(n)s characters. Please make it a "
                                   "bit shorter, or record a voice note instead.",
                                   n="{:,}".format(TEXT_LIMIT)))])
    safety_higher = TextAreaField(SCALE_FOLLOW_UPS["safety_higher"], validators=[Length(
        max=TEXT_LIMIT, message=_l("That is more than %(n)s characters. Please make it a "
                                   "bit shorter, or record a voice note instead.",
                                   n="{:,}".format(TEXT_LIMIT)))])


class HelperForm(Form):
    helper = RadioField(_l("Who do you want to help you tell the meeting?"),
                        validate_choice=False, validators=[Optional()])
    someone_name = StringField(_l("Their name (if you want to tell us)"), validators=[
        Length(max=NAME_LIMIT, message=_l("That is too long. Use up to %(n)s characters.",
                                          n=NAME_LIMIT))])

    def offer(self, services: dict) -> None:
        """The fixed answers, with the organisation's advocacy services (their words in the
        page's language, by id) after "Myself"."""
        fixed = [SelectChoice(value, label) for value, label in HELPERS_FIXED.items()]
        choices = (fixed[:1] + [SelectChoice(f"service:{i}", words.name)
                                for i, words in services.items()] + fixed[1:])
        self.helper.choices = choices
        self.helper.validators = [Optional(), AnyOf([c.value for c in choices],
                                                    message=NOT_A_CHOICE)]


class MeetingForm(Form):
    attend = optional_choice(_l("Do you want to go to the meeting?"), choices_of(ATTEND))


class SharingForm(Form):
    # Each question names who it is about (voiceapp.child.consent); the labels are set then.
    share_service = optional_choice("", choices_of(SHARE_ADVOCATE))
    share_advocate = optional_choice("", choices_of(SHARE_ADVOCATE))
    share_parents = optional_choice(_l("Can your parents or carers be told what you said?"),
                                    choices_of(SHARE_PARENTS))
    # Who the questions on the page named: an answer counts only for them.
    asked = HiddenField()


class SendForm(Form):
    token = HiddenField()
