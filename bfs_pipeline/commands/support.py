"""`bfs support`: the coordinator's log of the support she gave (import, list, template)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.group()
def support() -> None:
    """The support log: what support was given, to whom, for which needs."""


def _reasons(entry: dict[str, Any]) -> str:
    return "".join(f"\n    {r['column']} {r['value']!r}: {r['message']}" for r in entry["reasons"])


@support.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option(
    "--replace",
    is_flag=True,
    help="Withdraw the events that earlier imports of a file of this name stored and that it no longer has.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def support_import(ctx: click.Context, file: Path, survey_id: str | None, replace: bool, as_json: bool) -> None:
    """Import the support log (CSV or XLSX), one row per support event.

    Columns: datum, kommun (one or several, or Hela länet), mottagare (optional), sektor, behov (one or several of
    B01-B09, by code or label), typ (utbildning, nätverksträff, metodstöd, besök, rådgivning, annat), timmar,
    deltagare. Every row ends up accepted, a duplicate, blank or quarantined (with its reasons); the counts add
    up. Importing the same file again stores nothing twice.
    """
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, rows, settings_of
    from bfs_pipeline.support.log import import_log

    settings = settings_of(ctx)
    survey = pipeline.survey_for(settings, survey_id)
    with pipeline.database(settings) as engine:
        result = import_log(engine, file, survey, replace=replace, lang=settings.lang).as_json()
    if as_json:
        emit(result)
        return
    click.echo(
        f"{result['source']}: {rows(result['rows_seen'])}: {result['accepted']} accepted, "
        f"{result['duplicates']} duplicates, {result['blank']} blank, {result['quarantined']} quarantined "
        f"(import {result['import_id']})"
    )
    for entry in result["quarantine"]:
        click.echo(f"  row {entry['sheet_row']}:{_reasons(entry)}")
    if result["ignored_columns"]:
        click.echo(f"  columns ignored (not part of the support log): {', '.join(result['ignored_columns'])}")
    if result["withdrawn"]:
        click.echo(f"  {result['withdrawn']} events of earlier imports of {result['source']} withdrawn (--replace).")
    if result["stale"]:
        click.echo(
            f"  {result['stale']} events stored by earlier imports of {result['source']} are no longer in it: "
            "they still count. Run again with --replace to withdraw them."
        )


@support.command("list")
@click.option("--period", help="Only the events of this quarter (YYYY-Qn).")
@click.option("--survey", "survey_id", help="Only this survey's events (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def support_list(ctx: click.Context, period: str | None, survey_id: str | None, as_json: bool) -> None:
    """The support events, oldest first (those withdrawn by --replace left out)."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, existing
    from bfs_pipeline.support.log import list_events
    from bfs_pipeline.survey import wave_of

    settings = existing(ctx)
    periods = [wave_of(period)] if period else None
    if survey_id is not None:
        survey_id = pipeline.survey_for(settings, survey_id).id
    with pipeline.database(settings) as engine:
        events = list_events(engine, survey_id, periods)
    if as_json:
        emit(events)
        return
    if not events:
        click.echo("No support events" + (f" in {period}" if period else "") + ": bfs support import FILE.")
    for e in events:
        where = "hela länet" if e["county_wide"] else ", ".join(e["municipalities"])
        click.echo(
            f"{e['datum']} {e['period']}  {e['typ']:<13} {e['hours']:>6g} h {e['participants']:>4} deltagare  "
            f"{where}  {', '.join(e['needs'])}  {e['sector']}" + (f"  {e['mottagare']}" if e["mottagare"] else "")
        )


@support.command("template")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="FILE.xlsx to write.")
@click.option("--survey", "survey_id", help="Survey id, when there are several.")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def support_template(ctx: click.Context, out: Path, survey_id: str | None, force: bool, as_json: bool) -> None:
    """Write an empty support log for Excel: the header, an example row to delete, and drop-down lists for
    kommun, behov, typ and sektor."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import settings_of
    from bfs_pipeline.support.template import write_template

    settings = settings_of(ctx)
    written = write_template(out, pipeline.survey_for(settings, survey_id), force=force, lang=settings.lang)
    if as_json:
        click.echo(json.dumps(written, ensure_ascii=False))
        return
    click.echo(f"Wrote {out}: fill in one row per support event, then bfs support import {out.name}.")


@support.command("quarantine")
@click.option("--import", "import_id", type=int, help="Only the rows of this import (its number).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def support_quarantine(ctx: click.Context, import_id: int | None, as_json: bool) -> None:
    """The rows of support logs kept out of the events, each with its reasons (column, value, rule, message)."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, existing
    from bfs_pipeline.support.log import quarantined

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        kept = quarantined(engine, import_id)
    if as_json:
        emit(kept)
        return
    if not kept:
        click.echo("No support log rows quarantined.")
    for entry in kept:
        click.echo(f"import {entry['import_id']} {entry['source']} row {entry['sheet_row']}:{_reasons(entry)}")
