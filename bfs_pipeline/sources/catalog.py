"""Which sources a survey has: the only place that knows about inbox folders, stray files and [[sources]].

Everything that reads answers (`bfs ingest`, `bfs sources check`, the nightly and ingest-source flows, `bfs demo`)
asks `plan()` or `sources_for()` and gets Source objects; none of them looks at folders or settings itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bfs_pipeline.config import Settings, SheetConfig
from bfs_pipeline.errors import SourceError
from bfs_pipeline.sources.base import NO_HINTS, SheetHints, Source, SourceKind
from bfs_pipeline.sources.files import FileSource, inbox_files
from bfs_pipeline.sources.memory import FailingSource
from bfs_pipeline.survey import Survey, load_surveys, pick_survey, wave_of

INBOX = "inbox"  # `only` for every file source of a survey's inbox folder
GSHEET_PREFIX = "gsheet:"

if TYPE_CHECKING:  # the adapter (and gspread) are imported only where a Google sheet is configured
    from bfs_pipeline.sources.gsheets import GoogleAccount

Connect = Callable[[Settings], "GoogleAccount"]


def _connect(settings: Settings) -> GoogleAccount:
    from bfs_pipeline.sources import gsheets

    return gsheets.connect(settings)


def surveys(settings: Settings, survey_id: str | None = None) -> list[Survey]:
    """The survey named, or every survey: one installation can serve several counties."""
    found = load_surveys(settings.surveys_dir)
    return [pick_survey(found, survey_id)] if survey_id else list(found.values())


def inbox_folder(settings: Settings, survey: Survey) -> Path:
    """A survey's inbox: the whole inbox when there is one survey, else the folder inbox/SURVEY-ID/."""
    several = len(load_surveys(settings.surveys_dir)) > 1
    return settings.inbox / survey.id if several else settings.inbox


def checked(survey: Survey, hints: SheetHints) -> SheetHints:
    """The operator's hints, checked against the survey (a known sector, a well-formed wave)."""
    return SheetHints(survey.check_sector(hints.sector), wave_of(hints.wave) if hints.wave else None, hints.locale)


def sheet_configs(settings: Settings, survey: Survey) -> list[SheetConfig]:
    return [c for c in settings.sources if (c.survey or survey.id) == survey.id]


def _selected(source: Source, only: str | None) -> bool:
    if only is None:
        return True
    if only == INBOX:
        return isinstance(source, FileSource)
    return only in (source.name, source.name.removeprefix(GSHEET_PREFIX))


def sources_for(
    settings: Settings,
    survey: Survey,
    only: str | None = None,
    hints: SheetHints = NO_HINTS,
    connect: Connect = _connect,
    create_inbox: bool = True,
) -> list[Source]:
    """A survey's sources: each answer sheet in its inbox folder, then each of its Google sheets (or only the one named:
    INBOX, gsheet:NAME, NAME or an inbox file's path). Without usable Google credentials each sheet fails alone.
    The inbox folder is made, so that a person sees where sheets go, unless create_inbox is false (a check)."""
    hints = checked(survey, hints)
    folder = inbox_folder(settings, survey)
    if create_inbox:
        folder.mkdir(parents=True, exist_ok=True)
    sectors = list(survey.sectors)
    out: list[Source] = [FileSource(p, sectors, survey.id, hints) for p in inbox_files(folder)]
    configs = sheet_configs(settings, survey)
    if only is not None and only != INBOX:
        configs = [c for c in configs if only in (c.name, GSHEET_PREFIX + c.name)]
    if configs:
        out += _google(settings, configs, hints, connect)
    return [s for s in out if _selected(s, only)]


def _google(settings: Settings, configs: list[SheetConfig], hints: SheetHints, connect: Connect) -> list[Source]:
    from bfs_pipeline.sources.gsheets import GoogleSheetSource

    try:
        account = connect(settings)  # one account, one quota for all its sheets
    except SourceError as exc:
        return [FailingSource(GSHEET_PREFIX + c.name, exc) for c in configs]
    return [GoogleSheetSource(c, account, hints) for c in configs]


def file_source(survey: Survey, path: Path, hints: SheetHints = NO_HINTS) -> Source:
    """One sheet given by its path (--file), wherever it lies."""
    return FileSource(path, list(survey.sectors), survey.id, checked(survey, hints))


def stray_sources(settings: Settings) -> list[Source]:
    """With several surveys, inbox files outside every survey's folder: they belong to no survey until moved."""
    known = load_surveys(settings.surveys_dir)
    if len(known) < 2:
        return []
    strays = [p for p in inbox_files(settings.inbox) if p.relative_to(settings.inbox).parts[0] not in known]
    move = f"move it to {settings.inbox}/SURVEY-ID/ (bfs survey list)"
    return [
        FailingSource(str(p.resolve()), SourceError(f"{p} is in no survey's folder: {move}."), SourceKind.STRAY)
        for p in strays
    ]


Plan = list[tuple[Survey | None, Source]]


def plan(
    settings: Settings,
    survey_id: str | None = None,
    only: str | None = None,
    hints: SheetHints = NO_HINTS,
    file: Path | None = None,
    connect: Connect | None = None,
    create_inbox: bool = True,
) -> Plan:
    """What to read, each source with its survey: one --file; one named source; or the stray files (survey None,
    reported and never read) and then every source of every survey (or of the one named)."""
    if file is not None:
        survey = pick_survey(load_surveys(settings.surveys_dir), survey_id)
        return [(survey, file_source(survey, file, hints))]
    todo: Plan = [] if only is not None else [(None, s) for s in stray_sources(settings)]
    for survey in surveys(settings, survey_id):
        todo += [(survey, s) for s in sources_for(settings, survey, only, hints, connect or _connect, create_inbox)]
    if only is not None and only != INBOX and not todo:
        names = [GSHEET_PREFIX + c.name for c in settings.sources]
        known = ", ".join(names) or "none (add [[sources]] to bfs.toml)"
        raise SourceError(f"No configured source {only!r}; the sources are {known}.")
    return todo
