"""The pure functions of bfs_pipeline.normalize, table by table, against DESIGN.md "Rules for answers"."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from bfs_pipeline.errors import HeaderError
from bfs_pipeline.normalize import (
    ChoiceIndex,
    clean,
    infer_locale,
    key,
    map_header,
    parse_number,
    parse_timestamp,
    parse_yesno,
)
from bfs_pipeline.sources import RawBatch
from bfs_pipeline.survey import Column, Survey, load_surveys

SURVEYS = Path(__file__).resolve().parents[1] / "surveys"
B04_2026_Q2 = "Behov av stöd: omvärldsbevakning (trender, forskning och nya lagar)"  # the wave's reworded title


@pytest.fixture(scope="module")
def survey() -> Survey:
    return load_surveys(SURVEYS)["blekinge-behov"]


def ident(c: Column) -> str:
    return c.question_id or c.type


def column(survey: Survey, qid: str) -> Column:
    return next(c for c in survey.columns(None) if c.question_id == qid)


def batch(header: list[str], rows: list[list[str]] | None = None, **kw: str | None) -> RawBatch:
    rows = rows or []
    return RawBatch(source="kommun.csv", header=header, rows=rows, sheet_rows=list(range(2, len(rows) + 2)), **kw)


def msg(*parts: str) -> str:
    """An expected message written in parts, to keep lines short."""
    return "".join(parts)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


# parse_timestamp: (text, source time zone, declared locale) -> the instant in UTC

STOCKHOLM = "Europe/Stockholm"


@pytest.mark.parametrize(
    ("text", "tz", "locale", "expected"),
    [
        # ISO, and the Swedish Sheets default "YYYY-MM-DD hh:mm:ss", read in Stockholm time (CET in March)
        ("2026-03-14T10:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14T10:22:31Z", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 10, 22, 31)),
        ("2026-03-14T10:22:31+01:00", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14T10:22:31.123+02:00", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 8, 22, 31, 123000)),
        ("2026-03-14T10:22", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 0)),
        ("2026-03-14", STOCKHOLM, "sv-SE", utc(2026, 3, 13, 23, 0, 0)),
        ("2026-03-14 10:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("  2026-03-14 10:22:31 ", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14\u00a010:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14 10:22:31.5", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31, 500000)),
        # daylight-saving time: CEST in July; the spring-forward night of 29 March 2026
        ("2026-07-14 10:22:31", STOCKHOLM, "sv-SE", utc(2026, 7, 14, 8, 22, 31)),
        ("2026-03-29 01:30:00", STOCKHOLM, "sv-SE", utc(2026, 3, 29, 0, 30, 0)),
        ("2026-03-29 03:30:00", STOCKHOLM, "sv-SE", utc(2026, 3, 29, 1, 30, 0)),
        ("2026-10-25 03:30:00", STOCKHOLM, "sv-SE", utc(2026, 10, 25, 2, 30, 0)),
        # the source's own time zone
        ("2026-03-14 10:22:31", "UTC", "sv-SE", utc(2026, 3, 14, 10, 22, 31)),
        ("2026-03-14 10:22:31", "America/New_York", "sv-SE", utc(2026, 3, 14, 14, 22, 31)),
        # slashed dates: day first in Swedish (and British) sheets, month first in US English ones
        ("14/03/2026 10:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("04/03/2026 10:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 4, 9, 22, 31)),
        ("04/03/2026 10:22:31", STOCKHOLM, "en-GB", utc(2026, 3, 4, 9, 22, 31)),
        ("04/03/2026 10:22:31", STOCKHOLM, None, utc(2026, 3, 4, 9, 22, 31)),
        ("04/03/2026 10:22:31", STOCKHOLM, "en-US", utc(2026, 4, 3, 8, 22, 31)),
        ("04/03/2026 10:22:31", STOCKHOLM, "en_US", utc(2026, 4, 3, 8, 22, 31)),
        ("3/14/2026 10:22:31", STOCKHOLM, "en-US", utc(2026, 3, 14, 9, 22, 31)),
        ("14.03.2026 10:22:31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("14.3.2026 10.22.31", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        # 12-hour clocks: Swedish fm/em, English AM/PM, with or without dots; 12 fm/AM is midnight
        ("2026-03-14 10:22:31 fm", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14 10:22:31 em", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 21, 22, 31)),
        ("2026-03-14 3:22:31 e.m.", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 14, 22, 31)),
        ("2026-03-14 10:22:31 FM", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14 12:05:00 fm", STOCKHOLM, "sv-SE", utc(2026, 3, 13, 23, 5, 0)),
        ("2026-03-14 12:05:00 em", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 11, 5, 0)),
        ("3/14/2026 10:22:31 PM", STOCKHOLM, "en-US", utc(2026, 3, 14, 21, 22, 31)),
        ("3/14/2026 10:22:31 p.m.", STOCKHOLM, "en-US", utc(2026, 3, 14, 21, 22, 31)),
        ("3/14/2026 12:22:31 AM", STOCKHOLM, "en-US", utc(2026, 3, 13, 23, 22, 31)),
        # a trailing zone name wins over the source's zone: Forms' CSV download, English and Swedish
        ("2026/03/14 3:22:31 PM GMT+1", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 14, 22, 31)),
        ("2026/03/14 3:22:31 PM GMT-5", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 20, 22, 31)),
        ("7/14/2026 3:14:07 PM GMT+2", STOCKHOLM, "en-US", utc(2026, 7, 14, 13, 14, 7)),
        ("2026/03/14 3:22:31 em CET", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 14, 22, 31)),
        ("2026/03/14 15:14:07 CET", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 14, 14, 7)),
        ("14/07/2026 15:14:07 CEST", STOCKHOLM, "sv-SE", utc(2026, 7, 14, 13, 14, 7)),
        ("2026-03-14 10:22:31 CEST", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 8, 22, 31)),
        ("2026-03-14 10:22:31 UTC", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 10, 22, 31)),
        ("2026-03-14 10:22:31 UTC+01:00", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("2026-03-14 10:22:31 -05:00", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 15, 22, 31)),
        ("2026-03-14 10:22:31 Europe/London", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 10, 22, 31)),
        ("2026-03-14 10:22:31 Europe/Stockholm", "UTC", "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        # Google Sheets serial numbers (days since 1899-12-30), local time of the source's zone
        ("46095", STOCKHOLM, "sv-SE", utc(2026, 3, 13, 23, 0, 0)),
        ("46095.5", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 11, 0, 0)),
        ("46095,5", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 11, 0, 0)),
        ("46095.43230324074", STOCKHOLM, "sv-SE", utc(2026, 3, 14, 9, 22, 31)),
        ("46217.5", STOCKHOLM, "sv-SE", utc(2026, 7, 14, 10, 0, 0)),
        ("46095.5", "UTC", "sv-SE", utc(2026, 3, 14, 12, 0, 0)),
    ],
)
def test_parse_timestamp(text, tz, locale, expected):
    got = parse_timestamp(text, tz, locale)
    assert got == expected
    assert got.tzinfo == dt.UTC


def test_parse_timestamp_defaults_to_stockholm_and_swedish_dates():
    assert parse_timestamp("04/03/2026 10:22:31") == utc(2026, 3, 4, 9, 22, 31)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("", "sv-SE"),
        ("   ", "sv-SE"),
        ("igår efter lunch", "sv-SE"),
        ("2026-02-30 10:22:31", "sv-SE"),
        ("31/02/2026 10:00:00", "sv-SE"),
        ("2026-13-01 10:00", "sv-SE"),
        ("2026-03-14 25:00", "sv-SE"),
        ("2026-03-14 10:22:31 xyz", "sv-SE"),
        ("2026-03-14 10:22:31 Mars/Olympus", "sv-SE"),
        ("2026-03-14 13:22:31 em", "sv-SE"),  # no 13 o'clock on a 12-hour clock
        ("2026-03-14 0:30:00 AM", "sv-SE"),
        ("3/14/2026 10:22:31", "sv-SE"),  # month 14 when read day first
        ("14/3/2026 15:22:31", "en-US"),  # month 14 when read month first
        ("2026-03", "sv-SE"),
        ("123", "sv-SE"),
        ("1234567", "sv-SE"),
        ("-46095", "sv-SE"),
        ("46095.5.5", "sv-SE"),
    ],
)
def test_parse_timestamp_garbage_is_none(text, locale):
    assert parse_timestamp(text, STOCKHOLM, locale) is None


# infer_locale: the sheet's own slashed dates decide, else the declared locale


@pytest.mark.parametrize(
    ("stamps", "declared", "expected"),
    [
        (["14/03/2026 10:00:00"], "en-US", "sv-SE"),  # a first part above 12: day first
        (["03/14/2026 10:00:00"], "sv-SE", "en-US"),  # a second part above 12: month first
        (["3/4/2026 10:00:00 PM"], "sv-SE", "en-US"),  # an English marker
        (["3/4/2026 10:00:00 p.m."], "sv-SE", "en-US"),
        (["3/4/2026 10:00:00 PM GMT+1"], "sv-SE", "en-US"),
        (["3/4/2026 10:00:00 em"], "en-US", "en-US"),  # a Swedish marker says nothing about the order
        (["3/4/2026 10:00:00"], "sv-SE", "sv-SE"),
        (["3/4/2026 10:00:00"], "en-US", "en-US"),
        (["  14/03/2026 10:00:00 ", "03/04/2026 10:00:00"], "en-US", "sv-SE"),
        (["14/03/2026 10:00:00", "03/14/2026 10:00:00"], "sv-SE", "sv-SE"),  # contradicting: declared
        (["14/03/2026 10:00:00", "03/14/2026 10:00:00"], "en-US", "en-US"),
        (["2026-03-14 10:00:00", "", "igår"], "sv-SE", "sv-SE"),  # no slashed dates
        ([], None, None),
    ],
)
def test_infer_locale(stamps, declared, expected):
    assert infer_locale(stamps, declared) == expected


# parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25", 25.0),
        ("0,5", 0.5),
        ("1234.5", 1234.5),
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),  # no-break space, as Sheets writes thousands in Swedish
        ("1\u202f234", 1234.0),  # narrow no-break space
        ("1 234 567", 1234567.0),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("  7  ", 7.0),
        ("-3", -3.0),
        ("+4", 4.0),
        (".5", 0.5),
        ("5.", 5.0),
        pytest.param(
            "25 %",
            25.0,
        ),
        pytest.param(
            "25%",
            25.0,
        ),
        pytest.param(
            "25 procent",
            25.0,
        ),
        pytest.param(
            "1,5 %",
            1.5,
        ),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "en halv", "12 st", "1,2,3", "1.2.3", "1e3", "nan", "inf", "1_000", "%", "procent", "25 %%"],
)
def test_parse_number_rejects_text(text):
    assert parse_number(text) is None


# parse_yesno


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", "1"),
        (" Ja ", "1"),
        ("JA", "1"),
        ("yes", "1"),
        ("Yes", "1"),
        ("true", "1"),
        ("TRUE", "1"),
        ("sant", "1"),
        ("1", "1"),
        ("nej", "0"),
        ("Nej", "0"),
        ("no", "0"),
        ("false", "0"),
        ("FALSE", "0"),
        ("falskt", "0"),
        ("0", "0"),
        ("kanske", None),
        ("", None),
        ("yes please", None),
    ],
)
def test_parse_yesno(text, expected):
    assert parse_yesno(text) == expected


# clean and key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Olofstro\u0308m", "Olofstr\u00f6m"),  # NFD -> NFC
        ("  Karlskrona\t\n", "Karlskrona"),
        ("\u00a0Ronneby\u00a0", "Ronneby"),
        ("a  b", "a  b"),  # inner white space is the answer's own
        ("a\x00b", "ab"),
        (None, ""),
        ("", ""),
    ],
)
def test_clean(value, expected):
    assert clean(value) == expected


def test_clean_gives_nfc_code_points():
    assert [hex(ord(ch)) for ch in clean("Sa\u0308vsjo\u0308")] == ["0x53", "0xe4", "0x76", "0x73", "0x6a", "0xf6"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Vilken   ORGANISATION\tsvarar du för? ", "vilken organisation svarar du för?"),
        ("Olofstro\u0308m", "olofstr\u00f6m"),
        ("STORT  BEHOV", "stort behov"),
        ("Straße", "strasse"),
    ],
)
def test_key(value, expected):
    assert key(value) == expected


# ChoiceIndex


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("4", "4"),
        (" 4 ", "4"),
        ("Stort behov", "4"),
        ("stort behov", "4"),
        ("STORT  BEHOV", "4"),
        ("Large need", "4"),  # the English label
        ("4 - Stort behov", "4"),  # the form's combined text
        ("4 – Stort behov", "4"),
        ("4. Stort behov", "4"),
        ("4: Stort behov", "4"),
        ("4 - Large need", "4"),
        ("9", "9"),
        ("Vet ej", "9"),
        ("Mycket stort behov", "5"),
        ("6", None),
        ("04", None),
        ("Enormt behov", None),
        ("", None),
    ],
)
def test_choice_index_one(survey, text, code):
    assert ChoiceIndex.build(column(survey, "B01")).one(text) == code


def test_choice_index_municipalities(survey):
    index = ChoiceIndex.build(column(survey, "C01"))
    got = [index.one(t) for t in ("1080", "Karlskrona", "KARLSHAMN", "Sölvesborg", "Hela Blekinge län", "Kalmar")]
    assert got == ["1080", "1080", "1082", "1083", "10", None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Folkhälsa/ANDTS, Våld i nära relationer", [("folkhälsa/andts", "2"), ("våld i nära relationer", "4")]),
        ("Nej, renodlat uppdrag, Folkhälsa/ANDTS", [("nej, renodlat uppdrag", "0"), ("folkhälsa/andts", "2")]),
        ("Folkhälsa/ANDTS;Fiske", [("folkhälsa/andts", "2"), ("fiske", None)]),
        ("3, 6", [("3", "3"), ("6", "6")]),
    ],
)
def test_choice_index_split(survey, text, expected):
    assert ChoiceIndex.build(column(survey, "K05")).split(text) == expected


# map_header


def test_map_header_swedish_titles(survey):
    cols = survey.columns("kommun")
    got = map_header(batch([c.title for c in cols], sector="kommun"), survey)
    assert got.sector == "kommun"
    assert {i: ident(c) for i, c in got.positions.items()} == {i: ident(c) for i, c in enumerate(cols)}
    assert [ident(c) for c in got.columns][:6] == ["timestamp", "email", "ORG", "C01", "C02", "B01"]
    assert len(got.columns) == len(cols) == 37


def test_map_header_english_titles(survey):
    titles = [c.title for c in survey.columns("kommun", lang="en")]
    assert titles[:3] == ["Timestamp", "Email Address", "Which organisation are you answering for?"]
    got = map_header(batch(titles, sector="kommun"), survey)
    assert [ident(c) for c in got.positions.values()] == [ident(c) for c in survey.columns("kommun")]


def test_map_header_titles_compared_without_case_spacing_or_nfd(survey):
    cols = survey.columns("kommun")
    titles = [c.title for c in cols]
    titles[0] = "  TIDSTÄMPEL "
    titles[2] = "vilken   organisation svarar\tdu för?"
    titles[1] = "E-postadress".upper()
    titles[3] = "I vilken eller vilka kommuner verkar ni i denna fra\u030aga?"  # NFD å
    got = map_header(batch(titles, sector="kommun"), survey)
    assert [ident(got.positions[i]) for i in range(4)] == ["timestamp", "email", "ORG", "C01"]


def test_map_header_wave_alias(survey):
    cols = survey.columns("kommun")
    titles = [B04_2026_Q2 if c.question_id == "B04" else c.title for c in cols]
    got = map_header(batch(titles, sector="kommun", wave="2026-Q2"), survey)
    (b04,) = [(i, c) for i, c in got.positions.items() if c.question_id == "B04"]
    assert b04[0] == titles.index(B04_2026_Q2)
    assert b04[1].title == B04_2026_Q2


def test_map_header_order_of_columns_is_free_and_optional_columns_may_be_missing(survey):
    cols = [c for c in survey.columns("kommun") if c.question_id not in ("C04", "K04")]
    titles = [c.title for c in reversed(cols)]
    got = map_header(batch(titles, sector="kommun"), survey)
    assert ident(got.positions[0]) == ident(cols[-1])
    assert {ident(c) for c in got.columns} == {ident(c) for c in cols}
    assert "K04" not in {ident(c) for c in got.columns}


def test_map_header_one_form_for_all_sectors(survey):
    titles = [c.title for c in survey.columns(None)]
    got = map_header(batch(titles), survey)
    assert got.sector is None
    assert [ident(c) for c in got.columns][:5] == ["timestamp", "email", "ORG", "sector", "C01"]
    assert ident(got.positions[titles.index("Vilken sektor tillhör er organisation?")]) == "sector"


def test_map_header_sector_column_in_a_sector_sheet(survey):
    titles = [c.title for c in survey.columns("kommun")] + ["Which sector does your organisation belong to?"]
    got = map_header(batch(titles, sector="kommun"), survey)
    assert ident(got.positions[len(titles) - 1]) == "sector"


def test_map_header_empty_untitled_column_is_skipped(survey):
    titles = [c.title for c in survey.columns("kommun")] + [""]
    rows = [["x"] * (len(titles) - 1) + [" "]]
    got = map_header(batch(titles, rows, sector="kommun"), survey)
    assert len(titles) - 1 not in got.positions


def test_map_header_ignore_columns(survey):
    titles = [c.title for c in survey.columns("kommun")] + ["  POÄNG "]
    with pytest.raises(HeaderError, match='has no column "POÄNG"'):
        map_header(batch(titles, sector="kommun"), survey)
    got = map_header(batch(titles, sector="kommun"), dataclasses.replace(survey, ignore_columns=("Poäng",)))
    assert len(got.positions) == len(titles) - 1


LACKS = " (row 1). Add it, or export the sheet again from the form."


def _without(survey: Survey, qid: str) -> list[str]:
    return [c.title for c in survey.columns("kommun") if ident(c) != qid]


@pytest.mark.parametrize(
    ("titles", "sector", "message"),
    [
        (
            lambda s: [c.title for c in s.columns("kommun")] + ["Favoritfärg"],
            "kommun",
            msg(
                'Survey "blekinge-behov" has no column "Favoritfärg" in kommun.csv (row 1). ',
                "Add it to the wave's columns in blekinge-behov.yaml, or list it under ignore_columns.",
            ),
        ),
        (
            lambda s: _without(s, "B03"),
            "kommun",
            msg(
                'kommun.csv lacks the required column "Behov av stöd: utbildning av det lokala brottsförebyggande ',
                'rådet eller motsvarande forum"',
                LACKS,
            ),
        ),
        (
            lambda s: _without(s, "timestamp"),
            "kommun",
            'kommun.csv lacks the required column "Tidstämpel"' + LACKS,
        ),
        (
            lambda s: _without(s, "ORG"),
            "kommun",
            'kommun.csv lacks the required column "Vilken organisation svarar du för?"' + LACKS,
        ),
        (
            lambda s: [c.title for c in s.columns("kommun")] + ["Vad skulle mest förbättra samverkan med kommunen?"],
            "kommun",
            msg(
                'Column "Vad skulle mest förbättra samverkan med kommunen?" in kommun.csv (row 1) ',
                "belongs to the polis module, not to kommun. ",
                "Ingest the sheet with --sector polis, or remove the column.",
            ),
        ),
        (
            lambda s: [c.title for c in s.columns("kommun")] + ["Which organisation are you answering for?"],
            "kommun",
            msg(
                'Column "Which organisation are you answering for?" in kommun.csv (row 1) ',
                "appears twice (columns 3 and 38). Remove one of them.",
            ),
        ),
        (
            lambda s: [c.title for c in s.columns("kommun") if c.question is None or c.question.sector is None],
            None,
            msg(
                "Cannot tell which sector answered kommun.csv (its header has no question that only one sector is ",
                "asked): ",
                "pass --sector (kommun, polis, myndighet, naringsliv, ideburen), ",
                "name the file after the sector (kommun-2026-Q1.csv), ",
                'or add the column "Vilken sektor tillhör er organisation?".',
            ),
        ),
    ],
    ids=[
        "unknown",
        "missing-required",
        "missing-timestamp",
        "missing-organisation",
        "other-module",
        "twice",
        "no-sector",
    ],
)
def test_map_header_holds_the_batch(survey, titles, sector, message):
    with pytest.raises(HeaderError) as err:
        map_header(batch(titles(survey), sector=sector), survey)
    assert str(err.value) == message


def test_map_header_untitled_column_with_answers(survey):
    titles = [c.title for c in survey.columns("kommun")] + [""]
    rows = [[""] * (len(titles) - 1) + ["svar"]]
    with pytest.raises(HeaderError) as err:
        map_header(batch(titles, rows, sector="kommun"), survey)
    assert str(err.value) == msg(
        "Column 38 has answers but no title in kommun.csv (row 1). ",
        "Give it the question's title from `bfs survey codebook blekinge-behov`.",
    )
