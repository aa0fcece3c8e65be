"""`povdb check FOLDER` lists exactly what a run of the same folder holds for the reasons one
folder decides, needs no data root and writes nothing outside its temporary folder.

The runs are the pipeline's stages as functions (no Airflow), date after date, over a
generated delivery with planted defects and over the fixture corpus (landing_tiny, and the
reader fixtures delivered as one folder)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from contract.reasons import CATALOGUE
from generator import generate
from pipeline.check import (
    NOT_CHECKED,
    CheckResult,
    NotADeliveryFolder,
    check_folder,
    default_delivery_date,
)
from pipeline.context import RunContext
from pipeline.steps import run_all
from povdb.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
START = dt.date(2015, 3, 1)
Held = tuple[str, int | None, str]  # (file name, row number or None for the file, reason)


def _fixture_landing(landing: Path) -> None:
    """landing_tiny, and a fourth date delivering every reader fixture under a contract
    name, a symlink leaving the folder and a subfolder."""
    shutil.copytree(FIXTURES / "landing_tiny", landing)
    folder = landing / "2015-03-04"
    folder.mkdir()
    for path in sorted((FIXTURES / "files").iterdir()):
        entity, _, rest = path.name.partition("_")
        shutil.copy(path, folder / f"{entity}_520102_{rest}")
    (folder / "villages_520103.csv").symlink_to(FIXTURES / "files" / "villages_utf8_bom.csv")
    (folder / "households_520103").mkdir()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path, CheckResult]]:
    """(delivery folder, warehouse that ran it, the folder's check) for every date of both
    landing roots."""
    generated = tmp_path_factory.mktemp("generated")
    generate(
        generated / "landing",
        scale="demo",
        start=START,
        days=2,
        seed=5,
        defects=0.03,
        answer_key=generated / "answer_key.csv",
    )
    fixtures = tmp_path_factory.mktemp("fixtures")
    _fixture_landing(fixtures / "landing")
    out = []
    for root in (generated, fixtures):
        for folder in sorted((root / "landing").iterdir()):
            run_all(RunContext.local(dt.date.fromisoformat(folder.name), root))
            out.append((folder, root / "warehouse" / "poverty.duckdb", check_folder(folder)))
    return out


def _run_held(warehouse: Path, d: str) -> Counter[Held]:
    """What the run of date ``d`` held: files, and rows held or in conflict."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT file_name, NULL, reason FROM audit.files"
            " WHERE delivery_date = ? AND outcome = 'held'"
            " UNION ALL"
            " SELECT file_name, row_number, reason FROM audit.quarantine"
            " WHERE delivery_date = ? AND row_number IS NOT NULL"
            " AND outcome IN ('held', 'conflict')",
            [d, d],
        ).fetchall()
    finally:
        con.close()
    return Counter((name, row, reason) for name, row, reason in rows)


def test_findings_are_what_a_run_holds_but_the_warehouse_reasons(
    runs: list[tuple[Path, Path, CheckResult]],
) -> None:
    left_out: set[str] = set()
    checked: set[str] = set()
    for folder, warehouse, result in runs:
        held = _run_held(warehouse, folder.name)
        found = Counter((f.file_name, f.row_number, f.reason) for f in result.findings)
        expected = Counter({k: n for k, n in held.items() if k[2] not in NOT_CHECKED})
        assert found == expected, (
            f"{folder.name}: check only {found - expected}, run only {expected - found}"
        )
        assert result.delivery_date.isoformat() == folder.name
        left_out |= {k[2] for k in held} - {k[2] for k in found}
        checked |= {k[2] for k in found}
    # The runs held rows for reasons the check leaves out, and only for those.
    assert left_out and left_out <= NOT_CHECKED
    assert {"path_outside_landing", "file_truncated", "file_unreadable"} <= checked


def test_every_planted_defect_one_folder_decides_is_found(
    runs: list[tuple[Path, Path, CheckResult]],
) -> None:
    root = runs[0][0].parent.parent
    answers = pl.read_csv(root / "answer_key.csv", schema_overrides={"row_number": pl.Int64})
    planted = answers.filter(
        pl.col("expected_outcome").is_in(["held", "conflict"])
        & ~pl.col("defect").is_in(sorted(NOT_CHECKED))
    )
    found = {
        (folder.name, f.file_name, f.row_number, f.reason)
        for folder, _, result in runs
        for f in result.findings
        if folder.parent.parent == root
    }
    missed = [
        row
        for row in planted.select(
            pl.col("delivery_date").cast(pl.String), "file_name", "row_number", "defect"
        ).iter_rows()
        if row not in found
    ]
    assert planted.height > 50
    assert missed == []


def test_a_folder_that_is_not_a_delivery(tmp_path: Path) -> None:
    with pytest.raises(NotADeliveryFolder, match="does not exist"):
        check_folder(tmp_path / "nowhere")
    (tmp_path / "file.csv").write_text("x")
    with pytest.raises(NotADeliveryFolder, match="is not a folder"):
        check_folder(tmp_path / "file.csv")
    (tmp_path / "landing" / "2015-03-01").mkdir(parents=True)
    with pytest.raises(NotADeliveryFolder, match=r"delivery-date folders \(2015-03-01"):
        check_folder(tmp_path / "landing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotADeliveryFolder, match="holds no files"):
        check_folder(tmp_path / "empty")


def test_the_delivery_date_is_the_folders_name_else_today() -> None:
    assert default_delivery_date(Path("landing/2015-03-02")) == dt.date(2015, 3, 2)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    assert default_delivery_date(Path("outbox")) == today
    assert default_delivery_date(Path("2015-02-30")) == today


# --- the command ----------------------------------------------------------------------


def _povdb_check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`povdb check` with no data root and its own empty temporary folder."""
    (cwd / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(cwd / "tmp"), "POVDB_HOME": str(cwd / "no_data_root")}
    return subprocess.run(
        [sys.executable, "-m", "povdb", "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_a_clean_folder_exits_0_and_leaves_no_trace(tmp_path: Path) -> None:
    folder = FIXTURES / "landing_tiny" / "2015-03-01"
    before = _tree(folder)
    out = _povdb_check(str(folder), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"{folder} (delivery date 2015-03-01): 4 files, 15 rows read: nothing would be held."
    ]
    assert "discover: 4 files" in out.stderr
    assert _tree(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_findings_by_file_with_rows_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    shutil.copy(
        FIXTURES / "files" / "villages_missing_required_column.csv",
        folder / "villages_520102.csv",
    )
    shutil.copy(
        FIXTURES / "files" / "households_utf8_english_headers.csv",
        folder / "households_520102.csv",
    )
    (folder / "notes.txt").write_text("for the county office")
    assert main(["check", str(folder), "--date", "2015-03-02"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "households_520102.csv"
    assert lines[1].startswith("  file: file_mostly_invalid: ")
    rows = [line.split(": ")[:2] for line in lines if line.startswith("  row ")]
    # Row 2's status changed on 2019-12-01: after the delivery date given.
    assert rows == [
        ["  row 1", "missing_required"],
        ["  row 2", "date_in_future"],
        ["  row 3", "missing_required"],
    ]
    missing = CATALOGUE["header_missing_column"].description
    assert lines[lines.index("villages_520102.csv") + 1].startswith(
        f"  file: header_missing_column: {missing} ("
    )
    assert lines[lines.index("notes.txt") + 1].startswith("  file: file_name_invalid: ")
    assert lines[-1].endswith("would be held.")

    assert main(["check", str(folder), "--json", "--date", "2015-03-02"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["delivery_date"] == "2015-03-02"
    assert doc["held_files"] == 3
    assert doc["held_rows"] == len(rows)
    assert {f["reason"] for f in doc["findings"]} >= {"header_missing_column", "file_name_invalid"}
    assert all(f["sentence"] == CATALOGUE[f["reason"]].description for f in doc["findings"])
    assert set(doc["not_checked"]) == NOT_CHECKED


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = _povdb_check(str(tmp_path / "nowhere"), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert f"povdb check: {tmp_path / 'nowhere'} does not exist" in out.stderr
