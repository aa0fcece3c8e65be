"""Key semantics of a delivery: which delivered rows are applied, stale, duplicate,
conflicting or parked (LANDING_CONTRACT.md, "Meaning of a delivery").

Pure functions over LazyFrames of *candidate* rows: typed staging rows of every accepted
delivery date that neither typing nor validation held. The outcome of a row depends only
on the set of deliveries, never on the order in which dates were run, because every rule
below is written over the delivery dates themselves.
"""

from __future__ import annotations

import polars as pl

from contract.landing import CONTRACT, record_key

# Arrival order of rows: delivery date, then file name, then row number.
ARRIVAL = ("_delivery_date", "_file_name", "_row_number")
# Child entity -> (parent entity, the child's column holding the parent key).
PARENTS = {"members": ("households", "household_id"), "households": ("villages", "village_code")}
OUTCOME_SCHEMA = {
    "_delivery_date": pl.Date(),
    "_file_name": pl.String(),
    "_row_number": pl.Int64(),
    "record_key": pl.String(),
    "outcome": pl.String(),
    "reason": pl.String(),
    "effective_date": pl.Date(),
}


def _row_index() -> pl.Expr:
    return pl.int_range(pl.len(), dtype=pl.Int64)


def same_key_as_previous(key: list[str]) -> pl.Expr:
    """On a frame sorted by ``key``: the row continues the key of the row before it.

    Window functions (``over``) build a hash table of every key; on sorted frames the
    same groups are the runs of equal keys, which these shifts find in one pass.
    """
    same = [pl.col(k).eq_missing(pl.col(k).shift(1)) for k in key]
    return pl.all_horizontal(same) & (_row_index() > 0)


def same_key_as_next(key: list[str]) -> pl.Expr:
    """On a frame sorted by ``key``: the row after this one has the same key."""
    same = [pl.col(k).eq_missing(pl.col(k).shift(-1)) for k in key]
    return pl.all_horizontal(same) & (_row_index() < pl.len() - 1)


def next_in_key(value: pl.Expr, key: list[str]) -> pl.Expr:
    """On a frame sorted by ``key``: ``value`` of the next row of the same key, else null
    (``value.shift(-1).over(key)``)."""
    return pl.when(same_key_as_next(key)).then(value.shift(-1))


def previous_in_key(value: pl.Expr, key: list[str]) -> pl.Expr:
    """On a frame sorted by ``key``: ``value`` of the row before of the same key, else null
    (``value.shift(1).over(key)``)."""
    return pl.when(same_key_as_previous(key)).then(value.shift(1))


def content_columns(entity: str) -> list[str]:
    return list(CONTRACT[entity].column_names)


def classify(
    rows: pl.LazyFrame, entity: str, parent_first_seen: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """One outcome per candidate row, the rows sorted by key, then version order
    (:func:`transforms.state.version_order`): the order history, current state and the
    cross checks read them in.

    ``parent_first_seen`` (columns ``parent_key``, ``first_date``, see
    :func:`parent_first_applied`) gives the first date from which each parent record
    (household for members, village for households) is applied; a row whose parent is
    applied only after the row's own date is parked until then (``effective_date``), and
    one whose parent never is stays parked.
    """
    spec = CONTRACT[entity]
    key = list(spec.key)
    order = ["updated_at", *ARRIVAL] if spec.has_updated_at else list(ARRIVAL)

    # The one sort of the rows: every later step keeps this order.
    df = (
        rows.with_columns(record_key=record_key(entity))
        .sort([*key, *order])
        .with_columns(_pos=_row_index())
    )
    # Most keys have one candidate row: it is neither stale, nor a duplicate, nor a
    # conflict. Only the rows of keys with several go through the window rules; their
    # verdicts come back by position, on the few rows where a rule found something.
    several = df.filter(same_key_as_previous(key) | same_key_as_next(key))
    found = _window_rules(several, entity).filter(
        pl.col("_stale") | pl.col("_conflict") | ~pl.col("_first") | pl.col("_two_homes")
    )
    # The verdict of every row, computed on a narrow frame in the rows' order and set
    # beside them (no column of the wide rows is moved).
    parent_col = PARENTS[entity][1] if parent_first_seen is not None else None
    verdicts = df.select("_pos", "_delivery_date", *([parent_col] if parent_col else [])).join(
        found, on="_pos", how="left", maintain_order="left"
    )
    if parent_first_seen is not None and parent_col is not None:
        verdicts = verdicts.join(
            parent_first_seen.rename({"parent_key": parent_col, "first_date": "_parent_first"}),
            on=parent_col,
            how="left",
            maintain_order="left",
        )
    else:
        verdicts = verdicts.with_columns(_parent_first=pl.lit(None, dtype=pl.Date()))
    verdicts = verdicts.with_columns(
        pl.col("_stale", "_conflict", "_two_homes").fill_null(False),
        pl.col("_first").fill_null(True),
    )

    parked_never = pl.lit(parent_first_seen is not None) & pl.col("_parent_first").is_null()
    parked_wait = pl.col("_parent_first") > pl.col("_delivery_date")
    outcome = (
        pl.when(pl.col("_stale"))
        .then(pl.lit("stale"))
        .when(pl.col("_two_homes"))
        .then(pl.lit("conflict"))
        .when(pl.col("_conflict"))
        .then(pl.lit("conflict"))
        .when(~pl.col("_first"))
        .then(pl.lit("duplicate"))
        .when(parked_never | parked_wait)
        .then(pl.lit("parked"))
        .otherwise(pl.lit("applied"))
    )
    reason = (
        pl.when(pl.col("_stale"))
        .then(pl.lit("stale_update"))
        .when(pl.col("_two_homes"))
        .then(pl.lit("person_in_two_households"))
        .when(pl.col("_conflict"))
        .then(pl.lit("conflicting_duplicate"))
        .when(~pl.col("_first"))
        .then(pl.lit("duplicate_row"))
        .when(parked_never | parked_wait)
        .then(pl.lit("parent_missing"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    effective = (
        pl.when(parked_wait)
        .then(pl.col("_parent_first"))
        .when(parked_never)
        .then(pl.lit(None, dtype=pl.Date()))
        .otherwise(pl.col("_delivery_date"))
    )
    return pl.concat(
        [
            df.drop("_pos"),
            verdicts.select(outcome=outcome, reason=reason, effective_date=effective),
        ],
        how="horizontal",
    )


def _window_rules(several: pl.LazyFrame, entity: str) -> pl.LazyFrame:
    """``_pos`` and the verdicts of the window rules (``_stale``, ``_conflict``,
    ``_first``: the first live row of its version, ``_two_homes``) on the rows of keys
    with several candidate rows, sorted by key then arrival."""
    spec = CONTRACT[entity]
    key = list(spec.key)
    content = content_columns(entity)
    df = several.sort([*key, *ARRIVAL]).with_columns(_ord=_row_index())

    # Stale: an earlier-arriving row of the same key carries a later updated_at.
    if spec.has_updated_at:
        earlier_max = pl.col("updated_at").cum_max().shift(1).over(key)
        stale = earlier_max.is_not_null() & (pl.col("updated_at") < earlier_max)
    else:
        stale = pl.lit(False)
    df = df.with_columns(_stale=stale)

    version = ["updated_at"] if spec.has_updated_at else []
    group = [*key, *version, "_delivery_date"] if not spec.has_updated_at else [*key, *version]
    live = ~pl.col("_stale")
    n_contents = pl.struct(content).filter(live).n_unique().over(group)
    first_in_group = pl.col("_ord") == pl.col("_ord").filter(live).min().over(group)
    df = df.with_columns(_conflict=live & (n_contents > 1), _first=first_in_group)

    if entity == "members":
        # One person in two households within one delivery is a conflict (across delivery
        # dates the later row is a move).
        homes = pl.col("household_id").filter(live).n_unique().over(["id_number", "_delivery_date"])
        df = df.with_columns(_two_homes=live & (homes > 1))
    else:
        df = df.with_columns(_two_homes=pl.lit(False))
    return df.select("_pos", "_stale", "_conflict", "_first", "_two_homes")


def parent_first_applied(parent_versions: pl.LazyFrame, parent_entity: str) -> pl.LazyFrame:
    """First date from which each parent record is applied: the earliest effective date of
    its versions. A parent present only as held rows, or parked for good, has none, so its
    children stay parked; a parked parent's children wait for it (two-level parking)."""
    return (
        parent_versions.filter(pl.col("effective_date").is_not_null())
        .group_by(record_key(parent_entity).alias("parent_key"))
        .agg(first_date=pl.col("effective_date").min())
    )


def versions(classified: pl.LazyFrame) -> pl.LazyFrame:
    """The rows that become versions of their key: applied ones, and parked ones from the
    day their parent arrives."""
    return classified.filter(
        (pl.col("outcome") == "applied")
        | ((pl.col("outcome") == "parked") & pl.col("effective_date").is_not_null())
    )
