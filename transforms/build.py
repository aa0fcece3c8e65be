"""The transform step's I/O shell: scan staging of every accepted delivery, apply the pure
transforms, write the core tables as Parquet for the load step.

Every output is a folder of Parquet parts (``<out>/<name>/part-NNN.parquet``;
:func:`outputs` lists them for the load). The output is everything the load reads: the
core tables, every delivered row's outcome, and the rows typing and validation held or
warned (copied from staging, so the load never reads staging itself). Villages, assistance and targets are small and done in one part.
Households and members, the bulk of a national registry, are done county by county in
buckets of counties, so that memory is bounded by a bucket, not by the registry: every
rule over households and members looks at one household (its members, its versions) or
one county (income outliers), and a household's county is the first six digits of its ID.

A person delivered in households of two counties (a move across counties) has rows in
two buckets; every rule keyed by the person (stale, duplicate, conflict, validity
intervals) needs all of them. Such persons, found by a scan of the staging keys, are
given to every bucket, and each bucket keeps only the rows of its own households.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import polars as pl

import settings
from contract.landing import ENTITIES, staging_schema
from contract.records import ROW_FINDING_SCHEMA
from contract.reference import REF_DIR as REF
from transforms.cross_checks import (
    household_head_count,
    household_size_mismatch,
    income_outliers,
    return_without_exit,
)
from transforms.exits import exit_checks
from transforms.semantics import classify, parent_first_seen, versions
from transforms.state import current, history, status_events

log = logging.getLogger(__name__)

JOIN_ROW = ["_delivery_date", "_file_name", "_row_number"]
SMALL_ENTITIES = ("villages", "assistance", "targets")


OUTPUTS = (
    *(f"{e}_{kind}" for e in ENTITIES for kind in ("current", "outcomes")),
    "villages_history",
    "households_history",
    "status_events",
    "exit_checks",
    "cross_warnings",
    "held_rows",
    "validation_warnings",
)


def parts(out: Path, name: str) -> str:
    """The glob of one output's Parquet parts."""
    return str(out / name / "*.parquet")


def outputs(out: Path) -> dict[str, str]:
    """Every output of a transform written under ``out``: {name: glob of its parts}."""
    return {name: parts(out, name) for name in OUTPUTS}


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
        classified.join(marked, on=JOIN_ROW, how="left", maintain_order="left")
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


def _bucket(n: int) -> pl.Expr:
    """The bucket of a row's household: its county, hashed into ``n`` buckets."""
    return (pl.col("household_id").str.slice(0, 6).hash(seed=0) % n).cast(pl.Int64)


class _Writer:
    """Writes the parts of every output and counts their rows."""

    def __init__(self, out: Path):
        self.out = out
        self.counts: dict[str, int] = {}

    def write(self, name: str, frame: pl.LazyFrame | pl.DataFrame, part: int = 0) -> Path:
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{part:03d}.parquet"
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        df.write_parquet(path)
        self.counts[name] = self.counts.get(name, 0) + df.height
        return path


def _entity_outputs(
    w: _Writer, entity: str, classified: pl.DataFrame, part: int, keep: pl.Expr | None = None
) -> pl.LazyFrame:
    """Outcomes, history and current state of one entity's classified rows; returns the
    versions. ``keep`` selects the rows this part owns (the others are context only)."""
    own = classified if keep is None else classified.filter(keep)
    # Every row's outcome, for quarantine and reconciliation (small columns only).
    w.write(
        f"{entity}_outcomes",
        own.select(*JOIN_ROW, "record_key", "outcome", "reason", "effective_date"),
        part,
    )
    w.counts[f"{entity}_rows"] = w.counts.get(f"{entity}_rows", 0) + own.height
    vers = versions(classified.lazy())
    if entity in ("villages", "households"):
        vers = _admin(vers, "village_code")
    hist = history(vers, entity)
    cur = current(vers, entity)
    if keep is not None:
        hist, cur = hist.filter(keep), cur.filter(keep)
    w.write(f"{entity}_history", _core_columns(hist), part)
    w.write(f"{entity}_current", _core_columns(cur), part)
    return vers


def _movers_across_counties(staging: Path, spill: Path) -> pl.DataFrame:
    """Persons delivered in households of more than one county (held rows included: a
    person given to a bucket needlessly costs a little time, never a wrong result).

    One aggregation over every delivered member key: DuckDB does it within a fixed memory
    budget, spilling to ``spill`` (a Polars group-by would hold every key in memory)."""
    import duckdb

    files = sorted(str(p) for p in (staging / "stg_members").glob("delivery_date=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"id_number": pl.String})
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={"memory_limit": settings.transform_memory(), "temp_directory": str(spill)}
    )
    try:
        rows = con.execute(
            "SELECT id_number FROM read_parquet(?, union_by_name = true)"
            " WHERE id_number IS NOT NULL GROUP BY id_number"
            " HAVING count(DISTINCT substr(household_id, 1, 6)) > 1",
            [files],
        ).fetchall()
    finally:
        con.close()
    return pl.DataFrame({"id_number": [r[0] for r in rows]}, schema={"id_number": pl.String})


def _staged_findings(w: _Writer, staging: Path) -> None:
    """Rows typing and validation held (``held_rows``) or warned (``validation_warnings``),
    every entity's, with the entity named."""
    for name, layer in (("held_rows", "rejects"), ("validation_warnings", "warnings")):
        for part, entity in enumerate(ENTITIES):
            found = _scan(staging / layer / entity)
            rows = (
                pl.LazyFrame(schema=ROW_FINDING_SCHEMA)
                if found is None
                else found.select(list(ROW_FINDING_SCHEMA))
            )
            w.write(name, rows.select(pl.lit(entity).alias("entity"), pl.all()), part)


def build_core(staging: Path, out: Path, *, households_per_bucket: int | None = None) -> dict:
    """Write every output of :data:`OUTPUTS` as Parquet parts under ``out``; return row
    counts."""
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out)
    _staged_findings(w, staging)
    cands = {e: candidates(staging, e) for e in ENTITIES}
    for entity in SMALL_ENTITIES:
        _entity_outputs(w, entity, classify(cands[entity], entity).collect(), 0)

    village_first = parent_first_seen(cands["villages"], "villages").collect()
    household_first = parent_first_seen(cands["households"], "households").collect(
        engine="streaming"
    )
    n_households = cands["households"].select(pl.len()).collect().item()
    per_bucket = households_per_bucket or settings.bucket_households()
    n = max(1, math.ceil(n_households / per_bucket))
    movers = _movers_across_counties(staging, out / ".spill") if n > 1 else None
    log.info(
        "transform: %d household rows in %d bucket(s) of counties; %d persons in two counties",
        n_households,
        n,
        0 if movers is None else movers.height,
    )
    for b in range(n):
        started = time.perf_counter()
        _household_bucket(w, cands, b, n, movers, village_first, household_first)
        log.info(
            "transform: bucket %d/%d done in %.1fs (%d household rows, %d member rows so far)",
            b + 1,
            n,
            time.perf_counter() - started,
            w.counts.get("households_rows", 0),
            w.counts.get("members_rows", 0),
        )
    for name in ("status_events", "exit_checks", "cross_warnings"):
        w.counts.setdefault(name, 0)
    counts = {k: v for k, v in w.counts.items() if not k.endswith("_history")}
    counts["buckets"] = n
    return counts


def _household_bucket(
    w: _Writer,
    cands: dict[str, pl.LazyFrame],
    b: int,
    n: int,
    movers: pl.DataFrame | None,
    village_first: pl.DataFrame,
    household_first: pl.DataFrame,
) -> None:
    """Households and members of bucket ``b`` of ``n``, with every household-level output."""
    keep = None if n == 1 else _bucket(n) == b
    hh = cands["households"] if keep is None else cands["households"].filter(keep)
    mem = cands["members"]
    if keep is not None:
        assert movers is not None
        mem = mem.filter(keep | pl.col("id_number").is_in(movers["id_number"].implode()))

    households = classify(hh, "households", village_first.lazy()).collect()
    hv = _entity_outputs(w, "households", households, b)
    del households

    members = classify(mem, "members", household_first.lazy()).collect()
    held = household_head_count(versions(members.lazy()), keep)
    members = _hold(members, held)
    mv = _entity_outputs(w, "members", members, b, keep)
    del members

    hv = hv.collect().lazy()
    mv = mv.collect().lazy()
    events = w.write("status_events", status_events(hv).pipe(_admin, "village_code"), b)
    members_current = w.out / "members_current" / f"part-{b:03d}.parquet"
    w.write(
        "exit_checks",
        exit_checks(
            pl.scan_parquet(events),
            pl.scan_parquet(members_current),
            pl.scan_csv(REF / "poverty_lines.csv"),
        ),
        b,
    )
    households_current = pl.scan_parquet(w.out / "households_current" / f"part-{b:03d}.parquet")
    w.write(
        "cross_warnings",
        pl.concat(
            [
                household_size_mismatch(hv, mv),
                return_without_exit(hv),
                income_outliers(hv, households_current),
            ]
        ).with_columns(entity=pl.lit("households")),
        b,
    )
