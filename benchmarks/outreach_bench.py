"""Outreach at national scale: a roster of 10 000 actors over 21 counties (one survey per county).

Times, through the real commands' functions on SQLite (and PostgreSQL with --databases):
- `bfs wave open` + `bfs invite` (.eml files, no SMTP) for every county: target ≤ 30 s in all;
- a reminder run where nobody has answered (BFS_REMIND_EVERY_DAYS=0, so that every actor is due): ≤ 15 s;
- `bfs coverage --json` for the largest county: ≤ 3 s (and, for information, all 21 one after the other).

    .venv/bin/python benchmarks/outreach_bench.py [--actors 10000] [--databases sqlite,postgresql]

Prints a table and, as its last line, one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BFS_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
TARGETS = {"open_invite_s": 30.0, "remind_s": 15.0, "coverage_s": 3.0}
WAVE_OFFSET_DAYS = 60


def write_surveys(folder: Path) -> list[str]:
    """The default survey once per county: same questions, its own id and county."""
    from bfs_pipeline import reference
    from bfs_pipeline.resources import default_surveys_dir

    base = yaml.safe_load((default_surveys_dir() / "blekinge-behov.yaml").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for code in sorted(reference.counties()):
        data = dict(base, id=f"behov-{code}", county=code)
        (folder / f"behov-{code}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        ids.append(f"behov-{code}")
    return ids


def write_rosters(folder: Path, actors: int, seed: int = 11) -> dict[str, Path]:
    """Rosters that add up to `actors` organisations, spread over the counties by their number of municipalities."""
    from bfs_pipeline import reference

    rng = random.Random(seed)
    sectors = ["kommun", "polis", "myndighet", "naringsliv", "ideburen"]
    per_county = {c: reference.county_municipalities(c) for c in sorted(reference.counties())}
    total = sum(len(m) for m in per_county.values())
    out = {}
    made = 0
    for i, (code, munis) in enumerate(per_county.items()):
        n = actors - made if i == len(per_county) - 1 else round(actors * len(munis) / total)
        made += n
        path = folder / f"aktorer-{code}.csv"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("organisation,sektor,kommun,kontakt,språk\n")
            for j in range(n):
                m = rng.choice(munis)
                lang = "en" if rng.random() < 0.1 else "sv"
                fh.write(f"Org {code}-{j},{sectors[j % 5]},{m.code},org{j}@c{code}.example.se,{lang}\n")
        out[f"behov-{code}"] = path
    return out


def measure(url: str, actors: int, work: Path) -> dict[str, Any]:
    import datetime as dt

    from bfs_pipeline.config import load_settings
    from bfs_pipeline.db import open_database
    from bfs_pipeline.ingest import wave_for
    from bfs_pipeline.outreach import links
    from bfs_pipeline.outreach.coverage import coverage
    from bfs_pipeline.outreach.invite import invite, remind
    from bfs_pipeline.privacy import hash_key
    from bfs_pipeline.roster import import_roster
    from bfs_pipeline.survey import load_surveys

    ids = write_surveys(work / "surveys")
    rosters = write_rosters(work, actors)
    env = {
        "BFS_HOME": str(work / "home"),
        "BFS_DATABASE_URL": url,
        "BFS_HASH_KEY": "bench-hash-key-0123456789abcdef",
        "BFS_SURVEYS_DIR": str(work / "surveys"),
        "BFS_PUBLIC_URL": "https://enkat.example.se",
    }
    settings = load_settings(env, cwd=work)
    engine = open_database(url)
    surveys = load_surveys(settings.surveys_dir)
    for sid in ids:
        import_roster(engine, rosters[sid], surveys[sid])
    key = hash_key(settings.hash_key, settings.home)

    wave = wave_for(dt.datetime.now(dt.UTC), "Europe/Stockholm")
    deadline = links.today() + dt.timedelta(days=WAVE_OFFSET_DAYS)
    started = time.perf_counter()
    invited = 0
    for sid in ids:
        links.open_wave(engine, surveys[sid], wave, key, settings.public_url, deadline)
        invited += invite(engine, settings, surveys[sid], wave, key).done
    open_invite = time.perf_counter() - started
    now_settings = replace(settings, remind_every_days=0)
    started = time.perf_counter()
    reminded = sum(remind(engine, now_settings, surveys[sid], wave, key).done for sid in ids)
    remind_s = time.perf_counter() - started
    largest = max(ids, key=lambda sid: rosters[sid].stat().st_size)
    started = time.perf_counter()
    json.dumps(coverage(engine, surveys[largest], wave).as_json())
    coverage_one = time.perf_counter() - started
    started = time.perf_counter()
    for sid in ids:
        json.dumps(coverage(engine, surveys[sid], wave).as_json())
    coverage_all = time.perf_counter() - started
    engine.dispose()
    return {
        "actors": actors,
        "invited": invited,
        "reminded": reminded,
        "open_invite_s": round(open_invite, 2),
        "remind_s": round(remind_s, 2),
        "coverage_largest_s": round(coverage_one, 3),
        "coverage_all_s": round(coverage_all, 3),
    }


def run(databases: list[str], actors: int) -> dict[str, Any]:
    """The figures per database (sqlite, postgresql), each in a fresh database and folder."""
    figures: dict[str, Any] = {}
    for name in databases:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            if name == "sqlite":
                url = f"sqlite:///{work / 'bench.sqlite3'}"
                figures[name] = measure(url, actors, work)
            else:
                from sqlalchemy import create_engine, text

                db_name = f"bfs_outreach_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{db_name}"'))
                try:
                    figures[name] = measure(PG_ADMIN.rsplit("/", 1)[0] + "/" + db_name, actors, work)
                finally:
                    with admin.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
                    admin.dispose()
    return figures


def checks(figures: dict[str, Any]) -> list[tuple[str, str, bool, str]]:
    """(measure, result, met, target) per database, for bench.py's table."""
    out = []
    for name, f in figures.items():
        for label, k, target in (
            ("wave open + invite (.eml)", "open_invite_s", TARGETS["open_invite_s"]),
            ("reminders, nobody answered", "remind_s", TARGETS["remind_s"]),
            ("coverage --json, largest county", "coverage_largest_s", TARGETS["coverage_s"]),
        ):
            out.append((f"{name}: {label}, {f['actors']} actors", f"{f[k]} s", f[k] <= target, f"<= {target:g} s"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=10_000)
    ap.add_argument("--databases", default="sqlite", help="comma-separated: sqlite, postgresql")
    args = ap.parse_args()
    figures = run(args.databases.split(","), args.actors)
    for name, f in figures.items():
        print(f"{name}: {f['actors']} actors over 21 counties")
        for label, k, target in (
            ("wave open + invite (.eml)", "open_invite_s", TARGETS["open_invite_s"]),
            ("reminders, nobody answered", "remind_s", TARGETS["remind_s"]),
            ("coverage --json, largest county", "coverage_largest_s", TARGETS["coverage_s"]),
        ):
            verdict = "met" if f[k] <= target else "NOT met"
            print(f"  {label:<36} {f[k]:>8.2f} s   target ≤ {target:g} s: {verdict}")
        print(f"  {'coverage --json, each of the 21':<36} {f['coverage_all_s']:>8.2f} s   (all 21 commands together)")
    print(json.dumps({"outreach": figures, "targets": TARGETS}))


if __name__ == "__main__":
    main()
