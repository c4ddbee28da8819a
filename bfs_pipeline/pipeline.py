"""The stages joined: what the CLI and the Prefect flows call. Plain functions, no Prefect here.

Which sources there are is the catalog's business (`sources.catalog`); this module only takes each source
through pull -> ingest, renders reports and hands them to the outbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bfs_pipeline import db, municipal, yearly
from bfs_pipeline.config import Settings
from bfs_pipeline.errors import SourceError
from bfs_pipeline.ingest import (
    IngestResult,
    RunStatus,
    ingest_batch,
    mark_interrupted,
    shrink_guard,
    unchanged_since,
    unread_since,
)
from bfs_pipeline.mailer import Outcome, deliver
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.records import retention
from bfs_pipeline.report import Report, build_report, write_report
from bfs_pipeline.sources import catalog
from bfs_pipeline.sources.base import NO_HINTS, RawBatch, SheetHints, Source, SourceKind
from bfs_pipeline.store import current_responses
from bfs_pipeline.survey import Survey, load_surveys, pick_survey, wave_of

_SWEPT: set[str] = set()


def _swept(settings: Settings, engine: Engine) -> Engine:
    """Once per process and database: runs left 'running' by a process that died are marked interrupted."""
    if settings.database_url not in _SWEPT:
        _SWEPT.add(settings.database_url)
        mark_interrupted(engine)
    return engine


def open_store(settings: Settings) -> Engine:
    """An engine on the settings' database; the caller disposes of it (or use `database`)."""
    return _swept(settings, db.open_database(settings.database_url, lambda: hash_key(settings.hash_key, settings.home)))


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """The settings' database for the length of a block, disposed of at its end."""
    with db.opened(settings.database_url, lambda: hash_key(settings.hash_key, settings.home)) as engine:
        yield _swept(settings, engine)


def survey_for(settings: Settings, survey_id: str | None) -> Survey:
    return pick_survey(load_surveys(settings.surveys_dir), survey_id)


def surveys_for(settings: Settings, survey_id: str | None) -> list[Survey]:
    """One survey when named, else all of them (one installation can serve several counties)."""
    return catalog.surveys(settings, survey_id)


def ingest_one(
    engine: Engine,
    settings: Settings,
    survey: Survey,
    batch: RawBatch,
    skip_unchanged: bool = False,
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest one batch, holding a sheet that is empty or suddenly far shorter than its previous pull."""
    key = hash_key(settings.hash_key, settings.home)
    return ingest_batch(
        engine, batch, survey, key, settings.lang, skip_unchanged, hold=shrink_guard(engine, batch), on_chunk=on_chunk
    )


def pull(
    engine: Engine, survey: Survey | None, source: Source, skip_unchanged: bool = True, catch: bool = True
) -> RawBatch | IngestResult:
    """Read one source: its batch, or a settled result (unchanged since its last run, or failed with its reason).

    A file whose bytes have not changed is not even parsed. With catch false, a SourceError is raised (a Prefect
    task retries on the transient ones). A source of no survey (a stray file) always fails.
    """
    survey_id = survey.id if survey is not None else ""
    try:
        if survey is None:
            return source.read()  # raises: a stray file is never read
        if skip_unchanged and (earlier := unread_since(engine, source, survey)) is not None:
            hints = source.hints  # a configured sector in any letter case, as the survey spells it
            hints = SheetHints(survey.sector_code(hints.sector) or hints.sector, hints.wave, hints.locale)
            return IngestResult.unchanged(earlier, source.name, survey_id, hints)
        batch = source.read()
    except SourceError as exc:
        if not catch:
            raise
        return IngestResult.failed(source.name, survey_id, source.hints, str(exc))
    if skip_unchanged and (earlier := unchanged_since(engine, batch, survey)) is not None:
        return IngestResult.unchanged(earlier, batch.source, survey_id, SheetHints(batch.sector, batch.wave))
    return batch


def ingest_source(
    engine: Engine,
    settings: Settings,
    survey: Survey | None,
    source: Source,
    skip_unchanged: bool = False,
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """One source, pulled and (unless settled) stored: the body of every ingest loop."""
    got = pull(engine, survey, source, skip_unchanged)
    if isinstance(got, IngestResult):
        return got
    assert survey is not None
    result = ingest_one(engine, settings, survey, got, on_chunk=on_chunk)
    if source.kind == SourceKind.FILE:
        file_away(settings, survey, result)
    return result


def file_away(settings: Settings, survey: Survey, result: IngestResult) -> Path | None:
    """An inbox sheet read without trouble (status ok) moves to read/WAVE/ in its folder; held and failed ones stay."""
    if result.status != RunStatus.OK:
        return None
    wave = result.wave or (max(result.waves) if result.waves else None)
    return retention.file_away(catalog.inbox_folder(settings, survey), Path(result.source), wave)


def prune_inbox(settings: Settings) -> list[dict[str, Any]]:
    """Read sheets older than BFS_INBOX_KEEP_DAYS are removed, each logged with its digest."""
    return retention.prune(settings.inbox, settings.inbox_keep_days)


def ingest_files(
    settings: Settings,
    survey_id: str | None = None,
    file: Path | None = None,
    hints: SheetHints = NO_HINTS,
    progress: Callable[[IngestResult], None] | None = None,
    only: str | None = None,
    on_chunk: Callable[[IngestResult], None] | None = None,
    skip_unchanged: bool = False,
    connect: catalog.Connect | None = None,
) -> list[IngestResult]:
    """Ingest one file, one named source, or every source of every survey; a source that cannot be read is reported and
    the others still run. A --file that cannot be read raises."""
    todo = catalog.plan(settings, survey_id, only, hints, file, connect)
    results = []
    with database(settings) as engine:
        for survey, source in todo:
            res = ingest_source(engine, settings, survey, source, skip_unchanged, on_chunk)
            if file is not None and res.status == "failed":
                raise SourceError(res.error or f"Cannot read {file}.")
            results.append(res)
            if progress:
                progress(res)
    prune_inbox(settings)
    return results


def nightly(settings: Settings, survey_id: str | None = None, hints: SheetHints = NO_HINTS) -> list[IngestResult]:
    """What the nightly flow does, without Prefect: every source of every survey, skipping what has not changed."""
    return ingest_files(settings, survey_id, hints=hints, skip_unchanged=True)


@dataclass
class SourceCheck:
    """`bfs sources check` for one source: can it be read, and how its columns map to the survey's questions."""

    source: str
    survey: str | None
    readable: bool = False
    ok: bool = False
    error: str | None = None
    rows: int | None = None
    sector: str | None = None
    wave: str | None = None
    timezone: str | None = None
    sector_inferred: str | None = None  # the sector told by the header alone, and note says why
    note: str | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_sources(settings: Settings, survey_id: str | None = None, only: str | None = None) -> list[SourceCheck]:
    """For each source: can it be read, how many rows, which columns map to which questions, which do not."""
    found = catalog.plan(settings, survey_id, only, create_inbox=False)  # a check creates no folder
    return [check_source(survey, source) for survey, source in found]


def check_source(survey: Survey | None, source: Source) -> SourceCheck:
    from bfs_pipeline import normalize as nz
    from bfs_pipeline.errors import HeaderError

    entry = SourceCheck(source.name, survey.id if survey else None)
    try:
        if survey is None:
            source.read()  # a stray file: raises with its message
        assert survey is not None
        batch = source.read()
    except SourceError as exc:
        entry.error = str(exc)
        return entry
    sector = survey.sector_code(batch.sector)
    entry.readable, entry.rows, entry.sector, entry.wave = True, batch.row_count(), sector, batch.wave
    entry.timezone = batch.timezone or survey.timezone
    try:
        header = nz.map_header(batch, survey)
        entry.ok = True
        if header.inferred is not None:
            sector = entry.sector = entry.sector_inferred = header.inferred.sector
            entry.note = header.inferred.note()
    except HeaderError as exc:
        entry.error = str(exc)
    described = nz.describe_header(batch.header, survey, sector, batch.wave)
    entry.columns = [{"title": t, "question_id": c.question_id, "type": c.type} for _, t, c in described.mapped]
    entry.unmapped = described.unmapped
    entry.missing = [c.title for c in described.missing]
    return entry


def render(
    settings: Settings, period: str, lang: str | None = None, survey_id: str | None = None, out: Path | None = None
) -> Report:
    """Build the period's report and write its HTML and text under out (default BFS_HOME/reports/PERIOD): the
    answers, the roster, the population of the period's year (population.for_wave) and the support log's events of
    the history quarters (the section "Stöd i förhållande till behov" reads the period and the one before)."""
    from bfs_pipeline import metrics, population
    from bfs_pipeline.report import HISTORY
    from bfs_pipeline.roster import roster_frame
    from bfs_pipeline.support import events

    survey = survey_for(settings, survey_id)
    period = resolve_period(period)
    with database(settings) as engine:
        report = build_report(
            survey,
            current_responses(engine, survey.id),
            period,
            lang or settings.lang,
            roster=roster_frame(engine, county=survey.county),
            alert_coverage=settings.alert_coverage,
            population=population.for_wave(engine, period),
            support=events(engine, survey, metrics.wave_range(period, HISTORY)),
        )
    write_report(report, out or settings.reports_dir / period)
    return report


def render_yearly(
    settings: Settings, year: str | int, lang: str | None = None, survey_id: str | None = None, out: Path | None = None
) -> yearly.YearlyReport:
    """Build the year's roll-up (`bfs report --year`) and write its HTML, text and XLSX under out (default
    BFS_HOME/reports/YYYY): the answers of the year's quarters, the support log's events of the year, and the
    population of the year (population.for_wave: the newest imported year on or before it)."""
    from bfs_pipeline import population
    from bfs_pipeline.roster import roster_frame
    from bfs_pipeline.support import events

    survey = survey_for(settings, survey_id)
    the_year = yearly.check_year(year)
    with database(settings) as engine:
        report = yearly.build_yearly(
            survey,
            current_responses(engine, survey.id),
            events(engine, survey, yearly.quarters_of(the_year)),
            the_year,
            lang or settings.lang,
            roster=roster_frame(engine, county=survey.county),
            population=population.for_wave(engine, str(the_year)),
        )
    yearly.write_yearly(report, out or settings.reports_dir / str(the_year))
    return report


@dataclass
class MunicipalRun:
    """One municipality's report as rendered (one per language its recipients read) and whom it went to."""

    period: str
    code: str
    name: str
    reports: dict[str, municipal.MunicipalReport]  # by language
    recipients: list[dict[str, Any]]  # the roster's opted-in contacts: address, organisation, lang, actor_id
    deliveries: list[Outcome] = field(default_factory=list)

    @property
    def files(self) -> dict[str, str]:
        return {
            f"{k}:{lang}" if len(self.reports) > 1 else k: v
            for lang, r in self.reports.items()
            for k, v in r.files.items()
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "municipality": {"code": self.code, "name": self.name},
            "files": self.files,
            "recipients": [r["address"] for r in self.recipients],
            "deliveries": [o.as_json() for o in self.deliveries],
        }


def municipal_view(settings: Settings, survey: Survey, period: str, lang: str | None = None) -> municipal.CountyView:
    """The county's figures for the period, once (municipal.county_view), with the quarter's good examples."""
    from bfs_pipeline.report import report_data
    from bfs_pipeline.roster import roster_frame

    examples = municipal.load_examples(municipal.examples_path(settings.home, period))
    with database(settings) as engine:
        responses = current_responses(engine, survey.id)
        roster = roster_frame(engine, county=survey.county)
    data = report_data(
        survey, responses, period, lang or settings.lang, roster=roster, alert_coverage=settings.alert_coverage
    )
    return municipal.county_view(data, examples)


def render_municipal(
    settings: Settings,
    period: str,
    municipality: str,
    lang: str | None = None,
    survey_id: str | None = None,
    out: Path | None = None,
    view: municipal.CountyView | None = None,
    send_langs: bool = False,
) -> MunicipalRun:
    """Render one municipality's own report and write it under out (default BFS_HOME/reports/PERIOD/kommun/CODE).

    With send_langs, also in each language its recipients read (the roster's språk), for sending.
    """
    survey = survey_for(settings, survey_id)
    period = resolve_period(period)
    muni = municipal.resolve_municipality(municipality, survey.county)
    view = view or municipal_view(settings, survey, period, lang)
    lang = lang or settings.lang
    whom = municipal.recipients(view.data.roster, muni.code)
    langs = [lang, *sorted({r["lang"] for r in whom} - {lang} if send_langs else set())]
    folder = out or settings.reports_dir / period / "kommun" / muni.code
    reports = {}
    for each in langs:
        reports[each] = municipal.build_municipal(view, muni.code, each)
        municipal.write_municipal(reports[each], folder)
    return MunicipalRun(period, muni.code, muni.name, reports, whom)


def send_municipal(settings: Settings, run: MunicipalRun) -> list[Outcome]:
    """Deliver a municipality's report once per (report, municipality, recipient), each in the recipient's language;
    the data-quality gate (BFS_MIN_COVERAGE) as for the coordinator's report."""
    from bfs_pipeline.mailer import Letter, MessageKind, deliver_letters

    items = []
    for r in run.recipients:
        rep = run.reports.get(r["lang"]) or next(iter(run.reports.values()))
        letter = Letter(
            key=rep.key,
            period=run.period,
            kind=MessageKind.MUNICIPAL,
            build=rep.message,
            eml_stem=f"kommunrapport-{run.code}-{run.period}",
            archive_stem=f"kommunrapport-{run.code}",
            data_hash=rep.data_hash,
            actor_id=r["actor_id"],
        )
        items.append((letter, r["address"]))
    if not items:
        return []
    with database(settings) as engine:
        run.deliveries = deliver_letters(engine, settings, items)
    return run.deliveries


def municipal_gate(settings: Settings, view: municipal.CountyView) -> None:
    """The coordinator's data-quality gate (BFS_MIN_COVERAGE) for the municipalities' reports too."""
    from bfs_pipeline.errors import DeliveryError

    cov = view.data.coverage
    expected = int(cov["expected"].sum()) if not cov.empty else 0
    rate = int(cov["answered"].sum()) / expected if expected else None
    if rate is not None and rate < settings.min_coverage:
        raise DeliveryError(
            f"Not sent: only {rate:.0%} of the roster's organisations answered in {view.data.period}, below the "
            f"minimum {settings.min_coverage:.0%} (BFS_MIN_COVERAGE). Remind the actors, or lower BFS_MIN_COVERAGE."
        )


def municipal_reports(settings: Settings, period: str, survey_id: str | None = None) -> list[MunicipalRun]:
    """The quarterly run's municipal reports: each municipality with opted-in contacts gets its own, once each.

    The county's figures are computed once; municipalities without an opted-in contact are not rendered.
    """
    survey = survey_for(settings, survey_id)
    period = resolve_period(period)
    view = municipal_view(settings, survey, period)
    municipal_gate(settings, view)
    runs = []
    for m in view.data.munis:
        if not municipal.recipients(view.data.roster, m.code):
            continue
        run = render_municipal(settings, period, m.code, None, survey.id, view=view, send_langs=True)
        send_municipal(settings, run)
        runs.append(run)
    return runs


def resolve_period(period: str, today: dt.date | None = None) -> str:
    """A wave name, or 'previous' for the last quarter that has ended."""
    if period.strip().lower() == "previous":
        today = today or dt.date.today()
        q = (today.month - 1) // 3 + 1
        return f"{today.year}-Q{q - 1}" if q > 1 else f"{today.year - 1}-Q4"
    return wave_of(period)


def retry_pending(settings: Settings) -> list[Outcome]:
    """Deliver again what waits as pending (a refused connection or a 4xx reply earlier); never uncertain ones."""
    from bfs_pipeline.mailer import DeliveryState, outbox_rows

    with database(settings) as engine:
        pending = [r for r in outbox_rows(engine) if r.state == DeliveryState.PENDING]
    waiting = [r for r in pending if r.kind == "report"]
    out: list[Outcome] = []
    for key in sorted({r.report for r in waiting}):
        survey_id, period, lang = key.split(":")
        report = render(settings, period, lang, survey_id)
        out += send(settings, report, tuple(r.recipient for r in waiting if r.report == key))
    municipal_waiting = [r for r in pending if r.kind == "municipal"]
    for key in sorted({r.report for r in municipal_waiting}):  # municipal:SURVEY:PERIOD:CODE
        _, survey_id, period, code = key.split(":")
        run = render_municipal(settings, period, code, None, survey_id, send_langs=True)
        addresses = {r.recipient.lower() for r in municipal_waiting if r.report == key}
        run.recipients = [r for r in run.recipients if r["address"].lower() in addresses]
        out += send_municipal(settings, run)
    return out


def outreach(settings: Settings, survey_id: str | None = None) -> list[dict[str, Any]]:
    """The nightly round of invitations and reminders: for every wave that takes answers today, invite the actors
    not invited yet, then remind the silent ones that are due (after the night's ingest, so that an answer that
    came in tonight gets no reminder tomorrow)."""
    from bfs_pipeline.outreach.invite import invite, open_waves, remind

    key = hash_key(settings.hash_key, settings.home)
    out: list[dict[str, Any]] = []
    with database(settings) as engine:
        for survey in surveys_for(settings, survey_id):
            for wave in open_waves(engine, survey):
                invited = invite(engine, settings, survey, wave, key)
                reminded = remind(engine, settings, survey, wave, key)
                out.append({"survey": survey.id, **invited.invite_json(), "reminded": reminded.done})
    return out


def digest(settings: Settings, survey_id: str | None = None) -> list[dict[str, Any]]:
    """The weekly coverage digest of every survey with an open wave, to its recipients, once per ISO week."""
    from bfs_pipeline.outreach.digest import send_digest

    with database(settings) as engine:
        return [
            {"survey": survey.id, **o.as_json()}
            for survey in surveys_for(settings, survey_id)
            for o in send_digest(engine, settings, survey)
        ]


class Released(Exception):
    """An invitation, reminder or digest released for sending again: its own command's next run sends it."""


def resend(settings: Settings, delivery_id: int) -> list[Outcome]:
    """Resend one uncertain or failed message (`bfs outbox resend`): released, rendered anew, delivered once more."""
    from bfs_pipeline.mailer import release

    with database(settings) as engine:
        row = release(engine, delivery_id)
    if row["kind"] == "municipal":  # municipal:SURVEY:PERIOD:CODE, rendered anew for its one recipient
        _, survey_id, period, code = row["key"].split(":")
        run = render_municipal(settings, period, code, None, survey_id, send_langs=True)
        run.recipients = [r for r in run.recipients if r["address"] == row["recipient"]] or [
            {"address": row["recipient"], "lang": settings.lang, "actor_id": None, "organisation": ""}
        ]
        return send_municipal(settings, run)
    if row["kind"] != "report":
        raise Released(
            f"Outbox message {delivery_id} ({row['kind']} to {row['recipient']}) is pending again: the next "
            f"`bfs {'invite' if row['kind'] == 'invite' else 'remind'} --wave {row['period']}` or nightly run sends it."
            if row["kind"] in ("invite", "remind")
            else f"Outbox message {delivery_id} is pending again: the next digest run sends it."
        )
    report = render(settings, row["period"], row["lang"], row["survey_id"])
    return send(settings, report, (row["recipient"],))


def send(settings: Settings, report: Report, recipients: tuple[str, ...] | None = None) -> list[Outcome]:
    """Deliver a report to the given recipients, else the survey's own (report_to in its file), else BFS_REPORT_TO."""
    with database(settings) as engine:
        return deliver(engine, settings, report, recipients or survey_for(settings, report.survey_id).report_to or None)


__all__ = [
    "SourceError",
    "database",
    "ingest_files",
    "ingest_one",
    "ingest_source",
    "municipal_reports",
    "nightly",
    "open_store",
    "pull",
    "render",
    "render_municipal",
    "render_yearly",
    "send",
    "send_municipal",
    "survey_for",
]
