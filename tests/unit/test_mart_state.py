"""The incremental update of the marts' state (warehouse/mart_state.py) equals the state the
full path computes from scratch, on the cases a few generated dates rarely meet: the
latest as_of date moving across a member's 6th or 16th birthday, or past the effective
date of a version of a household the load does not touch; a date run again that leaves
the latest as_of date where it was; a household removed, moving to a village of another
province, or gone from the registry.

Each case builds the warehouse before the load (the full path over its core rows), then
plays the load's incremental path on it: ``affected`` lists the households the load
recomputes, :func:`subtract_affected` runs before their rows are replaced, the run is
recorded, :func:`update` and the marts run. The reference is a second warehouse with the
same final rows and runs, built by the full path. Both must hold the same state and
marts, row for row. Each case first shows, on figures worked out by hand, that the marts
before and after the load differ where the case says: a state left as it was could not
pass.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pytest

from warehouse import mart_state
from warehouse.loader import build_marts, load_reference, migrate

D1, D2, D3, D4 = (dt.date(2015, 3, 1) + dt.timedelta(days=i) for i in range(4))
V52A, V52B, V43 = "520121100201", "520121100202", "430121102201"
STATE = (*(c.table for c in mart_state.CONTRIBUTIONS), mart_state.AS_OF)
MARTS = ("marts.poverty_stock", "marts.programme_coverage", "marts.deprivation", "marts.causes")


@dataclass(frozen=True)
class Version:
    """One row of core.households_history; unsafe housing by default, so that one more
    indicator makes a poor household deprived (2 of 5)."""

    household_id: str
    version: int
    effective_date: dt.date
    village_code: str = V52A
    status: str = "poor"
    household_size: int = 3
    main_cause: str | None = "illness"
    other_causes: str | None = "disability;education"
    per_capita_income_yuan: float = 2000.0
    income_year: int = 2014
    housing_safe: bool = False
    sells_online: bool = True


@dataclass(frozen=True)
class Member:
    """One row of core.members."""

    id_number: str
    household_id: str
    birth_date: dt.date
    in_school: bool = False
    member_status: str = "active"
    medical_insured: bool = True


@dataclass(frozen=True)
class Registry:
    """What the core tables hold and which dates loaded."""

    versions: tuple[Version, ...]
    members: tuple[Member, ...] = ()
    runs: tuple[dt.date, ...] = field(default=(D1,))


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Any]) -> None:
    for row in rows:
        values = dict(vars(row))
        cols = ", ".join(values)
        con.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join('$' + c for c in values)})", values
        )


def _rows(con: duckdb.DuckDBPyConnection, registry: Registry, households: set[str] | None) -> None:
    """Write the core rows of ``households`` (every household when None)."""
    keep = lambda r: households is None or r.household_id in households  # noqa: E731
    _insert(con, "core.households_history", [v for v in registry.versions if keep(v)])
    _insert(con, "core.members", [m for m in registry.members if keep(m)])


def _record_run(con: duckdb.DuckDBPyConnection, d: dt.date, n: int) -> None:
    con.execute(
        "INSERT INTO audit.runs (run_id, delivery_date, started_at, loaded_at, state)"
        " VALUES ($run_id, $d, now(), now() + to_microseconds($n), 'success')",
        {"run_id": f"run-{n}", "d": d, "n": n},
    )


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    migrate(con)
    load_reference(con)
    return con


def _full(registry: Registry) -> duckdb.DuckDBPyConnection:
    """The full path over ``registry``."""
    con = _warehouse()
    _rows(con, registry, None)
    for n, d in enumerate(registry.runs):
        _record_run(con, d, n)
    mart_state.update(con, incremental=False)
    build_marts(con)
    return con


def _incremental(
    before: Registry, after: Registry, affected: set[str]
) -> duckdb.DuckDBPyConnection:
    """The full path over ``before``, then the incremental path to ``after``: the rows of
    ``affected`` replaced, the runs ``after`` adds recorded."""
    assert after.runs[: len(before.runs)] == before.runs
    con = _full(before)
    con.execute("CREATE TEMP TABLE affected (household_id VARCHAR)")
    con.executemany("INSERT INTO affected VALUES (?)", [[h] for h in sorted(affected)])
    mart_state.subtract_affected(con)
    for table in ("core.households_history", "core.members"):
        con.execute(
            f"DELETE FROM {table} WHERE household_id IN (SELECT household_id FROM affected)"
        )
    _rows(con, after, affected)
    for n, d in enumerate(after.runs[len(before.runs) :], start=len(before.runs)):
        _record_run(con, d, n)
    mart_state.update(con, incremental=True)
    build_marts(con)
    return con


def _contents(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, list[tuple]]:
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def _assert_as_reference(before: Registry, after: Registry, affected: set[str]) -> None:
    """The incremental path from ``before`` to ``after`` equals the full path over
    ``after``, whose state is as of the latest date loaded."""
    got = _contents(_incremental(before, after, affected), STATE + MARTS)
    want = _contents(_reference(after), STATE + MARTS)
    assert want[mart_state.AS_OF] == [(max(after.runs),)]
    assert got == want


@functools.cache
def _reference(registry: Registry) -> duckdb.DuckDBPyConnection:
    """The full path over ``registry``, built once and only read."""
    return _full(registry)


def _figures(registry: Registry, sql: str) -> list[tuple]:
    return _reference(registry).execute(sql).fetchall()


EDUCATION = "SELECT education_deprived_people, deprived_households FROM marts.deprivation WHERE province_code = '00'"


# --- the latest as_of date moves ------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "deprived_before", "deprived_after"),
    [
        pytest.param(dt.date(2009, 3, 4), False, True, id="6th-birthday"),
        pytest.param(dt.date(1999, 3, 4), True, False, id="16th-birthday"),
        pytest.param(dt.date(2009, 3, 5), False, False, id="6th-birthday-the-day-after"),
    ],
)
def test_the_as_of_date_moving_across_a_birthday(
    birth_date: dt.date, deprived_before: bool, deprived_after: bool
) -> None:
    # A child out of school in a household the load does not touch; the load of D4 (another
    # household) moves the latest as_of date from D2 to D4, across the birthday on 03-04.
    child = Member("C1", "H1", birth_date)
    before = Registry(
        versions=(Version("H1", 1, D1), Version("H2", 1, D1, village_code=V52B)),
        members=(child, Member("A1", "H1", dt.date(1980, 1, 1))),
        runs=(D1, D2),
    )
    after = replace(
        before,
        versions=(Version("H1", 1, D1), Version("H2", 1, D1, village_code=V52B, status="lifted")),
        runs=(D1, D2, D4),
    )
    people = 3 if deprived_before else 0
    assert _figures(before, EDUCATION) == [(people, 1 if deprived_before else 0)]
    people = 3 if deprived_after else 0
    assert _figures(after, EDUCATION) == [(people, 1 if deprived_after else 0)]
    _assert_as_reference(before, after, {"H2"})


def test_the_as_of_date_moving_past_a_version_of_an_untouched_household() -> None:
    # H1's second version (lifted, in another province) takes effect on D3: in force once the
    # latest as_of date moves from D2 to D4, though the load of D4 touches only H2.
    versions = (
        Version("H1", 1, D1),
        Version("H1", 2, D3, village_code=V43, status="lifted", main_cause="disability"),
        Version("H2", 1, D1, village_code=V52B),
    )
    before = Registry(versions=versions, runs=(D1, D2))
    after = Registry(
        versions=(*versions[:2], Version("H2", 1, D1, village_code=V52B, household_size=5)),
        runs=(D1, D2, D4),
    )
    causes = "SELECT province_code, cause, households FROM marts.causes ORDER BY ALL"
    assert ("43", "disability", 1) not in _figures(before, causes)
    assert ("43", "disability", 1) in _figures(after, causes)
    _assert_as_reference(before, after, {"H2"})


def test_running_an_older_date_again_keeps_the_as_of_date() -> None:
    # D1 runs again after D4: the latest as_of date stays D4. H1's versions change (status,
    # main cause), and H3's child turns 6 on 03-02: 6 on D4 either way, nothing to move.
    before = Registry(
        versions=(
            Version("H1", 1, D1),
            Version("H1", 2, D4, household_size=4),
            Version("H3", 1, D1, village_code=V52B),
        ),
        members=(Member("C3", "H3", dt.date(2009, 3, 2)),),
        runs=(D1, D4),
    )
    after = replace(
        before,
        versions=(
            Version("H1", 1, D1, status="returned"),
            Version("H1", 2, D4, household_size=4, status="lifted", main_cause="education"),
            before.versions[2],
        ),
        runs=(D1, D4, D1),
    )
    causes = (
        "SELECT cause, households, poor_households FROM marts.causes"
        " WHERE province_code = '52' AND households > 0 ORDER BY 1"
    )
    assert _figures(before, causes) == [("illness", 2, 2)]  # H1, H3
    assert _figures(after, causes) == [("education", 1, 0), ("illness", 1, 1)]
    # H3 (3 people): the child out of school and unsafe housing, 2 of 5: deprived
    assert _figures(after, EDUCATION) == [(3, 1)]
    _assert_as_reference(before, after, {"H1"})


# --- the households a load recomputes -------------------------------------------------


def test_a_household_removed_moving_province_or_gone() -> None:
    before = Registry(
        versions=(
            Version("H1", 1, D1),
            Version("H2", 1, D1, village_code=V52B, other_causes=None),
            Version("H3", 1, D1, village_code=V52B, status="lifted"),
            # no main cause, no line for its income year: cells of NULL keys
            Version("H4", 1, D1, main_cause=None, income_year=2009),
        ),
        members=(Member("C1", "H1", dt.date(2008, 1, 1)), Member("C3", "H3", dt.date(2008, 1, 1))),
        runs=(D1, D2),
    )
    after = Registry(
        versions=(
            # removed (identified by mistake) from D3 on
            Version("H1", 1, D1),
            Version("H1", 2, D3, status="removed"),
            # moves to a village of province 43 on D3
            Version("H2", 1, D1, village_code=V52B, other_causes=None),
            Version("H2", 2, D3, village_code=V43, other_causes=None),
            # gone: the delivery that registered it was withdrawn (H3)
            # one more person from D3 on
            Version("H4", 1, D1, main_cause=None, income_year=2009),
            Version("H4", 2, D3, main_cause=None, income_year=2009, household_size=4),
        ),
        members=(Member("C1", "H1", dt.date(2008, 1, 1)),),
        runs=(D1, D2, D3),
    )
    stock = (
        "SELECT admin_code, households_poor, households_lifted, households_removed"
        " FROM marts.poverty_stock WHERE as_of_date = ? AND admin_level = 'province' ORDER BY 1"
    )
    assert _reference(after).execute(stock, [D3]).fetchall() == [("43", 1, 0, 0), ("52", 1, 0, 1)]
    _assert_as_reference(before, after, {"H1", "H2", "H3", "H4"})


def test_a_state_never_filled_is_filled_from_every_household() -> None:
    """A warehouse upgraded by the migration has no state: an incremental load fills it."""
    registry = Registry(
        versions=(Version("H1", 1, D1), Version("H2", 1, D1, village_code=V43)),
        members=(Member("C1", "H1", dt.date(2009, 1, 1)),),
        runs=(D1, D2),
    )
    con = _full(registry)
    for table in STATE:
        con.execute(f"DELETE FROM {table}")
    con.execute("CREATE TEMP TABLE affected AS SELECT 'H2' AS household_id")
    mart_state.subtract_affected(con)
    mart_state.update(con, incremental=True)
    build_marts(con)
    assert _contents(con, STATE + MARTS) == _contents(_reference(registry), STATE + MARTS)


def test_rows_that_sum_to_zero_are_left_out() -> None:
    """H1 is lifted and H2 falls back to poor on D2, alike in all else: their steps on D2
    cancel. Neither path keeps a row of zeros, also when a load takes away every
    household."""
    before = Registry(versions=(Version("H1", 1, D1), Version("H2", 1, D1, status="lifted")))
    after = Registry(
        versions=(
            Version("H1", 1, D1),
            Version("H1", 2, D2, status="lifted"),
            Version("H2", 1, D1, status="lifted"),
            Version("H2", 2, D2),
        ),
        runs=(D1, D2),
    )
    steps = "SELECT village_code, step_date FROM state.mart_household_steps"
    assert _figures(after, steps) == [(V52A, D1)]
    _assert_as_reference(before, after, {"H1", "H2"})
    gone = Registry(versions=(), runs=(D1, D2, D2))
    emptied = _contents(_incremental(after, gone, {"H1", "H2"}), STATE[:-1])
    assert emptied == {t: [] for t in STATE[:-1]}


# --- at the scale of a load ------------------------------------------------------------


def test_the_state_holds_every_row_of_a_large_update_inside_the_load_transaction(
    tmp_path: Any,
) -> None:
    """More step rows than a row group (122,880), added inside one transaction of a
    warehouse file, as a national load does: every one is kept. Delta tables made by
    ``CREATE TABLE ... AS`` an empty query lose them in DuckDB 2.0.0 (counted, never read
    back), which the post-load checks caught in a national run."""
    households = 130_000
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    migrate(con)
    load_reference(con)
    # One poor household of 2 people per village: one step row each.
    con.execute(
        "INSERT INTO core.households_history BY NAME"
        " SELECT printf('H%07d', i) AS household_id, 1 AS version, DATE '2015-03-01' AS"
        " effective_date, printf('5201211%05d', i) AS village_code, 'poor' AS status,"
        " 2 AS household_size, 2014 AS income_year, 2000.0 AS per_capita_income_yuan"
        " FROM range($n) t(i)",
        {"n": households},
    )
    _record_run(con, D1, 0)
    con.execute("BEGIN TRANSACTION")
    mart_state.update(con, incremental=False)
    con.execute("COMMIT")
    assert con.execute(
        "SELECT count(*), sum(households_poor), sum(people_poor) FROM state.mart_household_steps"
    ).fetchall() == [(households, households, 2 * households)]
