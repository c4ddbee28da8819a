"""Keyed hashes of respondent e-mails: resubmissions can be spotted without keeping the address."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from bfs_pipeline.errors import SettingsError

KEY_FILE = "hash.key"


def hash_key(configured: str | None, home: Path, create: bool = True) -> bytes:
    """BFS_HASH_KEY if set; otherwise a key kept (mode 0600) under BFS_HOME, made on first use."""
    if configured:
        if len(configured) < 16:
            raise SettingsError(
                "BFS_HASH_KEY is shorter than 16 characters: use a long random secret "
                "(python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        return configured.encode("utf-8")
    path = home / KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    if not create:
        raise SettingsError(f"No BFS_HASH_KEY and no {path}: set BFS_HASH_KEY to a long random secret.")
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def email_hash(email: str, key: bytes) -> str:
    """HMAC-SHA256 of the address, trimmed and lower-cased."""
    return hmac.new(key, email.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


HASHED = "hmac-sha256:"  # what stands for an address wherever a raw cell is kept (quarantine, exports)
EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def masked(text: str, key: bytes) -> str:
    """The text with every e-mail address in it replaced by hmac-sha256:HASH, the keyed hash an accepted answer
    stores (so that a kept row can still be matched to its respondent, and never shows the address)."""
    if "@" not in text:
        return text
    return EMAIL_RE.sub(lambda m: HASHED + email_hash(m.group(0), key), text)


def hash_of(cell: str, key: bytes) -> str:
    """The keyed hash of an e-mail cell: computed, or taken as it stands where the cell already holds one."""
    return cell.removeprefix(HASHED) if cell.startswith(HASHED) else email_hash(cell, key)
