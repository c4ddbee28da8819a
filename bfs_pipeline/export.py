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
    """One sheet per table (header row frozen, bold), then a sheet explaining the symbols."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    first = True
    for name, (header, rows) in sheets.items():
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = name[:31]
        ws.append([neutralise(h) for h in header])
        for row in rows:
            ws.append([neutralise(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
        ws.freeze_panes = "A2"
    ws = wb.create_sheet("Teckenförklaring")
    ws.append([title])
    ws["A1"].font = Font(bold=True)
    for sym, meaning in symbols:
        ws.append([neutralise(sym), meaning])
        ws.cell(ws.max_row, 1).data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
