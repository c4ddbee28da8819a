"""e-mail addresses in quarantined rows replaced by their keyed hashes

Versions before this one kept a quarantined or held row whole, its E-postadress column included. Every address
in a kept cell (and in a reason's value) becomes hmac-sha256:HASH, the hash an accepted answer stores, so the
row can still be matched to its respondent. The key is the installation's BFS_HASH_KEY (or its key file): bfs
hands it to this migration; it is asked for only when some row holds an address.

Revision ID: 0007
Revises: 0006
"""

import hashlib
import hmac
import json
import re
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 2000
HASHED = "hmac-sha256:"
EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _mask(value: Any, key: bytes) -> Any:
    if isinstance(value, str) and "@" in value:
        return EMAIL_RE.sub(
            lambda m: HASHED + hmac.new(key, m.group(0).strip().lower().encode("utf-8"), hashlib.sha256).hexdigest(),
            value,
        )
    if isinstance(value, dict):
        return {k: _mask(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    return value


def _load(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def upgrade() -> None:
    conn = op.get_bind()
    table = sa.table(
        "quarantine", sa.column("id", sa.Integer), sa.column("raw", sa.JSON), sa.column("reasons", sa.JSON)
    )
    provider = context.config.attributes.get("hash_key")
    key: bytes | None = None
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, raw, reasons FROM quarantine WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for row_id, raw, reasons in rows:
            raw, reasons = _load(raw), _load(reasons)
            if "@" not in json.dumps([raw, reasons], ensure_ascii=False):
                continue
            if key is None:
                if provider is None:
                    raise RuntimeError(
                        "Quarantined rows hold e-mail addresses in clear: run any bfs command (it knows BFS_HASH_KEY) "
                        "to hash them."
                    )
                key = provider()
            conn.execute(
                sa.update(table).where(table.c.id == row_id).values(raw=_mask(raw, key), reasons=_mask(reasons, key))
            )
        last = rows[-1][0]


def downgrade() -> None:
    pass  # a keyed hash cannot be turned back into the address
