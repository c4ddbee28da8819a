"""The actor roster: the organisations expected to answer, imported from CSV/XLSX and kept in the database."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import reference
from bfs_pipeline.config import ADDRESS_RE
from bfs_pipeline.errors import SourceError
from bfs_pipeline.models import Actor
from bfs_pipeline.normalize import clean, key, org_key
from bfs_pipeline.sources import read_csv, read_xlsx
from bfs_pipeline.survey import Survey

COLUMNS = {
    "name": ("organisation", "organisation_name", "namn", "name"),
    "sector": ("sektor", "sector"),
    "municipalities": ("kommun", "kommuner", "municipality", "municipalities"),
    "contact_email": ("kontakt", "e-post", "epost", "contact_email", "email"),
    "lang": ("sprak", "språk", "language", "lang"),
    "active": ("aktiv", "active"),
    "report": ("rapport", "report", "kommunrapport"),
}
LANGS = {"sv": "sv", "svenska": "sv", "swedish": "sv", "en": "en", "engelska": "en", "english": "en"}
YES = {"ja", "j", "yes", "y", "1", "true", "x"}
NO = {"nej", "n", "no", "0", "false"}


@dataclass(frozen=True)
class Row:
    """One organisation of a roster file, checked."""

    name: str
    name_key: str
    sector: str
    municipalities: list[str]
    contact: str | None
    lang: str  # sv or en: the language of its invitations and reminders
    active: bool  # aktiv = nej: kept, but neither invited nor expected
    report: bool | None = None  # rapport = ja: gets the municipality's own report; None: no such column (kept)


def import_roster(engine: Engine, path: Path, survey: Survey) -> dict[str, int]:
    """Add or update every organisation in the file; organisations missing from it (or marked aktiv = nej) are kept
    but marked inactive, never deleted: their answers stay.

    Columns: organisation, sektor, kommun (required); kontakt (an e-mail address), språk (sv or en), aktiv (ja or
    nej), rapport (ja or nej, default nej: its contact gets the municipality's own report; without the column an
    organisation keeps what it had). Counts: added, updated, inactive (those marked so in the file or missing from it
    now)."""
    if path.suffix.lower() == ".csv":
        header, rows, numbers = read_csv(path)
    elif path.suffix.lower() == ".xlsx":
        header, rows, numbers = read_xlsx(path)
    else:
        raise SourceError(f"{path} is neither .csv nor .xlsx: save the roster as CSV or Excel.")
    titles = [key(h) for h in header]
    where: dict[str, int] = {}
    for field, names in COLUMNS.items():
        hit = next((i for i, t in enumerate(titles) if t in names), None)
        if hit is None and field in ("name", "sector", "municipalities"):
            raise SourceError(
                f"{path} has no column {names[0]!r} (row 1). "
                "The roster needs the columns organisation, sektor, kommun (and optionally kontakt)."
            )
        if hit is not None:
            where[field] = hit
    parsed: list[Row] = []
    for row, n in zip(rows, numbers, strict=True):
        # one line each: a name with a line break in its cell would break the report's lines
        cell = {f: " ".join(clean(row[i]).split()) if i < len(row) else "" for f, i in where.items()}
        if not any(cell.values()):
            continue
        if not cell["name"]:
            raise SourceError(f"{path} row {n}: the organisation has no name. Fill it in or delete the row.")
        sector = cell["sector"].lower()
        sector = next(
            (
                s
                for s, lab in survey.sectors.items()
                if key(sector) in (s, key(lab.get("sv", "")), key(lab.get("en", "")))
            ),
            sector,
        )
        if sector not in survey.sectors:
            raise SourceError(f"{path} row {n}: sector {cell['sector']!r} is not one of {', '.join(survey.sectors)}.")
        codes = []
        for token in [t for t in re.split(r"[;,]", cell["municipalities"]) if t.strip()]:
            m = reference.match_municipality(token, survey.county)
            if m.code is None:
                raise SourceError(
                    f"{path} row {n}: municipality {token.strip()!r} is not in the survey's county ({m.rule}). "
                    "Write its name or code."
                )
            codes.append(m.code)
        if not codes:
            raise SourceError(
                f"{path} row {n}: {cell['name']} has no municipality. "
                f"Name at least one, or {survey.county} for the whole county."
            )
        contact = cell.get("contact_email") or None
        if contact is not None and not ADDRESS_RE.fullmatch(contact):
            raise SourceError(
                f"{path} row {n}: the contact {contact!r} of {cell['name']} is not an e-mail address. "
                "Write one address (namn@organisation.se) or leave the cell empty."
            )
        lang = LANGS.get(key(cell.get("lang") or "sv"))
        if lang is None:
            raise SourceError(
                f"{path} row {n}: språk {cell['lang']!r} of {cell['name']} is neither sv nor en. "
                "Write sv or en (or leave it empty: sv)."
            )
        active_text = key(cell.get("active") or "ja")
        if active_text not in YES | NO:
            raise SourceError(
                f"{path} row {n}: aktiv {cell['active']!r} of {cell['name']} is neither ja nor nej. Write ja or nej."
            )
        report = None
        if "report" in where:
            report_text = key(cell.get("report") or "nej")
            if report_text not in YES | NO:
                raise SourceError(
                    f"{path} row {n}: rapport {cell['report']!r} of {cell['name']} is neither ja nor nej. "
                    "Write ja (its contact gets the municipality's own report) or nej."
                )
            report = report_text in YES
        parsed.append(
            Row(cell["name"], org_key(cell["name"]), sector, codes, contact, lang, active_text in YES, report)
        )
    counts = {"added": 0, "updated": 0, "inactive": 0}
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        existing = {
            (a.name_key, a.sector): a for a in s.scalars(select(Actor).where(Actor.county == survey.county))
        }  # other counties' rosters stay as they are
        seen = set()
        for entry in parsed:
            if (entry.name_key, entry.sector) in seen:
                raise SourceError(
                    f"{path}: {entry.name} ({entry.sector}) is in the roster twice. Keep one row per organisation."
                )
            seen.add((entry.name_key, entry.sector))
            actor = existing.get((entry.name_key, entry.sector))
            if actor is None:
                actor = Actor(county=survey.county, name_key=entry.name_key, sector=entry.sector)
                s.add(actor)
                counts["added"] += 1
            else:
                counts["updated"] += 1
            actor.name, actor.municipalities, actor.contact_email = entry.name, entry.municipalities, entry.contact
            actor.lang, actor.active, actor.updated_at = entry.lang, entry.active, now
            if entry.report is not None:
                actor.report_opt_in = entry.report
            elif actor.report_opt_in is None:
                actor.report_opt_in = False
            if not entry.active:
                counts["inactive"] += 1
        for k, actor in existing.items():
            if k not in seen and actor.active:
                actor.active = False  # never deleted: its answers stay
                counts["inactive"] += 1
    return counts


def roster_frame(engine: Engine, active_only: bool = True, county: str | None = None) -> pd.DataFrame:
    """The roster (one county's, or all) as a DataFrame.

    Columns: id, county, name, name_key, sector, municipalities (list), contact_email, lang, active, report (rapport
    = ja: gets the municipality's own report).
    """
    with Session(engine) as s:
        q = select(Actor).order_by(Actor.county, Actor.sector, Actor.name)
        if active_only:
            q = q.where(Actor.active.is_(True))
        if county is not None:
            q = q.where(Actor.county == county)
        rows: list[dict[str, Any]] = [
            {
                "id": a.id,
                "county": a.county,
                "name": a.name,
                "name_key": a.name_key,
                "sector": a.sector,
                "municipalities": list(a.municipalities),
                "contact_email": a.contact_email,
                "lang": a.lang,
                "active": a.active,
                "report": bool(a.report_opt_in),
            }
            for a in s.scalars(q)
        ]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "county",
            "name",
            "name_key",
            "sector",
            "municipalities",
            "contact_email",
            "lang",
            "active",
            "report",
        ],
    )
