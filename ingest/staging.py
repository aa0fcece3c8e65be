"""Ingest one delivered file: read it in chunks, type its rows, write typed staging and
the rows that could not be typed (with their reason)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import polars as pl

from ingest.csv_scan import CsvFile, ScanOutcome, ingest_csv_files, raw_key
from ingest.readers import FileHeld, iter_delivery_file
from ingest.typing import type_rows
from settings import faults

log = logging.getLogger(__name__)


def ingest_file(
    path: Path,
    *,
    entity: str,
    delivery_date: dt.date,
    source: str,
    manifest_rows: int | None,
    stg_dir: Path,
    rejects_dir: Path,
) -> dict:
    """Stage one file. Returns its ledger result: outcome, reason, rows, typed and held counts."""
    name = path.name
    result: dict = {
        "file_name": name,
        "outcome": "pending",
        "reason": None,
        "detail": None,
        "format": None,
        "encoding": None,
        "delimiter": None,
        "rows": None,
        "typed_rows": 0,
        "held_rows": 0,
    }
    lineage = [
        pl.lit(delivery_date).alias("_delivery_date"),
        pl.lit(name).alias("_file_name"),
        pl.lit(source).alias("_source"),
    ]
    written: list[Path] = []
    rows = typed_rows = held_rows = 0
    try:
        for part, chunk in enumerate(iter_delivery_file(path, entity)):
            result.update(format=chunk.format, encoding=chunk.encoding, delimiter=chunk.delimiter)
            frame = chunk.frame
            rows += frame.height
            typed, held = type_rows(frame, entity)
            if chunk.cell_findings.height:
                cell = chunk.cell_findings.unique("_row_number", keep="first", maintain_order=True)
                typed = typed.join(cell.select("_row_number"), on="_row_number", how="anti")
                held = pl.concat(
                    [
                        held.join(cell.select("_row_number"), on="_row_number", how="anti"),
                        cell.select(held.columns),
                    ],
                    how="vertical_relaxed",
                )
            if typed.height:
                stg_dir.mkdir(parents=True, exist_ok=True)
                out = stg_dir / f"{name}.{part:05d}.parquet"
                typed.with_columns(lineage).write_parquet(out, compression_level=1)
                written.append(out)
                faults.checkpoint("ingest.part_written")
            if held.height:
                rejects_dir.mkdir(parents=True, exist_ok=True)
                keys = frame.select("_row_number", raw_key(frame, entity).alias("record_key"))
                out = rejects_dir / f"{name}.typing.{part:05d}.parquet"
                (
                    held.join(keys, on="_row_number", how="left")
                    .with_columns(
                        lineage[:2],
                        detail=pl.concat_str(
                            [pl.col("column"), pl.lit(": "), pl.col("detail").fill_null("")]
                        ),
                    )
                    .select(
                        "_delivery_date",
                        "_file_name",
                        "_row_number",
                        "record_key",
                        "reason",
                        "detail",
                    )
                    .write_parquet(out)
                )
                written.append(out)
            typed_rows += typed.height
            held_rows += held.height
    except FileHeld as exc:
        for out in written:
            out.unlink(missing_ok=True)
        log.warning("held file %s: %s (%s)", name, exc.reason, exc.detail)
        result.update(outcome="held", reason=exc.reason, detail=exc.detail, rows=manifest_rows)
        return result

    result["rows"] = rows
    if manifest_rows is not None and manifest_rows != rows:
        for out in written:
            out.unlink(missing_ok=True)
        result.update(
            outcome="held",
            reason="manifest_row_count_mismatch",
            detail=f"{rows} data rows delivered, the manifest says {manifest_rows}",
        )
        return result
    result.update(outcome="loaded", typed_rows=typed_rows, held_rows=held_rows)
    return result


def ingest_entity(
    entries: list[dict],
    *,
    entity: str,
    delivery_date: dt.date,
    landing_dir: Path,
    stg_dir: Path,
    rejects_dir: Path,
    scan: bool = True,
    batch_prefix: str = "_batch",
) -> list[dict]:
    """Stage every pending file of one entity; one ledger result per entry, in order.

    UTF-8 CSV files go through the batched DuckDB scan (``ingest.csv_scan``); every other
    file, and every CSV file that scan cannot vouch for, through :func:`ingest_file`.
    ``scan=False`` reads every file with :func:`ingest_file` (the reference)."""
    csv_files = [
        CsvFile(landing_dir / e["file_name"], e["source"], e["manifest_rows"])
        for e in entries
        if scan and Path(e["file_name"]).suffix.lower() == ".csv"
    ]
    scanned = (
        ingest_csv_files(
            csv_files,
            entity=entity,
            delivery_date=delivery_date,
            stg_dir=stg_dir,
            rejects_dir=rejects_dir,
            prefix=batch_prefix,
        )
        if csv_files
        else ScanOutcome()
    )
    results = []
    for e in entries:
        done = scanned.results.get(e["file_name"])
        if done is None:
            done = ingest_file(
                landing_dir / e["file_name"],
                entity=entity,
                delivery_date=delivery_date,
                source=e["source"],
                manifest_rows=e["manifest_rows"],
                stg_dir=stg_dir,
                rejects_dir=rejects_dir,
            )
        results.append(done)
    return results
