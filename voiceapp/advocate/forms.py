"""The advocate's form for recording a child's views on their behalf."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..fields import Form, choices_of, optional_choice
from ..questions import (
    ASKED, ATTEND, GATHERED, HOUSE_QUESTIONS_ABOUT, SCALE_DECLINED, SHARE_PARENTS, TEXT_LIMIT,
)

TOO_LONG = _l("Use %(n)s characters or fewer.", n="{:,}".format(TEXT_LIMIT))


def _words(label) -> TextAreaField:
    return TextAreaField(label, validators=[Length(max=TEXT_LIMIT, message=TOO_LONG)])


class ViewsForm(Form):
    """The child's own words, kept apart from the advocate's summary."""

    going_well = _words(HOUSE_QUESTIONS_ABOUT["going_well"])
    worries = _words(HOUSE_QUESTIONS_ABOUT["worries"])
    hopes = _words(HOUSE_QUESTIONS_ABOUT["hopes"])
    safety = optional_choice(ASKED["safety"][1],
                       [SelectChoice(str(n)) for n in range(11)]
                       + [SelectChoice(SCALE_DECLINED, _l("They did not want to say"))])
    attend = optional_choice(ASKED["meeting"][1], choices_of(ATTEND))
    share_parents = optional_choice(ASKED["share_parents"][1], choices_of(SHARE_PARENTS))
    summary = _words(_l("Your summary, as their advocate"))
    gathered = RadioField(_l("How did you gather the child's views?"),
                          choices=choices_of(GATHERED), validators=[
                              DataRequired(message=_l("Say how you gathered the views"))])
    child_agreed = BooleanField(_l("The child agreed to what I am sending"), validators=[
        DataRequired(message=_l("Only send what the child has agreed to"))])
    advocate_may_read = BooleanField(_l("The child agreed that I can read this again later"))
    token = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        said = [self.going_well, self.worries, self.hopes, self.summary]
        if not any((field.data or "").strip() for field in said) and not any(
                field.data for field in (self.safety, self.attend, self.share_parents)):
            self.summary.errors = [*self.summary.errors, _l(
                "Write the child's words or your summary before sending")]
            return False
        return valid
