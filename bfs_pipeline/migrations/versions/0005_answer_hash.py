"""answers' content hashes computed with orjson (as ingest.answer_hash does from now on)

Every stored answer gets its hash again, from the same fields ingest hashes, so that a sheet read before
this version still finds its answers as duplicates.

Revision ID: 0005
Revises: 0004
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000


def _hash(record: dict[str, Any]) -> str:
    try:
        blob = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        blob = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _old_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    ).hexdigest()


def _utc(ts: dt.datetime | str) -> dt.datetime:
    if isinstance(ts, str):  # SQLite through plain text
        ts = dt.datetime.fromisoformat(ts)
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def upgrade() -> None:
    _rehash(_hash)


def downgrade() -> None:
    _rehash(_old_hash)


def _rehash(fn: Callable[[dict[str, Any]], str]) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, survey_id, sector, wave, submitted_at, email_hash, answers FROM responses WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        updates = []
        for r in rows:
            answers = json.loads(r.answers) if isinstance(r.answers, str) else r.answers
            record = {
                "survey": r.survey_id,
                "sector": r.sector,
                "wave": r.wave,
                "submitted_at": _utc(r.submitted_at).isoformat(),
                "email": r.email_hash,
                "answers": answers,
            }
            updates.append({"h": fn(record), "i": r.id})
        conn.execute(sa.text("UPDATE responses SET content_hash = :h WHERE id = :i"), updates)
        last = rows[-1].id
