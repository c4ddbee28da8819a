"""The Great Expectations suite built from a survey's columns, and the reasons it gives per failing cell."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bfs_pipeline import normalize as nz
from bfs_pipeline import reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.survey import Column, Survey

if TYPE_CHECKING:
    import pandas as pd

ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?\+00:00$"

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"sv": "Svar saknas på en obligatorisk fråga.", "en": "A required answer is missing."},
    "unknown_choice": {
        "sv": "Svaret finns inte bland frågans svarsalternativ.",
        "en": "The answer is not one of the question's choices.",
    },
    "out_of_scale": {"sv": "Värdet ligger utanför frågans skala.", "en": "The value is outside the question's scale."},
    "not_a_number": {"sv": "Frågan kräver ett tal.", "en": "The question needs a number."},
    "not_integer": {"sv": "Frågan kräver ett heltal.", "en": "The question needs a whole number."},
    "out_of_range": {
        "sv": "Talet ligger utanför tillåtet intervall ({min}–{max}).",
        "en": "The number is outside the allowed range ({min}–{max}).",
    },
    "not_yes_no": {"sv": "Svara ja eller nej.", "en": "Answer yes or no."},
    "unparseable_timestamp": {"sv": "Tidstämpeln kan inte tolkas.", "en": "The timestamp cannot be read."},
    "unknown_sector": {"sv": "Okänd sektor.", "en": "Unknown sector."},
    "municipality_outside_county": {
        "sv": "Kommunen ligger utanför enkätens län ({detail}).",
        "en": "The municipality is outside the survey's county ({detail}).",
    },
    "unknown_municipality": {
        "sv": "Okänd kommun: {detail}. Skriv kommunens namn eller fyrsiffriga kod.",
        "en": "Unknown municipality: {detail}. Write its name or 4-digit code.",
    },
    "ambiguous_municipality": {
        "sv": "Namnet passar flera kommuner: {detail}. Skriv den fyrsiffriga koden.",
        "en": "The name fits several municipalities: {detail}. Write the 4-digit code.",
    },
    "header": {
        "sv": "Svarsfilens rubrikrad passar inte enkäten: {detail}",
        "en": "The answer sheet's header does not fit the survey: {detail}",
    },
    "held": {"sv": "Bladet hölls tillbaka: {detail}", "en": "The sheet was held: {detail}"},
    "swallowed_rows": {
        "sv": "Ett citattecken öppnas i rad {row} och stängs aldrig: cellen innehåller {n} rader som ser ut som egna "
        "svar. Rätta citattecknet i filen och läs in den igen.",
        "en": "A quote opens in row {row} and is never closed: the cell holds {n} lines that look like answers of "
        "their own. Fix the quote in the file and read it again.",
    },
    "timestamp_out_of_range": {
        "sv": "Tidstämpeln kan inte stämma: den ligger efter inläsningen eller före enkätens första omgång ({first}).",
        "en": "The timestamp cannot be right: it lies after the time of reading or before the survey's first wave "
        "({first}).",
    },
    "extra_cells": {"sv": "Raden har värden utanför rubrikraden.", "en": "The row has values beyond the header."},
}


def message(rule: str, lang: str = "sv", **kw: Any) -> str:
    template = MESSAGES[rule].get(lang) or MESSAGES[rule]["sv"]
    return template.format(**kw)


@dataclass(frozen=True)
class Reason:
    column: str
    value: str
    rule: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"column": self.column, "value": self.value, "rule": self.rule, "message": self.message}


@dataclass
class Prepared:
    """A batch as the distinct cells GX checks, where each came from, and the typed answers per row.

    A cell's verdict depends only on its column and its text, so the frame holds each (column, text) once:
    a column of 5 000 Likert answers is checked as its six distinct values, not 5 000 times.
    """

    frame: pd.DataFrame
    origin: list[tuple[str, str]]  # frame record -> (column ident, the cell's text)
    texts: dict[str, list[str | None]]  # column ident -> each row's text (None: not this row's question)
    answers: list[dict[str, Any]]
    submitted: list[dt.datetime | None]
    sectors: list[str | None]


def _ident(c: Column) -> str:
    return c.question_id or c.type


CHOICE_TYPES = ("likert", "single", "sector", "municipality", "yesno", "multi", "municipalities")
TYPED_PREFIX = {"timestamp": "ts", "integer": "int", "number": "num"}
NUMBER_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
OK = "ok"  # stands in the required_value column for cells that are not required
LONG_COLUMNS = ["__pos", "ident", "required_value", "choice_key", "typed", "val", "lo", "hi"]
Record = tuple[
    str | None, str | None, str | None, float | None, float | None, float | None
]  # required_value, choice_key, typed, val, lo, hi


def prepare(
    cells: nz.Cells, columns: list[Column], survey: Survey, default_sector: str | None, tz: str, locale: str | None
) -> Prepared:
    """Parse each column's distinct texts into typed answers, and a long frame for the GX suite.

    The frame has a record per distinct cell: canonical text where parsing worked and the raw text where it
    did not, so that the suite, not this function, decides what fails.
    """
    import pandas as pd

    n = cells.rows
    qids: list[str] = []
    typed: list[list[Any]] = []  # per question, each row's typed answer
    submitted: list[dt.datetime | None] = [None] * n
    sectors: list[str | None] = [default_sector] * n
    indexes = {_ident(c): nz.ChoiceIndex.build(c) for c in columns if c.choices}
    if any(c.type == "sector" for c in columns):
        sector_of = indexes["sector"].one
        sectors = [code if (code := sector_of(text)) in survey.sectors else None for text in cells.column("sector")]
    records: list[tuple[Any, ...]] = []
    origin: list[tuple[str, str]] = []
    texts: dict[str, list[str | None]] = {}
    for c in columns:
        ident = _ident(c)
        q = c.question
        col: list[str | None] = list(cells.column(ident))
        if q is not None and q.sector is not None and default_sector is None:
            # in a one-form-for-all sheet, another sector's module is not this row's question
            col = [t if sectors[i] == q.sector else None for i, t in enumerate(col)]
        texts[ident] = col
        typed_of: dict[str, Any] = {}
        for t in col:
            if t is None or t in typed_of:
                continue
            typed_of[t], recs = _parse(c, t, indexes.get(ident), survey, tz, locale)
            for rec in recs:
                records.append((len(records), ident, *rec))
                origin.append((ident, t))
        if c.type == "timestamp":
            submitted = [typed_of[t] if t else None for t in col]
        elif c.question_id:
            qids.append(c.question_id)
            typed.append(
                [typed_of[t] if t else None for t in col]
            )  # lists (multiple choice) are shared between rows, never changed
    answers = (
        [{q: v for q, v in zip(qids, values, strict=True) if v is not None} for values in zip(*typed, strict=True)]
        if typed
        else [{} for _ in range(n)]
    )
    frame = pd.DataFrame.from_records(records, columns=LONG_COLUMNS)
    for name in ("val", "lo", "hi"):
        frame[name] = frame[name].astype("float64")
    return Prepared(frame, origin, texts, answers, submitted, sectors)


def _parse(
    c: Column, text: str, index: nz.ChoiceIndex | None, survey: Survey, tz: str, locale: str | None
) -> tuple[Any, list[Record]]:
    """One cell's typed value (None when it does not parse) and its records for the long frame."""
    ident = _ident(c)
    required = (text or None) if c.required else OK
    if not text:
        return None, [(required, None, None, None, None, None)]
    if c.type == "timestamp":
        ts = nz.parse_timestamp(text, tz, locale)
        return ts, [(required, None, "ts:" + (ts.isoformat() if ts else text), None, None, None)]
    if c.type in ("multi", "municipalities"):
        assert index is not None
        codes = []
        recs: list[Record] = []
        tokens = (
            index.split(text)
            if c.type == "multi"
            else [(t.strip(), None) for t in re.split(r"[;,]", text) if t.strip()]
        )
        for raw, code in tokens:
            if code is None and c.type == "municipalities":
                code = index.one(raw) or reference.match_municipality(raw, survey.county).code
            codes.append(code)
            recs.append((required, f"{ident}={code if code is not None else raw}", None, None, None, None))
        return list(dict.fromkeys(codes)), recs
    if c.type in CHOICE_TYPES:
        if c.type == "yesno":
            code = nz.parse_yesno(text)
        else:
            assert index is not None
            code = index.one(text)
            if code is None and c.type == "municipality":
                code = reference.match_municipality(text, survey.county).code
        return code, [(required, f"{ident}={code if code is not None else text}", None, None, None, None)]
    if c.type in ("integer", "number"):
        n = nz.parse_number(text)
        canonical = text if n is None else (str(int(n)) if n.is_integer() else repr(n))
        if n is None:
            return None, [(required, None, f"{TYPED_PREFIX[c.type]}:{canonical}", None, None, None)]
        lo = c.min if c.min is not None else -1e308
        hi = c.max if c.max is not None else 1e308
        typed = n if c.type == "number" else (int(n) if n.is_integer() else n)
        return typed, [(required, None, f"{TYPED_PREFIX[c.type]}:{canonical}", n, lo, hi)]
    return text, [(required, None, None, None, None, None)]  # text, organisation, email


def expectations(columns: list[Column]) -> list[Any]:
    """The suite, built from the columns: value sets and patterns come from the survey, none is written per question."""
    import great_expectations.expectations as gxe

    valid: list[str] = []
    for c in columns:
        if c.type == "yesno":
            valid += [f"{_ident(c)}=0", f"{_ident(c)}=1"]
        elif c.type in CHOICE_TYPES:
            valid += [f"{_ident(c)}={ch.code}" for ch in c.choices]
    typed = {"ts": ISO_UTC[1:-1], "int": nz.INTEGER_RE.pattern[1:-1], "num": NUMBER_PATTERN}
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="required_value", meta={"check": "required"}),
        gxe.ExpectColumnValuesToBeInSet(
            column="choice_key", value_set=sorted(set(valid)) or ["(none)"], meta={"check": "choice"}
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column="typed",
            regex="^(?:" + "|".join(f"{k}:{v}" for k, v in typed.items()) + ")$",
            meta={"check": "typed"},
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="val",
            column_B="lo",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"check": "range"},
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="hi",
            column_B="val",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"check": "range"},
        ),
    ]


RULES = {
    "likert": "out_of_scale",
    "yesno": "not_yes_no",
    "sector": "unknown_sector",
    "municipality": "unknown_municipality",
    "municipalities": "unknown_municipality",
    "timestamp": "unparseable_timestamp",
    "integer": "not_a_number",
    "number": "not_a_number",
}


class Validator:
    """One ephemeral GX context per process; one suite per set of columns."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.asset = self.context.data_sources.add_pandas("answers").add_dataframe_asset("sheet")
        self.batch_definition = self.asset.add_batch_definition_whole_dataframe("whole")
        self.definitions: dict[tuple[str, ...], Any] = {}
        self.verdicts: dict[tuple[Any, ...], tuple[str, ...]] = {}  # (suite, record) -> failing checks
        self._cond = threading.Condition()  # guards verdicts and pending; one GX run at a time (_running)
        self._running = False
        self._pending: dict[int, tuple[Any, dict[tuple[Any, ...], None]]] = {}  # suite -> records wanted

    @staticmethod
    def signature(columns: list[Column]) -> tuple[str, ...]:
        return tuple(
            f"{_ident(c)}:{c.type}:{c.required}:{c.min}:{c.max}:{','.join(ch.code for ch in c.choices)}"
            for c in columns
        )

    def definition(self, columns: list[Column]) -> Any:
        sig = self.signature(columns)
        if sig not in self.definitions:
            name = f"suite-{len(self.definitions)}"
            suite = self.context.suites.add(self.gx.ExpectationSuite(name=name, expectations=expectations(columns)))
            self.definitions[sig] = self.context.validation_definitions.add(
                self.gx.ValidationDefinition(name=name, data=self.batch_definition, suite=suite)
            )
        return self.definitions[sig]

    def failures(self, prepared: Prepared, columns: list[Column]) -> dict[int, list[tuple[str, str, str]]]:
        """Row position -> [(ident, title, rule)] for every failing cell.

        GX judges each distinct cell; its verdict goes to every row holding it. Every expectation of the suite
        judges a record alone, so a record's verdict under a suite is remembered for the life of the process: a
        server checking one form at a time runs GX only on answers it has not seen before.
        """
        if prepared.frame.empty:
            return {}
        with self._cond:
            while self._running and self.signature(columns) not in self.definitions:
                self._cond.wait()  # a new suite is added to the context only while no suite runs
            definition = self.definition(columns)
        keys = [
            verdict_key(id(definition), rec)
            for rec in prepared.frame[LONG_COLUMNS[1:]].itertuples(index=False, name=None)
        ]
        verdicts = self._verdicts(definition, keys)
        by_ident = {_ident(c): c for c in columns}
        bad: dict[str, dict[str, list[str]]] = {}  # column ident -> text -> rules
        for pos, checks in enumerate(verdicts):
            if not checks:
                continue
            ident, text = prepared.origin[pos]
            for check in checks:
                rule = {"required": "required", "range": "out_of_range"}.get(check) or RULES.get(
                    by_ident[ident].type, "unknown_choice"
                )
                bad.setdefault(ident, {}).setdefault(text, []).append(rule)
        out: dict[int, list[tuple[str, str, str]]] = {}
        for ident, rules_of in bad.items():  # every row whose cell has a failing text fails with it
            title = by_ident[ident].title
            for i, t in enumerate(prepared.texts[ident]):
                if t is not None and t in rules_of:
                    out.setdefault(i, []).extend((ident, title, rule) for rule in rules_of[t])
        return out

    def _verdicts(self, definition: Any, keys: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
        """The failing checks of each record, running the suite on those never judged.

        Runs are shared: while one thread runs the suite, the records other threads need are gathered, and the
        next run judges them all at once (a server under load runs the suite once for many forms, not per form).
        """
        with self._cond:
            while True:
                missing = [k for k in dict.fromkeys(keys) if k not in self.verdicts]
                if not missing:
                    return [self.verdicts[k] for k in keys]
                # wanted before waiting: the next run, whoever starts it, judges these records too
                self._pending.setdefault(id(definition), (definition, {}))[1].update(dict.fromkeys(missing))
                if self._running:
                    self._cond.wait()
                    continue
                todo, self._pending = self._pending, {}
                self._running = True
                judged: dict[tuple[Any, ...], tuple[str, ...]] = {}
                self._cond.release()
                try:
                    for suite, wanted in todo.values():
                        judged.update(self._judge(suite, list(wanted)))
                finally:
                    self._cond.acquire()
                    self._running = False
                    if len(self.verdicts) + len(judged) > VERDICTS_MAX:
                        self.verdicts.clear()
                    self.verdicts.update(judged)
                    self._cond.notify_all()

    def _judge(self, definition: Any, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[str, ...]]:
        """Run the suite on these records (as their keys hold them) and return each one's failing checks."""
        import pandas as pd

        frame = pd.DataFrame.from_records([(j, *k[1:]) for j, k in enumerate(keys)], columns=LONG_COLUMNS)
        frame["required_value"] = frame["required_value"].map({True: OK, False: None})
        for name in ("val", "lo", "hi"):
            frame[name] = frame[name].astype("float64")
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["__pos", "ident"]},
        )
        failing: dict[int, list[str]] = {}
        for res in result.results:
            info = res.exception_info or {}
            raised = (
                info.get("raised_exception")
                if "raised_exception" in info
                else any(v.get("raised_exception") for v in info.values() if isinstance(v, dict))
            )
            if raised:
                raise BfsError(
                    f"Validation could not run ({res.expectation_config.type}): {info}. "
                    "This is a bug in bfs; please report it."
                )
            if res.success:
                continue
            check = (res.expectation_config.meta or {})["check"]
            for item in res.result.get("unexpected_index_list") or []:
                failing.setdefault(int(item["__pos"]), []).append(check)
        return {k: tuple(failing.get(j, ())) for j, k in enumerate(keys)}


DIGIT = re.compile(r"\d")


def verdict_key(suite: int, record: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a record's verdict depends on, under one suite.

    Whether the required value is there (the suite asks only that it is not null), the choice key, the typed text
    with every digit as 0 (the suite's patterns for timestamps, integers and numbers see a digit only as a digit,
    so no digit changes a verdict), and the numbers of the range check. Records with the same key get the same
    verdict: a submission's timestamp is judged once, not once per second.
    """
    ident, required, choice, typed, val, lo, hi = (None if isinstance(v, float) and v != v else v for v in record)
    return (suite, ident, required is not None, choice, DIGIT.sub("0", typed) if typed else typed, val, lo, hi)


VERDICTS_MAX = 200_000  # remembered verdicts (a record each); past it they are forgotten and judged again


_VALIDATOR: Validator | None = None
_LOCK = threading.Lock()


def validator() -> Validator:
    """The process's validator, made on first use (thread-safe: the demo warms it up in the background)."""
    global _VALIDATOR
    with _LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = Validator()
        return _VALIDATOR


Failure = tuple[str, str, str]  # (column ident, title, rule)


def keeps_row_out(c: Column) -> bool:
    """Whether an invalid cell in this column quarantines its whole row: the timestamp, the sector, a required
    question (a module's required question in a one-form-for-all sheet too, where it is its sector's question).
    An invalid answer to an optional question is only set aside."""
    return c.question is None or c.required or c.question.required


def split_failures(failures: list[Failure], columns: list[Column]) -> tuple[list[Failure], dict[str, list[Failure]]]:
    """A row's failing cells: those that keep the whole row out, and per optional question those set aside."""
    by_ident = {_ident(c): c for c in columns}
    row: list[Failure] = []
    aside: dict[str, list[Failure]] = {}
    for f in failures:
        if keeps_row_out(by_ident[f[0]]):
            row.append(f)
        else:
            aside.setdefault(f[0], []).append(f)
    return row, aside


def reasons_for(
    failures: list[tuple[str, str, str]], cells: dict[str, str], columns: list[Column], survey: Survey, lang: str
) -> list[Reason]:
    """Turn GX's failing cells into reasons a person can act on, with the value as it stood in the sheet."""
    if not failures:
        return []
    by_ident = {_ident(c): c for c in columns}
    order = {ident: i for i, ident in enumerate(by_ident)}
    out: list[Reason] = []
    seen: set[tuple[str, str]] = set()
    for ident, title, rule in sorted(failures, key=lambda f: order[f[0]]):
        if (ident, rule) in seen:
            continue
        seen.add((ident, rule))
        raw = cells.get(ident, "")
        c = by_ident[ident]
        detail = ""
        if c.type in ("municipality", "municipalities"):
            idx = nz.ChoiceIndex.build(c)
            for token in (
                [t.strip() for t in re.split(r"[;,]", raw) if t.strip()] if c.type == "municipalities" else [raw]
            ):
                if idx.one(token):
                    continue
                m = reference.match_municipality(token, survey.county)
                if m.rule:
                    rule, detail = m.rule, m.message or token
                    break
        elif c.type == "likert" and rule == "out_of_scale" and nz.parse_number(raw) is None:
            rule = "unknown_choice"
        elif c.type == "integer" and rule == "not_a_number" and nz.parse_number(raw) is not None:
            rule = "not_integer"
        out.append(Reason(title, raw, rule, message(rule, lang, min=_fmt(c.min), max=_fmt(c.max), detail=detail)))
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "…"
    return str(int(v)) if float(v).is_integer() else str(v).replace(".", ",")
