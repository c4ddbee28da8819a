"""`bfs support`: the coordinator's log of the support she gave (import, list, template)."""

from __future__ import annotations

import click


@click.group()
def support() -> None:
    """The support log: what support was given, to whom, for which needs."""
