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
from pathlib import Path

import duckdb
import pytest
from support import read_with_duckdb_1x

from contract import publication
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
    out = read_with_duckdb_1x(
        _snapshot(data_root),
        "SELECT publish_mode, (SELECT count(*) FROM core.members) > 0 FROM meta.snapshot;",
    )
    assert out == "delta,true"


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
def test_current_versions_are_views_of_the_histories(
    tiny_landing: Path, data_root: Path, days: int
) -> None:
    """core.villages and core.households are views of their histories' current versions,
    with the history's published columns less its versioning, in their order, and the
    warehouse's comments, in a full publish and in a delta one; a DuckDB 1.x client reads
    them."""
    views = {t.name: t.current_of for t in publication.TABLES if t.current_of}
    assert views == {
        "core.villages": "core.villages_history",
        "core.households": "core.households_history",
    }
    for day in DAYS[:days]:
        _run(data_root, day)
    published = _snapshot(data_root)
    con = duckdb.connect(str(published), read_only=True)
    try:
        mode = con.execute("SELECT publish_mode FROM meta.snapshot").fetchone()
        listed = {
            f"core.{name}": comment
            for name, comment in con.execute(
                "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'core'"
            ).fetchall()
        }
        found = {}
        for view, history in views.items():
            key = con.execute(f"DESCRIBE {view}").fetchone()[0]
            in_history = [r[0] for r in con.execute(f"DESCRIBE {history}").fetchall()]
            current = [
                c
                for c in in_history
                if c not in {"version", "valid_from", "valid_to", "is_current"}
            ]
            columns = ", ".join(f'"{c}"' for c in current)
            found[view] = {
                "columns": [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()],
                "current": current,
                "rows": con.execute(f"SELECT {columns} FROM {view} ORDER BY {key}").fetchall(),
                "expected": con.execute(
                    f"SELECT {columns} FROM {history} WHERE is_current ORDER BY {key}"
                ).fetchall(),
                "versions": con.execute(f"SELECT count(*) FROM {history}").fetchone()[0],
                "comments": con.execute(
                    "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'core'"
                    " AND table_name = ?",
                    [view.split(".")[1]],
                ).fetchall(),
            }
    finally:
        con.close()
    assert mode == (("full", "delta")[days - 1],)
    assert listed["core.villages"].startswith("Grain: one row per village code")
    assert listed["core.households"].startswith("Grain: one row per household id")
    for view, f in found.items():
        assert f["columns"] == f["current"], view
        assert f["rows"] == f["expected"] and f["rows"], view
        assert all(comment for _, comment in f["comments"]), f"every column of {view} described"
    if days == 2:
        households = found["core.households"]
        assert len(households["rows"]) < households["versions"], "superseded versions left out"
    out = read_with_duckdb_1x(
        published,
        "SELECT household_id, head_key, status FROM core.households ORDER BY 1;"
        " SELECT village_code, village_name FROM core.villages ORDER BY 1;",
    )
    households, villages = found["core.households"], found["core.villages"]
    head, status = households["current"].index("head_key"), households["current"].index("status")
    name = villages["current"].index("village_name")
    assert out.split() == [f"{r[0]},{r[head]},{r[status]}" for r in households["expected"]] + [
        f"{r[0]},{r[name]}" for r in villages["expected"]
    ]
