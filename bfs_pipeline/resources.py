"""Where the report templates and the default survey are, in a checkout and in an installed wheel.

In a checkout (and an editable install of it) they are the top-level folders reports/templates/ and surveys/.
A wheel ships copies of them inside the package, as bfs_pipeline/_templates/ and bfs_pipeline/_surveys/
(the package-dir mapping under [tool.setuptools] in pyproject.toml); these are used when no checkout is around.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from bfs_pipeline.errors import BfsError

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository's root when this file lies in a checkout


def _locate(in_checkout: str, in_package: str) -> Path:
    """The checkout's folder when this package lies in a checkout, else the copy shipped inside the package."""
    folder = CHECKOUT / in_checkout
    if (CHECKOUT / "pyproject.toml").is_file() and folder.is_dir():
        return folder
    shipped = files("bfs_pipeline") / in_package
    if not isinstance(shipped, Path):  # a zip import (zipapp): Jinja2 and the survey loader need real folders
        raise BfsError(
            f"bfs_pipeline is imported from an archive ({shipped}); "
            f"install it as a wheel (pip install) to use {in_checkout}/."
        )
    return shipped


def templates_dir() -> Path:
    """The report's Jinja2 templates: reports/templates/ of the checkout, or bfs_pipeline/_templates/ of the wheel."""
    return _locate("reports/templates", "_templates")


def default_surveys_dir() -> Path:
    """The default survey definitions: surveys/ of the checkout, or bfs_pipeline/_surveys/ of the wheel."""
    return _locate("surveys", "_surveys")
