"""The web form's work, without HTTP: what a form asks, checking a submission, storing it, drafts.

`FormService` is the one door the web app calls. A submission is checked by the same normalising and the same
Great Expectations suite as a sheet row (through `sources.form.FormSource`); every invalid answer, optional or
required, comes back for correction and nothing is stored until the whole submission is valid. A valid one is
ingested like any sheet: an ingest run, a content hash, the newest answer of the respondent counting.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bfs_pipeline import db, i18n, ingest, validation
from bfs_pipeline import normalize as nz
from bfs_pipeline.models import FormDraft, Response
from bfs_pipeline.outreach.links import Visit, WaveState, find_link, municipality_names
from bfs_pipeline.sources.form import FormSource
from bfs_pipeline.survey import Question, Survey, load_surveys

TEXT_MAX = 4000  # characters in a free-text answer


class Kind(StrEnum):
    """The native input a question is asked with."""

    RADIO = "radio"
    CHECKBOX = "checkbox"
    SELECT = "select"
    INTEGER = "integer"  # <input type="number">: whole numbers only
    DECIMAL = "decimal"  # <input type="text" inputmode="decimal">: "0,5"
    TEXT = "text"  # <textarea>


KIND_OF = {
    "likert": Kind.RADIO,
    "single": Kind.RADIO,
    "yesno": Kind.RADIO,
    "multi": Kind.CHECKBOX,
    "municipalities": Kind.CHECKBOX,
    "municipality": Kind.SELECT,
    "integer": Kind.INTEGER,
    "number": Kind.DECIMAL,
    "text": Kind.TEXT,
}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One question as the form asks it. `name` is the form field's name and the element id's stem."""

    name: str  # the question id
    kind: Kind
    label: str
    required: bool
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    hint: str | None = None

    @property
    def grouped(self) -> bool:
        """Asked with several inputs (radio buttons, checkboxes): a fieldset with a legend."""
        return self.kind in (Kind.RADIO, Kind.CHECKBOX)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class FieldError:
    name: str
    label: str
    message: str


@dataclass
class FormPage:
    """Everything a form page shows: who answers, the questions, the answers so far and what is wrong with them."""

    visit: Visit
    survey_title: str
    sector_label: str
    municipality: str
    sections: list[Section]
    values: dict[str, list[str]]
    errors: list[FieldError] = field(default_factory=list)
    lang: str = "sv"
    answered_at: dt.datetime | None = None  # the current stored answer's time, when there is one
    draft_saved_at: dt.datetime | None = None

    def error_of(self, name: str) -> FieldError | None:
        return next((e for e in self.errors if e.name == name), None)

    def value(self, name: str) -> str:
        values = self.values.get(name) or [""]
        return values[0]

    def chosen(self, name: str, option: str) -> bool:
        return option in (self.values.get(name) or [])


class Outcome(StrEnum):
    STORED = "stored"  # a new answer (or a resubmission: the newest counts)
    UNCHANGED = "unchanged"  # exactly what is stored already
    INVALID = "invalid"  # shown again with its errors; nothing stored
    CLOSED = "closed"  # the wave no longer takes answers; nothing stored
    DRAFT = "draft"  # kept as a draft; not submitted


@dataclass
class Submitted:
    outcome: Outcome
    page: FormPage | None = None  # INVALID: the form again, with its errors
    run_id: int | None = None
    at: dt.datetime | None = None


def _bound(v: float | None, lang: str) -> str | None:
    if v is None:
        return None
    return i18n.fmt_num(v, lang, digits=0 if float(v).is_integer() else 1)


def _number_text(v: Any) -> str:
    if isinstance(v, float):
        text = str(int(v)) if v.is_integer() else repr(v)
        return text.replace(".", ",")
    return str(v)


class FormService:
    """The forms of one installation: surveys, the database and the hash key, kept warm for the server's life."""

    def __init__(self, engine: Engine, surveys_dir: Path, key: bytes, lang: str = "sv") -> None:
        self.engine = engine
        self.surveys_dir = surveys_dir
        self.key = key
        self.lang = lang
        self._fields: dict[tuple[str, str, str, str], list[Section]] = {}
        self._lock = threading.Lock()

    def survey(self, survey_id: str) -> Survey:
        return load_surveys(self.surveys_dir)[survey_id]

    def warm(self) -> None:
        """Build the validator (Great Expectations' context) now, not at the first submission."""
        validation.validator()

    def visit(self, token: str) -> Visit | None:
        return find_link(self.engine, token, self.key)

    # -- what the form asks -------------------------------------------------------------------------------------

    def sections(self, survey: Survey, sector: str, wave: str, lang: str) -> list[Section]:
        k = (survey.id, sector, wave, lang)
        with self._lock:
            if k not in self._fields:
                self._fields[k] = self._sections(survey, sector, wave, lang)
            return self._fields[k]

    def _sections(self, survey: Survey, sector: str, wave: str, lang: str) -> list[Section]:
        _ = i18n.translator(lang)
        yearly = survey.asks_yearly(wave)
        asked = [q for q in survey.questions(sector) if q.type != "organisation" and (yearly or not q.yearly)]
        renamed = {qid: title for title, qid in survey.waves.get(wave, {}).items()}
        core = [self._field(q, lang, renamed) for q in asked if q.sector is None]
        module = [self._field(q, lang, renamed) for q in asked if q.sector is not None]
        out = [Section("gemensamt", _("Frågor till alla"), tuple(core))]
        if module:
            sector_label = survey.sectors[sector].get(lang) or survey.sectors[sector]["sv"]
            title = _("Frågor till er sektor: {sector}").format(sector=sector_label)
            out.append(Section("modul", title, tuple(module)))
        return out

    def _field(self, q: Question, lang: str, renamed: dict[str, str]) -> Field:
        _ = i18n.translator(lang)
        kind = KIND_OF[q.type]
        label = renamed.get(q.id) if lang == "sv" and q.id in renamed else q.title(lang)
        options: tuple[Option, ...] = tuple(Option(c.code, c.label(lang)) for c in q.choices)
        if q.type == "yesno":
            options = (Option("1", _("Ja")), Option("0", _("Nej")))
        hint = None
        if kind in (Kind.INTEGER, Kind.DECIMAL):
            lo, hi = (_bound(v, lang) for v in (q.min, q.max))
            if lo is not None and hi is not None:
                hint = _("Ett tal från {lo} till {hi}.").format(lo=lo, hi=hi)
            elif lo is not None:
                hint = _("Ett tal, minst {lo}.").format(lo=lo)
            if kind is Kind.DECIMAL:
                example = _("Skriv decimaler med komma, till exempel 0,5.")
                hint = f"{hint} {example}" if hint else example
        elif kind is Kind.CHECKBOX:
            hint = _("Välj ett eller flera.")
        return Field(q.id, kind, label or q.id, q.required, options, q.min, q.max, q.unit, hint)

    def page(
        self,
        visit: Visit,
        lang: str,
        values: dict[str, list[str]] | None = None,
        errors: list[FieldError] | None = None,
    ) -> FormPage:
        """The form of a visit: what it asks, and the answers so far (given now, a draft, or the stored answer)."""
        survey = self.survey(visit.survey_id)
        sections = self.sections(survey, visit.sector, visit.wave, lang)
        stored, answered_at = self.stored_values(visit)
        draft, draft_at = self.draft(visit)
        if values is None:
            values = draft if draft is not None else stored
        return FormPage(
            visit,
            survey.title.get(lang) or survey.title["sv"],
            survey.sectors[visit.sector].get(lang) or survey.sectors[visit.sector]["sv"],
            municipality_names(visit.municipalities),
            sections,
            values,
            errors or [],
            lang,
            answered_at,
            draft_at if values is draft else None,
        )

    # -- answers ------------------------------------------------------------------------------------------------

    def respondent_key(self, visit: Visit) -> str:
        """The key a sheet's answers from the same organisation and sector are stored under (so the form shows and
        supersedes them too)."""
        return ingest.content_hash({"org": nz.key(visit.organisation), "sector": visit.sector})

    def stored_values(self, visit: Visit) -> tuple[dict[str, list[str]], dt.datetime | None]:
        """The current stored answer of the actor in the wave, as the form's fields ({} when none)."""
        with Session(self.engine) as s:
            row = s.execute(
                select(Response.answers, Response.submitted_at)
                .where(
                    Response.survey_id == visit.survey_id,
                    Response.wave == visit.wave,
                    Response.respondent_key == self.respondent_key(visit),
                    Response.is_current.is_(True),
                )
                .limit(1)
            ).first()
        if row is None:
            return {}, None
        answers, at = row
        values: dict[str, list[str]] = {}
        for qid, v in answers.items():
            values[qid] = [_number_text(x) for x in v] if isinstance(v, list) else [_number_text(v)]
        return values, at

    def draft(self, visit: Visit) -> tuple[dict[str, list[str]] | None, dt.datetime | None]:
        with Session(self.engine) as s:
            d = s.get(FormDraft, visit.link_id)
            return (dict(d.fields), d.saved_at) if d is not None else (None, None)

    def fields_of(self, visit: Visit, form: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """The posted values of the questions this form asks (anything else posted is ignored)."""
        survey = self.survey(visit.survey_id)
        names = [f.name for s in self.sections(survey, visit.sector, visit.wave, "sv") for f in s.fields]
        out = {}
        for name in names:
            values = [v[:TEXT_MAX] if isinstance(v, str) else "" for v in form.get(name, ())]
            values = [v for v in values if v.strip()]
            if values:
                out[name] = values
        return out

    def check(
        self, visit: Visit, values: Mapping[str, Sequence[str]], lang: str, at: dt.datetime | None = None
    ) -> list[FieldError]:
        """Every invalid answer, optional or required, with the message the quarantine would give; [] when valid.

        `at` is the time the submission will be stored with: checked as the very row the ingest then stores, its
        verdicts are remembered, and the suite does not run twice."""
        survey = self.survey(visit.survey_id)
        source = FormSource(survey, visit.sector, visit.wave, visit.organisation, values, visit.actor_id)
        if at is not None:
            source.submitted = at
        batch = source.read()
        header = nz.map_header(batch, survey)
        cells = nz.answer_cells(batch.rows, len(batch.header), header)
        prepared = validation.prepare(cells, header.columns, survey, header.sector, "UTC", "sv-SE")
        failures = validation.validator().failures(prepared, header.columns).get(0, [])
        if not failures:
            return []
        labels = {f.name: f.label for s in self.sections(survey, visit.sector, visit.wave, lang) for f in s.fields}
        errors = []
        row = cells.row(0)
        for ident in dict.fromkeys(f[0] for f in failures):
            mine = [f for f in failures if f[0] == ident]
            reasons = validation.reasons_for(mine, row, header.columns, survey, lang)
            label = labels.get(ident, ident)
            errors.append(FieldError(ident, label, " ".join(r.message for r in reasons)))
        order = {name: i for i, name in enumerate(labels)}
        return sorted(errors, key=lambda e: order.get(e.name, len(order)))

    def submit(self, visit: Visit, form: Mapping[str, Sequence[str]], lang: str) -> Submitted:
        """Check and store a submission; invalid: the form again with its errors, nothing stored."""
        if visit.state is not WaveState.OPEN:
            return Submitted(Outcome.CLOSED)
        values = self.fields_of(visit, form)
        now = dt.datetime.now(dt.UTC)
        errors = self.check(visit, values, lang, now)
        if errors:
            return Submitted(Outcome.INVALID, self.page(visit, lang, values, errors))
        survey = self.survey(visit.survey_id)
        source = FormSource(survey, visit.sector, visit.wave, visit.organisation, values, visit.actor_id, now)
        result = ingest.ingest_batch(self.engine, source.read(), survey, self.key, lang)
        if result.accepted + result.duplicates != 1:  # checked a moment ago: only a changed survey can do this
            errors = [FieldError("", "", result.error or "")] if result.error else self.check(visit, values, lang)
            return Submitted(Outcome.INVALID, self.page(visit, lang, values, errors), result.run_id)
        with Session(db.writer(self.engine)) as s, s.begin():
            s.execute(delete(FormDraft).where(FormDraft.link_id == visit.link_id))
        outcome = Outcome.STORED if result.accepted else Outcome.UNCHANGED
        return Submitted(outcome, None, result.run_id, now)

    def save_draft(self, visit: Visit, form: Mapping[str, Sequence[str]]) -> Submitted:
        """Keep what was typed, unchecked and not submitted, until the deadline."""
        if visit.state is not WaveState.OPEN:
            return Submitted(Outcome.CLOSED)
        values = self.fields_of(visit, form)
        now = dt.datetime.now(dt.UTC)
        with Session(db.writer(self.engine)) as s, s.begin():
            d = s.get(FormDraft, visit.link_id)
            if d is None:
                s.add(FormDraft(link_id=visit.link_id, fields=values, saved_at=now))
            else:
                d.fields, d.saved_at = values, now
        return Submitted(Outcome.DRAFT, None, None, now)
