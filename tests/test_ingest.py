"""Every rule for answers, each with its own case, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bfs_pipeline import pipeline, store
from bfs_pipeline.config import Settings
from bfs_pipeline.ingest import IngestResult
from bfs_pipeline.models import Response
from bfs_pipeline.sources import SheetHints
from tests.conftest import good_row


def run(settings: Settings, path: Path, **kw: str) -> IngestResult:
    (res,) = pipeline.ingest_files(settings, file=path, hints=SheetHints(**kw))
    assert res.rows_seen == res.accepted + res.duplicates + res.blank + res.quarantined
    return res


def answers(settings: Settings) -> list[Response]:
    eng = pipeline.open_store(settings)
    with Session(eng) as s:
        rows = list(s.scalars(select(Response).order_by(Response.id)))
        s.expunge_all()
    eng.dispose()
    return rows


def kept(settings: Settings) -> list[dict]:
    eng = pipeline.open_store(settings)
    out = store.quarantine_rows(eng)
    eng.dispose()
    return out


def reasons(settings: Settings) -> dict[int, list[tuple[str, str]]]:
    """Sheet row -> (rule, value) of every reason kept for it, quarantined or set aside."""
    out: dict[int, list[tuple[str, str]]] = {}
    for r in kept(settings):
        out.setdefault(r["sheet_row"], []).extend((x["rule"], x["value"]) for x in r["reasons"])
    return out


def one_bad(
    settings: Settings, sheet, tmp_path: Path, kind: str = "row", **cells: str
) -> tuple[IngestResult, list[tuple[str, str]]]:
    """A sheet with a good row (sheet row 2) and a row with the given cells (sheet row 3).

    kind "row": the row is quarantined (a required answer or the timestamp is wrong); kind "answer": the row is
    accepted and its invalid answer to an optional question set aside.
    """
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", [good_row(), good_row(email="other@example.se", **cells)])
    res = run(settings, path)
    expected = (1, 1, 0) if kind == "row" else (2, 0, len(cells))
    assert (res.accepted, res.quarantined, res.set_aside) == expected, res
    assert {(r["sheet_row"], r["kind"]) for r in kept(settings)} == {(3, kind)}
    return res, reasons(settings)[3]


# What is normalised and accepted


def test_accepts_normalised_forms(settings, sheet, tmp_path):
    rows = [
        good_row(C01="  1080 ", B01="4", B02="Stort behov", B03="4 - Stort behov", B04="  STORT   BEHOV "),
        good_row(email="b@example.se", C01="Karlskrona kommun", K04="0,5", K07="12"),
        good_row(email="c@example.se", C01="Solvesborg", K04="1 234,5".replace("1 234,5", "1,25")),
        good_row(email="d@example.se", C01="sölvesborg, RONNEBY", B01="Stort behov".upper()),
        good_row(email="e@example.se", C01="Hela Blekinge län", ORG="Region Blekinge"),
        good_row(email="f@example.se", ORG="Kommunen i Olofstro\u0308m", C01="Olofstro\u0308m"),  # NFD
    ]
    res = run(settings, sheet().write(tmp_path / "kommun.csv", rows))
    assert (res.accepted, res.quarantined) == (6, 0), reasons(settings)
    got = answers(settings)
    assert got[0].answers["C01"] == ["1080"] and got[0].answers["B01"] == "4" and got[0].answers["B04"] == "4"
    assert got[1].answers["K04"] == 0.5 and got[1].answers["K07"] == 12
    assert got[2].answers["C01"] == ["1083"]
    assert got[3].answers["C01"] == ["1083", "1081"]
    assert got[4].answers["C01"] == ["10"]
    assert got[5].organisation == "Kommunen i Olofström" and got[5].answers["C01"] == ["1060"]


def test_thousands_separator_and_decimal_comma(settings, sheet, tmp_path):
    rows = [
        good_row(ORG="Idrottsföreningen", C01="Ronneby", I03="1 234"),
        good_row(email="x@y.se", ORG="Jouren", I03="12", I04="2,5"),
    ]
    res = run(settings, sheet("ideburen").write(tmp_path / "ideburen.csv", rows))
    assert res.accepted == 2, reasons(settings)
    got = answers(settings)
    assert got[0].answers["I03"] == 1234 and got[1].answers["I04"] == 2.5


@pytest.mark.parametrize(
    ("stamp", "locale", "utc"),
    [
        ("2026-03-14 10:22:31", None, "2026-03-14T09:22:31+00:00"),
        ("2026-03-14T10:22:31Z", None, "2026-03-14T10:22:31+00:00"),
        ("14/03/2026 10:22:31", None, "2026-03-14T09:22:31+00:00"),
        ("3/14/2026 10:22:31", "en-US", "2026-03-14T09:22:31+00:00"),
        ("2026/03/14 3:22:31 PM GMT+1", None, "2026-03-14T14:22:31+00:00"),
        ("2026/03/14 3:22:31 em CET", None, "2026-03-14T14:22:31+00:00"),
        ("2026-07-01 12:00:00 fm", None, "2026-06-30T22:00:00+00:00"),
        ("46095.5", None, "2026-03-14T11:00:00+00:00"),
        ("2026-07-01 10:00:00", None, "2026-07-01T08:00:00+00:00"),
        ("3/14/2026 1:22:31 PM", None, "2026-03-14T12:22:31+00:00"),
        ("2026-03-14 10:22:31 Europe/London", None, "2026-03-14T10:22:31+00:00"),
        ("2026-03-14T10:22:31+01:00", None, "2026-03-14T09:22:31+00:00"),
    ],
)
def test_timestamps_stored_in_utc(settings, sheet, tmp_path, stamp, locale, utc):
    res = run(
        settings,
        sheet().write(tmp_path / "kommun.csv", [good_row(timestamp=stamp)]),
        **({"locale": locale} if locale else {}),
    )
    assert res.accepted == 1, reasons(settings)
    (got,) = answers(settings)
    ts = got.submitted_at
    assert (ts if ts.tzinfo else ts.replace(tzinfo=__import__("datetime").UTC)).isoformat() == utc


def test_wave_from_timestamp_in_stockholm_time(settings, sheet, tmp_path):
    rows = [good_row(timestamp="2026-04-01 00:30:00"), good_row(email="z@z.se", timestamp="2026-03-31 23:30:00")]
    run(settings, sheet().write(tmp_path / "kommun.csv", rows))
    assert sorted(r.wave for r in answers(settings)) == ["2026-Q1", "2026-Q2"]


# What is quarantined, each with its reason


def test_municipality_outside_county(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, C01="Kalmar")
    assert r == [("municipality_outside_county", "Kalmar")]


def test_unknown_municipality(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, C01="Karlskrona, Atlantis")
    assert r == [("unknown_municipality", "Karlskrona, Atlantis")]


def test_ambiguous_municipality(monkeypatch):
    from bfs_pipeline import reference

    real = reference.municipalities()
    twin = dict(real)
    twin["1099"] = reference.Municipality("1099", "Sölvesbörg", "Sölvesbörg kommun", "10", 1)  # folds like Sölvesborg
    monkeypatch.setattr(reference, "municipalities", lambda: twin)
    monkeypatch.setattr(reference, "_exact_index", reference._exact_index.__wrapped__)
    m = reference.match_municipality("Solvesborg", "10")
    assert (m.code, m.rule) == (None, "ambiguous_municipality")
    assert reference.match_municipality("Sölvesborg", "10").code == "1083"  # an exact name still wins


@pytest.mark.parametrize(
    ("text", "county", "code"),
    [
        ("Kalmar", "08", "0880"),
        ("Kalmar län", "08", "08"),
        ("hela Kalmar län", "08", "08"),
        ("Gotland", "09", "0980"),
        ("Blekinge", "10", "10"),
        ("10", "10", "10"),
    ],
)
def test_a_town_named_like_its_county_is_the_town(text, county, code):
    from bfs_pipeline import reference

    assert reference.match_municipality(text, county).code == code


def test_unknown_choice(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, "answer", C02="Praktikant")
    assert r == [("unknown_choice", "Praktikant")]


def test_unknown_checkbox_label(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, "answer", K05="Folkhälsa/ANDTS, Fiske")
    assert r == [("unknown_choice", "Folkhälsa/ANDTS, Fiske")]


def test_checkbox_labels_containing_comma_split_correctly(settings, sheet, tmp_path):
    res = run(
        settings, sheet().write(tmp_path / "kommun.csv", [good_row(K05="Nej, renodlat uppdrag, Folkhälsa/ANDTS")])
    )
    assert res.accepted == 1
    assert answers(settings)[0].answers["K05"] == ["0", "2"]


def test_likert_outside_scale(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, B02="7")
    assert r == [("out_of_scale", "7")]


def test_text_in_numeric_question(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, "answer", K04="en halv")
    assert r == [("not_a_number", "en halv")]


def test_fraction_in_integer_question(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, "answer", K07="2,5")
    assert r == [("not_integer", "2,5")]


def test_number_outside_min_max(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, "answer", K04="51")
    assert r == [("out_of_range", "51")]


def test_required_answer_missing(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, B03="")
    assert r == [("required", "")]


def test_unparseable_timestamp(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, timestamp="igår efter lunch")
    assert r == [("unparseable_timestamp", "igår efter lunch")]


def test_date_order_read_from_the_sheet_itself(settings, sheet, tmp_path):
    """03/04 is 3 April in a sheet that also writes 14/03 (day first), and 4 March in one writing 3/14 (month first)."""
    run(
        settings,
        sheet().write(
            tmp_path / "kommun.csv",
            [good_row(timestamp="14/03/2026 10:00:00"), good_row(email="b@x.se", timestamp="03/04/2026 10:00:00")],
        ),
    )
    run(
        settings,
        sheet("polis").write(
            tmp_path / "polis.csv",
            [good_row(timestamp="3/14/2026 10:00:00"), good_row(email="c@x.se", timestamp="03/04/2026 10:00:00")],
        ),
    )
    got = {(r.sector, r.submitted_at.month, r.submitted_at.day) for r in answers(settings)}
    assert got == {("kommun", 3, 14), ("kommun", 4, 3), ("polis", 3, 14), ("polis", 3, 4)}


def test_ambiguous_slashed_dates_follow_the_declared_locale(settings, sheet, tmp_path):
    run(settings, sheet().write(tmp_path / "kommun.csv", [good_row(timestamp="03/04/2026 10:00:00")]), locale="en-US")
    assert [(r.submitted_at.month, r.submitted_at.day) for r in answers(settings)] == [(3, 4)]


def test_impossible_date_is_quarantined(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, timestamp="2026-02-30 10:22:31")
    assert r == [("unparseable_timestamp", "2026-02-30 10:22:31")]


def test_every_failing_cell_named(settings, sheet, tmp_path):
    _, r = one_bad(settings, sheet, tmp_path, C01="Kalmar", B01="0", K07="x")
    assert [rule for rule, _ in r] == ["municipality_outside_county", "out_of_scale", "not_a_number"]


def test_yes_no_answers():
    from bfs_pipeline.normalize import parse_yesno

    assert [parse_yesno(v) for v in ("Ja", " nej", "YES", "no", "true", "False", "kanske")] == [
        "1",
        "0",
        "1",
        "0",
        "1",
        "0",
        None,
    ]


def test_quarantined_row_keeps_raw_values(settings, sheet, tmp_path):
    one_bad(settings, sheet, tmp_path, C01="Kalmar")
    eng = pipeline.open_store(settings)
    (row,) = store.quarantine_rows(eng)
    eng.dispose()
    assert row["raw"]["I vilken eller vilka kommuner verkar ni i denna fråga?"] == "Kalmar"
    assert row["reasons"][0]["column"] == "I vilken eller vilka kommuner verkar ni i denna fråga?"
    assert row["reasons"][0]["message"]


# Header problems hold the whole batch


def test_unknown_column_holds_batch(settings, sheet, tmp_path):
    path = sheet(extra_titles=["Kommentar"]).write(tmp_path / "kommun.csv", [good_row(), good_row(email="x@x.se")])
    held = run(settings, path)
    assert held.status == "held" and re.search('no column "Kommentar"', held.error or ""), held
    assert answers(settings) == []
    eng = pipeline.open_store(settings)
    st = store.status(eng)
    eng.dispose()
    assert st.last_runs[0]["status"] == "held" and st.last_runs[0]["quarantined"] == 2 and st.responses == 0


def test_missing_required_column_holds_batch(settings, sheet, tmp_path):
    path = sheet(drop={"B05"}).write(tmp_path / "kommun.csv", [good_row()])
    held = run(settings, path)
    assert held.status == "held" and re.search("lacks the required column", held.error or ""), held
    assert answers(settings) == []


def test_module_column_of_another_sector_holds_batch(settings, sheet, tmp_path):
    path = sheet(extra_titles=["Jag har tillräckligt med tid för det brottsförebyggande uppdraget."]).write(
        tmp_path / "kommun.csv", [good_row()]
    )
    held = run(settings, path)
    assert held.status == "held" and re.search("belongs to the polis module", held.error or ""), held


def test_sector_unknown_is_an_error(settings, survey, sheet, tmp_path):
    """Neither hint, file name, sector column nor a module question says the sector: the sheet is held."""
    module = {q.id for q in survey.modules["kommun"]}
    path = sheet(drop=module).write(tmp_path / "answers.csv", [good_row()])
    held = run(settings, path)
    assert held.status == "held" and re.search("Cannot tell which sector", held.error or ""), held
    assert run(settings, path, sector="kommun").accepted == 1


def test_one_form_for_all_sectors(settings, sheet, tmp_path):
    rows = [
        good_row(sector="Kommun"),
        good_row(email="p@polisen.se", ORG="Polisen LPO Karlskrona", sector="polis", P01="40"),
        good_row(email="q@x.se", sector="Bageri"),
    ]
    res = run(settings, sheet(None).write(tmp_path / "alla.csv", rows))
    assert (res.accepted, res.quarantined) == (2, 1)
    assert sorted(r.sector for r in answers(settings)) == ["kommun", "polis"]
    assert reasons(settings)[4] == [("unknown_sector", "Bageri")]


def test_renamed_title_of_a_later_wave_maps_to_same_id(settings, sheet, tmp_path):
    s = sheet(wave="2026-Q2")
    assert "Behov av stöd: omvärldsbevakning (trender, forskning och nya lagar)" in [t for _, t in s.titles()]
    res = run(settings, s.write(tmp_path / "kommun-2026-Q2.csv", [good_row(timestamp="2026-05-02 09:00", B04="5")]))
    assert res.accepted == 1 and answers(settings)[0].answers["B04"] == "5"


# Duplicates, blanks, resubmissions, idempotency


def test_blank_rows_counted_not_stored(settings, sheet, tmp_path):
    res = run(settings, sheet().write(tmp_path / "kommun.csv", [good_row(), {}, {"timestamp": "2026-03-14 10:00"}]))
    assert (res.rows_seen, res.accepted, res.blank, res.quarantined) == (3, 1, 2, 0)


def test_identical_row_is_duplicate(settings, sheet, tmp_path):
    res = run(settings, sheet().write(tmp_path / "kommun.csv", [good_row(), good_row()]))
    assert (res.accepted, res.duplicates) == (1, 1)


def test_reingesting_stores_nothing_new(settings, sheet, tmp_path):
    path = sheet().write(
        tmp_path / "kommun.csv",
        [good_row(), good_row(email="x@x.se", B01="1"), good_row(email="y@x.se", C01="Kalmar"), {}],
    )
    first = run(settings, path)
    second = run(settings, path)
    assert (first.accepted, first.quarantined, first.blank) == (2, 1, 1)
    assert (second.accepted, second.duplicates, second.quarantined, second.blank) == (0, 2, 1, 1)
    assert len(answers(settings)) == 2


def test_resubmission_newest_counts_history_kept(settings, sheet, tmp_path):
    path = sheet().write(tmp_path / "kommun.csv", [good_row(timestamp="2026-03-10 10:00", B01="1")])
    run(settings, path)
    path2 = sheet().write(
        tmp_path / "kommun-2.csv",
        [good_row(timestamp="2026-03-12 10:00", B01="5"), good_row(timestamp="2026-03-01 10:00", B01="3")],
    )
    run(settings, path2)
    got = answers(settings)
    assert len(got) == 3
    current = [r for r in got if r.is_current]
    assert [r.answers["B01"] for r in current] == ["5"]
    eng = pipeline.open_store(settings)
    assert store.status(eng).responses == 1
    eng.dispose()


def test_without_email_same_organisation_and_sector_is_same_respondent(settings, sheet, tmp_path):
    rows = [
        good_row(email="", timestamp="2026-03-10 10:00", B01="1"),
        good_row(email="", ORG=" karlskrona KOMMUN ", timestamp="2026-03-11 10:00", B01="2"),
    ]
    run(settings, sheet().write(tmp_path / "kommun.csv", rows))
    assert [r.answers["B01"] for r in answers(settings) if r.is_current] == ["2"]


def test_email_stored_only_as_keyed_hash(settings, sheet, tmp_path, db_url):
    run(settings, sheet().write(tmp_path / "kommun.csv", [good_row(email="Person.Namn@Kommun.se")]))
    (got,) = answers(settings)
    assert got.email_hash and len(got.email_hash) == 64
    eng = pipeline.open_store(settings)
    with eng.connect() as c:
        dump = " ".join(str(v) for row in c.execute(text("select * from responses")) for v in row)
    eng.dispose()
    assert "namn@kommun.se" not in dump.lower()


def test_nul_and_nfd_normalised(settings, sheet, tmp_path):
    run(settings, sheet().write(tmp_path / "kommun.csv", [good_row(C05="Mer\x00 stöd fo\u0308r ra\u030adet")]))
    assert answers(settings)[0].answers["C05"] == "Mer stöd för rådet"


def test_xlsx_sheet(settings, survey, tmp_path):
    import openpyxl

    cols = survey.columns("kommun")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([c.title for c in cols])
    row = good_row()
    ws.append([row.get(c.question_id or c.type, "") for c in cols])
    wb.save(tmp_path / "kommun-2026-Q1.xlsx")
    res = run(settings, tmp_path / "kommun-2026-Q1.xlsx")
    assert res.accepted == 1 and res.wave == "2026-Q1"


def test_integers_beyond_64_bits_are_stored_and_hashed(engine):
    """orjson refuses integers beyond 64 bits; the JSON columns and the answer hash fall back to json for them."""
    import datetime as dt

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bfs_pipeline.ingest import answer_hash
    from bfs_pipeline.models import IngestRun, QuarantinedRow

    ts = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    big = answer_hash("s", "kommun", "2026-Q1", ts, None, {"K01": 10**20})
    assert big != answer_hash("s", "kommun", "2026-Q1", ts, None, {"K01": 10**20 + 1}) and len(big) == 64
    with Session(engine) as s, s.begin():
        run = IngestRun(source="x", survey_id="s", status="ok", rows_seen=1)
        s.add(run)
        s.flush()
        s.add(QuarantinedRow(run_id=run.id, source="x", sheet_row=2, raw={"K01": 10**20}, reasons=[]))
    with Session(engine) as s:
        assert s.scalar(select(QuarantinedRow.raw)) == {"K01": 10**20}


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\r\n1,2,3\r\n",
        'a,b,c\n"x, y","two\nlines",3\n\n4,,\n',
        "a;b;c\n1;2\n;;\n",
        "a,b,c\n1,2,3,4\n",  # wider than the header: the csv module reads it
        'a,b\n"no end quote,2\n',
        "a,b\n 1 , 2 \n\n\n",
        "\ufeffa,b\n1,2",
        'a,b\n"He said ""hi""",x\n',
        "a,b\r\n\r\n1,2\r\n\r\n",
    ],
)
def test_csv_reader_reads_as_the_csv_module(tmp_path, text):
    """The fast reader (pandas' C parser) gives the csv module's rows, short rows padded to the header."""
    import csv
    import io

    from bfs_pipeline.sources import read_csv

    path = tmp_path / "s.csv"
    path.write_bytes(text.encode("utf-8"))
    header, rows, numbers = read_csv(path)
    plain = text.removeprefix("\ufeff")
    delimiter = ";" if plain.count(";") > plain.count(",") else ","
    expected = list(csv.reader(io.StringIO(plain, newline=""), delimiter=delimiter))
    assert header == expected[0] and numbers == list(range(2, len(expected) + 1))

    def padded(rs: list[list[str]]) -> list[list[str]]:
        return [r + [""] * (len(header) - len(r)) for r in rs]

    assert padded(rows) == padded(expected[1:])


def test_a_long_sheet_is_read_and_stored_a_chunk_at_a_time(settings, sheet, tmp_path, monkeypatch):
    """Chunks of 3 rows: the same verdicts as one pass.

    Rows from every chunk are stored, a resubmission across chunks is settled, and the sheet rows are right.
    """
    from bfs_pipeline import ingest
    from bfs_pipeline.sources import base, files

    monkeypatch.setattr(ingest, "CHUNK_ROWS", 3)
    monkeypatch.setattr(base, "CHUNK_ROWS", 3)
    read: list[int] = []
    real_chunks = files.CsvStream.chunks

    def counted(self, size=base.CHUNK_ROWS):
        for rows, numbers in real_chunks(self, size):
            read.append(len(rows))
            yield rows, numbers

    monkeypatch.setattr(files.CsvStream, "chunks", counted)
    rows = [good_row(email=f"r{i}@x.se", timestamp=f"2026-03-{i + 1:02d} 10:00") for i in range(7)]
    rows[4] = good_row(
        email="r0@x.se", timestamp="2026-03-20 10:00", B01="5"
    )  # r0 again, two chunks later: this one counts
    rows[5] = {"timestamp": "2026-03-21 10:00"}  # blank
    rows[6] = good_row(email="r6@x.se", B01="7")  # off the scale: quarantined, sheet row 8
    path = sheet().write(tmp_path / "kommun-2026-Q1.csv", rows)
    progress: list[int] = []
    (res,) = pipeline.ingest_files(settings, file=path, on_chunk=lambda r: progress.append(r.rows_seen))
    assert (res.rows_seen, res.accepted, res.blank, res.quarantined) == (7, 5, 1, 1)
    assert progress == [3, 6, 7]  # counts so far, after each chunk
    assert 3 in read and max(read) <= 3  # never more than a chunk in memory (the first one holds the header too)
    assert list(reasons(settings)) == [8]
    current = {r.email_hash: r for r in answers(settings) if r.is_current}
    assert len(current) == 4 and sorted(r.sheet_row for r in current.values()) == [3, 4, 5, 6]


def test_csv_module_takes_over_where_a_row_is_wider_than_the_header(tmp_path):
    """pandas reads the first chunks; from the chunk with a too-wide row on, the csv module.

    No row is lost or repeated on the way.
    """
    import csv

    from bfs_pipeline.sources import csv_stream

    lines = ["a,b,c"] + [f"{i},x,y" for i in range(1, 5)] + ["5,x,y,EXTRA"] + [f"{i},x" for i in range(6, 9)]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    stream = csv_stream(path)
    chunks = list(stream.chunks(2))
    rows = [r for c, _ in chunks for r in c]
    numbers = [n for _, ns in chunks for n in ns]
    expected = list(csv.reader(lines[1:]))
    assert stream.header() == ["a", "b", "c"] and numbers == list(range(2, 10))
    assert [len(c) for c, _ in chunks] == [2, 2, 2, 2]  # the header is not a row of the first chunk
    assert stream.column(0) == [r[0] for r in rows] and stream.column(2) == [r[2] if len(r) > 2 else "" for r in rows]
    assert (
        [r[:3] for r in rows[:4]] == expected[:4]
        and rows[4] == ["5", "x", "y", "EXTRA"]
        and [r[:2] for r in rows[5:]] == [e[:2] for e in expected[5:]]
    )
