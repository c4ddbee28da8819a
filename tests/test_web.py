"""`bfs web` over HTTP: a real uvicorn on loopback (in a thread, or two server processes sharing Redis), a real
database (SQLite and PostgreSQL), a real roster and a wave opened with personal links."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import html.parser
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from bfs_pipeline import demo, roster
from bfs_pipeline.config import Settings
from bfs_pipeline.db import open_database
from bfs_pipeline.models import FormDraft, Response, Wave
from bfs_pipeline.outreach import links
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.survey import Survey
from bfs_pipeline.web.app import create_app

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def this_wave() -> str:
    day = links.today()
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass
class World:
    settings: Settings
    engine: Engine
    survey: Survey
    opened: links.Opened

    def link(self, sector: str = "kommun", n: int = 0) -> links.Link:
        return [link for link in self.opened.links if link.sector == sector][n]

    def token(self, sector: str = "kommun", n: int = 0) -> str:
        return self.link(sector, n).url.rsplit("/", 1)[1]

    def counts(self) -> tuple[int, int]:
        """Stored responses and drafts."""
        with Session(self.engine) as s:
            return s.scalar(select(func.count(Response.id))) or 0, s.scalar(select(func.count(FormDraft.link_id))) or 0


def make_world(settings: Settings, survey: Survey, tmp_path: Path) -> World:
    engine = open_database(settings.database_url)
    roster.import_roster(engine, demo.write_roster(tmp_path / "roster.csv", survey.county), survey)
    key = hash_key(settings.hash_key, settings.home)
    opened = links.open_wave(engine, survey, this_wave(), key, settings.public_url)
    return World(settings, engine, survey, opened)


@pytest.fixture
def world(settings: Settings, survey: Survey, tmp_path: Path) -> Iterator[World]:
    w = make_world(settings, survey, tmp_path)
    yield w
    w.engine.dispose()


@contextlib.contextmanager
def running(settings: Settings, engine: Engine) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, engine), host="127.0.0.1", port=port, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with running(world.settings, world.engine) as url:
        yield url


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as c:
        yield c


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert m, "the form has no CSRF token"
    return m.group(1)


def valid_answers(**over: str) -> dict[str, Any]:
    """A valid kommun submission (every required question answered), by question id."""
    data: dict[str, Any] = {"C01": ["1082"], "C02": "2", "K04": "1,5", "K07": "3"}
    data.update({f"B0{i}": "3" for i in range(1, 10)})
    data.update(over)
    return data


def post(c: httpx.Client, token: str, data: dict[str, Any], action: str = "submit", lang: str = "sv") -> httpx.Response:
    """Open the form (for its CSRF cookie and token) and post to it as the browser would."""
    page = c.get(f"/f/{token}?lang={lang}")
    assert page.status_code == 200, page.status_code
    body = {"csrftoken": csrf_of(page.text), "lang": lang, "action": action, **data}
    return c.post(f"/f/{token}?lang={lang}", data=body)


class Tags(html.parser.HTMLParser):
    """Start tags with their attributes, in order (enough to check labels, ids and ARIA)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def by_id(self, ident: str) -> dict[str, str]:
        found = [a for _, a in self.tags if a.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident}"
        return found[0]


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_secure_headers(r: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (r.request.url.path, name, r.headers.get(name))


# -- pages --------------------------------------------------------------------------------------------------------


def test_healthz_information_pages_and_headers(client: httpx.Client, world: World) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert_secure_headers(r)

    r = client.get("/tillganglighet")
    assert r.status_code == 200 and '<html lang="sv">' in r.text
    for words in (
        "WCAG 2.1",
        "helt förenligt",  # DIGG's wording: helt, delvis or inte förenlig
        "självskattning",
        "Myndigheten för digital förvaltning",
        "851 02 Sundsvall",
        'href="https://www.digg.se/tdosanmalan"',
        "axe-core",
        "tangentbord",
    ):
        assert words in r.text
    assert "Länsstyrelsen i Blekinge län" in r.text
    assert "mailto:bfs@localhost" in r.text  # BFS_CONTACT unset: the report's sender
    assert_secure_headers(r)
    assert r.headers["cache-control"] == "no-store"

    r = client.get("/integritet")
    assert r.status_code == 200
    for words in ("allmänna handlingar", "sekretessprövning", "6.1 e", "2023:196", "Integritetsskyddsmyndigheten"):
        assert words in r.text
    for page in ("/tillganglighet?lang=en", "/integritet?lang=en"):
        r = client.get(page)
        assert r.status_code == 200 and '<html lang="en">' in r.text and 'href="?lang=sv"' in r.text

    css = client.get("/static/form.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "outline: 3px solid" in css.text
    assert_secure_headers(css)


def test_the_form_asks_with_native_labelled_inputs(client: httpx.Client, world: World) -> None:
    token = world.token("kommun")
    r = client.get(f"/f/{token}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert_secure_headers(r)
    page = r.text
    assert '<html lang="sv">' in page
    link = world.link("kommun")
    for known in (link.organisation, "Kommun", link.municipality, this_wave(), "allmänna handlingar"):
        assert known in page
    assert 'href="/integritet?lang=sv"' in page and 'href="?lang=en"' in page
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "http://" not in page.replace('href="http', "")  # nothing fetched from elsewhere

    tags = Tags(page)
    form = tags.by_id("answer-form")
    assert form["method"] == "post" and form["action"] == f"/f/{token}?lang=sv"
    labels = {a["for"] for a in tags.all("label")}
    inputs = [a for t, a in tags.tags if t in ("input", "select", "textarea") and a.get("type") != "hidden"]
    assert inputs
    for a in inputs:
        assert a["id"] in labels, f"no label for {a['id']}"
        assert "required" not in a and "min" not in a and "max" not in a  # the server checks, not the browser
    assert tags.all("input", type="hidden", name="lang", value="sv")
    assert len(tags.all("fieldset")) == len(tags.all("legend")) > 9
    assert tags.by_id("field-K04")["inputmode"] == "decimal"
    assert tags.by_id("field-K07")["inputmode"] == "numeric"
    assert tags.by_id("field-C01")["type"] == "checkbox"
    assert tags.by_id("field-B01")["type"] == "radio"
    assert tags.by_id("field-C05").get("maxlength") == "4000"
    assert "K04-hint" in tags.by_id("field-K04")["aria-describedby"]
    assert tags.all("button", name="action", value="submit") and tags.all("button", name="action", value="draft")
    assert "(obligatorisk)" in page
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("csrftoken=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # BFS_PUBLIC_URL is http://127.0.0.1: a Secure cookie would never come back

    en = client.get(f"/f/{token}?lang=en")
    assert en.status_code == 200 and '<html lang="en">' in en.text
    assert Tags(en.text).all("input", type="hidden", name="lang", value="en")
    assert 'href="?lang=sv"' in en.text


def test_unknown_revoked_and_malformed_tokens_look_alike(client: httpx.Client, world: World) -> None:
    revoked = world.link("polis")
    links.revoke_link(world.engine, world.survey, world.opened.wave, revoked.actor_id)
    tokens = {
        "malformed": "not-a-token",
        "unknown": "A" * 32,
        "revoked": revoked.url.rsplit("/", 1)[1],
        "tampered": world.token()[:-1] + ("B" if world.token()[-1] != "B" else "C"),
    }
    bodies = {}
    for what, token in tokens.items():
        r = client.get(f"/f/{token}")
        assert r.status_code == 404, what
        assert_secure_headers(r)
        bodies[what] = r.text
        assert token not in r.text
    other = client.get("/no/such/page")
    assert other.status_code == 404
    assert len(set(bodies.values()) | {other.text}) == 1
    assert client.get("/f/" + "A" * 32 + "/tack").status_code == 404

    # a POST to an unknown link with a valid CSRF token: 404, nothing stored
    page = client.get(f"/f/{world.token()}")
    r = client.post("/f/" + "A" * 32, data={"csrftoken": csrf_of(page.text), "action": "submit", **valid_answers()})
    assert r.status_code == 404 and r.text == bodies["unknown"]
    assert world.counts() == (0, 0)


# -- CSRF ------------------------------------------------------------------------------------------------------


def test_a_post_without_a_valid_csrf_token_is_refused(server: str, world: World) -> None:
    token = world.token()
    data = {"action": "submit", **valid_answers()}
    with httpx.Client(base_url=server, follow_redirects=False) as c:
        # no cookie, no token
        assert c.post(f"/f/{token}", data=data).status_code == 403
        # no cookie, but a token and an Authorization header (asgi-csrf would let a Bearer request through)
        r = c.post(f"/f/{token}", data={**data, "csrftoken": "x"}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 403
        page = c.get(f"/f/{token}")
        assert "csrftoken" in c.cookies
        # the cookie, but no token in the body
        r = c.post(f"/f/{token}", data=data)
        assert r.status_code == 403
        assert_secure_headers(r)
        assert f'href="/f/{token}?lang=sv"' in r.text  # back to the form
        # the cookie and a token of another cookie
        with httpx.Client(base_url=server) as other:
            foreign = csrf_of(other.get(f"/f/{token}").text)
        assert foreign != csrf_of(page.text)
        assert c.post(f"/f/{token}", data={**data, "csrftoken": foreign}).status_code == 403
        # a draft without the token is refused too
        assert c.post(f"/f/{token}", data={"action": "draft", "K04": "2"}).status_code == 403
        assert world.counts() == (0, 0)
        # and with it, the same submission is taken
        r = c.post(f"/f/{token}", data={**data, "csrftoken": csrf_of(page.text)})
        assert r.status_code == 303
    assert world.counts() == (1, 0)


def test_behind_https_the_csrf_cookie_is_a_secure_host_cookie(world: World) -> None:
    settings = dataclasses.replace(world.settings, public_url="https://enkat.example.se")
    token = world.token()
    with running(settings, world.engine) as url, httpx.Client(base_url=url) as c:
        page = c.get(f"/f/{token}")
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("__Host-csrftoken=") and "; Secure" in cookie and "Path=/;" in cookie
        assert "HttpOnly" in cookie and "Domain" not in cookie
        value = cookie.split(";", 1)[0].split("=", 1)[1]
        body = {"csrftoken": csrf_of(page.text), "action": "submit", **valid_answers()}
        assert c.post(f"/f/{token}", data=body, headers={"cookie": f"csrftoken={value}"}).status_code == 403
        r = c.post(f"/f/{token}", data=body, headers={"cookie": f"__Host-csrftoken={value}"})
        assert r.status_code == 303
    assert world.counts() == (1, 0)


# -- answering -------------------------------------------------------------------------------------------------


def test_a_valid_submission_is_stored_and_acknowledged(client: httpx.Client, world: World) -> None:
    token, link = world.token(), world.link()
    r = post(client, token, valid_answers())
    assert r.status_code == 303
    assert r.headers["location"] == f"/f/{token}/tack?lang=sv"
    receipt = client.get(r.headers["location"])
    assert receipt.status_code == 200
    assert f"Tack! Era svar för {this_wave()} är sparade." in receipt.text
    assert link.organisation in receipt.text and f'href="/f/{token}?lang=sv"' in receipt.text
    with Session(world.engine) as s:
        stored = s.scalars(select(Response)).all()
    assert len(stored) == 1
    assert stored[0].actor_id == link.actor_id and stored[0].is_current and stored[0].wave == this_wave()
    assert stored[0].answers["K04"] == 1.5

    # opened again: the stored answers, to edit
    tags = Tags(client.get(f"/f/{token}").text)
    assert "checked" in tags.by_id("field-C01") or any(
        "checked" in a for a in tags.all("input", name="C01", value="1082")
    )
    assert tags.by_id("field-K04")["value"] == "1,5"

    # a resubmission: the newest counts, the earlier stays
    assert post(client, token, valid_answers(K04="2")).status_code == 303
    with Session(world.engine) as s:
        rows = s.execute(select(Response.answers, Response.is_current).order_by(Response.id)).all()
    assert [(a["K04"], current) for a, current in rows] == [(1.5, False), (2, True)]

    # in English
    r = post(client, token, valid_answers(K04="3"), lang="en")
    assert r.headers["location"] == f"/f/{token}/tack?lang=en"
    receipt = client.get(r.headers["location"])
    assert '<html lang="en">' in receipt.text
    assert f"Thank you! Your answers for {this_wave()} are saved." in receipt.text  # needs pending-web.po merged


def test_invalid_answers_are_shown_for_correction_and_nothing_is_stored(client: httpx.Client, world: World) -> None:
    token = world.token()
    r = post(client, token, valid_answers(K04="abc", K07="99"))
    assert r.status_code == 200
    page = r.text
    assert "Fel: " in page.split("</title>")[0]
    tags = Tags(page)
    summary = tags.by_id("error-summary")
    assert summary["role"] == "alert" and summary["tabindex"] == "-1"
    assert "Det finns 2 fel i formuläret" in page
    assert tags.all("a", href="#field-K04") and tags.all("a", href="#field-K07")
    for name, typed in (("K04", "abc"), ("K07", "99")):
        field = tags.by_id(f"field-{name}")
        assert field["aria-invalid"] == "true"
        assert f"{name}-error" in field["aria-describedby"].split()
        assert field["value"] == typed  # what was typed is kept
        tags.by_id(f"{name}-error")
    assert "aria-invalid" not in tags.by_id("field-B01")
    assert tags.all("input", name="B01", value="3", checked="")  # the valid answers are kept too
    assert world.counts() == (0, 0)

    # a required question left out
    answers = valid_answers()
    del answers["B03"]
    r = post(client, token, answers)
    assert r.status_code == 200 and 'href="#field-B03"' in r.text
    assert Tags(r.text).by_id("field-B03")["aria-invalid"] == "true"
    assert world.counts() == (0, 0)


def test_a_draft_is_kept_until_submitted(client: httpx.Client, world: World) -> None:
    token = world.token()
    r = post(client, token, {"K04": "0,75", "C05": "Mer stöd <b>tack</b>"}, action="draft")
    assert r.status_code == 200
    tags = Tags(r.text)
    assert tags.all("div", role="status")
    assert "Utkastet sparades" in r.text and world.opened.deadline.year.__str__() in r.text
    assert "error-summary" not in r.text
    assert world.counts() == (0, 1)

    again = client.get(f"/f/{token}")
    assert Tags(again.text).by_id("field-K04")["value"] == "0,75"
    assert "Mer stöd &lt;b&gt;tack&lt;/b&gt;" in again.text  # escaped
    assert "utkast" in again.text

    assert post(client, token, valid_answers()).status_code == 303
    assert world.counts() == (1, 0)  # the draft is gone with the submission


def test_a_closed_wave_or_a_past_deadline_answers_410(client: httpx.Client, world: World) -> None:
    token = world.token()
    page = client.get(f"/f/{token}")
    csrf = csrf_of(page.text)
    links.close_wave(world.engine, world.survey, world.opened.wave)
    r = client.get(f"/f/{token}")
    assert r.status_code == 410 and world.opened.wave in r.text
    for action in ("submit", "draft"):
        r = client.post(f"/f/{token}", data={"csrftoken": csrf, "action": action, **valid_answers()})
        assert r.status_code == 410
    assert world.counts() == (0, 0)

    key = hash_key(world.settings.hash_key, world.settings.home)
    links.open_wave(world.engine, world.survey, world.opened.wave, key, world.settings.public_url)
    assert client.get(f"/f/{token}").status_code == 200
    with Session(world.engine) as s, s.begin():
        s.execute(update(Wave).values(deadline=links.today() - dt.timedelta(days=1)))
    r = client.get(f"/f/{token}")
    assert r.status_code == 410
    assert (
        client.post(f"/f/{token}", data={"csrftoken": csrf, "action": "submit", **valid_answers()}).status_code == 410
    )
    assert world.counts() == (0, 0)


def test_a_body_over_the_limit_is_refused(client: httpx.Client, world: World) -> None:
    token = world.token()
    csrf = csrf_of(client.get(f"/f/{token}").text)
    big = {"csrftoken": csrf, "action": "draft", "C05": "x" * 70_000}
    r = client.post(f"/f/{token}", data=big)
    assert r.status_code == 413
    assert_secure_headers(r)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while the body streams
        yield f"csrftoken={csrf}&action=draft&C05=".encode()
        for _ in range(20):
            yield b"y" * 4096

    with httpx.Client(base_url=str(client.base_url), cookies=client.cookies) as c:
        r = c.post(f"/f/{token}", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert world.counts() == (0, 0)


def test_a_form_body_that_is_not_utf8_is_refused(client: httpx.Client, world: World) -> None:
    token = world.token()
    csrf = csrf_of(client.get(f"/f/{token}").text)
    body = f"csrftoken={csrf}&action=draft&C05=".encode() + b"\xff\xfe"
    r = client.post(f"/f/{token}", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert world.counts() == (0, 0)


# -- rate limits -----------------------------------------------------------------------------------------------


def test_rate_limits_per_link_and_per_client(world: World) -> None:
    settings = dataclasses.replace(world.settings, ratelimit_link="3/minute", ratelimit_client="8/minute")
    with running(settings, world.engine) as url, httpx.Client(base_url=url) as c:
        first, second = world.token("kommun"), world.token("polis")
        assert [c.get(f"/f/{first}").status_code for _ in range(3)] == [200, 200, 200]
        r = c.get(f"/f/{first}")
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert_secure_headers(r)
        assert c.get(f"/f/{first}/tack").status_code == 429  # the same link
        assert c.get(f"/f/{second}").status_code == 200  # another link
        assert c.get("/healthz").status_code == 200  # not counted
        statuses = [c.get("/integritet").status_code for _ in range(4)]
        assert statuses[-1] == 429 and statuses[0] == 200  # the address's own limit: 8 a minute


def test_the_form_is_served_when_the_rate_limit_store_is_down(world: World, caplog: pytest.LogCaptureFixture) -> None:
    settings = dataclasses.replace(world.settings, ratelimit_storage_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING), running(settings, world.engine) as url, httpx.Client(base_url=url) as c:
        assert c.get(f"/f/{world.token()}").status_code == 200
    assert any("rate limits not checked" in r.getMessage() for r in caplog.records)


# -- logs --------------------------------------------------------------------------------------------------------


def served_log(caplog: pytest.LogCaptureFixture, last: str) -> list[str]:
    """The server's log lines (not the test client's), once the line for the last request is in: the server logs a
    request after its response is sent."""
    deadline = time.monotonic() + 10
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name.startswith(("bfs", "uvicorn"))]
        if any(line.startswith(last) for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_no_token_or_answer_in_the_logs(client: httpx.Client, world: World, caplog: pytest.LogCaptureFixture) -> None:
    token = world.token()
    with caplog.at_level(logging.DEBUG):
        post(client, token, valid_answers(C05="Hemligt svar 4711"))
        post(client, token, valid_answers(K04="abc"))
        client.get(f"/f/{token}/tack")
        client.get(f"/f/{token}?lang=en")
        client.get("/integritet")  # the last request: its line comes last
        lines = served_log(caplog, "GET /integritet 200")
    assert any("POST /f/[token] 303" in line for line in lines), lines
    assert any("GET /f/[token]/tack 200" in line for line in lines), lines
    for line in lines:
        assert token not in line and "4711" not in line and "abc" not in line


def test_an_unexpected_error_is_a_500_page_logged_without_its_message(
    client: httpx.Client, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    token = world.token()
    csrf = csrf_of(client.get(f"/f/{token}").text)
    cascade = " CASCADE" if world.engine.dialect.name == "postgresql" else ""
    with world.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE responses{cascade}"))  # storing the answer fails from here
    with caplog.at_level(logging.INFO):
        r = client.post(f"/f/{token}", data={"csrftoken": csrf, "action": "submit", **valid_answers(C05="qzxv svar")})
        lines = served_log(caplog, "POST /f/[token] 500")
    assert r.status_code == 500
    assert "Något gick fel" in r.text and "responses" not in r.text and "Traceback" not in r.text
    assert_secure_headers(r)
    failed = [line for line in lines if line.startswith("POST /f/[token] failed: ")]
    assert len(failed) == 1, lines
    assert re.search(r"(Operational|Programming)Error at .* < forms\.py:\d+ submit", failed[0]), failed
    for line in lines:
        assert token not in line and "qzxv" not in line
    assert not any(rec.exc_info for rec in caplog.records if rec.name.startswith(("bfs", "uvicorn")))


# -- several processes, one limit --------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") or os.environ.get("BFS_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@contextlib.contextmanager
def server_process(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    code = (
        "from bfs_pipeline.config import load_settings; from bfs_pipeline.web.app import serve; "
        f"serve(load_settings(), '127.0.0.1', {port})"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"bfs web did not start: {log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield url, proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_two_processes_share_one_limit_through_redis(
    env: dict[str, str], survey: Survey, tmp_path: Path, db_url: str
) -> None:
    redis = redis_or_skip()
    from bfs_pipeline.config import load_settings
    from bfs_pipeline.web.security import derive_secret

    run_key = f"test-web-{uuid.uuid4().hex}"  # a key of its own: its own tokens and its own Redis namespace
    env = {**env, "BFS_HASH_KEY": run_key, "BFS_RATELIMIT_STORAGE_URL": REDIS_URL, "BFS_RATELIMIT_LINK": "4/minute"}
    world = make_world(load_settings(env, cwd=tmp_path), survey, tmp_path)
    token = world.token()
    prefix = "bfs-" + derive_secret(run_key.encode(), b"bfs-ratelimit")[:16]
    try:
        with (
            server_process(env, tmp_path / "a.log") as (a, _),
            server_process(env, tmp_path / "b.log") as (b, _),
        ):
            statuses = [httpx.get(f"{url}/f/{token}", timeout=30).status_code for url in (a, b, a, b, a, b)]
            assert statuses == [200, 200, 200, 200, 429, 429]
            assert redis.keys(prefix + "*"), "no limit kept in Redis under this run's prefix"
            with httpx.Client(base_url=b) as c:
                assert c.get(f"/f/{world.token('polis')}").status_code == 200
        logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
        assert "GET /f/[token] 429" in logs and "GET /f/[token] 200" in logs
        assert token not in logs and world.token("polis") not in logs
    finally:
        keys = redis.keys(prefix + "*")
        if keys:
            redis.delete(*keys)
        world.engine.dispose()


def test_a_submission_from_another_process_is_logged_without_answers(
    env: dict[str, str], survey: Survey, tmp_path: Path
) -> None:
    """`serve` itself, as `bfs web` runs it: a submission and an invalid one leave no token or answer in its output."""
    from bfs_pipeline.config import load_settings

    world = make_world(load_settings(env, cwd=tmp_path), survey, tmp_path)
    token = world.token()
    log = tmp_path / "web.log"
    with server_process(env, log) as (url, _), httpx.Client(base_url=url) as c:
        assert post(c, token, valid_answers(C05="Svar som inte far loggas qzxv")).status_code == 303
        assert post(c, token, valid_answers(K04="fyrtiotvå")).status_code == 200
    out = log.read_text(encoding="utf-8", errors="replace")
    assert "POST /f/[token] 303" in out and "POST /f/[token] 200" in out
    for secret in (token, "qzxv", "fyrtiotvå"):
        assert secret not in out
    world.engine.dispose()


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(tmp_path: Path) -> None:
    """`serve` trusts X-Forwarded-For from FORWARDED_ALLOW_IPS only (here loopback, as a proxy on the same host).
    One database is enough: the limits are kept in memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BFS_")}
    env |= {
        "BFS_HOME": str(tmp_path),
        "BFS_DATABASE_URL": f"sqlite:///{tmp_path / 'bfs.sqlite3'}",
        "BFS_HASH_KEY": "test-hash-key-0123456789",
        "BFS_RATELIMIT_CLIENT": "3/minute",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    with server_process(env, tmp_path / "web.log") as (url, _), httpx.Client(base_url=url) as c:
        first = [c.get("/integritet", headers={"x-forwarded-for": "203.0.113.7"}).status_code for _ in range(4)]
        assert first == [200, 200, 200, 429]
        assert c.get("/integritet", headers={"x-forwarded-for": "203.0.113.8"}).status_code == 200
        assert c.get("/integritet").status_code == 200  # the proxy's own address: a client of its own
    assert "203.0.113" not in (tmp_path / "web.log").read_text()  # no client address in the log
