"""Cross-entity rules on tiny version frames, one case per edge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.cross_checks import (
    household_head_count,
    household_size_mismatch,
    return_without_exit,
)

D1, D2, D3 = dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)
H = "5201020012010001"


def ts(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def members(*rows: tuple) -> pl.LazyFrame:
    """rows: (id, household, relation, status, date, row)."""
    return pl.LazyFrame(
        [
            {
                "id_number": i,
                "household_id": h,
                "relation": rel,
                "member_status": st,
                "updated_at": ts(d),
                "_delivery_date": d,
                "_file_name": "m.csv",
                "_row_number": r,
                "effective_date": d,
            }
            for i, h, rel, st, d, r in rows
        ]
    )


BASE = [("A", H, "head", "active", D1, 1), ("B", H, "spouse", "active", D1, 2)]
HEAD_CASES = [
    ("one head: nothing held", BASE, []),
    ("second head on a later day is held", [*BASE, ("B", H, "head", "active", D2, 1)], [(D2, 1)]),
    (
        "head demoted on a later day is held",
        [*BASE, ("A", H, "spouse", "active", D2, 1)],
        [(D2, 1)],
    ),
    (
        "head dies and spouse becomes head the same day",
        [*BASE, ("A", H, "head", "deceased", D2, 1), ("B", H, "head", "active", D2, 2)],
        [],
    ),
    (
        "household with two heads from the start: both rows held",
        [("A", H, "head", "active", D1, 1), ("B", H, "head", "active", D1, 2)],
        [(D1, 1), (D1, 2)],
    ),
    (
        "a held row does not poison later days",
        [*BASE, ("B", H, "head", "active", D2, 1), ("C", H, "child", "active", D3, 1)],
        [(D2, 1)],
    ),
]


@pytest.mark.parametrize(
    ("rows", "held"), [c[1:] for c in HEAD_CASES], ids=[c[0] for c in HEAD_CASES]
)
def test_household_head_count(rows, held) -> None:
    got = household_head_count(members(*rows))
    assert list(got.select("_delivery_date", "_row_number").iter_rows()) == held
    assert set(got["reason"]) <= {"household_head_count"}


def households(*rows: tuple) -> pl.LazyFrame:
    """rows: (household, size, status, per_capita, date, row)."""
    return pl.LazyFrame(
        [
            {
                "household_id": h,
                "household_size": n,
                "status": st,
                "per_capita_income_yuan": Decimal(pc),
                "updated_at": ts(d),
                "_delivery_date": d,
                "_file_name": "h.csv",
                "_row_number": r,
                "effective_date": d,
            }
            for h, n, st, pc, d, r in rows
        ],
        schema_overrides={"per_capita_income_yuan": pl.Decimal(18, 2)},
    )


@pytest.mark.parametrize(
    ("hh", "flagged"),
    [
        ([(H, 2, "poor", "3000", D1, 1)], []),
        ([(H, 3, "poor", "3000", D1, 1)], [(D1, 1)]),
        # A member joins on day 2 with a re-declared household: consistent on each day.
        ([(H, 2, "poor", "3000", D1, 1), (H, 3, "poor", "3000", D2, 1)], []),
    ],
    ids=["size-matches", "size-too-large", "birth-redeclared-same-day"],
)
def test_household_size_mismatch(hh, flagged) -> None:
    ms = members(*BASE, *([("C", H, "child", "active", D2, 3)] if len(hh) > 1 else []))
    got = household_size_mismatch(households(*hh), ms).collect()
    assert list(got.select("_delivery_date", "_row_number").iter_rows()) == flagged


@pytest.mark.parametrize(
    ("statuses", "flagged"),
    [
        (["poor", "lifted", "returned"], []),
        (["poor", "returned"], [2]),
        (["returned"], [1]),
        (["lifted", "returned", "lifted", "returned"], []),
    ],
    ids=["after-exit", "no-exit", "first-version", "repeated-after-exit"],
)
def test_return_without_exit(statuses, flagged) -> None:
    rows = [(H, 2, s, "3000", D1 + dt.timedelta(days=i), i + 1) for i, s in enumerate(statuses)]
    got = return_without_exit(households(*rows)).collect()
    assert got["_row_number"].to_list() == flagged
