"""The chair's form: marking a submission read, with a short reply to the child."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from ..fields import Form, optional_choice
from ..replies import REPLY_LIMIT, SUGGESTIONS

OWN_WORDS = "own"


class MarkReadForm(Form):
    reply = optional_choice(_l("Send the child a short message (optional)"),
                            [SelectChoice(key, words) for key, words in SUGGESTIONS.items()]
                            + [SelectChoice(OWN_WORDS, _l("Write my own message"))])
    own_words = TextAreaField(_l("Your message to the child"), validators=[Length(
        max=REPLY_LIMIT, message=_l("Use %(n)s characters or fewer.", n=REPLY_LIMIT))])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.reply.data == OWN_WORDS and not (self.own_words.data or "").strip():
            self.own_words.errors = [*self.own_words.errors,
                                     _l("Write your message, or choose one of the others")]
            return False
        return valid
