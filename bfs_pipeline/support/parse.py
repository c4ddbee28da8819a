"""A support log's rows checked: column titles, dates, municipalities, sectors, needs, kinds and numbers.

Every failing cell gives a reason (column, value, rule, message in the user's language), as answers do; a row
with any reason is quarantined whole. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

from bfs_pipeline import i18n, reference
from bfs_pipeline.errors import SourceError
from bfs_pipeline.normalize import clean, parse_number
from bfs_pipeline.support.models import SupportKind
from bfs_pipeline.survey import Survey


class Field(StrEnum):
    """The support log's columns."""

    DATUM = "datum"
    KOMMUN = "kommun"
    MOTTAGARE = "mottagare"
    SEKTOR = "sektor"
    BEHOV = "behov"
    TYP = "typ"
    TIMMAR = "timmar"
    DELTAGARE = "deltagare"


# Each column's accepted titles, compared folded (case and diacritics ignored); the first is the template's.
TITLES: dict[Field, tuple[str, ...]] = {
    Field.DATUM: ("datum", "date"),
    Field.KOMMUN: ("kommun", "kommuner", "municipality", "municipalities"),
    Field.MOTTAGARE: ("mottagare", "organisation", "recipient"),
    Field.SEKTOR: ("sektor", "sector"),
    Field.BEHOV: ("behov", "need", "needs"),
    Field.TYP: ("typ", "type", "kind"),
    Field.TIMMAR: ("timmar", "hours", "tid"),
    Field.DELTAGARE: ("deltagare", "participants", "antal deltagare"),
}
OPTIONAL = frozenset({Field.MOTTAGARE})

KIND_ALIASES: dict[str, SupportKind] = {
    "training": SupportKind.UTBILDNING,
    "network meeting": SupportKind.NATVERKSTRAFF,
    "natverk": SupportKind.NATVERKSTRAFF,
    "method support": SupportKind.METODSTOD,
    "visit": SupportKind.BESOK,
    "advice": SupportKind.RADGIVNING,
    "other": SupportKind.ANNAT,
}
WHOLE_COUNTY = ("hela lanet", "lanet", "hela lan", "whole county", "the whole county")
NEED_ID = re.compile(r"^B\d{2}$")
NEED_CODE = re.compile(r"^b0?([1-9]\d?)$")
NEED_COMBINED = re.compile(r"^(b\d{1,2})\s*[-–—:.)=]?\s+(.+)$")
HOURS_UNIT = re.compile(r"\s*(h|tim|timme|timmar|hours?)\.?$", re.IGNORECASE)

SV_MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
EN_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTHS = {
    **{name[:3]: i for i, name in enumerate(SV_MONTHS, 1)},
    **{name[:3]: i for i, name in enumerate(EN_MONTHS, 1)},
    **{name: i for i, name in enumerate(SV_MONTHS, 1)},
    **{name: i for i, name in enumerate(EN_MONTHS, 1)},
    "sept": 9,
}
ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
COMPACT_DATE = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})$")
DOT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
NAMED_DATE = re.compile(r"^(\d{1,2})\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})$")
SHORT_YEAR = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$|^\d{2}-\d{2}-\d{2}$")
SERIAL = re.compile(r"^\d{5}$")
EXCEL_EPOCH = dt.date(1899, 12, 30)
FIRST_DATE = dt.date(2000, 1, 1)


def fold(text: str) -> str:
    """Case, diacritics and runs of white space ignored."""
    return " ".join(reference.fold(text).split())


def short_label(text: str) -> str:
    """A need's label without its question's lead ("Behov av stöd: ") and its example in parentheses."""
    tail = text.split(": ", 1)[1] if ": " in text else text
    return re.sub(r"\s*\(.*\)\s*$", "", tail).strip()


def quarter(day: dt.date) -> str:
    """The quarter a date lies in, YYYY-Qn."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Reason:
    column: str  # the column's title as the file writes it
    value: str
    rule: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"column": self.column, "value": self.value, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Event:
    """One support event, checked and normalised."""

    datum: dt.date
    municipalities: tuple[str, ...]  # SCB codes, sorted; all of the county's when county_wide
    county_wide: bool
    recipient: str | None
    sector: str
    needs: tuple[str, ...]  # question ids, in the survey's order
    kind: SupportKind
    hours: float
    participants: int

    @property
    def period(self) -> str:
        return quarter(self.datum)

    def content_hash(self, survey_id: str) -> str:
        """What makes two rows the same event: the normalised content (the recipient's case and spacing ignored)."""
        content = [
            survey_id,
            self.datum.isoformat(),
            list(self.municipalities),
            self.county_wide,
            fold(self.recipient or ""),
            self.sector,
            list(self.needs),
            self.kind.value,
            repr(self.hours),
            self.participants,
        ]
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class Vocabulary:
    """What a survey lets a support log name: its county's municipalities, its sectors and its needs."""

    survey: Survey
    needs: dict[str, dict[str, str]] = field(default_factory=dict)  # need id -> {"sv", "en"} short labels
    _need_keys: dict[str, str] = field(default_factory=dict)  # folded code or label -> need id
    _sector_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, survey: Survey) -> Vocabulary:
        vocab = cls(survey)
        for q in survey.core:
            if not NEED_ID.match(q.id):
                continue
            vocab.needs[q.id] = {lang: short_label(text) for lang, text in q.text.items()}
            leads = [t.split(": ", 1)[1] for t in q.text.values() if ": " in t]  # "metodstöd (t.ex. ...)"
            for text in (q.id, *q.text.values(), *leads, *vocab.needs[q.id].values()):
                vocab._need_keys.setdefault(fold(text), q.id)
        if not vocab.needs:
            raise SourceError(
                f'Survey "{survey.id}" has no need questions (B01, B02, ...): the support log names needs by them. '
                "Use a survey that asks them (--survey)."
            )
        for code, labels in survey.sectors.items():
            for text in (code, *labels.values()):
                vocab._sector_keys.setdefault(fold(text), code)
        return vocab

    def need_label(self, need: str, lang: str = "sv") -> str:
        label = self.needs[need].get(lang) or self.needs[need]["sv"]
        return label[:1].upper() + label[1:]

    def need(self, token: str) -> str | None:
        """The need a token names by code ("B5", "b05"), label (full or short, sv or en); None if none."""
        k = fold(token)
        hit = self._need_keys.get(k)
        if hit is not None:
            return hit
        m = NEED_CODE.match(k)
        code = f"B{int(m.group(1)):02d}" if m else None
        return code if code in self.needs else None

    def sector(self, text: str) -> str | None:
        return self._sector_keys.get(fold(text))


def parse_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None, str]:
    """(date, None, "") or (None, rule, detail): ISO forms, d.m.yyyy, 14 mars 2026, an Excel serial number, and
    d/m/yyyy only where no other reading exists (14/3/2026; 3/4/2026 could be 3 April or 4 March: refused)."""
    s = clean(text)
    parts: tuple[int, int, int] | None = None
    if (m := ISO_DATE.match(s)) or (m := COMPACT_DATE.match(s)):
        parts = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := DOT_DATE.match(s):
        parts = int(m.group(3)), int(m.group(2)), int(m.group(1))
    elif m := SLASH_DATE.match(s):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 or a == b:
            parts = year, b, a
        elif b > 12:
            parts = year, a, b  # month first, the only reading
        else:
            return None, "ambiguous_date", f"{year}-{b:02d}-{a:02d} / {year}-{a:02d}-{b:02d}"
    elif m := NAMED_DATE.match(s):
        month = MONTHS.get(fold(m.group(2)))
        if month is None:
            return None, "unparseable_date", s
        parts = int(m.group(3)), month, int(m.group(1))
    elif SERIAL.match(s):
        day = EXCEL_EPOCH + dt.timedelta(days=int(s))
        parts = day.year, day.month, day.day
    elif SHORT_YEAR.match(s):
        return None, "two_digit_year", s
    if parts is None:
        return None, "unparseable_date", s
    try:
        day = dt.date(*parts)
    except ValueError:
        return None, "unparseable_date", s
    if not FIRST_DATE <= day <= today:
        return None, "date_out_of_range", today.isoformat()
    return day, None, ""


def _tokens(text: str) -> list[str]:
    return [t.strip() for t in re.split(r"[;,]", text) if t.strip()]


def _need_tokens(text: str, vocab: Vocabulary) -> list[str]:
    """A need cell split at , and ; except inside a label that has a comma itself (B05's full label has)."""
    pieces = re.split(r"([;,])", text)
    out: list[str] = []
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        for j in range(len(pieces) - 1, i, -2):  # the longest run of pieces that names a need, if any
            joined = "".join(pieces[i : j + 1])
            if vocab.need(joined) is not None or _combined(joined, vocab)[0] is not None:
                piece, i = joined, j
                break
        if piece.strip():
            out.append(piece.strip())
        i += 2
    return out


def _combined(token: str, vocab: Vocabulary) -> tuple[str | None, bool]:
    """ "B05 Metodstöd": (need, True) when code and text agree, (None, True) when they disagree, (None, False) when
    the token is not of that form."""
    m = NEED_COMBINED.match(fold(token))
    if not m:
        return None, False
    code = vocab.need(m.group(1))
    if code is None:
        return None, False
    return (code, True) if vocab.need(m.group(2)) == code else (None, True)


def check_row(
    cells: dict[Field, str], titles: dict[Field, str], vocab: Vocabulary, today: dt.date, lang: str = "sv"
) -> tuple[Event | None, list[Reason]]:
    """One row's event, or every reason it fails (cells: the row's text per column; titles: as the file has them)."""
    _ = i18n.translator(lang)
    survey = vocab.survey
    county = reference.counties()[survey.county]
    reasons: list[Reason] = []

    def fail(f: Field, rule: str, message: str, value: str | None = None) -> None:
        reasons.append(Reason(titles.get(f, f.value), cells.get(f, "") if value is None else value, rule, message))

    for f in Field:
        if f not in OPTIONAL and not cells.get(f):
            fail(f, "required", _("{column} saknas: fyll i den.").format(column=titles.get(f, f.value)))

    datum = None
    if cells.get(Field.DATUM):
        datum, rule, detail = parse_date(cells[Field.DATUM], today)
        if rule == "ambiguous_date":
            fail(
                Field.DATUM,
                rule,
                _("Datumet kan läsas på två sätt ({detail}). Skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-03-14.").format(
                    detail=detail
                ),
            )
        elif rule == "two_digit_year":
            fail(Field.DATUM, rule, _("Skriv året med fyra siffror: ÅÅÅÅ-MM-DD, t.ex. 2026-03-14."))
        elif rule == "date_out_of_range":
            fail(
                Field.DATUM,
                rule,
                _("Datumet kan inte stämma: det ligger efter i dag ({today}) eller före år 2000.").format(today=detail),
            )
        elif rule is not None:
            fail(Field.DATUM, rule, _("Datumet kan inte tolkas. Skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-03-14."))

    codes: set[str] = set()
    county_wide = False
    for token in _tokens(cells.get(Field.KOMMUN, "")):
        if fold(token) in WHOLE_COUNTY:
            county_wide = True
            continue
        match = reference.match_municipality(token, survey.county)
        if match.code == survey.county:
            county_wide = True
        elif match.code is not None:
            codes.add(match.code)
        elif match.rule == "municipality_outside_county":
            fail(
                Field.KOMMUN,
                match.rule,
                _("Kommunen ligger utanför {county}: {detail}.").format(county=county.name, detail=match.message),
            )
        elif match.rule == "ambiguous_municipality":
            fail(
                Field.KOMMUN,
                match.rule,
                _("Namnet passar flera kommuner: {detail}. Skriv den fyrsiffriga koden.").format(detail=match.message),
            )
        else:
            fail(
                Field.KOMMUN,
                "unknown_municipality",
                _("Okänd kommun: {token}. Skriv kommunens namn eller fyrsiffriga kod, eller Hela länet.").format(
                    token=token
                ),
            )
    if county_wide:
        codes = {m.code for m in reference.county_municipalities(survey.county)}
    elif cells.get(Field.KOMMUN) and not codes and not any(r.column == titles.get(Field.KOMMUN) for r in reasons):
        fail(
            Field.KOMMUN,
            "required",
            _("{column} saknas: fyll i den.").format(column=titles.get(Field.KOMMUN, "kommun")),
        )

    sector = None
    if cells.get(Field.SEKTOR):
        sector = vocab.sector(cells[Field.SEKTOR])
        if sector is None:
            fail(
                Field.SEKTOR,
                "unknown_sector",
                _("Okänd sektor. Skriv en av: {choices}.").format(choices=", ".join(survey.sectors)),
            )

    needs: set[str] = set()
    for token in _need_tokens(cells.get(Field.BEHOV, ""), vocab):
        need = vocab.need(token)
        combined, is_combined = _combined(token, vocab)
        if need is not None or combined is not None:
            needs.add(need or combined or "")
        elif is_combined:
            fail(
                Field.BEHOV,
                "need_code_label_mismatch",
                _("{token}: koden och texten pekar inte på samma behov. Skriv bara koden, t.ex. B05.").format(
                    token=token
                ),
            )
        else:
            fail(
                Field.BEHOV,
                "unknown_need",
                _("Okänt behov: {token}. Skriv koden ({first}–{last}) eller behovets namn.").format(
                    token=token, first=min(vocab.needs), last=max(vocab.needs)
                ),
            )

    if cells.get(Field.BEHOV) and not needs and not any(r.column == titles.get(Field.BEHOV) for r in reasons):
        fail(Field.BEHOV, "required", _("{column} saknas: fyll i den.").format(column=titles.get(Field.BEHOV, "behov")))

    kind = None
    if cells.get(Field.TYP):
        k = fold(cells[Field.TYP])
        kind = next((s for s in SupportKind if fold(s.value) == k), None) or KIND_ALIASES.get(k)
        if kind is None:
            fail(
                Field.TYP,
                "unknown_kind",
                _("Okänd typ av stöd. Skriv en av: {choices}.").format(choices=", ".join(s.value for s in SupportKind)),
            )

    hours = None
    if cells.get(Field.TIMMAR):
        hours = parse_number(HOURS_UNIT.sub("", cells[Field.TIMMAR]))
        if hours is None or "%" in cells[Field.TIMMAR]:
            hours = None
            fail(Field.TIMMAR, "not_a_number", _("Timmar ska vara ett tal, t.ex. 1,5."))
        elif hours < 0:
            hours = None
            fail(Field.TIMMAR, "negative", _("Timmar kan inte vara negativt."))

    participants = None
    if cells.get(Field.DELTAGARE):
        number = parse_number(cells[Field.DELTAGARE])
        if number is None:
            fail(Field.DELTAGARE, "not_a_number", _("Deltagare ska vara ett heltal, t.ex. 12."))
        elif not number.is_integer():
            fail(Field.DELTAGARE, "not_integer", _("Deltagare ska vara ett heltal, t.ex. 12."))
        elif number < 0:
            fail(Field.DELTAGARE, "negative", _("Deltagare kan inte vara negativt."))
        else:
            participants = int(number)

    if reasons:
        order = [titles.get(f, f.value) for f in Field]
        return None, sorted(reasons, key=lambda r: order.index(r.column))  # in the columns' order
    assert datum is not None and sector is not None and kind is not None  # every field parsed: no reason
    assert hours is not None and participants is not None
    recipient = " ".join(cells.get(Field.MOTTAGARE, "").split()) or None
    order = list(vocab.needs)
    return (
        Event(
            datum=datum,
            municipalities=tuple(sorted(codes)),
            county_wide=county_wide,
            recipient=recipient,
            sector=sector,
            needs=tuple(sorted(needs, key=order.index)),
            kind=kind,
            hours=hours,
            participants=participants,
        ),
        [],
    )


def locate_columns(header: list[str], source: str) -> tuple[dict[Field, int], dict[Field, str], list[str]]:
    """Where each column is, its title as written, and the titles bfs does not know (ignored).

    A required column missing, or one column given twice: SourceError naming them (nothing is stored)."""
    wanted = {fold(t): f for f, titles in TITLES.items() for t in titles}
    where: dict[Field, int] = {}
    titles: dict[Field, str] = {}
    ignored: list[str] = []
    for i, raw in enumerate(header):
        title = clean(raw)
        f = wanted.get(fold(title)) if title else None
        if f is None:
            if title:
                ignored.append(title)
            continue
        if f in where:
            raise SourceError(
                f'{source} has the column "{f.value}" twice ("{titles[f]}" and "{title}", row 1). Remove one of them.'
            )
        where[f], titles[f] = i, title
    missing = [f.value for f in Field if f not in where and f not in OPTIONAL]
    if missing:
        raise SourceError(
            f"{source} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (row 1); nothing was "
            "stored. The support log needs the columns datum, kommun, sektor, behov, typ, timmar, deltagare "
            "(mottagare optional): see `bfs support template`."
        )
    return where, titles, ignored
