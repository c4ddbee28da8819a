"""`bfs serve`: the nightly and quarterly deployments on cron schedules in Europe/Stockholm time.

Schedules never fire on Prefect's temporary server, so without PREFECT_API_URL a local `prefect server start`
is run (its database under BFS_HOME/prefect) and stopped again on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bfs_pipeline.config import Settings
from bfs_pipeline.errors import BfsError

TIMEZONE = "Europe/Stockholm"
LOCAL_PORT = 4200
SOURCE_RUNS = 4  # ingest-source runs at a time on one machine


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def local_server(settings: Settings, echo: Callable[[str], Any], timeout: float = 90) -> Iterator[str]:
    """A `prefect server start` bound to 127.0.0.1, stopped when the block ends."""
    url = f"http://127.0.0.1:{LOCAL_PORT}/api"
    if _healthy(url):
        raise BfsError(f"Something already answers on {url}: set PREFECT_API_URL={url} to use it, or stop it.")
    log = settings.home / "prefect" / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    echo(f"Starting a local Prefect server on {url} (log: {log}) ...")
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(LOCAL_PORT)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None:
                raise BfsError(f"The Prefect server stopped at start (exit {proc.returncode}); see {log}.")
            if time.monotonic() > deadline:
                raise BfsError(f"The Prefect server did not answer within {timeout:.0f} s; see {log}.")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def next_run(cron: str, now: dt.datetime | None = None) -> dt.datetime:
    """The next time a cron expression fires in Stockholm time."""
    from cronsim import CronSim, CronSimError

    try:
        return next(CronSim(cron, now or dt.datetime.now(ZoneInfo(TIMEZONE))))
    except CronSimError as exc:
        raise BfsError(
            f"{cron!r} is not a cron expression ({exc}): use five fields, for example '0 2 * * *'."
        ) from None


def command(name: str) -> str:
    """This installation's console script `name` by its full path (the virtualenv's bin/), so that it runs as printed
    from a shell where the virtualenv is not activated; `python -m` when there is no such script."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m {'bfs_pipeline' if name == 'bfs' else name}"


def by_hand(api_url: str, home: Path) -> list[str]:
    """How to start a served deployment now, from another shell, exactly as printed: this installation's prefect
    (its full path) with the server's URL; or bfs run with the same data folder. Never a secret's value."""
    api = f"PREFECT_API_URL={shlex.quote(api_url)}"
    prefect = f"{api} {command('prefect')} deployment run"
    bfs = f"{api} BFS_HOME={shlex.quote(str(home))} {command('bfs')} run"
    auth = ", PREFECT_API_AUTH_STRING" if os.environ.get("PREFECT_API_AUTH_STRING") else ""
    return [
        f"To start a run now, from another shell (with the same BFS_* settings{auth}):",
        f"  {prefect} {shlex.quote('nightly-ingest/nightly')}",
        f"  {prefect} {shlex.quote('quarterly-report/quarterly')}",
        "or the same flows, without the deployments, in that shell:",
        f"  {bfs} nightly",
        f"  {bfs} quarterly --send",
    ]


def serve(
    settings: Settings,
    nightly_cron: str,
    quarterly_cron: str,
    echo: Callable[[str], Any] = print,
    digest_cron: str | None = None,
) -> None:
    """Serve the nightly and quarterly deployments, and ingest-source for a spread nightly run, until Ctrl-C (or
    SIGTERM), then say so."""
    digest_cron = digest_cron or settings.digest_cron
    next_run(nightly_cron), next_run(quarterly_cron), next_run(digest_cron)  # a bad one fails before anything starts
    local = not os.environ.get("PREFECT_API_URL")
    stopped = "bfs serve stopped: no schedule runs until it is started again" + (
        " (the local Prefect server is stopped too)." if local else "."
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before Prefect's runner took over (it handles its own)
        _serve(settings, nightly_cron, quarterly_cron, echo, digest_cron)
    echo(stopped)


def _serve(
    settings: Settings, nightly_cron: str, quarterly_cron: str, echo: Callable[[str], Any], digest_cron: str
) -> None:
    from flows.environment import prepare_prefect

    prepare_prefect(settings.home)
    os.environ["BFS_HOME"] = str(settings.home)
    with contextlib.ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            os.environ["PREFECT_API_URL"] = stack.enter_context(local_server(settings, echo))
        from prefect import serve as prefect_serve
        from prefect.schedules import Cron

        from flows.nightly import SOURCE_DEPLOYMENT, ingest_source, nightly_ingest
        from flows.outreach import weekly_digest
        from flows.quarterly import quarterly_report

        nightly: Any = nightly_ingest.to_deployment(
            name="nightly", schedule=Cron(nightly_cron, timezone=TIMEZONE), concurrency_limit=1
        )
        quarterly: Any = quarterly_report.to_deployment(
            name="quarterly",
            schedule=Cron(quarterly_cron, timezone=TIMEZONE),
            parameters={"period": "previous"},
            concurrency_limit=1,
        )
        # no schedule: the nightly run starts one per source when asked to spread (spread=true)
        per_source: Any = ingest_source.to_deployment(
            name=SOURCE_DEPLOYMENT.split("/")[1], concurrency_limit=SOURCE_RUNS
        )
        digest: Any = weekly_digest.to_deployment(
            name="weekly", schedule=Cron(digest_cron, timezone=TIMEZONE), concurrency_limit=1
        )
        for name, cron in (
            ("nightly-ingest/nightly", nightly_cron),
            ("quarterly-report/quarterly", quarterly_cron),
            ("weekly-digest/weekly", digest_cron),
        ):
            echo(f"  {name:<28} {cron:<20} next run {next_run(cron):%Y-%m-%d %H:%M} ({TIMEZONE})")
        echo(f"  {SOURCE_DEPLOYMENT:<28} {'(started by nightly)':<20} at most {SOURCE_RUNS} at a time")
        for line in by_hand(os.environ["PREFECT_API_URL"], settings.home):
            echo(line)
        echo(f"Serving the deployments against {os.environ['PREFECT_API_URL']}. Ctrl-C stops.")
        prefect_serve(
            nightly, quarterly, digest, per_source, print_starting_message=False
        )  # returns on Ctrl-C or SIGTERM
