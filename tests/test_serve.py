"""A real Prefect server on loopback: it refuses requests without its auth string, and `bfs serve` runs a schedule."""

from __future__ import annotations

import base64
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
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method="POST" if body is not None else "GET")
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
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while request(url + "/health", AUTH)[0] != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Prefect server did not start: {(home / 'server.log').read_text(errors='replace')[-2000:]}")
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


@pytest.mark.slow
def test_bfs_serve_runs_a_scheduled_flow(server, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFS_", "PREFECT_"))}
    env.update(
        {
            "BFS_HOME": str(tmp_path / "home"),
            "BFS_HASH_KEY": "serve-test-key-0123456789",
            "PREFECT_API_URL": server,
            "PREFECT_API_AUTH_STRING": AUTH,
            "PREFECT_HOME": str(tmp_path / "prefect-client"),
            "PREFECT_RUNNER_POLL_FREQUENCY": "5",
        }
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bfs_pipeline", "serve", "--nightly", "* * * * *"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 150
        done: list = []
        while time.monotonic() < deadline and not done:
            time.sleep(5)
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            status, runs = request(server + "/flow_runs/filter", AUTH, {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 5})
            done = [r for r in (runs or []) if r.get("deployment_id")] if status == 200 else []
        out = (tmp_path / "serve.log").read_text(errors="replace")
        assert done, f"no scheduled run completed within 150 s:\n{out[-3000:]}"
        assert "nightly-ingest/nightly" in out and "(Europe/Stockholm)" in out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
