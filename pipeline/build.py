"""The transform step's I/O shell: scan staging of every accepted delivery, apply the pure
transforms, write the core tables as Parquet for the load step."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.contract import ENTITIES, staging_schema
from transforms.cross_checks import (
    household_head_count,
    household_size_mismatch,
    income_outliers,
    return_without_exit,
)
from transforms.exits import exit_checks
from transforms.semantics import PARENTS, classify, parent_first_seen, versions
from transforms.state import current, history, status_events
from warehouse.loader import REF

JOIN_ROW = ["_delivery_date", "_file_name", "_row_number"]


def _scan(folder: Path, schema: pl.Schema | None = None) -> pl.LazyFrame | None:
    files = sorted(folder.glob("delivery_date=*/*.parquet")) if folder.exists() else []
    if not files:
        return None
    return pl.scan_parquet(files, schema=schema, missing_columns="insert" if schema else "raise")


def candidates(staging: Path, entity: str) -> pl.LazyFrame:
    """Typed rows of every delivery date that typing and validation did not hold."""
    schema = staging_schema(entity)
    stg = _scan(staging / f"stg_{entity}", schema)
    if stg is None:
        return pl.LazyFrame(schema=schema)
    rejects = _scan(staging / "rejects" / entity)
    if rejects is not None:
        stg = stg.join(rejects.select(JOIN_ROW), on=JOIN_ROW, how="anti")
    return stg


def _admin(df: pl.LazyFrame, code_col: str) -> pl.LazyFrame:
    return df.with_columns(
        province_code=pl.col(code_col).str.slice(0, 2),
        county_code=pl.col(code_col).str.slice(0, 6),
    )


def _core_columns(df: pl.LazyFrame) -> pl.LazyFrame:
    return df.rename(
        {"_delivery_date": "delivery_date", "_file_name": "file_name", "_row_number": "row_number"}
    ).drop("_source", "record_key", "outcome", "reason", strict=False)


def _hold(classified: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """Mark rows a cross-entity rule holds: outcome held, with the rule's reason."""
    marked = held.select(*JOIN_ROW, pl.col("reason").alias("_held_reason"))
    return (
        classified.join(marked, on=JOIN_ROW, how="left")
        .with_columns(
            outcome=pl.when(pl.col("_held_reason").is_not_null())
            .then(pl.lit("held"))
            .otherwise(pl.col("outcome")),
            reason=pl.coalesce("_held_reason", "reason"),
            effective_date=pl.when(pl.col("_held_reason").is_not_null())
            .then(None)
            .otherwise(pl.col("effective_date")),
        )
        .drop("_held_reason")
    )


def build_core(staging: Path, out: Path) -> dict:
    """Write ``<entity>_current``, ``<entity>_history``, ``<entity>_outcomes``,
    ``status_events``, ``exit_checks`` and ``cross_warnings`` Parquet files under ``out``;
    return row counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    cands = {e: candidates(staging, e) for e in ENTITIES}
    classified: dict[str, pl.DataFrame] = {}
    for entity in ENTITIES:
        parent = None
        if entity in PARENTS:
            parent_entity = PARENTS[entity][0]
            parent = parent_first_seen(cands[parent_entity], parent_entity)
        classified[entity] = classify(cands[entity], entity, parent).collect()
    # A member row that leaves its household without exactly one head is held.
    classified["members"] = _hold(
        classified["members"], household_head_count(versions(classified["members"].lazy()))
    )

    vers: dict[str, pl.LazyFrame] = {}
    for entity in ENTITIES:
        # Every row's outcome, for quarantine and reconciliation (small columns only).
        classified[entity].select(
            *JOIN_ROW, "record_key", "outcome", "reason", "effective_date"
        ).write_parquet(out / f"{entity}_outcomes.parquet")
        vers[entity] = versions(classified[entity].lazy())
        if entity in ("villages", "households"):
            vers[entity] = _admin(vers[entity], "village_code")
        _core_columns(history(vers[entity], entity)).sink_parquet(out / f"{entity}_history.parquet")
        _core_columns(current(vers[entity], entity)).sink_parquet(out / f"{entity}_current.parquet")
        counts[f"{entity}_current"] = _count(out / f"{entity}_current.parquet")
        counts[f"{entity}_rows"] = classified[entity].height

    households, members = vers["households"], vers["members"]
    status_events(households).pipe(_admin, "village_code").sink_parquet(
        out / "status_events.parquet"
    )
    counts["status_events"] = _count(out / "status_events.parquet")
    exit_checks(
        pl.scan_parquet(out / "status_events.parquet"),
        pl.scan_parquet(out / "members_current.parquet"),
        pl.scan_csv(REF / "poverty_lines.csv"),
    ).sink_parquet(out / "exit_checks.parquet")
    counts["exit_checks"] = _count(out / "exit_checks.parquet")
    pl.concat(
        [
            household_size_mismatch(households, members),
            return_without_exit(households),
            income_outliers(households, pl.scan_parquet(out / "households_current.parquet")),
        ]
    ).with_columns(entity=pl.lit("households")).sink_parquet(out / "cross_warnings.parquet")
    counts["cross_warnings"] = _count(out / "cross_warnings.parquet")
    return counts


def _count(path: Path) -> int:
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())
