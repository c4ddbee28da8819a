"""How long answer sheets stay in the inbox: a sheet read without trouble moves to read/YYYY-Qn/ beside it, and
BFS_INBOX_KEEP_DAYS (unset: for ever) removes read sheets older than that, each removal logged with its digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

READ = "read"  # the folder of read sheets, inside the inbox (or inside a survey's inbox folder)
REMOVALS = "removed.log"  # JSON Lines under inbox/read/: when, which file, its SHA-256


def quarter(now: dt.datetime) -> str:
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def file_away(folder: Path, path: Path, wave: str | None, now: dt.datetime | None = None) -> Path | None:
    """Move a sheet that was read without trouble to folder/read/WAVE/ (the quarter of now without a wave); its
    time is set to now, so that BFS_INBOX_KEEP_DAYS counts from the reading. None when it is not in the folder."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        rel = path.resolve().relative_to(folder.resolve())
    except ValueError:
        return None  # a --file from elsewhere stays where it is
    if READ in rel.parts[:-1] or not path.is_file():
        return None
    target_dir = folder / READ / (wave or quarter(now))
    target_dir.mkdir(parents=True, exist_ok=True)
    target, n = target_dir / path.name, 1
    while target.exists():
        n += 1
        target = target_dir / f"{path.stem}-{n}{path.suffix}"
    os.replace(path, target)
    stamp = now.timestamp()
    os.utime(target, (stamp, stamp))
    return target


def prune(inbox: Path, keep_days: int | None, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Remove read sheets older than keep_days (None: keep them all); each removal is logged with its digest."""
    if keep_days is None or not inbox.is_dir():
        return []
    now = now or dt.datetime.now(dt.UTC)
    limit = (now - dt.timedelta(days=keep_days)).timestamp()
    removed = []
    for path in sorted(inbox.rglob("*")):
        rel = path.relative_to(inbox).parts
        if READ not in rel[:-1] or path.name == REMOVALS or not path.is_file() or path.stat().st_mtime >= limit:
            continue
        entry = {
            "removed_at": now.isoformat(),
            "file": str(path.relative_to(inbox)),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "read_at": dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(),
        }
        path.unlink()
        log = inbox / READ / REMOVALS
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        removed.append(entry)
    return removed
