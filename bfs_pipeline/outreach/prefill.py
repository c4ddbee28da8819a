"""Pre-filled Google Forms links: for a survey still answered in Google Forms, each actor's link carries a code.

The survey file names, per wave, the form's pre-fill link and the entry id of a hidden "kod" question::

    waves:
      2026-Q4:
        prefill:
          url: https://docs.google.com/forms/d/e/FORM_ID/viewform?usp=pp_url
          entry: entry.1234567890
          title: Kod   # optional: the code question's column title in the response sheet (default Kod or Code)

The invitation then links to the form with the actor's code filled in. The code is derived from the hash key, the
survey, the wave and the actor (HMAC-SHA256, as the web form's tokens are), so it is never stored: the ingest
derives the codes of the county's active actors for the wave and matches a sheet's "Kod" column against them,
exactly, like an answer through a personal link. A code nobody has is not trusted: the row is matched by its
organisation's name instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from bfs_pipeline.errors import SurveyError
from bfs_pipeline.survey import Survey, header_key

ENTRY_RE = re.compile(r"^entry\.\d+$")
CODE_RE = re.compile(r"^[A-Z2-7]{12}$")
CODE_TITLES = ("Kod", "Code")  # the hidden question's column title in a response sheet, unless the wave names one


@dataclass(frozen=True)
class Prefill:
    """One wave's pre-filled Google Form: its link, the code question's entry id and its column title."""

    wave: str
    url: str
    entry: str
    title: str | None = None

    def link(self, code: str) -> str:
        """The form's link with the code filled in (any value the pre-fill link had for the entry replaced)."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != self.entry]
        if not any(k == "usp" for k, _ in query):
            query.insert(0, ("usp", "pp_url"))
        return urlunsplit(parts._replace(query=urlencode([*query, (self.entry, code)])))


def derive_code(key: bytes, survey_id: str, wave: str, actor_id: int) -> str:
    """An actor's code for a wave: 12 characters A-Z and 2-7 (60 bits of an HMAC, base32)."""
    message = f"bfs-form-code\x00{survey_id}\x00{wave}\x00{actor_id}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode("ascii")[:12]


def clean_code(text: str | None) -> str | None:
    """A code as typed or pasted: case, spaces and dashes do not matter; None when it cannot be a code."""
    if not text:
        return None
    code = re.sub(r"[\s-]+", "", text).upper()
    return code if CODE_RE.match(code) else None


def prefills(survey: Survey) -> dict[str, Prefill]:
    """The waves of a survey file that name a pre-filled Google Form (read once while the file is unchanged)."""
    st = survey.path.stat()
    return _read(str(survey.path.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _read(path: str, _mtime: int, _size: int) -> dict[str, Prefill]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: dict[str, Prefill] = {}
    for wave, spec in (data.get("waves") or {}).items():
        raw = (spec or {}).get("prefill") if isinstance(spec, dict) else None
        if raw is not None:
            out[str(wave)] = _prefill(path, str(wave), raw)
    return out


def _prefill(path: str, wave: str, raw: Any) -> Prefill:
    where = f"{path}: waves.{wave}.prefill"
    if not isinstance(raw, dict):
        raise SurveyError(
            f"{where} is not a mapping. Write it as {{url: https://docs.google.com/forms/..., entry: entry.123}}."
        )
    url, entry, title = str(raw.get("url") or "").strip(), str(raw.get("entry") or "").strip(), raw.get("title")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise SurveyError(
            f"{where}.url {url!r} is not an https address. In the Google Form: ⋮ > Get pre-filled link, fill in "
            "the code question with anything, Get link, and paste it here."
        )
    if not ENTRY_RE.match(entry):
        raise SurveyError(
            f"{where}.entry {entry!r} is not an entry id. It is the entry.NNNN part of the pre-filled link that "
            "holds the code question's value, for example entry.1234567890."
        )
    return Prefill(wave, url, entry, str(title).strip() if title else None)


def code_titles(survey: Survey) -> set[str]:
    """The column titles (as header keys) a response sheet's code column may have; none without a pre-filled wave."""
    found = prefills(survey)
    if not found:
        return set()
    titles = {header_key(t) for t in CODE_TITLES}
    return titles | {header_key(p.title) for p in found.values() if p.title}


def actor_codes(key: bytes, survey_id: str, wave: str, actor_ids: Iterable[int]) -> dict[str, int]:
    """Code to actor for a wave: what the ingest matches a sheet's code column against."""
    return {derive_code(key, survey_id, wave, a): a for a in actor_ids}
