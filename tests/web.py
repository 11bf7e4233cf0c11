"""An HTTP client over real sockets with the manners of Flask's test client, so the people
in tests/people.py can use a deployed voiceapp (HTTPS through nginx) unchanged.

Each request is a new connection from ``source`` (any 127.x.y.z address: on loopback a
client can choose which one nginx sees). Cookies are kept like a browser keeps them.
"""

from __future__ import annotations

import http.client
import ssl
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

from werkzeug.test import EnvironBuilder

REDIRECTS = {301, 302, 303, 307, 308}


class Page:
    """A response, shaped like werkzeug's test response where tests/people.py looks."""

    def __init__(self, status: int, headers, data: bytes, path: str) -> None:
        self.status_code = status
        self.headers = headers
        self.data = data
        self.request = SimpleNamespace(path=path)

    def get_data(self, as_text: bool = False):
        return self.data.decode() if as_text else self.data

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class Browser:
    def __init__(self, base_url: str, cafile: str | None = None,
                 source: str = "127.0.0.1", timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.secure = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.context = ssl.create_default_context(cafile=cafile) if self.secure else None
        self.source, self.timeout = source, timeout
        self.cookies: dict[str, str] = {}

    def connect(self) -> http.client.HTTPConnection:
        if self.secure:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self.context,
                                               source_address=(self.source, 0))
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                          source_address=(self.source, 0))

    def get(self, path: str, follow_redirects: bool = False, headers: dict | None = None):
        return self.open("GET", path, None, None, follow_redirects, headers)

    def post(self, path: str, data: dict | None = None, follow_redirects: bool = False,
             content_type: str | None = None, headers: dict | None = None):
        return self.open("POST", path, data or {}, content_type, follow_redirects, headers)

    def open(self, method, path, data, content_type, follow_redirects, headers) -> Page:
        page = self.send(method, path, data, content_type, headers)
        for _ in range(10):
            if not (follow_redirects and page.status_code in REDIRECTS):
                return page
            path = urljoin(path, page.location)
            if path.startswith(self.base_url):
                path = path[len(self.base_url):]
            page = self.send("GET", path, None, None, headers)
        raise RuntimeError("too many redirects")

    def send(self, method, path, data, content_type, headers) -> Page:
        body, request_headers = None, {"Host": urlsplit(self.base_url).netloc}
        if data is not None:
            environ = EnvironBuilder(method=method, data=data,
                                     content_type=content_type).get_environ()
            body = environ["wsgi.input"].read()
            request_headers["Content-Type"] = environ["CONTENT_TYPE"]
            request_headers["Content-Length"] = str(len(body))
        if self.cookies:
            request_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request_headers.update(headers or {})
        connection = self.connect()
        try:
            connection.request(method, path, body=body, headers=request_headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        self.keep_cookies(response.headers.get_all("Set-Cookie") or [])
        return Page(response.status, response.headers, data, urlsplit(path).path)

    def keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get_cookie(self, name: str):
        value = self.cookies.get(name)
        return None if value is None else SimpleNamespace(value=value)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())
