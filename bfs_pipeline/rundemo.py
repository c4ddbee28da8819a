"""`bfs demo`: generated answer sheets through the nightly work quarter by quarter, then the quarterly report.

The work itself is handed in: plain calls here, the real Prefect flows from flows/demo.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bfs_pipeline import demo, municipal, pipeline
from bfs_pipeline.config import Settings
from bfs_pipeline.errors import BfsError
from bfs_pipeline.outreach.links import Link, Opened
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey

MARKER = ".bfs-demo"
DEMO_PARTS = (
    "inbox",
    "outbox",
    "reports",
    "demo-sheets",
    "goda-exempel",
    "bfs.sqlite3",
    "bfs.sqlite3-wal",
    "bfs.sqlite3-shm",
)


def prepare_home(settings: Settings, fresh: bool) -> None:
    """Start clean: a home the demo made is cleared; any other home needs --fresh."""
    home = settings.home
    default_db = settings.database_url == f"sqlite:///{home / 'bfs.sqlite3'}"
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists() and not fresh:
            raise BfsError(
                f"BFS_HOME {home} already holds data that the demo did not make. "
                "Run `bfs demo --fresh` to delete it and start over, or set BFS_HOME to an empty folder."
            )
        if not default_db and not fresh:
            raise BfsError(
                "The demo would empty the database in BFS_DATABASE_URL. "
                "Run `bfs demo --fresh` if that is what you want."
            )
        for part in DEMO_PARTS:
            p = home / part
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    if not default_db:
        from bfs_pipeline.db import make_engine
        from bfs_pipeline.models import all_metadata

        engine = make_engine(settings.database_url)
        all_metadata().drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("This folder was made by `bfs demo`; the next `bfs demo` clears it.\n", encoding="utf-8")


Nightly = Callable[[], list[dict[str, Any]]]
Quarterly = Callable[[str], dict[str, Any]]
Runner = Callable[[], contextlib.AbstractContextManager[tuple[Nightly, Quarterly]]]


@contextlib.contextmanager
def in_process(settings: Settings) -> Iterator[tuple[Nightly, Quarterly]]:
    """The flows' work as plain function calls (`bfs demo --no-prefect`)."""

    def nightly() -> list[dict[str, Any]]:
        return [r.as_json() for r in pipeline.nightly(settings)]

    def quarterly(period: str) -> dict[str, Any]:
        rep = pipeline.render(settings, period)
        return {
            "files": rep.files,
            "summary": rep.summary,
            "alerts": rep.alerts,
            "actions": rep.actions,
            "deliveries": [o.as_json() for o in pipeline.send(settings, rep)],
        }

    yield nightly, quarterly


def open_demo_wave(settings: Settings, survey: Survey) -> Opened:
    """Open the wave now running (the quarter of today, after the demo's eight) for the demo roster."""
    from bfs_pipeline.ingest import wave_for
    from bfs_pipeline.outreach.links import open_wave
    from bfs_pipeline.privacy import hash_key

    now = wave_for(dt.datetime.now(dt.UTC), survey.timezone)
    with pipeline.database(settings) as engine:
        return open_wave(engine, survey, now, hash_key(settings.hash_key, settings.home), settings.public_url)


ANSWER_SHARE = 0.6  # of the roster answer the wave now running through their links, in the demo


def demo_outreach(settings: Settings, survey: Survey, opened: Opened, echo: Callable[[str], Any]) -> dict[str, Any]:
    """The wave now running, as the coordinator would run it: invite the roster (.eml files in the outbox), let
    most actors answer through their personal links, remind the silent ones, and show the coverage.

    Reminders go out at once here (BFS_REMIND_EVERY_DAYS=0 for the demo alone): in production the first waits
    a week after the invitation."""
    import random
    from dataclasses import replace

    from bfs_pipeline.outreach.coverage import coverage
    from bfs_pipeline.outreach.invite import invite, remind
    from bfs_pipeline.privacy import hash_key
    from bfs_pipeline.web.forms import FormService

    key = hash_key(settings.hash_key, settings.home)
    now_settings = replace(settings, remind_every_days=0)
    rng = random.Random(opened.wave)
    with pipeline.database(settings) as engine:
        invited = invite(engine, settings, survey, opened.wave, key)
        echo(
            f"Invitations for {opened.wave}: {invited.done} written to {settings.outbox} "
            f"({invited.no_contact} actors without a contact address)."
        )
        service = FormService(engine, settings.surveys_dir, key)
        answering = [link for link in opened.links if rng.random() < ANSWER_SHARE]
        for link in answering:
            visit = service.visit(link.url.rsplit("/", 1)[1])
            assert visit is not None
            form = {
                f.name: [rng.choice(f.options[:5]).value]
                for section in service.page(visit, "sv").sections
                for f in section.fields
                if f.required and f.options
            }
            form["C01"] = list(visit.municipalities)
            service.submit(visit, form, "sv")
        reminded = remind(engine, now_settings, survey, opened.wave, key)
        echo(
            f"  {len(answering)} organisations answered through their links; "
            f"{reminded.done} reminders written for the silent ones."
        )
        found = coverage(engine, survey, opened.wave)
    by_municipality: dict[str, list[int]] = {}
    for t in found.totals:
        cell = by_municipality.setdefault(t.municipality_name, [0, 0])
        cell[0] += t.answered
        cell[1] += t.expected
    echo(f"Coverage of {opened.wave} (bfs coverage --wave {opened.wave}): {found.answered} of {len(found.actors)}")
    for name, (answered, expected) in by_municipality.items():
        echo(f"  {name:<16} {answered}/{expected}")
    return {"invited": invited.done, "answered": len(answering), "reminded": reminded.done}


def demo_support(settings: Settings, survey: Survey, echo: Callable[[str], Any]) -> Path:
    """The coordinator's support log (demo.SUPPORT_LOG), imported as `bfs support import` does, and the quarter's
    good examples for the municipalities' own reports."""
    from bfs_pipeline.support.log import import_log

    path = demo.write_support_log(settings.home / "demo-sheets" / "stodlogg.csv")
    with pipeline.database(settings) as engine:
        result = import_log(engine, path, survey)
    echo(
        f"Imported the support log {path} ({result.accepted} support events; Olofström's greatest need, "
        "method support, got none for two quarters)."
    )
    demo.write_examples(municipal.examples_path(settings.home, demo.LAST_WAVE))
    return path


def demo_municipal_report(settings: Settings) -> pipeline.MunicipalRun:
    """The planted municipality's own report for the last quarter, rendered (not sent)."""
    return pipeline.render_municipal(settings, demo.LAST_WAVE, demo.FALLING)


def demo_links(links: list[Link], n: int = 3) -> list[Link]:
    """One link of each of the first n sectors: a municipality, the police, and a third."""
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(link.sector, link)
    order = sorted(seen.values(), key=lambda k: (k.sector != "kommun", k.sector != "polis", k.sector))
    return order[:n]


def run_demo(
    settings: Settings, fresh: bool = False, runner: Runner | None = None, echo: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Generate the sheets, ingest them wave by wave through the nightly flow, report on the last wave.

    runner gives the nightly and quarterly work: the Prefect flows (flows/demo.py), by default plain calls.
    """
    started = time.monotonic()
    prepare_home(settings, fresh)
    os.environ["BFS_HOME"] = str(settings.home)  # the flows read their settings from the environment
    survey = pipeline.survey_for(settings, None)
    staged = demo.generate(survey, settings.home / "demo-sheets")
    roster_file = demo.write_roster(settings.home / "demo-sheets" / "aktorer.csv", survey.county)
    engine = pipeline.open_store(settings)
    counts = import_roster(engine, roster_file, survey)
    engine.dispose()
    echo(f"Imported the actor roster {roster_file} ({counts['added']} organisations).")
    echo(
        f"Generated {sum(len(v) for v in staged.values())} answer sheets for {len(staged)} quarters "
        f"(about 60 organisations) in {settings.home / 'demo-sheets'}"
    )
    settings.inbox.mkdir(parents=True, exist_ok=True)
    totals = {"rows_seen": 0, "accepted": 0, "duplicates": 0, "blank": 0, "quarantined": 0, "set_aside": 0}
    held: list[dict[str, Any]] = []
    with (runner or (lambda: in_process(settings)))() as (nightly, quarterly):
        for wave, files in staged.items():
            for f in files:
                shutil.copy2(f, settings.inbox / f.name)
            results = nightly()
            new = {k: sum(r.get(k) or 0 for r in results) for k in totals}
            for k in totals:
                totals[k] += new[k]
            held += [
                r
                for r in results
                if r["status"] in ("held", "failed")
                and r not in held
                and Path(r["source"]).name in {f.name for f in files}
            ]
            n_aside = new["set_aside"]
            aside = f", {n_aside} answer{'' if n_aside == 1 else 's'} set aside" if n_aside else ""
            echo(
                f"  nightly ingest after {wave}: {len(results)} sheets, {new['rows_seen']} rows: "
                f"{new['accepted']} accepted, {new['duplicates']} duplicates, {new['blank']} blank, "
                f"{new['quarantined']} quarantined{aside}"
            )
        support_log = demo_support(settings, survey, echo)
        out = quarterly(demo.LAST_WAVE)
    for r in held:
        echo(f"  held: {Path(r['source']).name}: {r['error']}")
    echo(f"Quarterly report for {demo.LAST_WAVE}:")
    for a in out["alerts"]:
        echo(f"  ! {a['message']}")
    for line in out.get("actions") or []:
        echo(f"  → {line}")
    for s in out["summary"]:
        echo(f"  {s}")
    echo("Where to look:")
    echo(f"  report (HTML):   {out['files']['html']}")
    echo(f"  report (text):   {out['files']['text']}")
    if out["files"].get("xlsx"):
        echo(f"  tables (XLSX):   {out['files']['xlsx']}")
    for d in out["deliveries"]:
        echo(f"  e-mail to {d['recipient']}: {d['state']}" + (f" -> {d['path']}" if d.get("path") else ""))
    echo(f"  support log:     {support_log}   (bfs support list --period {demo.LAST_WAVE})")
    for a in out["alerts"]:
        if a["kind"] == "support_gap":
            where = a["municipality"]["name"] if a.get("municipality") else ""
            echo(f"  support alert:   {where}, {a['indicator']}: {a['title']} (under 'Att uppmärksamma')")
    own = demo_municipal_report(settings)
    echo(f"  {own.name}'s own report (bfs report --period {demo.LAST_WAVE} --municipality {own.code}):")
    echo(f"                   {own.files['html']}")
    echo(f"  good examples:   {municipal.examples_path(settings.home, demo.LAST_WAVE)}")
    links = open_demo_wave(settings, survey)
    demo_outreach(settings, survey, links, echo)
    echo(
        f"Web form: wave {links.wave} is open for the roster's {len(links.links)} organisations until "
        f"{links.deadline.isoformat()}; three of their personal links (bfs wave open {links.wave} lists all):"
    )
    for link in demo_links(links.links):
        echo(f"  {link.organisation} ({link.sector}): {link.url}")
    echo("  serve them with: bfs web   (then open a link in a browser; Ctrl-C stops)")
    echo("  bfs status                 what is stored, waves, outbox")
    echo("  bfs quarantine list        every quarantined row and why")
    echo(f"Demo finished in {time.monotonic() - started:.1f} s.")
    return {"totals": totals, "report": out}
