"""The transform step's I/O shell: scan staging of every accepted delivery, apply the pure
transforms, write the core tables as Parquet for the load step.

Every output is a folder of Parquet parts (``<out>/<name>/part-NNN.parquet``;
:func:`outputs` lists them for the load). The output is everything the load reads: the
core tables, every delivered row's outcome, and the rows typing and validation held or
warned (copied from staging, so the load never reads staging itself). Villages, assistance
and targets are small and done in one part.

Households and members, the bulk of a national registry, are done in buckets, so that
memory is bounded by a bucket, not by the registry. A bucket is a set of whole connected
components of the person-household graph: a person and every household they were ever
delivered in (held rows included) fall in one component, so every rule keyed by a person
(stale, duplicate, conflict, validity intervals) or by a household (its members, its
head) reads only rows of its own bucket. Components are packed into buckets of about
``POVDB_BUCKET_HOUSEHOLDS`` households; a larger component stays whole. Rules over a
county (income outliers) are computed by the load over the core tables.

An incremental run (:class:`Scope`) transforms only the households of a set of whole
components and the rows their persons were delivered in, plus the small entities whole:
every output of those households is what a full transform gives them, because no rule
reads across a component (``docs/architecture.md``, "The incremental night"). Its extra
output ``affected`` lists the households whose rows the load replaces.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

import settings
from contract.landing import ENTITIES, HOUSEHOLD_ID_PATTERN, staging_schema
from contract.records import ROW_FINDING_SCHEMA
from contract.reference import REF_DIR as REF
from transforms.cross_checks import (
    classify_members,
    household_size_mismatch,
    return_without_exit,
)
from transforms.exits import exit_checks
from transforms.semantics import classify, parent_first_applied, versions
from transforms.state import HISTORY_COLUMNS, current, history, status_events

log = logging.getLogger(__name__)

JOIN_ROW = ["_delivery_date", "_file_name", "_row_number"]
SMALL_ENTITIES = ("villages", "assistance", "targets")
# Buckets smaller than this many households are read from staging together.
READ_HOUSEHOLDS = 100_000
# Households whose batches one pass of the split by batch writes (_split_by_batch).
SPLIT_PASS_HOUSEHOLDS = 10_000_000
# Staging is split by batch when buckets are read in at least this many batches. With two,
# reading staging once per batch costs less than the split's one write and read of it
# (province, 2 batches: 10.2-10.6 s unsplit against 11.6-12.0 s split); at national scale
# (30 batches) the split saves about 130 s.
SPLIT_MIN_BATCHES = 3


# Entities whose every version the warehouse keeps (``core.<entity>_history``; the load
# takes the current state from it); of the others the transform writes the current state.
HISTORY_ENTITIES = ("villages", "households")
OUTPUTS = (
    *(f"{e}_outcomes" for e in ENTITIES),
    *(f"{e}_current" for e in ENTITIES if e not in HISTORY_ENTITIES),
    *(f"{e}_history" for e in HISTORY_ENTITIES),
    "status_events",
    "exit_checks",
    "cross_warnings",
    "held_rows",
    "validation_warnings",
    "components",
)
# Entities whose rows fall in a household's component; their outcomes carry household_id.
COMPONENT_ENTITIES = ("households", "members")


@dataclass(frozen=True)
class Scope:
    """What an incremental transform covers: ``households``, a set of whole components
    (column ``household_id``), and ``dates``, whose staged findings (rows held or warned by
    typing and validation) it copies."""

    households: pl.DataFrame
    dates: tuple[dt.date, ...]


def parts(out: Path, name: str) -> str:
    """The glob of one output's Parquet parts."""
    return str(out / name / "*.parquet")


def outputs(out: Path) -> dict[str, str]:
    """Every output of a transform written under ``out``: {name: glob of its parts}; an
    incremental transform's also ``affected``."""
    found = {name: parts(out, name) for name in OUTPUTS}
    if (out / "affected").is_dir():
        found["affected"] = parts(out, "affected")
    return found


def _scan(
    folder: Path, schema: pl.Schema | None = None, dates: tuple[dt.date, ...] | None = None
) -> pl.LazyFrame | None:
    """Staging Parquet of every delivery date under ``folder``, or of ``dates`` only."""
    globs = ["delivery_date=*"] if dates is None else [f"delivery_date={d}" for d in dates]
    files = (
        sorted(f for g in globs for f in folder.glob(f"{g}/*.parquet")) if folder.exists() else []
    )
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


class _Writer:
    """Writes the parts of every output, counting rows. Frames added while ``collecting``
    (a batch of small buckets) wait for :meth:`flush` and make one part together; others
    are written at once, so a large bucket's outputs leave memory as soon as they are
    made.

    A part is written by a thread of its own while the next output is computed (most of
    the transform's steps keep one core busy; the Parquet encoding takes the other). One
    write at a time: a frame waits for the write before it, so at most one written frame
    is held beyond the one being computed. :meth:`close` waits for the last write; a
    failed write raises at the next write or at :meth:`close`.
    """

    def __init__(self, out: Path):
        self.out = out
        self.counts: dict[str, int] = {}
        self.part = 0
        self.collecting = False
        self._pending: dict[str, list[pl.DataFrame]] = {}
        self._written: set[Path] = set()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform-write")
        self._writing: Future[None] | None = None

    def add(self, name: str, frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        self.counts[name] = self.counts.get(name, 0) + df.height
        if self.collecting:
            self._pending.setdefault(name, []).append(df)
        else:
            self._write(name, df)
        return df

    def flush(self) -> None:
        for name, frames in self._pending.items():
            self._write(name, pl.concat(frames, how="vertical_relaxed"))
        self._pending = {}

    def close(self) -> None:
        """Wait for the last write (raising its error) and end the writing thread."""
        try:
            self._wait()
        finally:
            self._thread.shutdown(wait=True)

    def _wait(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def _write(self, name: str, df: pl.DataFrame) -> None:
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{self.part:03d}.parquet"
        if path in self._written or path.exists():
            raise RuntimeError(f"{path} is written twice: one frame per output and part")
        self._written.add(path)
        self._wait()
        # zstd at level 1: files as small as at the default level (the load reads them
        # once, then they are deleted) for about 1 s less CPU per province day one. No
        # column statistics: the load reads every row, so no reader prunes by them, and
        # they cost 12 % of the encoding (members: 1.55 s of CPU against 1.77 s).
        self._writing = self._thread.submit(
            df.write_parquet, path, compression_level=1, statistics=False
        )


def _entity_outputs(
    w: _Writer, entity: str, classified: pl.DataFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Outcomes, history (villages, households) or current state (the others) of one
    entity's classified rows (sorted by key and version order, as classify leaves them);
    returns the versions, in that order, and the current state (for the entities with a
    history, its current versions, computed only if read)."""
    # Every row's outcome, for quarantine and reconciliation (small columns only). The
    # record key only where the quarantine shows it, on rows not applied: nothing reads an
    # applied row's key there (staging keeps it), and writing it cost 0.5 s of province
    # day one's load.
    household = pl.col("household_id") if entity in COMPONENT_ENTITIES else pl.lit(None, pl.String)
    w.add(
        f"{entity}_outcomes",
        classified.select(
            *JOIN_ROW,
            pl.when(pl.col("outcome") != "applied").then("record_key").alias("record_key"),
            household.alias("household_id"),
            "outcome",
            "reason",
            "effective_date",
        ),
    )
    w.counts[f"{entity}_rows"] = w.counts.get(f"{entity}_rows", 0) + classified.height
    selected = versions(classified.lazy())
    if entity in ("villages", "households"):
        selected = _admin(selected, "village_code")
    vers = selected.collect().lazy()
    if entity in HISTORY_ENTITIES:
        # The current state is the history's current versions (what the load reads).
        past = w.add(f"{entity}_history", _core_columns(history(vers, entity, presorted=True)))
        current_rows = int(past["is_current"].sum())
        w.counts[f"{entity}_current"] = w.counts.get(f"{entity}_current", 0) + current_rows
        now = past.lazy().filter(pl.col("is_current")).drop(HISTORY_COLUMNS)
    else:
        now = w.add(
            f"{entity}_current", _core_columns(current(vers, entity, presorted=True))
        ).lazy()
    return vers, now


def _component_buckets(
    staging: Path, per_bucket: int, spill: Path, scope: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every delivered household id with its component and bucket (``household_id``,
    ``component``, ``bucket``: 0..n-1); with ``scope`` (``household_id``: a set of whole
    components), those households only.

    Components: households joined by persons delivered in more than one of them (every
    typed member row counts, held ones too). Only such movers join households, so the
    label propagation runs over their few households; every other household is a
    component of its own. Components are ordered by a hash of their smallest household id
    and packed in that order, a bucket starting where the running count of households
    passes a multiple of ``per_bucket``.
    """

    def files(entity: str) -> list[str]:
        return sorted(str(p) for p in (staging / f"stg_{entity}").glob("delivery_date=*/*.parquet"))

    members, households = files("members"), files("households")
    # Rows of the scope's households only: their persons' other households are in it too.
    within = "" if scope is None else " AND household_id IN (SELECT household_id FROM scope)"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": settings.transform_memory(),
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        }
    )
    try:
        if scope is not None:
            con.register("scope", scope.select("household_id").to_arrow())
        delivered = " UNION ALL ".join(
            f"SELECT household_id FROM read_parquet(${e}, union_by_name = true)"
            f" WHERE household_id IS NOT NULL{within}"
            for e, f in (("households", households), ("members", members))
            if f
        )
        if not delivered:
            return pl.DataFrame(
                schema={"household_id": pl.String, "component": pl.String, "bucket": pl.Int64}
            )
        con.execute(
            f"CREATE TEMP TABLE ids AS SELECT DISTINCT household_id FROM ({delivered})",
            {e: f for e, f in (("households", households), ("members", members)) if f},
        )
        moves = pl.DataFrame(schema={"id_number": pl.String, "household_id": pl.String})
        if members:
            # Movers found with fixed-size aggregates (min and max), which spill to disk at
            # national scale. Persons are grouped by a hash of their ID only to pick the
            # candidates: a collision adds a non-mover's rows to ``moves``, and the labels
            # then propagate by the ID itself, so the components are exact (an incremental
            # run, which sees only its scope's rows, finds the same ones). A household id
            # of 16 digits (every one validation passes) is compared as the number it
            # spells, one to one; a person with a row of any other spelling is a candidate.
            moves = con.sql(
                "WITH m AS (SELECT id_number, household_id"
                "   FROM read_parquet($files, union_by_name = true)"
                f"   WHERE household_id IS NOT NULL{within}),"
                " numbered AS (SELECT hash(id_number) AS h,"
                f"   CASE WHEN regexp_matches(household_id, '{HOUSEHOLD_ID_PATTERN}')"
                "   THEN CAST(household_id AS BIGINT) END AS k FROM m),"
                " movers AS (SELECT h FROM numbered GROUP BY h"
                "   HAVING min(k) <> max(k) OR count(*) > count(k))"
                " SELECT DISTINCT id_number, household_id FROM m"
                " WHERE hash(id_number) IN (SELECT h FROM movers)",
                params={"files": members},
            ).pl()
        con.register("labels", _components(moves).to_arrow())
        # Every household not joined to another is a component of its own (size 1): only
        # the labelled ones are counted, and only they are joined back to their households.
        return con.sql(
            """
            WITH sizes AS (
                SELECT household_id AS component, 1 AS n FROM ids
                WHERE household_id NOT IN (SELECT household_id FROM labels)
                UNION ALL
                SELECT component, count(*) FROM labels GROUP BY component
            ),
            placed AS MATERIALIZED (
                SELECT component,
                       (coalesce(sum(n) OVER (ORDER BY hash(component), component
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                        // $per_bucket) AS slot
                FROM sizes
            ),
            slots AS (
                SELECT slot, (row_number() OVER (ORDER BY slot) - 1)::BIGINT AS bucket
                FROM (SELECT DISTINCT slot FROM placed)
            )
            SELECT coalesce(l.household_id, p.component) AS household_id, p.component,
                   s.bucket
            FROM placed p JOIN slots s USING (slot)
            LEFT JOIN labels l ON l.component = p.component
            """,
            params={"per_bucket": per_bucket},
        ).pl()
    finally:
        con.close()


def _components(moves: pl.DataFrame) -> pl.DataFrame:
    """Connected components of the households that movers join (``household_id``,
    ``component``: the smallest household id of its component), by label propagation."""
    labels = moves.select("household_id").unique().with_columns(component=pl.col("household_id"))
    while True:
        by_person = (
            moves.join(labels, on="household_id")
            .group_by("id_number")
            .agg(pl.col("component").min())
        )
        spread = (
            moves.join(by_person, on="id_number")
            .group_by("household_id")
            .agg(pl.col("component").min())
        )
        updated = labels.join(spread, on="household_id", suffix="_new").select(
            "household_id", pl.min_horizontal("component", "component_new").alias("component")
        )
        if updated.sort("household_id").equals(labels.sort("household_id")):
            return labels
        labels = updated


def _staged_findings(w: _Writer, staging: Path, dates: tuple[dt.date, ...] | None) -> None:
    """Rows typing and validation held (``held_rows``) or warned (``validation_warnings``),
    every entity's (of every date, or of ``dates``), with the entity named. A held row of a
    household or member that typing could read carries its ``household_id``: it joins
    its person's households into one component, and an incremental run of its date
    finds the households it was delivered in."""
    for name, layer in (("held_rows", "rejects"), ("validation_warnings", "warnings")):
        for entity in ENTITIES:
            found = _scan(staging / layer / entity, dates=dates)
            rows = (
                pl.LazyFrame(schema=ROW_FINDING_SCHEMA)
                if found is None
                else found.select(list(ROW_FINDING_SCHEMA))
            )
            rows = rows.select(pl.lit(entity).alias("entity"), pl.all())
            if name == "held_rows":
                typed = _scan(staging / f"stg_{entity}", staging_schema(entity), dates)
                if entity in COMPONENT_ENTITIES and typed is not None and found is not None:
                    rows = rows.join(
                        typed.select(*JOIN_ROW, "household_id"), on=JOIN_ROW, how="left"
                    )
                else:
                    rows = rows.with_columns(household_id=pl.lit(None, pl.String))
            w.add(name, rows)


def _batches(buckets: pl.DataFrame, per_read: int) -> list[list[int]]:
    """Consecutive buckets read from staging together: up to ``per_read`` households, or
    one bucket when it alone is larger."""
    batches: list[list[int]] = [[]]
    size = 0
    for b, n in buckets.group_by("bucket").len().sort("bucket").iter_rows():
        if batches[-1] and size + n > per_read:
            batches.append([])
            size = 0
        batches[-1].append(b)
        size += n
    return batches


def build_core(
    staging: Path,
    out: Path,
    *,
    households_per_bucket: int | None = None,
    scope: Scope | None = None,
) -> dict:
    """Write every output of :data:`OUTPUTS` as Parquet parts under ``out``; return row
    counts. With ``scope``, the outputs of the households and members of its components
    only (and ``affected``, the scope's households), the small entities whole, and the
    staged findings of its dates."""
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out)
    try:
        n = _write_outputs(w, staging, households_per_bucket or settings.bucket_households(), scope)
    finally:
        w.close()
    counts = {k: v for k, v in w.counts.items() if not k.endswith("_history")}
    counts["buckets"] = n
    return counts


def _write_outputs(w: _Writer, staging: Path, per_bucket: int, scope: Scope | None) -> int:
    """The body of :func:`build_core`: every output through ``w``; returns the number of
    buckets."""
    out = w.out
    w.collecting = True
    _staged_findings(w, staging, None if scope is None else scope.dates)
    cands = {e: candidates(staging, e) for e in ENTITIES}
    village_first = pl.DataFrame(schema={"parent_key": pl.String, "first_date": pl.Date})
    for entity in SMALL_ENTITIES:
        vers, _ = _entity_outputs(w, entity, classify(cands[entity], entity).collect())
        if entity == "villages":
            village_first = parent_first_applied(vers, "villages").collect()
    if scope is not None:
        w.add("affected", scope.households.select("household_id").unique().sort("household_id"))
    w.flush()

    buckets = _component_buckets(
        staging, per_bucket, out / ".spill", None if scope is None else scope.households
    )
    # Households of components of more than one household, with the component (its
    # smallest household id): an incremental run reads them to close its scope.
    w.part, w.collecting = 0, False
    w.add(
        "components",
        buckets.filter(pl.len().over("component") > 1)
        .select("household_id", "component")
        .sort("household_id"),
    )
    buckets = buckets.drop("component")
    if buckets.height == 0:
        buckets = pl.DataFrame({"household_id": [None], "bucket": [0]}, schema=buckets.schema)
    n = int(buckets["bucket"].max()) + 1  # type: ignore[arg-type]
    batches = _batches(buckets, max(per_bucket, READ_HOUSEHOLDS))
    log.info(
        "transform: %d households in %d bucket(s) of whole components, read in %d batch(es)%s",
        buckets.height,
        n,
        len(batches),
        "" if scope is None else " (incremental)",
    )
    split = None
    if len(batches) >= SPLIT_MIN_BATCHES:
        split = _split_by_batch(cands, buckets, batches, out / ".split")
    for part, batch in enumerate(batches):
        started = time.perf_counter()
        in_batch = buckets.filter(pl.col("bucket").is_in(batch))
        if split is None:
            # Every delivered household id has its bucket; a row without one (none passes
            # validation) goes to the first bucket: nothing is lost.
            picked = pl.col("household_id").is_in(in_batch["household_id"].implode())
            if 0 in batch:
                picked = picked | pl.col("household_id").is_null()
            rows = {e: cands[e].filter(picked) for e in COMPONENT_ENTITIES}
        else:
            rows = {e: split(e, part) for e in COMPONENT_ENTITIES}
        w.part, w.collecting = part, len(batch) > 1
        if w.collecting:  # small buckets: read staging once for all of them
            rows = {
                e: f.join(in_batch.lazy(), on="household_id", how="left").with_columns(
                    pl.col("bucket").fill_null(0)
                )
                for e, f in rows.items()
            }
        # Staging is read by the streaming engine (a batch's rows only); the batch's frames,
        # then in memory, are sorted, joined and grouped by the in-memory engine, which
        # takes about half the streaming engine's CPU time for them.
        rows = {e: f.collect(engine="streaming").lazy() for e, f in rows.items()}
        with pl.Config(engine_affinity="in-memory"):
            if not w.collecting:  # one bucket: every picked row is of it
                _household_bucket(w, rows, village_first)
            else:
                for b in batch:
                    _household_bucket(
                        w,
                        {
                            e: f.filter(pl.col("bucket") == b).drop("bucket")
                            for e, f in rows.items()
                        },
                        village_first,
                    )
        del rows
        w.flush()
        log.info(
            "transform: buckets %d-%d of %d done in %.1fs (%d household rows, %d member rows so far)",
            batch[0] + 1,
            batch[-1] + 1,
            n,
            time.perf_counter() - started,
            w.counts.get("households_rows", 0),
            w.counts.get("members_rows", 0),
        )
    if split is not None:
        shutil.rmtree(out / ".split", ignore_errors=True)  # the load does not read it
    return n


def _split_by_batch(
    cands: dict[str, pl.LazyFrame],
    buckets: pl.DataFrame,
    batches: list[list[int]],
    folder: Path,
) -> Callable[[str, int], pl.LazyFrame]:
    """Write the candidate households and members once, one folder per batch, and return
    what reads a batch's rows back (``(entity, batch) -> rows``).

    Picking each batch's rows out of the whole staging read all of it once per batch (30
    reads of 90 M member rows at national scale); this reads it once per pass. A batch
    gets exactly the rows the pick gave it: those of its households, and (the first
    batch) the rows without a household id, which no rule keeps; a row whose household is
    in no bucket is in no batch.

    Memory: the join of every row with its household's batch holds a hash table of the
    households joined. Ids of 16 digits (all that pass validation) are joined as Int64,
    which halves it; any other spelling by its text. Passes of at most
    ``SPLIT_PASS_HOUSEHOLDS`` households each bound the table: about 4 GiB over 10 M
    households in Polars' streaming engine."""
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    batch_of = pl.DataFrame(
        {
            "bucket": [b for batch in batches for b in batch],
            "_batch": [i for i, batch in enumerate(batches) for _ in batch],
        },
        schema={"bucket": buckets.schema["bucket"], "_batch": pl.Int32},
    )
    digits = pl.col("household_id").str.contains(HOUSEHOLD_ID_PATTERN)
    hid = pl.when(digits).then(pl.col("household_id").cast(pl.Int64, strict=False))
    keyed = buckets.join(batch_of, on="bucket").select("household_id", "_batch", hid.alias("_hid"))
    by_number = keyed.filter(pl.col("_hid").is_not_null()).select("_hid", "_batch")
    by_text = keyed.filter(pl.col("_hid").is_null() & pl.col("household_id").is_not_null())
    by_text = by_text.select("household_id", pl.col("_batch").alias("_batch_text"))
    del keyed
    households = buckets.height
    passes = min(len(batches), max(1, -(-households // SPLIT_PASS_HOUSEHOLDS)))
    groups = [
        list(range(i * len(batches) // passes, (i + 1) * len(batches) // passes))
        for i in range(passes)
    ]
    schemas = {e: cands[e].collect_schema() for e in COMPONENT_ENTITIES}
    for g, members in enumerate(groups):
        number = by_number.filter(pl.col("_batch").is_between(members[0], members[-1]))
        text = by_text.filter(pl.col("_batch_text").is_between(members[0], members[-1]))
        for entity in COMPONENT_ENTITIES:
            rows = (
                cands[entity]
                .with_columns(hid.alias("_hid"))
                .join(number.lazy(), on="_hid", how="left")
                .drop("_hid")
            )
            if text.height:
                rows = rows.join(text.lazy(), on="household_id", how="left").with_columns(
                    pl.coalesce("_batch", "_batch_text").alias("_batch")
                )
                rows = rows.drop("_batch_text")
            keep = pl.col("_batch").is_not_null()
            if g == 0:
                keep = keep | pl.col("household_id").is_null()
            rows.filter(keep).with_columns(pl.col("_batch").fill_null(0)).sink_parquet(
                pl.PartitionBy(folder / entity, key="_batch", include_key=False),
                mkdir=True,
                compression_level=1,
            )
    log.info(
        "transform: households and members split into %d batches in %d pass(es), %.1fs",
        len(batches),
        passes,
        time.perf_counter() - started,
    )

    def read(entity: str, batch: int) -> pl.LazyFrame:
        files = sorted((folder / entity / f"_batch={batch}").glob("*.parquet"))
        if not files:
            return pl.LazyFrame(schema=schemas[entity])
        return pl.scan_parquet(files, schema=schemas[entity])

    return read


def village_first_applied(staging: Path) -> pl.DataFrame:
    """First date from which each village is applied (``parent_key``, ``first_date``), as
    :func:`build_core` computes it: what parks a household."""
    vers = versions(classify(candidates(staging, "villages"), "villages"))
    return parent_first_applied(vers, "villages").collect()


def households_of(
    staging: Path, *, dates: tuple[dt.date, ...] = (), villages: pl.Series | None = None
) -> pl.DataFrame:
    """Distinct ``household_id`` of the typed household and member rows delivered on
    ``dates`` (held ones too), of every typed row of the persons those member rows name
    (on any date: a row of D joins its person's households into one component), and of
    the household rows of ``villages`` on any date."""
    found = []
    persons = []
    for entity in COMPONENT_ENTITIES:
        rows = _scan(staging / f"stg_{entity}", staging_schema(entity), dates) if dates else None
        if rows is not None:
            found.append(rows.select("household_id"))
            if entity == "members":
                persons.append(rows.select("id_number").drop_nulls().unique().collect())
    if persons and persons[0].height:
        every = _scan(staging / "stg_members", staging_schema("members"))
        if every is not None:
            found.append(
                every.filter(pl.col("id_number").is_in(persons[0]["id_number"].implode())).select(
                    "household_id"
                )
            )
    if villages is not None and villages.len():
        rows = _scan(staging / "stg_households", staging_schema("households"))
        if rows is not None:
            found.append(
                rows.filter(pl.col("village_code").is_in(villages.implode())).select("household_id")
            )
    if not found:
        return pl.DataFrame(schema={"household_id": pl.String})
    return pl.concat(found).drop_nulls().unique().collect()


def _household_bucket(
    w: _Writer, cands: dict[str, pl.LazyFrame], village_first: pl.DataFrame
) -> None:
    """Households and members of one bucket (``cands``: their candidate rows, taken out of
    the dict once read), with every household-level output."""
    # Every frame below is sorted by its key and version order, as classify leaves it
    # (households by household, members by person): none is sorted again.
    households = classify(cands.pop("households"), "households", village_first.lazy()).collect()
    hv = _entity_outputs(w, "households", households)[0]
    del households
    household_first = parent_first_applied(hv, "households")

    classified, totals = classify_members(cands.pop("members"), household_first)
    mv, members_now = _entity_outputs(w, "members", classified)
    del classified
    events = w.add("status_events", status_events(hv, presorted=True).pipe(_admin, "village_code"))
    w.add(
        "exit_checks",
        exit_checks(events.lazy(), members_now, pl.scan_csv(REF / "poverty_lines.csv")),
    )
    w.add(
        "cross_warnings",
        pl.concat(
            [
                household_size_mismatch(hv, mv, presorted=True, totals=totals),
                return_without_exit(hv),
            ]
        ).with_columns(entity=pl.lit("households")),
    )
