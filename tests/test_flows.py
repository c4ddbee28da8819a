"""The Prefect flows for real, on Prefect's test server: every source pulled, a failing one fails the run after the others."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import gspread
import pytest
import requests
import responses

from bfs_pipeline import gsheets, pipeline, store
from bfs_pipeline.gsheets import RetryPolicy, SheetConfig
from tests.conftest import good_row
from tests.test_gsheets import ACCOUNT, KEY, META_URL, VALUES_URL, error, metadata, sheet_rows, values


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect")
    from flows.environment import prepare_prefect

    prepare_prefect(home)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_nightly_flow_pulls_every_source(prefect_server, env, settings, survey, sheet, monkeypatch):
    from prefect.exceptions import PrefectException

    from flows import nightly
    from flows.nightly import nightly_ingest

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    other = "2ZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZz"
    cfgs = (SheetConfig("kommun-form", "kommun", KEY), SheetConfig("polis-form", "polis", other))
    monkeypatch.setattr(nightly, "load_settings", lambda: replace(settings, sources=cfgs))
    monkeypatch.setattr(gsheets, "service_account_client", lambda path: (gspread.Client(None, session=requests.Session()), ACCOUNT))
    monkeypatch.setattr(gsheets, "RetryPolicy", lambda: RetryPolicy(attempts=2, sleep=lambda s: None))
    settings.inbox.mkdir(parents=True, exist_ok=True)
    sheet("naringsliv").write(settings.inbox / "naringsliv-2026-Q1.csv", [good_row(ORG="Handelsföreningen", email="info@handel.example.se")])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(os.environ.get("PREFECT_API_URL") or "http://127.0.0.1")
        mock.get(META_URL, json=metadata())
        mock.get(VALUES_URL, json=values(sheet_rows(survey)))
        mock.get(f"https://sheets.googleapis.com/v4/spreadsheets/{other}", json=error(403, "PERMISSION_DENIED", "no"), status=403)
        with pytest.raises((PrefectException, pipeline.SourceError), match="1 source\\(s\\) could not be read"):
            nightly_ingest()
        engine = pipeline.open_store(settings)
        assert store.status(engine)["responses"] == 2  # the inbox file and the kommun sheet, despite the polis sheet
        mock.replace(responses.GET, f"https://sheets.googleapis.com/v4/spreadsheets/{other}", json=metadata())
        mock.get(
            f"https://sheets.googleapis.com/v4/spreadsheets/{other}/values:batchGet",
            json=values(sheet_rows(survey, "polis", email="kommunpolis@polisen.example.se")),
        )
        results = {r["source"].rsplit("/", 1)[-1]: r for r in nightly_ingest()}
        assert results["naringsliv-2026-Q1.csv"]["status"] == "unchanged" and results["gsheet:kommun-form"]["status"] == "unchanged"
        assert results["gsheet:polis-form"]["accepted"] == 1
        again = nightly_ingest()
        assert {r["status"] for r in again} == {"unchanged"}
        assert store.status(engine)["responses"] == 3
        engine.dispose()


@pytest.mark.slow
def test_secrets_from_prefect_secret_blocks(prefect_server, tmp_path):
    """Workers on several machines can take the SMTP password and the hash key from Prefect's Secret blocks."""
    from prefect.blocks.system import Secret

    from bfs_pipeline.config import load_settings
    from bfs_pipeline.errors import SettingsError

    Secret(value="smtp-pw-from-prefect").save("bfs-smtp-password", overwrite=True)
    Secret(value="hash-key-from-prefect-0123456789").save("bfs-hash-key", overwrite=True)
    s = load_settings({"BFS_SMTP_PASSWORD": "prefect-secret:bfs-smtp-password", "BFS_HASH_KEY": "prefect-secret:bfs-hash-key"}, cwd=tmp_path)
    assert (s.smtp_password, s.hash_key) == ("smtp-pw-from-prefect", "hash-key-from-prefect-0123456789")
    assert "smtp-pw-from-prefect" not in repr(s) and "hash-key-from-prefect" not in repr(s)
    with pytest.raises(SettingsError, match="names the Prefect Secret block 'no-such-block'"):
        load_settings({"BFS_SMTP_PASSWORD": "prefect-secret:no-such-block"}, cwd=tmp_path)
