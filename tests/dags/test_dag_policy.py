"""Policy for the DAG files: they import cleanly, carry owner/retries/tags/doc_md, and their
parsing is wiring only (no database, no heavy imports)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
DAG_IDS = {"poverty_nightly", "poverty_verify", "poverty_deadline"}
# The nightly's steps in order; ingest and validate run once per entity, in the mapped
# task group "entity".
STEPS = (
    "discover",
    "entity.ingest",
    "entity.validate",
    "transform",
    "load",
    "publish",
    "report",
)


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dagbag_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS
    assert {p.stem for p in DAG_FILES} == DAG_IDS


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_every_dag_carries_the_policy(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and "Owner" in dag.doc_md and "docs/runbook.md" in dag.doc_md
    assert "registry" in dag.tags
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert "data_root" in dag.params
    for t in dag.tasks:
        assert t.owner == "registry-data", t.task_id
        assert t.retries is not None, t.task_id
        assert t.on_failure_callback, t.task_id


@pytest.mark.parametrize("dag_id", ["poverty_nightly", "poverty_verify"])
def test_the_dags_that_write_hold_the_data_root_lock(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    # A sensor that waits without a worker slot, and a teardown that releases the lock
    # whatever happened in between.
    acquire, release = dag.get_task("acquire_lock"), dag.get_task("release_lock")
    assert acquire.is_setup and acquire.mode == "reschedule" and acquire.retries == 0
    assert release.is_teardown and release.retries == 0


def test_nightly_policy(dagbag) -> None:
    dag = dagbag.dags["poverty_nightly"]
    assert dag.doc_md and "backfill" in dag.doc_md.lower()
    assert set(dag.tags) >= {"registry", "nightly"}
    # Every step retries (transient errors only: pipeline.steps.run_task fails the rest at
    # once); the lock housekeeping does not.
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert all(retries[s] >= 1 for s in STEPS)
    assert retries["acquire_lock"] == 0 and retries["release_lock"] == 0


def test_task_order(dagbag) -> None:
    dag = dagbag.dags["poverty_nightly"]
    chain = ["acquire_lock", *STEPS]
    for up, down in itertools.pairwise(chain):
        assert down in dag.get_task(up).downstream_task_ids, (up, down)
    # The lock is a setup/teardown pair: release runs whatever failed in between, and its
    # success does not hide a failed run.
    release = dag.get_task("release_lock")
    assert release.is_teardown and dag.get_task("acquire_lock").is_setup
    assert "report" in release.upstream_task_ids


def test_task_ids_are_verbs(dagbag) -> None:
    dag = dagbag.dags["poverty_nightly"]
    assert {t.task_id for t in dag.tasks} == {"acquire_lock", *STEPS, "release_lock"}


def test_each_part_validates_after_its_own_ingest(dagbag) -> None:
    from airflow.sdk import XComArg
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    dag = dagbag.dags["poverty_nightly"]
    group = dag.task_group_dict["entity"]
    assert isinstance(group, MappedTaskGroup)
    # Mapped over what discover returns: the parts it planned (pipeline.parts).
    mapped = group._expand_input.value  # no public accessor
    assert list(mapped) == ["part"]
    assert isinstance(mapped["part"], XComArg)
    assert mapped["part"].operator.task_id == "discover"
    assert mapped["part"].key == "return_value"
    # Inside the group (so per part): validate waits for its ingest, and for discover,
    # whose result the whole group is mapped over.
    assert dag.get_task("entity.validate").upstream_task_ids == {"entity.ingest", "discover"}
    assert dag.get_task("entity.ingest").upstream_task_ids == {"discover"}
    assert dag.get_task("transform").upstream_task_ids == {"entity.validate"}
    for step in ("entity.ingest", "entity.validate"):
        task = dag.get_task(step)
        assert task.map_index_template == "{{ part }}"
        assert task.max_active_tis_per_dagrun == 2


def test_nightly_retries_back_off(dagbag) -> None:
    dag = dagbag.dags["poverty_nightly"]
    for step in STEPS:
        task = dag.get_task(step)
        # A number: True would mean a multiplier of 1 (the same delay every time).
        assert task.retry_exponential_backoff >= 2 and task.max_retry_delay


@pytest.mark.parametrize(
    ("dag_id", "task_ids"),
    [
        ("poverty_nightly", STEPS),
        ("poverty_verify", ("verify",)),
        ("poverty_deadline", ("check_published",)),
    ],
)
def test_only_transient_errors_retry(dagbag, dag_id: str, task_ids: tuple[str, ...]) -> None:
    from airflow.sdk import RetryAction

    from pipeline.context import ResourceFault

    dag = dagbag.dags[dag_id]
    transient = (TimeoutError("t"), ConnectionError("c"), BlockingIOError("b"))
    for task_id in task_ids:
        task = dag.get_task(task_id)
        assert task.retries >= 1, task_id
        policy = task.retry_policy
        for exc in transient:
            assert policy.evaluate(exc, 1, 3).action == RetryAction.RETRY, (task_id, exc)
        for exc in (ValueError("bad data"), ResourceFault("disk full"), KeyError("bug")):
            decision = policy.evaluate(exc, 1, 3)
            assert decision.action == RetryAction.FAIL, (task_id, exc)
            assert decision.reason == f"not transient: {type(exc).__name__}"
    # The UI shows the rule where ops look: the DAG's docs, and the task's where the
    # DAG has other tasks.
    assert "only transient errors are retried" in dag.doc_md
    if dag_id != "poverty_deadline":
        for task_id in task_ids:
            assert "only transient errors are retried" in dag.get_task(task_id).doc_md


def test_publish_declares_the_snapshot_alias(dagbag) -> None:
    from airflow.sdk import AssetAlias

    dag = dagbag.dags["poverty_nightly"]
    assert dag.get_task("publish").outlets == [AssetAlias("povdb_snapshot")]
    assert all(not dag.get_task(t).outlets for t in STEPS if t != "publish")
    assert "povdb_snapshot" in dag.doc_md


def test_verify_policy(dagbag) -> None:
    dag = dagbag.dags["poverty_verify"]
    assert set(dag.tags) >= {"registry", "weekly", "verify"}
    assert {t.task_id for t in dag.tasks} == {"acquire_lock", "verify", "release_lock"}
    assert "acquire_lock" in dag.get_task("verify").upstream_task_ids
    assert "verify" in dag.get_task("release_lock").upstream_task_ids
    assert dag.get_task("verify").retries >= 1  # transient errors only (pipeline.verify)
    # Weekly, at a fixed hour in Asia/Shanghai outside the nightly's window (02:00 to 08:00),
    # and the doc says which.
    minute, hour, day, month, weekday = dag.timetable.expression.split()
    assert dag.timetable.timezone == "Asia/Shanghai"
    assert (day, month) == ("*", "*") and weekday.isdigit() and minute.isdigit()
    assert not 2 <= int(hour) < 8
    assert f"{int(hour):02d}:{int(minute):02d} Asia/Shanghai" in dag.doc_md


PARSE_PROBE = r"""
import importlib.util, json, sys
import sqlalchemy
from sqlalchemy import event

connections = []
event.listen(sqlalchemy.engine.Engine, "connect", lambda *a: connections.append(1))
spec = importlib.util.spec_from_file_location("dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
heavy = [
    m
    for m in (
        "great_expectations",
        "duckdb",
        "polars",
        "pandas",
        "pipeline.steps",
        "pipeline.verify",
        "pipeline.notify",
    )
    if m in sys.modules
]
print(json.dumps({"connections": len(connections), "heavy": heavy}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_parsing_touches_no_database_and_imports_nothing_heavy(
    tmp_path: Path, dag_file: Path
) -> None:
    db = tmp_path / "airflow.db"
    env = {
        "PATH": str(Path(sys.executable).parent),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    out = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"connections": 0, "heavy": []}
    assert not db.exists()
