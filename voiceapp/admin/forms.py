"""The coordinator's forms: conferences, invites, staff and the organisation's settings."""

from __future__ import annotations

import wtforms
from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField, DateField, EmailField, FormField, IntegerField, RadioField, SelectField,
    StringField, TextAreaField, TimeField, URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp,
)

from ..fields import Form, MultiCheckboxField, Printable, one_line, plain_words
from ..i18n import language_name
from ..models import ConferenceKind, Role
from ..questions import CONFERENCE_KINDS

PRINTABLE = _l("Use letters, numbers, spaces and punctuation")

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z"  # no space or line break: nothing else reaches a header
NO_CONTROL = r"^[^\x00-\x1f\x7f]*\Z"


def email_field(label, required: bool = True) -> EmailField:
    first = DataRequired(message=_l("Enter their email address")) if required else Optional()
    return EmailField(label, validators=[first, Length(max=254), Regexp(
        EMAIL, message=_l("Enter a real email address"))])


class ConferenceForm(Form):
    reference = StringField(_l("Conference reference"), validators=[
        DataRequired(message=_l("Enter the conference reference")),
        Length(max=60, message=_l("Use 60 characters or fewer")),
        Regexp(NO_CONTROL, message=_l("Use letters, numbers, spaces and dashes"))])
    date = DateField(_l("Date"), validators=[
        DataRequired(message=_l("Enter the date as year, month and day, like 2027-03-14"))])
    time = TimeField(_l("Start time"), validators=[
        DataRequired(message=_l("Enter the start time, like 10:00"))])
    kind = RadioField(_l("Kind of conference"), default=ConferenceKind.INITIAL,
                      choices=[SelectChoice(k, v) for k, v in CONFERENCE_KINDS.items()])
    chair = SelectField(_l("Chair"), coerce=int, validators=[
        DataRequired(message=_l("Choose the chair"))])
    place = StringField(_l("Where it is (optional)"), filters=[plain_words], validators=[
        Length(max=120, message=_l("Use 120 characters or fewer")),
        Printable(message=PRINTABLE)])


class InviteForm(Form):
    label = StringField(_l("A label, so you can tell invites apart (optional)"), validators=[
        Length(max=60, message=_l("Use 60 characters or fewer"))])
    advocate = SelectField(_l("Advocate for this child (optional)"), coerce=int,
                           validators=[Optional()])


class AssignAdvocateForm(Form):
    advocate = SelectField(_l("Advocate"), coerce=int, validators=[Optional()])


class StaffForm(Form):
    name = StringField(_l("Full name"), filters=[plain_words], validators=[
        DataRequired(message=_l("Enter their name")), Length(max=120),
        Printable(message=PRINTABLE)])
    email = email_field(_l("Work email address"))
    role = RadioField(_l("Role"), choices=[
        SelectChoice(Role.CHAIR, _l("Conference chair")),
        SelectChoice(Role.ADVOCATE, _l("Advocate")),
        SelectChoice(Role.COORDINATOR, _l("Coordinator"))],
        validators=[DataRequired(message=_l("Choose a role"))])
    service = SelectField(_l("Advocacy service (advocates only)"), coerce=int,
                          validators=[Optional()])


class SettingsForm(Form):
    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200)])
    exit_url = URLField(_l("Neutral website for “Leave this page quickly”"), validators=[
        DataRequired(), URL(require_tld=True, message=_l("Enter a full web address")),
        Regexp(r"^https://", message=_l("The address must start with https://")),
        Length(max=500)])
    duty_email = email_field(_l("Duty or safeguarding team's email address"), required=False)
    out_of_hours_email = email_field(_l("Out-of-hours team's email address"), required=False)
    out_of_hours_phone = StringField(_l("Out-of-hours phone number for children"), validators=[
        Length(max=40), Regexp(r"^[0-9 +()-]*$", message=_l(
            "Enter a phone number, using only numbers, spaces and + ( ) -"))])
    languages = MultiCheckboxField(_l("Languages offered to children, besides English"))
    retention_days_after_recorded = IntegerField(
        _l("Delete submissions this many days after they are recorded in the minutes"),
        validators=[InputRequired(message=_l("Enter a number of days from 1 to 90")),
                    NumberRange(min=1, max=90, message=_l(
                        "Days after the minutes must be between 1 and 90"))])
    retention_days_after_meeting = IntegerField(
        _l("Delete everything at the latest this many days after the meeting"),
        validators=[InputRequired(message=_l("Enter a number of days from 1 to 90")),
                    NumberRange(min=1, max=90, message=_l(
                        "Days after the meeting must be between 1 and 90"))])


def _words(field, label, most: int, required=None):
    """A service's words in one language, which children read and hear: plain (see
    :func:`plain_words`), on one line, trimmed, printable (:class:`Printable`), at most
    ``most`` characters, and required with the message ``required`` if given."""
    needed = [DataRequired(message=required)] if required else []
    return field(label, filters=[one_line, plain_words], validators=[
        *needed, Length(max=most), Printable(message=PRINTABLE)])


NAME = _l("Name a child will see")
IN_A_SENTENCE = _l("The name inside a sentence")
DESCRIPTION = _l("What they do, in words a child understands")
CONTACT = _l("How to contact them")


class ServiceWordsForm(wtforms.Form):
    """An advocacy service's words in one language besides the default (a part of
    :class:`ServiceForm`: its names are prefixed with the language)."""

    name = _words(StringField, NAME, 120)
    in_a_sentence = _words(StringField, IN_A_SENTENCE, 160)
    description = _words(TextAreaField, DESCRIPTION, 500)
    contact = _words(StringField, CONTACT, 200)


class ServiceForm(Form):
    """An advocacy service in the default language, and in each other language offered to
    children (see :func:`service_form`)."""

    name = _words(StringField, NAME, 120, _l("Enter a name"))
    in_a_sentence = _words(StringField, IN_A_SENTENCE, 160,
                           _l("Enter the name as it goes inside a sentence"))
    description = _words(TextAreaField, DESCRIPTION, 500)
    contact = _words(StringField, CONTACT, 200)
    shared_email = email_field(_l("The service's shared email address (optional)"),
                               required=False)
    active = BooleanField(_l("Offer this service to children"), default=True)

    def languages(self) -> list[tuple[str, wtforms.Form]]:
        """(language, its words) for each language besides the default."""
        return [(name.removeprefix("words_"), field.form) for name, field in self._fields.items()
                if name.startswith("words_")]

    def validate(self, extra_validators=None) -> bool:
        """Each offered language needs the name both ways, and what they do if the default
        language says it: a child must never read half a page in another language."""
        valid = super().validate(extra_validators)
        for code, words in self.languages():
            language = language_name(code)
            needed = [(words.name, _l("Enter the name in %(language)s", language=language)),
                      (words.in_a_sentence, _l("Enter the name inside a sentence in "
                                               "%(language)s", language=language))]
            if (self.description.data or "").strip():
                needed.append((words.description, _l("Enter what they do in %(language)s",
                                                     language=language)))
            for field, message in needed:
                if not (field.data or "").strip():
                    field.errors = [*field.errors, message]
                    valid = False
        return valid

    def translations(self) -> dict[str, dict[str, str]]:
        return {code: {name: (words[name].data or "").strip() for name in
                       ("name", "in_a_sentence", "description", "contact")}
                for code, words in self.languages()}


def service_form(languages: list[str], service=None) -> ServiceForm:
    """The service form with a part for each of ``languages`` (filled from ``service``
    when there is one and nothing was posted)."""
    parts = {f"words_{code}": FormField(ServiceWordsForm, label=language_name(code))
             for code in languages}
    form_class = type("ServiceForm", (ServiceForm,), parts)
    if service is None or request.method != "GET":
        return form_class()
    return form_class(obj=service, **{f"words_{code}": (service.translations or {}).get(code, {})
                                      for code in languages})
