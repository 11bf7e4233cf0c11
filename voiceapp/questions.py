"""What voiceapp asks a child, and the words for each answer.

Shared by the child's pages (to ask), the check page (to show back), and the chair's and
advocate's pages (to read). Questions are open: none of them suggests an answer or a kind
of harm, and every one may be left empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .i18n import isolate
from .models import ServiceWords
from .symbols import FOR_ANSWER, SCALE as SCALE_SYMBOLS

HOUSES = ("going_well", "worries", "hopes")
TEXT_LIMIT = 5000
NAME_LIMIT = 100

HOUSE_QUESTIONS = {
    "going_well": _l("What is going well for you?"),
    "worries": _l("What are you worried about?"),
    "hopes": _l("What would you like to happen?"),
}
# The same questions about a child, for an advocate writing on their behalf.
HOUSE_QUESTIONS_ABOUT = {
    "going_well": _l("What is going well for the child?"),
    "worries": _l("What is the child worried about?"),
    "hopes": _l("What would the child like to happen?"),
}
HOUSE_HINTS = {
    "going_well": _l("Think about what makes you happy, or what is going well. "
                     "You can skip this."),
    "worries": _l("Tell us what worries you. It can be big or small. You can skip this."),
    "hopes": _l("What would make things better for you? You can skip this."),
}
HOUSE_EMOJI = {"going_well": "🌞", "worries": "🌧️", "hopes": "🌈"}

FEELINGS = [
    ("happy", "😀", _l("Happy")),
    ("calm", "😌", _l("Calm")),
    ("okay", "😐", _l("Okay")),
    ("sad", "😢", _l("Sad")),
    ("worried", "😟", _l("Worried")),
    ("angry", "😠", _l("Angry")),
    ("scared", "😨", _l("Scared")),
    ("confused", "😕", _l("Confused")),
]

# Neutral topics for children who answer with pictures. None of them suggests a harm.
TOPICS = [
    ("home", "🏠", _l("Home")),
    ("family", "👪", _l("Family")),
    ("friends", "🤝", _l("Friends")),
    ("school", "🏫", _l("School")),
    ("pets", "🐾", _l("Pets")),
    ("playing", "⚽", _l("Playing")),
    ("food", "🍎", _l("Food")),
    ("sleep", "🛏️", _l("Sleep")),
    ("feelings", "💭", _l("Feelings")),
    ("other", "❓", _l("Something else")),
]

MODES = [
    ("words", "✏️", _l("With words")),
    ("pictures", "🖼️", _l("With pictures")),
]

SCALE_FACES = {0: "😢", 1: "😢", 2: "😟", 3: "😟", 4: "😐", 5: "😐", 6: "😐", 7: "🙂",
               8: "🙂", 9: "😄", 10: "😄"}
SCALE_DECLINED = "declined"
LOW_SCORE = 3  # a score this low or lower shows the child who to talk to, and is urgent
# Asked after a score, as practitioners ask the scaling question; both may be left empty.
SCALE_FOLLOW_UPS = {
    "safety_why": _l("Why did you pick that number?"),
    "safety_higher": _l("What would make it one number higher?"),
}
# Where a child's voice notes, drawings and photos are kept in the answers: with each house,
# and with the follow-ups of the scale (said or drawn instead of written).
FILE_HOLDERS = (*HOUSES, "scale")

HELPER_EMOJI = {"myself": "🙋", "social_worker": "🧑‍💼", "someone_else": "🧡",
                "not_sure": "🤔", "service": "🤝"}
HELPERS_FIXED = {
    "myself": _l("Myself"),
    "social_worker": _l("My social worker"),
    "someone_else": _l("Someone else I trust"),
    "not_sure": _l("I don't know yet"),
}

ATTEND = [
    ("all", "🙋", _l("Yes, all of it")),
    ("some", "🕐", _l("Yes, some of it")),
    ("chair_first", "🤝", _l("I'd like to meet the chair on my own first")),
    ("video", "💻", _l("I'd like to join by video")),
    ("no_read", "📄", _l("No, but please read what I said")),
    ("not_sure", "🤔", _l("I'm not sure")),
]

SHARE_ADVOCATE = [("yes", "👍", _l("Yes")), ("no", "✋", _l("No"))]
SHARE_PARENTS = [("yes", "👍", _l("Yes")), ("some", "🤏", _l("Some of it")),
                 ("ask", "🙋", _l("Ask me first")), ("no", "✋", _l("No"))]

CONFERENCE_KINDS = {"initial": _l("Initial conference"), "review": _l("Review conference")}

GATHERED = [
    ("in_person", "", _l("We met in person")),
    ("phone", "", _l("On the phone")),
    ("video", "", _l("On a video call")),
]


def emoji_map(options: list[tuple]) -> dict[str, str]:
    return {value: emoji for value, emoji, _ in options}


def label_of(options: list[tuple], value: str | None) -> str:
    return next((str(label) for v, _, label in options if v == value), "")


def emoji_of(options: list[tuple], value: str | None) -> str:
    return next((emoji for v, emoji, _ in options if v == value), "")


def empty_answers() -> dict:
    return {
        "mode": None,
        **{house: {"text": "", "feelings": [], "topics": [], "attachments": []}
           for house in HOUSES},
        "safety": None,
        **{key: "" for key in SCALE_FOLLOW_UPS},
        "scale": {"attachments": []},
        "helper": None,
        "helper_service": None,
        "helper_name": "",
        "attend": None,
        # Each sharing answer is kept with who it was about (see voiceapp.child.consent).
        "share_service": None,
        "share_service_id": None,
        "share_advocate": None,
        "share_advocate_id": None,
        "refused_advocates": [],
        "share_parents": None,
    }


def says_what_they_think(answers: dict) -> bool:
    """Whether the answers hold anything about what the child thinks (not only their
    choices of helper, meeting and who may see)."""
    return any((answers.get(house) or {}).get(part) for house in HOUSES
               for part in ("text", "feelings", "topics")) \
        or bool(files_in(answers)) or answers.get("safety") is not None \
        or any(answers.get(key) for key in SCALE_FOLLOW_UPS)


def as_sent(answers: dict) -> dict:
    """The answers as they are shown back and sent: the scale's follow-ups (words and files)
    only beside a number. After "I don't want to say" they answer nothing, so they stay only
    in the draft, in case the child picks a number again."""
    if isinstance(answers.get("safety"), int):
        return answers
    return {**answers, **{key: "" for key in SCALE_FOLLOW_UPS}, "scale": {"attachments": []}}


def files_in(answers: dict) -> list[dict]:
    """Every voice note, drawing and photo in the answers (what is stored of each)."""
    return [meta for holder in FILE_HOLDERS
            for meta in (answers.get(holder) or {}).get("attachments", [])]


def picture_of(value) -> str:
    """The picture symbol of an answer (voiceapp.symbols), or "" if it has none."""
    return FOR_ANSWER.get(value, "") if isinstance(value, str) else ""


class Chip(NamedTuple):
    """A picked picture or face: its emoji and its picture symbol (decoration, never read
    out: the emoji in words mode and for staff, the symbol in pictures mode) and its words."""

    emoji: str
    words: str
    picture: str = ""


@dataclass
class Row:
    """One answer, ready to show: the question, the answer's words, and extras. ``face`` is
    an emoji shown before the words (decoration, never read out)."""

    key: str
    question: str
    text: str = ""
    chips: list[Chip] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    urgent: bool = False
    face: str = ""
    lang: str = ""  # the language of ``text`` when it is not the page's (a child's own words)
    contact: str = ""  # how to reach the advocacy service the child chose
    picture: str = ""  # the symbol of the answer picked, shown before it in pictures mode


# The other questions, as asked of the child and as an advocate answers them about the child.
ASKED = {
    "safety": (_l("How safe do you feel?"), _l("How safe does the child feel, from 0 to 10?")),
    "helper": (_l("Who do you want to help you tell the meeting?"), None),
    "meeting": (_l("Do you want to go to the meeting?"),
                _l("Does the child want to go to the meeting?")),
    "share_parents": (_l("Can your parents or carers be told what you said?"),
                      _l("Can their parents or carers be told what they said?")),
}


def _with_name(sentence: str, **names: Markup) -> Markup:
    """A whole translated sentence with names from the database set inside it."""
    return Markup(escape(sentence)) % names


def service_question(words: ServiceWords) -> Markup:
    return _with_name(gettext("Can %(service)s see what you said too?"),
                      service=isolate(words.in_a_sentence, words.lang))


def advocate_question(advocate_name: str) -> Markup:
    return _with_name(gettext("Can %(name)s, your advocate, see what you said too?"),
                      name=isolate(advocate_name))


def stored_service_words(answers: dict) -> ServiceWords:
    """The service the child chose, as they were shown it (for when it is no longer
    offered): kept in the answers when they chose it."""
    name = answers.get("helper_service_name", "")
    return ServiceWords(name, answers.get("helper_service_in_a_sentence") or name, "",
                        answers.get("helper_service_contact", ""),
                        answers.get("helper_service_lang", ""))


def summary_rows(answers: dict, services: dict[int, ServiceWords], about_child: bool = False,
                 advocate_name: str = "", text_lang: str = "") -> list[Row]:
    """Every question with its answer, in the order the child was asked (or, for an
    advocate's record, the questions the advocate answered about the child).
    ``services`` holds the advocacy services in the reader's language, ``advocate_name``
    names the assigned advocate the child was asked about, and ``text_lang`` is the
    language the child wrote in, when it may not be the page's."""
    questions = HOUSE_QUESTIONS_ABOUT if about_child else HOUSE_QUESTIONS
    not_answered = str(_l("Not answered"))

    def asked(key: str) -> str | None:
        child_words, about = ASKED[key]
        return str(about if about_child else child_words) if (about or not about_child) \
            else None

    def service(service_id) -> ServiceWords:
        return services.get(service_id) or stored_service_words(answers)

    rows = []
    for house in HOUSES:
        given = answers.get(house) or {}
        chips = [Chip(emoji_of(FEELINGS, v), label_of(FEELINGS, v), picture_of(v))
                 for v in given.get("feelings", [])]
        chips += [Chip(emoji_of(TOPICS, v), label_of(TOPICS, v), picture_of(v))
                  for v in given.get("topics", [])]
        attachments = given.get("attachments", [])
        text = given.get("text", "")
        rows.append(Row(house, str(questions[house]), text or ("" if chips or attachments
                                                               else not_answered),
                        chips, attachments, lang=text_lang if text else ""))
    score = answers.get("safety")
    face = ""
    if isinstance(score, int):
        face, safety = SCALE_FACES[score], f"{score} / 10"
    elif score == SCALE_DECLINED:
        safety = str(_l("I don't want to say"))
    else:
        safety = not_answered
    rows.append(Row("safety", asked("safety"), safety,
                    urgent=isinstance(score, int) and score <= LOW_SCORE, face=face,
                    picture=SCALE_SYMBOLS[score] if isinstance(score, int) else picture_of(score)))
    if not about_child:  # beside the score: why the child picked it, and what would help
        said = (answers.get("scale") or {}).get("attachments", [])  # said or drawn, for both
        for key, question in SCALE_FOLLOW_UPS.items():
            words = answers.get(key) or ""
            files = said if key == "safety_why" else []
            if isinstance(score, int):
                rows.append(Row(key, str(question), words or ("" if files else not_answered),
                                attachments=files, lang=text_lang if words else ""))
    if not about_child:
        helper = answers.get("helper")
        if helper == "service":
            chosen = service(answers.get("helper_service"))
            rows.append(Row("helper", asked("helper"), chosen.name, lang=chosen.lang,
                            contact=chosen.contact, picture=picture_of(helper)))
        elif helper == "someone_else" and answers.get("helper_name"):
            rows.append(Row("helper", asked("helper"), _with_name(
                gettext("Someone else I trust: %(name)s"), name=isolate(answers["helper_name"])),
                picture=picture_of(helper)))
        else:
            rows.append(Row("helper", asked("helper"),
                            str(HELPERS_FIXED.get(helper, not_answered)),
                            picture=picture_of(helper)))
    rows.append(Row("meeting", asked("meeting"),
                    label_of(ATTEND, answers.get("attend")) or not_answered,
                    picture=picture_of(answers.get("attend"))))
    if not about_child and answers.get("share_service_id") is not None:
        rows.append(Row("sharing", service_question(service(answers["share_service_id"])),
                        label_of(SHARE_ADVOCATE, answers.get("share_service"))
                        or not_answered, picture=picture_of(answers.get("share_service"))))
    if not about_child and answers.get("share_advocate_id") is not None:
        name = advocate_name or answers.get("share_advocate_name", "")
        rows.append(Row("sharing", advocate_question(name),
                        label_of(SHARE_ADVOCATE, answers.get("share_advocate"))
                        or not_answered, picture=picture_of(answers.get("share_advocate"))))
    rows.append(Row("sharing", asked("share_parents"),
                    label_of(SHARE_PARENTS, answers.get("share_parents")) or not_answered,
                    picture=picture_of(answers.get("share_parents"))))
    return rows
