"""Read a delivered parquet file into strings, batch by batch: every column cast to text
the way a CSV would have written it (zoned timestamps keep their offset)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from contract.landing import Column, Entity
from ingest.readers.common import (
    FileHeld,
    Piece,
    Pieces,
    canonical_header,
    empty_strings,
    error_summary,
    no_findings,
)


def read(path: Path, ent: Entity, chunk_rows: int) -> Pieces:
    """Stream the file in record batches of at most ``chunk_rows`` rows."""
    return Pieces(_parquet_frames(path, ent, chunk_rows))


def count_rows(path: Path) -> int:
    """Rows from the file's metadata; FileHeld if it cannot be opened."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception as exc:
        raise _not_parquet(path, exc) from None


def _not_parquet(path: Path, exc: Exception) -> FileHeld:
    return FileHeld(
        "file_unreadable", f"{path.name} is not a readable parquet file ({error_summary(exc)})"
    )


def _parquet_frames(path: Path, ent: Entity, chunk_rows: int) -> Iterator[Piece]:
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except Exception as exc:
        raise _not_parquet(path, exc) from None
    names = canonical_header(list(schema.names), ent)
    for f in schema:
        if pa.types.is_nested(f.type):
            raise FileHeld("file_unreadable", f"column {f.name!r} holds nested values ({f.type})")
    kinds = [ent.column(n) for n in names]
    emitted = False
    try:
        batches = pf.iter_batches(batch_size=min(chunk_rows, 262_144), use_threads=True)
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
            frame = frame.select(_as_text(frame.schema[c.name], c) for c in kinds)
            emitted = True
            yield frame, no_findings()
    except FileHeld:
        raise
    except Exception as exc:
        raise FileHeld(
            "file_unreadable", f"{path.name}: parquet data cannot be read ({error_summary(exc)})"
        ) from None
    if not emitted:
        yield empty_strings(names), no_findings()


def _as_text(dtype: pl.DataType, col: Column) -> pl.Expr:
    """Cast a parquet column to text the way a CSV would have written it."""
    c = pl.col(col.name)
    if dtype == pl.String:
        return c
    if dtype.is_float():
        integral = c.is_finite() & (c == c.floor()) & (c.abs() < 2**53)
        text = pl.when(integral).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))
        if col.kind == "prov2":
            text = (
                pl.when(integral)
                .then(c.cast(pl.Int64).cast(pl.String).str.zfill(2))
                .otherwise(text)
            )
        return text.alias(col.name)
    if dtype.is_integer() and col.kind == "prov2":
        return c.cast(pl.String).str.zfill(2)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return c.dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")
        full = c.dt.to_string("%Y-%m-%dT%H:%M:%S%.f")
        if col.kind == "timestamp":
            return full
        midnight = c.dt.time() == dt.time(0)
        return pl.when(midnight).then(c.dt.to_string("%Y-%m-%d")).otherwise(full).alias(col.name)
    return c.cast(pl.String)  # bool -> true/false, date -> ISO, decimal -> plain
