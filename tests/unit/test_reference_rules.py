"""The rebuild's member rules on tiny deliveries run through ``build_core``, one case per
edge, each built with one bucket and with a bucket per component.

Rows are judged in version order against the state that the applied rows before them
built, so a held row acts as if it were absent: it changes no other row's outcome and no
state. Households with an odd number (H1, H3, H5, H7) are in county A, the others in
county B. Every build also delivers H0 with its head Z0, a component of its own, so that
bucket size 1 always makes more than one bucket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contract.landing import staging_schema
from transforms.build import Scope, build_core, households_of

D1, D2, D3, D4, D5 = (dt.date(2016, 5, d) for d in range(1, 6))
COUNTY_A, COUNTY_B = "520121", "520122"
BUCKETS = pytest.mark.parametrize(
    "per_bucket", [None, 1], ids=["one-bucket", "bucket-per-component"]
)


def ts(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


def household_id(name: str) -> str:
    """H<n>: household n of village 001001 of county A (n odd) or B (n even)."""
    n = int(name[1:])
    return f"{COUNTY_A if n % 2 else COUNTY_B}001001{n:04d}"


class Row(NamedTuple):
    """One delivered member row: who, into which household, as what, on which date."""

    person: str
    household: str
    relation: str
    day: dt.date


BYSTANDER = Row("Z0", "H0", "head", D1)


# ------------------------------------------------------------------ staging and outputs
def _stage(staging: Path, entity: str, rows: list[dict]) -> None:
    """Typed staging rows, one file per delivery date, numbered in the order given."""
    schema = staging_schema(entity)
    by_day: dict[dt.date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(row["_delivery_date"], []).append(row)
    for day, day_rows in by_day.items():
        folder = staging / f"stg_{entity}" / f"delivery_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        lineage = {"_file_name": f"{entity}_{day}.csv", "_source": "x"}
        frame = pl.DataFrame(
            [
                {c: {**lineage, "_row_number": i, **r}.get(c) for c in schema}
                for i, r in enumerate(day_rows, start=1)
            ],
            schema=schema,
        )
        frame.write_parquet(folder / f"part-{len(list(folder.iterdir()))}.parquet")


def _member(r: Row) -> dict:
    return {
        "id_number": r.person,
        "household_id": household_id(r.household),
        "relation": r.relation,
        "birth_date": dt.date(1980, 1, 1),
        "in_school": False,
        "medical_insured": True,
        "member_status": "active",
        "updated_at": ts(r.day),
        "_delivery_date": r.day,
    }


def _household(hid: str, day: dt.date) -> dict:
    return {
        "household_id": hid,
        "village_code": hid[:12],
        "household_size": 1,
        "per_capita_income_yuan": 2000,
        "income_year": 2015,
        "status": "poor",
        "identified_on": dt.date(2014, 6, 1),
        "status_changed_on": dt.date(2014, 6, 1),
        "food_clothing_secure": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        "updated_at": ts(day),
        "_delivery_date": day,
    }


def _registry(
    staging: Path,
    rows: list[Row],
    *,
    more_households: tuple[str, ...] = (),
    villages: dict[str, dt.date | None] | None = None,
) -> None:
    """The member ``rows`` (and H0's), their households (and ``more_households``)
    registered on D1, and the households' villages delivered on D1 but those of
    ``villages``: on the date given, or never (None)."""
    names = {r.household for r in [BYSTANDER, *rows]} | set(more_households)
    households = sorted(household_id(h) for h in names)
    _stage(staging, "households", [_household(h, D1) for h in households])
    arrives = {h[:12]: D1 for h in households} | (villages or {})
    _stage(
        staging,
        "villages",
        [
            {"village_code": v, "updated_at": ts(day), "_delivery_date": day}
            for v, day in sorted(arrives.items())
            if day is not None
        ],
    )
    _stage(staging, "members", [_member(r) for r in [BYSTANDER, *rows]])


def _build(staging: Path, out: Path, per_bucket: int | None) -> Path:
    counts = build_core(staging, out, households_per_bucket=per_bucket)
    if per_bucket == 1:
        assert counts["buckets"] > 1, "bucket size 1 must split the registry"
    return out


def _check(out: Path, name: str, rows: Iterable[tuple], schema: dict[str, pl.DataType]) -> None:
    """Output ``name``, in the columns of ``schema``, holds exactly ``rows`` (an outcome's
    record key on rows not applied only); for ``households_current``, the current versions
    of ``households_history`` (the warehouse's core.households)."""
    columns = list(schema)
    if name == "households_current":
        got = (
            pl.read_parquet(out / "households_history" / "*.parquet")
            .filter(pl.col("is_current"))
            .select(columns)
        )
    else:
        got = pl.read_parquet(out / name / "*.parquet").select(columns)
    expected = pl.DataFrame(list(rows), schema=schema, orient="row")
    if name.endswith("_outcomes"):  # the record key only on rows not applied
        applied = pl.col("outcome") == "applied"
        expected = expected.with_columns(pl.when(~applied).then("record_key").alias("record_key"))
    got, expected = (f.sort(columns, nulls_last=True) for f in (got, expected))
    try:
        assert_frame_equal(got, expected)
    except AssertionError as exc:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=40):
            raise AssertionError(f"{name}: {exc}\ngot:\n{got}\nexpected:\n{expected}") from None


OUTCOME = {
    "record_key": pl.String(),
    "_delivery_date": pl.Date(),
    "outcome": pl.String(),
    "reason": pl.String(),
    "effective_date": pl.Date(),
}
CURRENT = {"id_number": pl.String(), "household_id": pl.String(), "relation": pl.String()}
HOUSEHOLD = {"household_id": pl.String(), "effective_date": pl.Date()}


@dataclass(frozen=True)
class Expected:
    held: set[tuple[str, dt.date]]  # (person, date) of the rows held; the others applied
    current: list[tuple[str, str, str]]  # (person, household, relation)


def _assert_members(out: Path, rows: list[Row], expected: Expected) -> None:
    """Every member row's outcome and the current members; H0's head is applied and
    current."""
    outcomes = [
        (r.person, r.day, "held", "household_head_count", None)
        if (r.person, r.day) in expected.held
        else (r.person, r.day, "applied", None, r.day)
        for r in [BYSTANDER, *rows]
    ]
    current = [(p, household_id(h), rel) for p, h, rel in [BYSTANDER[:3], *expected.current]]
    _check(out, "members_outcomes", outcomes, OUTCOME)
    _check(out, "members_current", current, CURRENT)


# ------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    edge: str
    rows: list[Row]
    expected: Expected


CASES = [
    Case(
        "a mover held across counties stays a current member of the household they were in",
        [
            Row("P", "H1", "head", D1),
            Row("Q", "H2", "head", D1),
            Row("P", "H2", "head", D2),  # H2 has a head: held
        ],
        Expected(
            held={("P", D2)},
            current=[("P", "H1", "head"), ("Q", "H2", "head")],
        ),
    ),
    Case(
        "a held row acts as if absent: P still heads H1, so R's move into it is held too",
        [
            Row("P", "H1", "head", D1),
            Row("Q", "H2", "head", D1),
            Row("R", "H3", "head", D1),
            Row("P", "H2", "head", D3),  # H2 has a head: held
            Row("R", "H1", "head", D5),  # P is still head of H1: held
        ],
        Expected(
            held={("P", D3), ("R", D5)},
            current=[("P", "H1", "head"), ("Q", "H2", "head"), ("R", "H3", "head")],
        ),
    ),
    Case(
        "a hold leaves clean rows applied: Y's move after P's held move, and Y's first row",
        [
            Row("P", "H1", "head", D1),
            Row("Q", "H2", "head", D1),
            Row("Y", "H2", "spouse", D1),
            Row("Z", "H3", "head", D1),
            Row("P", "H2", "head", D2),  # H2 has a head: held
            Row("Y", "H3", "spouse", D3),  # H2 and H3 keep one head each: applied
        ],
        Expected(
            held={("P", D2)},
            current=[
                ("P", "H1", "head"),
                ("Q", "H2", "head"),
                ("Y", "H3", "spouse"),
                ("Z", "H3", "head"),
            ],
        ),
    ),
    Case(
        "holds cascade over several hops, each hold keeping a head where the next move goes",
        [
            *(Row(f"P{n}", f"H{n}", "head", D1) for n in range(1, 6)),
            Row("P1", "H2", "head", D2),  # H2 has P2: held, P1 stays head of H1
            Row("P3", "H1", "head", D3),  # H1 has P1: held, P3 stays head of H3
            Row("P4", "H3", "head", D4),  # H3 has P3: held, P4 stays head of H4
            Row("P5", "H4", "head", D5),  # H4 has P4: held
        ],
        Expected(
            held={("P1", D2), ("P3", D3), ("P4", D4), ("P5", D5)},
            current=[(f"P{n}", f"H{n}", "head") for n in range(1, 6)],
        ),
    ),
    Case(
        "a same-day swap of head within a household: one answer, both rows applied",
        [
            Row("P", "H1", "head", D1),
            Row("R", "H1", "spouse", D1),
            Row("P", "H1", "spouse", D2),
            Row("R", "H1", "head", D2),
        ],
        Expected(
            held=set(),
            current=[("P", "H1", "spouse"), ("R", "H1", "head")],
        ),
    ),
]


@BUCKETS
@pytest.mark.parametrize("case", CASES, ids=[c.edge for c in CASES])
def test_members(case: Case, per_bucket: int | None, tmp_path: Path) -> None:
    _registry(tmp_path / "staging", case.rows)
    out = _build(tmp_path / "staging", tmp_path / "out", per_bucket)
    _assert_members(out, case.rows, case.expected)
    households = {household_id(r.household) for r in [BYSTANDER, *case.rows]}
    _check(out, "households_current", [(h, D1) for h in households], HOUSEHOLD)


# ------------------------------------------------------------------ a late delivery
@dataclass(frozen=True)
class LateCase:
    edge: str
    rows: list[Row]  # delivered on time; H2 is registered on D1 in every case
    late: list[Row]  # a D2 file that arrives after D4 was built
    without: Expected  # the build before it arrived
    with_late: Expected  # the build once it has


LATE_CASES = [
    LateCase(
        "a late move of P out of H1 frees the head's place for S on D4, held without it",
        [Row("P", "H1", "head", D1), Row("R", "H3", "head", D1), Row("S", "H1", "head", D4)],
        late=[Row("P", "H3", "child", D2)],
        without=Expected(
            held={("S", D4)},
            current=[("P", "H1", "head"), ("R", "H3", "head")],
        ),
        with_late=Expected(
            held=set(),
            current=[("P", "H3", "child"), ("R", "H3", "head"), ("S", "H1", "head")],
        ),
    ),
    LateCase(
        "a late head of H2 takes the place P moves into on D4, applied without it",
        [Row("R", "H3", "head", D1), Row("P", "H3", "child", D1), Row("P", "H2", "head", D4)],
        late=[Row("Q", "H2", "head", D2)],
        without=Expected(
            held=set(),
            current=[("P", "H2", "head"), ("R", "H3", "head")],
        ),
        with_late=Expected(
            held={("P", D4)},
            current=[("P", "H3", "child"), ("Q", "H2", "head"), ("R", "H3", "head")],
        ),
    ),
]


@BUCKETS
@pytest.mark.parametrize("case", LATE_CASES, ids=[c.edge for c in LATE_CASES])
def test_a_late_delivery_changes_which_later_moves_are_held(
    case: LateCase, per_bucket: int | None, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    _registry(staging, case.rows, more_households=("H2",))
    _assert_members(_build(staging, tmp_path / "without", per_bucket), case.rows, case.without)
    _stage(staging, "members", [_member(r) for r in case.late])
    _assert_members(
        _build(staging, tmp_path / "with", per_bucket), [*case.rows, *case.late], case.with_late
    )


# ------------------------------------------------------------------ two-level parking
WAITING = [Row("Q", "H7", "head", D1), Row("W", "H7", "spouse", D2)]


@BUCKETS
@pytest.mark.parametrize(
    "village_arrives",
    [
        pytest.param(D3, id="village-on-D3: household and members applied from D3"),
        pytest.param(None, id="village-never: household and members never applied"),
    ],
)
def test_members_wait_while_their_household_waits_for_its_village(
    village_arrives: dt.date | None, per_bucket: int | None, tmp_path: Path
) -> None:
    """H7 is delivered on D1 with its head, its spouse comes on D2; its village (the only
    one of county A) comes on ``village_arrives``. H2 of county B is applied as usual."""
    staging = tmp_path / "staging"
    rows = [Row("P", "H2", "head", D1), *WAITING]
    h7 = household_id("H7")
    _registry(staging, rows, villages={h7[:12]: village_arrives})
    out = _build(staging, tmp_path / "out", per_bucket)

    applied = [(r.person, r.day, "applied", None, r.day) for r in [BYSTANDER, rows[0]]]
    parked = [(r.person, r.day, "parked", "parent_missing", village_arrives) for r in WAITING]
    _check(out, "members_outcomes", [*applied, *parked], OUTCOME)
    _check(
        out,
        "households_outcomes",
        [
            (household_id("H0"), D1, "applied", None, D1),
            (household_id("H2"), D1, "applied", None, D1),
            (h7, D1, "parked", "parent_missing", village_arrives),
        ],
        OUTCOME,
    )
    arrived = [] if village_arrives is None else WAITING
    _check(
        out,
        "members_current",
        [
            ("Z0", household_id("H0"), "head", D1),
            ("P", household_id("H2"), "head", D1),
            *((r.person, h7, r.relation, village_arrives) for r in arrived),
        ],
        {**CURRENT, "effective_date": pl.Date()},
    )
    _check(
        out,
        "households_current",
        [
            (household_id("H0"), D1),
            (household_id("H2"), D1),
            *([(h7, village_arrives)] if arrived else []),
        ],
        HOUSEHOLD,
    )


# ------------------------------------------------------------------ the incremental closure
# Outputs that hold rows of households and members, and the column placing each row in a
# household (the incremental load deletes and inserts by it).
PLACED = {
    "households_outcomes": "household_id",
    "households_history": "household_id",
    "members_outcomes": "household_id",
    "members_current": "household_id",
    "status_events": "household_id",
    "exit_checks": "household_id",
    "cross_warnings": "record_key",
    "components": "household_id",
}


def _closure(seeds: pl.DataFrame, components: pl.DataFrame) -> pl.Series:
    """The seeds and every household of their components (as the warehouse's
    ``state.components`` holds them: households of shared components only)."""
    touched = components.filter(pl.col("household_id").is_in(seeds["household_id"].implode()))
    more = components.filter(pl.col("component").is_in(touched["component"].implode()))
    return pl.concat([seeds["household_id"], more["household_id"]]).unique()


def _read(out: Path, name: str) -> pl.DataFrame:
    frame = pl.read_parquet(out / name / "*.parquet")
    return frame.sort(frame.columns, nulls_last=True)


def _assert_incremental_step(before: Path, after: Path, day: dt.date, tmp_path: Path) -> None:
    """Staging went from ``before`` to ``after`` by the rows of ``day`` (new, or re-delivered).
    The affected set (``pipeline.incremental``: the households of ``day``'s rows then and
    now with every household of their persons, closed over the components as built
    before) must hold every row that changes, and a transform scoped to it must give the
    full transform's rows of it."""
    old = build_core(before, tmp_path / "old")
    old_out, new_out = tmp_path / "old", tmp_path / "new"
    build_core(after, new_out)
    seeds = pl.concat(
        [households_of(after, dates=(day,)), households_of(before, dates=(day,))]
    ).unique()
    affected = _closure(seeds, pl.read_parquet(old_out / "components" / "*.parquet"))
    assert old["buckets"] >= 1
    scoped = tmp_path / "scoped"
    build_core(after, scoped, scope=Scope(affected.to_frame(), (day,)))
    inside = pl.col("_in")
    for name, column in PLACED.items():
        mark = pl.col(column).is_in(affected.implode()).alias("_in")
        was, now = (_read(o, name).with_columns(mark) for o in (old_out, new_out))
        unchanged = was.filter(~inside).drop("_in")
        assert unchanged.equals(now.filter(~inside).drop("_in")), f"{name} changed outside"
        assert _read(scoped, name).equals(now.filter(inside).drop("_in")), f"{name} inside"


def _up_to(staging: Path, rows: list[Row], day: dt.date, **registry) -> Path:
    _registry(staging, [r for r in rows if r.day <= day], **registry)
    return staging


@pytest.mark.parametrize("case", CASES, ids=[c.edge for c in CASES])
def test_each_date_changes_nothing_outside_its_affected_set(case: Case, tmp_path: Path) -> None:
    days = sorted({r.day for r in case.rows} - {D1})
    for day in days:
        before = _up_to(tmp_path / f"{day}-before", case.rows, day - dt.timedelta(days=1))
        after = _up_to(tmp_path / f"{day}-after", case.rows, day)
        _assert_incremental_step(before, after, day, tmp_path / f"{day}-work")


@pytest.mark.parametrize("case", LATE_CASES, ids=[c.edge for c in LATE_CASES])
def test_a_late_file_changes_nothing_outside_its_affected_set(
    case: LateCase, tmp_path: Path
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    for staging in (before, after):
        _registry(staging, case.rows, more_households=("H2",))
    _stage(after, "members", [_member(r) for r in case.late])
    _assert_incremental_step(before, after, D2, tmp_path / "work")
