"""Deterministic demo data: an actor roster and eight quarters of answer sheets, a few percent of rows broken."""

from __future__ import annotations

import csv
import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bfs_pipeline import metrics, reference
from bfs_pipeline.survey import Column, Survey

LAST_WAVE = "2026-Q3"
WAVES = 8
FALLING = "1060"  # Olofström: capacity falls and needs rise over the last quarters
RISE = {-2: 0.35, -1: 1.2}  # how much Olofström's need rises in the last two waves (on the 1-5 scale)
JUMP = "1081"  # Ronneby: needs jump in the second-last wave and stay high in the last; its coordinator's FTE falls
JUMP_BY = {-2: 0.9, -1: 0.9}  # on the 1-5 scale, so the last report raises a standing gap (alerts.standing_gaps)
JUMP_FTE = (1.0, 0.1)  # Ronneby's coordinator FTE before and from the jump: capacity fell (alerts.capacity_fell)
# lag (2023:196), K01-K03, asked in the Q1 waves: every municipality has a lägesbild, an åtgardsplan and a staffed
# coordination function, except these answers (municipality, question) -> code, in every Q1 wave unless keyed by year
LAW = {"K01": "1", "K02": "2", "K03": "1"}
LAW_PLANTED = {
    ("1083", "K02", None): "0",  # Sölvesborg: no åtgärdsplan in either year (alerts.law_floor)
    ("1082", "K01", 2025): "3",  # Karlshamn: its lägesbild being made a year ago, decided since
}
# The coordinator's support log (`bfs support import`'s columns): Olofström, whose greatest need in the last wave is
# method support (B05), gets support for its other needs but no metodstöd or rådgivning for B05 in the last two
# quarters (it had some before them), while Ronneby and Karlskrona get it: the last report raises support_gap.
SUPPORT_COLUMNS = ("datum", "kommun", "mottagare", "sektor", "behov", "typ", "timmar", "deltagare")
SUPPORT_LOG = (
    ("2026-02-11", "Olofström", "Olofström kommun", "kommun", "B05", "metodstöd", "3", "5"),
    ("2026-03-04", "hela länet", "", "kommun", "B04", "utbildning", "4", "40"),
    ("2026-04-08", "Ronneby", "Ronneby kommun", "kommun", "B05", "metodstöd", "3", "4"),
    ("2026-04-15", "Olofström", "Olofström kommun", "kommun", "B02, B04", "rådgivning", "2", "3"),
    ("2026-04-22", "hela länet", "", "kommun", "B08", "nätverksträff", "6", "25"),
    ("2026-05-06", "Olofström", "Brottsförebyggande rådet i Olofström", "kommun", "B03", "utbildning", "4", "12"),
    ("2026-05-13", "Karlskrona", "Karlskrona kommun", "kommun", "B05", "metodstöd", "3", "5"),
    ("2026-05-20", "Karlshamn", "Karlshamns kommun", "kommun", "B01", "besök", "2", "6"),
    ("2026-06-03", "Sölvesborg", "Sölvesborgs kommun", "kommun", "B06", "utbildning", "3", "10"),
    ("2026-08-19", "Ronneby", "Ronneby kommun", "kommun", "B05", "metodstöd", "2,5", "3"),
    ("2026-08-26", "Olofström", "Olofström kommun", "kommun", "B07, B09", "besök", "3", "6"),
    ("2026-09-02", "Olofström", "Olofström kommun", "kommun", "B01, B06", "rådgivning", "2", "4"),
    ("2026-09-09", "hela länet", "", "kommun", "B08", "nätverksträff", "6", "30"),
    ("2026-09-16", "Karlskrona", "Karlskrona kommun", "kommun", "B05", "rådgivning", "1,5", "2"),
    ("2026-09-23", "Karlshamn", "Karlshamns kommun", "kommun", "B02", "metodstöd", "2", "4"),
)
GOOD_EXAMPLES = """\
- rubrik: Trygghetsvandringar med näringslivet
  text: >-
    En kommun och handeln gick trygghetsvandringar i centrum en kväll i månaden och tog fram en åtgärdslista
    tillsammans med fastighetsägarna.
  kontakt: Länsstyrelsens samordnare förmedlar kontakten
  en:
    rubrik: Safety walks with local businesses
    text: >-
      A municipality and the local retailers walked the town centre one evening a month and drew up a list of
      measures with the property owners.
- rubrik: Orsaksanalys i det lokala rådet
  text: >-
    En kommun lät sitt råd göra en orsaksanalys av otryggheten vid resecentrum innan några åtgärder valdes.
  en:
    rubrik: A causal analysis in the local council
    text: >-
      A municipality had its council analyse the causes of the insecurity at the travel centre before any measure
      was chosen.
"""
XLSX_SECTORS = {"ideburen"}
NUMERIC_BREAKS = ("not_a_number", "out_of_range")

ORG_TEMPLATES = {
    "kommun": ["{m} kommun"],
    "polis": ["Polisen lokalpolisområde {m}"],
    "myndighet": ["Kriminalvården frivård {m}", "Försäkringskassan {m}"],
    "naringsliv": ["Handelsföreningen i {m}", "{m}hem AB", "Företagarna {m}", "Centrumföreningen {m}"],
    "ideburen": ["{m} IF", "Brottsofferjouren {m}", "Nattvandrarna {m}", "Fritidsgården Ungdomens hus {m}"],
}


@dataclass(frozen=True)
class Actor:
    organisation: str
    sector: str
    municipalities: tuple[str, ...]
    emails: tuple[str, ...]


def roster(county: str) -> list[Actor]:
    """About 60 organisations over the county's municipalities and five sectors."""
    actors = []
    for m in reference.county_municipalities(county):
        slug = unicodedata.normalize("NFD", m.name.lower())
        slug = "".join(c for c in slug if c.isascii() and c.isalnum())
        for sector, names in ORG_TEMPLATES.items():
            for i, name in enumerate(names):
                n_resp = 2 if sector == "kommun" else 1
                emails = tuple(f"{sector}{i}.{k}@{slug}.example.se" for k in range(n_resp))
                actors.append(Actor(name.format(m=m.name), sector, (m.code,), emails))
    actors.append(Actor("Region Blekinge", "myndighet", (county,), ("region@regionblekinge.example.se",)))
    return actors


def _base_need(code: str) -> float:
    return {"1060": 3.3, "1080": 2.8, "1081": 3.0, "1082": 2.9, "1083": 3.1}.get(code, 3.0)


def _likert_text(rng: random.Random, col: Column, code: str) -> str:
    choice = next(c for c in col.choices if c.code == code)
    style = rng.random()
    if style < 0.7:
        return f"{code} - {choice.label('sv')}"
    if style < 0.85:
        return code
    if style < 0.95:
        return choice.label("sv")
    return "  " + choice.label("sv").upper() + " "


def _timestamp_text(rng: random.Random, local: dt.datetime) -> str:
    style = rng.random()
    if style < 0.75:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if style < 0.85:
        return local.strftime("%d/%m/%Y %H:%M:%S")
    if style < 0.93:
        hour = local.hour % 12 or 12
        marker = "em" if local.hour >= 12 else "fm"
        return local.strftime(f"%Y/%m/%d {hour}:%M:%S {marker} ") + (
            "CEST" if local.utcoffset() == dt.timedelta(hours=2) else "CET"
        )
    serial = (local.replace(tzinfo=None) - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    return f"{serial:.6f}"


def _muni_text(rng: random.Random, code: str) -> str:
    m = reference.municipalities().get(code)
    if m is None:
        return "Hela Blekinge län"
    style = rng.random()
    if style < 0.6:
        return m.name
    if style < 0.75:
        return m.code
    if style < 0.9:
        return m.official_name
    return "".join(c for c in unicodedata.normalize("NFD", m.name) if not unicodedata.combining(c))


def answer_row(
    rng: random.Random,
    survey: Survey,
    cols: list[Column],
    actor: Actor,
    email: str,
    wave: str,
    t: int,
    local: dt.datetime,
) -> dict[str, str]:
    """One plausible answer, keyed by column title."""
    code = actor.municipalities[0]
    falling = code == FALLING and t >= WAVES - 3
    mu = _base_need(code) - 0.03 * t + (RISE.get(t - WAVES, 0.0) if code == FALLING else 0.0)
    mu += JUMP_BY.get(t - WAVES, 0.0) if code == JUMP else 0.0
    row: dict[str, str] = {}
    for col in cols:
        q = col.question
        if col.type == "timestamp":
            row[col.title] = _timestamp_text(rng, local)
        elif col.type == "email":
            row[col.title] = email
        elif q is None:
            continue
        elif q.type == "organisation":
            row[col.title] = actor.organisation
        elif q.type == "municipalities":
            row[col.title] = ", ".join(_muni_text(rng, c) for c in actor.municipalities)
        elif q.type == "likert":
            if rng.random() < 0.04:
                v = "9"
            else:
                centre = mu if q.scale == "NEED5" else 3.4 - (0.4 * (t - (WAVES - 4)) if falling else 0)
                v = str(min(5, max(1, round(rng.gauss(centre, 0.9)))))
            row[col.title] = _likert_text(rng, col, v)
        elif q.type == "single":
            row[col.title] = rng.choice(q.choices).label("sv") if rng.random() < 0.5 else rng.choice(q.choices).code
            if q.id in LAW and actor.sector == "kommun":  # drawn all the same: the other answers stay as they were
                year = int(wave[:4])
                law = LAW_PLANTED.get((code, q.id, year), LAW_PLANTED.get((code, q.id, None), LAW[q.id]))
                row[col.title] = next(c for c in q.choices if c.code == law).label("sv")
        elif q.type == "multi":
            picks = rng.sample(list(q.choices), k=min(len(q.choices), rng.randint(1, 3)))
            row[col.title] = ", ".join(c.label("sv") for c in picks)
        elif q.type in ("integer", "number"):
            if q.id == "K04":
                fte = {"1060": 0.8, "1080": 2.0, "1081": 1.0, "1082": 1.0, "1083": 0.6}.get(code, 1.0)
                if falling:
                    fte = max(0.2, fte - 0.2 * (t - (WAVES - 4)))
                if code == JUMP:
                    fte = JUMP_FTE[1] if t - WAVES in JUMP_BY else JUMP_FTE[0]
                row[col.title] = f"{fte:.2f}".replace(".", ",")
            else:
                hi = q.max if q.max is not None else 10
                x = rng.uniform(0, min(hi, 40))
                row[col.title] = str(round(x)) if q.type == "integer" else f"{x:.1f}".replace(".", ",")
        elif q.type == "text" and rng.random() < 0.3:
            row[col.title] = rng.choice(
                [
                    "Mer metodstöd",
                    "Tid för samverkan",
                    "Utbildning för rådet",
                    "<b>Fler möten</b> & nätverk",
                    "=SUMMA(A1:A9)",
                ]
            )
    return row


BREAKS = [
    "outside_county",
    "unknown_municipality",
    "out_of_scale",
    "unknown_choice",
    "not_a_number",
    "out_of_range",
    "required",
    "timestamp",
    "blank",
    "duplicate",
]


def _break(rng: random.Random, kind: str, row: dict[str, str], cols: list[Column]) -> dict[str, str]:
    by_id = {c.question_id: c.title for c in cols if c.question_id}
    row = dict(row)
    numeric = next((c.title for c in cols if c.type in ("integer", "number") and c.max is not None), None)
    if kind == "outside_county":
        row[by_id["C01"]] = "Kalmar"
    elif kind == "unknown_municipality":
        row[by_id["C01"]] = "Atlantis"
    elif kind == "out_of_scale":
        row[by_id["B02"]] = "7"
    elif kind == "unknown_choice":
        row[by_id["B05"]] = "Kanske"
    elif kind == "not_a_number" and numeric:
        row[numeric] = "ungefär en halv"
    elif kind == "out_of_range" and numeric:
        row[numeric] = "100000"
    elif kind == "required":
        row[by_id["B03"]] = ""
    elif kind == "timestamp":
        row[next(c.title for c in cols if c.type == "timestamp")] = "igår efter lunch"
    elif kind == "blank":
        row = {k: "" for k in row}
    return row


def write_roster(path: Path, county: str) -> Path:
    """The demo's actor roster as a CSV a coordinator would keep (organisation, sektor, kommun, kontakt, rapport):
    the municipalities' own organisations and the police ask for their municipality's report (rapport = ja)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["organisation", "sektor", "kommun", "kontakt", "rapport"])
        for a in roster(county):
            contact = f"info@{a.emails[0].split('@', 1)[1]}"
            report = "ja" if a.sector in ("kommun", "polis") and a.municipalities[0] != county else "nej"
            w.writerow([a.organisation, a.sector, ", ".join(a.municipalities), contact, report])
    return path


def write_support_log(path: Path) -> Path:
    """The coordinator's support log (SUPPORT_LOG) as the CSV `bfs support import` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SUPPORT_COLUMNS)
        w.writerows(SUPPORT_LOG)
    return path


def write_examples(path: Path) -> Path:
    """The coordinator's good examples for a quarter (municipal.load_examples' format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD_EXAMPLES, encoding="utf-8")
    return path


def write_sheet(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Formulärsvar 1"
        ws.append(header)
        for r in rows:
            ws.append([r.get(h, "") for h in header])
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.data_type = "s"  # keep answers as text: "0180" and "=..." stay what was typed
        wb.save(path)
        return
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])


def generate(survey: Survey, folder: Path, seed: int = 42) -> dict[str, list[Path]]:
    """Answer sheets per wave (oldest first): one per sector, plus one held sheet whose header has an unknown column."""
    rng = random.Random(seed)
    tz = ZoneInfo(survey.timezone)
    actors = roster(survey.county)
    waves = metrics.wave_range(LAST_WAVE, WAVES)
    out: dict[str, list[Path]] = {}
    deferred: list[str] = []  # breaks that need a numeric column the sheet they fell on does not ask
    for t, wave in enumerate(waves):
        year, q = int(wave[:4]), int(wave[-1])
        files = []
        for sector in survey.sectors:
            cols = [c for c in survey.columns(sector, wave) if not (c.question and c.question.yearly and q != 1)]
            rows: list[dict[str, str]] = []
            for actor in (a for a in actors if a.sector == sector):
                for email in actor.emails:
                    if rng.random() > (0.9 if actor.municipalities[0] != FALLING or t < WAVES - 3 else 0.75):
                        continue
                    day = dt.datetime(year, 3 * q, 1, 8, tzinfo=tz) + dt.timedelta(
                        days=rng.randint(0, 24), minutes=rng.randint(0, 600)
                    )
                    row = answer_row(rng, survey, cols, actor, email if rng.random() < 0.85 else "", wave, t, day)
                    rows.append(row)
                    if rng.random() < 0.04:  # a resubmission a few days later, with other answers
                        later = answer_row(
                            rng, survey, cols, actor, row[cols[1].title], wave, t, day + dt.timedelta(days=3)
                        )
                        if row[cols[1].title]:
                            rows.append(later)
            # every kind of break, spread over the waves and sectors: a few percent of rows in all
            numeric = any(c.type in ("integer", "number") and c.max is not None for c in cols)
            for k, kind in enumerate(BREAKS):
                if (k + t * 3 + list(survey.sectors).index(sector)) % 16 == 0 and rows:
                    victim, at = rng.choice(rows), rng.randrange(len(rows) + 1)
                    if kind in NUMERIC_BREAKS and not numeric:  # this sheet asks no number: a later one gets it
                        deferred.append(kind)
                        continue
                    rows.insert(at, victim if kind == "duplicate" else _break(rng, kind, victim, cols))
            while deferred and numeric and rows:  # drawn apart, so the other answers stay as they were
                side = random.Random(f"{seed}-{wave}-{sector}-{len(deferred)}")
                victim = side.choice(rows)
                rows.insert(side.randrange(len(rows) + 1), _break(side, deferred.pop(0), victim, cols))
            suffix = ".xlsx" if sector in XLSX_SECTORS else ".csv"
            path = folder / f"{sector}-{wave}{suffix}"
            write_sheet(path, [c.title for c in cols], rows)
            files.append(path)
        if t == WAVES - 1:
            cols = [c for c in survey.columns("naringsliv", wave) if not (c.question and c.question.yearly)]
            extra = [
                answer_row(rng, survey, cols, a, a.emails[0], wave, t, dt.datetime(year, 3 * q, 20, 9, tzinfo=tz))
                for a in actors
                if a.sector == "naringsliv"
            ][:3]
            path = folder / f"naringsliv-{wave}-tillagg.csv"
            write_sheet(path, [c.title for c in cols] + ["Kommentar från handläggaren"], extra)
            files.append(path)
        out[wave] = files
    return out
