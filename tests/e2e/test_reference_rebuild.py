"""The warehouse is a function of the set of accepted deliveries (docs/architecture.md,
rule 1), whatever order the dates ran in, however often, with any transform bucket size.

Generated deliveries of three counties, with planted defects (moves across counties and
heads delivered into households that have one among them) and daily changes, are run
through every step date by date: in date order (the reference), latest dates first, in
a shuffled order, in date order with bucket size 1 (a bucket per component), and in date
order with a date run again at the end. Every date's run loads its own folder and
transforms the staging of every date run so far, so each final warehouse has seen the
same deliveries. Every ``core``, ``audit`` and ``marts`` table must have the same digest
(``warehouse.digest``, whose list of what it leaves out is the one shared list); a
difference prints the rows each side has and the other lacks.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from generator import generate
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse.digest import TableDigest, differences, digests

START = dt.date(2015, 3, 1)
DATES = [START + dt.timedelta(days=i) for i in range(5)]
SCHEMAS = ("core", "audit", "marts")
SHOWN = 20  # rows of each side of a difference


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deliveries") / "landing"
    generate(
        out,
        scale="demo",
        households=500,
        days=len(DATES),
        start=START,
        seed=7,
        defects=0.05,
        change_share=0.05,
    )
    return out


def _run(landing: Path, root: Path, dates: list[dt.date]) -> Path:
    """Run ``dates`` in the order given on a data root of their own; the warehouse."""
    shutil.copytree(landing, root / "landing")
    for d in dates:
        run_all(RunContext.local(d, root))
    return root / "warehouse" / "poverty.duckdb"


def _digests(warehouse: Path) -> dict[str, TableDigest]:
    """Digests of every table of the compared schemas."""
    return {t: d for t, d in digests(warehouse).items() if t.split(".")[0] in SCHEMAS}


@pytest.fixture(scope="module")
def reference(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data root of the dates run in date order, with the default bucket size."""
    root = tmp_path_factory.mktemp("in-date-order")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("POVDB_BUCKET_HOUSEHOLDS", raising=False)
        _run(landing, root, DATES)
    return root


def _diff(reference: Path, other: Path, table: str, columns: tuple[str, ...]) -> str:
    """The rows of ``table`` that one warehouse has and the other lacks (EXCEPT ALL both
    ways), first rows only."""
    cols = ", ".join(f'"{c}"' for c in columns)
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS reference (READ_ONLY)", [str(reference)])
        con.execute("ATTACH ? AS other (READ_ONLY)", [str(other)])
        shown = [table]
        for this, that in (("reference", "other"), ("other", "reference")):
            rows = con.sql(
                f"SELECT {cols} FROM {this}.{table} EXCEPT ALL SELECT {cols} FROM {that}.{table}"
                f" ORDER BY ALL LIMIT {SHOWN}"
            ).pl()
            with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=10_000, fmt_str_lengths=60):
                shown.append(f"only in the {this} warehouse:\n{rows}")
        return "\n".join(shown)
    finally:
        con.close()


def _assert_same(reference: Path, other: Path) -> None:
    want, got = _digests(reference), _digests(other)
    assert want, "the reference warehouse has no table"
    differ = differences(want, got)
    if differ:
        shown = [
            _diff(reference, other, t, want[t].columns)
            if t in want and t in got
            else f"{t}: only in the {'reference' if t in want else 'other'} warehouse"
            for t in differ
        ]
        pytest.fail(f"{len(differ)} table(s) differ:\n\n" + "\n\n".join(shown), pytrace=False)


def test_every_change_day_moves_people(reference: Path) -> None:
    """What the comparisons are about is in the deliveries: on every change day heads
    delivered into households that have one (held), and members from another county."""
    con = duckdb.connect(str(reference / "warehouse" / "poverty.duckdb"), read_only=True)
    try:
        held = dict(
            con.execute(
                "SELECT delivery_date, count(*) FROM audit.quarantine"
                " WHERE reason = 'household_head_count' GROUP BY ALL"
            ).fetchall()
        )
        moved_in = dict(
            con.execute(
                "SELECT delivery_date, count(*) FROM core.members"
                " WHERE substr(id_number, 1, 6) <> substr(household_id, 1, 6) GROUP BY ALL"
            ).fetchall()
        )
    finally:
        con.close()
    for d in DATES[1:]:
        assert held.get(d, 0) >= 2 and moved_in.get(d, 0) >= 1, (d, held, moved_in)


@pytest.mark.parametrize(
    ("order", "per_bucket"),
    [
        pytest.param([4, 3, 2, 1, 0], None, id="latest-dates-first"),
        pytest.param([2, 4, 0, 3, 1], None, id="shuffled"),
        pytest.param([0, 1, 2, 3, 4], "1", id="bucket-size-1"),
    ],
)
def test_the_warehouse_does_not_depend_on_order_or_bucket_size(
    landing: Path,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    order: list[int],
    per_bucket: str | None,
) -> None:
    if per_bucket is not None:
        monkeypatch.setenv("POVDB_BUCKET_HOUSEHOLDS", per_bucket)
    other = _run(landing, tmp_path, [DATES[i] for i in order])
    _assert_same(reference / "warehouse" / "poverty.duckdb", other)


def test_running_a_date_again_changes_nothing(reference: Path, tmp_path: Path) -> None:
    root = tmp_path / "again"
    shutil.copytree(reference, root)
    run_all(RunContext.local(DATES[1], root))
    _assert_same(reference / "warehouse" / "poverty.duckdb", root / "warehouse" / "poverty.duckdb")
