"""The report's XLSX attachment: the full tables, one sheet each, suppressed cells marked, text neutralised.

`write_workbook` takes typed sheets (`Sheet` of `Column`s, each with its Excel number format) and writes the XLSX
itself: SpreadsheetML parts built as strings and zipped, with a bold wrapped header row that stays in view, an
autofilter and column widths fitted to the contents, then a sheet explaining the symbols. (openpyxl's per-cell
machinery took about 3 s for a national report; the direct writer well under half a second.) `workbook`, the
archive export's untyped sheets, still uses openpyxl's streaming mode.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from numbers import Integral, Real
from typing import Any

from bfs_pipeline.errors import ReportError

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")
FORBIDDEN_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})
MIN_WIDTH = 8
MAX_WIDTH = 60
HEADER_WIDTH = 16  # a header longer than its column's contents wraps at about this many characters
LINE_HEIGHT = 15  # points per header line
KEY_WIDTH = 80  # the key to symbols: its meanings wrap at this many characters
BOLD = 1.2  # a bold header character's width in body characters, about
MAX_CELL_TEXT = 32_767  # Excel keeps at most this many characters in a cell; longer text is cut, as openpyxl did


class NumberFormat(StrEnum):
    """Excel number formats: the cell holds the number, the format says how Excel shows it."""

    GENERAL = "General"
    TEXT = "@"  # codes such as "0114": text, so Excel keeps the leading zero
    INTEGER = "0"
    ONE_DECIMAL = "0.0"
    TWO_DECIMALS = "0.00"
    PERCENT = "0%"  # a share stored as 0..1
    POINTS = "+0;-0;0"  # a change in whole percentage points, stored as a whole number


@dataclass(frozen=True)
class Column:
    header: str
    number_format: NumberFormat = NumberFormat.GENERAL


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: list[Column]
    rows: list[list[Any]]


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass as they are."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def sheet_name(name: str) -> str:
    """A name Excel accepts: at most 31 characters, none of []:*?/\\."""
    return name.translate(FORBIDDEN_IN_SHEET_NAMES).strip()[:31]


def shown(value: Any, number_format: NumberFormat) -> str:
    """About what Excel shows for a value, to size its column."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if number_format is NumberFormat.PERCENT:
        return f"{value * 100:.0f} %"
    if number_format is NumberFormat.ONE_DECIMAL:
        return f"{value:.1f}"
    if number_format is NumberFormat.TWO_DECIMALS:
        return f"{value:.2f}"
    if number_format in (NumberFormat.INTEGER, NumberFormat.POINTS):
        return f"{value:+.0f}" if number_format is NumberFormat.POINTS else f"{value:.0f}"
    return str(value)


def wrapped_lines(text: str, width: int) -> int:
    """How many lines a text takes when wrapped at word boundaries to `width` characters."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def column_width(column: Column, values: list[Any]) -> int:
    """Wide enough for the longest value, and for the header's longest word; long headers wrap instead.

    The header is bold, about a fifth wider than the same characters in the body.
    """
    content = 0
    for v in values:  # as max(len(shown(v))), faster: a text is shown as it is, only numbers need `shown`
        n = len(v) if type(v) is str else 0 if v is None else len(shown(v, column.number_format))
        if n > content:
            content = n
    longest_word = max((len(w) for w in column.header.split()), default=0)
    header = math.ceil(min(len(column.header), max(HEADER_WIDTH, longest_word)) * BOLD)
    return min(max(content, header, MIN_WIDTH), MAX_WIDTH) + 2


# --- The XLSX writer: SpreadsheetML (ECMA-376) parts as strings, in a zip ----------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CREATOR = "bfs-pipeline"  # docProps/core.xml's creator
COMPRESSION = 6  # zlib's level for the parts (its default): 60 ms slower than level 1 at national scale, 25 % smaller
BUILT_IN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "0%": 9, "@": 49}  # Excel's own ids; others get 164 and up
CUSTOM_FORMATS = [f for f in NumberFormat if f.value not in BUILT_IN_FORMATS]
FORMAT_IDS = {
    f: BUILT_IN_FORMATS[f.value] if f.value in BUILT_IN_FORMATS else 164 + CUSTOM_FORMATS.index(f) for f in NumberFormat
}
# cellXfs: 0 plain, 1 a table's header, 2 bold, 3 wrapped (the symbols' rows, long texts), 4 top-aligned, then one
# per number format but General
HEAD_STYLE, BOLD_STYLE, WRAP_STYLE, TOP_STYLE = 1, 2, 3, 4  # TOP: beside wrapped texts, the row's other texts
FORMAT_STYLES: dict[NumberFormat, int] = {
    f: 5 + i for i, f in enumerate(f for f in NumberFormat if f is not NumberFormat.GENERAL)
}

# Characters XML 1.0 does not allow (and lone surrogates, which UTF-8 cannot carry): removed from every text.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What a text needs done to it: escaping, removing, or Excel's own escape "_xHHHH_" kept literal ("_x005F_" first).
NEEDS_WORK = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
EXCEL_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def xml_text(text: str) -> str:
    """A cell's text as element content: illegal characters removed, cut to Excel's length, escaped."""
    if NEEDS_WORK.search(text) is None:
        return text[:MAX_CELL_TEXT]
    text = ILLEGAL_XML.sub("", text)[:MAX_CELL_TEXT]
    return EXCEL_ESCAPE.sub("_x005F_", text.translate(TEXT_ESCAPES))


def xml_attr(text: str) -> str:
    """A text as an attribute's value (in double quotes) or element content outside cells."""
    return ILLEGAL_XML.sub("", text).translate(ATTR_ESCAPES)


def column_letter(i: int) -> str:
    """The letters of the i-th column, from 1: A, B, ..., Z, AA, ..."""
    letters = ""
    while i > 0:
        i, rest = divmod(i - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def number_text(value: float) -> str:
    """A number as <v> holds it: exact (repr), a whole float without ".0" (as openpyxl wrote it, so 3.0 reads 3)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


class SharedStrings:
    """The workbook's shared strings: each distinct text once, neutralised; cells refer to them by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}  # by the value as given, before neutralising
        self.by_text: dict[str, int] = {}
        self.items: list[str] = []

    def add(self, value: str) -> int:
        """The index of a text not yet in `index`."""
        text = neutralise(value)
        xml = xml_text(text)
        i = self.by_text.get(xml)
        if i is None:
            i = self.by_text[xml] = len(self.items)
            space = ' xml:space="preserve"' if text != text.strip() else ""  # keep leading and trailing spaces
            self.items.append(f"<si><t{space}>{xml}</t></si>")
        self.index[value] = i
        return i

    def xml(self) -> str:
        return f'{XML_DECLARATION}<sst xmlns="{MAIN_NS}" uniqueCount="{len(self.items)}">{"".join(self.items)}</sst>'


def cell_xml(ref: str, value: Any, number_style: int, text_style: int, strings: SharedStrings, where: str) -> str:
    """One cell of any kind, as `write_workbook` documents; "" where nothing is written. `where` names the cell
    in an error."""
    s = f' s="{number_style}"' if number_style else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, Integral):
        return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'
    if isinstance(value, Real):
        x = float(value)
        return f'<c r="{ref}"{s}><v>{number_text(x)}</v></c>' if math.isfinite(x) else ""
    if isinstance(value, str):
        t = f' s="{text_style}"' if text_style else ""
        if not value:
            return f'<c r="{ref}"{t}/>' if text_style else ""  # an empty text: no value, the format kept
        i = strings.index.get(value)
        return f'<c r="{ref}"{t} t="s"><v>{strings.add(value) if i is None else i}</v></c>'
    raise TypeError(
        f"{where}: cannot write {value!r} ({type(value).__name__}) to the workbook; "
        "give a text, a number, a bool or None (a date as text, e.g. its ISO form)."
    )


def table_sheet_xml(sheet: Sheet, name: str, strings: SharedStrings, first: bool) -> tuple[str, str, int]:
    """A table's worksheet part, and its last column and row (the autofilter's range is A1 to them)."""
    n = len(sheet.columns)
    if n == 0:
        raise ValueError(f"Sheet {name!r} has no columns: give it at least one.")
    letters = [column_letter(i) for i in range(1, n + 1)]
    last_row = len(sheet.rows) + 1
    span = f"A1:{letters[-1]}{last_row}"
    cols, lines = [], 1
    long_texts: dict[int, int] = {}  # column -> characters per line, where its texts wrap
    for i, column in enumerate(sheet.columns):
        values = [row[i] for row in sheet.rows]
        width = column_width(column, values)
        if column.number_format is NumberFormat.GENERAL and any(type(v) is str and len(v) > MAX_WIDTH for v in values):
            long_texts[i] = width - 2  # characters per line
        cols.append(f'<col min="{i + 1}" max="{i + 1}" width="{width}" customWidth="1"/>')
        lines = max(lines, wrapped_lines(column.header, int((width - 2) / BOLD)))
    selected = ' tabSelected="1"' if first else ""
    out = [
        f'{XML_DECLARATION}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="{span}"/>',
        f'<sheetViews><sheetView{selected} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>',
        '<sheetFormatPr defaultRowHeight="15"/>',
        f"<cols>{''.join(cols)}</cols><sheetData>",
        f'<row r="1" ht="{LINE_HEIGHT * lines}" customHeight="1">',
        *(
            cell_xml(f"{x}1", c.header, 0, HEAD_STYLE, strings, f"Sheet {name!r}, header")
            for x, c in zip(letters, sheet.columns, strict=True)
        ),
        "</row>",
    ]
    # The body: the common kinds (text, int, float, None) here, anything else through cell_xml. A text column with
    # texts longer than MAX_WIDTH wraps them (top-aligned), so that they stay within the column, printed too.
    styles = [
        (
            x,
            f'<c r="{x}',
            f' s="{FORMAT_STYLES[c.number_format]}"' if c.number_format is not NumberFormat.GENERAL else "",
            f' s="{FORMAT_STYLES[c.number_format]}"'
            if c.number_format is NumberFormat.TEXT
            else (f' s="{WRAP_STYLE if i in long_texts else TOP_STYLE}"' if long_texts else ""),
            c,
        )
        for i, (x, c) in enumerate(zip(letters, sheet.columns, strict=True))
    ]
    index = strings.index
    append = out.append
    for r, row in enumerate(sheet.rows, start=2):
        # A row with wrapped text is as tall as its longest (readers do not measure rows on opening).
        tall = max((wrapped_lines(row[i], w) for i, w in long_texts.items() if type(row[i]) is str), default=1)
        append(f'<row r="{r}" ht="{LINE_HEIGHT * tall}" customHeight="1">' if tall > 1 else f'<row r="{r}">')
        for (x, start, s, t, column), value in zip(styles, row, strict=True):
            kind = type(value)
            if kind is str:
                if value:
                    k = index.get(value)
                    append(f'{start}{r}"{t} t="s"><v>{strings.add(value) if k is None else k}</v></c>')
                elif t:
                    append(f'{start}{r}"{t}/>')
            elif kind is int:
                append(f'{start}{r}"{s}><v>{value}</v></c>')
            elif kind is float:
                if value - value == 0:  # finite: NaN and infinities are empty cells
                    append(f'{start}{r}"{s}><v>{number_text(value)}</v></c>')
            elif value is not None:
                style = FORMAT_STYLES.get(column.number_format, 0)
                text_style = style if column.number_format is NumberFormat.TEXT else 0
                where = f"Sheet {name!r}, row {r}, column {column.header!r}"
                append(cell_xml(f"{x}{r}", value, style, text_style, strings, where))
        append("</row>")
    out.append(f'</sheetData><autoFilter ref="{span}"/>')
    out.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    out.append('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')
    return "".join(out), letters[-1], last_row


def symbols_sheet_xml(
    symbols: list[tuple[str, str]], title: str, symbols_header: tuple[str, str] | None, strings: SharedStrings
) -> str:
    """The sheet explaining the symbols: the title in bold, the optional bold header, then one wrapped row each."""
    width_a = min(max([MIN_WIDTH, *(len(s) for s, _ in symbols)]), MAX_WIDTH) + 2
    rows = [f'<row r="1">{cell_xml("A1", title, 0, BOLD_STYLE, strings, "The symbols sheet title")}</row>']
    if symbols_header:
        head = (
            cell_xml(f"{x}2", h, 0, BOLD_STYLE, strings, "The symbols sheet")
            for x, h in zip("AB", symbols_header, strict=True)
        )
        rows.append(f'<row r="2">{"".join(head)}</row>')
    first = 3 if symbols_header else 2
    for r, (sym, meaning) in enumerate(symbols, start=first):
        cells = "".join(
            cell_xml(f"{x}{r}", v, 0, WRAP_STYLE, strings, "The symbols sheet") for x, v in (("A", sym), ("B", meaning))
        )
        rows.append(
            f'<row r="{r}" ht="{LINE_HEIGHT * wrapped_lines(meaning, KEY_WIDTH)}" customHeight="1">{cells}</row>'
        )
    last_row = first - 1 + len(symbols)
    span = f"A1:B{last_row}" if symbols or symbols_header else "A1"
    return (
        f'{XML_DECLARATION}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="{span}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f'<cols><col min="1" max="1" width="{width_a}" customWidth="1"/>'
        f'<col min="2" max="2" width="{KEY_WIDTH + 2}" customWidth="1"/></cols>'
        f"<sheetData>{''.join(rows)}</sheetData>"
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        '<pageSetup fitToWidth="1" fitToHeight="0"/></worksheet>'
    )


def styles_xml() -> str:
    """Number formats, two fonts (plain, bold), and the cell formats listed at FORMAT_STYLES."""
    num_fmts = "".join(f'<numFmt numFmtId="{FORMAT_IDS[f]}" formatCode="{xml_attr(f.value)}"/>' for f in CUSTOM_FORMATS)
    font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
    top_wrap = '<alignment vertical="top" wrapText="1"/>'
    plain = 'numFmtId="0" fillId="0" borderId="0" xfId="0"'
    xfs = [
        f'<xf {plain} fontId="0"/>',
        f'<xf {plain} fontId="1" applyFont="1" applyAlignment="1">{top_wrap}</xf>',
        f'<xf {plain} fontId="1" applyFont="1"/>',
        f'<xf {plain} fontId="0" applyAlignment="1">{top_wrap}</xf>',
        f'<xf {plain} fontId="0" applyAlignment="1"><alignment vertical="top"/></xf>',
        *(
            f'<xf numFmtId="{FORMAT_IDS[f]}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for f in FORMAT_STYLES
        ),
    ]
    return (
        f'{XML_DECLARATION}<styleSheet xmlns="{MAIN_NS}">'
        f'<numFmts count="{len(CUSTOM_FORMATS)}">{num_fmts}</numFmts>'
        f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '<dxfs count="0"/><tableStyles count="0"/></styleSheet>'
    )


def created_at() -> dt.datetime:
    """When the workbook is made (UTC, whole seconds), as openpyxl took it; SOURCE_DATE_EPOCH, when set, instead,
    for output that is the same byte for byte."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return max(dt.datetime.fromtimestamp(int(epoch), dt.UTC), dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def package(names: list[str], sheets: list[str], filters: list[tuple[str, int]], strings: SharedStrings) -> bytes:
    """The zip: content types, relationships, document properties, workbook, styles, sheets, shared strings.

    `filters` holds each table sheet's last column and row: its autofilter and print titles are defined names in
    the workbook, as Excel writes them; the sheets after the tables (the symbols) have neither."""
    when = created_at()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    n = len(sheets)
    worksheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    content_types = (
        f'{XML_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{worksheet_type}"/>'
            for i in range(1, n + 1)
        )
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'
    )
    doc_rels = (
        f'{XML_DECLARATION}<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/></Relationships>'
    )
    app = (
        f"{XML_DECLARATION}<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel</Application></Properties>"
    )
    core = (
        f"{XML_DECLARATION}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{CREATOR}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )
    defined = []
    for i, (name, (column, row)) in enumerate(zip(names, filters, strict=False)):
        quoted = xml_attr("'" + name.replace("'", "''") + "'")
        defined += [
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{quoted}!$A$1:${column}${row}</definedName>",
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">{quoted}!$1:$1</definedName>',
        ]
    workbook_xml = (
        f'{XML_DECLARATION}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name="{xml_attr(s)}" sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(names, start=1))
        + "</sheets>"
        + (f"<definedNames>{''.join(defined)}</definedNames>" if defined else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )
    workbook_rels = (
        f'{XML_DECLARATION}<Relationships xmlns="{PKG_REL_NS}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    )
    parts = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", doc_rels),
        ("docProps/app.xml", app),
        ("docProps/core.xml", core),
        ("xl/workbook.xml", workbook_xml),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/styles.xml", styles_xml()),
        *((f"xl/worksheets/sheet{i}.xml", xml) for i, xml in enumerate(sheets, start=1)),
        ("xl/sharedStrings.xml", strings.xml()),
    ]
    buf = io.BytesIO()
    date_time = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, xml in parts:
            info = zipfile.ZipInfo(path, date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16  # -rw-------, as openpyxl's parts
            zf.writestr(info, xml.encode("utf-8"), compresslevel=COMPRESSION)
    return buf.getvalue()


def write_workbook(
    sheets: list[Sheet],
    symbols: list[tuple[str, str]],
    title: str,
    symbols_sheet: str,
    symbols_header: tuple[str, str] | None = None,
) -> bytes:
    """One sheet per table, then a sheet explaining the symbols.

    Each table sheet: a bold, wrapped header row that stays in view (frozen at A2) and is printed on every page, an
    autofilter over the table, column widths from the contents, and each column's number format on its numeric
    cells; printed landscape, fitted to the page's width. A number is a number cell (NaN and infinities empty), a
    text in a TEXT column a text cell with the "@" format, any other text a plain text cell, a bool an Excel bool,
    None no cell; any other value is a TypeError. Every text is neutralised, so none starts with '=' and none becomes
    a formula; characters XML cannot hold (control characters but tab, newline and CR) are removed.

    Written directly as SpreadsheetML (see the module's docstring), not through openpyxl.
    """
    names = [sheet_name(s.name) or "Sheet" for s in sheets] + [sheet_name(symbols_sheet) or "Sheet"]
    if len({n.lower() for n in names}) != len(names):  # Excel compares sheet names without case
        raise ReportError(f"Two sheets would have the same name: {names}. Give each sheet its own name.")
    strings = SharedStrings()
    parts, filters = [], []
    for i, (sheet, name) in enumerate(zip(sheets, names, strict=False)):
        headers = [c.header for c in sheet.columns]
        if len(set(headers)) != len(headers):
            raise ReportError(f"Sheet {name!r} has two columns with the same name: {headers}. Name each column.")
        xml, last_column, last_row = table_sheet_xml(sheet, name, strings, first=i == 0)
        parts.append(xml)
        filters.append((last_column, last_row))
    parts.append(symbols_sheet_xml(symbols, title, symbols_header, strings))
    return package(names, parts, filters, strings)


def workbook(sheets: dict[str, tuple[list[str], list[list[Any]]]], symbols: list[tuple[str, str]], title: str) -> bytes:
    """Untyped sheets (the archive export's tables): one per table (bold header row, frozen), then a sheet
    explaining the symbols. The report's attachment uses `write_workbook` (workbook.py).

    Written in openpyxl's streaming mode; no text can start with '=' once neutralised, so none becomes a formula.
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name[:31])
        ws.freeze_panes = "A2"
        head = []
        for h in header:
            cell = WriteOnlyCell(ws, value=neutralise(h))
            cell.font = bold
            head.append(cell)
        ws.append(head)
        for row in rows:
            ws.append([neutralise(v) for v in row])
    ws = wb.create_sheet("Teckenförklaring")
    cell = WriteOnlyCell(ws, value=title)
    cell.font = bold
    ws.append([cell])
    for sym, meaning in symbols:
        ws.append([neutralise(sym), meaning])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
