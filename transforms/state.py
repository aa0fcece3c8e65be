"""Current state, validity history and status transitions, from the versions of each key.

The versions of a key are its applied rows ordered by (updated_at, delivery date, file
name, row number); the last one is the current state. Pure LazyFrame -> LazyFrame.
"""

from __future__ import annotations

import polars as pl

from contract.landing import CONTRACT
from transforms.semantics import (
    ARRIVAL,
    next_in_key,
    previous_in_key,
    same_key_as_next,
    same_key_as_previous,
)

EXIT_STATUSES = ("lifted", "returned", "removed")
# The columns :func:`history` adds to the versions.
HISTORY_COLUMNS = ("valid_from", "version", "valid_to", "is_current")


def version_order(entity: str) -> list[str]:
    return ["updated_at", *ARRIVAL] if CONTRACT[entity].has_updated_at else list(ARRIVAL)


def in_version_order(
    versions: pl.LazyFrame, entity: str, key: list[str] | None = None, *, presorted: bool = False
) -> pl.LazyFrame:
    """``versions`` sorted by ``key`` (the entity's key by default), then version order.

    ``presorted``: the caller's frame is in that order already, as
    :func:`transforms.semantics.classify` leaves its rows and filters keep them; it is not
    sorted again.
    """
    if presorted:
        return versions
    return versions.sort([*(key or CONTRACT[entity].key), *version_order(entity)])


def history(versions: pl.LazyFrame, entity: str, *, presorted: bool = False) -> pl.LazyFrame:
    """Every version with its validity range and version number.

    ``valid_from`` is the version's ``updated_at`` (targets: its delivery date at
    midnight UTC); ``valid_to`` is the next version's ``valid_from``, null for the current
    version. ``is_current`` marks the last version of each key: the rows of
    :func:`current`. ``presorted``: see :func:`in_version_order`.
    """
    key = list(CONTRACT[entity].key)
    if CONTRACT[entity].has_updated_at:
        valid_from = pl.col("updated_at")
    else:
        valid_from = pl.col("_delivery_date").cast(pl.Datetime("us", "UTC"))
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first_row = pl.when(~same_key_as_previous(key)).then(row).forward_fill()
    return (
        in_version_order(versions, entity, presorted=presorted)
        .with_columns(valid_from=valid_from, version=(row - first_row + 1).cast(pl.Int32))
        .with_columns(
            valid_to=next_in_key(pl.col("valid_from"), key), is_current=~same_key_as_next(key)
        )
    )


def current(versions: pl.LazyFrame, entity: str, *, presorted: bool = False) -> pl.LazyFrame:
    """The last version of each key (``presorted``: see :func:`in_version_order`)."""
    key = list(CONTRACT[entity].key)
    return in_version_order(versions, entity, presorted=presorted).filter(~same_key_as_next(key))


def status_events(household_versions: pl.LazyFrame, *, presorted: bool = False) -> pl.LazyFrame:
    """One row per status transition of a household.

    A version whose status is lifted, returned or removed is a transition when it is the
    household's first version or the previous version had another status. A lifted ->
    poor transition is a return too, flagged as a correction of the exit. Sorted by
    household, then version order (``presorted``: see :func:`in_version_order`).
    """
    prev = previous_in_key(pl.col("status"), ["household_id"])
    changed = prev.is_null() | (prev != pl.col("status"))
    into_exit = pl.col("status").is_in(list(EXIT_STATUSES))
    correction = (prev == "lifted") & (pl.col("status") == "poor")
    return (
        in_version_order(household_versions, "households", presorted=presorted)
        .with_columns(from_status=prev, _changed=changed, _correction=correction.fill_null(False))
        .filter(pl.col("_changed") & (into_exit | pl.col("_correction")))
        .select(
            "household_id",
            pl.col("village_code"),
            pl.col("from_status"),
            pl.when(pl.col("_correction"))
            .then(pl.lit("returned"))
            .otherwise(pl.col("status"))
            .alias("to_status"),
            pl.col("status_changed_on").alias("event_date"),
            pl.col("household_size").alias("people"),
            pl.col("_correction").alias("is_exit_correction"),
            pl.col("updated_at"),
            # The exiting record's facts, for exit verification.
            "per_capita_income_yuan",
            "income_year",
            "food_clothing_secure",
            "housing_safe",
            "drinking_water_safe",
            "identified_on",
            pl.col("_delivery_date").alias("delivery_date"),
            pl.col("_file_name").alias("file_name"),
            pl.col("_row_number").alias("row_number"),
        )
    )
