"""The Prefect flows for real, on Prefect's test server.

Every source is pulled; a failing one fails the run after the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from bfs_pipeline import pipeline, store
from bfs_pipeline.survey import load_survey
from tests.conftest import Sheet, good_row
from tests.test_counties import two_surveys
from tests.test_gsheets import (
    KEY,
    META_URL,
    VALUES_URL,
    error,
    metadata,
    service_account_key,
    sheet_rows,
    token_endpoint,
    values,
)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("prefect")
    from flows.environment import prepare_prefect

    prepare_prefect(home)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


def google_config(home: Path, key_file: Path, *sheets: tuple[str, str, str]) -> None:
    """[[sources]] in BFS_HOME/bfs.toml, as an operator writes them: the flows read their settings from there."""
    lines = [f'google_service_account_file = "{key_file}"']
    for name, sector, spreadsheet in sheets:
        lines += ["[[sources]]", f'name = "{name}"', f'sector = "{sector}"', f'spreadsheet = "{spreadsheet}"']
    (home / "bfs.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_nightly_flow_pulls_every_source(prefect_server, env, settings, survey, sheet, monkeypatch, tmp_path):
    from prefect.exceptions import PrefectException

    from flows.nightly import nightly_ingest

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    other = "2ZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZzZz"
    google_config(
        settings.home, service_account_key(tmp_path), ("kommun-form", "kommun", KEY), ("polis-form", "polis", other)
    )
    settings.inbox.mkdir(parents=True, exist_ok=True)
    sheet("naringsliv").write(
        settings.inbox / "naringsliv-2026-Q1.csv", [good_row(ORG="Handelsföreningen", email="info@handel.example.se")]
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(os.environ.get("PREFECT_API_URL") or "http://127.0.0.1")
        token_endpoint(mock)
        mock.get(META_URL, json=metadata())
        mock.get(VALUES_URL, json=values(sheet_rows(survey)))
        mock.get(
            f"https://sheets.googleapis.com/v4/spreadsheets/{other}",
            json=error(403, "PERMISSION_DENIED", "no"),
            status=403,
        )
        with pytest.raises((PrefectException, pipeline.SourceError), match="1 source\\(s\\) could not be read"):
            nightly_ingest()
        engine = pipeline.open_store(settings)
        assert store.status(engine).responses == 2  # the inbox file and the kommun sheet, despite the polis sheet
        mock.replace(responses.GET, f"https://sheets.googleapis.com/v4/spreadsheets/{other}", json=metadata())
        mock.get(
            f"https://sheets.googleapis.com/v4/spreadsheets/{other}/values:batchGet",
            json=values(sheet_rows(survey, "polis", email="kommunpolis@polisen.example.se")),
        )
        results = {r["source"].rsplit("/", 1)[-1]: r for r in nightly_ingest()}
        assert (
            results["naringsliv-2026-Q1.csv"]["status"] == "unchanged"
            and results["gsheet:kommun-form"]["status"] == "unchanged"
        )
        assert results["gsheet:polis-form"]["accepted"] == 1
        again = nightly_ingest()
        assert {r["status"] for r in again} == {"unchanged"}
        assert store.status(engine).responses == 3
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_nightly_flow_reads_each_survey_folder_against_its_own_survey(
    prefect_server, env, settings, monkeypatch, tmp_path
):
    """Two surveys (counties): each file is read once, against its own survey; a stray file is reported, never read."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bfs_pipeline.models import IngestRun, Response
    from flows.nightly import SourcesFailed, nightly_ingest

    folder = two_surveys(tmp_path)
    for k, v in {**env, "BFS_SURVEYS_DIR": str(folder)}.items():
        monkeypatch.setenv(k, v)
    blekinge, kalmar = load_survey(folder / "blekinge-behov.yaml"), load_survey(folder / "kalmar-behov.yaml")
    (settings.inbox / "blekinge-behov").mkdir(parents=True)
    (settings.inbox / "kalmar-behov").mkdir(parents=True)
    b_file = Sheet(blekinge, "kommun").write(
        settings.inbox / "blekinge-behov" / "kommun-2026-Q1.csv", [good_row(email=f"b{i}@x.se") for i in range(3)]
    )
    k_rows = [good_row(email=f"k{i}@x.se", ORG="Kalmar kommun", C01="Kalmar") for i in range(2)]
    k_file = Sheet(kalmar, "kommun").write(settings.inbox / "kalmar-behov" / "kommun-2026-Q1.csv", k_rows)
    stray = Sheet(blekinge, "kommun").write(settings.inbox / "polis-2026-Q1.csv", [good_row(email="stray@x.se")])

    state = nightly_ingest(return_state=True)
    assert state.is_failed()
    with pytest.raises(SourcesFailed, match="in no survey's folder") as failed:
        state.result()
    first = {r["source"]: r for r in failed.value.results}
    assert first[str(stray)]["status"] == "failed" and first[str(stray)]["rows_seen"] == 0
    assert (first[str(b_file)]["survey"], first[str(b_file)]["status"], first[str(b_file)]["accepted"]) == (
        "blekinge-behov",
        "ok",
        3,
    )
    assert (first[str(k_file)]["survey"], first[str(k_file)]["status"], first[str(k_file)]["accepted"]) == (
        "kalmar-behov",
        "ok",
        2,
    )
    engine = pipeline.open_store(settings)
    with Session(engine) as s:
        runs = sorted((r.source, r.survey_id) for r in s.scalars(select(IngestRun)))
        stored = sorted((r.survey_id, r.source) for r in s.scalars(select(Response)))
    assert runs == [
        (str(b_file), "blekinge-behov"),
        (str(k_file), "kalmar-behov"),
    ]  # each file read once; the stray never
    assert stored == [("blekinge-behov", str(b_file))] * 3 + [("kalmar-behov", str(k_file))] * 2

    again = nightly_ingest(return_state=True)
    with pytest.raises(SourcesFailed) as failed:
        again.result()
    second = {Path(r["source"]).relative_to(settings.inbox).as_posix(): r["status"] for r in failed.value.results}
    assert second == {  # read without trouble, each sheet moved to read/WAVE/ in its survey's folder
        "polis-2026-Q1.csv": "failed",
        "blekinge-behov/read/2026-Q1/kommun-2026-Q1.csv": "unchanged",
        "kalmar-behov/read/2026-Q1/kommun-2026-Q1.csv": "unchanged",
    }
    with Session(engine) as s:
        assert len(s.scalars(select(IngestRun)).all()) == 2  # nothing read the second time
    engine.dispose()


@pytest.mark.slow
def test_secrets_from_prefect_secret_blocks(prefect_server, tmp_path):
    """Workers on several machines can take the SMTP password and the hash key from Prefect's Secret blocks."""
    from prefect.blocks.system import Secret

    from bfs_pipeline.config import load_settings
    from bfs_pipeline.errors import SettingsError

    Secret(value="smtp-pw-from-prefect").save("bfs-smtp-password", overwrite=True)
    Secret(value="hash-key-from-prefect-0123456789").save("bfs-hash-key", overwrite=True)
    s = load_settings(
        {"BFS_SMTP_PASSWORD": "prefect-secret:bfs-smtp-password", "BFS_HASH_KEY": "prefect-secret:bfs-hash-key"},
        cwd=tmp_path,
    )
    assert (s.smtp_password, s.hash_key) == ("smtp-pw-from-prefect", "hash-key-from-prefect-0123456789")
    assert "smtp-pw-from-prefect" not in repr(s) and "hash-key-from-prefect" not in repr(s)
    with pytest.raises(SettingsError, match="names the Prefect Secret block 'no-such-block'"):
        load_settings({"BFS_SMTP_PASSWORD": "prefect-secret:no-such-block"}, cwd=tmp_path)
