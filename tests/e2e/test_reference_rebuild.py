"""The warehouse is a function of the set of accepted deliveries (docs/architecture.md,
rule 1), whatever order the dates ran in, however often, with any transform bucket size.

Generated deliveries of three counties, with planted defects (moves across counties and
heads delivered into households that have one among them) and daily changes, are run
through every step date by date: in date order by the full path (the reference: every
derived table rebuilt from every date's staging), and by the incremental path (every run
after the first replaces the components its date touches) in date order, latest dates
first, in a shuffled order, with bucket size 1 (a bucket per component), and with a
date run again at the end. Every date's run loads its own folder, so each final
warehouse has seen the same deliveries. Every ``core``, ``audit``, ``marts`` and
``state`` table must have the same digest (``warehouse.digest``, whose list of what it
leaves out is the one shared list), and so must every table of the published snapshots
(the reference's published in full, the incremental runs' by delta); a difference prints
the rows each side has and the other lacks.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

import transforms.build
from generator import generate
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse.digest import TableDigest, differences, digests

START = dt.date(2015, 3, 1)
DATES = [START + dt.timedelta(days=i) for i in range(5)]
SCHEMAS = ("core", "audit", "marts", "state")
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


def _paths(warehouse: Path) -> list[str]:
    """The path each successful load took, in the order they ran."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT load_path FROM audit.runs WHERE state = 'success' ORDER BY loaded_at"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.fixture
def incremental(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run after the first takes the incremental path, however much it touches."""
    monkeypatch.delenv("POVDB_FULL_REBUILD", raising=False)
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "1")


def _digests(warehouse: Path) -> dict[str, TableDigest]:
    """Digests of every table of the compared schemas."""
    return {t: d for t, d in digests(warehouse).items() if t.split(".")[0] in SCHEMAS}


@pytest.fixture(scope="module")
def reference(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data root of the dates run in date order, with the default bucket size."""
    root = tmp_path_factory.mktemp("in-date-order")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("POVDB_BUCKET_HOUSEHOLDS", raising=False)
        mp.setenv("POVDB_FULL_REBUILD", "1")
        warehouse = _run(landing, root, DATES)
    assert _paths(warehouse) == ["full"] * len(DATES)
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


def _publish_mode(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse.with_name("analytics.duckdb")), read_only=True)
    try:
        return con.execute("SELECT publish_mode FROM meta.snapshot").fetchall()[0][0]
    finally:
        con.close()


def _assert_same(reference: Path, other: Path) -> None:
    """Same warehouse tables, and the same published snapshot (every table of it: the
    other side's may have been published by delta)."""
    want, got = _digests(reference), _digests(other)
    assert want, "the reference warehouse has no table"
    snapshots = [w.with_name("analytics.duckdb") for w in (reference, other)]
    published = differences(*(digests(s) for s in snapshots))
    assert not published, f"the published snapshots differ in {published}"
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
        pytest.param([0, 1, 2, 3, 4], None, id="date-order"),
        pytest.param([4, 3, 2, 1, 0], None, id="latest-dates-first"),
        pytest.param([2, 4, 0, 3, 1], None, id="shuffled"),
        pytest.param([0, 1, 2, 3, 4], "1", id="bucket-size-1"),
    ],
)
@pytest.mark.usefixtures("incremental")
def test_incremental_runs_equal_the_reference_in_any_order_and_bucket_size(
    landing: Path,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    order: list[int],
    per_bucket: str | None,
) -> None:
    if per_bucket is not None:
        monkeypatch.setenv("POVDB_BUCKET_HOUSEHOLDS", per_bucket)
        monkeypatch.setattr(transforms.build, "READ_HOUSEHOLDS", 60)  # split by batch
    other = _run(landing, tmp_path, [DATES[i] for i in order])
    assert _paths(other) == ["full"] + ["incremental"] * (len(DATES) - 1)
    assert _publish_mode(other) == "delta"
    _assert_same(reference / "warehouse" / "poverty.duckdb", other)


@pytest.mark.parametrize("again", [0, 1, 4], ids=["first-date", "a-change-day", "last-date"])
@pytest.mark.usefixtures("incremental")
def test_running_a_date_again_changes_nothing(reference: Path, tmp_path: Path, again: int) -> None:
    root = tmp_path / "again"
    shutil.copytree(reference, root)
    run_all(RunContext.local(DATES[again], root))
    warehouse = root / "warehouse" / "poverty.duckdb"
    assert _paths(warehouse)[-1] == "incremental"
    # The reference's snapshot is of its last load: a delta of it.
    assert _publish_mode(warehouse) == "delta"
    _assert_same(reference / "warehouse" / "poverty.duckdb", warehouse)


def test_the_full_path_in_another_order_equals_the_reference(
    landing: Path,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    split_batches: list[int],
) -> None:
    monkeypatch.setenv("POVDB_FULL_REBUILD", "1")
    monkeypatch.setenv("POVDB_BUCKET_HOUSEHOLDS", "1")
    # Buckets read in batches of about 60 households: staging is split by batch first, as
    # at national scale.
    monkeypatch.setattr(transforms.build, "READ_HOUSEHOLDS", 60)
    monkeypatch.setattr(transforms.build, "SPLIT_PASS_HOUSEHOLDS", 150)  # several passes
    other = _run(landing, tmp_path, [DATES[i] for i in (3, 0, 4, 1, 2)])
    # Every run but the first (its one date's households fit in one batch) split staging.
    assert len(split_batches) == len(DATES) - 1 and min(split_batches) > 3, split_batches
    assert _paths(other) == ["full"] * len(DATES)
    _assert_same(reference / "warehouse" / "poverty.duckdb", other)
