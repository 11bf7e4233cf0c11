"""Forms every member of staff uses: signing in, first-time set-up, keys."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..fields import Form

MIN_PASSPHRASE_LENGTH = 16


class SignInForm(Form):
    email = EmailField(_l("Email address"), validators=[
        DataRequired(message=_l("Enter your email address")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(message=_l("Enter your password")), Length(max=200)])


class CodeForm(Form):
    code = StringField(_l("Authenticator code"), validators=[
        DataRequired(message=_l("Enter the 6-digit code from your authenticator app")),
        Length(max=12)])


class EnrolForm(Form):
    password = PasswordField(_l("Choose a password"), validators=[
        DataRequired(message=_l("Choose a password")), Length(max=200)])
    confirm = PasswordField(_l("Type the password again"), validators=[
        EqualTo("password", message=_l("The two passwords are not the same"))])
    code = StringField(_l("Code from your authenticator app"), validators=[
        DataRequired(message=_l("Enter the 6-digit code from your authenticator app")),
        Length(max=12)])


class NewPassphraseForm(Form):
    passphrase = PasswordField(_l("Choose a key passphrase"), validators=[
        DataRequired(message=_l("Choose a key passphrase")),
        Length(min=MIN_PASSPHRASE_LENGTH, max=500, message=_l(
            "Use at least %(n)d characters: four or more random words work well.",
            n=MIN_PASSPHRASE_LENGTH))])
    confirm = PasswordField(_l("Type the passphrase again"), validators=[
        EqualTo("passphrase", message=_l("The two passphrases are not the same"))])


class UnlockForm(Form):
    passphrase = PasswordField(_l("Key passphrase"), validators=[
        DataRequired(message=_l("Enter your key passphrase")), Length(max=500)])


class ChangePassphraseForm(NewPassphraseForm):
    current = PasswordField(_l("Current key passphrase"), validators=[
        DataRequired(message=_l("Enter your current key passphrase")), Length(max=500)])
