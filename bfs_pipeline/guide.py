"""A printable page on building the Google Form that matches a survey's codebook (`bfs survey guide`).

The page lists the form's columns exactly as `survey.form_columns` gives them (the codebook's order and titles; a
wave that does not ask the yearly questions lists none of them), so a form built from it exports a sheet whose
header the ingest maps without a word: for each question the title to paste, the Google Forms question type, the
choices to paste (wordings the ingest reads back to the codes), whether it is required, and the answer validation
to set.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bfs_pipeline import i18n, reference
from bfs_pipeline.resources import templates_dir
from bfs_pipeline.survey import Column, Survey, form_columns, wave_of

TEMPLATE = "guide.html"
SWEDISH_LAST = str.maketrans("åäæöø", "{||}}")  # å, ä, ö sort after z, in that order


class FormType(StrEnum):
    """The Google Forms question types a survey's questions are built with."""

    MULTIPLE_CHOICE = "multiple_choice"
    CHECKBOXES = "checkboxes"
    DROPDOWN = "dropdown"
    SHORT_ANSWER = "short_answer"
    PARAGRAPH = "paragraph"


@dataclass(frozen=True)
class MetaColumn:
    """A column Google adds to the response sheet by itself (timestamp, e-mail address)."""

    title: str
    type: str
    required: bool
    how: str


@dataclass(frozen=True)
class GuideItem:
    """One question of the form, as the coordinator builds it."""

    number: int
    question_id: str
    title: str  # the codebook's column title: paste it exactly
    form_type: FormType
    form_type_label: str  # the type as Google Forms names it in the page's language
    choices: tuple[str, ...]  # lines to paste, one choice each; () when the question has none
    required: bool
    validation: str  # "" when there is nothing to set
    notes: tuple[str, ...]
    yearly: bool


@dataclass(frozen=True)
class Guide:
    """Everything the page shows."""

    survey_id: str
    survey_title: str
    sector: str
    sector_label: str
    wave: str | None
    lang: str
    meta: tuple[MetaColumn, ...]
    items: tuple[GuideItem, ...]
    roster_used: bool


def _form_type_labels(_: Callable[[str], str]) -> dict[FormType, str]:
    return {
        FormType.MULTIPLE_CHOICE: _("Flervalsfråga"),
        FormType.CHECKBOXES: _("Kryssrutor"),
        FormType.DROPDOWN: _("Rullgardinsmeny"),
        FormType.SHORT_ANSWER: _("Kort svar"),
        FormType.PARAGRAPH: _("Stycke"),
    }


def _unit_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "FTE": _("årsarbetskrafter"),
        "persons": _("personer"),
        "percent": _("procent"),
    }


def _number(v: float, lang: str) -> str:
    return str(int(v)) if float(v).is_integer() else i18n.fmt_num(v, lang, digits=2)


def _resolve_sector(survey: Survey, sector: str) -> str:
    """The survey's own key for a sector named in any letter case; an unknown one is refused by the survey."""
    wanted = sector.strip().casefold()
    return next((s for s in survey.sectors if s.casefold() == wanted), sector)


def roster_order(names: list[str]) -> list[str]:
    """Organisation names once each (compared without case and surrounding space), in Swedish alphabetical order."""

    def sort_key(name: str) -> str:
        folded = name.casefold().translate(SWEDISH_LAST)
        decomposed = unicodedata.normalize("NFD", folded)
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

    seen: dict[str, str] = {}
    for name in names:
        clean = " ".join(unicodedata.normalize("NFC", name).split())
        if clean and clean.casefold() not in seen:
            seen[clean.casefold()] = clean
    return sorted(seen.values(), key=sort_key)


def _choice_lines(col: Column, lang: str) -> tuple[str, ...]:
    """The choices as the form should word them: each one a wording the ingest reads back to its code.

    A Likert scale's points carry their number ("4 - Stort behov"), as the form's answers then show the scale;
    other choices (don't know, the choices of single and multi questions) carry their label alone.
    """
    q = col.question
    points = q.scale_points if q is not None else None
    lines = []
    for c in col.choices:
        label = c.label(lang)
        if col.type == "likert" and points is not None and c.code.isdigit() and points[0] <= int(c.code) <= points[1]:
            lines.append(f"{c.code} - {label}")
        else:
            lines.append(label)
    return tuple(lines)


def _validation(col: Column, lang: str, _: Callable[[str], str]) -> str:
    if col.type not in ("integer", "number"):
        return ""
    if col.min is not None and col.max is not None:
        return _("Svarsvalidering: Tal, mellan {min} och {max}").format(
            min=_number(col.min, lang), max=_number(col.max, lang)
        )
    if col.min is not None:
        return _("Svarsvalidering: Tal, större än eller lika med {min}").format(min=_number(col.min, lang))
    if col.max is not None:
        return _("Svarsvalidering: Tal, mindre än eller lika med {max}").format(max=_number(col.max, lang))
    return _("Svarsvalidering: Tal, är ett tal")


def _item(
    number: int, col: Column, lang: str, roster: list[str], county_name: str, _: Callable[[str], str]
) -> GuideItem:
    q = col.question
    assert q is not None and col.question_id is not None  # only question columns become items
    notes: list[str] = []
    choices: tuple[str, ...] = ()
    if col.type in ("likert", "single"):
        form_type = FormType.MULTIPLE_CHOICE
        choices = _choice_lines(col, lang)
        if col.type == "likert":
            notes.append(
                _("Välj Flervalsfråga, inte Linjär skala: en linjär skala har bara siffror, utan ord och utan Vet ej.")
            )
    elif col.type == "multi":
        form_type = FormType.CHECKBOXES
        choices = _choice_lines(col, lang)
        notes.append(_("Google skriver flera kryss i samma cell, åtskilda av kommatecken; inläsningen delar upp dem."))
    elif col.type == "municipalities":
        form_type = FormType.CHECKBOXES
        choices = tuple(c.label(lang) for c in col.choices)
        notes.append(_("Kommunerna i {county}, och hela länet som sista alternativ.").format(county=county_name))
    elif col.type == "municipality":
        form_type = FormType.DROPDOWN
        choices = tuple(c.label(lang) for c in col.choices)
        notes.append(_("Kommunerna i {county}.").format(county=county_name))
    elif col.type == "yesno":
        form_type = FormType.MULTIPLE_CHOICE
        choices = (_("Ja"), _("Nej"))
    elif col.type in ("integer", "number"):
        form_type = FormType.SHORT_ANSWER
        if col.type == "integer":
            notes.append(_("Bara heltal godtas."))
        else:
            notes.append(_("Decimaler går bra, med komma eller punkt (0,5 eller 0.5)."))
        unit = _unit_labels(_).get(q.unit or "")
        if unit:
            notes.append(_("Enhet: {unit}. Skriv den gärna i frågans beskrivning, aldrig i titeln.").format(unit=unit))
    elif col.type == "organisation":
        if roster:
            form_type = FormType.DROPDOWN
            choices = tuple(roster)
            notes.append(
                _("Namnen kommer från aktörsregistret: svaren räknas mot registret, så ändra inte stavningen.")
            )
        else:
            form_type = FormType.SHORT_ANSWER
            notes.append(
                _(
                    "Inget aktörsregister angavs, så frågan blir Kort svar. Med registret (bfs actors import) blir "
                    "den en Rullgardinsmeny med registrets namn, så att varje svar hittar sin organisation."
                )
            )
        notes.append(_("Organisationens namn, aldrig en persons."))
    else:  # text
        form_type = FormType.PARAGRAPH
        notes.append(_("Kort svar går också bra. Be de svarande att inte nämna enskilda personer."))
    return GuideItem(
        number=number,
        question_id=col.question_id,
        title=col.title,
        form_type=form_type,
        form_type_label=_form_type_labels(_)[form_type],
        choices=choices,
        required=col.required,
        validation=_validation(col, lang, _),
        notes=tuple(notes),
        yearly=q.yearly,
    )


def build_guide(
    survey: Survey,
    sector: str,
    wave: str | None = None,
    lang: str = "sv",
    roster_names: list[str] | None = None,
) -> Guide:
    """The guide's content: the codebook's columns for one sector's form (core, then the sector's module)."""
    _ = i18n.translator(i18n.check(lang))
    key = _resolve_sector(survey, sector)
    period = wave_of(wave) if wave else None
    # the wave's form (no yearly question outside the yearly wave); refuses an unknown sector, naming the others
    columns = form_columns(survey, key, period, lang)
    county_name = reference.counties()[survey.county].name
    roster = roster_order(roster_names or [])
    meta: list[MetaColumn] = []
    items: list[GuideItem] = []
    for col in columns:
        if col.type == "timestamp":
            meta.append(
                MetaColumn(
                    col.title,
                    col.type,
                    col.required,
                    _("Google skriver när svaret skickades. Den finns alltid; du lägger inte till någon fråga."),
                )
            )
        elif col.type == "email":
            meta.append(
                MetaColumn(
                    col.title,
                    col.type,
                    col.required,
                    _(
                        "Finns när formuläret samlar in e-postadresser (Inställningar → Svar → Samla in "
                        "e-postadresser: Verifierad). Då ersätter ett nytt svar från samma adress det förra i "
                        "samma våg. Adresserna lagras bara som nycklade hashvärden. Lägg inte till någon egen "
                        "fråga om e-post."
                    ),
                )
            )
        elif col.question_id is not None:
            items.append(_item(len(items) + 1, col, lang, roster, county_name, _))
    sector_labels = survey.sectors[key]
    return Guide(
        survey_id=survey.id,
        survey_title=survey.title.get(lang) or survey.title["sv"],
        sector=key,
        sector_label=sector_labels.get(lang) or sector_labels["sv"],
        wave=period,
        lang=lang,
        meta=tuple(meta),
        items=tuple(items),
        roster_used=bool(roster),
    )


def _environment(lang: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_guide(
    survey: Survey,
    sector: str,
    wave: str | None = None,
    lang: str = "sv",
    roster_names: list[str] | None = None,
) -> str:
    """A self-contained, printable HTML page listing every question of one sector's form in the codebook's order.

    `roster_names`: the names of the sector's organisations in the actor roster; with them the organisation
    question becomes a dropdown of those names, without them a short answer.
    """
    guide = build_guide(survey, sector, wave, lang, roster_names)
    _ = i18n.translator(lang)
    ngettext = i18n.plural(lang)
    n, required = len(guide.items), sum(i.required for i in guide.items)
    summary = _("{questions}, varav {required}.").format(
        questions=ngettext("{n} fråga", "{n} frågor", n).format(n=n),
        required=ngettext("{n} obligatorisk", "{n} obligatoriska", required).format(n=required),
    )
    codebook = f"bfs survey codebook {guide.survey_id} --sector {guide.sector}"
    codebook += f" --wave {guide.wave}" if guide.wave else ""
    codebook += f" --lang {lang}" if lang != i18n.SOURCE else ""
    template = _environment(lang).get_template(TEMPLATE)
    return str(template.render(guide=guide, lang=lang, summary=summary, codebook=codebook))
