"""The report's XLSX attachment: the full tables, one sheet each, suppressed cells marked, text neutralised.

`write_workbook` takes typed sheets (`Sheet` of `Column`s, each with its Excel number format) and writes them in
openpyxl's streaming mode, with a bold wrapped header row that stays in view, an autofilter and column widths
fitted to the contents, then a sheet explaining the symbols.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from enum import StrEnum
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
    content = max((len(shown(v, column.number_format)) for v in values), default=0)
    longest_word = max((len(w) for w in column.header.split()), default=0)
    header = math.ceil(min(len(column.header), max(HEADER_WIDTH, longest_word)) * BOLD)
    return min(max(content, header, MIN_WIDTH), MAX_WIDTH) + 2


def write_workbook(
    sheets: list[Sheet],
    symbols: list[tuple[str, str]],
    title: str,
    symbols_sheet: str,
    symbols_header: tuple[str, str] | None = None,
) -> bytes:
    """One sheet per table, then a sheet explaining the symbols.

    Each table sheet: a bold, wrapped header row that stays in view (frozen at A2), an autofilter over the table,
    column widths from the contents, and each column's number format on its numeric cells. Written in openpyxl's
    streaming mode; no text can start with '=' once neutralised, so none becomes a formula.
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    names = [sheet_name(s.name) for s in sheets] + [sheet_name(symbols_sheet)]
    if len(set(names)) != len(names):
        raise ReportError(f"Two sheets would have the same name: {names}. Give each sheet its own name.")
    wb = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    head_align = Alignment(wrap_text=True, vertical="top")
    for sheet, name in zip(sheets, names, strict=False):
        headers = [c.header for c in sheet.columns]
        if len(set(headers)) != len(headers):
            raise ReportError(f"Sheet {name!r} has two columns with the same name: {headers}. Name each column.")
        ws = wb.create_sheet(name)
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"  # printed: the header on every page, the columns fitted to the page's width
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        lines = 1
        for i, column in enumerate(sheet.columns, start=1):
            width = column_width(column, [row[i - 1] for row in sheet.rows])
            ws.column_dimensions[get_column_letter(i)].width = width
            lines = max(lines, wrapped_lines(column.header, int((width - 2) / BOLD)))
        ws.row_dimensions[1].height = LINE_HEIGHT * lines
        head = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=neutralise(h))
            cell.font = bold
            cell.alignment = head_align
            head.append(cell)
        ws.append(head)
        for row in sheet.rows:
            cells: list[Any] = []
            for column, value in zip(sheet.columns, row, strict=True):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    if math.isnan(value):
                        cells.append(None)
                        continue
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = column.number_format.value
                    cells.append(cell)
                elif isinstance(value, str) and column.number_format is NumberFormat.TEXT:
                    cell = WriteOnlyCell(ws, value=neutralise(value))
                    cell.number_format = column.number_format.value
                    cells.append(cell)
                else:
                    cells.append(neutralise(value))
            ws.append(cells)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(sheet.rows) + 1}"
    ws = wb.create_sheet(names[-1])
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.column_dimensions["A"].width = min(max([MIN_WIDTH, *(len(s) for s, _ in symbols)]), MAX_WIDTH) + 2
    ws.column_dimensions["B"].width = KEY_WIDTH + 2
    first = 3 if symbols_header else 2
    for i, (_, meaning) in enumerate(symbols, start=first):
        ws.row_dimensions[i].height = LINE_HEIGHT * wrapped_lines(meaning, KEY_WIDTH)
    cell = WriteOnlyCell(ws, value=neutralise(title))
    cell.font = bold
    ws.append([cell])
    if symbols_header:
        head = [WriteOnlyCell(ws, value=neutralise(h)) for h in symbols_header]
        for c in head:
            c.font = bold
        ws.append(head)
    wrap = Alignment(wrap_text=True, vertical="top")
    for sym, meaning in symbols:
        row = [WriteOnlyCell(ws, value=neutralise(sym)), WriteOnlyCell(ws, value=neutralise(meaning))]
        for c in row:
            c.alignment = wrap
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


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
