"""Answer sources behind one interface: inbox files (CSV/XLSX), Google Sheets, rows in memory.

`catalog` says which a survey has.
"""

from bfs_pipeline.sources.base import CHUNK_ROWS, RawBatch, SheetHints, Source, SourceKind
from bfs_pipeline.sources.files import CsvStream, FileSource, csv_stream, read_csv, read_xlsx
from bfs_pipeline.sources.memory import MemorySource

__all__ = [
    "CHUNK_ROWS",
    "CsvStream",
    "FileSource",
    "MemorySource",
    "RawBatch",
    "SheetHints",
    "Source",
    "SourceKind",
    "csv_stream",
    "read_csv",
    "read_xlsx",
]
