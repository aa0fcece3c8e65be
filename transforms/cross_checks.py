"""Cross-entity and cross-delivery rules, which no single delivered file can decide.

They look at the registry *as of* a delivery date d: the latest version of every record
that had taken effect on or before d. Each rule judges the rows delivered on d against
that state, so a row's verdict depends only on the deliveries up to its own date, never on
the order in which the dates were run.

- ``household_head_count`` (error): a household whose members, as of d, do not include
  exactly one active head; the member rows of that household delivered on d are held.
- ``household_size_mismatch`` (warn): a household row whose declared size differs from its
  active members as of its date.
- ``return_without_exit`` (warn): a household reported returned with no earlier version
  lifted.

The fourth cross rule, ``income_outlier``, reads a whole county's current households, so
the load computes it over the core tables (``warehouse/state/income_outliers.sql``).

Pure LazyFrame -> LazyFrame; the inputs are versions (applied rows with their
``effective_date``). ``presorted``: they are sorted by key and version order already
(``transforms.state.in_version_order``), as the transform's buckets give them.
"""

from __future__ import annotations

import polars as pl

from contract.landing import record_key
from transforms.semantics import classify, next_in_key, versions
from transforms.state import in_version_order, version_order

ROW = ["_delivery_date", "_file_name", "_row_number"]
FINDING_COLUMNS = [*ROW, "record_key", "reason", "detail"]


def _intervals(
    versions: pl.LazyFrame, entity: str, key: str, *, presorted: bool = False
) -> pl.LazyFrame:
    """Each version with the delivery date from which the next version replaces it."""
    return in_version_order(versions, entity, [key], presorted=presorted).with_columns(
        _until=next_in_key(pl.col("effective_date"), [key])
    )


def _current_at_own_date() -> pl.Expr:
    """The version is still the latest at the end of the day it took effect."""
    return pl.col("_until").is_null() | (pl.col("_until") > pl.col("effective_date"))


def _active() -> pl.Expr:
    return pl.col("member_status") == "active"


def _active_head() -> pl.Expr:
    return _active() & (pl.col("relation") == "head")


def _households_of(member_intervals: pl.LazyFrame) -> pl.LazyFrame:
    """Per household of the member versions (with their intervals): the first and last
    effective date of its versions, whether any of them is replaced, its active members
    and active heads (``_first``, ``_last``, ``_replaced``, ``active``, ``heads``)."""
    return member_intervals.group_by("household_id").agg(
        _first=pl.col("effective_date").min(),
        _last=pl.col("effective_date").max(),
        _replaced=pl.col("_until").is_not_null().any(),
        active=_active().sum().cast(pl.Int64),
        heads=_active_head().sum().cast(pl.Int64),
    )


def household_totals(member_versions: pl.LazyFrame, *, presorted: bool = False) -> pl.DataFrame:
    """Per household, the totals of its member versions (:func:`_households_of`): what the
    head-count and household-size rules share over the same versions."""
    iv = _intervals(member_versions, "members", "id_number", presorted=presorted)
    return _households_of(iv).collect()


def _settled() -> pl.Expr:
    """On :func:`_households_of`: every member version of the household took effect on one
    date and none is replaced (their intervals are all [that date, open)), so as of any
    date the household has all of them or none. Most households of a bucket are so; only
    the others need the versions' intervals."""
    return (pl.col("_first") == pl.col("_last")) & ~pl.col("_replaced")


def _counted(pairs: pl.LazyFrame, member_intervals: pl.LazyFrame) -> pl.LazyFrame:
    """Active members and heads of each (household_id, at) pair, from the versions'
    intervals: those in force at ``at``."""
    counted = (
        pairs.join(member_intervals, on="household_id", how="left")
        .filter(
            (pl.col("effective_date") <= pl.col("at"))
            & (pl.col("_until").is_null() | (pl.col("at") < pl.col("_until")))
        )
        .group_by("household_id", "at")
        .agg(active=_active().sum().cast(pl.Int64), heads=_active_head().sum().cast(pl.Int64))
    )
    return pairs.join(counted, on=["household_id", "at"], how="left").with_columns(
        pl.col("active").fill_null(0), pl.col("heads").fill_null(0)
    )


def members_as_of(
    pairs: pl.LazyFrame,
    member_versions: pl.LazyFrame,
    *,
    presorted: bool = False,
    totals: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Active members and active heads of each (household_id, at) pair, as of ``at``.

    A settled household's (:func:`_settled`) are its totals once ``at`` reaches the date
    its versions took effect, none before; the others' are counted over their versions'
    intervals. ``totals``: :func:`household_totals` of ``member_versions``, if the caller
    has them. (What is read twice below is collected once: a plan reading it twice would
    compute it twice.)"""
    iv = (
        _intervals(member_versions, "members", "id_number", presorted=presorted)
        .select("household_id", "effective_date", "_until", "member_status", "relation")
        .collect()
    )
    if totals is None:
        totals = _households_of(iv.lazy()).collect()
    households = pairs.join(totals.lazy(), on="household_id", how="left").collect()
    # A household without member versions has none at any date.
    quick = pl.col("_first").is_null() | _settled()
    reached = pl.col("_first") <= pl.col("at")
    settled = (
        households.lazy()
        .filter(quick)
        .select(
            "household_id",
            "at",
            active=pl.when(reached).then(pl.col("active")).otherwise(0),
            heads=pl.when(reached).then(pl.col("heads")).otherwise(0),
        )
    )
    others = households.lazy().filter(~quick).select("household_id", "at")
    counted = _counted(others, iv.lazy().join(others, on="household_id", how="semi"))
    return pl.concat([settled, counted])


def _head_count_once(
    member_versions: pl.LazyFrame, *, presorted: bool = False, totals: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every member row whose household, as of the row's effective date, does not have
    exactly one active head (``at``: that date).

    A settled household (:func:`_settled`) has one such date, the one its versions took
    effect on, and its totals then; only the others' rows are paired with their dates
    and counted over the versions' intervals. ``totals``: as :func:`members_as_of`."""
    iv = _intervals(member_versions, "members", "id_number", presorted=presorted).collect()
    households = _households_of(iv.lazy()).collect() if totals is None else totals
    others = (
        iv.lazy()
        .join(households.lazy().filter(~_settled()), on="household_id", how="semi")
        .collect()
        .lazy()
    )
    delivered = others.filter(_current_at_own_date()).with_columns(at=pl.col("effective_date"))
    pairs = delivered.select("household_id", "at").unique()
    bad = pl.concat(
        [
            households.lazy()
            .filter(_settled() & (pl.col("heads") != 1))
            .select("household_id", at=pl.col("_first")),
            _counted(pairs, others).filter(pl.col("heads") != 1).select("household_id", "at"),
        ]
    ).collect()
    return (
        iv.lazy()
        .filter(_current_at_own_date())
        .with_columns(at=pl.col("effective_date"))
        .join(bad.lazy(), on=["household_id", "at"], how="semi")
        .select(
            *ROW,
            "at",
            pl.col("id_number").alias("record_key"),
            pl.lit("household_head_count").alias("reason"),
            pl.lit("household does not have exactly one active head").alias("detail"),
        )
        .collect()
    )


def earliest_head_count(
    member_versions: pl.LazyFrame, *, presorted: bool = False, totals: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The member rows to hold first: those of the earliest date on which a household has
    other than one active head, judged against every version (FINDING_COLUMNS).
    ``totals``: as :func:`members_as_of`."""
    found = _head_count_once(member_versions, presorted=presorted, totals=totals)
    return found.filter(pl.col("at") == pl.col("at").min()).select(FINDING_COLUMNS).sort(ROW)


def household_head_count(member_versions: pl.LazyFrame) -> pl.DataFrame:
    """Member rows to hold because their household, as of their date, has no single head.

    Dates are settled in order, each against the state the versions not held built: the
    rows of the earliest date with a violation are held, then every row is judged again
    without them, until none is left. A held row so acts as if it had never been
    delivered: a move that is held leaves its person where they were, which may make a
    later (or the same day's) row into that household a violation in turn.
    """
    held = pl.DataFrame(schema={c: pl.String for c in FINDING_COLUMNS}).cast(
        {"_delivery_date": pl.Date, "_row_number": pl.Int64}
    )
    versions = member_versions.collect()
    while True:
        remaining = versions.lazy().join(held.lazy().select(ROW), on=ROW, how="anti")
        found = earliest_head_count(remaining)
        if found.height == 0:
            return held.sort(ROW)
        held = pl.concat([held, found], how="vertical_relaxed")


def classify_members(
    candidates: pl.LazyFrame, household_first: pl.LazyFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every candidate member row's outcome, the head-count rule included, and the
    :func:`household_totals` of the versions among them (for the household-size rule).

    As :func:`household_head_count`, dates are settled in order; and a held row is absent
    for every other rule too: the rows of a person with a held row are classified again
    without it (a later row is no longer stale, nor a duplicate, because of a held one).
    """
    order = ["id_number", *version_order("members")]
    # In version order by person, as classify sorts them, and kept so below.
    classified = classify(candidates, "members", household_first).collect()
    held = pl.DataFrame(schema={c: pl.String for c in ROW}).cast(
        {"_delivery_date": pl.Date, "_row_number": pl.Int64}
    )
    while True:
        vers = versions(classified.lazy())
        totals = household_totals(vers, presorted=True)
        found = earliest_head_count(vers, presorted=True, totals=totals)
        if found.height == 0:  # the versions are final: a held row is none
            break
        held = pl.concat([held, found.select(ROW)])
        persons = found.select(pl.col("record_key").alias("id_number")).unique().lazy()
        again = classify(
            candidates.join(persons, on="id_number", how="semi").join(
                held.lazy(), on=ROW, how="anti"
            ),
            "members",
            household_first,
        ).collect()
        classified = pl.concat(
            [classified.join(persons.collect(), on="id_number", how="anti"), again]
        ).sort(order)
    if held.height == 0:
        return classified, totals
    held_rows = (
        candidates.join(held.lazy(), on=ROW, how="semi")
        .with_columns(
            record_key=record_key("members"),
            outcome=pl.lit("held"),
            reason=pl.lit("household_head_count"),
            effective_date=pl.lit(None, dtype=pl.Date()),
        )
        .select(classified.columns)
        .collect()
    )
    return pl.concat([classified, held_rows]).sort(order), totals


def household_size_mismatch(
    household_versions: pl.LazyFrame,
    member_versions: pl.LazyFrame,
    *,
    presorted: bool = False,
    totals: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """``totals``: :func:`household_totals` of ``member_versions``, if the caller has them."""
    iv = _intervals(household_versions, "households", "household_id", presorted=presorted)
    rows = iv.filter(_current_at_own_date()).with_columns(at=pl.col("effective_date"))
    counted = members_as_of(
        rows.select("household_id", "at").unique(),
        member_versions,
        presorted=presorted,
        totals=totals,
    )
    return (
        rows.join(counted, on=["household_id", "at"], how="left")
        .filter(pl.col("household_size") != pl.col("active"))
        .select(
            *ROW,
            pl.col("household_id").alias("record_key"),
            pl.lit("household_size_mismatch").alias("reason"),
            # concat_str, not pl.format: format panics now and then (polars issue 25525).
            pl.concat_str(
                pl.lit("household_size "),
                "household_size",
                pl.lit(" but "),
                "active",
                pl.lit(" active members"),
            ).alias("detail"),
        )
    )


def return_without_exit(household_versions: pl.LazyFrame) -> pl.LazyFrame:
    lifted_before = (
        (pl.col("status") == "lifted").cast(pl.Int8).cum_max().shift(1).over("household_id")
    )
    # Only households with a returned version can break the rule.
    returned = household_versions.filter(pl.col("status") == "returned").select("household_id")
    return (
        household_versions.join(returned.unique(), on="household_id", how="semi")
        .sort(["household_id", *version_order("households")])
        .filter((pl.col("status") == "returned") & (lifted_before.fill_null(0) == 0))
        .select(
            *ROW,
            pl.col("household_id").alias("record_key"),
            pl.lit("return_without_exit").alias("reason"),
            pl.lit("reported returned without an earlier exit").alias("detail"),
        )
    )
