"""Waves and personal links: the same links every time, only digests stored, revoke, close, deadline."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from bfs_pipeline import demo
from bfs_pipeline.models import Actor, Wave, WaveLink
from bfs_pipeline.outreach import links
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey

KEY = b"test-hash-key-0123456789"
WAVE = "2026-Q4"
BASE = "https://enkat.example.se"


@pytest.fixture
def rostered(engine: Engine, survey: Survey, tmp_path: Path) -> Engine:
    import_roster(engine, demo.write_roster(tmp_path / "roster.csv", survey.county), survey)
    return engine


def far_deadline() -> dt.date:
    return links.today() + dt.timedelta(days=30)


def open_(engine: Engine, survey: Survey, wave: str = WAVE, key: bytes = KEY) -> links.Opened:
    return links.open_wave(engine, survey, wave, key, BASE, far_deadline())


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_open_gives_one_link_per_active_actor_and_the_same_links_again(rostered: Engine, survey: Survey) -> None:
    first = open_(rostered, survey)
    with Session(rostered) as s:
        active = s.scalar(text("SELECT count(*) FROM actors WHERE active"))
    assert len(first.links) == active and first.added == active
    assert all(link.url.startswith(BASE + "/f/") and links.TOKEN_RE.match(token_of(link.url)) for link in first.links)
    assert len({link.url for link in first.links}) == len(first.links)  # one token per actor
    again = open_(rostered, survey)
    assert [link.url for link in again.links] == [link.url for link in first.links] and again.added == 0
    # another wave, another key: other tokens
    other_wave = open_(rostered, survey, "2027-Q1")
    assert not {link.url for link in other_wave.links} & {link.url for link in first.links}
    assert open_(rostered, survey, key=b"another-key-0123456789").links[0].url != first.links[0].url


def test_no_usable_token_is_stored(rostered: Engine, survey: Survey) -> None:
    opened = open_(rostered, survey)
    tokens = {token_of(link.url) for link in opened.links}
    with rostered.connect() as c:
        rows = [row for t in ("waves", "wave_links") for row in c.execute(text(f"SELECT * FROM {t}"))]
    dump = " ".join(str(v) for row in rows for v in row)
    assert not any(t in dump for t in tokens)
    with Session(rostered) as s:
        digests = set(s.scalars(select(WaveLink.token_digest)))
    assert digests == {links.token_digest(t) for t in tokens}


def test_find_link_opens_only_what_the_key_derives(rostered: Engine, survey: Survey) -> None:
    link = open_(rostered, survey).links[0]
    token = token_of(link.url)
    visit = links.find_link(rostered, token, KEY)
    assert visit is not None and visit.actor_id == link.actor_id and visit.wave == WAVE
    assert visit.state is links.WaveState.OPEN
    assert links.find_link(rostered, token, b"wrong-key-0123456789") is None  # the digest alone opens nothing
    for bad in ("", "x" * 32, token[:-1], token + "A", "../" + token[3:], token.replace(token[0], "!")):
        assert links.find_link(rostered, bad, KEY) is None


def test_revoke_and_close(rostered: Engine, survey: Survey) -> None:
    opened = open_(rostered, survey)
    victim = opened.links[0]
    assert links.revoke_link(rostered, survey, WAVE, victim.actor_id) is True
    assert links.revoke_link(rostered, survey, WAVE, victim.actor_id) is False
    assert links.find_link(rostered, token_of(victim.url), KEY) is None
    again = open_(rostered, survey)
    assert victim.actor_id not in {link.actor_id for link in again.links} and again.revoked == 1
    assert links.find_link(rostered, token_of(opened.links[1].url), KEY) is not None
    assert links.close_wave(rostered, survey, WAVE) is True
    assert links.close_wave(rostered, survey, WAVE) is False
    visit = links.find_link(rostered, token_of(opened.links[1].url), KEY)
    assert visit is not None and visit.state is links.WaveState.CLOSED
    reopened = open_(rostered, survey)
    assert reopened.reopened
    visit = links.find_link(rostered, token_of(opened.links[1].url), KEY)
    assert visit is not None and visit.state is links.WaveState.OPEN


def test_past_deadline_and_errors(rostered: Engine, survey: Survey) -> None:
    opened = open_(rostered, survey)
    with Session(rostered) as s, s.begin():
        s.execute(update(Wave).values(deadline=links.today() - dt.timedelta(days=1)))
    visit = links.find_link(rostered, token_of(opened.links[0].url), KEY)
    assert visit is not None and visit.state is links.WaveState.PAST_DEADLINE
    with pytest.raises(links.WaveError, match="ended on"):
        links.open_wave(rostered, survey, WAVE, KEY, BASE)
    with pytest.raises(links.WaveError, match="has passed"):
        links.open_wave(rostered, survey, WAVE, KEY, BASE, links.today() - dt.timedelta(days=3))
    with pytest.raises(links.WaveError, match="has not been opened"):
        links.close_wave(rostered, survey, "2030-Q1")
    with pytest.raises(links.WaveError, match="no actor 99999"):
        links.revoke_link(rostered, survey, WAVE, 99999)


def test_new_actors_get_links_and_inactive_ones_none(rostered: Engine, survey: Survey) -> None:
    before = open_(rostered, survey)
    with Session(rostered) as s, s.begin():
        gone = s.get(Actor, before.links[0].actor_id)
        assert gone is not None
        gone.active = False
        s.add(
            Actor(
                county=survey.county,
                name="Ny förening",
                name_key="ny forening",
                sector="ideburen",
                municipalities=["1080"],
                active=True,
            )
        )
    after = open_(rostered, survey)
    names = {link.organisation for link in after.links}
    assert "Ny förening" in names and before.links[0].organisation not in names and after.added == 1
    assert len(after.links) == len(before.links)


def test_default_deadline_is_the_quarters_last_day() -> None:
    assert links.default_deadline("2026-Q4") == dt.date(2026, 12, 31)
    assert links.default_deadline("2027-Q1") == dt.date(2027, 3, 31)
    assert links.default_deadline("2027-Q2") == dt.date(2027, 6, 30)


def test_cli_wave_commands(env: dict[str, str], tmp_path: Path, survey: Survey) -> None:
    roster = demo.write_roster(tmp_path / "roster.csv", survey.county)
    env = {**env, "BFS_PUBLIC_URL": BASE + "/"}

    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # in tmp_path: a bfs-home in the checkout (after `make demo`) would change the hint
            [sys.executable, "-m", "bfs_pipeline", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    missing = bfs("wave", "close", WAVE)
    assert missing.returncode == 1 and "BFS_DATABASE_URL" in missing.stderr  # refuses, creates nothing
    assert bfs("actors", "import", str(roster)).returncode == 0
    deadline = far_deadline().isoformat()
    out = bfs("wave", "open", WAVE, "--deadline", deadline, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"survey", "wave", "deadline", "links"} and data["wave"] == WAVE
    assert data["deadline"] == deadline and data["survey"] == survey.id
    first = data["links"][0]
    assert set(first) >= {"actor_id", "organisation", "sector", "municipality", "url"}
    assert first["url"].startswith(BASE + "/f/")
    again = json.loads(bfs("wave", "open", WAVE, "--json").stdout)
    assert again["links"] == data["links"] and again["deadline"] == deadline
    text_out = bfs("wave", "open", WAVE)
    assert first["url"] in text_out.stdout and "bfs web" in text_out.stdout
    revoked = bfs("wave", "revoke", WAVE, str(first["actor_id"]))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    after = json.loads(bfs("wave", "open", WAVE, "--json").stdout)
    assert first["actor_id"] not in {link["actor_id"] for link in after["links"]}
    closed = bfs("wave", "close", WAVE)
    assert closed.returncode == 0 and "closed" in closed.stdout
    bad = bfs("wave", "open", "2026-Q9")
    assert bad.returncode == 1 and "YYYY-Qn" in bad.stderr and "Traceback" not in bad.stderr
    bad_day = bfs("wave", "open", WAVE, "--deadline", "31/12")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr
    for args in (("wave", "--help"), ("wave", "open", "--help"), ("web", "--help")):
        assert bfs(*args).returncode == 0
