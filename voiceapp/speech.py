"""Recorded speech for the speaker button, for phones without a voice in the page's
language (Welsh and Arabic voices are often missing).

Every sentence a child may hear is in the catalogues; each is recorded once per language
from its translation, into ``static/speech/<lang>/<name>.opus``, where ``name`` is the first
16 hex digits of SHA-256 over ``lang``, a newline and the words (whitespace collapsed).
app.js names the words it is about to read the same way, so the page carries no list of
recordings, and a recording is fetched only when the button is pressed.

``flask record-speech`` makes them with Debian's espeak-ng and opus-tools, so anyone can
make them again from the catalogues; better recordings can replace the files under the
same names. A sentence with a small number set into it (a score out of 10, how many
pictures were kept, Childline's number) is recorded for each number a child can meet
(:data:`WITH_NUMBERS`), and one with a word set into it for each word (:data:`WITH_WORDS`);
one with a name, a date or a place set into it cannot be recorded ahead: the few that tell a
child about their meeting are spoken on the server the first time they are asked for, and
kept (:func:`spoken`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.support import Translations

log = logging.getLogger("voiceapp")
ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "static" / "speech"
LANGUAGES = ("en", "cy", "ar")
ESPEAK_VOICES = {"en": "en-gb", "cy": "cy", "ar": "ar"}
# Where the words a child hears come from.
CHILD_SOURCES = (
    *sorted((ROOT / "templates" / "child").glob("*.html")),
    *(ROOT / "templates" / "components" / name for name in (
        "forms.html", "attachments.html", "draw.html", "exit.html", "files.html", "recorder.html",
        "speak.html")),
    ROOT / "voiceapp" / "questions.py",
    *sorted((ROOT / "voiceapp" / "child").glob("*.py")),
)


# Sentences with a small number set into them, recorded for each number a child can meet:
# the message (or its singular and plural) and the values set into it.
_ONE_TO_TEN = range(1, 11)
WITH_NUMBERS = {
    "You picked %(n)s out of 10.": [{"n": n} for n in range(11)],
    "You picked %(n)s out of 10. You can skip this.": [{"n": n} for n in range(11)],
    ("You kept %(num)s picture.", "You kept %(num)s pictures."): [
        {"num": n} for n in _ONE_TO_TEN],
    ("You kept %(num)s voice note.", "You kept %(num)s voice notes."): [
        {"num": n} for n in _ONE_TO_TEN],
    # The progress line: 8 questions, or 4 when adding something after sending.
    "Question %(n)s of %(total)s": [{"n": n, "total": total} for total in (8, 4)
                                    for n in range(1, total + 1)],
    # The longest voice note, in minutes (VOICEAPP_MAX_AUDIO_SECONDS, 3 unless changed).
    "Press Record and talk. You can listen before you keep it. A voice note can be up to "
    "%(minutes)s minutes long.": [{"minutes": n} for n in _ONE_TO_TEN],
    "Use your phone's recorder. Up to %(minutes)s minutes.": [
        {"minutes": n} for n in _ONE_TO_TEN],
    # Who a child who feels unsafe can call (the out-of-hours number is the organisation's
    # own, so it is spoken on the server: child.said).
    "You can call Childline for free on %(number)s, any time, day or night. What you say is "
    "private.": [{"number": "0800 1111"}],
    "If you are in danger right now, call %(number)s.": [{"number": "999"}],
}
# Sentences with a word set into them, recorded for each word, in each language.
WITH_WORDS = {
    "What does “%(term)s” mean?": [{"term": word} for word in (
        "meeting", "chair", "advocate", "conference", "plan")],
}


def _scale(translations) -> list[str]:
    """The 0 to 10 scale's answers: each number, and each end's number with its words."""
    return [f"0 {translations.ugettext('not safe at all')}", *map(str, range(1, 10)),
            f"10 {translations.ugettext('safe and good')}"]


def words(text: str) -> str:
    return " ".join(str(text).split())


def recording_name(lang: str, text: str) -> str:
    return hashlib.sha256(f"{lang}\n{words(text)}".encode()).hexdigest()[:16]


def recording_path(lang: str, text: str) -> Path:
    return FOLDER / lang / f"{recording_name(lang, text)}.opus"


def spoken_messages() -> list[str]:
    """Every whole sentence in the child's pages (messages with nothing set into them)."""
    found: dict[str, None] = {}
    for path in CHILD_SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {} if method == "python" else {"extensions": "jinja2.ext.do"}
        keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
        for _line, message, _comments, _context in extract_from_file(
                method, str(path), keywords=keywords, options=options):
            if isinstance(message, str) and message.strip() and "%(" not in message:
                found[message] = None
    return list(found)


def spoken_sentences(lang: str) -> list[str]:
    """The words heard in ``lang``: each spoken message, as its catalogue translates it."""
    translations = Translations.load(ROOT / "translations", [lang]) if lang != "en" \
        else Translations()  # English: the messages as they are
    said = [words(translations.ugettext(m)) for m in spoken_messages()]
    for message, each in WITH_NUMBERS.items():
        for values in each:
            text = translations.ugettext(message) if isinstance(message, str) \
                else translations.ungettext(*message, values["num"])
            said.append(words(text % values))
    for message, each in WITH_WORDS.items():
        for values in each:
            said.append(words(translations.ugettext(message) % {
                key: translations.ugettext(word) for key, word in values.items()}))
    return said + _scale(translations)


def record(lang: str, text: str, target: Path) -> None:
    """One sentence, spoken by espeak-ng, as small mono Opus (speech at 16 kbit/s)."""
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "said.wav"
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICES[lang], "-s", "140", "-w", str(wav),
                        "--", text], check=True, capture_output=True, timeout=30)
        subprocess.run(["opusenc", "--quiet", "--bitrate", "16", "--downmix-mono",
                        "--comp", "10", "--discard-comments", str(wav), str(target)],
                       check=True, capture_output=True, timeout=30)


def can_speak() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("opusenc"))


def spoken(lang: str, text: str, folder: Path) -> Path | None:
    """``text`` (a sentence voiceapp wrote, never a child's words) spoken in ``lang``: made
    once, as :func:`record` makes the recordings that ship, and kept in ``folder``
    (:func:`forget_spoken` removes old ones). One sentence is spoken at a time on this
    machine, whatever the number of requests or workers asking: the others wait, then find
    it made. None where espeak-ng or opus-tools is not installed, or the voice fails."""
    if lang not in LANGUAGES:
        return None
    target = folder / lang / f"{recording_name(lang, text)}.opus"
    if target.exists():
        return target
    if not can_speak():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with (folder / "speaking.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():  # made while this request waited
            return target
        partial = target.with_name(f"{target.stem}.{secrets.token_hex(4)}.part")
        try:
            record(lang, words(text), partial)
            partial.replace(target)  # whole, or not at all
        except (OSError, subprocess.SubprocessError):
            partial.unlink(missing_ok=True)
            log.error("speech: a sentence could not be spoken in %s", lang)
            return None
    return target


SPOKEN_KEPT_DAYS = 7


def forget_spoken(folder: Path, now: float | None = None) -> int:
    """Remove sentences spoken on the server more than :data:`SPOKEN_KEPT_DAYS` ago (a
    meeting's old place or chair, say); one asked for again is spoken again. Returns how
    many were removed."""
    oldest = (now or time.time()) - SPOKEN_KEPT_DAYS * 86400
    removed = 0
    for made in folder.glob("*/*.opus"):
        try:
            if made.stat().st_mtime < oldest:
                made.unlink()
                removed += 1
        except FileNotFoundError:  # another server's purge got there first
            continue
    return removed


def record_all(only_missing: bool = True) -> tuple[int, int]:
    """Record every spoken sentence in every language; remove recordings no longer used.
    Returns (made, removed)."""
    if not can_speak():
        raise RuntimeError("record-speech needs espeak-ng and opus-tools (apt install "
                           "espeak-ng opus-tools)")
    made = removed = 0
    for lang in LANGUAGES:
        (FOLDER / lang).mkdir(parents=True, exist_ok=True)
        wanted = set()
        for text in spoken_sentences(lang):
            target = recording_path(lang, text)
            wanted.add(target.name)
            if only_missing and target.exists():
                continue
            record(lang, text, target)
            made += 1
        for old in (FOLDER / lang).glob("*.opus"):
            if old.name not in wanted:
                old.unlink()
                removed += 1
    return made, removed
