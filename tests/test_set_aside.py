"""Answers set aside: an invalid answer to an optional question never throws away the response (DESIGN.md, "Rules for
answers"); on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bfs_pipeline import pipeline, store
from bfs_pipeline.ingest import IngestResult
from bfs_pipeline.privacy import email_hash, hash_key
from bfs_pipeline.records.access import erase_respondent, export_respondent
from bfs_pipeline.sources import SheetHints
from tests.conftest import good_row, migrated_to
from tests.test_cli import bfs
from tests.test_faults import everything_stored

P01 = "Hur stor andel av din arbetstid ägnar du åt brottsförebyggande samverkan med kommunen/kommunerna?"


def police(**over: str) -> dict[str, str]:
    """A valid answer of the police, with its nine needs; keyword arguments replace cells by question id."""
    return good_row(
        **{"email": "lpo@polisen.example.se", "ORG": "Polisen LPO Karlskrona", "C02": "", "P01": "25", **over}
    )


def run(settings, path: Path, **hints: str) -> IngestResult:
    (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(**hints))
    assert res.rows_seen == res.accepted + res.duplicates + res.blank + res.quarantined, res
    return res


def kept(settings, run_id: int | None = None) -> list[dict]:
    with pipeline.database(settings) as engine:
        return store.quarantine_rows(engine, run_id)


def current(settings) -> list[dict]:
    with pipeline.database(settings) as engine:
        return list(store.current_responses(engine, "blekinge-behov")["answers"])


@pytest.mark.parametrize(
    ("cell", "value"), [("25 %", 25), ("25%", 25), ("25 procent", 25), ("25 Procent", 25), ("0,5 %", 0.5)]
)
def test_a_percent_sign_or_procent_is_a_unit_not_text(settings, sheet, tmp_path, cell, value):
    res = run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", [police(P01=cell)]))
    assert (res.accepted, res.quarantined, res.set_aside) == (1, 0, 0), kept(settings)
    assert current(settings)[0]["P01"] == value


def test_a_percent_in_a_decimal_question(settings, sheet, tmp_path):
    res = run(settings, sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row(K04="0,5 %")]))
    assert (res.accepted, res.set_aside) == (1, 0)
    assert current(settings)[0]["K04"] == 0.5


def test_an_invalid_optional_answer_is_set_aside_and_the_response_accepted(settings, sheet, tmp_path, db_url):
    rows = [police(email="a@polisen.example.se"), police(P01="en fjärdedel"), police(email="b@polisen.example.se")]
    path = sheet("polis").write(tmp_path / "polis-2026-Q1.csv", rows)
    res = run(settings, path)
    assert (res.rows_seen, res.accepted, res.quarantined, res.set_aside) == (3, 3, 0, 1)
    assert res.as_json()["set_aside"] == 1
    (theirs,) = [a for a in current(settings) if "P01" not in a]  # counted as missing, never as a number
    assert [theirs[f"B0{i}"] for i in range(1, 10)] == [police()[f"B0{i}"][0] for i in range(1, 10)]
    assert sorted(a.get("P01") for a in current(settings) if "P01" in a) == [25, 25]
    (entry,) = kept(settings)
    assert entry["kind"] == "answer" and entry["question_id"] == "P01"
    assert (entry["run_id"], entry["source"], entry["sheet_row"]) == (res.run_id, str(path), 3)
    assert entry["reasons"] == [
        {"column": P01, "value": "en fjärdedel", "rule": "not_a_number", "message": "Frågan kräver ett tal."}
    ]
    key = hash_key(settings.hash_key, settings.home)
    assert entry["raw"]["E-postadress"] == "hmac-sha256:" + email_hash("lpo@polisen.example.se", key)
    assert entry["raw"][P01] == "en fjärdedel"
    assert "lpo@polisen" not in everything_stored(db_url)
    with pipeline.database(settings) as engine:
        status = store.status(engine)
    assert (status.responses, status.quarantined, status.set_aside) == (3, 0, 1)
    assert status.last_runs[0]["set_aside"] == 1


def test_a_number_outside_its_range_is_set_aside_not_stored(settings, sheet, tmp_path):
    res = run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", [police(P01="150 %", P06="9")]))
    assert (res.accepted, res.set_aside) == (1, 1)
    (answer,) = current(settings)
    assert "P01" not in answer and answer["P06"] == "9"  # 9 is "vet ej": a valid code
    assert [(e["question_id"], [r["rule"] for r in e["reasons"]]) for e in kept(settings)] == [
        ("P01", ["out_of_range"])
    ]


def test_several_invalid_optional_answers_each_set_aside(settings, sheet, tmp_path):
    res = run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", [police(P01="mycket", P08="Aldrig")]))
    assert (res.accepted, res.quarantined, res.set_aside) == (1, 0, 2)
    assert sorted((e["kind"], e["question_id"], e["sheet_row"]) for e in kept(settings)) == [
        ("answer", "P01", 2),
        ("answer", "P08", 2),
    ]


def test_an_invalid_required_answer_still_quarantines_the_row(settings, sheet, tmp_path):
    """The row is kept out whole, its optional failing cell named too; nothing is set aside from it."""
    rows = [police(email="a@polisen.example.se"), police(B01="7", P01="mycket")]
    res = run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", rows))
    assert (res.accepted, res.quarantined, res.set_aside) == (1, 1, 0)
    (entry,) = kept(settings)
    assert (entry["kind"], entry["sheet_row"], entry["question_id"]) == ("row", 3, None)
    assert [r["rule"] for r in entry["reasons"]] == ["out_of_scale", "not_a_number"]


def test_an_unreadable_timestamp_still_quarantines_the_row(settings, sheet, tmp_path):
    res = run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", [police(timestamp="igår", P01="x")]))
    assert (res.accepted, res.quarantined, res.set_aside) == (0, 1, 0)
    assert [(e["kind"], [r["rule"] for r in e["reasons"]]) for e in kept(settings)] == [
        ("row", ["unparseable_timestamp", "not_a_number"])
    ]


def test_reingesting_sets_nothing_aside_twice(settings, sheet, tmp_path, db_url):
    rows = [police(P01="mycket"), police(P01="mycket"), police(email="x@polisen.example.se", C01="Kalmar")]
    path = sheet("polis").write(tmp_path / "polis-2026-Q1.csv", rows)
    first = run(settings, path)
    assert (first.accepted, first.duplicates, first.quarantined, first.set_aside) == (1, 1, 1, 1)
    second = run(settings, path)
    assert (second.accepted, second.duplicates, second.quarantined, second.set_aside) == (0, 2, 1, 0)
    copy = tmp_path / "polis-kopia-2026-Q1.csv"
    copy.write_bytes(path.read_bytes())
    third = run(settings, copy)  # the same answers from another file: duplicates, nothing set aside again
    assert (third.accepted, third.duplicates, third.set_aside) == (0, 2, 0)
    listed = [(e["kind"], e["run_id"], e["sheet_row"]) for e in kept(settings)]
    assert listed == [("answer", first.run_id, 2), ("row", second.run_id, 4), ("row", third.run_id, 4)]
    assert [e["kind"] for e in kept(settings, second.run_id)] == ["row"]
    with pipeline.database(settings) as engine, engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM quarantine WHERE kind = 'answer'")).scalar() == 1


def test_an_answer_set_aside_from_a_replaced_response_no_longer_waits(settings, sheet, tmp_path):
    """Listed while its sheet's latest read set it aside, or while its response counts; not once a later read of the
    sheet brought a newer answer of the same respondent."""
    path = tmp_path / "polis-2026-Q1.csv"
    later = police(P01="30", timestamp="2026-03-20 08:00")
    first = run(settings, sheet("polis").write(path, [police(P01="mycket"), later]))
    assert (first.accepted, first.set_aside) == (2, 1)
    assert [a["P01"] for a in current(settings)] == [30]
    assert [e["question_id"] for e in kept(settings)] == ["P01"]  # set aside in the sheet's latest read
    second = run(settings, sheet("polis").write(path, [police(P01="mycket"), later, police(email="n@polisen.se")]))
    assert (second.accepted, second.duplicates, second.set_aside) == (1, 2, 0)
    assert kept(settings) == []  # the corrected answer counts now
    assert [e["question_id"] for e in kept(settings, first.run_id)] == ["P01"]  # still kept, by its run
    with pipeline.database(settings) as engine:
        assert store.status(engine).set_aside == 0


def test_the_privacy_export_and_erasure_reach_answers_set_aside(settings, sheet, tmp_path):
    run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", [police(P01="mycket")]))
    key = hash_key(settings.hash_key, settings.home)
    with pipeline.database(settings) as engine:
        out = tmp_path / "lpo.json"
        assert export_respondent(engine, key, "LPO@polisen.example.se", out) == {"answers": 1, "kept_rows": 1}
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["kept_rows"][0]["reasons"][0]["value"] == "mycket"
        assert erase_respondent(engine, key, "lpo@polisen.example.se", "LST 2026-1") == {"answers": 1, "kept_rows": 1}
        assert store.quarantine_rows(engine, 1) == [] and store.status(engine).set_aside == 0


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_ingest_and_quarantine_list_json(env, sheet, tmp_path):
    rows = [police(P01="25 %"), police(email="b@polisen.example.se", P01="en del"), police(email="c@x.se", B02="")]
    path = sheet("polis").write(tmp_path / "polis-2026-Q1.csv", rows)
    first = json.loads(bfs(env, "ingest", "--file", str(path), "--json").stdout)
    second = json.loads(bfs(env, "ingest", "--file", str(path), "--json").stdout)
    counts = ("rows_seen", "accepted", "duplicates", "blank", "quarantined", "set_aside")
    assert [first[k] for k in counts] == [3, 2, 0, 0, 1, 1]
    assert [second[k] for k in ("accepted", "duplicates", "quarantined", "set_aside")] == [0, 2, 1, 0]
    listed = json.loads(bfs(env, "quarantine", "list", "--json").stdout)
    assert [(e["kind"], e["run_id"], e["source"], e["sheet_row"]) for e in listed] == [
        ("answer", first["run_id"], str(path), 3),
        ("row", second["run_id"], str(path), 4),
    ]
    for e in listed:
        assert {"kind", "run_id", "source", "sheet_row", "reasons"} <= set(e)
        assert all(set(r) == {"column", "value", "rule", "message"} for r in e["reasons"])


def test_an_existing_database_is_upgraded(settings, db_url):
    """A database of version 0009 with a quarantined row: after 0010 it is a row, and its run set nothing aside."""
    from bfs_pipeline import db

    engine = db.make_engine(db_url)
    with migrated_to(engine, "0009") as conn:
        conn.execute(
            text(
                "INSERT INTO ingest_runs (started_at, source, survey_id, status, rows_seen, accepted, "
                "duplicates, blank, quarantined) VALUES (CURRENT_TIMESTAMP, 's', 'b', 'ok', 1, 0, 0, 0, 1)"
            )
        )
        conn.execute(
            text("INSERT INTO quarantine (run_id, source, sheet_row, raw, reasons) VALUES (1, 's', 2, '{}', '[]')")
        )
    engine.dispose()
    with pipeline.database(settings) as engine:
        (q,) = store.quarantine_rows(engine)
        status = store.status(engine)
    assert (q["kind"], q["question_id"], q["sheet_row"]) == ("row", None, 2)
    assert (status.quarantined, status.set_aside, status.last_runs[0]["set_aside"]) == (1, 0, 0)


def test_a_downgrade_to_0009_drops_the_answers_set_aside(settings, sheet, tmp_path, db_url):
    from bfs_pipeline import db

    rows = [police(P01="mycket"), police(email="x@polisen.example.se", B01="")]
    run(settings, sheet("polis").write(tmp_path / "polis-2026-Q1.csv", rows))
    engine = db.make_engine(db_url)
    with migrated_to(engine, "0009", down=True) as conn:
        assert conn.execute(text("SELECT count(*) FROM quarantine")).scalar() == 1  # the row stays
        cols = {c["name"] for c in inspect(conn).get_columns("quarantine")}
        assert "kind" not in cols and "response_hash" not in cols
    engine.dispose()
