"""Command groups of `bfs` that live beside their capability (registered on the `bfs` group in cli.py)."""
