"""An empty support log for Excel: the header, an example row, and drop-down lists for kommun, behov, typ, sektor.

Excel keeps a list typed into a validation to 255 characters; longer lists (the needs with their labels, a large
county's municipalities) are written to a second sheet, "Listor", and the validation points at its range. Kommun
and behov only warn on a value outside the list: a cell may name several, separated by semicolons.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bfs_pipeline import i18n, reference
from bfs_pipeline.errors import BfsError
from bfs_pipeline.support.models import SupportKind
from bfs_pipeline.support.parse import TITLES, Field, Vocabulary, fold
from bfs_pipeline.survey import Survey

SHEET = "Stödlogg"
LISTS = "Listor"
ROWS = 1000  # the rows the drop-downs and formats cover, header included
INLINE_LIMIT = 255  # Excel's limit for a list typed into a validation
EXAMPLE_RECIPIENT = "EXEMPEL – ta bort raden"
HEADER = [TITLES[f][0] for f in Field]
WHOLE_COUNTY = "Hela länet"


class TemplateExists(BfsError):
    """The template's file is there already and --force was not given."""


def is_example(cells: dict[Field, str]) -> bool:
    """Whether a row is the template's example row (by its recipient, which no real row has)."""
    return fold(cells.get(Field.MOTTAGARE, "")) == fold(EXAMPLE_RECIPIENT)


def choices(survey: Survey, lang: str = "sv") -> dict[Field, list[str]]:
    """The drop-down lists: the county's municipalities and Hela länet, the needs as "B05 Metodstöd", the kinds,
    and the sectors by their Swedish names."""
    vocab = Vocabulary.of(survey)
    return {
        Field.KOMMUN: [m.name for m in reference.county_municipalities(survey.county)] + [WHOLE_COUNTY],
        Field.BEHOV: [f"{need} {vocab.need_label(need, 'sv')}" for need in vocab.needs],
        Field.TYP: [k.value for k in SupportKind],
        Field.SEKTOR: [labels.get("sv") or code for code, labels in survey.sectors.items()],
    }


def inline(values: list[str]) -> str | None:
    """A validation's list typed in, or None when Excel would not take it so (too long, or a comma or quote)."""
    if any("," in v or '"' in v for v in values):
        return None
    text = ",".join(values)
    return f'"{text}"' if len(text) <= INLINE_LIMIT else None


def write_template(path: Path, survey: Survey, force: bool = False, lang: str = "sv") -> dict[str, Any]:
    """Write the template; refuse to overwrite a file without force. Returns where each drop-down's list is."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    if path.suffix.lower() != ".xlsx":
        raise TemplateExists(f"{path}: the support log template is an Excel file; name it FILE.xlsx.")
    if path.exists() and not force:
        raise TemplateExists(f"{path} already exists. Use --force to overwrite it, or give another --out.")
    _ = i18n.translator(lang)
    lists = choices(survey, lang)
    county = reference.counties()[survey.county]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its sheet
    ws.title = SHEET
    ws.append(HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    first_municipality = lists[Field.KOMMUN][0]
    example: dict[Field, Any] = {
        Field.DATUM: dt.date(2026, 3, 14),
        Field.KOMMUN: first_municipality,
        Field.MOTTAGARE: EXAMPLE_RECIPIENT,
        Field.SEKTOR: lists[Field.SEKTOR][0],
        Field.BEHOV: lists[Field.BEHOV][min(4, len(lists[Field.BEHOV]) - 1)],
        Field.TYP: SupportKind.METODSTOD.value,
        Field.TIMMAR: 2.5,
        Field.DELTAGARE: 8,
    }
    ws.append([example[f] for f in Field])
    ws.freeze_panes = "A2"
    column = {f: get_column_letter(i + 1) for i, f in enumerate(Field)}
    ws[f"{column[Field.DATUM]}2"].number_format = "yyyy-mm-dd"  # ISO: no day-month ambiguity
    widths = {Field.DATUM: 12, Field.KOMMUN: 24, Field.MOTTAGARE: 30, Field.SEKTOR: 28, Field.BEHOV: 48}
    for f in Field:
        ws.column_dimensions[column[f]].width = widths.get(f, 14)

    sheet = wb.create_sheet(LISTS)
    where: dict[str, str] = {}
    needs = lists[Field.BEHOV]
    several = _("Välj i listan, eller skriv flera åtskilda med semikolon.")
    prompts = {
        Field.KOMMUN: _("Kommunen eller kommunerna som fick stödet, eller Hela länet ({county}).").format(
            county=county.name
        )
        + " "
        + several,
        Field.BEHOV: _("Behovet eller behoven som stödet svarar mot ({first}–{last}).").format(
            first=needs[0].split()[0], last=needs[-1].split()[0]
        )
        + " "
        + several,
        Field.TYP: _("Typ av stöd: välj en i listan."),
        Field.SEKTOR: _("Sektorn som fick stödet: välj en i listan."),
    }
    for n, (f, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(n)
        sheet[f"{letter}1"] = f.value
        sheet[f"{letter}1"].font = Font(bold=True)
        for i, value in enumerate(values, start=2):
            sheet[f"{letter}{i}"] = value
        sheet.column_dimensions[letter].width = max(12, min(60, max(len(v) for v in values) + 2))
        formula = inline(values) or f"{quote_sheetname(LISTS)}!${letter}$2:${letter}${len(values) + 1}"
        many = f in (Field.KOMMUN, Field.BEHOV)
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showDropDown=False,  # (sic) openpyxl's False shows the arrow
            showErrorMessage=True,
            errorStyle="warning" if many else "stop",
            errorTitle=_("Värdet finns inte i listan"),
            error=several if many else _("Välj ett värde i listan."),
            showInputMessage=True,
            promptTitle=f.value,
            prompt=prompts[f][:255],
        )
        dv.add(f"{column[f]}2:{column[f]}{ROWS}")
        ws.add_data_validation(dv)
        where[f.value] = formula
    numbers = [
        (Field.TIMMAR, "decimal", _("Timmar: ett tal, 0 eller mer (decimalkomma går bra).")),
        (Field.DELTAGARE, "whole", _("Deltagare: ett heltal, 0 eller mer.")),
    ]
    for f, kind, text in numbers:
        dv = DataValidation(
            type=kind,
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            error=text,
            showInputMessage=True,
            promptTitle=f.value,
            prompt=text,
        )
        dv.add(f"{column[f]}2:{column[f]}{ROWS}")
        ws.add_data_validation(dv)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return {"path": str(path), "survey": survey.id, "lists": where}
