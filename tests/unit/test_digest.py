"""Per-table digests: equal data gives equal digests whatever the row order; any changed
value, row or table shows; what records attempts is left out."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from warehouse import digest

ROWS = [(1, "a", 2.5), (2, "b", None), (3, "c", 0.0)]


def _db(path: Path, rows: list[tuple], *, run_id: str = "r1", extra: str | None = None) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA core; CREATE SCHEMA audit")
    con.execute("CREATE TABLE core.t (id INT, name VARCHAR, x DOUBLE, run_id VARCHAR)")
    con.executemany("INSERT INTO core.t VALUES (?, ?, ?, ?)", [(*r, run_id) for r in rows])
    con.execute("CREATE TABLE audit.runs (run_id VARCHAR, loaded_at TIMESTAMPTZ)")
    con.execute("INSERT INTO audit.runs VALUES (?, now())", [run_id])
    if extra:
        con.execute(extra)
    con.close()
    return path


def test_same_rows_in_another_order_and_another_run_are_equal(tmp_path: Path) -> None:
    a = digest.digests(_db(tmp_path / "a.duckdb", ROWS))
    b = digest.digests(_db(tmp_path / "b.duckdb", ROWS[::-1], run_id="r2"))
    assert digest.differences(a, b) == []
    assert "audit.runs" not in a
    assert a["core.t"].columns == ("id", "name", "x")
    assert a["core.t"].rows == 3


@pytest.mark.parametrize(
    ("rows", "extra"),
    [
        ([(1, "a", 2.5), (2, "b", None), (3, "C", 0.0)], None),
        ([(1, "a", 2.5), (2, "b", 0.0), (3, "c", 0.0)], None),
        (ROWS[:2], None),
        ([*ROWS, ROWS[0]], None),
        (ROWS, "CREATE TABLE core.u (id INT)"),
    ],
    ids=["changed-value", "null-became-zero", "row-missing", "row-twice", "extra-table"],
)
def test_any_difference_shows(tmp_path: Path, rows: list[tuple], extra: str | None) -> None:
    a = digest.digests(_db(tmp_path / "a.duckdb", ROWS))
    b = digest.digests(_db(tmp_path / "b.duckdb", rows, extra=extra))
    assert digest.differences(a, b) == (["core.u"] if extra else ["core.t"])


def test_the_command_compares_with_expected_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = tmp_path / "expected.json"
    assert digest.main([str(_db(tmp_path / "a.duckdb", ROWS)), "--json", str(expected)]) == 0
    assert set(json.loads(expected.read_text())) == {"core.t"}
    changed = _db(tmp_path / "b.duckdb", ROWS[:2])
    assert digest.main([str(changed), "--expect", str(expected)]) == 1
    assert "DIFFERS: core.t (expected 3 rows, found 2 rows)" in capsys.readouterr().out
    assert digest.main([str(changed), "--expect", str(expected), "--ignore", "core.t"]) == 0
