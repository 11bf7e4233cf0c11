"""The people who use voiceapp, acting through HTTP as they would in a browser.

Each reads a page, takes the CSRF token from it like a browser would, and posts the form.
"""

from __future__ import annotations

import html
import re
import time

import pyotp

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_TOKEN = re.compile(r'name="token"[^>]*value="([^"]*)"')
_TAGS = re.compile(r"<[^>]+>")
_FORM = re.compile(r'<form[^>]*action="([^"?#]*)[^"]*"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def hidden_fields(response, path: str) -> dict:
    """The hidden fields of the page's form that posts to ``path``, sent as a browser would
    (the CSRF token is taken separately)."""
    body = response.get_data(as_text=True)
    for action, inside in _FORM.findall(body):
        if action == path.split("?")[0]:
            fields = (dict(_ATTRIBUTE.findall(tag)) for tag in _HIDDEN.findall(inside))
            return {f["name"]: html.unescape(f.get("value", "")) for f in fields
                    if f.get("name") and f["name"] != "csrf_token"}
    return {}


def visible_text(response) -> str:
    """The words a person would read on the page (tags stripped, spaces squeezed)."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"</?bdi[^>]*>", "", body)  # isolates a name inside a sentence: no space
    return " ".join(html.unescape(_TAGS.sub(" ", body)).split())


class Person:
    def __init__(self, client) -> None:
        self.client = client
        self.page = None

    def opens(self, path: str, **kwargs):
        self.page = self.client.get(path, **kwargs)
        return self.page

    def csrf_token(self) -> str:
        match = _CSRF.search(self.page.get_data(as_text=True))
        assert match, "the page has no form with a CSRF token"
        return match.group(1)

    def posts(self, path: str, data: dict | None = None, follow: bool = True, **kwargs):
        form = {"csrf_token": self.csrf_token(), **hidden_fields(self.page, path), **(data or {})}
        self.page = self.client.post(path, data=form, follow_redirects=follow, **kwargs)
        return self.page

    def fills_in(self, path: str, data: dict | None = None, follow: bool = True, **kwargs):
        """Open the page, then send its form with ``data``."""
        self.opens(path)
        return self.posts(path, data, follow, **kwargs)

    @property
    def sees(self) -> str:
        return visible_text(self.page)


class Child(Person):
    def __init__(self, client, code: str) -> None:
        super().__init__(client)
        self.code = code

    def opens_invite(self, code: str | None = None):
        self.page = self.client.get(f"/i/{code or self.code}", follow_redirects=True)
        return self.page

    def types_code(self, code: str | None = None):
        return self.fills_in("/", {"code": code or self.code})

    def starts(self):
        return self.fills_in("/welcome", {})

    def answers(self, path: str, follow: bool = True, **fields):
        return self.fills_in(path, fields, follow)

    def adds_file(self, path: str, field: str, data: bytes, filename: str, mimetype: str,
                  follow: bool = True, **fields):
        """Choose a file on a question page (as a phone's file picker would) and continue."""
        import io

        self.opens(path)
        form = {"csrf_token": self.csrf_token(), **hidden_fields(self.page, path), **fields,
                field: (io.BytesIO(data), filename, mimetype)}
        self.page = self.client.post(path, data=form, content_type="multipart/form-data",
                                     follow_redirects=follow)
        return self.page

    def leaves_quickly(self, **headers):
        """Press "Leave this page quickly" on the page they are on."""
        body = self.page.get_data(as_text=True)
        href = html.unescape(re.search(r'href="([^"]*)"[^>]*data-exit', body).group(1))
        return self.client.get(href, headers=headers)

    def sends(self, follow: bool = True):
        self.opens("/check")
        return self.posts("/send", {"token": self.send_token()}, follow)

    def send_token(self) -> str:
        match = _TOKEN.search(self.page.get_data(as_text=True))
        assert match, "the check page has no Send button"
        return match.group(1)

    def tells(self, worries: str = "", going_well: str = "", hopes: str = "", safety=None,
              attend: str | None = None, **more):
        """Open the invite, answer the questions given, and stop at the check page."""
        self.opens_invite()
        self.starts()
        self.answers("/how", mode="words")
        self.answers("/going-well", text=going_well)
        self.answers("/worries", text=worries)
        self.answers("/hopes", text=hopes)
        if safety is not None:
            self.answers("/safe", score=str(safety))
        self.answers("/help", **{k: v for k, v in more.items()
                                 if k in ("helper", "someone_name")})
        if attend:
            self.answers("/meeting", attend=attend)
        self.answers("/sharing", **{k: v for k, v in more.items() if k.startswith("share_")})
        return self.opens("/check")


class Staff(Person):
    def __init__(self, client, account: dict) -> None:
        super().__init__(client)
        self.account = account

    def code_now(self) -> str:
        return pyotp.TOTP(self.account["totp_secret"]).now()

    def fresh_code(self) -> str:
        """A code the server has not seen yet: codes are single-use, so a second sign-in in
        the same 30 seconds takes the next window's code (the server allows 30 s of drift),
        and a third waits."""
        totp = pyotp.TOTP(self.account["totp_secret"])
        used = self.account.setdefault("_used_steps", set())
        while True:
            step = int(time.time()) // 30
            for candidate in (step, step + 1):
                if all(candidate > s for s in used):
                    used.add(candidate)
                    return totp.at(candidate * 30)
            time.sleep(1)

    def signs_in(self, password: str | None = None, code: str | None = None):
        self.fills_in("/staff/sign-in", {"email": self.account["email"],
                                         "password": password or self.account["password"]})
        if self.page.request.path != "/staff/sign-in/code":
            return self.page
        return self.posts("/staff/sign-in/code", {"code": code or self.fresh_code()})

    def enrols(self, link: str, password: str = "three random words here"):
        """Set up a password and an authenticator from a one-time link."""
        self.opens(link)
        secret = re.search(r"<code>([A-Z2-7]+)</code>", self.page.get_data(as_text=True))
        self.account["totp_secret"] = secret.group(1)
        return self.posts(link, {"password": password, "confirm": password,
                                 "code": pyotp.TOTP(secret.group(1)).now()})

    def signs_out(self):
        self.opens("/staff/account")
        return self.posts("/staff/sign-out")


class KeyHolder(Staff):
    def unlocks(self, passphrase: str | None = None):
        return self.fills_in("/staff/unlock", {
            "passphrase": passphrase or self.account["passphrase"]})

    def signs_in_and_unlocks(self):
        self.signs_in()
        return self.unlocks()


class Chair(KeyHolder):
    def opens_inbox(self):
        return self.opens("/chair/")

    def opens_submission(self, submission_id):
        return self.opens(f"/chair/submissions/{submission_id}")

    def marks_read(self, submission_id):
        self.opens_submission(submission_id)
        return self.posts(f"/chair/submissions/{submission_id}/read")


class Advocate(KeyHolder):
    def opens_dashboard(self):
        return self.opens("/advocate/")

    def records_views(self, invite_id: int, **fields):
        self.opens(f"/advocate/children/{invite_id}/record")
        token = _TOKEN.search(self.page.get_data(as_text=True)).group(1)
        defaults = {"gathered": "in_person", "child_agreed": "y"}
        return self.posts(f"/advocate/children/{invite_id}/record",
                          {**defaults, "token": token, **fields})


class Coordinator(Staff):
    def creates_conference(self, reference: str = "CP-2027-001", date: str = "2030-01-15",
                           time: str = "10:00", chair: int = 1, kind: str = "initial"):
        return self.fills_in("/admin/conferences/new", {
            "reference": reference, "date": date, "time": time, "kind": kind, "chair": chair})

    def creates_invite(self, conference_id: int, label: str = "", advocate: int = 0) -> str:
        """Make an invite and read its code off the printable card."""
        self.opens(f"/admin/conferences/{conference_id}")
        self.posts(f"/admin/conferences/{conference_id}/invites",
                   {"label": label, "advocate": advocate})
        return re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", self.sees).group(0)
