"""The Google Sheets adapter at the HTTP layer: real Sheets API v4 URLs and JSON shapes, served by `responses`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
import responses
from responses import matchers

from bfs_pipeline import pipeline, store
from bfs_pipeline.config import SheetConfig
from bfs_pipeline.errors import SourceError, TransientSourceError
from bfs_pipeline.sources import gsheets
from bfs_pipeline.sources.gsheets import GoogleAccount, GoogleSheetSource, RateLimiter, RetryPolicy
from tests.conftest import good_row

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
META_URL = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}"
VALUES_URL = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}/values:batchGet"
ACCOUNT = "bfs-reader@bfs-project.iam.gserviceaccount.com"


def metadata(
    tabs: tuple[str, ...] = ("Formulärsvar 1",), tz: str = "Europe/Stockholm", locale: str = "sv_SE"
) -> dict[str, Any]:
    return {
        "spreadsheetId": KEY,
        "properties": {
            "title": "Behovsenkät kommun (svar)",
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": tz,
        },
        "sheets": [
            {
                "properties": {
                    "sheetId": 1000 + i,
                    "title": t,
                    "index": i,
                    "sheetType": "GRID",
                    "gridProperties": {"rowCount": 1000, "columnCount": 26},
                }
            }
            for i, t in enumerate(tabs)
        ],
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{KEY}/edit",
    }


def values(rows: list[list[Any]], tab: str = "Formulärsvar 1") -> dict[str, Any]:
    return {
        "spreadsheetId": KEY,
        "valueRanges": [{"range": f"'{tab}'!A1:Z1000", "majorDimension": "ROWS", "values": rows}],
    }


def error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(sector: str = "kommun", worksheet: str | None = None, attempts: int = 4) -> tuple[GoogleSheetSource, Sleeps]:
    sleeps = Sleeps()
    client = gspread.Client(None, session=requests.Session())  # no credentials: the fake is at the HTTP layer
    cfg = SheetConfig(
        name=f"{sector}-form",
        sector=sector,
        spreadsheet=f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0",
        worksheet=worksheet,
    )
    policy = RetryPolicy(attempts=attempts, base=1, cap=8, sleep=sleeps, jitter=lambda: 1.0)
    src = GoogleSheetSource(cfg, GoogleAccount(client, ACCOUNT, RateLimiter(sleep=sleeps), policy))
    return src, sleeps


def sheet_rows(survey, sector: str = "kommun", email: str = "samordnare@karlskrona.example.se") -> list[list[Any]]:
    """A response sheet as the API returns it unformatted: serial timestamps, numbers as numbers, codes as text."""
    cols = survey.columns(sector)
    header = [c.title for c in cols]
    row = good_row(timestamp="", K04="", K07="", email=email)
    cells: list[Any] = [row.get(c.question_id or c.type, "") for c in cols]
    cells[0] = 46095.432303  # 2026-03-14 10:22:31 in the sheet's zone
    by_id = {c.question_id: i for i, c in enumerate(cols) if c.question_id}
    for qid, value in (("K04", 0.5), ("K07", 12), ("B01", 4)):
        if qid in by_id:
            cells[by_id[qid]] = value
    while cells and cells[-1] == "":
        cells.pop()  # the API leaves out trailing empty cells
    return [header, cells]


@responses.activate
def test_reads_unformatted_values_in_the_sheets_zone(survey, settings):
    responses.get(META_URL, json=metadata(), match=[matchers.query_param_matcher({"includeGridData": "false"})])
    responses.get(
        VALUES_URL,
        json=values(sheet_rows(survey)),
        match=[
            matchers.query_param_matcher(
                {
                    "ranges": "'Formulärsvar 1'",
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                    "majorDimension": "ROWS",
                }
            )
        ],
    )
    src, _ = source()
    batch = src.read()
    assert batch.source == "gsheet:kommun-form" and batch.timezone == "Europe/Stockholm" and batch.sector == "kommun"
    assert batch.sheet_rows == [2] and len(batch.rows[0]) == len(batch.header)
    assert batch.rows[0][0] == "46095.432303" and "0.5" in batch.rows[0] and "12" in batch.rows[0]
    for call in responses.calls:
        assert call.request.req_kwargs["timeout"] == gsheets.TIMEOUT
    engine = pipeline.open_store(settings)
    res = pipeline.ingest_one(engine, settings, survey, batch)
    assert res.accepted == 1, store.quarantine_rows(engine)
    row = pipeline.current_responses(engine, survey.id).iloc[0]
    engine.dispose()
    assert (
        row["answers"]["K04"] == 0.5
        and row["answers"]["K07"] == 12
        and row["answers"]["B01"] == "4"
        and row["answers"]["C01"] == ["1080"]
    )
    ts = row["submitted_at"]
    assert (ts.hour, ts.minute, ts.second) in ((9, 22, 31), (9, 22, 30)) and row["wave"] == "2026-Q1"


@responses.activate
def test_english_tab_and_other_time_zone(survey):
    responses.get(META_URL, json=metadata(tabs=("Form Responses 1",), tz="America/New_York", locale="en_US"))
    responses.get(VALUES_URL, json=values(sheet_rows(survey), tab="Form Responses 1"))
    batch = source()[0].read()
    assert batch.timezone == "America/New_York"


@responses.activate
def test_429_then_200_is_retried_with_backoff(survey):
    responses.get(
        META_URL, json=error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'"), status=429
    )
    responses.get(META_URL, json=metadata())
    responses.get(VALUES_URL, json=values(sheet_rows(survey)))
    src, sleeps = source()
    assert src.read().rows
    assert len(responses.calls) == 3 and sleeps == [1.0]


@responses.activate
def test_500s_until_retries_run_out():
    responses.get(META_URL, json=error(500, "INTERNAL", "Internal error encountered."), status=500)
    src, sleeps = source(attempts=4)
    with pytest.raises(
        TransientSourceError,
        match=r'Source "kommun-form": Google did not answer .* after 4 tries \(last: 500 Internal error encountered.\)',
    ):
        src.read()
    assert len(responses.calls) == 4 and sleeps == [1.0, 2.0, 4.0]


@responses.activate
def test_hanging_request_times_out_and_is_bounded():
    responses.get(META_URL, body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"))
    src, sleeps = source(attempts=3)
    with pytest.raises(TransientSourceError, match=r"after 3 tries \(last: no answer \(ReadTimeout\)\)"):
        src.read()
    assert len(responses.calls) == 3 and all(s <= 8 for s in sleeps)


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(base=1, cap=32, jitter=lambda: 0.0)
    assert [policy.delay(a) for a in range(8)] == [0.5, 1, 2, 4, 8, 16, 16, 16]


@responses.activate
def test_403_names_the_account_and_is_not_retried():
    responses.get(META_URL, json=error(403, "PERMISSION_DENIED", "The caller does not have permission"), status=403)
    src, sleeps = source()
    with pytest.raises(SourceError) as exc:
        src.read()
    assert str(exc.value) == (
        f'Source "kommun-form": {ACCOUNT} may not read spreadsheet {KEY} (403). '
        f"Share the sheet with {ACCOUNT} as a viewer."
    )
    assert not isinstance(exc.value, TransientSourceError) and len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_404():
    responses.get(META_URL, json=error(404, "NOT_FOUND", "Requested entity was not found."), status=404)
    with pytest.raises(
        SourceError, match=rf"spreadsheet {KEY} does not exist \(404\)\. Check spreadsheet = in bfs.toml\."
    ):
        source()[0].read()
    assert len(responses.calls) == 1


@responses.activate
def test_renamed_worksheet():
    responses.get(META_URL, json=metadata(tabs=("Svar vår 2026", "Blad2")))
    with pytest.raises(
        SourceError,
        match=r"has no tab 'Formulärsvar 1' or 'Form Responses 1' \(its tabs: Svar vår 2026, Blad2\)\. Set worksheet =",
    ):
        source()[0].read()


@responses.activate
def test_duplicate_and_blank_headers_hold_the_sheet(survey, settings):
    rows = sheet_rows(survey)
    dup = [[*rows[0], rows[0][5]], [*rows[1], *[""] * (len(rows[0]) - len(rows[1])), "3"]]
    responses.get(META_URL, json=metadata())
    responses.get(VALUES_URL, json=values(dup))
    engine = pipeline.open_store(settings)
    res = pipeline.ingest_one(engine, settings, survey, source()[0].read())
    assert res.status == "held" and "appears twice" in (res.error or "")
    blank = [[*rows[0], ""], [*rows[1], *[""] * (len(rows[0]) - len(rows[1])), "x"]]
    responses.replace(responses.GET, VALUES_URL, json=values(blank))
    res = pipeline.ingest_one(engine, settings, survey, source()[0].read())
    engine.dispose()
    assert res.status == "held" and f"Column {len(rows[0]) + 1} has answers but no title" in (res.error or "")


def test_rate_limit_waits_at_the_quota():
    now = [0.0]
    sleeps = Sleeps()

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    limiter = RateLimiter(per_minute=60, clock=lambda: now[0], sleep=sleep)
    for _ in range(60):
        limiter.wait()
        now[0] += 0.1
    limiter.wait()
    assert len(sleeps) == 1 and 53 < sleeps[0] <= 60


def test_credentials_missing_or_unreadable(tmp_path: Path):
    with pytest.raises(SourceError, match="BFS_GOOGLE_SERVICE_ACCOUNT_FILE is not set"):
        gsheets.service_account_client(None)
    with pytest.raises(SourceError, match="does not exist"):
        gsheets.service_account_client(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceError, match="is not a readable service-account JSON key"):
        gsheets.service_account_client(tmp_path / "bad.json")


# The pipeline above the adapter, with configured sources


TOKEN_URL = "https://oauth2.googleapis.com/token"


def service_account_key(folder: Path) -> Path:
    """A service-account JSON key as Google issues it, with a new RSA key: google-auth signs a real JWT with it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = {
        "type": "service_account",
        "project_id": "bfs-test",
        "private_key_id": "0" * 40,
        "private_key": pem.decode(),
        "client_email": ACCOUNT,
        "client_id": "1" * 21,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URL,
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def token_endpoint(mock: responses.RequestsMock) -> None:
    """Google's OAuth token endpoint, as it answers a service account's signed assertion."""
    mock.post(TOKEN_URL, json={"access_token": "ya29.test-token", "expires_in": 3599, "token_type": "Bearer"})


@pytest.fixture
def google(settings, tmp_path):
    """Settings with two configured sheets and a real service-account key; Google's HTTP is served by `responses`."""
    other = "2ZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZz"
    cfgs = (SheetConfig("kommun-form", "kommun", KEY), SheetConfig("polis-form", "polis", other))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token_endpoint(mock)
        yield replace(settings, sources=cfgs, google_service_account_file=service_account_key(tmp_path)), mock, other


def test_one_failing_source_does_not_stop_the_others(google, survey):
    settings, mock, other = google
    mock.get(META_URL, json=metadata())
    mock.get(VALUES_URL, json=values(sheet_rows(survey)))
    mock.get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{other}", json=error(403, "PERMISSION_DENIED", "no"), status=403
    )
    results = {r.source: r for r in pipeline.ingest_files(settings)}
    assert results["gsheet:kommun-form"].accepted == 1
    assert results["gsheet:polis-form"].status == "failed" and "may not read" in (
        results["gsheet:polis-form"].error or ""
    )


def test_edited_answer_replaces_the_earlier_version(google, survey):
    settings, mock, _ = google
    first = sheet_rows(survey)
    mock.get(META_URL, json=metadata())
    mock.get(VALUES_URL, json=values(first))
    pipeline.ingest_files(settings, only="kommun-form")
    edited = [first[0], list(first[1])]
    edited[1][0] = 46096.5  # an edited response gets a new timestamp
    b02 = [c.question_id for c in survey.columns("kommun")].index("B02")
    edited[1][b02] = 5
    mock.replace(responses.GET, VALUES_URL, json=values(edited))
    (res,) = pipeline.ingest_files(settings, only="kommun-form")
    assert res.accepted == 1
    engine = pipeline.open_store(settings)
    rows = pipeline.current_responses(engine, survey.id)
    st = store.status(engine)
    engine.dispose()
    assert len(rows) == 1 and rows.iloc[0]["answers"]["B02"] == "5" and st.stored_versions == 2


def test_sheet_that_shrinks_or_is_empty_changes_nothing(google, survey):
    settings, mock, _ = google
    header, row = sheet_rows(survey)
    many = [header] + [[46095.4 + i / 100, f"r{i}@x.se", *row[2:]] for i in range(12)]
    mock.get(META_URL, json=metadata())
    mock.get(VALUES_URL, json=values(many))
    (res,) = pipeline.ingest_files(settings, only="kommun-form")
    assert res.accepted == 12
    mock.replace(responses.GET, VALUES_URL, json=values(many[:3]))
    (res,) = pipeline.ingest_files(settings, only="kommun-form")
    assert res.status == "held" and "has 2 rows, its previous pull had 12" in (res.error or "") and res.accepted == 0
    mock.replace(responses.GET, VALUES_URL, json=values([]))
    (res,) = pipeline.ingest_files(settings, only="kommun-form")
    assert res.status == "held" and "is empty" in (res.error or "")
    engine = pipeline.open_store(settings)
    assert store.status(engine).responses == 12
    engine.dispose()


def test_sources_check_lists_mapped_and_unmapped_columns(google, survey):
    settings, mock, other = google
    header, row = sheet_rows(survey)
    mock.get(META_URL, json=metadata())
    mock.get(VALUES_URL, json=values([[*header, "Ny fråga längst till höger"], row]))
    mock.get(
        f"https://sheets.googleapis.com/v4/spreadsheets/{other}",
        json=error(404, "NOT_FOUND", "Requested entity was not found."),
        status=404,
    )
    checked = {c.source: c.as_json() for c in pipeline.check_sources(settings)}
    k = checked["gsheet:kommun-form"]
    assert k["readable"] and not k["ok"] and k["unmapped"] == ["Ny fråga längst till höger"] and k["rows"] == 1
    assert {"title": header[5], "question_id": "B01", "type": "likert"} in k["columns"]
    p = checked["gsheet:polis-form"]
    assert not p["readable"] and "404" in p["error"]
    json.dumps(list(checked.values()))  # the --json output is plain JSON
