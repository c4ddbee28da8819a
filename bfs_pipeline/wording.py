"""Kept only while other modules still import from here: the words now live in gettext catalogues (i18n).

Use `bfs_pipeline.i18n` directly; this module re-exports its number formats and goes away once nothing imports it.
"""

from __future__ import annotations

from bfs_pipeline.i18n import SUPPRESSED, fmt_change, fmt_int, fmt_num, fmt_pct, missing

__all__ = ["SUPPRESSED", "fmt_change", "fmt_int", "fmt_num", "fmt_pct", "lower_first", "missing"]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
