"""`bfs reference`: the reference tables the reports use (population per municipality)."""

from __future__ import annotations

import click


@click.group()
def reference() -> None:
    """Reference tables: the population per municipality that the capacity figures are divided by."""
