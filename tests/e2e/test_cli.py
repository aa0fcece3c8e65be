"""The povdb command follows the conventions of command lines: global options before or
after the subcommand, --version, machine-readable status."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

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
    assert {t["table_name"] for t in doc["tables"]} >= {"core.households", "core.members"}
