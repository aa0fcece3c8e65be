"""Read a delivered file into strings, losing nothing, or hold the whole file with a reason.

``iter_delivery_file`` yields the rows of one delivered CSV, xlsx or parquet file as
``pl.String`` columns under their canonical English names, plus ``_row_number`` (data rows
counted from 1, as the manifest and the generator's answer key count them). Typing the
strings is ``ingest.typing``'s job; the reader only decides whether the file can be
read at all and records what only the file itself can tell (an xlsx number cell in an
ID column).

Each format has its module behind the ``Reader`` interface (``csv_reader``,
``xlsx_reader``, ``parquet_reader``, which say how they read); ``common`` holds what they
share. Blank lines (and all-empty xlsx rows) are not rows: they are skipped and not
counted. Empty fields are null. Optional columns absent from the header are added as nulls.

Classification of whole-file problems (``FileHeld.reason``):

- ``file_empty``: zero bytes.
- ``file_unreadable``: NUL bytes (binary data, UTF-16), bytes that are neither UTF-8 nor
  GBK, a mostly-UTF-8 file with some non-UTF-8 bytes (mixed encodings; the detail names
  the byte offset and line), a row in the middle with too many or too few fields (the
  detail names the line), malformed quoting, a corrupt xlsx or parquet file.
- ``file_truncated``: the file ends inside a quoted field, or its last row has fewer
  fields than the header. The whole file is held: a cut file is an incomplete delivery.
- ``header_unknown_column``: a header cell names no column of the entity. A wrong
  delimiter (e.g. ``;``) gives a one-cell header and is reported here, with a detail
  saying that the delimiter must be a comma or a tab.
- ``header_duplicate_column``, ``header_missing_column``: as named (a Chinese and an
  English header for the same column are a duplicate).
- ``file_name_invalid``: an extension other than csv, xlsx or parquet.

``iter_delivery_file`` raises ``FileHeld`` before its first chunk for every problem found
by the CSV reader's first pass (encoding, truncation, header, a bad last row). A malformed
row in the middle of a file longer than one chunk is found when its chunk is parsed, so
``FileHeld`` can also come after some chunks were yielded: the whole file is held all the
same, and the caller discards what it received.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import polars as pl

from contract.landing import CONTRACT, Entity
from ingest.readers import csv_reader, parquet_reader, xlsx_reader
from ingest.readers.common import FileHeld, Pieces, ReadResult, rebatch

__all__ = [
    "FileHeld",
    "ReadResult",
    "count_data_rows",
    "iter_delivery_file",
    "read_delivery_file",
]


class Reader(Protocol):
    """One delivery format (each format module is one)."""

    def read(self, path: Path, ent: Entity, chunk_rows: int) -> Pieces:
        """The file's string rows in pieces of any size; FileHeld when it cannot be read."""

    def count_rows(self, path: Path) -> int:
        """Data rows as the manifest counts them, in a non-empty file."""


_READERS: dict[str, Reader] = {
    "csv": csv_reader,
    "xlsx": xlsx_reader,
    "parquet": parquet_reader,
}


def read_delivery_file(path: Path, entity: str) -> ReadResult:
    """Read a whole delivered file (see the module docstring for what is held and why)."""
    parts = list(iter_delivery_file(path, entity, chunk_rows=2**62))
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return ReadResult(
        frame=pl.concat([p.frame for p in parts]),
        format=first.format,
        encoding=first.encoding,
        delimiter=first.delimiter,
        cell_findings=pl.concat([p.cell_findings for p in parts]),
    )


def iter_delivery_file(
    path: Path, entity: str, *, chunk_rows: int = 1_000_000
) -> Iterator[ReadResult]:
    """Yield the file's rows in chunks of ``chunk_rows`` (the last may be shorter).

    At least one ReadResult is yielded (with an empty frame for a header-only file).
    ``_row_number`` runs on across chunks. Memory is bounded for CSV and parquet; an xlsx
    sheet (at most ~1 M rows) is read whole and then sliced.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    ent = CONTRACT[entity]
    fmt = _format(path)
    reader = _READERS.get(fmt)
    if reader is None:
        raise FileHeld(
            "file_name_invalid",
            f"{path.name}: extension {path.suffix!r} is not csv, xlsx or parquet",
        )
    if path.stat().st_size == 0:
        raise FileHeld("file_empty", f"{path.name} has zero bytes")
    pieces = reader.read(path, ent, chunk_rows)
    for frame, findings in rebatch(pieces.frames, ent, chunk_rows):
        yield ReadResult(frame, fmt, pieces.encoding, pieces.delimiter, findings)


def count_data_rows(path: Path) -> int:
    """Data rows as the manifest counts them: header excluded, blank lines skipped, a line
    feed inside a quoted field does not start a row. Raises FileHeld for an xlsx or parquet
    file that cannot be opened; a zero-byte file has 0 rows, a file of any other extension
    is counted as CSV."""
    path = Path(path)
    if path.stat().st_size == 0:
        return 0
    return _READERS.get(_format(path), csv_reader).count_rows(path)


def _format(path: Path) -> str:
    return path.suffix.lower().lstrip(".")
