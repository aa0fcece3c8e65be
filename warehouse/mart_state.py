"""The state the household-level marts are computed from (``migrations/015_mart_state.sql``):
the households' version steps summed per (village, date), which ``marts/poverty_stock.sql``
and ``marts/programme_coverage.sql`` run up to each as_of date, and the households counted
per cell as of the latest as_of date, which ``marts/deprivation.sql`` and
``marts/causes.sql`` add up. Each is a sum over households of what one household
contributes (``state/mart_*.sql``, over ``mart_history`` and ``mart_members``: the core
rows of the households concerned): integers and DECIMAL(38,15) terms, so any order of
additions and subtractions gives the same sums.

Every load writes them, between its run record and the marts:

- the full path (:func:`update` with ``incremental=False``) from every household;
- the incremental path in two steps. :func:`subtract_affected`, before the load deletes the
  affected households' rows, takes away what those rows contributed (the cells as of the
  latest as_of date the state holds, ``state.mart_as_of``); :func:`update` then adds what
  their new rows contribute as of the new latest as_of date. When that date moved, the
  households whose record in force or whose members' ages (deprivation's education
  indicator) may differ between the two dates (``state/mart_moved.sql``) are taken away as
  of the old date and added as of the new one: their rows did not change.

A row whose measures all sum to 0 is dropped, on both paths, so both leave the same rows.
A warehouse whose state was never filled (no ``state.mart_as_of`` row) is filled from
every household whatever the path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import duckdb

from warehouse import sqlfiles
from warehouse.loader import table_columns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contribution:
    """A state table, the SQL file of what a set of households contributes to it, the
    columns that place a row (the rest are summed), and whether it depends on the as_of
    date (the file takes ``$as_of``)."""

    table: str
    sql: str
    keys: tuple[str, ...]
    as_of: bool

    @property
    def delta(self) -> str:
        """The temp table the load's additions and subtractions gather in."""
        return "mart_delta_" + self.table.split(".")[1]


CONTRIBUTIONS = (
    Contribution(
        "state.mart_household_steps", "state/mart_steps.sql", ("village_code", "step_date"), False
    ),
    Contribution(
        "state.mart_deprivation_cells",
        "state/mart_deprivation_cells.sql",
        (
            "province_code",
            "household_size",
            "food_clothing",
            "education",
            "medical",
            "housing",
            "water",
            "income_poor",
        ),
        True,
    ),
    Contribution(
        "state.mart_cause_cells",
        "state/mart_cause_cells.sql",
        ("province_code", "role", "cause", "poor_stock", "household_size"),
        True,
    ),
)
AS_OF = "state.mart_as_of"
# Households whose rows did not change but whose cells may, as the latest as_of date moves.
MOVED = "mart_moved"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [column for column, _ in table_columns(con, table)]


def _quoted(columns: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


# What the contribution files read: {name: (core table, its columns they read)}. Only
# these columns are copied: a scan of every column of the registry costs more than the
# rest of the update.
SCOPED = {
    "mart_history": (
        "core.households_history",
        (
            "household_id",
            "version",
            "effective_date",
            "village_code",
            "status",
            "household_size",
            "per_capita_income_yuan",
            "income_year",
            "sells_online",
            "food_clothing_secure",
            "housing_safe",
            "drinking_water_safe",
            "main_cause",
            "other_causes",
        ),
    ),
    "mart_members": (
        "core.members",
        ("household_id", "member_status", "birth_date", "in_school", "medical_insured"),
    ),
}


def _unscope(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the views or temp tables of :data:`SCOPED`."""
    for kind, catalog in (("VIEW", "duckdb_views()"), ("TABLE", "duckdb_tables()")):
        for (name,) in con.execute(
            f"SELECT {kind.lower()}_name FROM {catalog} WHERE temporary"
            f" AND {kind.lower()}_name IN ('mart_history', 'mart_members')"
        ).fetchall():
            con.execute(f"DROP {kind} {name}")


def _scope(con: duckdb.DuckDBPyConnection, households: str | None) -> None:
    """Point ``mart_history`` and ``mart_members`` at the rows of the households of the
    temp table ``households`` (its ``household_id``), copied once for the few statements
    that read them, or at every household (views)."""
    _unscope(con)
    for name, (table, columns) in SCOPED.items():
        rows = f"SELECT {_quoted(columns)} FROM {table}"
        if households is None:
            con.execute(f"CREATE TEMP VIEW {name} AS {rows}")
        else:
            con.execute(
                f"CREATE TEMP TABLE {name} AS {rows}"
                f" WHERE household_id IN (SELECT household_id FROM {households})"
            ).fetchall()


def _start(con: duckdb.DuckDBPyConnection) -> None:
    """Empty delta tables, one per state table, of its columns.

    Created from a column list, never by ``CREATE TABLE ... AS`` an empty query: in DuckDB
    2.0.0 a table made that way inside a transaction loses the rows a later insert of more
    than one row group (122,880 rows) adds in the same transaction. They are counted but
    never read back (tests/unit/test_mart_state.py shows it)."""
    for c in CONTRIBUTIONS:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {c.delta} ("
            + ", ".join(
                f'"{column}" {data_type}' for column, data_type in table_columns(con, c.table)
            )
            + ")"
        )


def _started(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
        [CONTRIBUTIONS[0].delta],
    ).fetchall()
    return bool(found[0][0])


def _add(con: duckdb.DuckDBPyConnection, c: Contribution, sign: int, as_of: Any = None) -> int:
    """Add (``sign`` 1) or take away (-1) what the households of ``mart_history`` and
    ``mart_members`` contribute to ``c``'s table, as of ``as_of`` when it depends on the
    date. The rows gathered."""
    sql = sqlfiles.read(c.sql)
    columns = _columns(con, c.table)
    measures = [col for col in columns if col not in c.keys]
    picked = [f'"{k}"' for k in c.keys] + [
        f'{"-" if sign < 0 else ""}"{m}" AS "{m}"' for m in measures
    ]
    rows = con.execute(
        f"INSERT INTO {c.delta} ({_quoted(list(c.keys) + measures)})"
        f" SELECT {', '.join(picked)} FROM ({sql}) AS contributed",
        sqlfiles.parameters(sql, {"as_of": as_of}),
    ).fetchall()
    return int(rows[0][0])


def _merge(con: duckdb.DuckDBPyConnection, c: Contribution) -> int:
    """Add the delta of ``c`` to its table: the rows of the keys it touches are replaced by
    their sums with it, rows whose measures sum to 0 everywhere dropped. The rows written."""
    columns = _columns(con, c.table)
    measures = [col for col in columns if col not in c.keys]
    touched = "EXISTS (SELECT 1 FROM {delta} d WHERE {match})".format(
        delta=c.delta,
        match=" AND ".join(f's."{k}" IS NOT DISTINCT FROM d."{k}"' for k in c.keys),
    )
    sums = ", ".join(f'sum("{m}") AS "{m}"' for m in measures)
    nonzero = " OR ".join(f'sum("{m}") <> 0' for m in measures)
    cols = _quoted(columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE mart_merged AS"
        f" SELECT {_quoted(c.keys)}, {sums} FROM ("
        f" SELECT {cols} FROM {c.table} s WHERE {touched}"
        f" UNION ALL SELECT {cols} FROM {c.delta}"
        f") GROUP BY {_quoted(c.keys)} HAVING {nonzero}"
    ).fetchall()
    con.execute(f"DELETE FROM {c.table} s WHERE {touched}").fetchall()
    written = con.execute(
        f"INSERT INTO {c.table} ({cols}) SELECT {cols} FROM mart_merged"
    ).fetchall()
    con.execute("DROP TABLE mart_merged")
    return int(written[0][0])


def _stored_as_of(con: duckdb.DuckDBPyConnection) -> tuple[bool, Any]:
    """Whether the state was ever filled, and the latest as_of date it holds."""
    rows = con.execute(f"SELECT as_of_date FROM {AS_OF}").fetchall()
    return (True, rows[0][0]) if rows else (False, None)


def subtract_affected(con: duckdb.DuckDBPyConnection) -> None:
    """The incremental path, before the load deletes the rows of the households of the
    temp table ``affected``: take away what those rows contribute, as of the latest as_of
    date the state holds."""
    started = time.perf_counter()
    _start(con)
    filled, old = _stored_as_of(con)
    if not filled:
        return  # update() fills the state from every household
    _scope(con, "affected")
    for c in CONTRIBUTIONS:
        if not c.as_of or old is not None:
            _add(con, c, -1, old)
    log.info(
        "mart state: the affected households' old rows taken away in %.1fs",
        time.perf_counter() - started,
    )


def update(con: duckdb.DuckDBPyConnection, *, incremental: bool) -> None:
    """Bring the state up to date with the core tables and the latest as_of date
    (``audit.runs``: the run being loaded is recorded already): from every household on
    the full path or when the state was never filled; else by the affected households'
    new rows (:func:`subtract_affected` took their old ones away) and the households the
    move of the latest as_of date concerns."""
    started = time.perf_counter()
    new = con.execute(
        "SELECT max(delivery_date) FROM audit.runs WHERE state = 'success'"
    ).fetchall()[0][0]
    filled, old = _stored_as_of(con)
    if incremental and filled and not _started(con):
        raise RuntimeError("mart state: the affected households' old rows were not taken away")
    whole = not incremental or not filled or (old is None) != (new is None)
    recomputed: str
    if whole:
        for c in CONTRIBUTIONS:
            con.execute(f"DELETE FROM {c.table}").fetchall()
        _start(con)
        _scope(con, None)
        for c in CONTRIBUTIONS:
            if not c.as_of or new is not None:
                _add(con, c, 1, new)
        recomputed = "all"
    else:
        _scope(con, "affected")
        for c in CONTRIBUTIONS:
            if not c.as_of or new is not None:
                _add(con, c, 1, new)
        moved = 0
        if old != new:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {MOVED} AS " + sqlfiles.read("state/mart_moved.sql"),
                {"old": old, "new": new},
            ).fetchall()
            moved = int(con.execute(f"SELECT count(*) FROM {MOVED}").fetchall()[0][0])
            _scope(con, MOVED)
            for c in CONTRIBUTIONS:
                if c.as_of:
                    _add(con, c, -1, old)
                    _add(con, c, 1, new)
            con.execute(f"DROP TABLE {MOVED}")
        affected = int(con.execute("SELECT count(*) FROM affected").fetchall()[0][0])
        recomputed = f"{affected:,} affected and {moved:,} moved"
    written = {c.table: _merge(con, c) for c in CONTRIBUTIONS}
    con.execute(f"DELETE FROM {AS_OF}").fetchall()
    con.execute(f"INSERT INTO {AS_OF} VALUES ($as_of)", {"as_of": new}).fetchall()
    _unscope(con)
    for c in CONTRIBUTIONS:
        con.execute(f"DROP TABLE IF EXISTS {c.delta}")
    log.info(
        "mart state: %s households as of %s (old %s), %s rows written, in %.1fs",
        recomputed,
        new,
        old,
        ", ".join(f"{t} {n:,}" for t, n in written.items()),
        time.perf_counter() - started,
    )
