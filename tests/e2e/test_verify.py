"""``povdb verify``: the live warehouse against the reference rebuild from staging.

The hand-built registry of tests/fixtures/landing_tiny is run once, date by date, with
``run_all``; each test verifies a private copy of that data root with the command as users
call it (``povdb --data-root ROOT verify``, in a subprocess).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline import lock
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse import digest
from warehouse.load import PERSON_KEYS
from warehouse.loader import CHECKS

ROOT = Path(__file__).resolve().parents[2]
POVDB = Path(sys.executable).with_name("povdb")
DAYS = [dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify") / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")
    for day in DAYS:
        run_all(RunContext.local(day, root))
    return root


@pytest.fixture
def root(loaded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(loaded, copy)
    return copy


def verify(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(POVDB), "--data-root", str(root), "verify", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def left_behind(root: Path) -> list[str]:
    """What a verify may leave: a shadow, its transform output, the lease."""
    found = [*(root / "warehouse").glob(".verify-*"), *(root / "runs").glob("verify-*")]
    if (root / ".povdb.lock").exists():
        found.append(root / ".povdb.lock")
    return sorted(str(p.relative_to(root)) for p in found)


def _assert_diff_shows_one_row_each_side(command: str) -> None:
    """The printed diff command runs, and shows the changed row on each side."""
    diff = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    assert "live only" in diff.stdout and "reference only" in diff.stdout
    assert "2 rows" in diff.stdout


def test_verify_passes_and_leaves_nothing_behind(root: Path) -> None:
    warehouse, snapshot = (
        root / "warehouse" / "poverty.duckdb",
        root / "warehouse" / "analytics.duckdb",
    )
    before = sha256(warehouse), sha256(snapshot)
    out = verify(root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verify: OK" in out.stdout
    assert " NO" not in out.stdout and "FAILED" not in out.stdout
    # Progress for a long run: the transform's buckets, each table loaded, each check.
    assert "transform:" in out.stderr and "load: core.members" in out.stderr
    assert "check core_keys_unique" in out.stderr
    assert left_behind(root) == []
    assert (sha256(warehouse), sha256(snapshot)) == before


def test_a_corrupted_table_is_named_and_the_shadow_kept(root: Path) -> None:
    warehouse = root / "warehouse" / "poverty.duckdb"
    con = duckdb.connect(str(warehouse))
    # A household's current version changed: its history, and core.households, a view of
    # the history's current versions.
    con.execute(
        "UPDATE core.households_history SET household_size = household_size + 1"
        " WHERE is_current AND household_id = (SELECT min(household_id) FROM core.households)"
    )
    con.close()
    out = verify(root, "--json", str(root / "verify.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(line.split()[0] == "core.households" and line.endswith("NO") for line in lines)
    assert "MISMATCH, 2 of" in out.stdout
    assert "tables differ: core.households, core.households_history;" in out.stdout
    # The snapshot, published before the change, no longer matches a publish of the
    # warehouse either, in those tables alone.
    assert "the snapshot differs from a full publish in 2 of" in out.stdout
    doc = json.loads((root / "verify.json").read_text())
    assert doc["ok"] is False and doc["differ"] == [
        "core.households",
        "core.households_history",
        "snapshot core.households",
        "snapshot core.households_history",
    ]
    shadow = Path(doc["shadow"])
    assert shadow.parent == root / "warehouse" and shadow.name.startswith(".verify-")
    assert shadow.exists() and str(shadow) in out.stdout
    assert not list((root / "runs").glob("verify-*"))  # the transform output is removed
    assert not (root / ".povdb.lock").exists()
    # The printed command diffs the table: the corrupted row on each side.
    command = next(line for line in lines if line.startswith("Diff core.households: "))
    assert (
        command.removeprefix("Diff core.households: ")
        == doc["tables"][[t["table"] for t in doc["tables"]].index("core.households")][
            "diff_command"
        ]
    )
    _assert_diff_shows_one_row_each_side(command.removeprefix("Diff core.households: "))


def test_verify_refuses_while_a_run_holds_the_lock(root: Path) -> None:
    holder = "poverty_nightly/scheduled__2015-03-04"
    assert lock.try_acquire(root / ".povdb.lock", holder)
    out = verify(root)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"locked by run {holder}" in out.stderr and "Nothing was done" in out.stderr
    assert out.stdout == ""
    assert (lock.read_lease(root / ".povdb.lock") or {})["owner"] == holder
    assert left_behind(root) == [".povdb.lock"]


def test_json_has_a_record_per_table_and_per_check(root: Path) -> None:
    out = verify(root, "--json", str(root / "verify.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads((root / "verify.json").read_text())
    assert doc["ok"] is True and doc["differ"] == [] and doc["shadow"] is None
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    tables = digest.tables(con)
    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]
    con.close()
    assert [t["table"] for t in doc["tables"]] == tables
    for record in doc["tables"]:
        assert record == {
            "table": record["table"],
            "rows_live": rows[record["table"]],
            "rows_reference": rows[record["table"]],
            "equal": True,
        }
    assert {c["name"] for c in doc["checks"]} == {p.stem for p in CHECKS.glob("*.sql")}
    con = duckdb.connect(str(root / "warehouse" / "analytics.duckdb"), read_only=True)
    published = digest.tables(con)
    con.close()
    assert [t["table"] for t in doc["snapshot_tables"]] == published
    assert all(
        t["equal"] and t["rows_snapshot"] == t["rows_full_publish"] for t in doc["snapshot_tables"]
    )
    assert doc["snapshot_problem"] is None and doc["snapshot_shadow"] is None
    assert all(c["passed"] and c["severity"] in {"error", "warn"} for c in doc["checks"])


def test_person_keys_under_another_secret_differ(root: Path) -> None:
    """The keys are recomputed for every person: a secret other than the one the warehouse
    was keyed with stops verify before it builds anything, and a warehouse that recorded no
    fingerprint of its secret shows it in the tables that store person keys, and in them
    alone."""
    out = verify(root, POVDB_PSEUDONYM_SECRET="another-secret")
    assert out.returncode == 2 and "not the one the person keys" in out.stderr, out.stderr
    assert left_behind(root) == []
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"))
    con.execute("DELETE FROM meta.pseudonym_secret")
    con.close()
    out = verify(root, "--json", str(root / "verify.json"), POVDB_PSEUDONYM_SECRET="another-secret")
    assert out.returncode == 1, out.stdout + out.stderr
    differ = json.loads((root / "verify.json").read_text())["differ"]
    assert [t for t in differ if not t.startswith("snapshot ")] == sorted(PERSON_KEYS)
    # The snapshot copies the stored keys; only the keys of held rows' IDs, which no core
    # table stores, are hashed at publish, under the secret given.
    assert {t for t in differ if t.startswith("snapshot ")} <= {"snapshot audit.quarantine"}


def test_a_snapshot_changed_after_its_publish_is_named(root: Path) -> None:
    snapshot = root / "warehouse" / "analytics.duckdb"
    con = duckdb.connect(str(snapshot))
    con.execute(
        "UPDATE core.members SET age_band = '60+'"
        " WHERE person_key = (SELECT min(person_key) FROM core.members WHERE age_band <> '60+')"
    )
    con.close()
    out = verify(root, "--json", str(root / "verify.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    doc = json.loads((root / "verify.json").read_text())
    assert doc["differ"] == ["snapshot core.members"], doc["differ"]
    assert all(t["equal"] for t in doc["tables"]) and doc["shadow"] is None
    full = Path(doc["snapshot_shadow"])
    assert full.exists() and full.name.startswith(".verify-") and str(full) in out.stdout
    command = next(
        line for line in out.stdout.splitlines() if line.startswith("Diff snapshot core.members: ")
    )
    _assert_diff_shows_one_row_each_side(command.removeprefix("Diff snapshot core.members: "))


def test_a_snapshot_behind_the_warehouse_fails_verify(root: Path) -> None:
    """A publish that failed after its load leaves the snapshot of the load before."""
    snapshot = root / "warehouse" / "analytics.duckdb"
    con = duckdb.connect(str(snapshot))
    con.execute("UPDATE meta.snapshot SET loaded_at = loaded_at - INTERVAL 1 DAY")
    con.close()
    out = verify(root, "--json", str(root / "verify.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    doc = json.loads((root / "verify.json").read_text())
    assert doc["differ"] == [] and doc["snapshot_tables"] == []
    assert "the snapshot holds the load of" in doc["snapshot_problem"]
    assert "its publish failed or has not run" in out.stdout
    assert left_behind(root) == []


@pytest.mark.airflow
def test_the_weekly_dag_verifies_under_the_lock(airflow_db: Path, root: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["poverty_verify"]
    run = dag.test(run_conf={"data_root": str(root)})
    assert run.state == "success"
    verdict = run.get_task_instance("verify").xcom_pull(task_ids="verify")
    assert verdict["ok"] is True and verdict["differ"] == []
    assert left_behind(root) == []
