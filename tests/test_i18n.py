"""The catalogue: every message in the code and the templates has English, the compiled .mo is the .po's, and the
templates render each language's words however the renders interleave."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bfs_pipeline import i18n
from bfs_pipeline import report as rp

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "bfs_pipeline" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

Key = tuple[str | None, str]  # (context, msgid): the singular for a plural message


def extracted() -> dict[Key, list[str]]:
    """The messages in the code and the templates, found as `make i18n` finds them (babel.cfg), with where."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[Key, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(ROOT, method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((context, msgid), []).append(f"{filename}:{lineno}")
    return found


def catalogue() -> dict[Key, object]:
    with open(PO, "rb") as f:
        cat = read_po(f, locale="en")
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id): m for m in cat if m.id}


def english(message: object) -> list[str]:
    string = message.string  # type: ignore[attr-defined]
    return list(string) if isinstance(string, tuple) else [string]


def test_every_message_in_the_code_and_templates_has_english():
    found = extracted()
    assert len(found) > 100 and (None, "Vad siffrorna pekar på") in found  # the extraction sees the templates
    cat = catalogue()
    missing = []
    for key, where in sorted(found.items(), key=lambda kv: kv[1][0]):
        entry = cat.get(key)
        if entry is None or not all(english(entry)) or entry.fuzzy:  # type: ignore[attr-defined]
            missing.append(f"{where[0]}: {key[1]!r}" + (f" (context {key[0]!r})" if key[0] else ""))
    assert not missing, (
        f"{len(missing)} message(s) without English in {PO.relative_to(ROOT)}: run `make i18n`, fill in each "
        "msgstr (no fuzzy flag), and run it again:\n" + "\n".join(missing)
    )


def test_the_compiled_catalogue_is_the_po_compiled():
    """The .mo must be what compiling the .po gives now (a stale .mo silently serves old English)."""
    with open(PO, "rb") as f:
        cat = read_po(f, locale="en")
    fresh = io.BytesIO()
    write_mo(fresh, cat)
    assert MO.read_bytes() == fresh.getvalue(), (
        f"{MO.relative_to(ROOT)} is not {PO.relative_to(ROOT)} compiled: run `make i18n` and commit both"
    )


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text)) | set(re.findall(r"%\((\w+)\)s", text))


def test_each_translation_keeps_the_placeholders_of_its_message():
    wrong = []
    for key, entry in catalogue().items():
        wanted = placeholders(key[1])
        for text in english(entry):
            if text and placeholders(text) != wanted:
                wrong.append(f"{key[1]!r} -> {text!r}")
    assert not wrong, "translations whose placeholders differ from the Swedish:\n" + "\n".join(wrong)


def test_one_environment_per_language_whatever_the_order_of_renders():
    sv, en = rp._environment("sv"), rp._environment("en")
    assert sv is not en and rp._environment("sv") is sv  # cached, one per language
    template = "{{ _('Sammanfattning') }} {{ ngettext('%(num)s svarande', '%(num)s svarande', n) }}"
    for _round in range(2):
        assert sv.from_string(template).render(n=1) == "Sammanfattning 1 svarande"
        assert en.from_string(template).render(n=1) == "Summary 1 respondent"
        assert en.from_string(template).render(n=3) == "Summary 3 respondents"
    assert "&lt;b&gt;" in en.from_string("{{ _('%(x)s', x=x) }}").render(x="<b>")  # values escaped in the words


def test_numbers_dates_and_lists_in_each_languages_rules():
    assert i18n.fmt_pct(0.625) == "62\u00a0%" and i18n.fmt_pct(0.625, "en") == "62%"
    assert i18n.fmt_pct(float("nan")) == i18n.fmt_pct(None, "en") == "–"
    assert i18n.fmt_num(1234.5) == "1\u00a0234,5" and i18n.fmt_num(1234.5, "en") == "1,234.5"
    assert i18n.fmt_int(10_000) == "10\u00a0000" and i18n.fmt_int(10_000, "en") == "10,000"
    assert i18n.fmt_pp(0.01) == "+1\u00a0procentenhet" and i18n.fmt_pp(-0.12) == "−12\u00a0procentenheter"
    assert i18n.fmt_pp(0.01, "en") == "+1\u00a0percentage point" and i18n.fmt_pp(0, "en") == "±0\u00a0percentage points"
    assert i18n.fmt_date(dt.date(2026, 10, 1)) == "1 okt. 2026" and i18n.fmt_date(dt.date(2026, 10, 1), "en") == (
        "Oct 1, 2026"
    )
    assert i18n.fmt_list(["A", "B", "C"]) == "A, B och C" and i18n.fmt_list(["A", "B"], "en") == "A and B"
    assert i18n.fmt_list([]) == ""
    with pytest.raises(i18n.UnknownLanguage, match="unknown language 'de': use one of sv, en"):
        i18n.translator("de")
