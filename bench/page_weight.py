"""Page weight of a child's pages, as a phone's browser loads them with an empty cache.

    .venv/bin/python bench/page_weight.py

Budget (docs/performance.md): a child's page is <= 20 KB transferred in total (HTML + CSS +
JS + icon, compressed as served) in <= 4 requests, with no web fonts.

Method. gunicorn serves the app in production mode from a throwaway instance with the demo
data. Playwright drives Debian's Chromium as a Pixel 7 and walks a child's journey: the
start page, the welcome page (once by the invite link, which redirects, once directly), a
house question (/worries), the 0-10 scale (/safe) and the check page, answering on the way
so the check page has something on it; then every screen of the pictures mode (recorded
speech is fetched only when the speaker button is pressed, so it is not counted). The
browser cache is switched off (DevTools Network), so every page is counted as a first visit.
Every request is counted from DevTools Network events; "on the wire" is Chromium's
encodedDataLength (headers + body as received, compressed where the server compressed),
"bodies" is the Content-Length of each (the body as sent). The budget is judged on the wire
figure, the stricter of the two.
"""

from __future__ import annotations

import shutil

from playwright.sync_api import sync_playwright

from common import Gunicorn, Instance, figure, load_average

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
BUDGET_BYTES, BUDGET_REQUESTS = 20 * 1024, 4
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".otf", ".eot")


class Network:
    """Requests and bytes of one page load, from the DevTools protocol."""

    def __init__(self, cdp) -> None:
        self.reset()
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def reset(self) -> None:
        self.requests: dict[str, dict] = {}  # one entry per request, redirects included
        self.fonts = 0

    def _sent(self, event) -> None:
        key = event["requestId"]
        redirect = event.get("redirectResponse")
        if redirect:  # the redirect was a request of its own; keep it under another key
            self.requests.pop(key, None)
            self.requests[key + "/redirect"] = self._entry(redirect, redirect)
        self.requests[key] = {"url": event["request"]["url"], "wire": 0, "body": 0}
        if event.get("type") == "Font" or event["request"]["url"].split("?")[0].endswith(
                FONT_SUFFIXES):
            self.fonts += 1

    @staticmethod
    def _entry(response, sizes) -> dict:
        headers = {k.lower(): v for k, v in response["headers"].items()}
        return {"url": response["url"], "status": response["status"],
                "wire": sizes["encodedDataLength"], "encoding": headers.get(
                    "content-encoding", "identity"),
                "body": int(headers.get("content-length", 0))}  # as sent: compressed

    def _received(self, event) -> None:
        entry = self.requests.setdefault(event["requestId"], {"url": event["response"]["url"]})
        entry.update(self._entry(event["response"], {"encodedDataLength": 0}))

    def _finished(self, event) -> None:
        self.requests[event["requestId"]]["wire"] = event["encodedDataLength"]

    def totals(self) -> tuple[int, int, int]:
        wire = sum(r["wire"] for r in self.requests.values())
        body = sum(r["body"] for r in self.requests.values())
        return len(self.requests), wire, body


def settle(page) -> None:
    """Let a navigation (and its DevTools events) finish before the next step."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def measure(page, network: Network, name: str, url: str) -> bool:
    settle(page)
    network.reset()
    page.goto(url)
    settle(page)  # late requests (the icon) and DevTools events
    count, wire, body = network.totals()
    problems = [f"{count} requests > {BUDGET_REQUESTS}"] if count > BUDGET_REQUESTS else []
    problems += [f"{wire} B > {BUDGET_BYTES} B"] if wire > BUDGET_BYTES else []
    problems += [f"{network.fonts} web fonts"] if network.fonts else []
    figure(f"{name} requests", count)
    figure(f"{name} bytes on the wire (headers + compressed bodies)", wire)
    figure(f"{name} bytes of bodies", body)
    figure(f"{name} web fonts", network.fonts)
    for entry in network.requests.values():
        path = "/" + entry["url"].split("/", 3)[3].split("?")[0]
        path = "/i/<code>" if path.startswith("/i/") else path
        figure(f"{name} - {entry.get('status', '?')} {path}",
               f"{entry['wire']} B on the wire, body {entry['body']} B "
               f"({entry.get('encoding', '?')})")
    figure(f"{name} budget", "FAIL (" + ", ".join(problems) + ")" if problems else "pass")
    return not problems


PICTURE_SCREENS = [
    ("faces", "/going-well"), ("pictures", "/going-well?item=1"),
    ("drawing (draw.js only when pressed)", "/going-well?item=2"),
    ("voice note", "/going-well?item=3"),
    ("words", "/going-well?item=4"), ("0-10 scale", "/safe"), ("why that number", "/safe/why"),
    ("one number higher", "/safe/why?item=1"),
    ("drawing the answers", "/safe/why?item=2"), ("saying the answers", "/safe/why?item=3"),
    ("who helps", "/help"), ("their name", "/help?item=1"),
    ("the meeting", "/meeting"), ("who can see", "/sharing"),
    *((f"meeting story {n + 1}", f"/meeting/story?item={n}") for n in range(6)),
]


def pictures_mode(page, network: Network, base: str) -> list[bool]:
    """Every pictures-mode screen (recorded speech is fetched only when the speaker button
    is pressed, so it is not counted here)."""
    page.goto(base + "/how")
    page.check("input[value=pictures]", force=True)
    page.click("main form > .actions button[type=submit]")
    settle(page)
    page.goto(base + "/safe")
    page.check("input[value='7']", force=True)
    page.click("main form > .actions button[type=submit]")
    results = []
    for name, path in PICTURE_SCREENS:
        results.append(measure(page, network, f"pictures: {name} {path}", base + path))
    return results


def main() -> None:
    print("Page weight: a child's pages on a phone (Chromium as a Pixel 7), empty cache.")
    print(f"Budget: <= {BUDGET_BYTES // 1024} KB transferred (HTML + CSS + JS + icon, "
          f"compressed as served), <= {BUDGET_REQUESTS} requests, no web fonts.")
    load_average("before")
    instance = Instance()
    server = Gunicorn(instance, workers=2)
    code = instance.demo["invites"][0]["code"].replace("-", "")
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(**playwright.devices["Pixel 7"], locale="en-GB")
            page = context.new_page()
            network = Network(context.new_cdp_session(page))
            base = server.url
            results.append(measure(page, network, "start page", base + "/"))
            results.append(measure(page, network, "welcome page (by the invite link)",
                                   f"{base}/i/{code}"))
            results.append(measure(page, network, "welcome page", base + "/welcome"))
            # "Start", then "Write it" (answers unmeasured)
            page.click("main form > .actions button[type=submit]")
            page.check("input[value=words]", force=True)
            page.click("main form > .actions button[type=submit]")
            results.append(measure(page, network, "house question /worries",
                                   base + "/worries"))
            page.fill("textarea", "I worry about moving school and about my little brother.")
            page.click("main form > .actions button[type=submit]")
            results.append(measure(page, network, "0-10 scale /safe", base + "/safe"))
            page.check("input[value='7']", force=True)
            page.click("main form > .actions button[type=submit]")
            results.append(measure(page, network, "check page /check", base + "/check"))
            assert "moving school" in page.content(), "the answers did not reach /check"
            results += pictures_mode(page, network, base)
            browser.close()
    finally:
        server.stop()
        instance.close()
    figure("pages within budget", f"{sum(results)} of {len(results)}")


if __name__ == "__main__":
    main()
