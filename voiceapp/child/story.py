"""The meeting explained, as a short picture story, before a child is asked about it.

Every statement is from the leaflets councils give children and families (a guide for
children and young people: what the conference is, who is there, the chair meeting the child
first, bringing someone or an advocate, keeping the child safe, and that the conference
"cannot decide to remove you from your parent/carer"). Nothing is added to them.
"""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import format_date, format_time, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..i18n import isolate


class Scene(NamedTuple):
    key: str
    picture: str  # a symbol in static/img/symbols/
    title: object
    words: tuple


STORY = (
    Scene("what", "meeting", _l("What is the meeting?"), (
        _l("Soon there will be a meeting about you."),
        _l("Its full name is Child Protection Conference."),
        _l("It is there to help keep you safe."))),
    Scene("who", "family", _l("Who will be there?"), (
        _l("Your parents or carers will be there."),
        _l("Your social worker will be there."),
        _l("Someone from your school or a nurse may come too."))),
    Scene("chair", "chair-person", _l("Who is the chair?"), (
        _l("The person in charge is called the chair."),
        _l("The chair makes sure everyone gets a turn to speak."),
        _l("The chair does not work in your social worker's team."))),
    Scene("first", "two-people", _l("Can I go?"), (
        _l("If you are 10 or more, you should be able to go to some or all of it."),
        _l("If you come, the chair will meet you first."),
        _l("The chair will tell you how the meeting works."))),
    Scene("bring", "advocate", _l("Can I bring someone?"), (
        _l("You can bring someone to help you."),
        _l("An advocate can help you say what you think."),
        _l("They can say it for you, if you want."))),
    Scene("safe", "safe", _l("What is it for?"), (
        _l("The meeting is about keeping you safe."),
        _l("It may make a plan to help you and your family."),
        _l("It cannot take you away from your mum, dad or carers."))),
)


def meeting_sentences(conference, chair_name: str) -> dict[str, Markup]:
    """The sentences that tell a child when and where their meeting is, and who chairs it,
    in the page's language: for the pages, and spoken for phones without a voice in it
    (:func:`voiceapp.speech.spoken`). Only for a conference whose seal holds
    (:attr:`Journey.meeting_known`)."""
    when = {"date": format_date(conference.starts_at, "full"),
            "time": format_time(conference.starts_at, "short")}
    said = {  # each translated as it is, then the values set in (names isolated, escaped)
        "welcome-date": (gettext("Your meeting is on %(date)s at %(time)s. It is about you "
                                 "and your family."), when),
        "story-date": (gettext("It is on %(date)s at %(time)s."), when),
        "sent-date": (gettext("The chair will read what you sent before the meeting on "
                              "%(date)s."), when),
    }
    if conference.place:
        said["story-place"] = (gettext("It will be at %(place)s."),
                               {"place": isolate(conference.place)})
    if chair_name:
        said["story-chair"] = (gettext("Your chair is called %(name)s."),
                               {"name": isolate(chair_name)})
    return {key: Markup(escape(words)) % values for key, (words, values) in said.items()}
