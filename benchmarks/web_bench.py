"""The web form under load: simulated respondents submitting valid forms to `bfs web` over HTTP on loopback.

For each database (SQLite in a temporary BFS_HOME, and a fresh PostgreSQL database dropped afterwards): a roster
of --actors organisations over the five sectors is imported with `bfs actors import`, the current quarter is
opened with `bfs wave open PERIOD --json`, and `bfs web` is started as a subprocess (real uvicorn, a free port on
127.0.0.1). Then --concurrency respondents at once (asyncio, one httpx.AsyncClient each, so each has its own
cookies and one keep-alive connection, and its own address through X-Forwarded-For) submit --forms valid forms in
all, with no pause between requests (--think T adds one between GET and POST, 0.5-1.5 T at random, and starts
the respondents spread over T): each GETs /f/TOKEN, reads the CSRF token from the page and POSTs a valid form with
every question answered (the redirect to the receipt is not followed). With no pause this is a closed loop at
saturation: each latency includes the time a request waits for the 49 others, so it is about concurrency /
throughput. A respondent always answers for the same actors, so no two
respondents ever submit for one actor at once; each submission differs from the actor's previous one (a free-text
answer names it), so each is stored as a new row (a resubmission keeps the earlier row as history).

Warm-up: the first --warmup forms (GET and POST) are sent one after another before the timed run, and are not in
the latencies. They are part of --forms and of the stored count. Reported: p50/p95 of GET /f/TOKEN and of the
valid POST (ms), errors (any GET not 200 and any POST not 303 to /f/TOKEN/tack), rows in `responses` after the
run (must equal --forms), forms per second, the server's peak memory (VmHWM of the server process, plus that of
any child process it starts) and its CPU time.

Targets: p95 GET <= 50 ms, p95 POST <= 150 ms, peak memory <= 400 MB.

Run alone: .venv/bin/python benchmarks/web_bench.py --forms 5000 --concurrency 50 --databases sqlite,postgresql
(`bench.py --only web` runs it as a step of `make bench`). The last line printed is one JSON object.

--profile FILE samples every thread's Python stack in the server every 5 ms (a small sampler started inside the
server process by this script's bootstrap, no change to the app; it slows the server a little) and writes where
the threads ran and where they waited to FILE.sqlite.txt and FILE.postgresql.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import math
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BFS_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PG_DB = "bfs_web_bench"
HASH_KEY = "bench-hash-key-0123456789abcdef"
TARGETS = {"get_p95_ms": 50.0, "post_p95_ms": 150.0, "peak_mb": 400.0}
CSRF_RE = re.compile(r'name="csrftoken"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrftoken"')

# Started in the server process with --profile: a thread samples every thread's stack and writes them at exit.
PROFILE_BOOT = r"""
import atexit, collections, os, sys, threading, time
_out = os.environ["BFS_BENCH_PROFILE_OUT"]
_stacks = collections.Counter()
_ticks = [0]
_me = []
def _sample():
    me = threading.get_ident()
    _me.append(me)
    while True:
        time.sleep(0.005)
        _ticks[0] += 1
        for tid, frame in sys._current_frames().items():
            if tid == me:
                continue
            stack = []
            while frame is not None:
                co = frame.f_code
                stack.append(f"{co.co_filename}:{co.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            _stacks[tuple(reversed(stack))] += 1
def _dump():
    with open(_out, "w") as fh:
        fh.write(f"ticks {_ticks[0]}\n")
        for stack, n in _stacks.most_common():
            fh.write(f"{n}\t" + " | ".join(stack) + "\n")
atexit.register(_dump)
threading.Thread(target=_sample, daemon=True, name="bench-sampler").start()
sys.argv = ["bfs", *sys.argv[1:]]
from bfs_pipeline.cli import main
main()
"""


def current_wave() -> str:
    today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (p in 0..100) of values, in ms to 0.1 (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return round(ordered[rank - 1], 1)


def bfs_command() -> list[str]:
    bfs = ROOT / ".venv" / "bin" / "bfs"
    return [str(bfs)] if bfs.exists() else [sys.executable, "-m", "bfs_pipeline"]


def bfs(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*bfs_command(), *args], env=env, cwd=env["BFS_HOME"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bfs {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


# -- the installation: roster, wave, answers ---------------------------------------------------------------------


def write_roster(path: Path, actors: int) -> None:
    """`actors` organisations spread over the five sectors and the county's municipalities."""
    from bfs_pipeline import reference
    from bfs_pipeline.resources import default_surveys_dir
    from bfs_pipeline.survey import load_survey

    survey = load_survey(default_surveys_dir() / "blekinge-behov.yaml")
    munis = [m.name for m in reference.county_municipalities(survey.county)]
    sectors = list(survey.sectors)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["organisation", "sektor", "kommun", "kontakt"])
        for i in range(actors):
            sector = sectors[i % len(sectors)]
            w.writerow([f"Bänkorganisation {i:05d}", sector, munis[i % len(munis)], f"org{i}@bench.example.se"])


class Answers:
    """Valid answers for each sector's form, read from the form's own fields (FormService.sections)."""

    def __init__(self, wave: str, seed: int = 11) -> None:
        from bfs_pipeline import reference
        from bfs_pipeline.resources import default_surveys_dir
        from bfs_pipeline.survey import load_survey
        from bfs_pipeline.web.forms import FormService

        self.survey = load_survey(default_surveys_dir() / "blekinge-behov.yaml")
        service = FormService(None, default_surveys_dir(), b"unused")  # type: ignore[arg-type]  # only the fields
        self.fields = {
            sector: [f for s in service.sections(self.survey, sector, wave, "sv") for f in s.fields]
            for sector in self.survey.sectors
        }
        self.munis = {m.code for m in reference.county_municipalities(self.survey.county)}
        self.rng = random.Random(seed)

    def form(self, sector: str, n: int) -> dict[str, str | list[str]]:
        """Submission number n (unique): every question answered, as a careful respondent would."""
        from bfs_pipeline.web.forms import Kind

        rng = self.rng
        out: dict[str, str | list[str]] = {}
        for f in self.fields[sector]:
            values = [o.value for o in f.options]
            if f.kind is Kind.CHECKBOX:
                if f.name == "C01":
                    pool = [v for v in values if v in self.munis]
                else:  # no "none" (0) or "don't know" (9) next to a real choice
                    pool = [v for v in values if v not in ("0", "9")]
                out[f.name] = sorted(rng.sample(pool, k=rng.choice((1, 1, 2))))
            elif f.kind in (Kind.RADIO, Kind.SELECT):
                out[f.name] = rng.choice(values)
            elif f.kind is Kind.INTEGER:
                lo = int(f.min or 0)
                hi = int(f.max) if f.max is not None else lo + 20
                out[f.name] = str(rng.randint(lo, min(hi, lo + 20)))
            elif f.kind is Kind.DECIMAL:
                low = float(f.min or 0)
                high = float(f.max) if f.max is not None else low + 10
                out[f.name] = f"{rng.uniform(low, min(high, low + 10)):.1f}".replace(".", ",")
            elif f.kind is Kind.TEXT:
                out[f.name] = f"Svar {n} från bänken: mer tid för samverkan."
        return out


def fresh_database(kind: str, home: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{home / 'bfs.sqlite3'}"
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r}: sqlite or postgresql")
    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB


def drop_database(kind: str) -> None:
    if kind == "postgresql":
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def _pg_admin(*statements: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        for sql in statements:
            c.execute(text(sql))
    admin.dispose()


def count_responses(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        n = int(c.execute(text("SELECT count(*) FROM responses")).scalar_one())
    engine.dispose()
    return n


# -- the server ------------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


def _status(pid: int, key: str) -> int:
    """A kB figure from /proc/PID/status (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    """`bfs web` in a subprocess, with its peak memory watched (VmHWM of it and of any child it starts)."""

    def __init__(self, env: dict[str, str], port: int, profile: Path | None) -> None:
        args = ["web", "--host", "127.0.0.1", "--port", str(port)]
        env = dict(env)
        if profile is not None:
            env["BFS_BENCH_PROFILE_OUT"] = str(profile)
            cmd = [sys.executable, "-c", PROFILE_BOOT, *args]
        else:
            cmd = [*bfs_command(), *args]
        self.log = Path(env["BFS_HOME"]) / "web.log"
        self._log_fh = self.log.open("w")
        self.proc = subprocess.Popen(cmd, env=env, cwd=env["BFS_HOME"], stdout=self._log_fh, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_memory, daemon=True)
        self._watch.start()

    def _watch_memory(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.5)

    def sample(self) -> None:
        pids = [self.proc.pid]
        for pid in pids:  # grows while it is walked: the whole tree
            pids += _children(pid)
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), _status(pid, "VmHWM"))

    def cpu_s(self) -> float:
        return sum(_cpu_s(pid) for pid in self.hwm_kb)

    def wait_ready(self, timeout: float = 60.0) -> float:
        import httpx

        t = time.perf_counter()
        while time.perf_counter() - t < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"bfs web exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - t
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"bfs web did not answer /healthz within {timeout} s:\n{self.log.read_text()}")

    def peak_mb(self) -> float:
        self.sample()
        return sum(self.hwm_kb.values()) / 1024

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_fh.close()


# -- the respondents -------------------------------------------------------------------------------------------


@dataclass
class Tally:
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    posted: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Job:
    n: int  # the submission's number, unique in the run
    actor: int  # the actor's index in the links
    url: str
    sector: str


async def one_form(
    client: Any, job: Job, answers: Answers, address: str, tally: Tally, timed: bool, think: float = 0.0
) -> None:
    headers = {"X-Forwarded-For": address}
    t = time.perf_counter()
    got = await client.get(job.url, headers=headers)
    get_ms = (time.perf_counter() - t) * 1000
    if got.status_code != 200:
        tally.errors.append(f"GET {got.status_code}")
        return
    m = CSRF_RE.search(got.text)
    if m is None:
        tally.errors.append("GET 200 without a csrftoken field")
        return
    data = {"csrftoken": m.group(1) or m.group(2), "action": "submit", "lang": "sv", **answers.form(job.sector, job.n)}
    if think:
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)  # filling in the form, each at their own pace
    t = time.perf_counter()
    posted = await client.post(job.url, data=data, headers=headers)
    post_ms = (time.perf_counter() - t) * 1000
    tally.posted += 1
    if posted.status_code != 303 or not urlsplit(posted.headers.get("location", "")).path.endswith("/tack"):
        alert = re.search(r'role="alert".*?</(?:div|section)>', posted.text, re.S)
        detail = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", alert.group(0) if alert else posted.text[:300]))
        tally.errors.append(f"POST {posted.status_code} {posted.headers.get('location', '')} {detail[:300]}")
        return
    if timed:
        tally.get_ms.append(get_ms)
        tally.post_ms.append(post_ms)


def make_client(base: str) -> Any:
    import httpx

    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(120.0),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


async def respondent(base: str, jobs: list[Job], answers: Answers, address: str, tally: Tally, think: float) -> None:
    if think:
        await asyncio.sleep(random.uniform(0, think))  # respondents do not all open their forms in one instant
    async with make_client(base) as client:
        for job in jobs:
            await one_form(client, job, answers, address, tally, True, think)


async def load(
    base: str, jobs: list[Job], warmup: int, concurrency: int, answers: Answers, think: float
) -> tuple[Tally, float]:
    """Warm-up forms one after another, then the rest by `concurrency` respondents at once; the timed seconds."""
    tally = Tally()
    async with make_client(base) as client:
        for job in jobs[:warmup]:
            await one_form(client, job, answers, "10.255.0.1", tally, timed=False)
    # respondent r answers for the actors whose index is r modulo concurrency: never two at once for one actor
    per: list[list[Job]] = [[] for _ in range(concurrency)]
    for job in jobs[warmup:]:
        per[job.actor % concurrency].append(job)
    t = time.perf_counter()
    await asyncio.gather(
        *(
            respondent(base, js, answers, f"10.{r // 250}.{r % 250}.{1 + r % 200}", tally, think)
            for r, js in enumerate(per)
        )
    )
    return tally, time.perf_counter() - t


# -- one database ------------------------------------------------------------------------------------------------


def run_one(
    kind: str,
    work: Path,
    forms: int,
    concurrency: int,
    actors: int,
    warmup: int,
    profile: Path | None,
    think: float = 0.0,
) -> dict[str, Any]:
    home = work / f"web-{kind}"
    home.mkdir(parents=True)
    url = fresh_database(kind, home)
    try:
        env = {
            **os.environ,
            "BFS_HOME": str(home),
            "BFS_DATABASE_URL": url,
            "BFS_HASH_KEY": HASH_KEY,
            "BFS_RATELIMIT_LINK": "100000/minute",
            "BFS_RATELIMIT_CLIENT": "100000/minute",
        }
        port = free_port()
        env["BFS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        roster = home / "roster.csv"
        write_roster(roster, actors)
        print(f"web {kind}: importing {actors} actors, opening the wave ...", file=sys.stderr, flush=True)
        bfs(env, "actors", "import", str(roster))
        wave = current_wave()
        opened = json.loads(bfs(env, "wave", "open", wave, "--json"))
        links = opened["links"]
        if len(links) != actors:
            raise SystemExit(f"web {kind}: bfs wave open printed {len(links)} links for {actors} actors")
        answers = Answers(opened["wave"])
        # form n is for actor n % actors, so each actor answers forms/actors times, each time a little differently
        jobs = []
        for n in range(forms):
            link = links[n % len(links)]
            jobs.append(Job(n, n % len(links), "/f/" + link["url"].rsplit("/f/", 1)[1], link["sector"]))
        prof = profile.with_name(f"{profile.name}.{kind}.raw") if profile is not None else None
        server = Server(env, port, prof)
        try:
            ready_s = server.wait_ready()
            print(f"web {kind}: {forms} forms by {concurrency} respondents ...", file=sys.stderr, flush=True)
            cpu0, mine0 = server.cpu_s(), _own_cpu_s()
            tally, seconds = asyncio.run(load(server.base, jobs, warmup, concurrency, answers, think))
            cpu_s, client_cpu_s = server.cpu_s() - cpu0, _own_cpu_s() - mine0
            peak = server.peak_mb()
        finally:
            server.stop()
        stored = count_responses(url)
    finally:
        drop_database(kind)
    if prof is not None and prof.exists():
        out = profile.with_name(f"{profile.name}.{kind}.txt")  # type: ignore[union-attr]
        out.write_text(summarise_profile(prof))
        print(f"web {kind}: profile in {out}", file=sys.stderr, flush=True)
    timed = forms - warmup
    return {
        "forms": forms,
        "warmup_forms": warmup,
        "timed_forms": timed,
        "concurrency": concurrency,
        "think_s": think,
        "actors": actors,
        "wave": opened["wave"],
        "get_p50_ms": percentile(tally.get_ms, 50),
        "get_p95_ms": percentile(tally.get_ms, 95),
        "post_p50_ms": percentile(tally.post_ms, 50),
        "post_p95_ms": percentile(tally.post_ms, 95),
        "get_max_ms": percentile(tally.get_ms, 100),
        "post_max_ms": percentile(tally.post_ms, 100),
        "errors": len(tally.errors),
        "error_samples": sorted(set(tally.errors))[:5],
        "posted": tally.posted,
        "stored": stored,
        "seconds": round(seconds, 2),
        "forms_per_s": round(timed / seconds, 1),
        "server_peak_mb": round(peak, 1),
        "server_cpu_s": round(cpu_s, 1),
        "client_cpu_s": round(client_cpu_s, 1),  # this process simulating the respondents, on the same machine
        "server_start_s": round(ready_s, 2),
    }


def summarise_profile(raw: Path, top: int = 45) -> str:
    """Where the server's threads were, sample by sample: running Python (by function, inclusive: what holds or
    wants the GIL), or waiting in a lock, a condition, a socket or a database call (by the innermost frame of the
    project's code that waits). Threads idle between requests (the event loop's select, a worker waiting for work)
    are left out."""
    lines = raw.read_text().splitlines()
    ticks = int(lines[0].split()[1])
    waits = ("threading.py:wait", "threading.py:acquire", "selectors.py:select", "queue.py:get", "socket.py:")
    idle = ("concurrent/futures/thread.py:_worker",)  # blocked in SimpleQueue.get (C): a pool thread with no work
    running: dict[str, int] = {}
    waiting: dict[str, int] = {}
    n_running = n_waiting = 0
    heavy: list[tuple[int, list[str]]] = []
    for line in lines[1:]:
        n_text, stack_text = line.split("\t", 1)
        n, stack = int(n_text), [f.replace(str(ROOT) + "/", "") for f in stack_text.split(" | ")]
        ours = [f for f in stack if f.startswith("bfs_pipeline/")]
        leaf = stack[-1]
        if any(i in leaf for i in idle):
            continue
        if any(w in leaf for w in waits):
            if not ours:
                continue  # idle: the event loop between events, a worker thread between requests
            where = f"{ours[-1]} waits in {leaf.rsplit(':', 1)[0].rsplit('/', 1)[-1]}"
            waiting[where] = waiting.get(where, 0) + n
            n_waiting += n
            continue
        n_running += n
        heavy.append((n, stack))
        for fn in {f.rsplit(":", 1)[0] for f in stack}:
            running[fn] = running.get(fn, 0) + n
    out = [
        f"{ticks} ticks of 5 ms: {n_running} thread-samples running Python, {n_waiting} waiting in the project's code",
        "",
        "running, inclusive share by function:",
    ]
    out += [
        f"{100 * n / max(n_running, 1):6.1f}%  {fn}" for fn, n in sorted(running.items(), key=lambda kv: -kv[1])[:top]
    ]
    out += ["", "waiting, share of waiting samples:"]
    out += [f"{100 * n / max(n_waiting, 1):6.1f}%  {w}" for w, n in sorted(waiting.items(), key=lambda kv: -kv[1])]
    out += ["", "heaviest running stacks (innermost 14 frames):"]
    for n, stack in sorted(heavy, key=lambda b: -b[0])[:25]:
        out.append(f"{100 * n / max(n_running, 1):6.1f}%  " + " <- ".join(reversed(stack[-14:])))
    return "\n".join(out) + "\n"


# -- all of it -------------------------------------------------------------------------------------------------


def run(
    databases: list[str],
    forms: int = 5000,
    concurrency: int = 50,
    actors: int = 1000,
    warmup: int = 10,
    profile: Path | None = None,
    think: float = 0.0,
) -> dict[str, Any]:
    """The figures per database, as `bench.py` puts them in its JSON under "web"."""
    if not 0 <= warmup < forms:
        raise SystemExit("--warmup must be less than --forms")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bfs-web-bench-") as tmp:
        for kind in databases:
            f = out[kind] = run_one(kind, Path(tmp), forms, concurrency, actors, warmup, profile, think)
            print(
                f"web {kind}: GET p50/p95 {f['get_p50_ms']}/{f['get_p95_ms']} ms, POST p50/p95 "
                f"{f['post_p50_ms']}/{f['post_p95_ms']} ms, {f['errors']} errors, {f['stored']} stored, "
                f"{f['forms_per_s']} forms/s, peak {f['server_peak_mb']} MB",
                file=sys.stderr,
                flush=True,
            )
    return out


def checks(web: dict[str, Any]) -> list[tuple[str, str, bool, str]]:
    """(measure, result, met, target) rows, as bench.py prints them."""
    rows = []
    for kind, f in web.items():
        rows += [
            (
                f"{kind}: web GET /f/TOKEN p50 / p95",
                f"{f['get_p50_ms']} / {f['get_p95_ms']} ms ({f['concurrency']} at once)",
                f["get_p95_ms"] is not None and f["get_p95_ms"] <= TARGETS["get_p95_ms"],
                "p95 <= 50 ms",
            ),
            (
                f"{kind}: web valid POST p50 / p95",
                f"{f['post_p50_ms']} / {f['post_p95_ms']} ms ({f['forms_per_s']} forms/s)",
                f["post_p95_ms"] is not None and f["post_p95_ms"] <= TARGETS["post_p95_ms"],
                "p95 <= 150 ms",
            ),
            (f"{kind}: web errors", f"{f['errors']} of {f['forms']} forms", f["errors"] == 0, "0"),
            (
                f"{kind}: web responses stored",
                f"{f['stored']} rows for {f['forms']} forms",
                f["stored"] == f["forms"],
                "= forms",
            ),
            (
                f"{kind}: web server peak memory",
                f"{f['server_peak_mb']} MB",
                f["server_peak_mb"] <= TARGETS["peak_mb"],
                "<= 400 MB",
            ),
        ]
    return rows


def print_checks(rows: list[tuple[str, str, bool, str]]) -> None:
    width = max(len(c[0]) for c in rows)
    print(f"{'measure':<{width}}  {'result':<40} target        met")
    for name, value, ok, target in rows:
        print(f"{name:<{width}}  {value:<40} {target:<13} {'yes' if ok else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--forms", type=int, default=5000, help="valid forms submitted in all (default 5 000)")
    ap.add_argument("--concurrency", type=int, default=50, help="respondents at once (default 50)")
    ap.add_argument("--actors", type=int, default=1000, help="organisations in the roster (default 1 000)")
    ap.add_argument("--warmup", type=int, default=10, help="forms sent one by one first, not timed (default 10)")
    ap.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument(
        "--think", type=float, default=0.0, help="seconds each respondent spends between GET and POST (default 0)"
    )
    ap.add_argument("--profile", type=Path, help="sample the server's stacks; summary in FILE.<database>.txt")
    args = ap.parse_args()
    started = time.perf_counter()
    web = run(
        args.databases.split(","), args.forms, args.concurrency, args.actors, args.warmup, args.profile, args.think
    )
    rows = checks(web)
    print_checks(rows)
    for kind, f in web.items():
        for sample in f["error_samples"]:
            print(f"{kind}: error: {sample}")
    figures = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "web": web,
        "total_s": round(time.perf_counter() - started, 1),
        "targets_met": {name: ok for name, _, ok, _ in rows},
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
