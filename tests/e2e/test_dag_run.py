"""The real DAG, run by Airflow, on the hand-built three-day registry."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pendulum
import pytest

from contract.idcard import id_problem

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]


def _one(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_dag_test_processes_one_delivery_date(
    airflow_db: Path, tiny_landing: Path, data_root: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["poverty_nightly"]
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
    from airflow.dag_processing.dagbag import DagBag
    from support import SmtpSink, table_contents

    import transforms.build

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["poverty_nightly"]
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
    monkeypatch.setenv("POVDB_SMTP_HOST", f"127.0.0.1:{sink.port}")
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
