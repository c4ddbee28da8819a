"""Pre-filled Google Forms links: for a survey still answered in Google Forms, each actor's link carries a code.

The survey file names, per wave, the form's pre-fill link and the entry id of a hidden "kod" question::

    waves:
      2026-Q4:
        prefill:
          url: https://docs.google.com/forms/d/e/FORM_ID/viewform?usp=pp_url
          entry: entry.1234567890
          title: Kod   # optional: the code question's column title in the response sheet (default Kod or Code)

The survey loader reads and checks it (survey.Prefill). The invitation then links to the form with the actor's
code filled in. The code is derived from the hash key, the survey, the wave and the actor (HMAC-SHA256, as the web
form's tokens are), so it is never stored: the ingest derives the codes of the county's active actors for the wave
and matches a sheet's "Kod" column against them, exactly, like an answer through a personal link. A code nobody has
is not trusted: the row is matched by its organisation's name instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable

from bfs_pipeline.survey import Prefill, Survey, header_key

__all__ = ["CODE_RE", "CODE_TITLES", "Prefill", "actor_codes", "clean_code", "code_titles", "derive_code", "prefills"]

CODE_RE = re.compile(r"^[A-Z2-7]{12}$")
CODE_TITLES = ("Kod", "Code")  # the hidden question's column title in a response sheet, unless the wave names one


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
    """The waves of a survey file that name a pre-filled Google Form (read with the survey file)."""
    return survey.prefills


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
