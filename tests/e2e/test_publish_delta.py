"""Publish by delta: after an incremental load the snapshot is the previous one with the
households that load replaced (and the members whose age band moved) written again. Each
such snapshot must equal, table by table (``warehouse.digest``), a full publish of the same
warehouse; the publish falls back to full when the snapshot is not the previous load's, and
every ``POVDB_PUBLISH_FULL_EVERY`` publishes to compact the file.

The hand-built registry of tests/fixtures/landing_tiny, run date by date through every step
with ``run_all``, every load after the first incremental.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.context import RunContext
from pipeline.steps import run_all
from settings import paths
from warehouse.digest import differences, digests
from warehouse.publish import build_snapshot, publish_snapshot

DAYS = [dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)]


@pytest.fixture(autouse=True)
def incremental(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every load after the first takes the incremental path, however much it touches."""
    monkeypatch.delenv("POVDB_FULL_REBUILD", raising=False)
    monkeypatch.delenv("POVDB_PUBLISH_FULL_EVERY", raising=False)
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "1")


def _run(root: Path, day: dt.date) -> dict:
    """Run ``day`` through every step; its publish summary."""
    run_all(RunContext.local(day, root))
    return json.loads((paths(root).run_dir(day.isoformat()) / "publish.json").read_text())


def _snapshot(root: Path) -> Path:
    return root / "warehouse" / "analytics.duckdb"


def _meta(root: Path) -> tuple:
    con = duckdb.connect(str(_snapshot(root)), read_only=True)
    try:
        return con.execute(
            "SELECT publish_mode, deltas_since_full, as_of_date FROM meta.snapshot"
        ).fetchall()[0]
    finally:
        con.close()


def _assert_equals_a_full_publish(root: Path, tmp_path: Path) -> None:
    full = tmp_path / f"full-{len(list(tmp_path.glob('full-*')))}.duckdb"
    build_snapshot(paths(root), full, run_id="test/full")
    want, got = digests(full), digests(_snapshot(root))
    assert len(want) > 30, sorted(want)
    assert differences(want, got) == []


def test_each_publish_after_an_incremental_load_is_a_delta_equal_to_a_full_publish(
    tiny_landing: Path, data_root: Path, tmp_path: Path
) -> None:
    published = []
    for day in DAYS:
        summary = _run(data_root, day)
        published.append((summary["publish_mode"], _meta(data_root)))
        _assert_equals_a_full_publish(data_root, tmp_path)
    assert published == [
        ("full", ("full", 0, DAYS[0])),
        ("delta", ("delta", 1, DAYS[1])),
        ("delta", ("delta", 2, DAYS[2])),
    ]
    assert not list(_snapshot(data_root).parent.glob(".analytics.duckdb.*")), "no tmp left"


def test_the_duckdb_1x_cli_reads_a_delta_snapshot(tiny_landing: Path, data_root: Path) -> None:
    for day in DAYS[:2]:
        _run(data_root, day)
    assert _meta(data_root)[0] == "delta"
    cli = Path(sys.executable).with_name("duckdb")
    out = subprocess.run(
        [
            cli,
            "-readonly",
            "-csv",
            "-noheader",
            str(_snapshot(data_root)),
            "-c",
            "SELECT publish_mode, (SELECT count(*) FROM core.members) > 0 FROM meta.snapshot;",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert subprocess.run([cli, "--version"], capture_output=True, text=True).stdout.startswith(
        "v1."
    )
    assert out.stdout.strip() == "delta,true"


def test_a_full_publish_compacts_every_n_publishes(
    tiny_landing: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POVDB_PUBLISH_FULL_EVERY", "1")
    summaries = [_run(data_root, day) for day in DAYS]
    assert [s["publish_mode"] for s in summaries] == ["full", "delta", "full"]
    assert "compaction: 1 delta publishes since the last full one" in summaries[2]["publish_reason"]
    assert _meta(data_root)[:2] == ("full", 0)
    _assert_equals_a_full_publish(data_root, tmp_path)


def test_a_missed_publish_makes_the_next_one_full(
    tiny_landing: Path, data_root: Path, tmp_path: Path
) -> None:
    """The snapshot of date 1 kept through date 2 (its publish lost): date 3's publish cannot
    be a delta of it, which would lack date 2's changes."""
    _run(data_root, DAYS[0])
    kept = tmp_path / "day1.duckdb"
    shutil.copyfile(_snapshot(data_root), kept)
    _run(data_root, DAYS[1])
    shutil.copyfile(kept, _snapshot(data_root))
    summary = _run(data_root, DAYS[2])
    assert summary["publish_mode"] == "full"
    assert "a publish was missed" in summary["publish_reason"]
    _assert_equals_a_full_publish(data_root, tmp_path)


def test_a_full_load_publishes_in_full(
    tiny_landing: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(data_root, DAYS[0])
    monkeypatch.setenv("POVDB_FULL_REBUILD", "1")
    summary = _run(data_root, DAYS[1])
    assert (summary["publish_mode"], summary["publish_reason"]) == (
        "full",
        "the latest load took the full path",
    )


def test_age_bands_move_with_the_as_of_date(
    tiny_landing: Path, data_root: Path, tmp_path: Path
) -> None:
    """A member whose household no delivery of date 3 touches turns 6 on date 3: the delta
    must move them from 0-5 to 6-15 all the same."""
    for day in DAYS[:2]:
        _run(data_root, day)
    # Which households date 3 replaces: run it on a copy.
    probe = tmp_path / "probe"
    shutil.copytree(data_root, probe)
    _run(probe, DAYS[2])
    con = duckdb.connect(str(probe / "warehouse" / "poverty.duckdb"), read_only=True)
    touched = {r[0] for r in con.execute("SELECT household_id FROM audit.load_changes").fetchall()}
    con.close()
    warehouse = data_root / "warehouse" / "poverty.duckdb"
    con = duckdb.connect(str(warehouse))
    person_key = con.execute(
        "SELECT min(person_key) FROM core.members WHERE household_id NOT IN"
        " (SELECT unnest($touched::VARCHAR[]))",
        {"touched": sorted(touched)},
    ).fetchall()[0][0]
    assert person_key is not None, "every household is touched by date 3"
    sixth_birthday = DAYS[2].replace(year=DAYS[2].year - 6)
    con.execute(
        "UPDATE core.members SET birth_date = $b WHERE person_key = $k",
        {"b": sixth_birthday, "k": person_key},
    )
    con.close()
    # The snapshot of date 2 as it would be with that birth date: a full publish again.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POVDB_PUBLISH_FULL_EVERY", "0")
        publish_snapshot(paths(data_root), delivery_date=DAYS[1], run_id="test/republish")

    def band() -> str:
        con = duckdb.connect(str(_snapshot(data_root)), read_only=True)
        try:
            return con.execute(
                "SELECT age_band FROM core.members WHERE person_key = ?", [person_key]
            ).fetchall()[0][0]
        finally:
            con.close()

    assert band() == "0-5"
    summary = _run(data_root, DAYS[2])
    assert summary["publish_mode"] == "delta"
    assert band() == "6-15"
    _assert_equals_a_full_publish(data_root, tmp_path)


@pytest.mark.parametrize("days", [1, 2], ids=["full", "delta"])
def test_households_a_view_of_the_current_versions(
    tiny_landing: Path, data_root: Path, days: int
) -> None:
    """core.households is a view of core.households_history's current versions, with the
    history's published columns less its versioning, in their order, and the warehouse's
    comments, in a full publish and in a delta one; a DuckDB 1.x client reads it."""
    for day in DAYS[:days]:
        _run(data_root, day)
    published = _snapshot(data_root)
    con = duckdb.connect(str(published), read_only=True)
    try:
        mode = con.execute("SELECT publish_mode FROM meta.snapshot").fetchone()
        view = con.execute(
            "SELECT comment FROM duckdb_views() WHERE schema_name = 'core'"
            " AND view_name = 'households'"
        ).fetchall()
        history = [r[0] for r in con.execute("DESCRIBE core.households_history").fetchall()]
        columns = [r[0] for r in con.execute("DESCRIBE core.households").fetchall()]
        current = [
            c for c in history if c not in {"version", "valid_from", "valid_to", "is_current"}
        ]
        listed = ", ".join(f'"{c}"' for c in current)
        rows = con.execute(f"SELECT {listed} FROM core.households ORDER BY household_id").fetchall()
        expected = con.execute(
            f"SELECT {listed} FROM core.households_history WHERE is_current ORDER BY household_id"
        ).fetchall()
        versions = con.execute("SELECT count(*) FROM core.households_history").fetchone()[0]
        comments = dict(
            con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'core'"
                " AND table_name = 'households'"
            ).fetchall()
        )
    finally:
        con.close()
    assert mode == (("full", "delta")[days - 1],)
    assert len(view) == 1 and view[0][0].startswith("Grain: one row per household id")
    assert columns == current
    assert rows == expected and rows
    if days == 2:
        assert len(rows) < versions, "superseded versions left out"
    assert all(comments.values()), "every column described"
    cli = Path(sys.executable).with_name("duckdb")
    out = subprocess.run(
        [
            cli,
            "-readonly",
            "-csv",
            "-noheader",
            str(published),
            "-c",
            "SELECT household_id, head_key, status FROM core.households ORDER BY 1;",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    head, status = current.index("head_key"), current.index("status")
    assert out.stdout.split() == [f"{r[0]},{r[head]},{r[status]}" for r in expected]
