"""Reading what is stored: responses that count, quarantined rows, runs and the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from bfs_pipeline.models import Delivery, IngestRun, KeptKind, QuarantinedRow, Response


def current_responses(engine: Engine, survey_id: str) -> pd.DataFrame:
    """The responses that count now (one per respondent and wave), with their answers as a dict column."""
    with Session(engine) as s:
        rows = s.execute(
            select(
                Response.id,
                Response.sector,
                Response.wave,
                Response.organisation,
                Response.submitted_at,
                Response.answers,
                Response.content_hash,
                Response.actor_id,
                Response.source,
                Response.matched_by,
            ).where(Response.survey_id == survey_id, Response.is_current.is_(True))
        ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "sector",
            "wave",
            "organisation",
            "submitted_at",
            "answers",
            "content_hash",
            "actor_id",
            "source",
            "matched_by",
        ],
    )


def latest_runs(s: Session) -> Any:
    """Per source, its newest run that finished reading (ok or held): the sheet's state now."""
    return select(func.max(IngestRun.id)).where(IngestRun.status.in_(("ok", "held"))).group_by(IngestRun.source)


def waiting_rows(s: Session) -> ColumnElement[bool]:
    """Quarantined rows of each source's latest run: the rows that still wait for a fix."""
    return and_(QuarantinedRow.kind == KeptKind.ROW, QuarantinedRow.run_id.in_(latest_runs(s)))


def answers_set_aside(s: Session) -> ColumnElement[bool]:
    """Answers set aside in each source's latest run, or from a response that counts now, whichever run set it aside.

    A sheet read again sets nothing aside again (its rows are duplicates), so the run that set an answer aside
    may be an earlier one; an answer whose response a newer one replaced since, in a later read, no longer waits.
    """
    current = select(Response.content_hash).where(Response.is_current.is_(True))
    return and_(
        QuarantinedRow.kind == KeptKind.ANSWER,
        or_(QuarantinedRow.run_id.in_(latest_runs(s)), QuarantinedRow.response_hash.in_(current)),
    )


def quarantine_rows(engine: Engine, run_id: int | None = None) -> list[dict[str, Any]]:
    """What was kept out, each entry of kind "row" (a quarantined row) or "answer" (an answer set aside from an
    accepted row): those of one run, or by default what still waits for a fix (the quarantined rows of each source's
    latest run, and the answers set aside in it or from responses that count now)."""
    with Session(engine) as s:
        q = select(QuarantinedRow).order_by(QuarantinedRow.run_id, QuarantinedRow.sheet_row, QuarantinedRow.id)
        if run_id is not None:
            q = q.where(QuarantinedRow.run_id == run_id)
        else:
            q = q.where(or_(waiting_rows(s), answers_set_aside(s)))
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "run_id": r.run_id,
                "source": r.source,
                "sheet_row": r.sheet_row,
                "question_id": r.question_id,
                "reasons": r.reasons,
                "raw": r.raw,
            }
            for r in s.scalars(q)
        ]


@dataclass
class StoreStatus:
    """What `bfs status` reports: counts that hold now, the waves with answers, the last runs, the outbox by state."""

    responses: int  # responses that count now (one per respondent and wave)
    stored_versions: int  # every stored answer, older versions of resubmissions included
    quarantined: int  # quarantined rows of each source's latest run
    set_aside: int  # answers set aside that still wait (as quarantine_rows lists them)
    waves: list[str]
    responses_per_wave: dict[str, int]
    outbox: dict[str, int]
    last_runs: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(engine: Engine, survey_id: str | None = None, runs: int = 10) -> StoreStatus:
    """What `bfs status` reports: counts that hold now, the waves with answers, the last runs, the outbox."""
    with Session(engine) as s:
        cond: list[ColumnElement[bool]] = [Response.is_current.is_(True)]
        if survey_id:
            cond.append(Response.survey_id == survey_id)
        responses = s.scalar(select(func.count()).select_from(Response).where(*cond)) or 0
        history = s.scalar(select(func.count()).select_from(Response)) or 0
        quarantined = s.scalar(select(func.count()).select_from(QuarantinedRow).where(waiting_rows(s))) or 0
        set_aside = s.scalar(select(func.count()).select_from(QuarantinedRow).where(answers_set_aside(s))) or 0
        waves = sorted(w for (w,) in s.execute(select(Response.wave).where(*cond).distinct()))
        per_wave = {
            w: n for w, n in s.execute(select(Response.wave, func.count()).where(*cond).group_by(Response.wave))
        }
        outbox = {state: n for state, n in s.execute(select(Delivery.state, func.count()).group_by(Delivery.state))}
        last = s.scalars(select(IngestRun).order_by(IngestRun.id.desc()).limit(runs)).all()
        return StoreStatus(
            responses=responses,
            stored_versions=history,
            quarantined=quarantined,
            set_aside=set_aside,
            waves=waves,
            responses_per_wave=per_wave,
            outbox=outbox,
            last_runs=[
                {
                    "run_id": r.id,
                    "source": r.source,
                    "status": r.status,
                    "started_at": r.started_at.isoformat(),
                    "rows_seen": r.rows_seen,
                    "accepted": r.accepted,
                    "duplicates": r.duplicates,
                    "blank": r.blank,
                    "quarantined": r.quarantined,
                    "set_aside": r.set_aside,
                    "error": r.error,
                }
                for r in last
            ],
        )
