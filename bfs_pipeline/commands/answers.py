"""`bfs answers`: the wave's answers for the coordinator, on the server only (never e-mailed), logged."""

from __future__ import annotations

import click


@click.group()
def answers() -> None:
    """The answers themselves, for the coordinator: exported on the server, never e-mailed, every export logged."""
