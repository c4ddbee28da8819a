"""Swedish counties and municipalities (SCB codes) shipped with the package, and municipality matching."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    official_name: str
    county_code: str
    population: int | None


@dataclass(frozen=True)
class County:
    code: str
    name: str
    short_name: str


@dataclass(frozen=True)
class Match:
    """The result of matching one answer against the municipalities of a county."""

    code: str | None
    rule: str | None = None  # None when matched; else municipality_outside_county / unknown / ambiguous
    message: str | None = None  # the detail a reason quotes: the value, or the municipality it names


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def counties() -> dict[str, County]:
    return {
        r["county_code"]: County(r["county_code"], r["county_name"], r["county_name_short"])
        for r in _read("counties.csv")
    }


@cache
def municipalities() -> dict[str, Municipality]:
    pop = {r["code"]: r for r in _read("kommuner_population_2016.csv")}
    out = {}
    for r in _read("municipalities.csv"):
        code = r["municipality_code"]
        p = pop.get(code)
        out[code] = Municipality(
            code=code,
            name=r["municipality_name_short"],
            official_name=p["name"] if p else r["municipality_name"],
            county_code=r["county_code"],
            population=int(p["population"]) if p and p["population"] else None,
        )
    return out


def county_municipalities(county_code: str) -> list[Municipality]:
    """The municipalities of a county, ordered by code."""
    return sorted((m for m in municipalities().values() if m.county_code == county_code), key=lambda m: m.code)


def fold(text: str) -> str:
    """Case- and diacritic-insensitive key: only ever compared inside one county."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@cache
def _exact_index() -> dict[str, tuple[str, ...]]:
    """Every municipality by code, short name and official name (exact but for case and spaces)."""
    index: dict[str, set[str]] = {}
    for m in municipalities().values():
        for alias in {m.code, m.name, m.official_name, m.name + " kommun", m.name + "s kommun"}:
            index.setdefault(_key(alias), set()).add(m.code)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def match_municipality(value: str, county_code: str) -> Match:
    """Match a code, name, official name or (inside the county, unambiguously) a name without diacritics."""
    county = counties().get(county_code)
    raw = value.strip()
    if raw.isdigit() and len(raw) == 3:
        raw = "0" + raw  # "180" typed for "0180"; only ever fills a dropped leading zero
    key = _key(raw)
    if county and key in {_key(county_code), _key(county.name), _key("hela " + county.name)}:
        return Match(county_code)
    hits = _exact_index().get(key, ())
    inside = [c for c in hits if municipalities()[c].county_code == county_code]
    if county and key == _key(county.short_name) and not inside:  # "Kalmar" is the town, "Kalmar län" the county
        return Match(county_code)
    if len(inside) == 1:
        return Match(inside[0])
    if len(inside) > 1:
        return Match(None, "ambiguous_municipality", f"{value} ({', '.join(inside)})")
    folded = fold(raw.removesuffix(" kommun").removesuffix("s"))
    candidates = {
        m.code
        for m in county_municipalities(county_code)
        if fold(m.name) in (fold(raw), folded) or fold(m.official_name) == fold(raw)
    }
    if len(candidates) == 1:
        return Match(candidates.pop())
    if len(candidates) > 1:
        return Match(None, "ambiguous_municipality", f"{value} ({', '.join(sorted(candidates))})")
    if hits:
        names = ", ".join(f"{municipalities()[c].name} ({c})" for c in hits)
        return Match(None, "municipality_outside_county", names)
    return Match(None, "unknown_municipality", value)
