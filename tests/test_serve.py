"""A real Prefect server on loopback: it refuses requests without its auth string, and `bfs serve` runs a schedule."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

AUTH = "bfs-admin:a-long-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(url: str, auth: str | None = None, body: dict | None = None) -> tuple[int, object]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None, method="POST" if body is not None else "GET"
    )
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:  # not listening yet
        return 0, None


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_AUTH_STRING": AUTH,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while request(url + "/health", AUTH)[0] != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                f"the Prefect server did not start: {(home / 'server.log').read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.mark.slow
def test_unauthenticated_requests_are_refused(server):
    query = {"limit": 1}
    assert request(server + "/flow_runs/filter", body=query)[0] == 401
    assert request(server + "/flow_runs/filter", "bfs-admin:wrong", query)[0] == 401
    assert request(server + "/flow_runs/filter", AUTH, query)[0] == 200


@contextlib.contextmanager
def bfs_serve(server: str, tmp_path: Path, nightly: str, poll: str, **extra: str) -> Iterator[subprocess.Popen]:
    """`bfs serve` against the test server, its output in tmp_path/serve.log; Ctrl-C (SIGINT) at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFS_", "PREFECT_"))}
    env.update(
        {
            "BFS_HOME": str(tmp_path / "home"),
            "BFS_HASH_KEY": "serve-test-key-0123456789",
            "PREFECT_API_URL": server,
            "PREFECT_API_AUTH_STRING": AUTH,
            "PREFECT_HOME": str(tmp_path / "prefect-client"),
            "PREFECT_RUNNER_POLL_FREQUENCY": poll,
            **extra,
        }
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bfs_pipeline", "serve", "--nightly", nightly],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_bfs_serve_runs_a_scheduled_flow(server, tmp_path: Path):
    with bfs_serve(server, tmp_path, "* * * * *", "5") as proc:
        deadline = time.monotonic() + 150
        done: list = []
        while time.monotonic() < deadline and not done:
            time.sleep(5)
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            status, runs = request(
                server + "/flow_runs/filter",
                AUTH,
                {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 5},
            )
            done = [r for r in (runs or []) if r.get("deployment_id")] if status == 200 else []
        out = (tmp_path / "serve.log").read_text(errors="replace")
        assert done, f"no scheduled run completed within 150 s:\n{out[-3000:]}"
        assert "nightly-ingest/nightly" in out and "(Europe/Stockholm)" in out


def log_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "serve.log").read_text(errors="replace").splitlines()


@pytest.mark.slow
def test_the_printed_hand_run_works_as_printed_and_ctrl_c_says_it_stopped(server, tmp_path: Path):
    """The hint `bfs serve` prints starts the nightly deployment from a shell without the virtualenv on its PATH;
    Ctrl-C ends `bfs serve` with exit 0 and one line saying it stopped."""
    import re
    import shutil

    prefect = Path(sys.executable).parent / "prefect"
    with bfs_serve(server, tmp_path, "0 2 1 1 *", "2") as proc:
        deadline = time.monotonic() + 90
        while not any("Ctrl-C stops" in line for line in log_lines(tmp_path)) and time.monotonic() < deadline:
            assert proc.poll() is None, "\n".join(log_lines(tmp_path)[-40:])
            time.sleep(1)
        lines = log_lines(tmp_path)
        hint = next(line.strip() for line in lines if line.strip().endswith("deployment run nightly-ingest/nightly"))
        assert hint == f"PREFECT_API_URL={server} {prefect} deployment run nightly-ingest/nightly"
        assert f"PREFECT_API_URL={server} BFS_HOME={tmp_path / 'home'} {prefect.parent / 'bfs'} run nightly" in [
            line.strip() for line in lines
        ]
        assert AUTH not in "\n".join(lines)  # the auth string is named, never printed
        assert not any("prefect deployment run [DEPLOYMENT_NAME]" in line for line in lines)  # Prefect's own hint
        shell = {
            "PATH": "/usr/bin:/bin",  # not the virtualenv's bin/
            "HOME": str(tmp_path),
            "PREFECT_HOME": str(tmp_path / "hand"),
            "PREFECT_API_AUTH_STRING": AUTH,
        }
        assert shutil.which("prefect", path=shell["PATH"]) is None
        ran = subprocess.run(["sh", "-c", hint], env=shell, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        found = re.search(r"UUID: ([0-9a-f-]{36})", ran.stdout)
        assert found, ran.stdout
        deadline, state = time.monotonic() + 120, None
        while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED", "CRASHED"):
            time.sleep(2)
            assert proc.poll() is None
            state = ((request(server + f"/flow_runs/{found.group(1)}", AUTH)[1] or {}).get("state") or {}).get("type")
        assert state == "COMPLETED", "\n".join(log_lines(tmp_path)[-40:])
    assert proc.returncode == 0, "\n".join(log_lines(tmp_path)[-40:])
    stopped = [line for line in log_lines(tmp_path) if "bfs serve stopped" in line]
    assert stopped == ["bfs serve stopped: no schedule runs until it is started again."]


@pytest.mark.slow
def test_a_spread_nightly_run_hands_each_source_to_its_own_run(server, tmp_path: Path):
    """Two counties' inboxes: the nightly run (spread=true) starts an ingest-source run per source.

    It waits for them, and both inboxes are stored.
    """
    from bfs_pipeline.survey import load_survey
    from tests.conftest import SURVEY_FILE, Sheet, good_row

    surveys = tmp_path / "surveys"
    surveys.mkdir()
    text = SURVEY_FILE.read_text(encoding="utf-8")
    (surveys / "blekinge-behov.yaml").write_text(text, encoding="utf-8")
    (surveys / "kalmar-behov.yaml").write_text(
        text.replace("id: blekinge-behov", "id: kalmar-behov", 1).replace("county: '10'", "county: '08'", 1),
        encoding="utf-8",
    )
    home = tmp_path / "home"
    for sid, town in (("blekinge-behov", "Karlskrona"), ("kalmar-behov", "Kalmar")):
        (home / "inbox" / sid).mkdir(parents=True)
        Sheet(load_survey(surveys / f"{sid}.yaml"), "kommun").write(
            home / "inbox" / sid / "kommun-2026-Q1.csv", [good_row(email=f"{sid}{i}@x.se", C01=town) for i in range(3)]
        )
    with bfs_serve(server, tmp_path, "0 2 1 1 *", "2", BFS_SURVEYS_DIR=str(surveys)) as proc:
        deployment = None
        deadline = time.monotonic() + 90
        while deployment is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            status, found = request(
                server + "/deployments/filter", AUTH, {"deployments": {"name": {"any_": ["nightly"]}}}
            )
            deployment = next((d for d in found or [] if d["id"]), None) if status == 200 and found else None
            time.sleep(1)
        assert deployment, "bfs serve did not register the nightly deployment"
        status, run = request(
            server + f"/deployments/{deployment['id']}/create_flow_run", AUTH, {"parameters": {"spread": True}}
        )
        assert status == 201, run
        deadline = time.monotonic() + 150
        state = None
        while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED", "CRASHED"):
            time.sleep(3)
            state = ((request(server + f"/flow_runs/{run['id']}", AUTH)[1] or {}).get("state") or {}).get("type")
        out = (tmp_path / "serve.log").read_text(errors="replace")
        assert state == "COMPLETED", f"the spread nightly run ended {state}:\n{out[-4000:]}"
        _, children = request(
            server + "/flow_runs/filter", AUTH, {"flow_runs": {"parent_flow_run_id": {"any_": [run["id"]]}}}
        )
        assert sorted(
            (c["parameters"]["survey_id"], c["parameters"]["source"], c["state"]["type"]) for c in children or []
        ) == [
            ("blekinge-behov", "inbox", "COMPLETED"),
            ("kalmar-behov", "inbox", "COMPLETED"),
        ]
        assert "ingest-source/ingest-source" in out
    import sqlite3

    with sqlite3.connect(home / "bfs.sqlite3") as db:
        stored = db.execute(
            "SELECT survey_id, count(*) FROM responses GROUP BY survey_id ORDER BY survey_id"
        ).fetchall()
    assert stored == [("blekinge-behov", 3), ("kalmar-behov", 3)]


@pytest.mark.parametrize(
    ("start", "nights"),
    [
        # spring: 02:00 does not exist on 29 March 2026; that night's run comes at 03:00, none is skipped
        ("2026-03-27T12:00", ["2026-03-28T02:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]),
        # autumn: 02:00 happens twice on 25 October 2026; the run comes once
        ("2026-10-23T12:00", ["2026-10-24T02:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-26T02:00:00+01:00"]),
    ],
)
def test_the_nightly_schedule_runs_once_a_night_across_daylight_saving_changes(start, nights):
    """Prefect's schedule for the nightly deployment and what `bfs serve` prints agree.

    The schedule is what Prefect's scheduler creates runs from.
    """
    import asyncio
    import datetime as dt
    from zoneinfo import ZoneInfo

    from prefect.server.schemas.schedules import CronSchedule

    from flows.serving import TIMEZONE, next_run

    tz = ZoneInfo(TIMEZONE)
    begin = dt.datetime.fromisoformat(start).replace(tzinfo=tz)
    dates = CronSchedule(cron="0 2 * * *", timezone=TIMEZONE).get_dates(n=3, start=begin)
    dates = asyncio.run(dates) if asyncio.iscoroutine(dates) else dates
    assert [d.astimezone(tz).isoformat() for d in dates] == nights
    printed, at = [], begin
    for _ in nights:
        at = next_run("0 2 * * *", at)
        printed.append(at.isoformat())
    assert printed == nights
