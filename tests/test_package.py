"""The package as a user gets it: a wheel built from this checkout, installed alone into a new virtual environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
PACKAGES = ("bfs_pipeline", "flows")
# Top-level folders that the wheel ships inside the package (package-dir under [tool.setuptools] in pyproject.toml).
MAPPED = {"reports/templates": "bfs_pipeline/_templates", "surveys": "bfs_pipeline/_surveys"}
# What a checkout holds that is no part of a build: environments, data, caches and earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "bfs-home", ".bfs", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache"
)


def files_under(root: Path, folder: str) -> list[str]:
    """The files under root/folder, relative to root, without bytecode."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in (root / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """The wheel's packages are listed by hand (the mapped folders rule out setuptools' find).

    A new sub-package must be added to the list.
    """
    listed = set(
        tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    folders = {
        Path(f).parent.as_posix().replace("/", ".")
        for top in PACKAGES
        for f in files_under(CHECKOUT, top)
        if f.endswith(".py")
    }
    missing = sorted(folders - listed)
    assert not missing, (
        f"Add {missing} to packages under [tool.setuptools] in pyproject.toml, or the wheel leaves them out."
    )


def run(
    args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command that must succeed; its output is the assertion message when it does not."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.mark.slow
def test_the_wheel_alone_renders_the_demo_report(tmp_path: Path) -> None:
    # Build from a copy, so that the build leaves nothing in the checkout and sees no earlier build/ folder.
    # pip isolates the build (setuptools from [build-system]), as `pip install .` does.
    src = tmp_path / "src"
    shutil.copytree(CHECKOUT, src, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", tmp_path / "wheels", src])
    (wheel,) = (tmp_path / "wheels").glob("bfs_pipeline-*.whl")

    # Every file of the packages ships, and the mapped folders ship inside bfs_pipeline.
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {f for top in PACKAGES for f in files_under(src, top)}
    expected |= {f.replace(folder, inside, 1) for folder, inside in MAPPED.items() for f in files_under(src, folder)}
    assert "bfs_pipeline/_templates/report.html" in expected and "bfs_pipeline/_surveys/blekinge-behov.yaml" in expected
    assert not expected - shipped, f"missing from the wheel: {sorted(expected - shipped)}"

    # The wheel alone into a new virtual environment. Its dependencies come from this environment's site-packages,
    # named as plain paths in a .pth file: Python adds them to sys.path without reading the .pth files there,
    # so the editable install of the checkout (a .pth file in this environment) stays out.
    new = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", new])
    python = new / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel])
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "deps.pth").write_text("".join(f"{d}\n" for d in deps), encoding="utf-8")

    # Run it away from the checkout, with no BFS_ or PYTHON settings from outside.
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFS_", "PYTHON", "PREFECT_"))}
    env |= {"BFS_HOME": str(home), "PREFECT_HOME": str(tmp_path / "prefect"), "PYTHONNOUSERSITE": "1"}

    probe = (
        "import json, sys, importlib.util, bfs_pipeline; from bfs_pipeline import resources as r;"
        "print(json.dumps({'files': [bfs_pipeline.__file__, importlib.util.find_spec('flows').origin, "
        "str(r.templates_dir()), str(r.default_surveys_dir())],"
        "'editable': [m for m in sys.modules if m.startswith('__editable__')], 'path': sys.path}))"
    )
    where = json.loads(run([python, "-c", probe], cwd=work, env=env).stdout)
    for f in where["files"]:
        assert Path(f).resolve().is_relative_to(site.resolve()), f"{f} is not the installed copy in {site}"
    assert where["editable"] == [], "the checkout's editable install was activated"
    assert not [p for p in where["path"] if p and Path(p).resolve() == CHECKOUT], "the checkout is on sys.path"

    bfs = new / "bin" / "bfs"
    demo = run([bfs, "demo", "--no-prefect"], cwd=work, env=env)
    html = home / "reports" / "2026-Q3" / "behovsrapport-2026-Q3.sv.html"
    assert str(html) in demo.stdout
    text = html.read_text(encoding="utf-8")
    assert "<h1" in text and "Behovsrapport Blekinge län 2026-Q3" in text and "Olofström" in text
    assert "Olofström" in html.with_suffix(".txt").read_text(encoding="utf-8")

    surveys = json.loads(run([bfs, "survey", "list", "--json"], cwd=work, env=env).stdout)
    assert [s["id"] for s in surveys] == ["blekinge-behov"]
    assert Path(surveys[0]["file"]).resolve().is_relative_to(site.resolve())
