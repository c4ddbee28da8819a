"""The web form in a real browser: Debian's Chromium through Playwright, against `bfs web`'s app under uvicorn.

Filled in and submitted with the keyboard alone for one actor of each sector; an invalid number shows the error
summary and stores nothing; a resubmission counts as the newest; a closed wave answers 410; a POST without the
CSRF token 403; axe-core finds no WCAG 2.1 A/AA violation on the form, its error state, the receipt and the two
information pages; nothing is fetched from outside the machine. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bfs_pipeline import demo
from bfs_pipeline.config import Settings
from bfs_pipeline.models import Response, Wave
from bfs_pipeline.outreach import links
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey

WAVE = "2026-Q4"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SECTORS = ("kommun", "polis", "myndighet", "naringsliv", "ideburen")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    base: str
    engine: Engine
    survey: Survey
    opened: links.Opened

    def url_of(self, sector: str) -> str:
        return next(link.url for link in self.opened.links if link.sector == sector)

    def link_of(self, sector: str) -> links.Link:
        return next(link for link in self.opened.links if link.sector == sector)

    def stored(self) -> tuple[int, int]:
        with Session(self.engine) as s:
            rows = s.scalar(select(func.count()).select_from(Response)) or 0
            current = s.scalar(select(func.count()).select_from(Response).where(Response.is_current.is_(True)))
        return rows, current or 0


@pytest.fixture
def live(settings: Settings, engine: Engine, survey: Survey, tmp_path: Path) -> Iterator[Live]:
    from bfs_pipeline.web.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = replace(settings, public_url=base, ratelimit_link="1000/minute", ratelimit_client="10000/minute")
    import_roster(engine, demo.write_roster(tmp_path / "roster.csv", survey.county), survey)
    key = hash_key(settings.hash_key, settings.home)
    opened = links.open_wave(engine, survey, WAVE, key, base, links.today() + dt.timedelta(days=30))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "bfs web did not start"
        time.sleep(0.05)
    yield Live(base, engine, survey, opened)
    server.should_exit = True
    thread.join(timeout=10)


def focused(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement;
                return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', value: e.value || '',
                        id: e.id || ''}; }"""
        )
    )


def fill_with_keyboard(page: Any, required: set[str], municipalities: tuple[str, ...]) -> None:
    """Tab through the form from the top: Space on the first choice of every required question and on the
    actor's municipalities, then Enter on the submit button. Only keys are pressed."""
    done: set[str] = set()
    for _ in range(400):
        page.keyboard.press("Tab")
        el = focused(page)
        if el["tag"] == "input" and el["type"] == "radio" and el["name"] in required and el["name"] not in done:
            page.keyboard.press("Space")
            done.add(el["name"])
        elif el["tag"] == "input" and el["type"] == "checkbox" and el["name"] == "C01":
            if el["value"] in municipalities:
                page.keyboard.press("Space")
                done.add("C01")
        elif el["tag"] == "button" and el["value"] == "submit":
            assert done >= required, f"not reached by Tab: {required - done}"
            page.keyboard.press("Enter")
            return
    raise AssertionError("the submit button was never reached with Tab")


def required_of(live: Live, sector: str) -> set[str]:
    """The required questions of a sector's form (the organisation comes from the link)."""
    return {q.id for q in live.survey.questions(sector) if q.required and q.type != "organisation"}


@pytest.mark.parametrize("sector", SECTORS)
def test_keyboard_alone_fills_in_and_submits(live: Live, page_at: Any, sector: str) -> None:
    page = page_at(1280)
    response = page.goto(live.url_of(sector))
    assert response.status == 200
    assert page.get_attribute("html", "lang") == "sv"
    link = live.link_of(sector)
    assert link.organisation in page.content()  # known from the link, not asked
    required = required_of(live, sector)
    with page.expect_navigation():
        fill_with_keyboard(page, required, link.municipalities)
    assert "/tack" in page.url and "Tack" in page.inner_text("main")
    assert WAVE in page.inner_text("main")
    assert live.stored() == (1, 1)
    with Session(live.engine) as s:
        stored = s.scalars(select(Response)).one()
    assert stored.actor_id == link.actor_id and stored.sector == sector and stored.wave == WAVE
    assert stored.answers["C01"] == list(link.municipalities)
    assert page.outside_requests == []


def test_an_invalid_number_shows_the_error_summary_and_stores_nothing(live: Live, page_at: Any) -> None:
    page = page_at(375)
    page.goto(live.url_of("kommun"))
    page.fill("#field-K04", "en halv")
    page.click("button[value=submit]")
    summary = page.locator("#error-summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.locator("a[href='#field-K04']").count() == 1
    field = page.locator("#field-K04")
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    assert "K04-error" in described
    message = page.inner_text("#K04-error")
    assert "tal" in message.lower()  # the quarantine's wording: "Svaret är inte ett tal."
    assert page.input_value("#field-K04") == "en halv"  # the answer given is kept
    # every required question left open is named too, and the link takes the keyboard to its field
    assert summary.locator("a").count() > 1
    summary.locator("a[href='#field-K04']").focus()
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "field-K04" or page.url.endswith("#field-K04")
    assert live.stored() == (0, 0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px phone"


def test_a_resubmission_is_the_newest_answer(live: Live, page_at: Any) -> None:
    page = page_at(1280)
    url = live.url_of("polis")
    link = live.link_of("polis")
    page.goto(url)
    with page.expect_navigation():
        fill_with_keyboard(page, required_of(live, "polis"), link.municipalities)
    page.goto(url)
    assert page.is_checked("input[name=B01][value='1']")  # the stored answer, to edit
    page.check("input[name=B01][value='5']")
    with page.expect_navigation():
        page.click("button[value=submit]")
    assert "/tack" in page.url
    assert live.stored() == (2, 1)
    with Session(live.engine) as s:
        current = s.scalars(select(Response.answers).where(Response.is_current.is_(True))).one()
    assert current["B01"] == "5"


def test_after_the_deadline_410_and_nothing_stored(live: Live, page_at: Any) -> None:
    page = page_at(1280)
    url = live.url_of("ideburen")
    page.goto(url)
    token = page.input_value("input[name=csrftoken]")
    with Session(live.engine) as s, s.begin():
        s.execute(update(Wave).values(deadline=links.today() - dt.timedelta(days=1)))
    assert page.goto(url).status == 410
    # a form opened before the deadline and sent after it: 410 as well, nothing stored
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.post(url, data={"csrftoken": token, "action": "submit", "B01": "3"}, cookies=cookies)
    assert answer.status_code == 410
    assert live.stored() == (0, 0)


def test_a_post_without_the_csrf_token_is_refused(live: Live, page_at: Any) -> None:
    page = page_at(1280)
    url = live.url_of("naringsliv")
    page.goto(url)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = httpx.post(url, data={"action": "submit", "B01": "3"}, cookies=cookies)
    assert refused.status_code == 403
    forged = httpx.post(url, data={"action": "submit", "csrftoken": "forged", "B01": "3"}, cookies=cookies)
    assert forged.status_code == 403
    assert live.stored() == (0, 0)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in results.response["violations"]]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_axe_finds_no_violation(live: Live, page_at: Any, lang: str) -> None:
    page = page_at(1280)
    url = live.url_of("kommun")
    pages = {}
    page.goto(f"{url}?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    pages["form"] = axe_violations(page)
    page.fill("#field-K04", "abc")
    page.click("button[value=submit]")
    page.wait_for_selector("#error-summary")
    pages["errors"] = axe_violations(page)
    page.goto(f"{url}?lang={lang}")
    with page.expect_navigation():
        fill_with_keyboard(page, required_of(live, "kommun"), live.link_of("kommun").municipalities)
    assert "/tack" in page.url
    pages["receipt"] = axe_violations(page)
    for path in ("/tillganglighet", "/integritet"):
        assert page.goto(f"{live.base}{path}?lang={lang}").status == 200
        assert page.get_attribute("html", "lang") == lang
        pages[path] = axe_violations(page)
    assert pages == {k: [] for k in pages}
    assert page.outside_requests == []


def test_the_form_works_on_a_phone_and_shows_focus(live: Live, page_at: Any) -> None:
    page = page_at(375)
    page.goto(live.url_of("myndighet"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
            return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""
    )
    assert outline["style"] != "none" and outline["width"] >= 2, outline


def test_unsubscribe_asks_first_then_records_the_opt_out(live: Live, page_at: Any) -> None:
    from bfs_pipeline.models import OptOut

    page = page_at(375)
    link = live.link_of("polis")
    assert page.goto(f"{link.url}/avregistrera").status == 200
    with Session(live.engine) as s:
        assert s.scalar(select(func.count()).select_from(OptOut)) == 0  # opening the link changes nothing
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "inga fler påminnelser" in page.inner_text("main").lower()
    with Session(live.engine) as s:
        assert list(s.scalars(select(OptOut.actor_id))) == [link.actor_id]
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    refused = httpx.post(f"{link.url}/avregistrera", data={"lang": "sv"})  # no CSRF token
    assert refused.status_code == 403
    assert httpx.get(f"{live.base}/f/{'x' * 32}/avregistrera").status_code == 404
