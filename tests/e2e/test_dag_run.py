"""The real DAG, run by Airflow, on the hand-built three-day registry."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pendulum
import pytest

from contract.idcard import id_problem
from contract.landing import ENTITIES

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]


def _one(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _nightly():
    """The DAG as `airflow dags test poverty_nightly` (and so `povdb run`) parses it."""
    from airflow.utils.cli import get_bagged_dag

    return get_bagged_dag(None, "poverty_nightly")


def test_dag_test_processes_one_delivery_date(
    airflow_db: Path, tiny_landing: Path, data_root: Path
) -> None:
    dag = _nightly()
    dr = dag.test(
        logical_date=pendulum.datetime(2015, 3, 1, tz="Asia/Shanghai"),
        run_conf={"data_root": str(data_root)},
    )
    assert dr.state == "success"
    wh = data_root / "warehouse" / "poverty.duckdb"
    assert _one(wh, "SELECT delivery_date FROM audit.runs") == [(dt.date(2015, 3, 1),)]
    assert _one(wh, "SELECT count(*) FROM core.households") == [(3,)]
    assert _one(wh, "SELECT count(*) FROM core.villages") == [(2,)]
    assert _one(wh, "SELECT count(*) FROM core.members") == [(9,)]
    # Nothing lost: every delivered row is accounted for.
    assert _one(
        wh,
        "SELECT sum(received), sum(applied + stale + duplicate + parked + held) FROM audit.reconciliation",
    ) == [(15, 15)]
    assert not (data_root / ".povdb.lock").exists(), "the run released the data-root lock"
    assert (wh.stat().st_mode & 0o077) == 0, "the internal warehouse is owner-only"
    _assert_airflow_sees_the_run(dr.run_id, data_root)


def _assert_airflow_sees_the_run(run_id: str, data_root: Path) -> None:
    """What Airflow's metadata and UI show of the run of 2015-03-01: the snapshot's asset
    event, each entity's task instances by name, the run's validation page."""
    from airflow.models.asset import AssetAliasModel, AssetEvent, AssetModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from povdb import reports_app

    uri = (data_root / "warehouse" / "analytics.duckdb").as_uri()
    received, applied, held = _one(
        data_root / "warehouse" / "poverty.duckdb",
        "SELECT rows_received, rows_applied, rows_held FROM audit.runs",
    )[0]
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri, AssetEvent.source_run_id == run_id)
        ).all()
        assert [(e.source_task_id, e.extra) for e in events] == [
            (
                "publish",
                {
                    "as_of_date": "2015-03-01",
                    "tables": events[0].extra["tables"],
                    "rows_received": received,
                    "rows_applied": applied,
                    "rows_held": held,
                },
            )
        ]
        assert received == 15 and events[0].extra["tables"] > 0
        alias = session.scalar(
            select(AssetAliasModel).where(AssetAliasModel.name == "povdb_snapshot")
        )
        assert alias is not None and uri in {a.uri for a in alias.assets}
        names = session.scalars(
            select(TaskInstance.rendered_map_index).where(
                TaskInstance.run_id == run_id, TaskInstance.task_id == "entity.validate"
            )
        ).all()
        assert sorted(names) == sorted(ENTITIES)
    # The run's link in the UI (the povdb plugin) opens the validation page of its date.
    app = reports_app.create_app()
    app.dependency_overrides[reports_app.may_read] = lambda: None
    page = TestClient(app).get(f"/runs/poverty_nightly/{run_id}/validation")
    assert page.status_code == 200
    expected = data_root / "reports" / "validation_2015-03-01.html"
    assert page.text == expected.read_text(encoding="utf-8")


def _assert_progress(stdout: str) -> None:
    """`povdb run` printed one line per step as it finished, with what it did."""
    lines = re.findall(r"^  \[ *\d+:\d\d\] (\S+(?: [a-z]+)?)  [\d.]+s(.*)$", stdout, re.M)
    steps = [step for step, _ in lines]
    assert steps[:2] == ["acquire_lock", "discover"], stdout
    assert steps[-4:] == ["load", "publish", "report", "release_lock"], stdout
    assert sorted(s for s in steps if s.startswith(("ingest ", "validate "))) == sorted(
        f"{step} {e}" for step in ("ingest", "validate") for e in ENTITIES
    )
    said = dict(lines)
    assert said["discover"] == "  4 files, 0 held"
    assert said["load"] == "  15 rows received, 15 applied, 0 held", stdout
    assert stdout.rstrip().splitlines()[-1].startswith("  done in ")


def test_povdb_run_three_dates_through_airflow(
    airflow_db: Path, tiny_landing: Path, data_root: Path
) -> None:
    env = {**os.environ, "POVDB_HOME": str(data_root)}
    povdb = str(Path(sys.executable).with_name("povdb"))
    for day in ("2015-03-01", "2015-03-02", "2015-03-03"):
        proc = subprocess.run(
            [povdb, "run", "--date", day], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"delivery date {day}" in proc.stdout
        if day == "2015-03-01":
            _assert_progress(proc.stdout)
    # No scheduler runs for this Airflow home: the runs went through `airflow dags test`.
    assert (data_root / "runs" / "airflow_2015-03-01.log").exists()
    snap = data_root / "warehouse" / "analytics.duckdb"
    # Target progress for Guizhou (52) as of day 3: A lifted (3 people) on 2015-03-02,
    # B lifted (2) on 2015-03-02 then returned on 2015-03-03.
    rows = _one(
        snap,
        "SELECT as_of_date, target_people, lifted_people, returned_people, net_people"
        " FROM marts.target_progress WHERE province_code = '52' ORDER BY as_of_date",
    )
    assert rows == [
        (dt.date(2015, 3, 1), 1000, 0, 0, 0),
        (dt.date(2015, 3, 2), 1000, 5, 0, 5),
        (dt.date(2015, 3, 3), 1000, 5, 2, 3),
    ]
    # No resident ID and no name in any text column of the published file.
    names = {
        "Zhang Wei",
        "Chen Li",
        "Zhang Xiao",
        "Li Na",
        "Li Ming",
        "Wang Fang",
        "Liu Yan",
        "Wang Lei",
        "Wang Jun",
    }
    con = duckdb.connect(str(snap), read_only=True)
    try:
        cols = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
            " WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in cols:
            values = con.execute(
                f'SELECT DISTINCT "{column}" FROM {schema}.{table} WHERE "{column}" IS NOT NULL'
            ).fetchall()
            for (v,) in values:
                assert v not in names, (schema, table, column)
                assert not (len(v) == 18 and id_problem(v) is None), (schema, table, column)
    finally:
        con.close()

    status = subprocess.run([povdb, "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0 and "Target progress" in status.stdout


def test_povdb_run_fails_loudly_and_fast_when_the_warehouse_is_corrupt(
    airflow_db: Path, tiny_landing: Path, data_root: Path
) -> None:
    wh = data_root / "warehouse" / "poverty.duckdb"
    wh.parent.mkdir(parents=True)
    wh.write_bytes(b"this is not a DuckDB file" * 100)
    env = {**os.environ, "POVDB_HOME": str(data_root)}
    povdb = str(Path(sys.executable).with_name("povdb"))
    proc = subprocess.run(
        [povdb, "run", "--date", "2015-03-01"], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0
    assert "FAILED: delivery date 2015-03-01" in proc.stderr
    assert wh.read_bytes() == b"this is not a DuckDB file" * 100, "a failed run changes nothing"
    assert not (data_root / "warehouse" / "analytics.duckdb").exists()
    assert not (data_root / ".povdb.lock").exists(), "the lock is released after a failure"


def test_a_failed_run_changes_nothing_and_alerts(
    airflow_db: Path, tiny_landing: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support import SmtpSink, table_contents

    import transforms.build

    dag = _nightly()
    conf = {"data_root": str(data_root)}
    assert (
        dag.test(
            logical_date=pendulum.datetime(2015, 3, 1, tz="Asia/Shanghai"), run_conf=conf
        ).state
        == "success"
    )
    wh = data_root / "warehouse" / "poverty.duckdb"
    before = table_contents(wh)
    snapshot = (data_root / "warehouse" / "analytics.duckdb").read_bytes()

    def broken(*args, **kwargs):
        raise ValueError("disk says no")

    monkeypatch.setattr(transforms.build, "build_core", broken)
    sink = SmtpSink()
    monkeypatch.setenv(
        "AIRFLOW_CONN_POVDB_SMTP",
        sink.uri,
    )
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    try:
        dr = dag.test(logical_date=pendulum.datetime(2015, 3, 2, tz="Asia/Shanghai"), run_conf=conf)
    finally:
        sink.close()
    assert dr.state == "failed"
    assert table_contents(wh) == before, "a failed run changes no data"
    assert (data_root / "warehouse" / "analytics.duckdb").read_bytes() == snapshot
    failed = _one(wh, "SELECT delivery_date, state, message FROM audit.runs WHERE state = 'failed'")
    assert len(failed) == 1 and failed[0][0] == dt.date(2015, 3, 2)
    assert "task transform failed" in failed[0][2] and "disk says no" in failed[0][2]
    assert len(sink.messages) == 1 and "poverty_nightly failed for 2015-03-02" in sink.messages[0]
    assert not (data_root / ".povdb.lock").exists()
