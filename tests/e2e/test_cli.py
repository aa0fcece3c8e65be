"""The povdb command follows the conventions of command lines: global options before or
after the subcommand, --version, machine-readable status; `povdb run` says what each step
did as it finishes."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import duckdb

from povdb import cli

POVDB = [sys.executable, "-m", "povdb"]


def _povdb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*POVDB, *args], capture_output=True, text=True, timeout=120)


def test_version() -> None:
    out = _povdb("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"povdb {importlib.metadata.version('povdb')}"


def test_the_data_root_may_follow_the_subcommand(demo_snapshot: Path, tmp_path: Path) -> None:
    root = demo_snapshot.parent.parent
    before = _povdb("--data-root", str(root), "status")
    after = _povdb("status", "--data-root", str(root))
    assert before.returncode == after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert "Snapshot as of" in after.stdout
    # After the subcommand it wins over the one before it; absent, it leaves that one be.
    empty = tmp_path / "empty"
    assert _povdb("--data-root", str(empty), "status", "--data-root", str(root)).returncode == 0
    missing = _povdb("--data-root", str(empty), "status")
    assert missing.returncode == 1
    assert str(empty / "warehouse" / "analytics.duckdb") in missing.stderr


def test_status_as_json(demo_snapshot: Path) -> None:
    out = _povdb("status", "--json", "--data-root", str(demo_snapshot.parent.parent))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"snapshot", "latest_run", "tables", "target_progress", "quarantine"}
    assert doc["snapshot"]["as_of_date"] == max(doc["snapshot"]["deliveries_included"])
    rows = {t["table_name"]: t["rows"] for t in doc["tables"]}
    assert "core.members" in rows
    # core.households is a view: counted (a table gives DuckDB's estimated size).
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        households = con.execute("SELECT count(*) FROM core.households").fetchone()[0]
    finally:
        con.close()
    assert households > 0 and rows.get("core.households") == households


def test_run_progress_shows_this_run_only(tmp_path: Path) -> None:
    """What `povdb run` prints of runs/D/progress.jsonl: this run's lines (not an earlier
    run's, nor another run id's), a failure with its reason, nothing of a half-written line."""
    since = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)

    def line(minutes: float, run_id: str, **doc: object) -> str:
        at = since + dt.timedelta(minutes=minutes)
        return json.dumps({"at": at.isoformat(), "run_id": run_id, **doc}) + "\n"

    progress = tmp_path / "progress.jsonl"
    progress.write_text(
        line(-5, "r1", step="load", seconds=9.0, text="earlier run")
        + line(1.5, "r1", step="discover", seconds=0.2, text="4 files, 0 held")
        + line(2, "r2", step="discover", seconds=0.1, text="another run")
        + line(3, "r1", step="ingest members", seconds=1.0, failed="disk full", transient=False)
        + line(4, "r1", step="ingest villages", seconds=1.0, failed="timed out", transient=True)
        + '{"at": "2026-01-01T02:05:00+00:00", "run_id": "r1", "st'
    )
    assert cli._progress_lines(progress, since, "r1") == [
        "  [  1:30] discover  0.2s  4 files, 0 held",
        "  [  3:00] ingest members FAILED after 1.0s: disk full",
        "  [  4:00] ingest villages FAILED after 1.0s: timed out"
        " (transient: Airflow retries it while it has retries left)",
    ]
    assert len(cli._progress_lines(progress, since, None)) == 4  # any run id after `since`
    assert cli._progress_lines(tmp_path / "missing.jsonl", since, None) == []
