"""Exit verification, one case per criterion (DOMAIN.md, "Exit criteria")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.exits import CRITERIA, age_at, exit_checks

EXIT = dt.date(2015, 6, 1)
LINES = pl.LazyFrame({"year": [2014, 2015], "line_yuan_per_person": [2800, 2855]})


def _event(**over) -> pl.LazyFrame:
    row = {
        "household_id": "5201020012010001",
        "village_code": "520102001201",
        "province_code": "52",
        "county_code": "520102",
        "to_status": "lifted",
        "event_date": EXIT,
        "people": 3,
        "per_capita_income_yuan": Decimal("3000.00"),
        "income_year": 2014,
        "food_clothing_secure": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        "identified_on": dt.date(2014, 5, 1),
        "delivery_date": EXIT,
        "file_name": "h.csv",
        "row_number": 1,
    }
    row.update(over)
    return pl.LazyFrame([row], schema_overrides={"per_capita_income_yuan": pl.Decimal(18, 2)})


def _members(*rows: tuple) -> pl.LazyFrame:
    """rows: (birth_date, in_school, medical_insured, member_status)."""
    return pl.LazyFrame(
        [
            {
                "household_id": "5201020012010001",
                "birth_date": b,
                "in_school": s,
                "medical_insured": m,
                "member_status": st,
            }
            for b, s, m, st in rows
        ],
        schema={
            "household_id": pl.String,
            "birth_date": pl.Date,
            "in_school": pl.Boolean,
            "medical_insured": pl.Boolean,
            "member_status": pl.String,
        },
    )


ADULT = (dt.date(1970, 1, 1), False, True, "active")
CASES = [
    ("all criteria met", {}, [ADULT], None),
    (
        "income equal to the line is not above it",
        {"per_capita_income_yuan": Decimal("2800.00")},
        [ADULT],
        "income_below_line",
    ),
    (
        "line of the income year, not the exit year",
        {"per_capita_income_yuan": Decimal("2850.00")},
        [ADULT],
        None,
    ),
    ("food and clothing", {"food_clothing_secure": False}, [ADULT], "food_clothing_insecure"),
    ("housing", {"housing_safe": False}, [ADULT], "housing_unsafe"),
    ("water", {"drinking_water_safe": False}, [ADULT], "drinking_water_unsafe"),
    (
        "child of 15 out of school",
        {},
        [ADULT, (dt.date(2000, 1, 1), False, True, "active")],
        "child_out_of_school",
    ),
    (
        "16 at the exit date is past compulsory age",
        {},
        [ADULT, (dt.date(1999, 5, 31), False, True, "active")],
        None,
    ),
    (
        "turns 6 the day after the exit: not yet of school age",
        {},
        [ADULT, (dt.date(2009, 6, 2), False, True, "active")],
        None,
    ),
    (
        "member who left is not counted",
        {},
        [ADULT, (dt.date(2000, 1, 1), False, False, "left")],
        None,
    ),
    (
        "uninsured member",
        {},
        [ADULT, (dt.date(1980, 1, 1), False, False, "active")],
        "member_uninsured",
    ),
    (
        "exit in the identification year",
        {"identified_on": dt.date(2015, 1, 10)},
        [ADULT],
        "exit_in_identification_year",
    ),
    (
        "two failures listed together",
        {"housing_safe": False, "drinking_water_safe": False},
        [ADULT],
        "housing_unsafe,drinking_water_unsafe",
    ),
]


@pytest.mark.parametrize(
    ("over", "members", "failed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_exit_criteria(over: dict, members: list, failed: str | None) -> None:
    out = exit_checks(_event(**over), _members(*members), LINES).collect()
    assert out.height == 1
    assert out["failed_criteria"][0] == failed
    assert out["verified"][0] is (failed is None)
    assert set(out.columns) >= {ok for ok, _ in CRITERIA}


def test_only_exits_are_checked() -> None:
    out = exit_checks(_event(to_status="returned"), _members(ADULT), LINES).collect()
    assert out.height == 0


@pytest.mark.parametrize(
    ("birth", "when", "age"),
    [
        (dt.date(2000, 6, 1), dt.date(2015, 6, 1), 15),
        (dt.date(2000, 6, 2), dt.date(2015, 6, 1), 14),
        (dt.date(2000, 2, 29), dt.date(2015, 2, 28), 14),
        (dt.date(2000, 2, 29), dt.date(2015, 3, 1), 15),
    ],
    ids=["birthday", "day-before-birthday", "leap-day-before", "leap-day-after"],
)
def test_age_at(birth: dt.date, when: dt.date, age: int) -> None:
    df = pl.DataFrame({"b": [birth], "w": [when]})
    assert df.select(age_at(pl.col("b"), pl.col("w"))).item() == age
