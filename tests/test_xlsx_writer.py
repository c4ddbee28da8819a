"""The XLSX writer behind `export.write_workbook`, read back as Excel users get it: openpyxl (not in write-only mode)
and pandas, and the package's parts checked as XML and against the SpreadsheetML schema's order."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from bfs_pipeline import export
from bfs_pipeline.errors import ReportError
from bfs_pipeline.export import Column, Sheet
from bfs_pipeline.export import NumberFormat as F

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NAN = float("nan")
LONG_HEADER = "Förändring mot samma kvartal förra året (procentenheter)"
SYMBOLS = [
    ("–", "Dolt av integritetsskäl: färre än 5 svarande, eller dolt för att en annan dold cell inte ska kunna "
     "räknas fram ur länets siffror."),
    ("(tom cell)", "Inget att visa."),
    ("=x", "+formel <&>"),
]  # fmt: skip


def table() -> Sheet:
    """Every number format, and the values a report holds, with the awkward ones among them."""
    columns = [
        Column("Kvartal"),
        Column("Kommunkod", F.TEXT),
        Column("Antal svarande (n)", F.INTEGER),
        Column("Medelvärde (1–5)", F.ONE_DECIMAL),
        Column("Årsarbetskrafter per 10 000 invånare", F.TWO_DECIMALS),
        Column("Andel som svarat 4–5", F.PERCENT),
        Column(LONG_HEADER, F.POINTS),
    ]
    rows: list[list[Any]] = [
        ["2026-Q3", "0114", 12, 3.25, 0.38, 0.5, 3],
        ["=SUM(A1)", "-1", -3, 2.0, 1, 0.1 + 0.2, -7],
        ["+plus", "@at", 0, NAN, None, float("inf"), 0],
        [" lead and trail ", "åäö ÅÄÖ", 123456789, 1e-5, 12.345, 0.9999, None],
        ["<&> \"q\" 'a'", "", None, None, None, None, None],
        ["\ttab first", "line\nbreak", "–", "–", "text in a number column", "–", "cr\rx"],
        [True, False, 10**12, -0.5, 7.0, 0.0, 42],
        ["ctrl\x01x\x1f", "_x0041_", 5, 5, 5, 5, 5],
    ]
    return Sheet("Behov: [per] kommun/län", columns, rows)


def sheets() -> list[Sheet]:
    empty = Sheet("Tom", [Column("Ingen rad alls här"), Column("Andel", F.PERCENT)], [])
    words = Sheet("Ord", [Column("Ettmycketlångtordutanmellanslag"), Column("x y z " * 20)], [["a" * 70, "b"]])
    return [table(), empty, words]


def write(**kwargs: Any) -> bytes:
    args: dict[str, Any] = {
        "sheets": sheets(),
        "symbols": SYMBOLS,
        "title": "=Behovsrapport <Blekinge> & län",
        "symbols_sheet": "Teckenförklaring",
        "symbols_header": ("Tecken", "Betydelse"),
    }
    return export.write_workbook(**(args | kwargs))


def opened(xlsx: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(xlsx))


def test_cells_read_back_with_their_types_formats_and_neutralised_text():
    ws = opened(write())["Behov   per  kommun län"]
    got = [[(c.value, c.data_type, c.number_format) for c in row] for row in ws.iter_rows(min_row=2)]
    s, n, b = "s", "n", "b"
    assert got[0] == [
        ("2026-Q3", s, "General"),
        ("0114", s, "@"),  # a code stays text, its leading zero kept
        (12, n, "0"),
        (3.25, n, "0.0"),
        (0.38, n, "0.00"),
        (0.5, n, "0%"),
        (3, n, "+0;-0;0"),
    ]
    assert got[1] == [
        ("'=SUM(A1)", s, "General"),  # neutralised: never a formula
        ("'-1", s, "@"),
        (-3, n, "0"),
        (2, n, "0.0"),  # a whole float reads back as a whole number, as openpyxl wrote it
        (1, n, "0.00"),
        (0.1 + 0.2, n, "0%"),  # exact: repr, every digit
        (-7, n, "+0;-0;0"),
    ]
    assert [v for v, _, _ in got[2]] == ["'+plus", "'@at", 0, None, None, None, 0]  # NaN and inf: empty cells
    assert ws["D4"].data_type == "n" and ws["D4"].value is None
    assert [v for v, _, _ in got[3]] == [" lead and trail ", "åäö ÅÄÖ", 123456789, 1e-5, 12.345, 0.9999, None]
    assert [v for v, _, _ in got[4]] == ["<&> \"q\" 'a'", None, None, None, None, None, None]
    assert ws["B6"].number_format == "@"  # an empty text in a TEXT column: no value, the format kept
    assert [v for v, _, _ in got[5]] == [
        "'\ttab first",
        "line\nbreak",
        "–",
        "–",
        "text in a number column",
        "–",
        "cr\rx",
    ]
    assert [t for _, t, _ in got[5]] == [s] * 7
    assert got[5][2][2] == "General"  # text in a number column has no number format
    assert got[6][:2] == [(True, b, "General"), (False, b, "General")]
    assert got[6][2:] == [(10**12, n, "0"), (-0.5, n, "0.0"), (7, n, "0.00"), (0, n, "0%"), (42, n, "+0;-0;0")]
    assert got[7][:2] == [("ctrlx", s, "General"), ("_x0041_", s, "@")]  # control characters removed
    for c in ws[1]:
        assert c.font.b and c.alignment.wrap_text and c.alignment.vertical == "top", c.coordinate
    for row in ws.iter_rows(min_row=2):
        assert not any(c.font.b or c.alignment.wrap_text for c in row)


def test_layout_widths_heights_frozen_header_filter_and_printing():
    wb = opened(write())
    assert wb.sheetnames == ["Behov   per  kommun län", "Tom", "Ord", "Teckenförklaring"]
    for sheet, ws in zip(sheets(), wb.worksheets, strict=False):
        last = get_column_letter(len(sheet.columns))
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{last}{len(sheet.rows) + 1}"
        assert ws.print_title_rows == "$1:$1"  # printed on every page; openpyxl reads 1:1 so
        assert ws.page_setup.orientation == "landscape"
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        lines = 1
        for i, column in enumerate(sheet.columns):
            dim = ws.column_dimensions[get_column_letter(i + 1)]
            assert dim.customWidth and dim.width == export.column_width(column, [r[i] for r in sheet.rows])
            lines = max(lines, export.wrapped_lines(column.header, int((dim.width - 2) / export.BOLD)))
        assert ws.row_dimensions[1].height == export.LINE_HEIGHT * lines
    needs = wb.worksheets[0]
    assert needs.row_dimensions[1].height > export.LINE_HEIGHT  # the long header wraps onto more lines
    assert wb["Ord"].column_dimensions["A"].width == export.MAX_WIDTH + 2
    assert [c.value for c in wb["Tom"][1]] == ["Ingen rad alls här", "Andel"] and wb["Tom"].max_row == 1


def test_the_symbols_sheet_with_and_without_its_header():
    key = opened(write()).worksheets[-1]
    assert key.title == "Teckenförklaring" and key.freeze_panes is None and key.auto_filter.ref is None
    assert key["A1"].value == "'=Behovsrapport <Blekinge> & län" and key["A1"].font.b
    assert [(c.value, c.font.b) for c in key[2]] == [("Tecken", True), ("Betydelse", True)]
    rows = list(key.iter_rows(min_row=3))
    assert [(a.value, b.value) for a, b in rows] == [
        ("–", SYMBOLS[0][1]),
        ("(tom cell)", "Inget att visa."),
        ("'=x", "'+formel <&>"),
    ]
    for a, b in rows:
        assert a.alignment.wrap_text and b.alignment.wrap_text and b.alignment.vertical == "top" and not b.font.b
        assert key.row_dimensions[b.row].height == export.LINE_HEIGHT * export.wrapped_lines(b.value, export.KEY_WIDTH)
    assert key.row_dimensions[3].height == 2 * export.LINE_HEIGHT
    assert key.column_dimensions["A"].width == export.MIN_WIDTH + 2 + 2  # "(tom cell)": 10 characters
    assert key.column_dimensions["B"].width == export.KEY_WIDTH + 2
    assert (key.page_setup.fitToWidth, key.page_setup.fitToHeight) == (1, 0) and key.page_setup.orientation is None

    bare = opened(write(symbols_header=None)).worksheets[-1]
    assert [[c.value for c in row] for row in bare.iter_rows()] == [
        ["'=Behovsrapport <Blekinge> & län", None],
        *[[s, m] for s, m in [("–", SYMBOLS[0][1]), ("(tom cell)", "Inget att visa."), ("'=x", "'+formel <&>")]],
    ]
    assert bare.row_dimensions[2].height == 2 * export.LINE_HEIGHT and not bare["A2"].font.b


def test_pandas_reads_the_same_tables():
    frames = pd.read_excel(io.BytesIO(write()), sheet_name=None, engine="openpyxl")
    assert list(frames) == ["Behov   per  kommun län", "Tom", "Ord", "Teckenförklaring"]
    needs = frames["Behov   per  kommun län"]
    assert list(needs.columns) == [c.header for c in table().columns]
    assert needs["Kommunkod"].tolist()[:4] == ["0114", "'-1", "'@at", "åäö ÅÄÖ"]
    assert needs["Antal svarande (n)"].tolist()[:4] == [12, -3, 0, 123456789]
    assert math.isnan(needs["Medelvärde (1–5)"][2]) and needs["Andel som svarat 4–5"][0] == 0.5
    assert frames["Tom"].empty and list(frames["Tom"].columns) == ["Ingen rad alls här", "Andel"]


def test_every_part_is_well_formed_xml_in_the_schemas_order():
    with zipfile.ZipFile(io.BytesIO(write())) as z:
        names = z.namelist()
        parts = {n: z.read(n) for n in names}
    assert names[0] == "[Content_Types].xml"
    trees = {n: ET.fromstring(data) for n, data in parts.items()}  # raises on a part that is not well-formed
    declared = {o.get("PartName") for o in trees["[Content_Types].xml"]} - {None}
    assert declared == {"/" + n for n in names if not n.endswith(".rels") and n != "[Content_Types].xml"}
    for rels, base in (("_rels/.rels", ""), ("xl/_rels/workbook.xml.rels", "xl/")):
        targets = {base + r.get("Target", "") for r in trees[rels]}
        assert targets <= set(names), targets - set(names)
    order = [
        "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
        "autoFilter", "printOptions", "pageMargins", "pageSetup",
    ]  # fmt: skip
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/"))
    assert len(sheets) == 4
    for n in sheets:
        tags = [child.tag.removeprefix(MAIN) for child in trees[n]]
        assert tags == sorted(tags, key=order.index), (n, tags)
        refs = [c.get("r") for c in trees[n].iter(f"{MAIN}c")]
        assert all(re.fullmatch(r"[A-Z]+[1-9]\d*", r or "") for r in refs), n
    first = trees["xl/worksheets/sheet1.xml"]
    pane = first.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane")
    assert pane is not None and pane.attrib == {
        "ySplit": "1",
        "topLeftCell": "A2",
        "activePane": "bottomLeft",
        "state": "frozen",
    }
    workbook = trees["xl/workbook.xml"]
    defined = [
        (d.get("name"), d.get("localSheetId"), d.get("hidden"), d.text) for d in workbook.iter(f"{MAIN}definedName")
    ]
    assert ("_xlnm._FilterDatabase", "0", "1", "'Behov   per  kommun län'!$A$1:$G$9") in defined
    assert ("_xlnm.Print_Titles", "2", None, "'Ord'!$1:$1") in defined
    assert not [d for d in defined if d[1] == "3"]  # none for the symbols sheet
    space = "{http://www.w3.org/XML/1998/namespace}space"
    texts = {t.text: t.get(space) for t in trees["xl/sharedStrings.xml"].iter(f"{MAIN}t")}
    assert texts[" lead and trail "] == "preserve" and texts["0114"] is None  # Excel keeps the spaces only so
    formats = {f.get("formatCode"): int(f.get("numFmtId", "0")) for f in trees["xl/styles.xml"].iter(f"{MAIN}numFmt")}
    assert set(formats) == {"0.0", "+0;-0;0"} and min(formats.values()) >= 164
    used = {int(x.get("numFmtId", "0")) for x in trees["xl/styles.xml"].find(f"{MAIN}cellXfs") or []}
    assert {0, 1, 2, 9, 49} <= used  # General, "0", "0.00", "0%", "@": Excel's built-in ids


def test_output_is_the_same_byte_for_byte_given_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    first, second = write(), write()
    assert first == second
    props = opened(first).properties
    assert props.created == props.modified == dt.datetime(2026, 9, 21, 14, 13, 20)
    assert props.creator == "bfs-pipeline"


def test_refusals_name_what_is_wrong():
    with pytest.raises(ReportError, match="two columns with the same name"):
        export.write_workbook([Sheet("T", [Column("A"), Column("A")], [[1, 2]])], [], "t", "K")
    with pytest.raises(ReportError, match="same name"):
        export.write_workbook([Sheet("K", [Column("A")], [])], [], "t", "K")
    with pytest.raises(ReportError, match="same name"):  # Excel tells sheet names apart without case
        export.write_workbook([Sheet("Kort", [Column("A")], []), Sheet("KORT", [Column("A")], [])], [], "t", "K")
    with pytest.raises(TypeError, match=r"Sheet 'T', row 2, column 'När'.*datetime"):
        export.write_workbook([Sheet("T", [Column("När")], [[dt.datetime(2026, 1, 1)]])], [], "t", "K")
    with pytest.raises(ValueError):  # a row longer than the columns
        export.write_workbook([Sheet("T", [Column("A")], [[1, 2]])], [], "t", "K")


def test_a_long_text_is_cut_to_excels_limit_and_numbers_of_other_kinds_are_numbers():
    class Level(int):
        pass

    long = "å" * (export.MAX_CELL_TEXT + 10)
    sheet = Sheet("T", [Column("Text"), Column("n", F.INTEGER)], [[long, Level(4)]])
    ws = opened(export.write_workbook([sheet], [], "t", "K"))["T"]
    assert ws["A2"].value == "å" * export.MAX_CELL_TEXT
    assert (ws["B2"].value, ws["B2"].number_format) == (4, "0")


def test_long_texts_wrap_in_their_column_and_their_rows_are_tall_enough():
    message = "Bestående skillnad i behov: i Ronneby är 53 % av behovssvaren 4–5 mot länets median 27 %. " * 2
    columns = [Column("Slag"), Column("Varning"), Column("n", F.INTEGER)]
    sheet = Sheet("Varningar", columns, [["standing_gap", message, 6], ["silence", "Kort.", 7]])
    ws = openpyxl.load_workbook(io.BytesIO(export.write_workbook([sheet], SYMBOLS, "t", "Tecken")))["Varningar"]
    width = ws.column_dimensions["B"].width
    assert width == export.MAX_WIDTH + 2  # capped: the text cannot fit on one line
    long_cell, kind = ws["B2"], ws["A2"]
    assert long_cell.alignment.wrap_text and long_cell.alignment.vertical == "top"
    assert kind.alignment.vertical == "top" and not kind.alignment.wrap_text  # the row's other texts beside it
    lines = export.wrapped_lines(message, int(width) - 2)
    assert lines >= 3 and ws.row_dimensions[2].height == export.LINE_HEIGHT * lines
    assert ws.row_dimensions[3].height is None  # a short text keeps the default height
    assert ws["C2"].number_format == "0" and ws["C2"].value == 6

    # Control: no text longer than the widest column, nothing wraps and no row is set.
    short = Sheet("Varningar", columns, [["silence", "Kort.", 7]])
    ws = openpyxl.load_workbook(io.BytesIO(export.write_workbook([short], SYMBOLS, "t", "Tecken")))["Varningar"]
    assert not ws["B2"].alignment.wrap_text and ws["B2"].alignment.vertical is None
    assert ws.row_dimensions[2].height is None
