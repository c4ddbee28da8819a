"""`bfs reference`: the reference tables the reports use (population per municipality)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def reference() -> None:
    """Reference tables: the population per municipality that the capacity figures are divided by."""


@reference.group("population")
def population() -> None:
    """The population per municipality and year (SCB): each wave uses the newest year on or before its own."""


@population.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as a JSON object.")
@click.pass_context
def population_import(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Import SCB's population table per municipality from FILE (.csv with ; or , or .xlsx): either the columns
    kommunkod, folkmängd and år, or SCB's export with the region ("1080 Karlskrona") in rows and one column per year.
    Each year in the file replaces that year's figures. Rows that cannot be read are listed with their line and
    left out; rows for the whole country or a county are left out."""
    from bfs_pipeline import pipeline
    from bfs_pipeline.cli import emit, settings_of
    from bfs_pipeline.population import import_population

    settings = settings_of(ctx)
    with pipeline.database(settings) as engine:
        done = import_population(engine, file)
    if as_json:
        emit(done.as_json())
        return
    for year, n in sorted(done.by_year.items()):
        was = done.replaced.get(year, 0)
        replaced = f", replacing {was} imported before" if was else ""
        click.echo(f"{year}: {n} municipalities{replaced}.")
    if done.left_out:
        click.echo(f"Left out {done.left_out} row(s) for the whole country or a county.")
    for p in done.problems:
        click.echo(f"  line {p.line}: {p.reason}")
    bad = f"; {len(done.problems)} row(s) could not be read (above)" if done.problems else ""
    click.echo(f"Imported {sum(done.by_year.values())} figure(s) from {file.name}{bad}.")


@population.command("list")
@click.option("--wave", help="The figures a wave (YYYY-Qn) uses: the newest year on or before it.")
@click.option("--county", help="Only this county's municipalities (2-digit code, as 10).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def population_list(ctx: click.Context, wave: str | None, county: str | None, as_json: bool) -> None:
    """The imported years; with --wave, each municipality's population and the year it is from."""
    from bfs_pipeline import pipeline
    from bfs_pipeline import reference as ref
    from bfs_pipeline.cli import emit, existing
    from bfs_pipeline.population import SHIPPED_YEAR, for_wave, imported_years
    from bfs_pipeline.survey import wave_of

    settings = existing(ctx)
    with pipeline.database(settings) as engine:
        years = imported_years(engine)
        figures = for_wave(engine, wave_of(wave)) if wave else {}
    munis = ref.municipalities()
    codes = [c for c in sorted(figures) if county is None or munis[c].county_code == county.zfill(2)]
    rows = [{"code": c, "name": munis[c].name, "population": figures[c][0], "year": figures[c][1]} for c in codes]
    data = {
        "imported_years": {str(y): n for y, n in years.items()},
        "shipped_year": SHIPPED_YEAR,
        "wave": wave_of(wave) if wave else None,
        "municipalities": rows,
    }
    if as_json:
        emit(data)
        return
    if years:
        click.echo("Imported: " + ", ".join(f"{y} ({n} municipalities)" for y, n in years.items()) + ".")
    else:
        click.echo(f"No population imported: every wave uses the table shipped with bfs ({SHIPPED_YEAR}).")
    for m in rows:
        click.echo(f"{m['code']}  {m['name']:<20} {m['population']:>9}  ({m['year']})")
