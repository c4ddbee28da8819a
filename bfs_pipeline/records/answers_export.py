"""A wave's answers as a spreadsheet for the coordinator (`bfs answers export`): on the server, never e-mailed, logged.

One row per response that counts now (the newest version of a resubmitted answer; older versions are left out),
with the organisation, its sector, the municipalities it answered for, the wave and when it was submitted. Each
question with answer codes has two columns: `ID` with the stored code(s) and `ID (text)` with their labels (several
codes joined by "; "); a number has one. A second sheet lists the questions (text, type, yearly, purpose, codes).
Free-text answers are left out unless asked for (`--free-text`); respondents' e-mail addresses are never written,
not even as their hashes.

Each export is logged in `answer_exports` (who: the operating-system user and host; when; what: survey, wave,
free text or not, rows, the file's SHA-256) and in the privacy log (`privacy_log`, action `answers_export`), in the
same transaction as the file is written: a file that could not be logged is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, DateTime, Engine, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bfs_pipeline import db, i18n, reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.export import workbook
from bfs_pipeline.models import Base, PrivacyAction, Response, utcnow
from bfs_pipeline.survey import Column, Survey

ACTION = "answers_export"  # privacy_log.action
CODED = ("likert", "single", "multi", "yesno", "municipality", "municipalities")
FIXED = ("ORG", "C01")  # the organisation and its municipalities have columns of their own, first


class AnswerExport(Base):
    """One `bfs answers export`: who ran it, when, what it wrote (migration 0016)."""

    __tablename__ = "answer_exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    os_user: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    survey_id: Mapped[str] = mapped_column(String(100))
    wave: Mapped[str] = mapped_column(String(7))
    free_text: Mapped[bool] = mapped_column(Boolean)
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)


class AnswersExportError(BfsError):
    """The answers cannot be exported as asked."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote, as it was logged."""

    log_id: int
    path: Path
    survey_id: str
    wave: str
    rows: int
    free_text: bool
    sha256: str
    os_user: str
    host: str
    at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "log_id": self.log_id,
            "path": str(self.path),
            "survey": self.survey_id,
            "wave": self.wave,
            "rows": self.rows,
            "free_text": self.free_text,
            "sha256": self.sha256,
            "by": f"{self.os_user}@{self.host}",
            "at": self.at.isoformat(),
        }


def who() -> tuple[str, str]:
    """The operating-system user running the export, and the host: what the log records as 'who'."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        user = f"uid:{os.getuid()}"
    return user, socket.gethostname()


def _codes(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _code_cell(col: Column, codes: list[str]) -> Any:
    """A Likert answer as its number (Excel can average it); other codes as text ("0114" keeps its zero)."""
    if col.type == "likert" and len(codes) == 1 and codes[0].isdigit():
        return int(codes[0])
    return "; ".join(codes) or None


def _questions(survey: Survey, wave: str, free_text: bool, rows: list[Response]) -> list[Column]:
    """The questions the wave asks, and a yearly one it does not ask where a sheet still carried answers to it
    (the ingest keeps those); free text only when asked for."""
    answered = {k for r in rows for k, v in r.answers.items() if v not in (None, "", [])}
    return [
        c
        for c in survey.columns(None, wave)
        if c.question is not None
        and c.question.id not in FIXED
        and (survey.asked(c.question, wave) or c.question.id in answered)
        and (free_text or c.type != "text")
    ]


def _answers_sheet(
    survey: Survey, rows: list[Response], questions: list[Column], lang: str
) -> tuple[list[str], list[list[Any]]]:
    _ = i18n.translator(lang)
    tz = ZoneInfo(survey.timezone)
    munis = reference.municipalities()
    county = reference.counties()[survey.county]
    header = [
        _("Svar nr"),
        _("Organisation"),
        _("Sektor"),
        _("Sektor (text)"),
        _("Kommuner"),
        _("Kommuner (namn)"),
        _("Våg"),
        _("Inskickat"),
    ]
    for c in questions:
        header += [str(c.question_id), f"{c.question_id} ({_('text')})"] if c.type in CODED else [str(c.question_id)]
    out: list[list[Any]] = []
    for r in rows:
        places = _codes(r.answers.get("C01"))
        names = [county.name if p == survey.county else (munis[p].name if p in munis else p) for p in places]
        sector = survey.sectors.get(r.sector, {})
        line: list[Any] = [
            r.id,
            r.organisation or r.answers.get("ORG"),
            r.sector,
            sector.get(lang) or sector.get("sv") or r.sector,
            "; ".join(places) or None,
            "; ".join(names) or None,
            r.wave,
            r.submitted_at.astimezone(tz).replace(tzinfo=None, microsecond=0),
        ]
        for c in questions:
            value = r.answers.get(str(c.question_id))
            if c.type in CODED:
                codes = _codes(value)
                labels = {ch.code: ch.label(lang) for ch in c.choices}
                line += [_code_cell(c, codes), "; ".join(labels.get(code, code) for code in codes) or None]
            else:
                line.append(None if value == "" else value)
        out.append(line)
    return header, out


def _questions_sheet(questions: list[Column], lang: str) -> tuple[list[str], list[list[Any]]]:
    _ = i18n.translator(lang)
    header = [_("Fråga"), _("Text"), _("Typ"), _("Årlig"), _("Används i"), _("Sparas för"), _("Koder")]
    out = []
    for c in questions:
        q = c.question
        assert q is not None
        out.append(
            [
                q.id,
                q.title(lang),
                q.type,
                _("ja") if q.yearly else _("nej"),
                q.reported_in,
                q.kept_for,
                "; ".join(f"{ch.code}={ch.label(lang)}" for ch in c.choices) or None,
            ]
        )
    return header, out


def current_answers(engine: Engine, survey_id: str, wave: str) -> list[Response]:
    """The wave's responses that count now: one per respondent, older versions of a resubmission left out."""
    with Session(engine) as s:
        rows = list(
            s.scalars(
                select(Response)
                .where(Response.survey_id == survey_id, Response.wave == wave, Response.is_current.is_(True))
                .order_by(Response.sector, Response.organisation, Response.id)
            )
        )
        s.expunge_all()
    return rows


def export_answers(
    engine: Engine,
    survey: Survey,
    wave: str,
    out: Path,
    *,
    free_text: bool = False,
    force: bool = False,
    lang: str = "sv",
) -> Exported:
    """Write the wave's current answers to an XLSX file on this machine and log who wrote what."""
    lang = i18n.check(lang)
    _ = i18n.translator(lang)
    if out.suffix.lower() != ".xlsx":
        raise AnswersExportError(f"{out} must end in .xlsx: the answers are written as one Excel file.")
    if out.exists() and not force:
        raise AnswersExportError(
            f"{out} exists already: name another file, or add --force to write over it (the export is logged again)."
        )
    rows = current_answers(engine, survey.id, wave)
    if not rows:
        raise AnswersExportError(
            f'No answers are stored for survey "{survey.id}" in {wave}: check the period (bfs status lists the waves '
            "that have answers), or load the answers first with bfs ingest."
        )
    questions = _questions(survey, wave, free_text, rows)
    user, host = who()
    at = dt.datetime.now(dt.UTC)
    title = _("Svar i {survey}, {wave}: {n} svar, exporterade {at} av {who}. Fritext: {free}.").format(
        survey=survey.title.get(lang) or survey.title["sv"],
        wave=wave,
        n=len(rows),
        at=at.astimezone(ZoneInfo(survey.timezone)).strftime("%Y-%m-%d %H:%M"),
        who=f"{user}@{host}",
        free=_("ja") if free_text else _("nej"),
    )
    symbols = [
        ("B01, B01 (text)", _("frågans kod som den lagrats, och kodens etikett; frågorna står på bladet Frågor")),
        ("'", _("en text som började med =, +, -, @, tabb eller radbrytning (så att den inte blir en formel)")),
        (_("tom cell"), _("frågan besvarades inte, eller ställdes inte i vågen (årliga frågor)")),
        ("; ", _("skiljer flera svar åt (kryssrutor, flera kommuner)")),
    ]
    data = workbook(
        {
            _("Svar"): _answers_sheet(survey, rows, questions, lang),
            _("Frågor"): _questions_sheet(questions, lang),
        },
        symbols,
        title,
    )
    digest = hashlib.sha256(data).hexdigest()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    written = False
    try:
        with Session(db.writer(engine)) as s, s.begin():
            log = AnswerExport(
                at=at,
                os_user=user[:200],
                host=host[:255],
                survey_id=survey.id,
                wave=wave,
                free_text=free_text,
                rows=len(rows),
                sha256=digest,
                path=str(out),
            )
            s.add(log)
            s.add(PrivacyAction(at=at, action=ACTION, decision=None, responses=len(rows), quarantined=0))
            s.flush()
            log_id = log.id
            part.write_bytes(data)
            os.replace(part, out)
            written = True
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
            if written:
                out.unlink(missing_ok=True)  # written but not logged: no unlogged copy stays behind
        raise
    return Exported(log_id, out, survey.id, wave, len(rows), free_text, digest, user, host, at)


def export_log(engine: Engine) -> list[dict[str, Any]]:
    """Every answers export, oldest first: who, when, what."""
    with Session(engine) as s:
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "by": f"{e.os_user}@{e.host}",
                "survey": e.survey_id,
                "wave": e.wave,
                "free_text": e.free_text,
                "rows": e.rows,
                "sha256": e.sha256,
                "path": e.path,
            }
            for e in s.scalars(select(AnswerExport).order_by(AnswerExport.id))
        ]
