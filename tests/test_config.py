"""Settings from the environment and bfs.toml, read once."""

from __future__ import annotations

import pytest

from bfs_pipeline.config import load_settings
from bfs_pipeline.errors import SettingsError
from bfs_pipeline.privacy import email_hash, hash_key


def test_defaults(tmp_path):
    s = load_settings({}, cwd=tmp_path)
    assert s.home == tmp_path / "bfs-home"
    assert s.database_url == f"sqlite:///{tmp_path / 'bfs-home' / 'bfs.sqlite3'}"
    assert s.smtp_host is None and s.lang == "sv"


def test_environment_over_toml(tmp_path):
    (tmp_path / "bfs.toml").write_text(
        'smtp_host = "mail.example.se"\nreport_to = ["a@x.se", "b@x.se"]\nsmtp_port = 2525\n', encoding="utf-8"
    )
    s = load_settings({"BFS_SMTP_PORT": "587"}, cwd=tmp_path)
    assert (s.smtp_host, s.smtp_port, s.report_to) == ("mail.example.se", 587, ("a@x.se", "b@x.se"))


def test_unknown_toml_key(tmp_path):
    (tmp_path / "bfs.toml").write_text('smtp_hots = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'smtp_hots'"):
        load_settings({}, cwd=tmp_path)


def test_bad_bool(tmp_path):
    with pytest.raises(SettingsError, match="BFS_SMTP_STARTTLS='kanske' is not a yes/no value"):
        load_settings({"BFS_SMTP_STARTTLS": "kanske"}, cwd=tmp_path)


def test_local_hash_key_made_once_private(tmp_path):
    k1 = hash_key(None, tmp_path)
    assert k1 == hash_key(None, tmp_path)
    assert oct((tmp_path / "hash.key").stat().st_mode & 0o777) == "0o600"
    assert email_hash("A@X.se ", k1) == email_hash("a@x.se", k1) != email_hash("a@x.se", b"another-key-0123456789")


def test_short_hash_key_refused(tmp_path):
    with pytest.raises(SettingsError, match="shorter than 16"):
        hash_key("kort", tmp_path)


def test_schedules_from_settings(tmp_path):
    (tmp_path / "bfs.toml").write_text('nightly_cron = "30 1 * * *"\n', encoding="utf-8")
    s = load_settings({"BFS_QUARTERLY_CRON": "0 8 2 1,4,7,10 *"}, cwd=tmp_path)
    assert (s.nightly_cron, s.quarterly_cron) == ("30 1 * * *", "0 8 2 1,4,7,10 *")
    assert load_settings({}, cwd=tmp_path / "x").nightly_cron == "0 2 * * *"


def test_serve_refuses_a_bad_cron_from_the_settings_before_starting_anything(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFS_", "PREFECT_"))}
    env.update(
        {"BFS_HOME": str(tmp_path / "home"), "BFS_NIGHTLY_CRON": "every night", "PREFECT_HOME": str(tmp_path / "p")}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bfs_pipeline", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "'every night' is not a cron expression" in proc.stderr
