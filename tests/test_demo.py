"""The whole pipeline end to end: `bfs demo` through the real Prefect flows, then what it left behind."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bfs_pipeline.ingest import wave_for

BFS = [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BFS, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_end_to_end(env, home: Path):
    env = {k: v for k, v in env.items() if k != "BFS_DATABASE_URL"}
    proc = bfs(env, "demo")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    html = home / "reports" / "2026-Q3" / "behovsrapport-2026-Q3.sv.html"
    assert html.is_file() and "Olofström" in html.read_text(encoding="utf-8")
    (eml,) = (home / "outbox").glob("2026-Q3-*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Behovsrapport Blekinge län 2026-Q3"
    assert str(html) in proc.stdout and str(eml) in proc.stdout and "bfs quarantine list" in proc.stdout
    # the wave now running: the roster invited, most answer by link, the rest reminded, the coverage shown
    invitations = list((home / "outbox").glob("invite-*.eml"))
    reminders = list((home / "outbox").glob("remind-*.eml"))
    assert len(invitations) == 61 and 0 < len(reminders) < 61
    answered = re.search(r"(\d+) organisations answered through their links", proc.stdout)
    assert answered and int(answered.group(1)) + len(reminders) == 61
    assert re.search(rf"Coverage of \d{{4}}-Q\d .*: {answered.group(1)} of 61", proc.stdout)
    assert proc.stdout.count("http://127.0.0.1:8080/f/") == 3

    status = json.loads(bfs(env, "status", "--json").stdout)
    now = wave_for(dt.datetime.now(dt.UTC), "Europe/Stockholm")  # the wave now running, answered by link
    assert status["waves"][:8][-1] == "2026-Q3" and status["waves"][-1] == now and len(status["waves"]) == 9
    assert 350 < status["responses"] < 700 and status["outbox"] == {"written": 1 + len(invitations) + len(reminders)}
    runs = [r for r in status["last_runs"]]
    for r in runs:
        assert r["rows_seen"] == r["accepted"] + r["duplicates"] + r["blank"] + r["quarantined"]

    # the support log: Olofström's greatest need (method support) went unsupported for two quarters
    support_log = home / "demo-sheets" / "stodlogg.csv"
    assert support_log.is_file() and str(support_log) in proc.stdout
    report = json.loads(bfs(env, "report", "--period", "2026-Q3", "--json").stdout)
    raised = {(a["kind"], (a["municipality"] or {}).get("code")) for a in report["alerts"]}
    assert ("support_gap", "1060") in raised and not {k for k in raised if k[0] == "support_skew"}
    assert {("standing_gap", "1081"), ("capacity_fell", "1081"), ("law_floor", "1083")} <= raised
    gap = next(a for a in report["alerts"] if a["kind"] == "support_gap")
    assert gap["indicator"] == "B05" and gap["title"] in proc.stdout
    # Olofström's own report, rendered with the quarter's good examples, and where to find it
    own = home / "reports" / "2026-Q3" / "kommun" / "1060" / "kommunrapport-1060-2026-Q3.sv.html"
    assert own.is_file() and str(own) in proc.stdout
    assert "Orsaksanalys i det lokala rådet" in own.read_text(encoding="utf-8")

    q = json.loads(bfs(env, "quarantine", "list", "--json").stdout)
    rules = {reason["rule"] for row in q for reason in row["reasons"]}
    expected = {
        "municipality_outside_county",
        "unknown_municipality",
        "out_of_scale",
        "unknown_choice",
        "not_a_number",
        "out_of_range",
        "required",
        "unparseable_timestamp",
        "header",
    }
    assert expected <= rules
    rows_total = sum(1 for _ in q)
    assert rows_total < 0.08 * status["responses"] + 10  # a few percent, not a flood

    # a second demo on the same home starts clean (in-process this time: the flows' functions without Prefect)
    again = bfs(env, "demo", "--no-prefect")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(bfs(env, "status", "--json").stdout)["responses"] == status["responses"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_refuses_a_home_it_did_not_make(env, home: Path):
    (home / "important.txt").write_text("keep me", encoding="utf-8")
    proc = bfs(env, "demo", "--no-prefect")
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(
        f"bfs: BFS_HOME {home} already holds data that the demo did not make. Run `bfs demo --fresh`"
    )
    assert (home / "important.txt").exists()
