"""Languages: which one a page is in, and which way its text runs.

The choice comes from ``?lang=`` (remembered in the session), then the browser's
Accept-Language, then the default. Children are offered the languages the organisation has
chosen from those that have a complete catalogue in ``translations/``.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from babel import Locale
from flask import Flask, current_app, request, session
from flask_babel import Babel, get_locale
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .models import AdvocacyService, Organisation, ServiceWords
from .resources import folder

TRANSLATIONS = folder("translations")
RIGHT_TO_LEFT = {"ar", "fa", "he", "ps", "ur", "yi"}


def _catalogues(default: str) -> list[str]:
    found = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    return [default] + [code for code in found if code != default]


def available_locales() -> list[str]:
    """The default language plus every language with a catalogue."""
    return current_app.extensions["voiceapp.locales"]


def language_name(code: str) -> str:
    """A language's name in that language ("Cymraeg", "العربية"), for a chooser."""
    name = Locale.parse(code).get_language_name(code) or code
    return name[:1].upper() + name[1:]


OFFERED_CACHE_SECONDS = 30


def offered_locales() -> list[str]:
    """The languages this organisation offers, in the order of :func:`available_locales`.

    Read at most every 30 seconds per process: it is asked on every page, and changes only
    when a coordinator saves the settings.
    """
    cached = current_app.extensions.get("voiceapp.offered")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    available = available_locales()
    try:
        chosen = db.scalar(select(Organisation.languages).order_by(Organisation.id).limit(1))
    except SQLAlchemyError:  # the error page must still render when the database is down
        return available[:1]
    wanted = set(available) if chosen is None else set(chosen.split(",")) | {available[0]}
    offered = [code for code in available if code in wanted]
    current_app.extensions["voiceapp.offered"] = (time.monotonic() + OFFERED_CACHE_SECONDS,
                                                  offered)
    return offered


def forget_offered_locales() -> None:
    """After the settings change, so this process offers the new languages at once."""
    current_app.extensions.pop("voiceapp.offered", None)


def select_locale() -> str:
    offered = offered_locales()
    choice = request.args.get("lang", "").replace("-", "_")
    # "en" (or "en-GB") names the default English as well as "en_GB" does.
    choice = next((code for code in offered if choice and code.split("_")[0] == choice), choice)
    if choice in offered:
        session["lang"] = choice
        return choice
    remembered = session.get("lang")
    if remembered in offered:
        return remembered
    return request.accept_languages.best_match(offered) or offered[0]


def current_locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def html_lang(code: str | None = None) -> str:
    """A locale as an HTML ``lang`` value: ``en_GB`` becomes ``en-GB``."""
    return (code or current_locale()).replace("_", "-")


def text_direction(code: str | None = None) -> str:
    code = (code or current_locale()).split("_")[0]
    return "rtl" if code in RIGHT_TO_LEFT else "ltr"


def list_separator(code: str | None = None) -> str:
    """What goes between the items of a list: the Arabic comma in right-to-left scripts."""
    return "، " if text_direction(code) == "rtl" else ", "


def default_locale() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def service_words(service: AdvocacyService, locale: str | None = None) -> ServiceWords:
    """An advocacy service in the page's language (see :meth:`AdvocacyService.words`)."""
    return service.words(locale or current_locale(), default_locale())


def isolate(text: str, lang: str | None = None) -> Markup:
    """Words from the database set inside a sentence: isolated, so that a name in another
    script cannot pull the sentence's punctuation out of place, and marked with their own
    language when it is not the page's (so a screen reader says them right)."""
    if lang and html_lang(lang) != html_lang():
        return Markup('<bdi lang="{}">{}</bdi>').format(html_lang(lang), text)
    return Markup("<bdi>{}</bdi>").format(text)


def this_page(lang: str | None = None) -> str:
    """This page's address, shown in ``lang``; without one, the address a form on the page
    posts to (no ``lang`` to override a language chosen with a button, and no ``#part``,
    which a redirect would carry on to the next page)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    if lang:
        args.append(("lang", lang))
    # Built from the path as it came, never through url_for: a query parameter must not be
    # able to become one of url_for's own (_external, _scheme, _anchor, endpoint).
    address = request.script_root + request.path
    return f"{address}?{urlencode(args)}" if args else address


def init_app(app: Flask, default_locale: str, timezone: str) -> None:
    app.config.update(BABEL_DEFAULT_LOCALE=default_locale, BABEL_DEFAULT_TIMEZONE=timezone,
                      BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS))
    app.extensions["voiceapp.locales"] = _catalogues(default_locale)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_locale=current_locale, html_lang=html_lang,
                                 text_direction=text_direction,
                                 list_separator=list_separator,
                                 language_name=language_name, offered_locales=offered_locales,
                                 isolate=isolate, this_page=this_page)
