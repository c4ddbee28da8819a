"""The `bfs` command: parses options, calls the package, turns BfsError into one line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bfs_pipeline import __version__
from bfs_pipeline.config import SETTINGS, Settings, load_settings
from bfs_pipeline.errors import EXIT_CODES, BfsError, NotDelivered, ReportError, SourceError

SETTINGS_HELP = "\n".join(f"  {name:<34} {help_}" for name, _default, help_ in SETTINGS)
EXIT_HELP = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
READ_ONLY_HELP = (
    "Commands that only read or remove (status, report, quarantine list, outbox list/resend, actors list, "
    "wave revoke/close, privacy export/erase, archive export) refuse a database that is not there, in one line "
    "saying where they looked and how to point at the right one, and create nothing; ingest, actors import, "
    "wave open, demo and the flows (serve, run) create it."
)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def settings_of(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    if obj.get("settings") is None:
        obj["settings"] = load_settings()
    settings: Settings = obj["settings"]
    return settings


def existing(ctx: click.Context) -> Settings:
    """The settings of a command that only reads: their database must be there already (nothing is created)."""
    from bfs_pipeline.db import require_database

    settings = settings_of(ctx)
    require_database(settings.database_url)
    return settings


def rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def counts_line(r: dict[str, Any]) -> str:
    source = str(r["source"])
    name = source if source.startswith(("form:", "gsheet:")) else Path(source).name  # a file by its name alone
    if r["status"] == "held":
        return f"{name}: HELD, nothing stored ({rows(r['rows_seen'])}): {r['error']}"
    if r["status"] in ("failed", "interrupted"):
        return f"{name}: {r['status'].upper()}: {r['error']}"
    set_aside = r.get("set_aside") or 0
    aside = f" ({set_aside} answer{'' if set_aside == 1 else 's'} set aside)" if set_aside else ""
    line = (
        f"{name}: {rows(r['rows_seen'])}: {r['accepted']} accepted{aside}, {r['duplicates']} duplicates, "
        f"{r['blank']} blank, {r['quarantined']} quarantined (run {r['run_id']})"
    )
    return line + (f"\n  {r['note']}" if r.get("note") else "")


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    epilog="Settings (environment variables, or keys of bfs.toml in the working folder or BFS_HOME):\n\n\b\n"
    + SETTINGS_HELP
    + "\n\nExit codes:\n\n\b\n"
    + EXIT_HELP
    + "\n\n"
    + READ_ONLY_HELP,
)
@click.version_option(__version__, prog_name="bfs")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """bfs: the survey and feedback pipeline of a crime-prevention coordinator.

    Actors answer forms; `bfs ingest` validates and stores the answers; `bfs report` renders the quarterly
    needs report and e-mails it. `bfs demo` shows all of it on generated data.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@cli.command()
@click.option(
    "--file", "file", type=click.Path(path_type=Path), help="One answer sheet (.csv or .xlsx) instead of the inbox."
)
@click.option("--survey", "survey_id", help="Survey id (bfs survey list); needed only when there are several.")
@click.option("--sector", help="The sector that answered, when the file name or a sector column does not say it.")
@click.option("--wave", help="The wave (YYYY-Qn); otherwise the file name's, or each answer's quarter.")
@click.option(
    "--locale",
    help="How the sheet writes dates like 03/04/2026: sv-SE or en-GB (day first, default), en-US (month first).",
)
@click.option("--source", "only", help="Only this configured Google Sheets source (its name in bfs.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per source run (JSON Lines).")
@click.pass_context
def ingest(
    ctx: click.Context,
    file: Path | None,
    survey_id: str | None,
    sector: str | None,
    wave: str | None,
    locale: str | None,
    only: str | None,
    as_json: bool,
) -> None:
    """Validate and store answer sheets: one --file, or every configured source (the inbox's CSV/XLSX files and
    the Google Sheets in bfs.toml).

    Every row ends up accepted, a duplicate, blank or quarantined (see `bfs quarantine list`); the counts add up.
    Re-ingesting a sheet stores nothing twice.
    """
    from bfs_pipeline import pipeline
    from bfs_pipeline.sources.base import CHUNK_ROWS, SheetHints

    settings = settings_of(ctx)
    if file is None and only is None and not settings.inbox.exists() and not as_json:
        click.echo(
            f"The inbox {settings.inbox} is new and empty: put CSV/XLSX answer sheets there, or use --file.", err=True
        )

    def show(res: Any) -> None:
        r = res.as_json()
        click.echo(json.dumps(r, ensure_ascii=False, default=str) if as_json else counts_line(r))

    def so_far(res: Any) -> None:
        if res.rows_seen >= CHUNK_ROWS:  # only a sheet longer than one chunk
            click.echo(
                f"  {res.source}: {res.rows_seen} rows so far "
                f"({res.accepted} accepted, {res.quarantined} quarantined) ...",
                err=True,
            )

    results = pipeline.ingest_files(
        settings, survey_id, file, SheetHints(sector, wave, locale), progress=show, only=only, on_chunk=so_far
    )
    if not results and not as_json:
        click.echo(f"No answer sheets in {settings.inbox}.")
    fail_on_bad([r.as_json() for r in results], as_json)


def fail_on_bad(results: list[dict[str, Any]], as_json: bool = True) -> None:
    """Exit 1 when a source was held or failed, after every source was shown.

    With --json the error line carries the first source's message (stdout is for programs); without it, each
    message was printed once already (stdout), so the error line only names the sources.
    """
    bad = [r for r in results if r["status"] in ("held", "failed")]
    if not bad:
        return
    if as_json:
        more = f" ({len(bad) - 1} more source(s) held or failed)" if len(bad) > 1 else ""
        raise SourceError(f"{bad[0]['error']}{more}")
    names = ", ".join(Path(r["source"]).name for r in bad)
    raise SourceError(
        f"{len(bad)} source{'' if len(bad) == 1 else 's'} held or failed: {names} (why: see above). "
        "Fix the sheet, or the survey file, and run it again."
    )


@cli.group()
def sources() -> None:
    """The configured sources: Google Sheets response sheets (bfs.toml) and the inbox folder."""


@sources.command("check")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--source", "only", help="Only this configured Google Sheets source.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def sources_check(ctx: click.Context, survey_id: str | None, only: str | None, as_json: bool) -> None:
    """Read each source without storing anything: can it be read, which columns map to which questions, which do not."""
    from bfs_pipeline import pipeline

    report = [c.as_json() for c in pipeline.check_sources(settings_of(ctx), survey_id, only)]
    if as_json:
        emit(report)
    else:
        if not report:
            click.echo("No sources: put answer sheets in the inbox, or add [[sources]] to bfs.toml.")
        for r in report:
            state = "ok" if r["ok"] else ("unreadable" if not r["readable"] else "header problem")
            click.echo(f"{r['source']}: {state}" + (f", {r['rows']} rows" if r["readable"] else ""))
            for c in r["columns"]:
                click.echo(f"    {c['question_id'] or '(' + c['type'] + ')':<10} {c['title']}")
            for t in r["unmapped"]:
                click.echo(f"    {'??':<10} {t}   (not in the survey)")
            for t in r["missing"]:
                click.echo(f"    {'missing':<10} {t}")
            if r["error"]:
                click.echo(f"    {r['error']}")
    if any(not r["ok"] for r in report):
        raise SourceError(
            f"{sum(not r['ok'] for r in report)} of {len(report)} source(s) cannot be ingested as they are (see above)."
        )


@cli.group()
def actors() -> None:
    """The actor roster: the organisations expected to answer, that coverage is measured against."""


@actors.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.pass_context
def actors_import(ctx: click.Context, file: Path, survey_id: str | None) -> None:
    """Import the roster from CSV/XLSX with the columns organisation, sektor, kommun (and optionally kontakt).

    Organisations already known are updated; those missing from the file are kept but marked inactive.
    """
    from bfs_pipeline import pipeline
    from bfs_pipeline.roster import import_roster

    settings = settings_of(ctx)
    if not file.exists():
        raise SourceError(f"{file} does not exist. Give the path of the roster file.")
    with pipeline.database(settings) as engine:
        counts = import_roster(engine, file, pipeline.survey_for(settings, survey_id))
    click.echo(
        f"Roster {file.name}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['inactive']} inactive (aktiv = nej, or no longer in the file: kept, never deleted)."
    )


@actors.command("list")
@click.option("--all", "everyone", is_flag=True, help="Include organisations no longer in the roster file.")
@click.option("--survey", "survey_id", help="Only the roster of this survey's county (default: every county's).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def actors_list(ctx: click.Context, everyone: bool, survey_id: str | None, as_json: bool) -> None:
    """The organisations in the roster, by county and sector."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.roster import roster_frame

    settings = settings_of(ctx)
    county = pipeline.survey_for(settings, survey_id).county if survey_id else None
    existing(ctx)
    with pipeline.database(settings) as engine:
        frame = roster_frame(engine, active_only=not everyone, county=county)
    rows = [{k: v for k, v in r.items() if k != "name_key"} for r in frame.to_dict(orient="records")]
    if as_json:
        emit(rows)
        return
    if not rows:
        click.echo("The roster is empty: bfs actors import FILE.")
    for r in rows:
        click.echo(
            f"{r['sector']:<11} {r['name']:<45} {', '.join(r['municipalities'])}{'' if r['active'] else '  (inactive)'}"
        )


@actors.command("match")
@click.option("--wave", "wave_id", required=True, help="The wave (YYYY-Qn) whose answers to look at.")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def actors_match(ctx: click.Context, wave_id: str, survey_id: str | None, as_json: bool) -> None:
    """The organisation names in the wave's answers that are not matched to the roster with certainty, each with
    its best candidates: confirm one with bfs actors alias. Names matched with certainty are not listed."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach import matching

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        reviews = matching.candidates(engine, survey, wave_id)
    if as_json:
        emit([r.as_json() for r in reviews])
        return
    if not reviews:
        click.echo(f"Every organisation name in {wave_id.upper()} is matched to the roster (or came by personal link).")
        return
    why = {
        "below_threshold": f"below the threshold {matching.THRESHOLD:g}",
        "ambiguous": "two candidates too close",
        "no_candidate": "no actor of the sector fits",
        "no_name": "no organisation given",
    }
    for r in reviews:
        n = f"{r.answers} answer{'' if r.answers == 1 else 's'}"
        click.echo(
            f'{r.sector:<11} "{r.text}"  ({n}, {", ".join(r.municipalities) or "-"}; {why.get(r.detail, r.detail)})'
        )
        for c in r.candidates:
            click.echo(f'   {c.score:>5.0f}  {c.name} (id {c.actor_id})   -> bfs actors alias "{r.text}" {c.actor_id}')


@actors.command("alias")
@click.argument("text")
@click.argument("actor_id", type=int)
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def actors_alias(ctx: click.Context, text: str, actor_id: int, survey_id: str | None, as_json: bool) -> None:
    """Confirm that answers naming TEXT are from the roster actor ACTOR_ID (bfs actors list --json gives the ids):
    they count for it in the report and coverage, in this wave and every later one."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach import matching

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        done = matching.confirm_alias(engine, survey, text, actor_id)
    if as_json:
        emit(done.as_json())
    elif done.created:
        click.echo(f'"{done.alias}" is now {done.actor} ({done.sector}): {done.answers} stored answers counted for it.')
    else:
        click.echo(f'"{done.alias}" was already confirmed for {done.actor}.')


@cli.group()
def outbox() -> None:
    """Report messages and their delivery: pending, sending, sent, failed, uncertain, written."""


@outbox.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def outbox_list(ctx: click.Context, as_json: bool) -> None:
    """Every (report, recipient) with its state, tries and last error: what waits and why."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.mailer import outbox_rows

    with pipeline.database(existing(ctx)) as engine:
        rows = outbox_rows(engine)
    if as_json:
        emit([r.as_json() for r in rows])
        return
    if not rows:
        click.echo("The outbox is empty.")
    for r in rows:
        click.echo(
            f"{r.id:>4} {r.period} {r.recipient:<32} {r.state:<9} tries {r.attempts}"
            + (f"  {r.error}" if r.error else "")
        )


@outbox.command("resend", epilog="Exit code 3 when the message is again left pending, failed or uncertain.")
@click.argument("delivery_id", type=int)
@click.pass_context
def outbox_resend(ctx: click.Context, delivery_id: int) -> None:
    """Send one message again that is uncertain or failed: only when you have checked it did not arrive."""
    from bfs_pipeline import pipeline

    try:
        deliveries = [o.as_json() for o in pipeline.resend(existing(ctx), delivery_id)]
    except pipeline.Released as done:
        click.echo(str(done))
        return
    for d in deliveries:
        click.echo(delivery_line(d))
    not_delivered(deliveries)


@cli.group()
def quarantine() -> None:
    """Rows kept out of the answers, and answers set aside, with their reasons."""


@quarantine.command("list")
@click.option("--run", "run_id", type=int, help="Only rows of this ingest run.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def quarantine_list(ctx: click.Context, run_id: int | None, as_json: bool) -> None:
    """List quarantined rows (the response was kept out) and answers set aside (the response was accepted without
    an invalid answer to an optional question): run, source, sheet row (header = row 1) and every reason."""
    from bfs_pipeline import pipeline, store

    with pipeline.database(existing(ctx)) as engine:
        entries = store.quarantine_rows(engine, run_id)
    if as_json:
        emit(entries)
        return
    if not entries:
        click.echo("No quarantined rows." if run_id is None else f"No quarantined rows in run {run_id}.")
    for r in entries:
        what = "answer set aside (the response counts without it)" if r.get("kind") == "answer" else "row kept out"
        click.echo(f"run {r['run_id']}  {Path(r['source']).name}  row {r['sheet_row']}: {what}")
        for reason in r["reasons"]:
            click.echo(f"    {reason['column']}: {reason['value']!r}: {reason['message']} [{reason['rule']}]")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Stored responses, quarantined rows, waves with answers, last runs and the outbox."""
    from bfs_pipeline import pipeline, store

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        data = store.status(engine).as_json()
        data["database"] = engine.url.render_as_string(hide_password=True)
    data["home"] = str(settings.home)
    if as_json:
        emit(data)
        return
    click.echo(f"Data folder: {data['home']}\nDatabase:    {data['database']}")
    click.echo(
        f"Responses that count: {data['responses']} ({data['stored_versions']} stored versions); "
        f"quarantined rows: {data['quarantined']}; answers set aside: {data.get('set_aside', 0)}"
    )
    click.echo("Waves: " + (", ".join(f"{w} ({data['responses_per_wave'][w]})" for w in data["waves"]) or "none yet"))
    click.echo("Outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(data["outbox"].items())) or "empty"))
    if data["last_runs"]:
        click.echo("Last runs:")
        for r in data["last_runs"]:
            click.echo(f"  {r['run_id']:>4} {r['started_at'][:19]}  " + counts_line(r))


@cli.group()
def survey() -> None:
    """Survey definitions: list them, print a codebook, write an empty answer sheet."""


@survey.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def survey_list(ctx: click.Context, as_json: bool) -> None:
    """The surveys in BFS_SURVEYS_DIR with their sectors."""
    from bfs_pipeline.survey import load_surveys

    surveys = load_surveys(settings_of(ctx).surveys_dir)
    data: list[dict[str, Any]] = [
        {
            "id": s.id,
            "title": s.title["sv"],
            "title_en": s.title.get("en"),
            "county": s.county,
            "sectors": list(s.sectors),
            "file": str(s.path),
        }
        for s in surveys.values()
    ]
    if as_json:
        emit(data)
        return
    for d in data:
        click.echo(f"{d['id']}: {d['title']} (län {d['county']}; sectors: {', '.join(d['sectors'])})")


@survey.command("codebook")
@click.argument("survey_id")
@click.option("--sector", help="One sector's form; without it, one form for all sectors with a sector question.")
@click.option("--wave", help="The column titles of this wave (YYYY-Qn).")
@click.option(
    "--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="Language of titles and labels."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of columns.")
@click.pass_context
def survey_codebook(
    ctx: click.Context, survey_id: str, sector: str | None, wave: str | None, lang: str, as_json: bool
) -> None:
    """The form's columns in order: title, question id, type, required, choices and limits."""
    from bfs_pipeline.survey import load_surveys, pick_survey, wave_of

    s = pick_survey(load_surveys(settings_of(ctx).surveys_dir), survey_id)
    # the wave's form: a wave that does not ask the yearly questions lists none of them (#13)
    cols = [c.as_json(lang) for c in s.columns(sector, wave_of(wave) if wave else None, lang, asked_only=True)]
    if as_json:
        emit(cols)
        return
    for i, c in enumerate(cols, start=1):
        req = "required" if c["required"] else "optional"
        limits = f" [{c.get('min')}–{c.get('max')}]" if "min" in c or "max" in c else ""
        click.echo(f"{i:>3}. {c['title']}\n     {c['question_id'] or '(meta)'} · {c['type']} · {req}{limits}")
        if c.get("choices"):
            click.echo("     " + "; ".join(f"{ch['code']}={ch['label']}" for ch in c["choices"]))


@survey.command("template")
@click.argument("survey_id")
@click.option("--sector", required=True, help="The sector whose form this is.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="FILE.xlsx or FILE.csv to write.")
@click.option("--wave", help="Use this wave's column titles (YYYY-Qn).")
@click.option(
    "--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="Language of the titles."
)
@click.pass_context
def survey_template(ctx: click.Context, survey_id: str, sector: str, out: Path, wave: str | None, lang: str) -> None:
    """Write an empty answer sheet with exactly the codebook's headers, for actors who answer in Excel."""
    from bfs_pipeline.blank_sheets import write_template
    from bfs_pipeline.survey import load_surveys, pick_survey, wave_of

    s = pick_survey(load_surveys(settings_of(ctx).surveys_dir), survey_id)
    path = write_template(s, sector, out, wave_of(wave) if wave else None, lang)
    asked = s.columns(sector, wave_of(wave) if wave else None, lang, asked_only=True)
    click.echo(f"Wrote {path} ({len(asked)} columns).")


@survey.command("guide")
@click.argument("survey_id")
@click.option("--sector", required=True, help="The sector whose Google Form this is.")
@click.option("--wave", help="Use this wave's question titles (YYYY-Qn).")
@click.option("--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="Language of the guide.")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, allow_dash=True),
    help="FILE.html to write, or - for standard output (default: guide-SURVEY-SECTOR.html in the working folder).",
)
@click.pass_context
def survey_guide(
    ctx: click.Context, survey_id: str, sector: str, wave: str | None, lang: str, out: Path | None
) -> None:
    """Write a printable page for building the sector's Google Form so that its answers load: every question in
    order, with the title to paste, the Google Forms question type to choose, the choices to paste, whether it is
    required, and the validation to set (number ranges)."""
    from bfs_pipeline.survey import load_surveys, pick_survey, wave_of

    s = pick_survey(load_surveys(settings_of(ctx).surveys_dir), survey_id)
    code = s.check_sector(sector)
    assert code is not None  # --sector is required
    the_wave = wave_of(wave) if wave else None
    from bfs_pipeline.guide import render_guide  # written alongside; imported only when a guide is asked for

    html = render_guide(s, code, the_wave, lang)
    if out is not None and str(out) == "-":
        click.echo(html, nl=not html.endswith("\n"))
        return
    path = out or Path(f"guide-{s.id}-{code}.html")
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    click.echo(f"Wrote {path}: open it in a browser and print it, or keep it beside the form while you build it.")


FILE_LABELS = {"html": "HTML report", "text": "Text version", "xlsx": "Excel attachment"}


def file_label(kind: str) -> str:
    """What a written file is, for people: 'chart:need-index.png' is a Chart."""
    return FILE_LABELS.get(kind, "Chart" if kind.startswith("chart:") else kind)


def delivery_line(d: dict[str, Any]) -> str:
    """One recipient's delivery, as a person reads it: what happened now, or that it happened before."""
    state, who, where = d["state"], d["recipient"], d.get("path")
    error = f": {d['error']}" if d.get("error") else ""
    resend = f"bfs outbox resend {d['delivery_id']}" if d.get("delivery_id") is not None else "bfs outbox resend ID"
    before = " (since an earlier run)" if d.get("already") else ""
    if state in ("sent", "written") and d.get("already"):
        how = f"written to {where}" if state == "written" else "sent over SMTP"
        return f"{who}: already sent ({how} by an earlier run); nothing sent again"
    if state == "sent":
        return f"{who}: sent over SMTP" + (f", archived as {where}" if where else "") + error
    if state == "written":
        return f"{who}: written to {where} (no BFS_SMTP_HOST: the .eml file waits there)"
    if state == "pending":
        return f"{who}: NOT SENT, pending{before}{error}; the nightly run tries again"
    if state == "busy":
        return f"{who}: another run is sending it right now"
    if state == "sending":
        return f"{who}: UNCERTAIN, left sending by a run that stopped{before}: if it did not arrive, {resend}"
    if state == "failed":
        return f"{who}: FAILED{before}{error}: fix it, then {resend}"
    return f"{who}: {state.upper()}{before}{error}: if it did not arrive, {resend}"


def not_delivered(deliveries: list[dict[str, Any]]) -> None:
    """Exit 3 (NotDelivered) when a message is left pending, failed or uncertain, after every line was shown."""
    from bfs_pipeline.mailer import LEFT

    left = [d for d in deliveries if d["state"] in LEFT]
    if left:
        states = ", ".join(sorted({str(d["state"]) for d in left}))
        raise NotDelivered(
            f"{len(left)} of {len(deliveries)} message(s) not delivered ({states}): see bfs outbox list."
        )


@cli.command(
    epilog="Exit codes: 0 rendered (and with --send, every recipient has it: sent, written, or already before); "
    "1 an error (no database, no answers, a bad period, the data-quality gate); "
    "3 rendered, but a message was left pending, failed or uncertain (see bfs outbox list)."
)
@click.option("--period", help="The quarter to report on, YYYY-Qn.")
@click.option(
    "--year",
    help="The yearly roll-up instead, for the yearly account to Brå: the year's quarters, YYYY (not with --period, "
    "--municipality or --send).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Folder for the HTML and text (default BFS_HOME/reports/PERIOD, or BFS_HOME/reports/YYYY with --year).",
)
@click.option(
    "--send", is_flag=True, help="Deliver it: over SMTP when BFS_SMTP_HOST is set, else as .eml in BFS_HOME/outbox."
)
@click.option("--lang", type=click.Choice(["sv", "en"]), help="Language of the report (default BFS_LANG, sv).")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option(
    "--municipality",
    help="One municipality's own report (SCB code or name): its figures against the county's, no other municipality "
    "named; --send delivers it to the roster's contacts with rapport = ja.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written and what the report says as JSON.")
@click.pass_context
def report(
    ctx: click.Context,
    period: str | None,
    year: str | None,
    out: Path | None,
    send: bool,
    lang: str | None,
    survey_id: str | None,
    municipality: str | None,
    as_json: bool,
) -> None:
    """Render the quarterly needs report; with --send, deliver it once to each BFS_REPORT_TO recipient.

    A recipient who has it already is not sent it again: a second --send says "already sent". With --municipality,
    one municipality's own report instead (default folder BFS_HOME/reports/PERIOD/kommun/CODE), sent once to each of
    its roster contacts with rapport = ja; good examples from BFS_HOME/goda-exempel/PERIOD.yaml.

    With --year YYYY instead of --period, the yearly roll-up for the länsstyrelse's yearly account to Brå (HTML, text
    and XLSX in BFS_HOME/reports/YYYY, arsrapport-COUNTY-YYYY.LANG.*): per municipality the year's quarters (need
    index, coordinator FTE, law floor, process maturity) and the support given against need (bfs support import).
    --json prints {"year", "lang", "subject", "files", "county", "quarters", "summary", "population_year",
    "municipalities": [{"code", "name", "inhabitants", "quarters": [{"wave", "need_index", "fte", "fte_per_10k",
    "law", "meets_all", "maturity"}], "year", "support"}], "county_need_index", "law", "support"}; a figure hidden
    for privacy is {"value": null, "n": null, "suppressed": true}, and the year's need index is the mean of the
    quarters shown ({"value", "quarters", "suppressed"}).
    """
    from bfs_pipeline import pipeline

    settings = settings_of(ctx)
    if year is not None:
        yearly_report(ctx, settings, year, period, municipality, send, lang, survey_id, out, as_json)
        return
    if period is None:
        raise ReportError("Give --period YYYY-Qn for a quarter's report, or --year YYYY for the yearly roll-up.")
    period = pipeline.resolve_period(period)  # a bad period or survey is named before the database is looked for
    survey = pipeline.survey_for(settings, survey_id)
    if municipality is not None:
        from bfs_pipeline.municipal import resolve_municipality

        resolve_municipality(municipality, survey.county)
        existing(ctx)
        municipal_report(settings, period, municipality, lang, survey_id, out, send, as_json)
        return
    existing(ctx)
    rep = pipeline.render(settings, period, lang, survey_id, out)
    deliveries = [o.as_json() for o in pipeline.send(settings, rep)] if send else []
    if as_json:
        emit(
            {
                "period": rep.period,
                "lang": rep.lang,
                "subject": rep.subject,
                "files": rep.files,
                "summary": rep.summary,
                "alerts": rep.alerts,
                "actions": rep.actions,
                "deliveries": deliveries,
            }
        )
    else:
        show_report(rep.subject, rep.alerts, rep.summary, rep.files, deliveries, rep.actions)
    not_delivered(deliveries)


def yearly_report(
    ctx: click.Context,
    settings: Settings,
    year: str,
    period: str | None,
    municipality: str | None,
    send: bool,
    lang: str | None,
    survey_id: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """`bfs report --year`: render the yearly roll-up and print what it wrote (no sending)."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.yearly import check_year

    if period is not None:
        raise ReportError(
            "--year and --period cannot go together: --year YYYY covers the year's four quarters, --period one quarter."
        )
    if municipality is not None:
        raise ReportError(
            "--year and --municipality cannot go together: the yearly roll-up covers every municipality of the "
            "county; for one municipality's own report give --period YYYY-Qn --municipality CODE."
        )
    if send:
        raise ReportError(
            "--year writes the yearly roll-up into files for the yearly account to Brå; it is not e-mailed. Leave "
            "out --send."
        )
    check_year(year)  # a bad year is named before the database is looked for
    pipeline.survey_for(settings, survey_id)
    existing(ctx)
    rep = pipeline.render_yearly(settings, year, lang, survey_id, out)
    if as_json:
        emit(rep.as_json())
        return
    click.echo(rep.subject)
    click.echo("Summary:")
    for line in rep.payload["summary"]:
        click.echo(f"  {line}")
    click.echo("Files:")
    labels = {**FILE_LABELS, "xlsx": "Excel workbook"}
    width = max((len(labels[k]) for k in rep.files), default=0) + 1
    for kind, path in rep.files.items():
        click.echo(f"  {labels[kind] + ':':<{width}} {path}")


def municipal_report(
    settings: Settings,
    period: str,
    municipality: str,
    lang: str | None,
    survey_id: str | None,
    out: Path | None,
    send: bool,
    as_json: bool,
) -> None:
    """`bfs report --municipality`: render one municipality's report, send it with --send, print what happened."""
    from bfs_pipeline import pipeline

    view = pipeline.municipal_view(settings, pipeline.survey_for(settings, survey_id), period, lang)
    run = pipeline.render_municipal(settings, period, municipality, lang, survey_id, out, view=view, send_langs=send)
    if send:
        pipeline.municipal_gate(settings, view)
        pipeline.send_municipal(settings, run)
    out_json = run.as_json()
    if as_json:
        first = next(iter(run.reports.values()))
        emit({**out_json, "lang": first.lang, "subject": first.subject})
    else:
        click.echo(next(iter(run.reports.values())).subject)
        click.echo("Files:")
        width = max((len(file_label(k.split(":")[0])) for k in run.files), default=0) + 1
        for kind, path in run.files.items():
            click.echo(f"  {file_label(kind.split(':')[0]) + ':':<{width}} {path}")
        if not run.recipients:
            click.echo(
                f"Recipients: none (no organisation of {run.name} in the roster has rapport = ja and a kontakt)."
            )
        else:
            click.echo(f"Recipients ({len(run.recipients)}): " + ", ".join(r["address"] for r in run.recipients))
            if not send:
                click.echo("  not sent: add --send to deliver it.")
        if out_json["deliveries"]:
            click.echo("Delivery:")
            for d in out_json["deliveries"]:
                click.echo(f"  {delivery_line(d)}")
    not_delivered(out_json["deliveries"])


def show_report(
    subject: str,
    alerts: list[dict[str, Any]],
    summary: list[str],
    files: dict[str, str],
    deliveries: list[dict[str, Any]],
    actions: list[str] | None = None,
) -> None:
    """A report as `bfs report` prints it: the alerts first (the summary points to them), what the numbers point to,
    then what it wrote."""
    if subject:
        click.echo(subject)
    if alerts:
        click.echo(f"Alerts ({len(alerts)}):")
        for a in alerts:
            click.echo(f"  ! {a['message']}")
    if actions:
        click.echo("What the numbers point to:")
        for line in actions:
            click.echo(f"  - {line}")
    if summary:
        click.echo("Summary:")
        for line in summary:
            click.echo(f"  {line}")
    click.echo("Files:")
    width = max((len(file_label(k)) for k in files), default=0) + 1
    for kind, path in files.items():
        click.echo(f"  {file_label(kind) + ':':<{width}} {path}")
    if deliveries:
        click.echo("Delivery:")
        for d in deliveries:
            click.echo(f"  {delivery_line(d)}")


@cli.command()
@click.option("--fresh", is_flag=True, help="Delete what BFS_HOME holds and start over.")
@click.option(
    "--no-prefect", is_flag=True, help="Call the flows' functions directly instead of running the Prefect flows."
)
@click.pass_context
def demo(ctx: click.Context, fresh: bool, no_prefect: bool) -> None:
    """Generate eight quarters of answer sheets, run the nightly flow quarter by quarter and the quarterly report."""
    from bfs_pipeline.rundemo import run_demo

    settings = settings_of(ctx)
    if no_prefect:
        run_demo(settings, fresh=fresh, echo=click.echo)
        return
    from flows.demo import prefect_flows  # the only place the package reaches into flows/: its entry point

    run_demo(settings, fresh=fresh, runner=lambda: prefect_flows(settings, click.echo), echo=click.echo)


@cli.command()
@click.option(
    "--nightly", help="Cron for the nightly ingest, Europe/Stockholm time (default: BFS_NIGHTLY_CRON, 0 2 * * *)."
)
@click.option(
    "--quarterly",
    help="Cron for the quarterly report, Europe/Stockholm time (default: BFS_QUARTERLY_CRON, 0 7 1 1,4,7,10 *).",
)
@click.option(
    "--digest",
    help="Cron for the coordinator's weekly coverage digest, Europe/Stockholm time (default: BFS_DIGEST_CRON, "
    "0 7 * * 1).",
)
@click.pass_context
def serve(ctx: click.Context, nightly: str | None, quarterly: str | None, digest: str | None) -> None:
    """Run the schedules: serve the nightly, quarterly and weekly-digest deployments against the Prefect server in
    PREFECT_API_URL (without it, a local Prefect server is started under BFS_HOME). Ctrl-C stops."""
    from flows.serving import serve as serve_flows

    settings = settings_of(ctx)
    serve_flows(
        settings,
        nightly or settings.nightly_cron,
        quarterly or settings.quarterly_cron,
        echo=click.echo,
        digest_cron=digest or settings.digest_cron,
    )


@cli.group()
def wave() -> None:
    """Waves answered in the web form: personal links for the roster, revoking a link, closing a wave early."""


def _deadline(value: str | None) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None


@wave.command("open")
@click.argument("period")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--deadline", help="The last day answers are taken, YYYY-MM-DD (default: the quarter's last day).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every link.")
@click.pass_context
def wave_open(ctx: click.Context, period: str, survey_id: str | None, deadline: str | None, as_json: bool) -> None:
    """Open a wave for the survey's roster and print each active actor's personal link.

    Running it again prints the same links (to send one again), adds links for actors new to the roster, moves
    the deadline when one is given and opens a wave closed early again. Revoked links are not printed.
    """
    from bfs_pipeline import i18n, pipeline
    from bfs_pipeline.outreach.links import open_wave
    from bfs_pipeline.privacy import hash_key

    settings = settings_of(ctx)
    day = _deadline(deadline)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        opened = open_wave(engine, survey, period, hash_key(settings.hash_key, settings.home), settings.public_url, day)
    if as_json:
        emit(opened.as_json())
        return
    again = " again" if opened.reopened else ""
    click.echo(
        f"Wave {opened.wave} of {opened.survey} is open{again} until {i18n.fmt_date(opened.deadline, 'en')} "
        f"(Europe/Stockholm): {len(opened.links)} personal link{'' if len(opened.links) == 1 else 's'}, "
        f"{opened.added} new" + (f", {opened.revoked} revoked (not shown)" if opened.revoked else "") + "."
    )
    for link in opened.links:
        click.echo(
            f"  {link.actor_id:>5}  {link.organisation} ({link.sector}, {link.municipality})\n         {link.url}"
        )
    click.echo("Serve the form with: bfs web   (links start with BFS_PUBLIC_URL=" + settings.public_url + ")")


@wave.command("revoke")
@click.argument("period")
@click.argument("actor_id", type=int)
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.pass_context
def wave_revoke(ctx: click.Context, period: str, actor_id: int, survey_id: str | None) -> None:
    """Revoke one actor's link for a wave: it opens nothing from now on (what they answered stays)."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach.links import revoke_link

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        done = revoke_link(engine, survey, period, actor_id)
    word = "revoked" if done else "was already revoked"
    click.echo(f"The link of actor {actor_id} for wave {period.upper()} {word}: it opens nothing.")


@wave.command("close")
@click.argument("period")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.pass_context
def wave_close(ctx: click.Context, period: str, survey_id: str | None) -> None:
    """Close a wave before its deadline: its links then say the wave is closed and store nothing."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach.links import close_wave

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        done = close_wave(engine, survey, period)
    if done:
        click.echo(f"Wave {period.upper()} of {survey.id} is closed: its links take no more answers.")
    else:
        click.echo(f"Wave {period.upper()} of {survey.id} was already closed.")


def _outreach(ctx: click.Context, wave_id: str, survey_id: str | None, what: str, as_json: bool) -> None:
    """`bfs invite` and `bfs remind`: one survey's wave, through the outbox."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach.invite import invite, remind
    from bfs_pipeline.privacy import hash_key

    settings = settings_of(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    key = hash_key(settings.hash_key, settings.home)
    with pipeline.database(settings) as engine:
        if what == "invite":
            done = invite(engine, settings, survey, wave_id, key, echo=None if as_json else click.echo)
        else:
            done = remind(engine, settings, survey, wave_id, key, echo=None if as_json else click.echo)
    if as_json:
        emit(done.invite_json() if what == "invite" else done.remind_json())
    else:
        where = "sent" if settings.smtp_host else f"written to {settings.outbox}"
        if what == "invite":
            click.echo(
                f"Wave {done.wave}: {done.done} invited ({where}), {done.already} invited before, "
                f"{done.no_contact} without a contact address (kontakt in the roster)."
            )
        else:
            click.echo(
                f"Wave {done.wave}: {done.done} reminded ({where}), {done.already} not due yet, "
                f"{done.no_contact} without a contact address."
            )
    if done.left:
        raise NotDelivered(
            f"{done.left} message{'' if done.left == 1 else 's'} not delivered: see bfs outbox list "
            "(pending ones go with the next run)."
        )


@cli.command()
@click.option("--wave", "wave_id", required=True, help="The wave (YYYY-Qn), opened with bfs wave open.")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def invite(ctx: click.Context, wave_id: str, survey_id: str | None, as_json: bool) -> None:
    """E-mail each active actor with a contact address its personal link to the wave: once per actor and wave.

    In the actor's language (språk in the roster), with the deadline and the privacy notice's address. Through
    the outbox: .eml files in $BFS_HOME/outbox without BFS_SMTP_HOST. Exit code 3 when a message is left
    pending, failed or uncertain.
    """
    _outreach(ctx, wave_id, survey_id, "invite", as_json)


@cli.command()
@click.option("--wave", "wave_id", required=True, help="The wave (YYYY-Qn).")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def remind(ctx: click.Context, wave_id: str, survey_id: str | None, as_json: bool) -> None:
    """Remind each invited actor that has not answered the wave.

    At most BFS_REMIND_MAX reminders, the first BFS_REMIND_EVERY_DAYS days after the invitation and each later
    one as long after the one before; never after the deadline or bfs wave close, never after an opt-out (the
    link in each reminder). Exit code 3 when a message is left pending, failed or uncertain.
    """
    _outreach(ctx, wave_id, survey_id, "remind", as_json)


@cli.command("coverage")
@click.option("--wave", "wave_id", required=True, help="The wave (YYYY-Qn).")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def coverage_cmd(ctx: click.Context, wave_id: str, survey_id: str | None, as_json: bool) -> None:
    """Who of the roster has answered the wave, live: each actor with how its answer was matched (link, code,
    name, alias or none), when it was invited and reminded, whether it opted out; totals per municipality and
    sector."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.outreach.coverage import coverage

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        found = coverage(engine, survey, wave_id)
    if as_json:
        emit(found.as_json())
        return
    click.echo(f"Wave {found.wave} of {found.survey}: {found.answered} of {len(found.actors)} actors have answered.")
    for t in found.totals:
        click.echo(f"  {t.municipality_name:<16} {t.sector:<11} {t.answered}/{t.expected}")
    silent = [a for a in found.actors if not a.answered]
    if silent:
        click.echo("Not answered:")
    for a in silent:
        invited = f"invited {a.invited_at[:10]}" if a.invited_at else "not invited"
        reminded = f", {a.reminders} reminder{'' if a.reminders == 1 else 's'}" if a.reminders else ""
        quiet = ", opted out of reminders" if a.opted_out else ""
        click.echo(f"  {a.actor_id:>5}  {a.organisation} ({a.sector}, {a.municipality}): {invited}{reminded}{quiet}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.pass_context
def web(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web form (uvicorn): /f/TOKEN, /healthz, /tillganglighet, /integritet. Ctrl-C stops.

    Behind a TLS reverse proxy in production (README: Production); BFS_PUBLIC_URL names the address actors use.
    """
    from bfs_pipeline.web.app import serve as serve_web

    serve_web(settings_of(ctx), host, port)


@cli.group()
def privacy() -> None:
    """A respondent's rights: what is stored about them (access) and its erasure by decision."""


@privacy.command("export")
@click.option("--email", "address", required=True, help="The address the respondent answered with (never stored).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="FILE.json to write.")
@click.pass_context
def privacy_export(ctx: click.Context, address: str, out: Path) -> None:
    """Write everything stored about one respondent (their answers, every version, and rows kept out of the answers)
    to a JSON file, for an access request. The respondent is found by the keyed hash of the address; the file and
    the log of the export hold the hash, never the address."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.privacy import hash_key
    from bfs_pipeline.records.access import export_respondent

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        counts = export_respondent(engine, hash_key(settings.hash_key, settings.home, create=False), address, out)
    click.echo(f"Wrote {out}: {counts['answers']} answer(s), {counts['kept_rows']} kept row(s).")


@privacy.command("erase")
@click.option("--email", "address", required=True, help="The address the respondent answered with (never stored).")
@click.option("--decision", required=True, help="The reference (diarienummer) of the erasure decision.")
@click.pass_context
def privacy_erase(ctx: click.Context, address: str, decision: str) -> None:
    """Erase one respondent's answers (every version) and kept rows, by a recorded decision (arkivlagen: erasure is
    a decision). The log keeps when, the decision and how many rows, never the address. Reports already sent stay
    as they were; the next ones no longer count the answers."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.privacy import hash_key
    from bfs_pipeline.records.access import erase_respondent

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        counts = erase_respondent(engine, hash_key(settings.hash_key, settings.home, create=False), address, decision)
    click.echo(f"Erased {counts['answers']} answer(s) and {counts['kept_rows']} kept row(s) (decision {decision}).")


@cli.group()
def archive() -> None:
    """Copies for the archive: a wave's answers, codebook, roster and quarantine, described."""


@archive.command("export")
@click.option("--wave", required=True, help="The wave, YYYY-Qn.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to write the files to.")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.pass_context
def archive_export(ctx: click.Context, wave: str, out: Path, survey_id: str | None) -> None:
    """Write the wave for archiving: answers with codes and labels, the codebook, the roster as it stands, the
    quarantine with its reasons (e-mail addresses hashed), each as CSV and as a sheet of one XLSX, and a README
    describing the files and their formats."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.records.archive import export_wave
    from bfs_pipeline.survey import wave_of

    settings = settings_of(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    wave = wave_of(wave)
    existing(ctx)
    with pipeline.database(settings) as engine:
        files = export_wave(engine, survey, wave, out, __version__)
    for kind, path in files.items():
        click.echo(f"  {kind}: {path}")


@cli.group("run")
def run_group() -> None:
    """Run a scheduled flow once, now, through Prefect (PREFECT_API_URL, or a temporary local server
    when it is unset)."""


@run_group.command("nightly")
@click.option("--survey", "survey_id", help="Only this survey's sources (default: every survey's).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per source (JSON Lines), with survey and status."
)
@click.pass_context
def run_nightly(ctx: click.Context, survey_id: str | None, as_json: bool) -> None:
    """The nightly ingest, now: every source that changed is read, validated and stored; unchanged ones are skipped.

    What an operator runs after fixing a sheet in the morning. Each source ends ok, held, failed or unchanged.
    """
    from flows.run import run_nightly as run_once

    results, error = run_once(settings_of(ctx), survey_id)
    for r in results:
        click.echo(
            json.dumps(r, ensure_ascii=False, default=str) if as_json else (f"{r['status']:<9} " + counts_line(r))
        )
    if not results and not as_json:
        click.echo("No sources: put answer sheets in the inbox, or add [[sources]] to bfs.toml.")
    fail_on_bad(results, as_json)
    if error:
        raise SourceError(error)


@run_group.command(
    "quarterly", epilog="Exit code 3 when --send left a message pending, failed or uncertain (see bfs outbox list)."
)
@click.option("--period", default="previous", show_default=True, help="The quarter to report on, YYYY-Qn, or previous.")
@click.option("--send", is_flag=True, help="Deliver each report once per recipient (SMTP, or .eml files without it).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written and what each report says as JSON.")
@click.pass_context
def run_quarterly(ctx: click.Context, period: str, send: bool, as_json: bool) -> None:
    """The quarterly report flow, now: every survey's report rendered (and with --send delivered)."""
    from flows.run import run_quarterly as run_once

    out = run_once(settings_of(ctx), period, send)
    if as_json:
        emit(out)
    else:
        for rep in out["reports"]:
            click.echo(f"{rep['survey']}:")
            show_report(
                rep.get("subject", ""),
                rep["alerts"],
                rep["summary"],
                rep["files"],
                rep["deliveries"],
                rep.get("actions"),
            )
            for own in rep.get("municipal", []):  # BFS_MUNICIPAL_REPORTS=true: each municipality's own report
                done = ("sent", "written")
                sent = sum(1 for d in own["deliveries"] if d.get("state") in done and not d.get("already"))
                click.echo(f"  {own['municipality']['name']}: {sent} sent, {len(own['deliveries'])} recipient(s)")
    not_delivered(
        [
            d
            for rep in out["reports"]
            for d in [*rep["deliveries"], *(x for own in rep.get("municipal", []) for x in own["deliveries"])]
        ]
    )


def one_line(exc: Exception) -> str | None:
    """What a database or file-system failure means, in one line without SQL or answer values; None if unknown."""
    from sqlalchemy.exc import SQLAlchemyError

    from bfs_pipeline.db import store_error

    if isinstance(exc, SQLAlchemyError):
        return str(store_error(exc))
    if isinstance(exc, OSError):
        if exc.errno == 28:  # ENOSPC
            return f"The disk holding {exc.filename or 'the data folder'} is full: free some space and run it again."
        where = f" {exc.filename}" if exc.filename else ""
        return f"Cannot write or read{where}: {exc.strerror or type(exc).__name__}. Check the path and its permissions."
    return None


def _register_groups() -> None:
    """The command groups kept beside their capability (bfs_pipeline/commands/)."""
    from bfs_pipeline.commands.answers import answers
    from bfs_pipeline.commands.reference import reference
    from bfs_pipeline.commands.support import support

    for group in (answers, reference, support):
        cli.add_command(group)


_register_groups()


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False, obj={})
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BfsError as exc:
        if debug:
            raise
        click.echo(f"bfs: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        known = one_line(exc)
        if known:
            click.echo(f"bfs: {known}", err=True)
            sys.exit(1)
        if debug:
            raise
        click.echo(
            f"bfs: unexpected {type(exc).__name__}: {exc}. Run again with --debug for the traceback, and report it.",
            err=True,
        )
        sys.exit(2)
