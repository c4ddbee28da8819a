"""A respondent's data: everything stored about them (a GDPR access request) and its erasure by decision.

A respondent is found by the keyed hash of their e-mail address, as answers and quarantined rows store it; the
address itself is never written, neither in the export nor in the log of what was done.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, cast, delete, select
from sqlalchemy.orm import Session

from bfs_pipeline import db
from bfs_pipeline.errors import BfsError
from bfs_pipeline.models import PrivacyAction, QuarantinedRow, Response
from bfs_pipeline.privacy import EMAIL_RE, HASHED, email_hash


class PrivacyError(BfsError):
    """A privacy operation cannot be done as asked."""


@dataclass(frozen=True)
class Found:
    responses: list[Response]
    quarantined: list[QuarantinedRow]


def respondent_hash(address: str, key: bytes) -> str:
    if not EMAIL_RE.fullmatch(address.strip()):
        raise PrivacyError(f"{address!r} is not an e-mail address: give the address the respondent answered with.")
    return email_hash(address, key)


def _find(s: Session, digest: str) -> Found:
    token = f"%{HASHED}{digest}%"
    responses = list(s.scalars(select(Response).where(Response.email_hash == digest).order_by(Response.id)))
    quarantined = list(
        s.scalars(
            select(QuarantinedRow)
            .where(cast(QuarantinedRow.raw, String).like(token) | cast(QuarantinedRow.reasons, String).like(token))
            .order_by(QuarantinedRow.id)
        )
    )
    return Found(responses, quarantined)


def export_respondent(engine: Engine, key: bytes, address: str, out: Path) -> dict[str, int]:
    """Write everything stored about the respondent to a JSON file; the counts written."""
    if out.suffix.lower() != ".json":
        raise PrivacyError(f"{out} must end in .json: the export is one JSON file (answers and kept rows).")
    digest = respondent_hash(address, key)
    with Session(engine) as s, s.begin():
        found = _find(s, digest)
        data: dict[str, Any] = {
            "about": "Everything bfs stores about one respondent, found by the keyed hash of their e-mail address. "
            "Answers are stored with the address's hash only; kept rows show each address as hmac-sha256:HASH.",
            "respondent": HASHED + digest,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(),
            "answers": [
                {
                    "survey": r.survey_id,
                    "sector": r.sector,
                    "wave": r.wave,
                    "submitted_at": r.submitted_at.isoformat(),
                    "organisation": r.organisation,
                    "answers": r.answers,
                    "counts_now": r.is_current,
                    "source": Path(r.source).name,
                    "sheet_row": r.sheet_row,
                    "stored_at": r.stored_at.isoformat(),
                }
                for r in found.responses
            ],
            "kept_rows": [
                {
                    "kind": q.kind,
                    "question_id": q.question_id,
                    "source": Path(q.source).name,
                    "sheet_row": q.sheet_row,
                    "cells": q.raw,
                    "reasons": q.reasons,
                }
                for q in found.quarantined
            ],
        }
        s.add(PrivacyAction(action="export", responses=len(found.responses), quarantined=len(found.quarantined)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return {"answers": len(found.responses), "kept_rows": len(found.quarantined)}


def erase_respondent(engine: Engine, key: bytes, address: str, decision: str) -> dict[str, int]:
    """Delete the respondent's answers (every version) and kept rows, and log the decision with the counts.

    Reports already sent stay as they were; the next ones no longer count the answers.
    """
    if not decision.strip():
        raise PrivacyError("--decision is empty: give the reference (diarienummer) of the erasure decision.")
    digest = respondent_hash(address, key)
    with Session(db.writer(engine)) as s, s.begin():
        found = _find(s, digest)
        ids = [r.id for r in found.responses]
        if ids:
            s.execute(delete(Response).where(Response.id.in_(ids)))
        if found.quarantined:
            s.execute(delete(QuarantinedRow).where(QuarantinedRow.id.in_([q.id for q in found.quarantined])))
        s.add(
            PrivacyAction(
                action="erase", decision=decision.strip(), responses=len(ids), quarantined=len(found.quarantined)
            )
        )
    return {"answers": len(found.responses), "kept_rows": len(found.quarantined)}


def privacy_log(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [
            {
                "at": a.at.isoformat(),
                "action": a.action,
                "decision": a.decision,
                "answers": a.responses,
                "kept_rows": a.quarantined,
            }
            for a in s.scalars(select(PrivacyAction).order_by(PrivacyAction.id))
        ]
