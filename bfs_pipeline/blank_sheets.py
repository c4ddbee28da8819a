"""Empty answer sheets with exactly the codebook's headers."""

from __future__ import annotations

import csv
from pathlib import Path

from bfs_pipeline.errors import BfsError
from bfs_pipeline.survey import Survey, form_columns


def write_template(survey: Survey, sector: str, out: Path, wave: str | None = None, lang: str = "sv") -> Path:
    """Write FILE.xlsx (sheet 'Formulärsvar 1', header row frozen) or FILE.csv (UTF-8 with BOM, for Excel).

    The headers are the wave's form: a wave that does not ask the yearly questions gets no column for them.
    """
    survey.check_sector(sector)
    titles = [c.title for c in form_columns(survey, sector, wave, lang)]
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise BfsError(f"Cannot write {out}: name the file .xlsx or .csv.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerow(titles)
        return out
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Formulärsvar 1" if lang == "sv" else "Form Responses 1"
    ws.append(titles)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    wb.save(out)
    return out
