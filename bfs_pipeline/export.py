"""The report's XLSX attachment: the full tables, one sheet each, suppressed cells marked, text neutralised."""

from __future__ import annotations

import io
from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass as they are."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def workbook(sheets: dict[str, tuple[list[str], list[list[Any]]]], symbols: list[tuple[str, str]], title: str) -> bytes:
    """One sheet per table (bold header row, frozen), then a sheet explaining the symbols.

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
