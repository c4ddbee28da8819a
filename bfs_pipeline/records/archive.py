"""A wave written for the archive (arkivlagen): the answers with codes and labels, the codebook, the roster as it
stood, the quarantine with its reasons, and a README describing each file. CSV (UTF-8) and XLSX side by side."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from bfs_pipeline.export import neutralise, workbook
from bfs_pipeline.models import IngestRun, QuarantinedRow, Response
from bfs_pipeline.roster import roster_frame
from bfs_pipeline.survey import Column, Survey

Table = tuple[list[str], list[list[Any]]]

README = """# {survey}: wave {wave}, archive copy

Written by bfs {version} on {written} (UTC) with `bfs archive export --wave {wave}`.
Survey file: {survey_file}. County: {county}.

Each table is here twice, with the same rows: as CSV (UTF-8, comma-separated, a header row, RFC 4180 quoting)
and as a sheet of `{wave}.xlsx`. Cells that a spreadsheet would run as a formula (starting with =, +, -, @,
tab or a line break) begin with an apostrophe.

| file | rows | what it holds |
|---|---|---|
| answers.csv | {answers} | One row per answer stored for the wave, every version of a resubmitted answer included (`counts` is `ja` for the one that counts). Per question two columns: `ID` with the stored code(s), `ID (text)` with their labels in Swedish; several codes are joined by `;`. `respondent` is the keyed hash (HMAC-SHA256) of the respondent's e-mail address, never the address; empty where the form asked for none. |
| codebook.csv | {codebook} | The form's columns in order: title as the form showed it, question id, type, required, choices (`code=label;...`), min and max. |
| roster.csv | {roster} | The actors expected to answer, as the roster stood when this copy was written: organisation, sector, municipalities (SCB codes), contact address (an organisation's), active. |
| quarantine.csv | {quarantine} | Rows kept out of the answers and answers set aside, from the sheets read for the wave: source file, sheet row (header = row 1), kind (`row`: the response was kept out; `answer`: the response counts, this answer (`question_id`) was set aside), each reason (column, value, rule, message) and the row's cells as read, with every e-mail address replaced by its keyed hash (`hmac-sha256:...`). |
"""


def _codes(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _answers(survey: Survey, columns: list[Column], rows: list[Response]) -> Table:
    questions = [c for c in columns if c.question_id]
    header = ["response", "sector", "wave", "submitted_at", "organisation", "respondent", "counts", "source"]
    for c in questions:
        header += [str(c.question_id), f"{c.question_id} (text)"]
    out: list[list[Any]] = []
    for r in rows:
        line: list[Any] = [
            r.id,
            r.sector,
            r.wave,
            r.submitted_at.isoformat(),
            r.organisation,
            r.email_hash or "",
            "ja" if r.is_current else "nej",
            Path(r.source).name,
        ]
        for c in questions:
            codes = _codes(r.answers.get(str(c.question_id)))
            labels = {ch.code: ch.label("sv") for ch in c.choices}
            line += [";".join(codes), ";".join(labels.get(code, code) for code in codes)]
        out.append(line)
    return header, out


def _codebook(columns: list[Column]) -> Table:
    header = ["title", "question_id", "type", "required", "choices", "min", "max"]
    rows = [
        [
            c.title,
            c.question_id or "",
            c.type,
            "ja" if c.required else "nej",
            ";".join(f"{ch.code}={ch.label('sv')}" for ch in c.choices),
            "" if c.min is None else c.min,
            "" if c.max is None else c.max,
        ]
        for c in columns
    ]
    return header, rows


def _roster(engine: Engine, survey: Survey) -> Table:
    frame = roster_frame(engine, active_only=False, county=survey.county)
    rows = [
        [
            r["name"],
            r["sector"],
            ";".join(r["municipalities"]),
            r["contact_email"] or "",
            "ja" if r["active"] else "nej",
        ]
        for r in frame.to_dict(orient="records")
    ]
    return ["organisation", "sector", "municipalities", "contact", "active"], rows


def _quarantine(s: Session, survey: Survey, wave: str) -> Table:
    runs_of_wave = select(Response.run_id).where(Response.survey_id == survey.id, Response.wave == wave)
    runs = select(IngestRun.id).where(
        IngestRun.survey_id == survey.id, or_(IngestRun.wave == wave, IngestRun.id.in_(runs_of_wave))
    )
    rows = []
    for q in s.scalars(select(QuarantinedRow).where(QuarantinedRow.run_id.in_(runs)).order_by(QuarantinedRow.id)):
        reasons = " | ".join(f"{x['column']}: {x['value']!r}: {x['message']} [{x['rule']}]" for x in q.reasons)
        cells = "; ".join(f"{k}={v}" for k, v in q.raw.items() if v)
        rows.append([Path(q.source).name, q.sheet_row, q.kind, q.question_id or "", reasons, cells])
    return ["source", "sheet_row", "kind", "question_id", "reasons", "cells"], rows


def _write_csv(path: Path, table: Table) -> None:
    header, rows = table
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([neutralise(h) for h in header])
        for row in rows:
            w.writerow([neutralise(v) for v in row])


def export_wave(engine: Engine, survey: Survey, wave: str, out: Path, version: str) -> dict[str, str]:
    """Write the wave's archive copy under out; the files written, by name."""
    columns = survey.columns(None, wave)
    with Session(engine) as s:
        stored = list(
            s.scalars(
                select(Response).where(Response.survey_id == survey.id, Response.wave == wave).order_by(Response.id)
            )
        )
        tables = {
            "answers": _answers(survey, columns, stored),
            "codebook": _codebook(columns),
            "roster": _roster(engine, survey),
            "quarantine": _quarantine(s, survey, wave),
        }
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, table in tables.items():
        _write_csv(out / f"{name}.csv", table)
        files[name] = str(out / f"{name}.csv")
    (out / f"{wave}.xlsx").write_bytes(workbook(tables, [("'", "a text that began with =, +, -, @")], survey.id))
    files["xlsx"] = str(out / f"{wave}.xlsx")
    (out / "README.md").write_text(
        README.format(
            survey=survey.id,
            wave=wave,
            version=version,
            written=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            survey_file=survey.path.name,
            county=survey.county,
            **{k: len(v[1]) for k, v in tables.items()},
        ),
        encoding="utf-8",
    )
    files["readme"] = str(out / "README.md")
    return files
