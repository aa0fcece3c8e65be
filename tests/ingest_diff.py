"""Differential check of the ingest: the batched DuckDB scan against the per-file reader.

``compare(files, entity, tmp)`` stages the same files both ways and returns what differs:
the ledger results, the typed staging rows and the rows typing held (compared as sets
of rows in file order, whatever the Parquet part they were written to)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from ingest.staging import ingest_entity

DAY = dt.date(2015, 3, 1)


def stage(
    files: list[Path], entity: str, out: Path, *, scan: bool, manifest: dict[str, int] | None = None
) -> tuple[list[dict], pl.DataFrame | None, pl.DataFrame | None]:
    entries = [
        {
            "file_name": f.name,
            "source": f.stem.split("_")[1] if "_" in f.stem else "000000",
            "manifest_rows": (manifest or {}).get(f.name),
        }
        for f in files
    ]
    folder = files[0].parent
    assert all(f.parent == folder for f in files)
    stg, rejects = out / "stg", out / "rejects"
    results = ingest_entity(
        entries,
        entity=entity,
        delivery_date=DAY,
        landing_dir=folder,
        stg_dir=stg,
        rejects_dir=rejects,
        scan=scan,
    )
    return results, _read(stg, "*.parquet"), _read(rejects, "*.typing.*.parquet")


def _read(folder: Path, pattern: str) -> pl.DataFrame | None:
    parts = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not parts:
        return None
    return pl.concat([pl.read_parquet(p) for p in parts]).sort(
        "_file_name", "_row_number", maintain_order=True
    )


def assert_same_ingest(
    files: list[Path], entity: str, tmp: Path, manifest: dict[str, int] | None = None
) -> list[dict]:
    """Stage ``files`` both ways and assert the results, staging and held rows are equal;
    returns the ledger results."""
    fast = stage(files, entity, tmp / "scan", scan=True, manifest=manifest)
    ref = stage(files, entity, tmp / "reference", scan=False, manifest=manifest)
    assert fast[0] == ref[0]
    for got, want in zip(fast[1:], ref[1:], strict=True):
        if want is None:
            assert got is None
        else:
            assert got is not None
            assert_frame_equal(got, want)
    return fast[0]


def scanned_files(out: Path) -> set[str]:
    """The files whose rows the batched scan wrote under ``out`` (``stage(..., scan=True)``)."""
    names: set[str] = set()
    for folder, pattern in ((out / "stg", "_batch*.parquet"), (out / "rejects", "_batch*.parquet")):
        for part in sorted(folder.glob(pattern)) if folder.is_dir() else []:
            names.update(pl.read_parquet(part, columns=["_file_name"])["_file_name"].to_list())
    return names
