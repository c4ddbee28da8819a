"""One answer sheet into the database: every row accepted, a duplicate, blank or quarantined, and the counts add up."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import asdict, astuple, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine, Table, insert, select, text, update
from sqlalchemy.orm import Session

from bfs_pipeline import db, validation
from bfs_pipeline import normalize as nz
from bfs_pipeline.errors import HeaderError, SourceError
from bfs_pipeline.models import IngestRun, KeptKind, QuarantinedRow, Response
from bfs_pipeline.outreach import matching, prefill
from bfs_pipeline.privacy import hash_of, masked
from bfs_pipeline.sources.base import CHUNK_ROWS, RawBatch, SheetHints, Source
from bfs_pipeline.survey import Survey

RESPONSES_TABLE = cast(Table, Response.__table__)
QUARANTINE_TABLE = cast(Table, QuarantinedRow.__table__)
CHUNK = 500  # keys per IN (...) query
ANALYZE_ROWS = 1000  # a chunk this large makes PostgreSQL's statistics stale; a web form's one row does not


class HoldError(HeaderError):
    """The whole sheet is held for a reason other than its header (it shrank suddenly)."""


class RunStatus(StrEnum):
    """What became of one source in one run (stored as text in ingest_runs.status)."""

    RUNNING = "running"
    OK = "ok"  # every row accepted, a duplicate, blank or quarantined
    HELD = "held"  # nothing stored: the header (or a sudden shrink) holds the whole sheet
    FAILED = "failed"  # the source could not be read (no run row), or its file failed while read
    UNCHANGED = "unchanged"  # the same content was read before; not read again
    INTERRUPTED = "interrupted"  # the process running it died (killed, the machine restarted)


@dataclass
class IngestResult:
    """What one source run did; rows_seen == accepted + duplicates + blank + quarantined.

    run_id is None where no run was stored (a source that could not be read). set_aside counts answers, not rows:
    the invalid answers to optional questions this run kept apart from rows it accepted. sector_inferred is the
    sector told by the header alone (no hint, file name or sector column said it), and note says why.
    """

    run_id: int | None
    source: str
    survey: str
    sector: str | None
    wave: str | None
    status: RunStatus
    rows_seen: int = 0
    accepted: int = 0
    duplicates: int = 0
    blank: int = 0
    quarantined: int = 0
    set_aside: int = 0
    error: str | None = None
    waves: list[str] = field(default_factory=list)
    sector_inferred: str | None = None
    note: str | None = None

    @classmethod
    def started(cls, run_id: int, batch: RawBatch, survey: Survey) -> IngestResult:
        return cls(run_id, batch.source, survey.id, batch.sector, batch.wave, RunStatus.RUNNING)

    @classmethod
    def unchanged(cls, earlier_run: int, source: str, survey_id: str, hints: SheetHints) -> IngestResult:
        """The sheet was read before with exactly this content (in run earlier_run)."""
        return cls(earlier_run, source, survey_id, hints.sector, hints.wave, RunStatus.UNCHANGED)

    @classmethod
    def failed(cls, source: str, survey_id: str, hints: SheetHints, error: str) -> IngestResult:
        """The source could not be read: nothing was stored from it."""
        return cls(None, source, survey_id, hints.sector, hints.wave, RunStatus.FAILED, error=error)

    @property
    def bad(self) -> bool:
        return self.status in (RunStatus.HELD, RunStatus.FAILED)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = str(self.status)
        return out


def wave_for(ts: dt.datetime, tz: str) -> str:
    """The quarter a local timestamp falls in, as YYYY-Qn."""
    local = ts.astimezone(ZoneInfo(tz))
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def content_hash(record: dict[str, Any]) -> str:
    blob = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def answer_hash(
    survey_id: str, sector: str, wave: str, submitted: dt.datetime, email: str | None, answers: dict[str, Any]
) -> str:
    """What makes a stored answer the same answer: its survey, sector, wave, UTC time, e-mail hash and answers.

    orjson with sorted keys (json.dumps was a tenth of the whole ingest); migration 0005 computes the same
    for answers stored before, so keep the two in step.
    """
    record = {
        "survey": survey_id,
        "sector": sector,
        "wave": wave,
        "submitted_at": submitted.isoformat(),
        "email": email,
        "answers": answers,
    }
    try:
        blob = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        blob = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _raw_row(batch: RawBatch, row: list[str], key: bytes) -> dict[str, str]:
    """A row as kept in quarantine: every cell by its column title, e-mail addresses as their keyed hashes."""
    raw = {}
    for i, title in enumerate(batch.header):
        name = nz.clean(title) or f"(kolumn {i + 1})"
        raw[name] = masked(nz.clean(row[i]), key) if i < len(row) else ""
    for j in range(len(batch.header), len(row)):
        if nz.clean(row[j]):
            raw[f"(kolumn {j + 1})"] = masked(nz.clean(row[j]), key)
    return raw


ROW_START = re.compile(r'\n"?(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})\b[^\n]*[,;][^\n]*[,;]')


def swallowed_rows(cell: str) -> int:
    """How many lines of a cell look like whole answer rows (a line break, a date, delimiters): what a quote that
    is never closed makes of the rows after it."""
    return len(ROW_START.findall(cell)) if "\n" in cell else 0


def wave_start(wave: str, tz: str) -> dt.datetime:
    year, q = int(wave[:4]), int(wave[-1])
    return dt.datetime(year, 3 * q - 2, 1, tzinfo=ZoneInfo(tz))


def sheet_key(survey_id: str, sector: str | None, wave: str | None, fingerprint: str) -> str:
    """Identifies a sheet's exact content, and what it was read as."""
    return content_hash({"survey": survey_id, "sector": sector, "wave": wave, "content": fingerprint})


def sheet_hash(batch: RawBatch, survey: Survey) -> str:
    fingerprint = batch.fingerprint or content_hash(
        {"header": batch.header, "rows": batch.rows, "rownums": batch.sheet_rows}
    )
    return sheet_key(survey.id, batch.sector, batch.wave, fingerprint)


def unchanged_since(engine: Engine, batch: RawBatch | tuple[str, str], survey: Survey) -> int | None:
    """The run that already read this very sheet (same source, same content), if any.

    A (source, sheet key) pair may stand for the batch.
    """
    source, key = (batch.source, sheet_hash(batch, survey)) if isinstance(batch, RawBatch) else batch
    return _last_run(engine, source, key)


def unread_since(engine: Engine, source: Source, survey: Survey) -> int | None:
    """The run that read this source's present content, told by its fingerprint alone (no parsing).

    None where the source has no fingerprint. The same bytes read as the same sheet are the same sheet wherever the
    file lies now: a sheet moved to inbox/read/ after its run, or a copy of it, is not read again.
    """
    digest = source.fingerprint()
    if digest is None:
        return None
    hints = source.hints
    sector = survey.sector_code(hints.sector) or hints.sector
    return _last_run(engine, None, sheet_key(survey.id, sector, hints.wave, digest))


def _last_run(engine: Engine, source: str | None, key: str) -> int | None:
    """The newest run that read the sheet with this key (from this source, or any with source None)."""
    q = select(IngestRun.id).where(IngestRun.sheet_hash == key, IngestRun.status.in_((RunStatus.OK, RunStatus.HELD)))
    if source is not None:
        q = q.where(IngestRun.source == source)
    with Session(engine) as s:
        return s.scalar(q.order_by(IngestRun.id.desc()).limit(1))


def _start_run(engine: Engine, batch: RawBatch, survey: Survey) -> int:
    with Session(engine) as s, s.begin():
        run = IngestRun(
            source=batch.source,
            survey_id=survey.id,
            sector=batch.sector,
            wave=batch.wave,
            status=RunStatus.RUNNING,
            owner=process_owner(),
            rows_seen=0,  # counted as the rows are read
            sheet_hash=sheet_hash(batch, survey),
        )
        s.add(run)
        s.flush()
        return run.id


def _started(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        if not Path("/proc/self/stat").exists():  # no /proc (not Linux): whether the pid exists at all
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                return ""
            return ""
        return None


def process_owner(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or ''}"


def _gone(owner: str | None) -> bool:
    """Whether the process that owns a run has ended; a run of another machine is never judged from here."""
    if not owner:
        return True  # a run of a version before runs had owners: no such process runs it now
    host, pid, started = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    now = _started(int(pid))
    return now is None or (started != "" and now != "" and now != started)


def mark_interrupted(engine: Engine) -> int:
    """Runs still 'running' whose process has ended become 'interrupted' (what `bfs status` then shows)."""
    with Session(engine) as s, s.begin():
        stale = [r for r in s.scalars(select(IngestRun).where(IngestRun.status == RunStatus.RUNNING)) if _gone(r.owner)]
        for r in stale:
            r.status = RunStatus.INTERRUPTED
            r.finished_at = dt.datetime.now(dt.UTC)
            r.error = "the process running it ended before it finished (killed, or the machine restarted); what its "
            r.error += "committed chunks stored counts: read the sheet again to store the rest"
        return len(stale)


def previous_rows(engine: Engine, source: str) -> int | None:
    """How many rows the source had at its last successful read."""
    with Session(engine) as s:
        return s.scalar(
            select(IngestRun.rows_seen)
            .where(IngestRun.source == source, IngestRun.status == RunStatus.OK)
            .order_by(IngestRun.id.desc())
            .limit(1)
        )


SHRINK_MIN_ROWS = 10  # below this a sheet is too small to judge
SHRINK_RATIO = 0.5


def shrink_guard(engine: Engine, batch: RawBatch) -> str | None:
    """A reason to hold a Google sheet that lost most of its rows since its last pull (rows deleted or a wrong tab)."""
    if not batch.source.startswith("gsheet:"):
        return None
    before = previous_rows(engine, batch.source)
    now = batch.row_count()
    if before is not None and before >= SHRINK_MIN_ROWS and now < before * SHRINK_RATIO:
        return (
            f"{batch.source} has {now} rows, its previous pull had {before}: nothing from it was stored. "
            "If rows were deleted on purpose, nothing needs doing (stored answers stay); otherwise check the sheet."
        )
    return None


@dataclass(frozen=True)
class SheetContext:
    """What every chunk of one sheet is judged with: the batch, its survey and header, and how to read and hash it."""

    batch: RawBatch
    survey: Survey
    header: nz.HeaderMap
    run_id: int
    key: bytes  # the hash key for respondent e-mails
    tz: str
    locale: str | None
    lang: str
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    matcher: matching.Matcher | None = None  # the roster, for a sheet's rows (a personal link names its actor)
    codes: dict[str, dict[str, int]] = field(default_factory=dict)  # wave -> pre-filled form code -> actor

    def code_actor(self, wave: str, text: str | None) -> int | None:
        """The actor a pre-filled Google Form's code names in a wave (outreach.prefill); None: no such code."""
        code = prefill.clean_code(text)
        if code is None or self.matcher is None:
            return None
        if wave not in self.codes:
            self.codes[wave] = prefill.actor_codes(self.key, self.survey.id, wave, self.matcher.actor_ids())
        return self.codes[wave].get(code)

    @property
    def org_id(self) -> str:
        return _org_id(self.survey)

    @property
    def first_wave(self) -> str | None:
        return min(self.survey.waves) if self.survey.waves else None

    @functools.cached_property
    def plausible(self) -> tuple[dt.datetime | None, dt.datetime]:
        """The earliest and latest time an answer can have: the survey's first wave, now (an hour's grace)."""
        first = self.first_wave
        return (wave_start(first, self.tz) if first else None), self.now + dt.timedelta(hours=1)

    def implausible(self, submitted: dt.datetime) -> bool:
        """A timestamp after the time of reading or before the survey's first wave."""
        earliest, latest = self.plausible
        return submitted > latest or (earliest is not None and submitted < earliest)


@dataclass
class Chunk:
    """Rows of a sheet with answers in them: their cleaned cells, the rows as read, and their sheet row numbers."""

    cells: nz.Cells
    raw: list[list[str]]
    sheet_rows: list[int]


def ingest_batch(
    engine: Engine,
    batch: RawBatch,
    survey: Survey,
    key: bytes,
    lang: str = "sv",
    skip_unchanged: bool = False,
    hold: str | None = None,
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Normalise, validate and store one batch; a header problem holds every row of it.

    With skip_unchanged, a sheet read before with exactly this content is not read again (status
    "unchanged", every count 0): what the nightly flow does, so that an idle night costs next to nothing.
    on_chunk is called with the counts so far after each chunk of rows is stored.
    """
    code = survey.sector_code(batch.sector)
    if code is not None and code != batch.sector:  # "Polis" from a configuration: the same sheet as "polis"
        batch = replace(batch, sector=code)
    if skip_unchanged:
        earlier = unchanged_since(engine, batch, survey)
        if earlier is not None:
            return IngestResult.unchanged(earlier, batch.source, survey.id, SheetHints(batch.sector, batch.wave))
    result = IngestResult.started(_start_run(engine, batch, survey), batch, survey)
    stored = Counts.of(result)  # what the committed chunks hold: a failure leaves the run with these counts
    try:
        _ingest_rows(engine, batch, survey, key, lang, hold, result, stored, on_chunk)
    except SourceError as exc:  # the file itself (its bytes, its quoting) fails this sheet alone
        stored.put(result)
        result.status, result.error = RunStatus.FAILED, str(exc)
        with Session(engine) as s, s.begin():
            _finish(s, result)
    except BaseException as exc:
        stored.put(result)
        result.status, result.error = RunStatus.FAILED, f"the run stopped ({type(exc).__name__})"
        with contextlib.suppress(Exception), Session(engine) as s, s.begin():  # the database may be the reason
            _finish(s, result)
        raise
    return result


@dataclass
class Counts:
    """A run's counts at a moment: those of its committed chunks."""

    rows_seen: int = 0
    accepted: int = 0
    duplicates: int = 0
    blank: int = 0
    quarantined: int = 0
    set_aside: int = 0

    @classmethod
    def of(cls, r: IngestResult) -> Counts:
        return cls(r.rows_seen, r.accepted, r.duplicates, r.blank, r.quarantined, r.set_aside)

    def take(self, r: IngestResult) -> None:
        (self.rows_seen, self.accepted, self.duplicates, self.blank, self.quarantined, self.set_aside) = astuple(
            Counts.of(r)
        )

    def put(self, r: IngestResult) -> None:
        r.rows_seen, r.accepted, r.duplicates, r.blank, r.quarantined, r.set_aside = astuple(self)


def _ingest_rows(
    engine: Engine,
    batch: RawBatch,
    survey: Survey,
    key: bytes,
    lang: str,
    hold: str | None,
    result: IngestResult,
    stored: Counts,
    on_chunk: Callable[[IngestResult], None] | None,
) -> None:
    try:
        if not any(nz.clean(h) for h in batch.header):
            raise HeaderError(
                f"{batch.source} is empty: it has no header row yet. Nothing was stored; "
                "check that it is the form's response sheet."
            )
        if hold:
            raise HoldError(hold)
        header = nz.map_header(batch, survey)
    except HeaderError as exc:
        _hold(engine, batch, result, exc, lang, key)
        return
    if header.inferred is not None:
        result.sector = result.sector_inferred = header.inferred.sector
        result.note = header.inferred.note()
    stamp = next((i for i, c in header.positions.items() if c.type == "timestamp"), None)
    locale = batch.locale or nz.infer_locale(batch.column(stamp) if stamp is not None else [], survey.locale)
    assert result.run_id is not None
    matcher = matching.load_matcher(engine, survey.county) if batch.actor_id is None else None
    if matcher is not None and matcher.empty:
        matcher = None  # no roster for the county: nothing to match
    ctx = SheetContext(
        batch, survey, header, result.run_id, key, batch.timezone or survey.timezone, locale, lang, matcher=matcher
    )
    waves: set[str] = set()
    for number, (rows, numbers) in enumerate(batch.chunks(CHUNK_ROWS)):  # bounded memory: a chunk of rows at a time
        result.rows_seen += len(rows)
        cells = nz.answer_cells(rows, len(batch.header), header)
        live = cells.answered()
        result.blank += len(rows) - len(live)
        verdicts = _judge(ctx, Chunk(cells.take(live), [rows[i] for i in live], [numbers[i] for i in live]))
        result.quarantined += len(verdicts.quarantine)
        fresh = _store_chunk(engine, ctx, verdicts, result, analyze=number % 4 == 0)
        result.accepted += len(fresh)
        stored.take(result)
        waves.update(c["wave"] for c in fresh)
        if on_chunk:
            on_chunk(result)  # a long sheet shows its progress
    result.waves = sorted(waves)
    result.status = RunStatus.OK
    with Session(engine) as s, s.begin():
        _finish(s, result)


def _hold(engine: Engine, batch: RawBatch, result: IngestResult, exc: HeaderError, lang: str, key: bytes) -> None:
    """Keep every row of a held sheet in quarantine, in one transaction: all of them or none."""
    rule = "held" if isinstance(exc, HoldError) else "header"
    result.status, result.error = RunStatus.HELD, str(exc)
    column = "(blad)" if rule == "held" else "(rubrikrad)"
    reason = validation.Reason(
        column if lang == "sv" else column.replace("blad", "sheet").replace("rubrikrad", "header"),
        "",
        rule,
        validation.message(rule, lang, detail=str(exc)),
    )
    with Session(engine) as s, s.begin():
        for rows, numbers in batch.chunks(CHUNK_ROWS):
            s.execute(
                insert(QUARANTINE_TABLE),
                [
                    {
                        "run_id": result.run_id,
                        "source": batch.source,
                        "sheet_row": n,
                        "raw": _raw_row(batch, row, key),
                        "reasons": [reason.as_json()],
                    }
                    for row, n in zip(rows, numbers, strict=True)
                ],
            )
            result.rows_seen = result.quarantined = result.quarantined + len(rows)
        _finish(s, result)


def _store_chunk(
    engine: Engine, ctx: SheetContext, verdicts: Verdicts, result: IngestResult, analyze: bool
) -> list[dict[str, Any]]:
    """Store one chunk's verdicts in one transaction; returns the answers that were new (the others are duplicates).

    An answer set aside is kept only with a response stored now: a duplicate sets nothing aside again.

    The transaction holds the lock on the survey's waves it writes (BEGIN IMMEDIATE on SQLite, advisory locks on
    PostgreSQL) from its first read: a concurrent ingest of the same respondents waits and then sees these answers,
    so that one answer per respondent and wave counts, as the partial unique index uq_responses_current demands.
    """
    quarantine, candidates = verdicts.quarantine, verdicts.candidates
    with Session(db.writer(engine)) as s, s.begin():
        db.lock(s, *(f"responses:{ctx.survey.id}:{w}" for w in sorted({c["wave"] for c in candidates})))
        known = _existing_hashes(s, [c["content_hash"] for c in candidates])  # earlier chunks are committed
        fresh = []
        for c in candidates:
            if c["content_hash"] in known:
                result.duplicates += 1
            else:
                known.add(c["content_hash"])
                fresh.append(c)
        if quarantine:
            s.execute(insert(QUARANTINE_TABLE), quarantine)
        if fresh:
            _settle(s, ctx.survey.id, fresh)
            stored = _insert_new(s, engine.dialect.name, fresh, ctx.run_id)
            result.duplicates += len(fresh) - len(stored)  # already there after all: a duplicate, never an error
            fresh = [c for c in fresh if c["content_hash"] in stored]
            aside = [entry for c in fresh for entry in verdicts.aside.get(c["content_hash"], ())]
            if aside:
                s.execute(insert(QUARANTINE_TABLE), aside)
                result.set_aside += len(aside)
            if engine.dialect.name == "postgresql" and analyze and len(fresh) >= ANALYZE_ROWS:
                s.execute(text("ANALYZE responses"))  # a table that grew fast keeps its index plans
        s.execute(update(IngestRun).where(IngestRun.id == ctx.run_id).values(rows_seen=result.rows_seen))  # progress
    return fresh


def _insert_new(s: Session, dialect: str, rows: list[dict[str, Any]], run_id: int) -> set[str]:
    """Insert answers, skipping any whose content hash is already stored; the content hashes inserted.

    A plain executemany (RETURNING would make the driver build one huge statement: twice the ingest time on
    PostgreSQL). Under the chunk's lock no hash can have come in since it was looked for, so the row count is
    all rows; should it ever fall short, the rows of this run tell which were inserted.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = maker(RESPONSES_TABLE).on_conflict_do_nothing(index_elements=["content_hash"])
    inserted = s.execute(stmt, rows).rowcount  # type: ignore[attr-defined]
    hashes = [r["content_hash"] for r in rows]
    if inserted == len(rows):
        return set(hashes)
    ours: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        ours.update(
            s.scalars(
                select(Response.content_hash).where(
                    Response.content_hash.in_(hashes[start : start + CHUNK]), Response.run_id == run_id
                )
            )
        )
    return ours


@dataclass
class Verdicts:
    """A chunk judged: rows quarantined, answers to store, and per answer (by content hash) the answers set aside."""

    quarantine: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    aside: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _judge(ctx: SheetContext, chunk: Chunk) -> Verdicts:
    """Validate a chunk of rows: quarantined rows with their reasons, the answers to store, and the invalid answers
    to optional questions set aside from them (the row is accepted without them)."""
    batch, survey, header, rows = ctx.batch, ctx.survey, ctx.header, chunk.cells
    prepared = validation.prepare(rows, header.columns, survey, header.sector, ctx.tz, ctx.locale)
    failures = validation.validator().failures(prepared, header.columns)
    out = Verdicts()
    quarantine, candidates = out.quarantine, out.candidates
    org_id, mq = ctx.org_id, matching.municipalities_of(survey)
    emails = rows.column("email")
    codes = rows.column("code") if any(c.type == "code" for c in header.positions.values()) else None
    for pos, (raw_row, sheet_row) in enumerate(zip(chunk.raw, chunk.sheet_rows, strict=True)):
        fails = failures.get(pos) or []
        keep_out, set_aside = validation.split_failures(fails, header.columns) if fails else (fails, {})
        sector, submitted = prepared.sectors[pos], prepared.submitted[pos]
        about_row = _row_reasons(ctx, rows, pos, raw_row, sheet_row, submitted)
        if keep_out or about_row or sector is None or submitted is None:  # every failing cell named, optional too
            reasons = validation.reasons_for(fails, rows.row(pos), header.columns, survey, ctx.lang) + about_row
            quarantine.append(
                {
                    "run_id": ctx.run_id,
                    "source": batch.source,
                    "sheet_row": sheet_row,
                    "raw": _raw_row(batch, raw_row, ctx.key),
                    "reasons": _kept_reasons(reasons, ctx.key),
                }
            )
            continue
        assert submitted is not None
        wave = batch.wave or wave_for(submitted, ctx.tz)
        email = emails[pos]
        ehash = hash_of(email, ctx.key) if email else None
        answers = prepared.answers[pos]
        if set_aside:
            answers = {q: v for q, v in answers.items() if q not in set_aside}
        org = answers.get(org_id)
        actor_id, known = batch.actor_id, org
        by_code = ctx.code_actor(wave, codes[pos]) if codes is not None and actor_id is None else None
        if by_code is not None and ctx.matcher is not None:  # exact, like a personal link
            actor_id = by_code
            known = found_name.name if (found_name := ctx.matcher.actor(by_code)) else org
        elif actor_id is None and ctx.matcher is not None and org:
            found = ctx.matcher.match(org, sector, answers.get(mq) if mq else None)
            if found.certain:  # the actor's name is the respondent, as in the web form: the two supersede each other
                actor_id, known = found.actor_id, found.name
        respondent = ehash or (content_hash({"org": nz.key(known), "sector": sector}) if known else None)
        digest = answer_hash(survey.id, sector, wave, submitted, ehash, answers)
        candidates.append(
            {
                "survey_id": survey.id,
                "sector": sector,
                "wave": wave,
                "submitted_at": submitted,
                "respondent_key": respondent,
                "email_hash": ehash,
                "organisation": org,
                "content_hash": digest,
                "answers": answers,
                "source": batch.source,
                "sheet_row": sheet_row,
                "run_id": ctx.run_id,
                "is_current": True,
                "actor_id": actor_id,
                "matched_by": matching.Method.CODE.value if by_code is not None else None,
            }
        )
        if digest not in out.aside:  # the first of identical rows is the one stored; the others are duplicates
            aside = _set_aside(ctx, set_aside, rows.row(pos), raw_row, sheet_row, digest) if set_aside else []
            out.aside[digest] = aside
    return out


def _row_reasons(
    ctx: SheetContext, rows: nz.Cells, pos: int, raw_row: list[str], sheet_row: int, submitted: dt.datetime | None
) -> list[validation.Reason]:
    """What is wrong with a row as a whole, not with one answer: cells beyond the header, a cell that swallowed
    rows, a timestamp that cannot be right."""
    out = []
    if pos in rows.extra:
        out.append(
            validation.Reason(
                f"(kolumn {len(ctx.batch.header) + 1}+)",
                rows.extra[pos],
                "extra_cells",
                validation.message("extra_cells", ctx.lang),
            )
        )
    out += _swallowing(ctx, raw_row, sheet_row)
    if submitted is not None and ctx.implausible(submitted):
        out.append(_out_of_range(ctx, rows.row(pos).get("timestamp", "")))
    return out


def _kept_reasons(reasons: list[validation.Reason], key: bytes) -> list[dict[str, str]]:
    """Reasons as kept: the value as it stood, e-mail addresses as their keyed hashes."""
    return [{**r.as_json(), "value": masked(r.value, key)} for r in reasons]


def _set_aside(
    ctx: SheetContext,
    failures: dict[str, list[validation.Failure]],
    cells: dict[str, str],
    raw_row: list[str],
    sheet_row: int,
    digest: str,
) -> list[dict[str, Any]]:
    """One quarantine entry of kind answer per optional question whose answer is invalid, tied to its response."""
    raw = _raw_row(ctx.batch, raw_row, ctx.key)
    return [
        {
            "run_id": ctx.run_id,
            "source": ctx.batch.source,
            "sheet_row": sheet_row,
            "raw": raw,
            "reasons": _kept_reasons(
                validation.reasons_for(fails, cells, ctx.header.columns, ctx.survey, ctx.lang), ctx.key
            ),
            "kind": KeptKind.ANSWER.value,
            "question_id": ident,
            "response_hash": digest,
        }
        for ident, fails in failures.items()
    ]


def _swallowing(ctx: SheetContext, raw_row: list[str], sheet_row: int) -> list[validation.Reason]:
    """A reason for each cell that swallowed what look like whole rows: never accepted silently."""
    if "\n" not in "".join(raw_row):  # one search per row: almost no row has a line break at all
        return []
    out = []
    for i, cell in enumerate(raw_row):
        n = swallowed_rows(cell)
        if n:
            title = nz.clean(ctx.batch.header[i]) if i < len(ctx.batch.header) else f"(kolumn {i + 1})"
            first_line = cell.split("\n", 1)[0][:80]
            out.append(
                validation.Reason(
                    title,
                    first_line + " …",
                    "swallowed_rows",
                    validation.message("swallowed_rows", ctx.lang, row=sheet_row, n=n),
                )
            )
    return out


def _out_of_range(ctx: SheetContext, text: str) -> validation.Reason:
    title = next((c.title for c in ctx.header.columns if c.type == "timestamp"), "timestamp")
    first = ctx.first_wave or "-"
    return validation.Reason(
        title, text, "timestamp_out_of_range", validation.message("timestamp_out_of_range", ctx.lang, first=first)
    )


def _org_id(survey: Survey) -> str:
    return next(q.id for q in survey.core if q.type == "organisation")


def _existing_hashes(s: Session, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start : start + CHUNK]
        found.update(s.scalars(select(Response.content_hash).where(Response.content_hash.in_(chunk))))
    return found


def _settle(s: Session, survey_id: str, fresh: list[dict[str, Any]]) -> None:
    """Within each (wave, respondent) the newest answer counts; older ones stay as history.

    Decided before the fresh answers are inserted, so that no moment has two current answers: each fresh answer
    gets its is_current, and stored answers a fresh one supersedes are turned off. A fresh answer wins a tie in
    time against a stored one, and the later of two in one sheet wins. Only respondents already stored are read.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for pos, c in enumerate(fresh):
        if c["respondent_key"]:
            groups.setdefault((c["wave"], c["respondent_key"]), []).append(pos)
    stored: dict[tuple[str, str], list[Any]] = {}
    respondents = sorted({r for _, r in groups})
    for start in range(0, len(respondents), CHUNK):
        rows = s.execute(
            select(
                Response.id, Response.wave, Response.respondent_key, Response.submitted_at, Response.is_current
            ).where(Response.survey_id == survey_id, Response.respondent_key.in_(respondents[start : start + CHUNK]))
        ).all()
        for r in rows:
            if (r.wave, r.respondent_key) in groups:
                stored.setdefault((r.wave, r.respondent_key), []).append(r)
    off, on = [], []
    for group, positions in groups.items():
        earlier = stored.get(group, [])
        if len(positions) == 1 and not earlier:
            continue  # a first answer: current, as inserted
        ranked = [((_aware(r.submitted_at), 0, r.id), r.id) for r in earlier]
        ranked += [((_aware(fresh[p]["submitted_at"]), 1, p), -1 - p) for p in positions]
        newest = max(ranked)[1]  # a stored answer's id, or -1 - position of a fresh one
        for p in positions:
            fresh[p]["is_current"] = newest == -1 - p
        off += [r.id for r in earlier if r.is_current and r.id != newest]
        on += [r.id for r in earlier if not r.is_current and r.id == newest]
    for ids, value in ((off, False), (on, True)):  # off first: never two current answers, even inside the transaction
        for start in range(0, len(ids), CHUNK):
            s.execute(update(Response).where(Response.id.in_(ids[start : start + CHUNK])).values(is_current=value))


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _finish(s: Session, result: IngestResult) -> None:
    assert result.rows_seen == result.accepted + result.duplicates + result.blank + result.quarantined, result
    s.execute(
        update(IngestRun)
        .where(IngestRun.id == result.run_id)
        .values(
            status=result.status,
            error=result.error,
            finished_at=dt.datetime.now(dt.UTC),
            rows_seen=result.rows_seen,
            accepted=result.accepted,
            duplicates=result.duplicates,
            blank=result.blank,
            quarantined=result.quarantined,
            set_aside=result.set_aside,
            sector=result.sector,
        )
    )
