"""Text cells to typed values: column titles to question ids, timestamps, numbers, codes, municipalities."""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bfs_pipeline.errors import HeaderError
from bfs_pipeline.outreach.prefill import code_titles
from bfs_pipeline.sources.base import RawBatch
from bfs_pipeline.survey import Column, Survey, header_key

SHEETS_EPOCH = dt.datetime(1899, 12, 30)
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
INTEGER_RE = re.compile(r"^[+-]?\d+$")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")

# Zone names a sheet or Forms export may append; explicit offsets are parsed separately.
ZONE_NAMES = {"utc": 0, "gmt": 0, "z": 0, "cet": 60, "cest": 120, "wet": 0, "west": 60, "eet": 120, "eest": 180}
TZ_RE = re.compile(
    r"\s*(?:(?P<name>UTC|GMT|Z|CET|CEST|WET|WEST|EET|EEST)?\s*(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?|(?P<only>UTC|GMT|Z|CET|CEST|WET|WEST|EET|EEST))$",
    re.IGNORECASE,
)
AMPM_RE = re.compile(r"\s*(?P<mark>a\.?\s?m\.?|p\.?\s?m\.?|f\.?\s?m\.?|e\.?\s?m\.?)$", re.IGNORECASE)
AMPM_TAIL = re.compile(r"\s*(UTC|GMT|Z|CET|CEST)?\s*([+-]\d{1,2}(:?\d{2})?)?\s*$", re.IGNORECASE)
DATE_YMD = re.compile(r"^(?P<y>\d{4})[-/.](?P<a>\d{1,2})[-/.](?P<b>\d{1,2})")
DATE_XY_SLASH = re.compile(r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})")
DATE_DMY_DOT = re.compile(r"^(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?P<y>\d{4})")
TIME_RE = re.compile(r"^(?:[T\s]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?)?$")
SERIAL_RE = re.compile(r"^\d{4,6}([.,]\d+)?$")
YES = {"ja", "yes", "true", "sant", "1", "j", "y"}
NO = {"nej", "no", "false", "falskt", "0", "n"}


def clean(value: str | None) -> str:
    """NFC, no NUL, no surrounding white space."""
    if value is None:
        return ""
    s = str(value)
    if not s.isascii() and not unicodedata.is_normalized(
        "NFC", s
    ):  # both are quick checks in C; most cells need neither
        s = unicodedata.normalize("NFC", s)
    if "\x00" in s:
        s = s.replace("\x00", "")
    return s.strip()


def key(value: str) -> str:
    return header_key(value)


def org_key(name: str) -> str:
    """How answers' organisation names are matched to the roster: case, spaces and punctuation ignored."""
    return re.sub(r"[^\w]+", " ", key(name)).strip()


def month_first(locale: str | None) -> bool:
    """Slashed dates with the year last: month first in US English, day first elsewhere."""
    return (locale or "").lower().replace("_", "-") in ("en-us", "en", "us")


IANA_RE = re.compile(r"\s+(?P<zone>[A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)$")


def infer_locale(stamps: list[str], declared: str | None) -> str | None:
    """Which way a sheet writes slashed dates with the year last, read from its own timestamps.

    A first part above 12 means day first, a second part above 12 month first, an English AM/PM
    marker month first (en-US); when the sheet does not tell, the declared locale decides.
    """
    day_first = month_first_seen = False
    for text in stamps:
        m = DATE_XY_SLASH.match(clean(text))
        if not m:
            continue
        a, b = int(m.group("a")), int(m.group("b"))
        day_first |= a > 12
        month_first_seen |= b > 12 or bool(
            re.search(r"\b[AP]\.?M\.?\s*$", AMPM_TAIL.sub("", clean(text)), re.IGNORECASE)
        )
    if day_first and not month_first_seen:
        return "sv-SE"
    if month_first_seen and not day_first:
        return "en-US"
    return declared


def parse_timestamp(text: str, tz: str = "Europe/Stockholm", locale: str | None = "sv-SE") -> dt.datetime | None:
    """A sheet or Forms timestamp in the source's zone (unless it names its own), as an aware UTC datetime."""
    s = clean(text)
    if not s:
        return None
    if (SERIAL_RE.match(s) and not s.isdigit()) or (s.isdigit() and 4 <= len(s) <= 6):
        days = float(s.replace(",", "."))
        local = SHEETS_EPOCH + dt.timedelta(days=days)
        return local.replace(tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    zone = tz
    iana = IANA_RE.search(s)
    if iana:
        try:
            ZoneInfo(iana.group("zone"))
        except (KeyError, ValueError):
            return None
        zone, s = iana.group("zone"), s[: iana.start()].strip()
    offset: int | None = None
    m = TZ_RE.search(s)
    if m and (m.group("only") or m.group("sign")) and not re.search(r"^\d{4}-\d{1,2}$", s[: m.start()].strip()):
        name = (m.group("only") or m.group("name") or "").lower()
        if m.group("sign"):
            mins = int(m.group("h")) * 60 + int(m.group("m") or 0)
            offset = ZONE_NAMES.get(name, 0) + (mins if m.group("sign") == "+" else -mins)
        else:
            offset = ZONE_NAMES[name]
        if m.group("sign") and not m.group("name") and ":" not in s[: m.start()] and " " not in s[: m.start()].strip():
            offset = None  # a bare "-14" after a date is part of the date, not a zone
        else:
            s = s[: m.start()].strip()
    marker = None
    mm = AMPM_RE.search(s)
    if mm:
        marker = mm.group("mark").replace(".", "").replace(" ", "").lower()
        s = s[: mm.start()].strip()
    d = DATE_YMD.match(s)
    if d:
        year, month, day = int(d.group("y")), int(d.group("a")), int(d.group("b"))
    else:
        d = DATE_XY_SLASH.match(s)
        if d:
            a, b = int(d.group("a")), int(d.group("b"))
            month, day = (a, b) if month_first(locale) else (b, a)
            year = int(d.group("y"))
        else:
            d = DATE_DMY_DOT.match(s)
            if not d:
                return None
            day, month, year = int(d.group("a")), int(d.group("b")), int(d.group("y"))
    t = TIME_RE.match(s[d.end() :])
    if not t:
        return None
    hour, minute = int(t.group("H") or 0), int(t.group("M") or 0)
    second = int(t.group("S") or 0)
    micro = int((t.group("f") or "0").ljust(6, "0"))
    if marker:
        if not 1 <= hour <= 12:
            return None
        pm = marker in ("pm", "em")
        hour = hour % 12 + (12 if pm else 0)
    try:
        naive = dt.datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None
    if offset is not None:
        return naive.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset))).astimezone(dt.UTC)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


PERCENT_RE = re.compile(r"(?:%|procent|percent)$", re.IGNORECASE)  # "25 %" is 25: a unit, not text


def parse_number(text: str) -> float | None:
    """'0,5', '1 234,5', '1234.5', '25 %', '25 procent' → float; anything else → None."""
    s = PERCENT_RE.sub("", SPACES.sub("", clean(text)))
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    if not NUMBER_RE.match(s):
        return None
    return float(s)


def parse_yesno(text: str) -> str | None:
    k = clean(text).casefold()
    if k in YES:
        return "1"
    if k in NO:
        return "0"
    return None


@dataclass
class ChoiceIndex:
    """Every way an answer may name a choice: its code, its labels, the form's '4 - Stort behov'.

    Answers repeat a lot within a sheet, so each distinct text is looked up once.
    """

    by_key: dict[str, str]
    phrases: tuple[tuple[str, str], ...]  # (folded phrase, code), longest first, for splitting checkbox cells
    _one: dict[str, str | None] = field(default_factory=dict)
    _split: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    @classmethod
    def build(cls, column: Column) -> ChoiceIndex:
        by_key: dict[str, str] = {}
        for c in column.choices:
            by_key[key(c.code)] = c.code
            for label in c.labels.values():
                by_key.setdefault(key(label), c.code)
                for sep in (" - ", " – ", " — ", ". ", ": ", "="):
                    by_key.setdefault(key(f"{c.code}{sep}{label}"), c.code)
        phrases = tuple(sorted(by_key.items(), key=lambda kv: -len(kv[0])))
        return cls(by_key, phrases)

    def one(self, text: str) -> str | None:
        if text not in self._one:
            self._one[text] = self.by_key.get(key(text))
        return self._one[text]

    def split(self, text: str) -> list[tuple[str, str | None]]:
        """Split a checkbox cell into (raw token, code or None), matching known labels longest first."""
        if text not in self._split:
            self._split[text] = self._split_once(text)
        return self._split[text]

    def _split_once(self, text: str) -> list[tuple[str, str | None]]:
        rest = key(text)
        out: list[tuple[str, str | None]] = []
        while rest:
            for phrase, code in self.phrases:
                if rest.startswith(phrase):
                    tail = rest[len(phrase) :]
                    if not tail or tail[0] in ",;":
                        out.append((phrase, code))
                        rest = tail.lstrip(",; ")
                        break
            else:
                cut = min((i for i in (rest.find(","), rest.find(";")) if i >= 0), default=len(rest))
                out.append((rest[:cut].strip(), None))
                rest = rest[cut:].lstrip(",; ")
        return [(raw, code) for raw, code in out if raw]


@dataclass(frozen=True)
class SectorInference:
    """A sheet's sector told by its header: the titles of questions that only this sector's module asks."""

    sector: str
    titles: tuple[str, ...]

    def note(self) -> str:
        """Which sector was inferred and why, in a line for the operator."""
        n = len(self.titles)
        columns = "1 column" if n == 1 else f"{n} columns"
        example = self.titles[0] if len(self.titles[0]) <= 60 else self.titles[0][:59] + "…"
        return f"sector {self.sector} inferred from the header: {columns} only {self.sector} asks, e.g. '{example}'"


@dataclass
class HeaderMap:
    """Which sheet column holds which form column; the form's columns are those of one sector, or all."""

    columns: list[Column]  # the form's columns found in the sheet
    positions: dict[int, Column]  # sheet column index -> column
    sector: str | None  # the batch's sector, or None when a sector column says it per row
    inferred: SectorInference | None = None  # set where the sector came from the header alone


@dataclass
class HeaderDescription:
    """What a sheet's titles are in a survey's form, before any judgement: what maps, what does not, what is missing."""

    entries: list[
        tuple[int, str, Column | None]
    ]  # (sheet column, cleaned title, the form's column or None), ignored ones left out
    missing: list[Column]  # required columns of the form that no title names

    @property
    def mapped(self) -> list[tuple[int, str, Column]]:
        return [(i, t, c) for i, t, c in self.entries if c is not None]

    @property
    def unmapped(self) -> list[str]:
        return [t for _, t, c in self.entries if c is None and t]


def describe_header(titles: list[str], survey: Survey, sector: str | None, wave: str | None) -> HeaderDescription:
    """Map each title to the form's column (by its title or an alias, in Swedish or English); one sector's form, or
    with sector None the one form for all sectors."""
    form = survey.columns(sector, wave)
    every = survey.columns(None, wave)
    by_title = {key(a): c for c in form for a in (c.title, *c.aliases)}
    ignored = {key(t) for t in survey.ignore_columns}
    sector_titles = {key(survey.meta["sector"]["sv"]), key(survey.meta["sector"].get("en", ""))} - {""}
    codes = code_titles(survey)  # a pre-filled Google Form's hidden code question, where a wave names one
    entries: list[tuple[int, str, Column | None]] = []
    for i, raw in enumerate(titles):
        title = clean(raw)
        k = key(title) if title else ""
        if k and k in ignored:
            continue
        col = by_title.get(k) if title else None
        if col is None and k in sector_titles:
            col = next(c for c in every if c.type == "sector")
        if col is None and k and k in codes:
            col = Column(title, None, "code", False)
        entries.append((i, title, col))
    found = {c.question_id or c.type for _, _, c in entries if c is not None}
    missing = [
        c
        for c in (every if sector is None else form)
        if c.required and c.type != "sector" and (c.question_id or c.type) not in found
    ]
    return HeaderDescription(entries, missing)


def module_titles(titles: list[str], survey: Survey, wave: str | None) -> dict[str, list[str]]:
    """Per sector, the sheet's titles of questions in that sector's module (questions no other sector has)."""
    owner = {
        key(a): c.question.sector
        for c in survey.columns(None, wave)
        if c.question is not None and c.question.sector
        for a in (c.title, *c.aliases)
    }
    found: dict[str, list[str]] = {}
    for raw in titles:
        title = clean(raw)
        sector = owner.get(key(title)) if title else None
        if sector is not None:
            found.setdefault(sector, []).append(title)
    return found


def infer_sector(titles: list[str], survey: Survey, wave: str | None) -> SectorInference | None:
    """The sector whose module the header's questions belong to, when exactly one sector's do; else None."""
    found = module_titles(titles, survey, wave)
    if len(found) != 1:
        return None
    ((sector, named),) = found.items()
    return SectorInference(sector, tuple(named))


def _no_sector(batch: RawBatch, survey: Survey) -> HeaderError:
    """Why a sheet's sector cannot be told: neither hint, name, sector column nor its module questions say it."""
    found = module_titles(batch.header, survey, batch.wave)
    why = ""
    if len(found) > 1:
        several = ", ".join(f"{s}: {len(t)}" for s, t in found.items())
        why = f" (its header has questions of several sectors' modules: {several})"
    elif not found:
        why = " (its header has no question that only one sector is asked)"
    return HeaderError(
        f"Cannot tell which sector answered {batch.source}{why}: pass --sector ({', '.join(survey.sectors)}), "
        f'name the file after the sector (kommun-2026-Q1.csv), or add the column "{survey.meta["sector"]["sv"]}".'
    )


def map_header(batch: RawBatch, survey: Survey) -> HeaderMap:
    """Map the sheet's titles to the survey's columns; any problem holds the whole batch.

    A sheet that names its sector nowhere (no hint, no sector in its file name, no sector column) takes the sector
    whose module questions its header has, where exactly one sector's are there.
    """
    sector = survey.check_sector(batch.sector)
    described = describe_header(batch.header, survey, sector, batch.wave)
    inferred = None
    if sector is None and not any(c.type == "sector" for _, _, c in described.mapped):
        inferred = infer_sector(batch.header, survey, batch.wave)
        if inferred is not None:
            sector = inferred.sector
            described = describe_header(batch.header, survey, sector, batch.wave)
    elsewhere = {key(a): c for c in survey.columns(None, batch.wave) for a in (c.title, *c.aliases)}
    positions: dict[int, Column] = {}
    seen: dict[str, int] = {}
    where = f"in {batch.source} (row 1)"
    filled = batch.filled([i for i, t, _ in described.entries if not t])
    for i, title, col in described.entries:
        if not title:
            if i in filled:
                raise HeaderError(
                    f"Column {i + 1} has answers but no title {where}. "
                    f"Give it the question's title from `bfs survey codebook {survey.id}`."
                )
            continue
        if col is None:
            other = elsewhere.get(key(title))
            if other is not None and other.question is not None and other.question.sector:
                raise HeaderError(
                    f'Column "{title}" {where} belongs to the {other.question.sector} module, not to {sector}. '
                    f"Ingest the sheet with --sector {other.question.sector}, or remove the column."
                )
            raise HeaderError(
                f'Survey "{survey.id}" has no column "{title}" {where}. '
                f"Add it to the wave's columns in {survey.path.name}, or list it under ignore_columns."
            )
        ident = col.question_id or col.type
        if ident in seen:
            raise HeaderError(
                f'Column "{title}" {where} appears twice (columns {seen[ident] + 1} and {i + 1}). Remove one of them.'
            )
        seen[ident] = i
        positions[i] = col
    has_sector_col = any(c.type == "sector" for c in positions.values())
    if sector is None and not has_sector_col:
        raise _no_sector(batch, survey)
    for c in described.missing:
        raise HeaderError(
            f'{batch.source} lacks the required column "{c.title}" (row 1). '
            "Add it, or export the sheet again from the form."
        )
    form = survey.columns(sector, batch.wave)
    found = {c.question_id or c.type for c in positions.values()}
    return HeaderMap(
        columns=[c for c in form if (c.question_id or c.type) in found],
        positions=positions,
        sector=sector,
        inferred=inferred,
    )


META = ("timestamp", "email", "code")  # columns that alone do not make a row an answer


@dataclass
class Cells:
    """An answer sheet's cleaned cells, column by column: ident (question id or meta type) -> each row's text."""

    columns: dict[str, list[str]]
    extra: dict[int, str]  # row -> values beyond the header, joined
    rows: int

    def column(self, ident: str) -> list[str]:
        return self.columns.get(ident) or [""] * self.rows

    def row(self, i: int) -> dict[str, str]:
        """One row as {ident: text}, with "__extra__" when it has values beyond the header."""
        cells = {ident: col[i] for ident, col in self.columns.items()}
        if i in self.extra:
            cells["__extra__"] = self.extra[i]
        return cells

    def take(self, index: list[int]) -> Cells:
        """The rows at these positions, in this order."""
        pick = operator.itemgetter(*index) if len(index) > 1 else (lambda col: tuple(col[i] for i in index))
        columns = {ident: list(pick(col)) for ident, col in self.columns.items()}
        return Cells(columns, {n: self.extra[i] for n, i in enumerate(index) if i in self.extra}, len(index))

    def answered(self) -> list[int]:
        """Positions of the rows that are not blank: something besides (at most) a timestamp and an e-mail address."""
        answers = [col for ident, col in self.columns.items() if ident not in META]
        flags = [any(values) for values in zip(*answers, strict=True)] if answers else [False] * self.rows
        return [i for i, f in enumerate(flags) if f or i in self.extra]


def answer_cells(rows: list[list[str]], width: int, header: HeaderMap) -> Cells:
    """Rows' cells by column (width: the header's), each distinct text cleaned once.

    Answer sheets repeat their choices thousands of times.
    """
    extra: dict[int, str] = {}
    for n, row in enumerate(rows):
        if len(row) > width:
            values = [clean(v) for j, v in enumerate(row) if j not in header.positions and j >= width and clean(v)]
            if values:
                extra[n] = " | ".join(values)
    if not rows or not header.positions:
        return Cells({}, extra, len(rows))
    idents = [col.question_id or col.type for col in header.positions.values()]
    last = max(header.positions) + 1
    padded = (
        rows
        if all(len(r) >= last for r in rows)
        else [r if len(r) >= last else [*r, *[""] * (last - len(r))] for r in rows]
    )
    pick = operator.itemgetter(*header.positions)
    picked = map(pick, padded) if len(idents) > 1 else ((pick(r),) for r in padded)
    columns: dict[str, list[str]] = {}
    for ident, raw in zip(idents, zip(*picked, strict=True), strict=True):  # the sheet transposed: a tuple per column
        memo = {v: clean(v) for v in set(raw)}
        columns[ident] = list(map(memo.__getitem__, raw))
    return Cells(columns, extra, len(rows))
