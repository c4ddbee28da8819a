"""SQLAlchemy 2 models: ingest runs, responses, quarantined rows and the outbox."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


def all_metadata() -> Any:
    """Every table's metadata: the tables here and those kept beside their capability (support log, population,
    answer exports), for Alembic and for dropping the demo's tables."""
    from bfs_pipeline import population  # noqa: F401
    from bfs_pipeline.records import answers_export  # noqa: F401
    from bfs_pipeline.support import models  # noqa: F401

    return Base.metadata


class IngestRun(Base):
    """One answer sheet read once: where from, what happened, and the counts (which always add up)."""

    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text)
    survey_id: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str | None] = mapped_column(String(50))
    wave: Mapped[str | None] = mapped_column(String(7))
    sheet_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # ingest.RunStatus
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid:start of the process running it
    error: Mapped[str | None] = mapped_column(Text)
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    blank: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    set_aside: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # answers, not rows (0010)


class Response(Base):
    """One accepted answer row. Older versions of a resubmitted answer stay, with is_current false."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("content_hash", name="uq_responses_content_hash"),
        Index("ix_responses_wave", "survey_id", "wave"),
        Index("ix_responses_respondent_key", "survey_id", "respondent_key"),
        # one current answer per respondent and wave, whatever runs at once (migration 0006)
        Index(
            "uq_responses_current",
            "survey_id",
            "wave",
            "respondent_key",
            unique=True,
            sqlite_where=text("is_current AND respondent_key IS NOT NULL"),
            postgresql_where=text("is_current AND respondent_key IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"))
    survey_id: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str] = mapped_column(String(50))
    wave: Mapped[str] = mapped_column(String(7))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    respondent_key: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    sheet_row: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the actor, where a personal link says (0011)
    matched_by: Mapped[str | None] = mapped_column(String(10))  # "code": a pre-filled form's code named it (0017)


class KeptKind(StrEnum):
    """What a quarantine entry keeps (stored as text in quarantine.kind)."""

    ROW = "row"  # the whole response was quarantined: not stored as an answer
    ANSWER = "answer"  # the response was accepted; this one answer to an optional question was set aside


class QuarantinedRow(Base):
    """A row kept out of the answers, or one answer set aside from an accepted row: its raw values and reasons.

    Raw values are kept as read, e-mail addresses as their keyed hashes. An answer set aside names its question and
    the content hash of the response it was taken from (migration 0010).
    """

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    sheet_row: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(10), default=KeptKind.ROW, server_default=KeptKind.ROW.value)
    question_id: Mapped[str | None] = mapped_column(String(100))
    response_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class Delivery(Base):
    """One message to one recipient (a report, an invitation, a reminder, a digest): pending → sending → sent,
    failed or uncertain. `kind` says which (migration 0014); invitations and reminders name their actor."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("report_key", "recipient", name="uq_deliveries_report_recipient"),
        Index("ix_deliveries_kind_period", "kind", "period"),  # migration 0014
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_key: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(7))
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    transport: Mapped[str] = mapped_column(String(10))  # smtp or file
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    data_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="report", server_default="report")  # mailer.MessageKind
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # an invitation's or reminder's actor


class OptOut(Base):
    """An actor that asked for no more reminders (`/f/TOKEN/avregistrera`), and when; never reminded again."""

    __tablename__ = "opt_outs"
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    wave: Mapped[str | None] = mapped_column(String(7))  # the wave whose link it came through


class Actor(Base):
    """An organisation expected to answer: the roster that coverage is measured against."""

    __tablename__ = "actors"
    __table_args__ = (UniqueConstraint("county", "name_key", "sector", name="uq_actors_county_name_sector"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county: Mapped[str] = mapped_column(String(4), server_default="")  # the county whose roster names the actor
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(String(300))  # folded for matching answers' organisation names
    sector: Mapped[str] = mapped_column(String(50))
    municipalities: Mapped[list[str]] = mapped_column(JSON)
    contact_email: Mapped[str | None] = mapped_column(String(320))  # an organisation's address, for reminders
    lang: Mapped[str] = mapped_column(String(2), default="sv", server_default="sv")  # its messages' language (0012)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # rapport = ja in the roster: its contact gets the municipality's own report (0018)
    report_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PrivacyAction(Base):
    """One access export or erasure: when, the decision it rests on, how many rows; never whose (no address, hash)."""

    __tablename__ = "privacy_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # export or erase
    decision: Mapped[str | None] = mapped_column(Text)  # the diarienummer of the decision (erase)
    responses: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[int] = mapped_column(Integer)


class Wave(Base):
    """One survey's wave opened for answers by personal link: until its deadline, or until closed early."""

    __tablename__ = "waves"
    __table_args__ = (UniqueConstraint("survey_id", "wave", name="uq_waves_survey_wave"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(100))
    wave: Mapped[str] = mapped_column(String(7))
    deadline: Mapped[dt.date] = mapped_column(Date)  # the last day answers are taken (Europe/Stockholm)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # closed early


class WaveLink(Base):
    """An actor's personal link for a wave. Only a digest of the token is kept: the token itself is derived again
    from the hash key when it is printed, so a copy of the database opens no form."""

    __tablename__ = "wave_links"
    __table_args__ = (UniqueConstraint("wave_id", "actor_id", name="uq_wave_links_wave_actor"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token: finds, never opens
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class FormDraft(Base):
    """What an actor typed and saved without submitting ("Spara utkast"): the form's fields as typed."""

    __tablename__ = "form_drafts"
    link_id: Mapped[int] = mapped_column(ForeignKey("wave_links.id"), primary_key=True)
    fields: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActorAlias(Base):
    """A name that answers use for a roster actor, confirmed by a person (`bfs actors alias TEXT ACTOR_ID`):
    counted as that actor in this and later waves."""

    __tablename__ = "actor_aliases"
    __table_args__ = (UniqueConstraint("alias_key", "sector", "actor_id", name="uq_actor_aliases_key_sector_actor"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    alias: Mapped[str] = mapped_column(Text)  # as the answers wrote it
    alias_key: Mapped[str] = mapped_column(String(300), index=True)  # normalised (outreach.matching.match_key)
    sector: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
