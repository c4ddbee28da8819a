"""Google Sheets as a source: form response sheets read with gspread, exactly, with bounded retries.

gspread sits behind this adapter (its maintenance is uncertain): only `fetch_sheet_metadata` and
`values_batch_get` of its HTTP client are used, with our own timeout, retry and quota handling.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bfs_pipeline.config import Settings, SheetConfig
from bfs_pipeline.errors import SourceError, TransientSourceError
from bfs_pipeline.sources.base import RawBatch, SheetHints, SourceKind

READONLY_SCOPES = ["https://www.googleapis.com/auth/spreadsheets.readonly"]
DEFAULT_WORKSHEETS = ("Formulärsvar 1", "Form Responses 1")
TRANSIENT = {408, 429, 500, 502, 503, 504}
TIMEOUT = (10.0, 60.0)  # connect, read: no request may hang the flow


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter, on 408, 429, 5xx and timeouts only."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * 2**attempt) * (0.5 + 0.5 * self.jitter()))


@dataclass
class RateLimiter:
    """At most `per_minute` requests in any 60 s (Sheets: 60 reads per minute per user)."""

    per_minute: int = 60
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    sent: collections.deque[float] = field(default_factory=collections.deque)

    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        with self.lock:  # sheets are pulled side by side in threads
            now = self.clock()
            while self.sent and now - self.sent[0] >= 60:
                self.sent.popleft()
            if len(self.sent) >= self.per_minute:
                self.sleep(60 - (now - self.sent[0]))
                self.sent.popleft()
            self.sent.append(self.clock())


def service_account_client(path: Path | None) -> tuple[Any, str]:
    """A gspread client with the read-only Sheets scope, and the service account's e-mail."""
    if path is None:
        raise SourceError(
            "Google Sheets sources are configured but BFS_GOOGLE_SERVICE_ACCOUNT_FILE is not set: "
            "point it at the service account's JSON key (README, 'Google Sheets')."
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        email = str(info["client_email"])
    except FileNotFoundError:
        raise SourceError(
            f"BFS_GOOGLE_SERVICE_ACCOUNT_FILE={path} does not exist: download the service account's JSON key there."
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise SourceError(
            f"BFS_GOOGLE_SERVICE_ACCOUNT_FILE={path} is not a readable service-account JSON key: download a new key."
        ) from None
    import gspread

    try:
        client = gspread.service_account_from_dict(info, scopes=READONLY_SCOPES)
    except (ValueError, KeyError) as exc:
        raise SourceError(
            f"BFS_GOOGLE_SERVICE_ACCOUNT_FILE={path} cannot be used ({exc}): download a new key."
        ) from None
    return client, email


@dataclass
class GoogleAccount:
    """A read-only Sheets client, the service account's address (for error messages), one quota and one retry policy."""

    client: Any
    email: str = "the service account"
    limiter: RateLimiter = field(default_factory=RateLimiter)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def connect(settings: Settings) -> GoogleAccount:
    """The account of BFS_GOOGLE_SERVICE_ACCOUNT_FILE: one quota for every sheet read with it."""
    client, email = service_account_client(settings.google_service_account_file)
    return GoogleAccount(client, email)


def _cell(value: Any) -> str:
    """Unformatted values as text: serial date-times stay numbers, codes typed as text stay text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


@dataclass
class GoogleSheetSource:
    """One response sheet, read with unformatted values and serial date-times in the sheet's own zone."""

    config: SheetConfig
    account: GoogleAccount
    given: SheetHints = field(default_factory=SheetHints)
    kind: SourceKind = SourceKind.GSHEET

    def __post_init__(self) -> None:
        self.account.client.set_timeout(TIMEOUT)

    @property
    def name(self) -> str:
        return f"gsheet:{self.config.name}"

    @property
    def label(self) -> str:
        return self.config.name

    @property
    def hints(self) -> SheetHints:
        return self.given.over(self.config.sector, self.config.wave)

    def fingerprint(self) -> str | None:
        return None  # only reading the sheet tells whether it changed

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        import gspread
        import requests

        last = ""
        for attempt in range(self.account.retry.attempts):
            self.account.limiter.wait()
            try:
                return fn()
            except gspread.exceptions.APIError as exc:
                status = exc.response.status_code
                if status == 403:
                    raise SourceError(
                        f'Source "{self.label}": {self.account.email} may not read spreadsheet {self.config.key} '
                        f"(403). Share the sheet with {self.account.email} as a viewer."
                    ) from None
                if status == 404:
                    raise SourceError(
                        f'Source "{self.label}": spreadsheet {self.config.key} does not exist (404). '
                        "Check spreadsheet = in bfs.toml."
                    ) from None
                if status not in TRANSIENT:
                    raise SourceError(
                        f'Source "{self.label}": Google refused {what} ({status}: {_reason(exc)}). '
                        "Check the source in bfs.toml."
                    ) from None
                last = f"{status} {_reason(exc)}"
            except (requests.Timeout, requests.ConnectionError) as exc:
                last = f"no answer ({type(exc).__name__})"
            if attempt + 1 < self.account.retry.attempts:
                self.account.retry.sleep(self.account.retry.delay(attempt))
        raise TransientSourceError(
            f'Source "{self.label}": Google did not answer {what} after {self.account.retry.attempts} tries '
            f"(last: {last}). Nothing was changed; the next run tries again."
        )

    def read(self) -> RawBatch:
        http = self.account.client.http_client
        key = self.config.key
        meta = self._call("the spreadsheet's metadata", lambda: http.fetch_sheet_metadata(key))
        tabs = [s["properties"]["title"] for s in meta.get("sheets", [])]
        wanted = [self.config.worksheet] if self.config.worksheet else list(DEFAULT_WORKSHEETS)
        title = next((t for t in wanted if t in tabs), None)
        if title is None:
            raise SourceError(
                f'Source "{self.label}": spreadsheet {key} has no tab {" or ".join(repr(w) for w in wanted)} '
                f"(its tabs: {', '.join(tabs) or 'none'}). "
                "Set worksheet = for this source in bfs.toml."
            )
        params = {
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS",
        }
        quoted = "'" + title.replace("'", "''") + "'"
        data = self._call("the answers", lambda: http.values_batch_get(key, [quoted], params=dict(params)))
        values = (data.get("valueRanges") or [{}])[0].get("values") or []
        header = [_cell(v) for v in values[0]] if values else []
        width = max([len(header), *(len(r) for r in values[1:])])
        header += [""] * (width - len(header))
        rows = [[_cell(v) for v in r] + [""] * (width - len(r)) for r in values[1:]]
        return RawBatch(
            source=self.name,
            header=header,
            rows=rows,
            sheet_rows=list(range(2, len(rows) + 2)),
            survey_id=self.config.survey,
            sector=self.hints.sector,
            wave=self.hints.wave,
            locale=self.hints.locale,
            timezone=meta.get("properties", {}).get("timeZone") or None,
            fetched_at=dt.datetime.now(dt.UTC),
        )


def _reason(exc: Any) -> str:
    try:
        return str(exc.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "error"
