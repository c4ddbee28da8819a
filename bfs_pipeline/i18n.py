"""The one door for words and numbers that people read: gettext catalogues and Babel's number rules.

Swedish is the source language: the message ids in the code and the templates are the Swedish texts, and
`bfs_pipeline/locale/en/LC_MESSAGES/messages.po` holds their English. `make i18n` runs pybabel extract, update
and compile; the compiled `.mo` files are committed, and a test fails when a message has no English or a `.mo`
is older than its `.po`.

    _ = i18n.translator(lang)
    _("Behovsrapport")                          # "Needs report" in English
    ngettext = i18n.plural(lang)                # named so: pybabel extract looks for ngettext(...)
    ngettext("{n} varning", "{n} varningar", n).format(n=n)
    i18n.fmt_pct(0.25, lang)                    # "25 %" / "25%"
"""

from __future__ import annotations

import gettext as _gettext
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

if TYPE_CHECKING:
    from jinja2 import Environment

LANGS = ("sv", "en")
SOURCE = "sv"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"
BABEL_LOCALES = {"sv": "sv_SE", "en": "en"}
SUPPRESSED = "–"


class UnknownLanguage(ValueError):
    def __init__(self, lang: str) -> None:
        super().__init__(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")


def check(lang: str) -> str:
    if lang not in LANGS:
        raise UnknownLanguage(lang)
    return lang


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue for `lang`; Swedish, the source language, needs none."""
    if check(lang) == SOURCE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


def translator(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def plural(lang: str) -> Callable[[str, str, int], str]:
    return translations(lang).ngettext


def babel_locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[check(lang)])


def missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_pct(v: float | None, lang: str = "sv") -> str:
    """A share 0..1 as a whole percent: "25\u00a0%" in Swedish, "25%" in English; "–" when missing."""
    if missing(v):
        return SUPPRESSED
    pattern = "#,##0\u00a0%" if lang == "sv" else "#,##0%"  # a no-break space: "25 %" never splits over two lines
    return format_percent(float(v), format=pattern, locale=babel_locale(lang))  # type: ignore[arg-type]


def fmt_num(v: float | None, lang: str = "sv", digits: int = 1) -> str:
    if missing(v):
        return SUPPRESSED
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(float(v), format=pattern, locale=babel_locale(lang))  # type: ignore[arg-type]


def fmt_int(v: int, lang: str = "sv") -> str:
    return format_decimal(v, format="#,##0", locale=babel_locale(lang))


def fmt_date(d: object, lang: str = "sv") -> str:
    """A date in the language's medium form: "26 nov. 2026" / "Nov 26, 2026"."""
    return format_date(d, format="medium", locale=babel_locale(lang))  # type: ignore[arg-type]


def points(v: float | None) -> int | None:
    """A difference of two shares (0..1) in whole percentage points; None when missing."""
    return None if missing(v) else round(float(v) * 100)  # type: ignore[arg-type]


def fmt_change(v: float | None, lang: str = "sv") -> str:
    """A change in percentage points as a bare signed number ("+3", "±0", "−2"); blank when missing."""
    pts = points(v)
    if pts is None:
        return ""
    sign = "+" if pts > 0 else ("±" if pts == 0 else "−")
    return f"{sign}{abs(pts)}"


def fmt_pp(v: float | None, lang: str = "sv", signed: bool = True) -> str:
    """A difference in percentage points with its unit: "+1 procentenhet", "−12 percentage points"."""
    pts = points(v)
    if pts is None:
        return SUPPRESSED
    number = fmt_change(v, lang) if signed else str(abs(pts))
    ngettext = plural(lang)  # by this name, so that pybabel extract finds the message
    unit = ngettext("procentenhet", "procentenheter", abs(pts))
    return f"{number}\u00a0{unit}"


def fmt_list(items: list[str], lang: str = "sv") -> str:
    """Words joined as the language joins them: "A, B och C" / "A, B, and C"."""
    return format_list(items, locale=babel_locale(lang)) if items else ""


@cache
def environment(folder: str, lang: str) -> Environment:
    """A Jinja2 environment for the templates in `folder` with `lang`'s catalogue installed (jinja2.ext.i18n).

    One environment per folder and language: the translations are installed into the environment, so sharing
    one between languages would let a render in one language use another's words. HTML is autoescaped.
    """
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def in_context(lang: str) -> Callable[[str, str], str]:
    """pgettext: a message with a context, where one Swedish word has two English ones (a sheet, a heading)."""
    return translations(lang).pgettext
