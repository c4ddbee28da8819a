"""bfs-pipeline: survey and feedback pipeline for a regional crime-prevention coordinator."""

__version__ = "0.1.0"
