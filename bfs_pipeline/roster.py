"""The actor roster: the organisations expected to answer, imported from CSV/XLSX and kept in the database."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import reference
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
}


def import_roster(engine: Engine, path: Path, survey: Survey) -> dict[str, int]:
    """Add or update every organisation in the file; organisations missing from it are kept but marked inactive."""
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
    parsed = []
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
        parsed.append((cell["name"], org_key(cell["name"]), sector, codes, cell.get("contact_email") or None))
    counts = {"added": 0, "updated": 0, "inactive": 0}
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        existing = {
            (a.name_key, a.sector): a for a in s.scalars(select(Actor).where(Actor.county == survey.county))
        }  # other counties' rosters stay as they are
        seen = set()
        for name, nkey, sector, codes, contact in parsed:
            seen.add((nkey, sector))
            actor = existing.get((nkey, sector))
            if actor is None:
                s.add(
                    Actor(
                        county=survey.county,
                        name=name,
                        name_key=nkey,
                        sector=sector,
                        municipalities=codes,
                        contact_email=contact,
                        active=True,
                        updated_at=now,
                    )
                )
                counts["added"] += 1
            else:
                actor.name, actor.municipalities, actor.contact_email, actor.active, actor.updated_at = (
                    name,
                    codes,
                    contact,
                    True,
                    now,
                )
                counts["updated"] += 1
        for k, actor in existing.items():
            if k not in seen and actor.active:
                actor.active = False
                counts["inactive"] += 1
    return counts


def roster_frame(engine: Engine, active_only: bool = True, county: str | None = None) -> pd.DataFrame:
    """The roster (one county's, or all) as a DataFrame.

    Columns: county, name, name_key, sector, municipalities (list), contact_email.
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
                "active": a.active,
            }
            for a in s.scalars(q)
        ]
    return pd.DataFrame(
        rows, columns=["id", "county", "name", "name_key", "sector", "municipalities", "contact_email", "active"]
    )
