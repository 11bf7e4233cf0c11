"""Pages every member of staff shares: sign in, first-time set-up, keys, sign out.

Sign-in is two steps (password, then an authenticator code) and the session is replaced
at each step, so a session id seen before sign-in is worthless after it. Failures say the
same thing whether or not the account exists, and are limited per account and per IP.
"""

from __future__ import annotations

import base64
import io
import time

import segno
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from .. import audit, crypto, integrity, keyring, notifications
from ..auth import (
    NEEDS_CODE, SIGNED_IN, accept_code, check_password, code_matches, easy_to_guess,
    find_staff_invite,
    find_user, hash_password, new_totp_secret, normalise_email, password_problem,
    set_totp_secret, staff_required, totp_uri,
)
from ..config import settings
from ..db import db, utcnow, writing
from ..models import Role, User
from ..security import client_ip, throttle
from ..sessions import end_sessions_of
from .forms import (
    ChangePassphraseForm, CodeForm, EnrolForm, NewPassphraseForm, SignInForm, UnlockForm,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")

HOMES = {Role.CHAIR: "chair.inbox", Role.ADVOCATE: "advocate.dashboard",
         Role.COORDINATOR: "admin.home"}
KEY_HOLDERS = (Role.CHAIR, Role.ADVOCATE)
EXAMPLE_PASSPHRASE = "kettle orbit maple drum"  # shown as an example; never accepted
PENDING_SECONDS = 5 * 60


def _home(user: User) -> str:
    if user.role in KEY_HOLDERS and keyring.active_key(db, user.id, user.organisation_id) is None:
        return url_for("staff.new_key")
    return url_for(HOMES[user.role])


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _start_signed_in_session(user: User, next_url: str | None = None) -> None:
    idle = (settings().chair_idle_seconds if user.role == Role.CHAIR
            else settings().staff_idle_seconds)
    session.regenerate({"user_id": user.id, "role": user.role, "stage": SIGNED_IN,
                        "_idle": idle, "_until": time.time() + settings().staff_absolute_seconds,
                        **({"next": next_url} if next_url else {})})


def _finish_sign_in(user: User) -> str:
    """Record the sign-in, start the real session, and say where to go next. A complete
    sign-in (password and code) starts the address's and the account's counts again, so
    an office of colleagues behind one address is not locked out by each other."""
    throttle().forgive("sign-in:ip", client_ip())
    throttle().forgive("sign-in:account", user.email)
    next_url = _safe_next(session.get("next"))
    _start_signed_in_session(user)
    user.last_sign_in_at = utcnow()
    audit.record(db, "sign-in", actor=audit.actor_for(user), subject=f"user:{user.id}")
    home = _home(user)
    if home == url_for("staff.new_key"):
        return home  # a chair or advocate makes their key before anything else
    return next_url or home


# ---------------------------------------------------------------------------------------
# Signing in


@bp.get("/")
@staff_required()
def home(user: User):
    return redirect(_home(user))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        throttle().check(("sign-in:ip", client_ip()), ("sign-in:account", email))
        user = find_user(email)
        if not check_password(user, form.password.data):
            with writing():
                audit.record(db, "sign-in.failed", actor="anonymous",
                             subject=f"user:{user.id}" if user else "")
            form.password.errors = [_("Your email address or password is not right.")]
            return render_template("staff/sign_in.html", form=form), 400
        next_url = _safe_next(session.get("next"))
        session.regenerate({"pending_user": user.id, "stage": NEEDS_CODE,
                            "_idle": PENDING_SECONDS, **({"next": next_url} if next_url else {})})
        return redirect(url_for("staff.code"))
    signed_out = request.args.get("signed_out")
    return render_template("staff/sign_in.html", form=form, signed_out=signed_out), \
        400 if form.errors else 200


@bp.route("/sign-in/code", methods=["GET", "POST"])
def code():
    user = db.get(User, session.get("pending_user", 0)) \
        if session.get("stage") == NEEDS_CODE else None
    if user is None or not user.is_active:
        return redirect(url_for("staff.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        throttle().check(("code:account", str(user.id)))
        with writing():
            accepted = accept_code(user, form.code.data)
            if accepted:
                target = _finish_sign_in(user)
            else:
                audit.record(db, "sign-in.code-failed", actor=audit.actor_for(user),
                             subject=f"user:{user.id}")
        if accepted:
            return redirect(target)
        form.code.errors = [_("That code is not right, or it has been used already. Wait for "
                              "a new code and try again.")]
    return render_template("staff/code.html", form=form), 400 if form.errors else 200


@bp.post("/sign-out")
@staff_required()
def sign_out(user: User):
    with writing():
        audit.record(db, "sign-out", actor=audit.actor_for(user), subject=f"user:{user.id}")
        session.end()
    return redirect(url_for("staff.sign_in", signed_out=1))


@bp.post("/sign-out-everywhere")
@staff_required()
def sign_out_everywhere(user: User):
    with writing():
        end_sessions_of(db, user.id)
        audit.record(db, "sign-out.everywhere", actor=audit.actor_for(user),
                     subject=f"user:{user.id}")
        session.end()
    return redirect(url_for("staff.sign_in", signed_out=1))


@bp.get("/still-here")
@staff_required()
def still_here(user: User):
    """The idle warning's "Stay signed in": any request refreshes the session."""
    keyring.extend_unlock(session)
    return "", 204


@bp.get("/account")
@staff_required()
def account(user: User):
    keys = keyring.keys_of(user) if user.role in KEY_HOLDERS else []
    return render_template("staff/account.html", user=user, keys=keys)


@bp.post("/account/summary")
@staff_required(Role.CHAIR)
def daily_summary(user: User):
    """A chair chooses to hear of new submissions at once, or in one email each morning
    (one that needs looking at soon is always told at once)."""
    with writing():
        user.daily_summary = request.form.get("daily") == "1"
    return redirect(url_for("staff.account", summary=1))


# ---------------------------------------------------------------------------------------
# First sign-in from a one-time link: a password and an authenticator


def _enrol_context(user_id: int) -> bytes:
    return crypto.context("enrol-totp", user=user_id)


def _qr_svg(uri: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False,
                                    svgns=True, svgclass="qr-code", lineclass=None,
                                    title=_("QR code for your authenticator app"))
    return Markup(buffer.getvalue().decode())


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str):
    throttle().check(("staff-link:ip", client_ip()))
    invite = find_staff_invite(token)
    if invite is None:
        return render_template("staff/link_used.html"), 410
    user = invite.user
    if session.get("enrol_user") != user.id or "enrol_secret" not in session:
        session.regenerate({"enrol_user": user.id, "_idle": 30 * 60})
        session["enrol_secret"] = base64.b64encode(crypto.seal_secret(
            new_totp_secret().encode(), session.key("enrol"), _enrol_context(user.id))).decode()
    secret = crypto.open_secret(base64.b64decode(session["enrol_secret"]),
                                session.key("enrol"), _enrol_context(user.id)).decode()
    form = EnrolForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data, user.email)
        if problem:
            form.password.errors = [problem]
        elif code_matches(secret, form.code.data):
            password_hash = hash_password(form.password.data)  # slow: before the write lock
            with writing():
                set_totp_secret(user, secret)
                db.flush()
                target = None
                if accept_code(user, form.code.data, secret):
                    user.password_hash = password_hash
                    invite.used_at = utcnow()
                    audit.record(db, "staff.enrolled", actor=audit.actor_for(user),
                                 subject=f"user:{user.id}")
                    target = _finish_sign_in(user)
            if target:
                return redirect(target)
        if not form.errors:
            form.code.errors = [_("That code is not right. Check the time on your phone, "
                                  "wait for a new code and try again.")]
    return render_template("staff/welcome.html", form=form, user=user, secret=secret,
                           qr=_qr_svg(totp_uri(user, secret))), 400 if form.errors else 200


# ---------------------------------------------------------------------------------------
# Keys: create, unlock, change the passphrase, replace


def _passphrase_problem(user: User, passphrase: str) -> str | None:
    if check_password(user, passphrase):
        return _("Your key passphrase must be different from your password.")
    if passphrase.lower() in {user.email.lower(), user.name.lower(), EXAMPLE_PASSPHRASE} \
            or easy_to_guess(passphrase):
        return _("This passphrase is too easy to guess. Try four or five words that have "
                 "nothing to do with each other.")
    return None


@bp.route("/keys/new", methods=["GET", "POST"])
@staff_required(*KEY_HOLDERS)
def new_key(user: User):
    if keyring.active_key(db, user.id, user.organisation_id) is not None:
        return redirect(url_for("staff.account"))
    form = NewPassphraseForm()
    if form.validate_on_submit():
        problem = _passphrase_problem(user, form.passphrase.data)
        if problem:
            form.passphrase.errors = [problem]
        else:
            new = keyring.make_person_key(form.passphrase.data)  # slow: before the write lock
            with writing():
                key = keyring.store_person_key(db, user, new)
                audit.record(db, "key.created", actor=audit.actor_for(user),
                             subject=f"key:{key.id}")
                keyring.keep_unlocked(session, {key.id: new.private})
            return redirect(url_for("staff.recovery_sheet"))
    return render_template("staff/new_key.html", form=form), 400 if form.errors else 200


@bp.get("/keys/recovery-sheet")
@staff_required(*KEY_HOLDERS)
def recovery_sheet(user: User):
    key = keyring.active_key(db, user.id, user.organisation_id)
    return render_template("staff/recovery_sheet.html", user=user, key=key,
                           next=url_for(HOMES[user.role]))


@bp.route("/unlock", methods=["GET", "POST"])
@staff_required(*KEY_HOLDERS)
def unlock(user: User):
    if keyring.active_key(db, user.id, user.organisation_id) is None:
        return redirect(url_for("staff.new_key"))
    form = UnlockForm()
    if form.validate_on_submit():
        throttle().check(("unlock:account", str(user.id)))
        altered = keyring.altered_keys_of(user)
        if altered:  # never unlocked or used; said loudly, once per attempt
            with writing():
                for key in altered:
                    integrity.report_altered(db, key, reader=audit.actor_for(user))
        try:
            keys = keyring.unlock(user, form.passphrase.data)  # Argon2: no lock held
        except crypto.WrongPassphrase:
            with writing():
                audit.record(db, "key.unlock-failed", actor=audit.actor_for(user),
                             subject=f"user:{user.id}")
            form.passphrase.errors = [_("That passphrase is not right.")]
        else:
            with writing():
                audit.record(db, "key.unlocked", actor=audit.actor_for(user),
                             subject=f"user:{user.id}")
                keyring.keep_unlocked(session, keys)
                target = _safe_next(session.pop("next", None)) or url_for(HOMES[user.role])
            return redirect(target)
    return render_template("staff/unlock.html", form=form), 400 if form.errors else 200


@bp.post("/lock")
@staff_required(*KEY_HOLDERS)
def lock(user: User):
    with writing():
        keyring.lock(session)
    return redirect(url_for(HOMES[user.role]))


@bp.route("/keys/passphrase", methods=["GET", "POST"])
@staff_required(*KEY_HOLDERS)
def change_passphrase(user: User):
    form = ChangePassphraseForm()
    if form.validate_on_submit():
        throttle().check(("unlock:account", str(user.id)))
        problem = _passphrase_problem(user, form.passphrase.data)
        if problem:
            form.passphrase.errors = [problem]
        else:
            try:
                rewrapped = keyring.rewrap_keys(user, form.current.data, form.passphrase.data)
            except crypto.WrongPassphrase:
                form.current.errors = [_("That passphrase is not right.")]
            else:
                with writing():
                    keyring.store_rewrapped(db, user, rewrapped)
                    audit.record(db, "key.passphrase-changed", actor=audit.actor_for(user),
                                 subject=f"user:{user.id}")
                    notifications.tell(db, notifications.note(
                        "staff.passphrase-changed", user.email, user=user))
                return redirect(url_for("staff.account", changed=1))
    return render_template("staff/change_passphrase.html", form=form), \
        400 if form.errors else 200


@bp.route("/keys/replace", methods=["GET", "POST"])
@staff_required(*KEY_HOLDERS)
def replace_key(user: User):
    """A new keypair (rotation). Old keys stay, wrapped, so older submissions still open."""
    form = UnlockForm()
    if form.validate_on_submit():
        throttle().check(("unlock:account", str(user.id)))
        try:
            old_keys = keyring.unlock(user, form.passphrase.data)
        except crypto.WrongPassphrase:
            form.passphrase.errors = [_("That passphrase is not right.")]
        else:
            new = keyring.make_person_key(form.passphrase.data)
            with writing():
                key = keyring.store_person_key(db, user, new)
                audit.record(db, "key.replaced", actor=audit.actor_for(user),
                             subject=f"key:{key.id}")
                keyring.keep_unlocked(session, {**old_keys, key.id: new.private})
            return redirect(url_for("staff.account", replaced=1))
    return render_template("staff/replace_key.html", form=form), 400 if form.errors else 200
