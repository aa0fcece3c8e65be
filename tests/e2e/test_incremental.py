"""Which path a run takes, and why (docs/runbook.md, "Full and incremental runs").

The hand-built registry of tests/fixtures/landing_tiny is run date by date with ``run_all``.
The first load takes the full path; later ones are incremental unless the prior state is
missing, the deriving code changed, the run asks for the full path, or the delivery
touches more than ``POVDB_INCREMENTAL_MAX_SHARE`` of the households. Every choice and its
reason are recorded in ``audit.runs``. That the two paths give the same warehouse is the
property test's business (test_reference_rebuild.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline import incremental
from pipeline.context import RunContext
from pipeline.steps import run_all

ROOT = Path(__file__).resolve().parents[2]
DAYS = [dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")
    return root


def _runs(root: Path) -> list[tuple]:
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT delivery_date, load_path, load_path_reason, affected_households, code_hash"
            " FROM audit.runs WHERE state = 'success' ORDER BY loaded_at"
        ).fetchall()
    finally:
        con.close()


def test_the_first_load_is_full_and_later_ones_incremental(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "1")
    for day in DAYS:
        run_all(RunContext.local(day, root))
    runs = _runs(root)
    assert [r[1] for r in runs] == ["full", "incremental", "incremental"]
    assert runs[0][2] == "no warehouse with incremental state yet"
    assert runs[0][3] is None
    for _, _, reason, affected, code in runs[1:]:
        assert affected > 0 and f"{affected:,} households" in reason
        assert code == incremental.code_hash()


def test_a_change_of_the_deriving_code_takes_the_full_path(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "1")
    run_all(RunContext.local(DAYS[0], root))
    monkeypatch.setattr(incremental, "code_hash", lambda: "0" * 64)
    run_all(RunContext.local(DAYS[1], root))
    (_, path, reason, _, code) = _runs(root)[-1]
    assert path == "full" and code == "0" * 64
    assert reason.startswith("the code, SQL, suites, migrations or reference data changed")


def test_a_run_that_asks_takes_the_full_path(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "1")
    run_all(RunContext.local(DAYS[0], root))
    run_all(dataclasses.replace(RunContext.local(DAYS[1], root), full_rebuild=True))
    assert _runs(root)[-1][1:3] == ("full", "asked (DAG param full_rebuild, povdb run --full)")
    monkeypatch.setenv("POVDB_FULL_REBUILD", "yes")
    run_all(RunContext.local(DAYS[2], root))
    assert _runs(root)[-1][1:3] == ("full", "asked (POVDB_FULL_REBUILD)")


def test_a_delivery_touching_too_many_households_takes_the_full_path(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all(RunContext.local(DAYS[0], root))
    monkeypatch.setenv("POVDB_INCREMENTAL_MAX_SHARE", "0")
    run_all(RunContext.local(DAYS[1], root))
    (_, path, reason, _, _) = _runs(root)[-1]
    assert path == "full"
    assert "more than POVDB_INCREMENTAL_MAX_SHARE (0%)" in reason


def test_the_code_hash_covers_code_sql_and_data_but_not_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "deriving_pkg"
    (package / "sql").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sql" / "mart.sql").write_text("SELECT 1")
    (package / "ref.csv").write_text("a\n1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(incremental, "DERIVING_PACKAGES", ("deriving_pkg",))
    before = incremental.code_hash()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython.pyc").write_bytes(b"cache")
    (package / "notes.txt").write_text("not a deriving file")
    assert incremental.code_hash() == before
    for changed in ("sql/mart.sql", "ref.csv", "__init__.py"):
        original = (package / changed).read_bytes()
        (package / changed).write_bytes(original + b"\n-- changed")
        assert incremental.code_hash() != before, changed
        (package / changed).write_bytes(original)
    assert incremental.code_hash() == before
    sys.modules.pop("deriving_pkg", None)
