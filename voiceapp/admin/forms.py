"""The coordinator's forms: conferences, invites, staff and the organisation's settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField, DateField, EmailField, IntegerField, RadioField, SelectField, StringField,
    TextAreaField, TimeField, URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp,
)

from ..fields import Form, MultiCheckboxField
from ..models import ConferenceKind, Role
from ..questions import CONFERENCE_KINDS

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


class InviteForm(Form):
    label = StringField(_l("A label, so you can tell invites apart (optional)"), validators=[
        Length(max=60, message=_l("Use 60 characters or fewer"))])
    advocate = SelectField(_l("Advocate for this child (optional)"), coerce=int,
                           validators=[Optional()])


class AssignAdvocateForm(Form):
    advocate = SelectField(_l("Advocate"), coerce=int, validators=[Optional()])


class StaffForm(Form):
    name = StringField(_l("Full name"), validators=[
        DataRequired(message=_l("Enter their name")), Length(max=120),
        Regexp(NO_CONTROL, message=_l("Use letters, numbers and spaces"))])
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


class ServiceForm(Form):
    name = StringField(_l("Name a child will see"), validators=[
        DataRequired(message=_l("Enter a name")), Length(max=120)])
    description = TextAreaField(_l("What they do, in words a child understands"), validators=[
        Length(max=500)])
    contact = StringField(_l("How to contact them"), validators=[Length(max=200)])
    shared_email = email_field(_l("The service's shared email address (optional)"),
                               required=False)
    active = BooleanField(_l("Offer this service to children"), default=True)
