"""Key semantics (LANDING_CONTRACT.md, "Meaning of a delivery"), one case per edge."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contract.landing import staging_schema
from transforms.semantics import classify, parent_first_applied, versions

D1, D2, D3 = dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)
T1, T2, T3 = (dt.datetime(2015, 2, d, tzinfo=dt.UTC) for d in (1, 2, 3))


def villages(rows: list[tuple]) -> pl.LazyFrame:
    """rows: (village_code, village_name, updated_at, delivery_date, file, row_number)."""
    schema = staging_schema("villages")
    df = pl.DataFrame(
        [
            {
                "village_code": c,
                "village_name": n,
                "is_poor_village": True,
                "rural_population": 10,
                "has_ecommerce_station": False,
                "updated_at": t,
                "_delivery_date": d,
                "_file_name": f,
                "_row_number": r,
                "_source": "520102",
            }
            for c, n, t, d, f, r in rows
        ]
    )
    return (
        df.with_columns(
            [pl.lit(None).cast(dt_).alias(c) for c, dt_ in schema.items() if c not in df.columns]
        )
        .select(list(schema))
        .cast(dict(schema))
        .lazy()
    )


def outcomes(frame: pl.LazyFrame, entity: str = "villages", parent=None) -> list[tuple]:
    out = (
        classify(frame, entity, parent)
        .collect()
        .sort("_delivery_date", "_file_name", "_row_number")
    )
    return list(out.select("_delivery_date", "_row_number", "outcome", "reason").iter_rows())


V = "520102001201"
CASES = [
    ("single row is applied", [(V, "a", T1, D1, "f", 1)], [(D1, 1, "applied", None)]),
    (
        "newer version on a later date is applied",
        [(V, "a", T1, D1, "f", 1), (V, "b", T2, D2, "f", 1)],
        [(D1, 1, "applied", None), (D2, 1, "applied", None)],
    ),
    (
        "older updated_at on a later date is stale",
        [(V, "a", T2, D1, "f", 1), (V, "b", T1, D2, "f", 1)],
        [(D1, 1, "applied", None), (D2, 1, "stale", "stale_update")],
    ),
    (
        "older updated_at later in the same delivery is stale",
        [(V, "a", T2, D1, "f", 1), (V, "b", T1, D1, "f", 2)],
        [(D1, 1, "applied", None), (D1, 2, "stale", "stale_update")],
    ),
    (
        "an older row delivered earlier is not stale (it was current then)",
        [(V, "a", T1, D1, "f", 1), (V, "b", T2, D1, "f", 2)],
        [(D1, 1, "applied", None), (D1, 2, "applied", None)],
    ),
    (
        "same content and updated_at again is a duplicate",
        [(V, "a", T1, D1, "f", 1), (V, "a", T1, D2, "f", 1)],
        [(D1, 1, "applied", None), (D2, 1, "duplicate", "duplicate_row")],
    ),
    (
        "same updated_at, other content: every such row conflicts",
        [(V, "a", T1, D1, "f", 1), (V, "b", T1, D1, "f", 2)],
        [
            (D1, 1, "conflict", "conflicting_duplicate"),
            (D1, 2, "conflict", "conflicting_duplicate"),
        ],
    ),
    (
        "conflict across delivery dates too",
        [(V, "a", T1, D1, "f", 1), (V, "b", T1, D3, "f", 1)],
        [
            (D1, 1, "conflict", "conflicting_duplicate"),
            (D3, 1, "conflict", "conflicting_duplicate"),
        ],
    ),
]


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_outcomes(rows, expected) -> None:
    assert outcomes(villages(rows)) == expected


# The rows below share arrival positions across villages: a row is its village and position.
ROW_ID = ["village_code", "_delivery_date", "_file_name", "_row_number"]


@pytest.mark.parametrize("seed", range(5))
def test_outcomes_do_not_depend_on_input_order(seed: int) -> None:
    rows = [r for case in CASES for r in case[1]]
    rows = [(f"{V[:-1]}{i % 7}", *r[1:]) for i, r in enumerate(rows)]
    base = classify(villages(rows), "villages").collect()
    shuffled = villages(rows).collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()
    assert_frame_equal(
        classify(shuffled, "villages").collect().sort(ROW_ID),
        base.sort(ROW_ID),
    )


def _households(rows: list[tuple]) -> pl.LazyFrame:
    """rows: (household_id, village_code, delivery_date, row_number)."""
    schema = staging_schema("households")
    df = pl.DataFrame(
        [
            {
                "household_id": h,
                "village_code": v,
                "updated_at": T1,
                "_delivery_date": d,
                "_file_name": "h",
                "_row_number": r,
                "_source": "520102",
            }
            for h, v, d, r in rows
        ]
    )
    return (
        df.with_columns(
            [pl.lit(None).cast(t).alias(c) for c, t in schema.items() if c not in df.columns]
        )
        .select(list(schema))
        .cast(dict(schema))
        .lazy()
    )


def test_parked_until_the_parent_arrives() -> None:
    parents = villages([(V, "a", T1, D2, "v", 1)])
    hh = _households(
        [
            (V + "0001", V, D1, 1),
            (V + "0002", V, D2, 2),
            ("5201020012990001", "520102001299", D1, 3),
        ]
    )
    got = (
        classify(
            hh,
            "households",
            parent_first_applied(versions(classify(parents, "villages")), "villages"),
        )
        .collect()
        .sort("_row_number")
    )
    assert got.select("outcome", "reason", "effective_date").rows() == [
        ("parked", "parent_missing", D2),  # waits for its village, applied from D2
        ("applied", None, D2),
        ("parked", "parent_missing", None),  # village never delivered
    ]
    assert versions(got.lazy()).collect()["household_id"].to_list() == [V + "0001", V + "0002"]
