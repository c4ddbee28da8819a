"""The support log's tables: each import, each support event, each quarantined row (migration 0015)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bfs_pipeline.models import Base, utcnow


class SupportKind(StrEnum):
    """What kind of support an event was (the log's `typ`)."""

    UTBILDNING = "utbildning"
    NATVERKSTRAFF = "nätverksträff"
    METODSTOD = "metodstöd"
    BESOK = "besök"
    RADGIVNING = "rådgivning"
    ANNAT = "annat"


class SupportImport(Base):
    """One support log file read once: where from, and the counts (which always add up)."""

    __tablename__ = "support_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(Text)  # the file as given
    survey_id: Mapped[str] = mapped_column(String(100))
    file_hash: Mapped[str] = mapped_column(String(64))
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    blank: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)  # events of earlier imports withdrawn (--replace)


class SupportEvent(Base):
    """One support event of the log: when, to which municipalities, for which needs, how much.

    Municipalities are SCB codes (all of the county's when county_wide); needs are question ids (B01-B09).
    An event withdrawn by a later import (`--replace`) keeps its row with withdrawn_at set.
    """

    __tablename__ = "support_events"
    __table_args__ = (
        UniqueConstraint("content_hash", name="uq_support_events_content_hash"),
        Index("ix_support_events_survey_period", "survey_id", "period"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("support_imports.id"), index=True)
    survey_id: Mapped[str] = mapped_column(String(100))
    county: Mapped[str] = mapped_column(String(4))
    datum: Mapped[dt.date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-Qn of datum
    county_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    municipalities: Mapped[list[str]] = mapped_column(JSON)
    recipient: Mapped[str | None] = mapped_column(Text)  # mottagare: an organisation's name
    sector: Mapped[str] = mapped_column(String(50))
    needs: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(20))  # SupportKind
    hours: Mapped[float] = mapped_column(Float)
    participants: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    sheet_row: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SupportQuarantine(Base):
    """A row of a support log kept out of the events: its raw values and every reason."""

    __tablename__ = "support_quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("support_imports.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    sheet_row: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
