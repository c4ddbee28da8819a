"""Thin Prefect flows over bfs_pipeline's functions: the nightly ingest and the quarterly report."""
