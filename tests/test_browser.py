"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a real
server: pages load with no console errors and no failed requests, the "done means" path
can be clicked (landing page -> Uppsala kommun -> Tartu -> ... -> Eurocities), phones
get no sideways scrolling, and screenshots are saved to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import ARTIFACTS, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip("needs /usr/bin/chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose console errors, failed requests and HTTP errors are collected."""

    def __init__(self, browser: Any, width: int, lang: str) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           locale=lang, extra_http_headers={
                                               "Accept-Language": lang})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: self.problems.append(f"{r.status}: {r.url}")
                     if r.status >= 400 else None)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check(self) -> None:
        page = self.page
        assert page.evaluate("document.documentElement.lang") in ("sv", "en")
        assert page.locator("h1").count() == 1
        for landmark in ("header", "nav", "main", "footer"):
            assert page.locator(landmark).count() >= 1
        assert page.locator("img:not([alt])").count() == 0
        assert page.evaluate("document.querySelectorAll('link[rel=stylesheet]')[0].sheet"
                             ".cssRules.length") > 10, "the stylesheet loaded"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], "no sideways scrolling"
        assert not self.problems, self.problems


@pytest.mark.parametrize(("width", "device"), [(1280, "desktop"), (375, "phone")])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_pages_load_cleanly(browser: Any, server: Server, width: int, device: str,
                            lang: str) -> None:
    watched = Watched(browser, width, lang)
    for path, name in [("/", "landing"), ("/id/place/tartu", "tartu"),
                       ("/accessibility", "accessibility"), ("/no/such/page", "not-found")]:
        response = watched.page.goto(server.url(path))
        assert response is not None
        if name == "not-found":
            assert response.status == 404
            watched.problems = [p for p in watched.problems
                                if "/no/such/page" not in p and "404 (Not Found)" not in p]
        else:
            assert response.ok
        if name == "tartu":
            assert watched.page.url == server.url("doc/place/tartu")
        assert watched.page.evaluate("document.documentElement.lang") == lang
        watched.shot(f"{name}-{device}-{lang}")
        watched.check()
    watched.context.close()


def test_done_means_path(browser: Any, server: Server) -> None:
    """Landing page -> Uppsala kommun -> Tartu (one of its twin towns, intl:twinTown) ->
    back to Uppsala kommun by Tartu's incoming link -> Eurocities (org:memberOf): every
    step a click on a link in the page's main content."""
    watched = Watched(browser, 1280, "en")
    page = watched.page
    page.goto(server.url("/"))
    steps = [("organization/uppsala-kommun", "Uppsala Municipality"), ("place/tartu", "Tartu"),
             ("organization/uppsala-kommun", "Uppsala Municipality"),
             ("organization/eurocities", "Eurocities")]
    for number, (path, heading) in enumerate(steps, 1):
        page.locator(f'main a[href="{server.url("id/" + path)}"]').first.click()
        page.wait_for_url(server.url("doc/" + path))
        assert page.locator("h1").inner_text() == heading
        watched.shot(f"path-{number}-{path.replace('/', '-')}")
    watched.check()
    watched.context.close()


def test_keyboard_skip_link(browser: Any, server: Server) -> None:
    watched = Watched(browser, 1280, "sv")
    page = watched.page
    page.goto(server.url("/"))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert page.evaluate("getComputedStyle(document.activeElement).top") != "-48px"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    watched.check()
    watched.context.close()


def test_query_page_terms_drawn_isolated_by_server_and_script(browser: Any,
                                                             server: Server) -> None:
    """The table the server draws and the one the script draws after a run: a triple term
    readable, a blank node as _:label, and a literal with U+202E and U+0000 in a <bdi> that
    keeps its language note to its right (an override it did not isolate would move it left)."""
    watched = Watched(browser, 1280, "en")
    page = watched.page
    query = ('SELECT ?x ?t ?b ?u WHERE { BIND("evil \\u202Egnp.exe\\u0000<b>"@en AS ?x) '
             'BIND(<<( <http://a> <http://b> "c"@en )>> AS ?t) BIND(BNODE() AS ?b) }')
    page.goto(server.url("/sparql?" + urlencode({"query": query, "lang": "en"})))
    for drawn_by in ("server", "script"):
        if drawn_by == "script":
            page.evaluate("document.getElementById('results').replaceChildren()")
            page.locator("#sparql-form button[type=submit]").click()
            page.wait_for_selector("#results table")
        page.evaluate("document.querySelectorAll('#results td')"  # each on one line
                      ".forEach(function (td) { td.style.whiteSpace = 'nowrap'; })")
        cells = page.locator("#results td")
        x, t, b, u = cells.all_inner_texts()
        assert x == "evil \u202egnp.exe\u2400<b> @en", drawn_by
        assert t == '<<( <http://a> <http://b> "c"@en )>>' and u == "", drawn_by
        assert b.startswith("_:") and len(b) > 2, drawn_by
        literal = cells.nth(0).locator("bdi").bounding_box()
        note = cells.nth(0).locator(".muted").bounding_box()
        assert literal and note and note["y"] == literal["y"], drawn_by
        assert note["x"] >= literal["x"] + literal["width"], drawn_by
    watched.check()
    watched.context.close()
