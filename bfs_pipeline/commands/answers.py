"""`bfs answers`: the wave's answers for the coordinator, on the server only (never e-mailed), logged."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def answers() -> None:
    """The answers themselves, for the coordinator: exported on the server, never e-mailed, every export logged."""


@answers.command("export")
@click.option("--period", required=True, help="The wave, YYYY-Qn.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="FILE.xlsx to write.")
@click.option(
    "--free-text",
    "free_text",
    is_flag=True,
    help="Include the free-text answers (left out by default: they may name people; never quote them in a report).",
)
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--force", is_flag=True, help="Write over FILE when it exists (the export is logged again).")
@click.option(
    "--lang", type=click.Choice(["sv", "en"]), default="sv", show_default=True, help="Language of labels and headers."
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written and logged as a JSON object.")
@click.pass_context
def answers_export(
    ctx: click.Context,
    period: str,
    out: Path,
    free_text: bool,
    survey_id: str | None,
    force: bool,
    lang: str,
    as_json: bool,
) -> None:
    """Write the wave's answers that count now (one row per response; older versions of a resubmitted answer left
    out) to an Excel file on this machine: organisation, sector, municipalities, wave, time submitted, and per
    question its code(s) and label(s). Respondents' e-mail addresses are never written. Free text only with
    --free-text. The file is never e-mailed; every export is logged (who: the operating-system user and host, when,
    what: survey, wave, free text or not, rows, the file's SHA-256): see bfs answers log."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, existing
    from bfs_pipeline.records.answers_export import export_answers
    from bfs_pipeline.survey import wave_of

    settings = existing(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    wave = wave_of(period)
    with pipeline.database(settings) as engine:
        done = export_answers(engine, survey, wave, out, free_text=free_text, force=force, lang=lang)
    if as_json:
        emit(done.as_json())
        return
    what = "with free text" if free_text else "without free text (add --free-text for it)"
    click.echo(f"Wrote {done.path}: {done.rows} answer(s) of {survey.id} {wave}, {what}.")
    click.echo(f"Logged as export {done.log_id} by {done.os_user}@{done.host}; SHA-256 {done.sha256}.")
    click.echo("Keep the file on this server: do not e-mail it.")


@answers.command("log")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the exports.")
@click.pass_context
def answers_log(ctx: click.Context, as_json: bool) -> None:
    """Every answers export so far, oldest first: when, by whom, which wave, free text or not, rows, SHA-256."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, existing
    from bfs_pipeline.records.answers_export import export_log

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        entries = export_log(engine)
    if as_json:
        emit(entries)
        return
    if not entries:
        click.echo("No answers have been exported.")
    for e in entries:
        free = "free text" if e["free_text"] else "no free text"
        click.echo(f"{e['id']:>4}  {e['at'][:19]}  {e['by']}  {e['survey']} {e['wave']}  {e['rows']} rows, {free}")
        click.echo(f"      {e['path']}  sha256 {e['sha256']}")
