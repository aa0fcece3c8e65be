"""The quality gate around the Great Expectations runner: turns findings into held rows
(error), warned rows (warn) and held files (batch).

The batch rule is applied here, once: a file with more than half of its rows in error is
held whole. The summary names each such file with its reason and detail
(``contract.records.HeldFile``), and the load records them as they are.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

from contract.landing import record_key
from contract.records import ROW_FINDING_SCHEMA, HeldFile, IngestedFile, ValidationSummary
from expectations.runner import BATCH_REASON, batch_failures, validate

# What a held file's rows and the file itself say about the batch rule.
BATCH_ROW_DETAIL = "the file is held: more than half of its rows fail error rules"
BATCH_FILE_DETAIL = "more than half of the file's rows fail error-severity rules"


def _one_per_row(findings: pl.DataFrame) -> pl.DataFrame:
    """One row per delivered row: the first reason, and every failed expectation in detail."""
    return (
        findings.sort("_file_name", "_row_number", "expectation")
        .group_by("_file_name", "_row_number", maintain_order=True)
        .agg(
            pl.col("record_key").first(),
            pl.col("reason").first(),
            pl.col("expectation").unique(maintain_order=True).str.join(", ").alias("detail"),
        )
    )


def apply_validation(
    *,
    entity: str,
    delivery_date: dt.date,
    stg_dir: Path,
    rejects_dir: Path,
    warnings_dir: Path,
    work_dir: Path,
    files: list[IngestedFile],
    owns: Callable[[str], bool] | None = None,
    out_name: str = "validation.parquet",
) -> ValidationSummary:
    """Validate the typed staging of ``files``; write the rows in error to
    ``rejects_dir/<out_name>`` and those with a warning to ``warnings_dir/<out_name>``.

    ``owns`` says which staging files (by name) are this call's when several calls share
    the folders (a province's part of the entity, ``pipeline.parts``); None: all of them,
    and the warnings folder is this call's alone."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)

    def mine(folder: Path, pattern: str) -> list[Path]:
        found = sorted(folder.glob(pattern)) if folder.exists() else []
        return [p for p in found if owns is None or owns(p.name)]

    parts = mine(stg_dir, "*.parquet")
    outcome = validate(entity, parts, delivery_date=delivery_date, work_dir=work_dir)
    findings = outcome.findings
    lineage = [pl.lit(delivery_date).alias("_delivery_date")]
    cols = list(ROW_FINDING_SCHEMA)

    errors = _one_per_row(findings.filter(pl.col("severity") == "error")).with_columns(lineage)
    warns = _one_per_row(findings.filter(pl.col("severity") == "warn")).with_columns(lineage)

    # Batch rule: a file with more than half of its rows in error is held as a whole, each
    # row keeping its own reason where it has one. Rows typing already held count as rows
    # in error too, so the rule sees every delivered row of the file.
    loaded = [f for f in files if f["outcome"] == "loaded"]
    typing_errors = [
        pl.scan_parquet(p)
        .select("_file_name", "_row_number")
        .with_columns(severity=pl.lit("error"))
        for p in mine(rejects_dir, "*.typing.*.parquet")
    ]
    all_errors = pl.concat(
        [findings.select("_file_name", "_row_number", "severity").lazy(), *typing_errors]
    ).collect()
    batch_held = sorted(
        batch_failures(
            all_errors, {f["file_name"]: f["typed_rows"] + f["held_rows"] for f in loaded}
        )
    )
    if batch_held and parts:
        whole = (
            pl.scan_parquet(parts)
            .filter(pl.col("_file_name").is_in(batch_held))
            .select("_file_name", "_row_number")
            .collect()
            .join(
                errors.select("_file_name", "_row_number", "record_key", "reason", "detail"),
                on=["_file_name", "_row_number"],
                how="left",
            )
        )
        keys = (
            pl.scan_parquet(parts)
            .filter(pl.col("_file_name").is_in(batch_held))
            .select("_file_name", "_row_number", record_key(entity).alias("_key"))
            .collect()
        )
        whole = (
            whole.join(keys, on=["_file_name", "_row_number"], how="left")
            .with_columns(
                record_key=pl.coalesce("record_key", "_key"),
                reason=pl.col("reason").fill_null(BATCH_REASON),
                detail=pl.col("detail").fill_null(BATCH_ROW_DETAIL),
            )
            .drop("_key")
            .with_columns(lineage)
        )
        errors = pl.concat(
            [errors.filter(~pl.col("_file_name").is_in(batch_held)), whole], how="vertical_relaxed"
        )
        warns = warns.filter(~pl.col("_file_name").is_in(batch_held))

    if owns is None:
        shutil.rmtree(warnings_dir, ignore_errors=True)
    else:
        for path in mine(warnings_dir, "*"):
            path.unlink(missing_ok=True)
    (rejects_dir / out_name).unlink(missing_ok=True)  # an earlier attempt's
    if errors.height:
        rejects_dir.mkdir(parents=True, exist_ok=True)
        errors.select(cols).write_parquet(rejects_dir / out_name)
    if warns.height:
        warnings_dir.mkdir(parents=True, exist_ok=True)
        warns.select(cols).write_parquet(warnings_dir / out_name)

    return {
        "entity": entity,
        "rows_in_error": errors.height,
        "rows_warned": warns.height,
        "held_files": [
            HeldFile(file_name=name, reason=BATCH_REASON, detail=BATCH_FILE_DETAIL)
            for name in batch_held
        ],
        "results": [r._asdict() for r in outcome.results],
    }
