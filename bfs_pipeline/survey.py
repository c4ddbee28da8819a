"""Survey definitions (surveys/*.yaml): questions, answer codes, labels, sectors and per-wave column titles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from bfs_pipeline import reference
from bfs_pipeline.errors import SurveyError

QUESTION_TYPES = (
    "likert",
    "single",
    "multi",
    "integer",
    "number",
    "yesno",
    "text",
    "organisation",
    "municipality",
    "municipalities",
)
META_TYPES = ("timestamp", "email", "sector")
# The report sections a question can be reported in (`reported_in:` in the survey file):
# needs: the need index (B01-B09); coverage: who answered, per municipality (ORG, C01); capacity: the capacity table
# (K04-K07, K10, K11); law: Lagens krav (K01-K03); maturity: the process maturity index (K12a-e); others_view: how
# the other sectors see the municipality; satisfaction: C04 by sector; network: who wants to join the regional network.
REPORT_SECTIONS = ("needs", "coverage", "capacity", "law", "maturity", "others_view", "satisfaction", "network")
LANGS = ("sv", "en")
WAVE_RE = re.compile(r"^(\d{4})-Q([1-4])$")
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ENTRY_RE = re.compile(r"^entry\.\d+$")


@dataclass(frozen=True)
class Choice:
    code: str
    labels: dict[str, str]

    def label(self, lang: str = "sv") -> str:
        return self.labels.get(lang) or self.labels["sv"]


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: dict[str, str]
    required: bool = False
    yearly: bool = False
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    scale: str | None = None
    scale_points: tuple[int, int] | None = (
        None  # the Likert scale proper; other codes (9 = don't know) are valid but not scored
    )
    unit: str | None = None
    sector: str | None = None  # None: the common core
    reported_in: str | None = None  # the report section that shows it (one of REPORT_SECTIONS)
    kept_for: str | None = None  # why it is asked when no report section shows it

    def title(self, lang: str = "sv") -> str:
        return self.text.get(lang) or self.text["sv"]

    @property
    def has_purpose(self) -> bool:
        """Whether the survey file says what the answers are for (a report section, or a reason to keep them)."""
        return self.reported_in is not None or self.kept_for is not None


@dataclass(frozen=True)
class Prefill:
    """One wave's pre-filled Google Form (`waves: W: prefill:` in the survey file; outreach.prefill uses it): its
    link, the entry id of the hidden code question, and that question's column title in the response sheet."""

    wave: str
    url: str
    entry: str
    title: str | None = None

    def link(self, code: str) -> str:
        """The form's link with the code filled in (any value the pre-fill link had for the entry replaced)."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != self.entry]
        if not any(k == "usp" for k, _ in query):
            query.insert(0, ("usp", "pp_url"))
        return urlunsplit(parts._replace(query=urlencode([*query, (self.entry, code)])))


@dataclass(frozen=True)
class Column:
    """One column of an answer sheet, as the codebook lists it."""

    title: str
    question_id: str | None
    type: str
    required: bool
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    question: Question | None = None
    aliases: tuple[str, ...] = ()

    def as_json(self, lang: str = "sv") -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "question_id": self.question_id,
            "type": self.type,
            "required": self.required,
        }
        if self.choices:
            out["choices"] = [{"code": c.code, "label": c.label(lang)} for c in self.choices]
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.question is not None:
            out["yearly"] = self.question.yearly
            if self.question.reported_in:
                out["reported_in"] = self.question.reported_in
            if self.question.kept_for:
                out["kept_for"] = self.question.kept_for
        return out


@dataclass(frozen=True)
class Survey:
    id: str
    title: dict[str, str]
    county: str
    timezone: str
    locale: str
    meta: dict[str, dict[str, str]]
    sectors: dict[str, dict[str, str]]
    core: tuple[Question, ...]
    modules: dict[str, tuple[Question, ...]]
    waves: dict[str, dict[str, str]]  # wave -> {column title: question id}
    path: Path
    ignore_columns: tuple[str, ...] = field(default=())
    report_to: tuple[str, ...] = field(default=())  # this survey's recipients; else BFS_REPORT_TO
    yearly_quarter: int | None = None  # the quarter (1-4) whose wave asks the yearly questions; None: every wave
    prefills: dict[str, Prefill] = field(default_factory=dict)  # wave -> its pre-filled Google Form, if any

    def asks_yearly(self, wave: str | None) -> bool:
        """Whether a wave's form asks the questions marked yearly (`yearly_quarter:` in the survey file)."""
        return self.yearly_quarter is None or wave is None or wave.endswith(f"Q{self.yearly_quarter}")

    def asked(self, question: Question, wave: str | None) -> bool:
        """Whether a wave's form asks the question: every quarterly one; a yearly one only in the yearly wave."""
        return not question.yearly or self.asks_yearly(wave)

    def questions(self, sector: str | None) -> list[Question]:
        """The questions asked of a sector (core then module); all of them when sector is None."""
        if sector is None:
            return list(self.core) + [q for qs in self.modules.values() for q in qs]
        return list(self.core) + list(self.modules[self.check_sector(sector) or sector])

    def question(self, qid: str) -> Question:
        for q in self.questions(None):
            if q.id == qid:
                return q
        raise SurveyError(f'Survey "{self.id}" has no question {qid!r}.')

    def sector_code(self, text: str | None) -> str | None:
        """The survey's code for a sector named in any letter case ("Polis", "POLIS": polis); None when unknown."""
        if text is None:
            return None
        if text in self.sectors:
            return text
        folded = text.strip().casefold()
        return next((code for code in self.sectors if code.casefold() == folded), None)

    def check_sector(self, sector: str | None) -> str | None:
        """The sector's code as the survey spells it (letter case does not matter); SurveyError when it has none."""
        if sector is None:
            return None
        code = self.sector_code(sector)
        if code is None:
            raise SurveyError(
                f'Survey "{self.id}" has no sector {sector!r}; its sectors are {", ".join(self.sectors)}.'
            )
        return code

    def columns(
        self, sector: str | None = None, wave: str | None = None, lang: str = "sv", *, asked_only: bool = False
    ) -> list[Column]:
        """The form's columns in order: a per-sector form, or (sector None) one form with a sector question.

        By default every question the survey has, so that an answer sheet may carry any of them (the ingest reads
        a yearly question's column in any wave and keeps its answers). `asked_only`: only what the wave's form asks
        (no yearly question outside the yearly wave): the codebook, the blank sheet and the form guide.
        """
        sector = self.check_sector(sector)
        renamed = {qid: title for title, qid in self.waves.get(wave or "", {}).items()}
        all_titles: dict[str, list[str]] = {}
        for w in self.waves.values():
            for title, qid in w.items():
                all_titles.setdefault(qid, []).append(title)
        cols = [
            Column(
                self.meta["timestamp"][lang], None, "timestamp", True, aliases=tuple(self.meta["timestamp"].values())
            ),
            Column(self.meta["email"][lang], None, "email", False, aliases=tuple(self.meta["email"].values())),
        ]
        sector_choices = tuple(Choice(k, v) for k, v in self.sectors.items())
        for q in self.questions(sector):
            if asked_only and not self.asked(q, wave):
                continue
            title = renamed.get(q.id) or q.title(lang)
            aliases = tuple(dict.fromkeys([*q.text.values(), *all_titles.get(q.id, []), title]))
            required = q.required and (sector is not None or q.sector is None)
            cols.append(Column(title, q.id, q.type, required, q.choices, q.min, q.max, q, aliases))
            if q.type == "organisation" and sector is None:
                cols.append(
                    Column(
                        self.meta["sector"][lang],
                        None,
                        "sector",
                        True,
                        sector_choices,
                        aliases=tuple(self.meta["sector"].values()),
                    )
                )
        return cols


def form_columns(survey: Survey, sector: str | None, wave: str | None, lang: str = "sv") -> list[Column]:
    """The columns of the form a wave asks: the codebook, the blank answer sheet and the form guide list these."""
    return survey.columns(sector, wave, lang, asked_only=True)


def unpurposed(survey: Survey) -> list[Question]:
    """The quarterly questions whose survey file says neither `reported_in:` nor `kept_for:` (a yearly one may)."""
    return [q for q in survey.questions(None) if not q.yearly and not q.has_purpose]


def wave_of(text: str) -> str:
    """Check a wave name (YYYY-Qn) and return it normalised."""
    w = text.strip().upper()
    if not WAVE_RE.match(w):
        raise SurveyError(f"{text!r} is not a wave: write it as YYYY-Qn, for example 2026-Q1.")
    return w


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _Loc:
    """Finds the line of a key path in the YAML source, for error messages."""

    def __init__(self, path: Path, node: yaml.Node | None):
        self.path, self.node = path, node

    def line(self, *keys: str | int) -> int | None:
        node = self.node
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                nxt = next((v for k, v in node.value if k.value == str(key)), None)
                if nxt is None:
                    return node.start_mark.line + 1
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                break
        return node.start_mark.line + 1 if node is not None else None

    def error(self, keys: tuple[str | int, ...], problem: str, fix: str) -> SurveyError:
        where = ".".join(str(k) for k in keys)
        line = self.line(*keys)
        at = f"{self.path}:{line}" if line else str(self.path)
        return SurveyError(f"{at}: {where}: {problem}. {fix}")


def _labels(loc: _Loc, keys: tuple[str | int, ...], value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("sv"), str) or not value["sv"].strip():
        raise loc.error(keys, "needs a Swedish text", "Write it as {sv: ..., en: ...}.")
    return {k: nfc(str(v)).strip() for k, v in value.items() if k in LANGS and v}


def _choices(loc: _Loc, keys: tuple[str | int, ...], value: Any) -> tuple[Choice, ...]:
    if not isinstance(value, list) or not value:
        raise loc.error(keys, "needs a list of choices", "Give each as {code: '1', sv: ..., en: ...}.")
    out, seen = [], set()
    for i, c in enumerate(value):
        if not isinstance(c, dict) or "code" not in c:
            raise loc.error((*keys, i), "is not a choice", "Give it as {code: '1', sv: ..., en: ...}.")
        code = str(c["code"]).strip()
        if code in seen:
            raise loc.error((*keys, i), f"repeats the code {code!r}", "Give every choice its own code.")
        seen.add(code)
        out.append(Choice(code, _labels(loc, (*keys, i), c)))
    return tuple(out)


def _question(
    loc: _Loc,
    keys: tuple[str | int, ...],
    raw: Any,
    scales: dict[str, tuple[tuple[Choice, ...], tuple[int, int]]],
    sector: str | None,
    county: str,
) -> Question:
    if not isinstance(raw, dict):
        raise loc.error(keys, "is not a question", "Give it as a mapping with id, type and text.")
    qid = str(raw.get("id", ""))
    if not ID_RE.match(qid):
        raise loc.error(
            (*keys, "id"),
            f"{qid!r} is not a valid question id",
            "Use letters and digits, starting with a letter (B01).",
        )
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise loc.error(
            (*keys, "type"), f"question {qid} has type {qtype!r}", f"Use one of {', '.join(QUESTION_TYPES)}."
        )
    text = _labels(loc, (*keys, "text"), raw.get("text"))
    choices: tuple[Choice, ...] = ()
    points = None
    scale = raw.get("scale")
    if qtype == "likert":
        if scale not in scales:
            raise loc.error(
                (*keys, "scale"),
                f"question {qid} names scale {scale!r}",
                f"Use one of {', '.join(scales) or '(none defined under scales:)'}.",
            )
        choices, points = scales[scale]
    elif qtype in ("single", "multi"):
        choices = _choices(loc, (*keys, "choices"), raw.get("choices"))
    elif qtype in ("municipality", "municipalities"):
        county_obj = reference.counties()[county]
        choices = tuple(Choice(m.code, {"sv": m.name, "en": m.name}) for m in reference.county_municipalities(county))
        if qtype == "municipalities":
            choices += (Choice(county, {"sv": "Hela " + county_obj.name, "en": "Hela " + county_obj.name}),)
    lo, hi = raw.get("min"), raw.get("max")
    for k, v in (("min", lo), ("max", hi)):
        if v is not None and not isinstance(v, (int, float)):
            raise loc.error((*keys, k), f"question {qid} has {k} {v!r}", "Give a number.")
    if lo is not None and hi is not None and lo > hi:
        raise loc.error((*keys, "min"), f"question {qid} has min {lo} above max {hi}", "Swap them.")
    reported_in, kept_for = _purpose(loc, keys, qid, raw)
    return Question(
        id=qid,
        type=qtype,
        text=text,
        required=bool(raw.get("required", False)),
        yearly=bool(raw.get("yearly", False)),
        choices=choices,
        min=lo,
        max=hi,
        scale=scale,
        scale_points=points,
        unit=raw.get("unit"),
        sector=sector,
        reported_in=reported_in,
        kept_for=kept_for,
    )


def _purpose(loc: _Loc, keys: tuple[str | int, ...], qid: str, raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """A question's `reported_in:` (a report section) or `kept_for:` (a reason), never both."""
    reported_in, kept_for = raw.get("reported_in"), raw.get("kept_for")
    if reported_in is not None and kept_for is not None:
        raise loc.error(
            (*keys, "kept_for"),
            f"question {qid} has both reported_in and kept_for",
            "Keep one: reported_in when a report section shows the answers, kept_for when none does.",
        )
    if reported_in is not None and reported_in not in REPORT_SECTIONS:
        raise loc.error(
            (*keys, "reported_in"),
            f"question {qid} is reported in {reported_in!r}, which is no report section",
            f"Use one of {', '.join(REPORT_SECTIONS)}, or say why it is asked with kept_for.",
        )
    if kept_for is not None and (not isinstance(kept_for, str) or not kept_for.strip()):
        raise loc.error(
            (*keys, "kept_for"),
            f"question {qid} has kept_for without a reason",
            'Write why the answers are kept, for example kept_for: "the yearly account to Brå".',
        )
    return reported_in, (nfc(kept_for).strip() if kept_for is not None else None)


_CACHE: dict[tuple[str, int, int], Survey] = {}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_survey(path: Path) -> Survey:
    """Read and check one survey file (cached while the file is unchanged)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise SurveyError(f"Cannot read survey file {path}: {exc.strerror}. Check the path.") from None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE[key] = _load_survey(path)
    return _CACHE[key]


def _refuse_duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    """YAML keeps the last of two equal keys without a word; a survey file must not (required: true, then false)."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                line = k.start_mark.line + 1
                if isinstance(k, yaml.ScalarNode) and k.value in seen:
                    raise SurveyError(
                        f"{path}:{line}: the key {k.value!r} appears twice in the same block (first on line "
                        f"{seen[k.value]}). Keep one of them."
                    )
                if isinstance(k, yaml.ScalarNode):
                    seen[k.value] = line
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _yearly_quarter(loc: _Loc, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise loc.error(
            ("yearly_quarter",),
            f"{value!r} is not a quarter",
            "Write 1, 2, 3 or 4: the quarter whose wave asks the yearly questions.",
        )
    return value


def _load_survey(path: Path) -> Survey:
    """Read and check one survey file; errors name the file, the line and the key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SurveyError(f"Cannot read survey file {path}: {exc.strerror}. Check the path.") from None
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise SurveyError(
            f"{path}:{bad_line}: the file is not UTF-8 (byte 0x{raw[exc.start]:02x}). Save it as UTF-8 in your editor."
        ) from None
    try:
        node = yaml.compose(source, Loader=_LOADER)
        _refuse_duplicate_keys(path, node)
        data = yaml.load(source, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SurveyError(
            f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)}). Fix the syntax there."
        ) from None
    loc = _Loc(path, node)
    if not isinstance(data, dict):
        raise loc.error((), "is empty or not a mapping", "Start from surveys/blekinge-behov.yaml.")
    for key in ("id", "title", "county", "meta", "sectors", "questions"):
        if key not in data:
            raise loc.error((key,), "is missing", f"Add {key}: (see surveys/blekinge-behov.yaml).")
    sid = str(data["id"])
    county = str(data["county"]).zfill(2)
    if county not in reference.counties():
        raise loc.error(
            ("county",),
            f"{data['county']!r} is not a Swedish county code",
            "Use the 2-digit SCB county code, for example '10' for Blekinge.",
        )
    scales: dict[str, tuple[tuple[Choice, ...], tuple[int, int]]] = {}
    for name, s in (data.get("scales") or {}).items():
        pts = s.get("points", [1, 5]) if isinstance(s, dict) else None
        if not isinstance(pts, list) or len(pts) != 2:
            raise loc.error(("scales", name, "points"), "is not [low, high]", "Write points: [1, 5].")
        scales[name] = (_choices(loc, ("scales", name, "choices"), s.get("choices")), (int(pts[0]), int(pts[1])))
    meta = {}
    for m in META_TYPES:
        meta[m] = _labels(loc, ("meta", m), (data["meta"] or {}).get(m))
    sectors: dict[str, dict[str, str]] = {}
    for k, v in (data["sectors"] or {}).items():
        if not ID_RE.match(str(k)):
            raise loc.error(("sectors", k), f"{k!r} is not a valid sector id", "Use lower-case letters, as kommun.")
        twin = next((code for code in sectors if code.casefold() == str(k).casefold()), None)
        if twin is not None:
            raise loc.error(
                ("sectors", k),
                f"{k!r} differs from the sector {twin!r} only in letter case",
                "Sector codes are matched without regard to case: give it another code.",
            )
        sectors[str(k)] = _labels(loc, ("sectors", k), v)
    core = tuple(
        _question(loc, ("questions", i), q, scales, None, county) for i, q in enumerate(data["questions"] or [])
    )
    modules: dict[str, tuple[Question, ...]] = {s: () for s in sectors}
    for s, qs in (data.get("modules") or {}).items():
        if s not in sectors:
            raise loc.error(
                ("modules", s),
                f"module for unknown sector {s!r}",
                f"Add it under sectors: or use one of {', '.join(sectors)}.",
            )
        modules[s] = tuple(_question(loc, ("modules", s, i), q, scales, s, county) for i, q in enumerate(qs or []))
    where: list[tuple[str | int, ...]] = [("questions", i, "id") for i in range(len(core))]
    where += [("modules", s, i, "id") for s, qs in modules.items() for i in range(len(qs))]
    all_q = list(core) + [q for qs in modules.values() for q in qs]
    ids: dict[str, int] = {}
    for q, keys in zip(all_q, where, strict=True):
        at_line = loc.line(*keys) or 0
        if q.id in ids:
            raise SurveyError(
                f"{path}:{at_line}: question id {q.id} is used twice (first on line {ids[q.id]}). "
                "Question ids are permanent and unique: give the new question a new id."
            )
        ids[q.id] = at_line
    if not any(q.type == "organisation" for q in core):
        raise loc.error(
            ("questions",),
            "has no question of type organisation",
            "Every form asks which organisation answers: add one (id ORG).",
        )
    waves: dict[str, dict[str, str]] = {}
    prefills: dict[str, Prefill] = {}
    for w, spec in (data.get("waves") or {}).items():
        if not WAVE_RE.match(str(w)):
            raise loc.error(("waves", str(w)), f"{w!r} is not a wave", "Name waves YYYY-Qn, for example 2026-Q1.")
        mapping = {}
        for title, qid in ((spec or {}).get("columns") or {}).items():
            if qid not in ids:
                raise loc.error(
                    ("waves", str(w), "columns", title),
                    f"maps to unknown question {qid!r}",
                    "Use an id defined under questions: or modules:.",
                )
            mapping[nfc(str(title)).strip()] = str(qid)
        waves[str(w)] = mapping
        if isinstance(spec, dict) and spec.get("prefill") is not None:
            prefills[str(w)] = _prefill(path, str(w), spec["prefill"])
    title_owner: dict[str, str] = {}
    for q in all_q:
        for t in [*q.text.values(), *(t for m in waves.values() for t, i in m.items() if i == q.id)]:
            key = header_key(t)
            if title_owner.get(key, q.id) != q.id:
                raise SurveyError(
                    f"{path}: the column title {t!r} belongs to both {title_owner[key]} and {q.id}. "
                    "Give one of them another wording."
                )
            title_owner.setdefault(key, q.id)
    return Survey(
        id=sid,
        title=_labels(loc, ("title",), data["title"]),
        county=county,
        timezone=str(data.get("timezone", "Europe/Stockholm")),
        locale=str(data.get("locale", "sv-SE")),
        meta=meta,
        sectors=sectors,
        core=core,
        modules=modules,
        waves=waves,
        prefills=prefills,
        yearly_quarter=_yearly_quarter(loc, data.get("yearly_quarter")),
        path=path,
        ignore_columns=tuple(nfc(str(c)) for c in data.get("ignore_columns") or ()),
        report_to=_addresses(loc, data.get("report_to")),
    )


def _prefill(path: Path, wave: str, raw: Any) -> Prefill:
    """A wave's `prefill:` checked: an https link and an entry id (the errors say where to find them)."""
    where = f"{path}: waves.{wave}.prefill"
    if not isinstance(raw, dict):
        raise SurveyError(
            f"{where} is not a mapping. Write it as {{url: https://docs.google.com/forms/..., entry: entry.123}}."
        )
    url, entry, title = str(raw.get("url") or "").strip(), str(raw.get("entry") or "").strip(), raw.get("title")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise SurveyError(
            f"{where}.url {url!r} is not an https address. In the Google Form: ⋮ > Get pre-filled link, fill in "
            "the code question with anything, Get link, and paste it here."
        )
    if not ENTRY_RE.match(entry):
        raise SurveyError(
            f"{where}.entry {entry!r} is not an entry id. It is the entry.NNNN part of the pre-filled link that "
            "holds the code question's value, for example entry.1234567890."
        )
    return Prefill(wave, url, entry, str(title).strip() if title else None)


def _addresses(loc: _Loc, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    out = tuple(str(a).strip() for a in items if str(a).strip())
    for a in out:
        if "@" not in a:
            raise loc.error(
                ("report_to",),
                f"{a!r} is not an e-mail address",
                "List the recipients' addresses, as report_to: [samordnare@lansstyrelsen.se].",
            )
    return out


def header_key(title: str) -> str:
    """How column titles are compared: NFC, case-insensitive, runs of white space as one."""
    return " ".join(nfc(title).casefold().split())


def load_surveys(folder: Path) -> dict[str, Survey]:
    """Every survey in a folder, by id."""
    if not folder.is_dir():
        raise SurveyError(
            f"Survey folder {folder} does not exist. Set BFS_SURVEYS_DIR to the folder with your survey files."
        )
    out: dict[str, Survey] = {}
    for path in sorted(folder.glob("*.y*ml")):
        s = load_survey(path)
        if s.id in out:
            raise SurveyError(
                f"{path}: survey id {s.id!r} is also used by {out[s.id].path}. Give each survey its own id."
            )
        out[s.id] = s
    if not out:
        raise SurveyError(f"No survey files (*.yaml) in {folder}. Copy surveys/blekinge-behov.yaml there to start.")
    return out


def pick_survey(surveys: dict[str, Survey], survey_id: str | None) -> Survey:
    if survey_id is None:
        if len(surveys) == 1:
            return next(iter(surveys.values()))
        raise SurveyError(f"There are several surveys ({', '.join(surveys)}): name one with --survey.")
    if survey_id not in surveys:
        raise SurveyError(f"No survey {survey_id!r}; the surveys are {', '.join(surveys)} (bfs survey list).")
    return surveys[survey_id]
