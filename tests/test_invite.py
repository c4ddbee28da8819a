"""Invitations and reminders through the outbox, against a real SMTP server on loopback (aiosmtpd).

Once per actor and wave; reminders only to the silent, at most BFS_REMIND_MAX, spaced BFS_REMIND_EVERY_DAYS,
never after the deadline, a close or an opt-out; a 4xx reply retried by the next run and delivered once.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bfs_pipeline import pipeline
from bfs_pipeline.config import Settings
from bfs_pipeline.mailer import outbox_rows
from bfs_pipeline.models import Delivery, Wave
from bfs_pipeline.outreach import links
from bfs_pipeline.outreach.invite import invite, opt_out, remind
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey
from bfs_pipeline.web.forms import FormService
from tests.conftest import good_row
from tests.test_mailer import Handler, free_port  # the loopback SMTP server's recorder

WAVE = "2026-Q4"
NAMES = [
    ("Karlskrona kommun", "kommun", "Karlskrona"),
    ("Ronneby kommun", "kommun", "Ronneby"),
    ("Karlshamn kommun", "kommun", "Karlshamn"),
    ("Olofström kommun", "kommun", "Olofström"),
    ("Sölvesborg kommun", "kommun", "Sölvesborg"),
    ("Lokalpolisområde Karlskrona", "polis", "Karlskrona"),
    ("Lokalpolisområde Karlshamn", "polis", "Karlshamn"),
    ("Brottsofferjouren Blekinge", "ideburen", "Karlskrona"),
    ("Trygga Ronneby", "ideburen", "Ronneby"),
    ("Blekinge Handel", "naringsliv", "Karlskrona"),
]


@pytest.fixture
def smtp() -> Iterator[Handler]:
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


@pytest.fixture
def world(settings: Settings, engine: Engine, survey: Survey, smtp: Handler, tmp_path: Path) -> dict[str, Any]:
    roster = tmp_path / "aktorer.csv"
    lines = ["organisation,sektor,kommun,kontakt,språk"]
    for i, (name, sector, town) in enumerate(NAMES):
        lang = "en" if i == 7 else "sv"
        lines.append(f"{name},{sector},{town},kontakt{i}@example.se,{lang}")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_roster(engine, roster, survey)
    settings = replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,  # type: ignore[attr-defined]
        smtp_starttls=False,
        public_url="https://enkat.example.se",
        remind_every_days=7,
        remind_max=2,
    )
    key = hash_key(settings.hash_key, settings.home)
    opened = links.open_wave(engine, survey, WAVE, key, settings.public_url, links.today() + dt.timedelta(days=60))
    return {"settings": settings, "key": key, "opened": opened}


def age(engine: Engine, days: int) -> None:
    """Let `days` days pass for the outbox: every message so far moved that far back in time."""
    with Session(engine) as s, s.begin():
        for d in s.scalars(select(Delivery)):
            d.created_at = d.created_at - dt.timedelta(days=days, minutes=1)
            d.updated_at = d.updated_at - dt.timedelta(days=days, minutes=1)


def recipients(handler: Handler) -> list[str]:
    return sorted(str(m["To"]) for m in handler.messages)


def test_invite_each_actor_once_with_its_link_in_its_language(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler
) -> None:
    settings, key = world["settings"], world["key"]
    first = invite(engine, settings, survey, WAVE, key)
    assert first.done == 10 and first.no_contact == 0 and len(smtp.messages) == 10
    assert first.invite_json()["invited"] == 10
    assert {m["actor_id"] for m in first.messages} == {link.actor_id for link in world["opened"].links}
    again = invite(engine, settings, survey, WAVE, key)
    assert again.done == 0 and again.already == 10 and len(smtp.messages) == 10
    urls = {link.organisation: link.url for link in world["opened"].links}
    for m in smtp.messages:
        text = m.get_content()
        org = next(name for name, _, _ in NAMES if name in text)
        assert urls[org] in text and "https://enkat.example.se/integritet" in text
        if org == "Brottsofferjouren Blekinge":  # språk = en
            assert m["Content-Language"] == "en" and "Your personal link" in text, text
        else:
            assert m["Content-Language"] == "sv" and "Er personliga länk" in text
        assert "avregistrera" not in text  # an invitation has no unsubscribe link; reminders do


def test_reminders_go_only_to_the_silent_spaced_and_at_most_max(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler, sheet: Any, tmp_path: Path
) -> None:
    settings, key = world["settings"], world["key"]
    invite(engine, settings, survey, WAVE, key)
    smtp.messages.clear()
    # two answer through the web form, four through a sheet
    service = FormService(engine, settings.surveys_dir, key)
    by_name = {link.organisation: link for link in world["opened"].links}
    for name in ("Lokalpolisområde Karlshamn", "Blekinge Handel"):
        visit = service.visit(by_name[name].url.rsplit("/", 1)[1])
        assert visit is not None
        form = {
            f.name: [f.options[0].value] for s in service.page(visit, "sv").sections for f in s.fields if f.required
        }
        form["C01"] = list(visit.municipalities)
        assert service.submit(visit, form, "sv").outcome == "stored"
    rows = [
        good_row(email="", ORG=name, C01=town, timestamp="2026-11-02 10:00:00")
        for name, sector, town in NAMES[:4]
        if sector == "kommun"
    ]
    pipeline.ingest_files(settings, file=sheet("kommun", wave=WAVE).write(tmp_path / f"kommun-{WAVE}.csv", rows))
    assert remind(engine, settings, survey, WAVE, key).done == 0  # not due: the invitation is from today
    age(engine, 7)
    first = remind(engine, settings, survey, WAVE, key)
    silent = {"kontakt4@example.se", "kontakt5@example.se", "kontakt7@example.se", "kontakt8@example.se"}
    assert first.done == 4 and set(recipients(smtp)) == silent
    assert all("/avregistrera" in m.get_content() and m["List-Unsubscribe"] for m in smtp.messages)
    for m in smtp.messages:  # as a strict parser reads them: no leading space from folding, the link whole
        unsubscribe = str(m["List-Unsubscribe"])
        assert unsubscribe.startswith("<http") and unsubscribe.endswith("/avregistrera>"), unsubscribe
        assert str(m["Subject"]) == str(m["Subject"]).strip() and WAVE in str(m["Subject"])
    assert remind(engine, settings, survey, WAVE, key).done == 0  # the same day again: none
    age(engine, 3)
    assert remind(engine, settings, survey, WAVE, key).done == 0  # 3 days after the first
    age(engine, 4)
    second = remind(engine, settings, survey, WAVE, key)
    assert second.done == 4 and len(smtp.messages) == 8
    assert {m["reminder"] for m in second.messages} == {2}
    age(engine, 30)
    assert remind(engine, settings, survey, WAVE, key).done == 0  # BFS_REMIND_MAX = 2
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "remind")) == 8


def test_no_reminder_after_an_opt_out_the_deadline_or_a_close(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler
) -> None:
    settings, key = world["settings"], world["key"]
    invite(engine, settings, survey, WAVE, key)
    smtp.messages.clear()
    quiet = world["opened"].links[0].actor_id
    assert opt_out(engine, quiet, WAVE) and not opt_out(engine, quiet, WAVE)
    age(engine, 8)
    done = remind(engine, settings, survey, WAVE, key)
    assert done.done == 9 and quiet not in {m["actor_id"] for m in done.messages}
    age(engine, 8)
    links.close_wave(engine, survey, WAVE)
    assert remind(engine, settings, survey, WAVE, key).done == 0
    links.open_wave(engine, survey, WAVE, key, settings.public_url)  # open again, then past its deadline
    with Session(engine) as s, s.begin():
        s.execute(update(Wave).values(deadline=links.today() - dt.timedelta(days=1)))
    assert remind(engine, settings, survey, WAVE, key).done == 0
    assert invite(engine, settings, survey, WAVE, key).done == 0
    assert len(smtp.messages) == 9


def test_remind_every_zero_days_allows_a_reminder_at_once(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler
) -> None:
    settings = replace(world["settings"], remind_every_days=0, remind_max=1)
    invite(engine, settings, survey, WAVE, world["key"])
    assert remind(engine, settings, survey, WAVE, world["key"]).done == 10
    assert remind(engine, settings, survey, WAVE, world["key"]).done == 0


def test_a_4xx_reply_is_retried_by_the_next_run_and_delivered_once(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler
) -> None:
    settings, key = world["settings"], world["key"]
    smtp.reply = "451 4.3.0 try again later"
    first = invite(engine, settings, survey, WAVE, key)
    assert first.done == 0 and first.left == 10 and not smtp.messages
    assert {r.state for r in outbox_rows(engine)} == {"pending"}
    smtp.reply = None
    second = invite(engine, settings, survey, WAVE, key)  # the next night
    assert second.done == 10 and len(smtp.messages) == 10
    assert invite(engine, settings, survey, WAVE, key).done == 0 and len(smtp.messages) == 10
    assert len(outbox_rows(engine)) == 10  # one row per actor, whatever the tries


def test_actors_without_contact_are_counted_and_skipped(
    settings: Settings, engine: Engine, survey: Survey, tmp_path: Path
) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("organisation,sektor,kommun,kontakt\nA kommun,kommun,Karlskrona,\nB,polis,Ronneby,b@x.se\n")
    import_roster(engine, roster, survey)
    key = hash_key(settings.hash_key, settings.home)
    links.open_wave(engine, survey, WAVE, key, settings.public_url)
    done = invite(engine, settings, survey, WAVE, key)  # no SMTP: .eml files
    assert (done.done, done.no_contact) == (1, 1)
    assert [p.name for p in settings.outbox.glob("*.eml")] == [next(iter(settings.outbox.glob("invite-*.eml"))).name]


def test_cli_invite_and_remind_json(env: dict[str, str], tmp_path: Path, survey: Survey) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("organisation,sektor,kommun,kontakt\nA kommun,kommun,Karlskrona,a@x.se\nB,polis,Ronneby,\n")

    def bfs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bfs_pipeline", *args],
            env={**env, "BFS_REMIND_EVERY_DAYS": "0"},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert bfs("actors", "import", str(roster)).returncode == 0
    unopened = bfs("invite", "--wave", WAVE)
    assert unopened.returncode == 1 and f"bfs wave open {WAVE}" in unopened.stderr
    assert bfs("wave", "open", WAVE).returncode == 0
    out = bfs("invite", "--wave", WAVE, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {k: data[k] for k in ("wave", "invited", "already_invited", "no_contact")} == {
        "wave": WAVE,
        "invited": 1,
        "already_invited": 0,
        "no_contact": 1,
    }
    assert [m["state"] for m in data["messages"]] == ["written"]
    assert json.loads(bfs("invite", "--wave", WAVE, "--json").stdout)["already_invited"] == 1
    reminded = json.loads(bfs("remind", "--wave", WAVE, "--json").stdout)
    assert reminded["reminded"] == 1
    text = bfs("remind", "--wave", WAVE)
    assert text.returncode == 0 and "reminded" in text.stdout


def test_the_nightly_round_invites_then_reminds_only_who_did_not_answer_tonight(
    world: dict[str, Any], engine: Engine, survey: Survey, smtp: Handler, sheet: Any, tmp_path: Path
) -> None:
    settings = world["settings"]
    first = pipeline.outreach(settings)
    assert [(o["wave"], o["invited"], o["reminded"]) for o in first] == [(WAVE, 10, 0)]
    age(engine, 7)
    # tonight's sheet brings Karlskrona's answer; the round after the ingest does not remind it
    row = good_row(email="", ORG="Karlskrona kommun", C01="Karlskrona", timestamp="2026-11-02 10:00:00")
    pipeline.ingest_files(settings, file=sheet("kommun", wave=WAVE).write(tmp_path / f"kommun-{WAVE}.csv", [row]))
    second = pipeline.outreach(settings)
    assert [(o["invited"], o["already_invited"], o["reminded"]) for o in second] == [(0, 10, 9)]
    reminded = {str(m["To"]) for m in smtp.messages[10:]}
    assert "kontakt0@example.se" not in reminded and len(reminded) == 9
