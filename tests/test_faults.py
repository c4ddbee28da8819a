"""Bad files fail alone, no e-mail address is kept in clear, and implausible input is never accepted silently."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bfs_pipeline import pipeline, store
from bfs_pipeline.ingest import RunStatus
from tests.conftest import good_row, migrated_to

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)


def everything_stored(db_url: str) -> str:
    """Every text the database holds, as a dump would show it."""
    engine = create_engine(db_url)
    out = []
    with engine.connect() as conn:
        for table in ("responses", "quarantine", "ingest_runs", "deliveries", "actors"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(" ".join(str(v) for v in row))
    engine.dispose()
    return "\n".join(out)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_bad_file_fails_alone_and_the_others_are_stored(env, settings, sheet, db_url):
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    rng = random.Random(7)
    (inbox / "kommun-2026-Q1-a.csv").write_bytes(bytes(rng.randrange(256) for _ in range(20000)) + b"\x81\x8d")
    huge = sheet().titles()
    with (inbox / "kommun-2026-Q1-b.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow([huge[0][1] + "x" * 5_000_000, *(t for _, t in huge[1:])])
    (inbox / "kommun-2026-Q1-c.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    sheet("polis").write(inbox / "polis-2026-Q1-z.csv", [good_row(email=f"p{i}@x.se") for i in range(3)])
    proc = bfs(env, "ingest", "--json")
    assert proc.returncode == 1
    (last,) = proc.stderr.strip().splitlines()
    assert last.startswith("bfs: ") and "kommun-2026-Q1-a.csv" in last and "more source(s) held or failed" in last
    results = {Path(r["source"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert results["polis-2026-Q1-z.csv"]["accepted"] == 3
    for name in ("kommun-2026-Q1-a.csv", "kommun-2026-Q1-b.csv", "kommun-2026-Q1-c.xlsx"):
        assert results[name]["status"] == "failed" and name in results[name]["error"], results[name]
    assert "UTF-8, UTF-16 or Windows-1252" in results["kommun-2026-Q1-a.csv"]["error"]
    assert "row 1" in results["kommun-2026-Q1-b.csv"]["error"]
    assert "Excel workbook" in results["kommun-2026-Q1-c.xlsx"]["error"]
    nightly = {Path(r.source).name: r.status for r in pipeline.nightly(settings)}  # the nightly path alike
    assert nightly == {
        "kommun-2026-Q1-a.csv": RunStatus.FAILED,
        "kommun-2026-Q1-b.csv": RunStatus.FAILED,
        "kommun-2026-Q1-c.xlsx": RunStatus.FAILED,
        "polis-2026-Q1-z.csv": RunStatus.UNCHANGED,
    }


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_an_unclosed_quote_is_quarantined_naming_its_row_and_keeps_no_address(settings, sheet, tmp_path, db_url):
    """A quote opened in row 11 and never closed swallows rows 12-31 into one free-text cell: not accepted silently."""
    rows = [good_row(email=f"r{i}@kommun.example.se", ORG=f"Org {i}", C05="ok") for i in range(30)]
    rows[9]["C05"] = "MARKER"
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)
    path.write_text(path.read_text(encoding="utf-8").replace(",MARKER,", ',"Mer stöd, tack. Och sedan,', 1), "utf-8")
    (res,) = pipeline.ingest_files(settings, file=path)
    assert res.rows_seen == res.accepted + res.duplicates + res.blank + res.quarantined
    assert (res.rows_seen, res.accepted, res.quarantined) == (10, 9, 1), res
    with pipeline.database(settings) as engine:
        (q,) = store.quarantine_rows(engine)
    assert q["sheet_row"] == 11
    (reason,) = q["reasons"]
    assert reason["rule"] == "swallowed_rows" and reason["value"].startswith("Mer stöd, tack.")
    assert "rad 11" in reason["message"] and "20 rader" in reason["message"]
    dump = everything_stored(settings.database_url) + json.dumps(q, ensure_ascii=False)
    assert "@kommun.example.se" not in dump and "hmac-sha256:" in dump


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_utf16_sheet_is_read_by_its_bom(settings, sheet, tmp_path, db_url):
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row(email="a@x.se", ORG="Sölvesborgs kommun")])
    for encoding in ("utf-16", "utf-16-be"):
        utf16 = tmp_path / f"kommun-2026-Q1-{encoding}.csv"
        body = path.read_text(encoding="utf-8")
        utf16.write_bytes(("\ufeff" + body).encode(encoding) if encoding.endswith("be") else body.encode(encoding))
        (res,) = pipeline.ingest_files(settings, file=utf16)
        assert res.status == RunStatus.OK and res.accepted + res.duplicates == 1, res
    with pipeline.database(settings) as engine:
        assert store.current_responses(engine, "blekinge-behov")["organisation"].tolist() == ["Sölvesborgs kommun"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_timestamps_after_reading_or_before_the_first_wave_are_quarantined(settings, sheet, tmp_path, db_url):
    rows = [
        good_row(email="a@x.se", timestamp="2099-01-05 10:00"),
        good_row(email="b@x.se", timestamp="1970-01-01 00:00"),
        good_row(email="c@x.se", timestamp="2023-12-31 23:30"),  # Stockholm time: before 2024-Q1, the first wave
        good_row(email="d@x.se", timestamp="2024-01-01 00:30"),
    ]
    (res,) = pipeline.ingest_files(settings, file=sheet().write(tmp_path / "kommun.csv", rows))
    assert (res.accepted, res.quarantined, res.waves) == (1, 3, ["2024-Q1"])
    with pipeline.database(settings) as engine:
        found = {q["sheet_row"]: [r["rule"] for r in q["reasons"]] for q in store.quarantine_rows(engine)}
        assert store.status(engine).waves == ["2024-Q1"]
    assert found == {2: ["timestamp_out_of_range"], 3: ["timestamp_out_of_range"], 4: ["timestamp_out_of_range"]}


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_no_raw_address_in_quarantine_held_rows_listings_or_output(env, settings, sheet, tmp_path, db_url):
    rows = [good_row(email=f"person{i}@privat.example.se", B01="7") for i in range(4)]
    rows.append(good_row(email="ok@privat.example.se", C01="Kalmar", C05="nå mig på nisse@privat.example.se"))
    bad = sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)
    held = sheet(extra_titles=["Okänd"]).write(
        tmp_path / "polis-2026-Q1.csv", [good_row(email="held@privat.example.se")]
    )
    outputs = [bfs(env, "ingest", "--file", str(p), "--json") for p in (bad, held)]
    outputs += [bfs(env, "quarantine", "list", "--json"), bfs(env, "quarantine", "list"), bfs(env, "status", "--json")]
    assert outputs[0].returncode == 0 and outputs[1].returncode == 1
    said = "".join(p.stdout + p.stderr for p in outputs)
    listed = json.loads(outputs[2].stdout)
    assert len(listed) == 6 and all("hmac-sha256:" in r["raw"]["E-postadress"] for r in listed)
    assert "@privat.example.se" not in said + everything_stored(db_url)
    from bfs_pipeline.privacy import email_hash, hash_key

    key = hash_key(settings.hash_key, settings.home)
    assert listed[0]["raw"]["E-postadress"] == "hmac-sha256:" + email_hash("person0@privat.example.se", key)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_hashes_addresses_kept_in_clear_by_earlier_versions(settings, db_url):

    from bfs_pipeline import db
    from bfs_pipeline.privacy import email_hash, hash_key

    engine = db.make_engine(db_url)
    raw = '{"E-postadress": "Kalle@Example.se", "Kommentar": "och anna@example.se"}'
    reasons = '[{"column": "ORG", "value": "kalle@example.se", "rule": "required", "message": "x"}]'
    with migrated_to(engine, "0006") as conn:
        conn.execute(
            text(
                "INSERT INTO ingest_runs (started_at, source, survey_id, status, rows_seen, accepted, "
                "duplicates, blank, quarantined) VALUES (CURRENT_TIMESTAMP, 's', 'b', 'ok', 1, 0, 0, 0, 1)"
            )
        )
        conn.execute(
            text("INSERT INTO quarantine (run_id, source, sheet_row, raw, reasons) VALUES (1, 's', 2, :raw, :reasons)"),
            {"raw": raw, "reasons": reasons},
        )
    engine.dispose()
    with pipeline.database(settings) as engine:
        (q,) = store.quarantine_rows(engine)
    key = hash_key(settings.hash_key, settings.home)
    assert q["raw"] == {
        "E-postadress": "hmac-sha256:" + email_hash("kalle@example.se", key),
        "Kommentar": "och hmac-sha256:" + email_hash("anna@example.se", key),
    }
    assert q["reasons"][0]["value"] == "hmac-sha256:" + email_hash("kalle@example.se", key)
    assert "@" not in everything_stored(db_url)
