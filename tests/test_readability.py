"""Every sentence a child reads is plain: Flesch–Kincaid grade 4 or below, a reading age of
about nine (PRODUCT.md asks for nine).

The child-facing messages are extracted afresh from the child's templates, the shared pieces
a child sees, and the Python that words a child's questions and errors. Each message is split
into sentences; sentences of five words or more are scored (shorter ones are too short for the
formula to mean anything). A placeholder such as ``%(date)s`` counts as one short word.
"""

from __future__ import annotations

import re
from pathlib import Path

import textstat
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

ROOT = Path(__file__).resolve().parent.parent
MAX_GRADE = 4
MIN_WORDS = 5
CHILD_TEMPLATES = [
    *sorted((ROOT / "templates" / "child").glob("*.html")),
    *(ROOT / "templates" / "components" / f"{name}.html"
      for name in ("exit", "forms", "languages", "phone", "attachments", "draw", "speak",
                   "recorder")),
    ROOT / "templates" / "base.html",
    ROOT / "templates" / "errors" / "error.html",
]
CHILD_PYTHON = [
    *sorted((ROOT / "voiceapp" / "child").glob("*.py")),
    *(ROOT / "voiceapp" / f"{name}.py"
      for name in ("questions", "fields", "errors", "attachments", "media")),
]

# Sentences that stay above grade 4, each with the reason it cannot be plainer.
ALLOWED = {
    "Its full name is Child Protection Conference.":
        "the meeting's real name, which the child will hear from adults",
    "You have it characters too many":
        "the live count's own unit; the shortest true way to say how far over",
    "If you think it should be, ask your coordinator.":
        "only signed-in staff are refused a page (403); a child has no account",
}


def child_messages() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    sources = [(path, "jinja2", {"extensions": "jinja2.ext.do"}) for path in CHILD_TEMPLATES]
    sources += [(path, "python", {}) for path in CHILD_PYTHON]
    for path, method, options in sources:
        for _line, message, _comments, _context in extract_from_file(
                method, path, keywords=keywords, options=options):
            found.add(message if isinstance(message, str) else message[0])
    return found


def sentences(message: str) -> list[str]:
    text = re.sub(r"%\(\w+\)[sd]", "it", message).replace("“", "").replace("”", "")
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= MIN_WORDS]


def grade(sentence: str) -> float:
    """The Flesch–Kincaid grade, to one decimal place as it is read."""
    return round(textstat.flesch_kincaid_grade(sentence), 1)


def scored() -> list[tuple[float, str]]:
    return sorted(((grade(s), s) for m in child_messages() for s in sentences(m)), reverse=True)


def test_the_meter_tells_hard_from_plain():
    assert grade("To stop that, you can use a private or incognito window, or delete the "
                 "history when you finish.") > MAX_GRADE
    assert grade("To stop that, you can use a private window.") <= MAX_GRADE


def test_the_extraction_finds_what_a_child_reads():
    messages = child_messages()
    assert len(messages) > 150
    assert "How safe do you feel?" in messages  # from questions.py
    assert "Leave this page quickly" in messages  # from the shared quick exit
    assert any(m.startswith("That file is not a photo") for m in messages)  # media.py


def test_every_sentence_a_child_reads_is_grade_four_or_below():
    hard = [f"{g:4.1f}  {s}" for g, s in scored() if g > MAX_GRADE and s not in ALLOWED]
    assert not hard, "too hard for a nine-year-old (Flesch-Kincaid grade):\n" + "\n".join(hard)


def test_every_allowed_sentence_is_still_there_and_still_needs_allowing():
    found = {s: g for g, s in scored()}
    for sentence in ALLOWED:
        assert sentence in found, f"no longer in the app: {sentence!r}"
        assert found[sentence] > MAX_GRADE, f"now plain enough to drop: {sentence!r}"
