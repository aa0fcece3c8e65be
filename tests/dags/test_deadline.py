"""The publish deadline: ``poverty_deadline`` runs every day at POVDB_PUBLISH_BY
(Asia/Shanghai) and checks that yesterday's delivery date D is in the published snapshot;
if it is not, the task fails and the alert is emailed. Nothing here waits for the hour."""

from __future__ import annotations

import datetime as dt
import email
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pendulum
import pytest
from support import SmtpSink

from pipeline import lock, notify
from pipeline.context import RunContext
from pipeline.steps import run_all

ROOT = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2015, 3, 1), dt.date(2015, 3, 2)  # D1 is published, D2 is not


def _deadline_dag(monkeypatch: pytest.MonkeyPatch, publish_by: str | None):
    from airflow.dag_processing.dagbag import DagBag

    if publish_by is None:
        monkeypatch.delenv("POVDB_PUBLISH_BY", raising=False)
    else:
        monkeypatch.setenv("POVDB_PUBLISH_BY", publish_by)
    bag = DagBag(dag_folder=str(ROOT / "dags" / "poverty_deadline.py"))
    return bag, bag.dags.get("poverty_deadline")


@pytest.fixture(scope="module")
def published_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root whose snapshot holds the tiny registry's first delivery date only."""
    root = tmp_path_factory.mktemp("deadline") / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")
    run_all(RunContext.local(D1, root))
    return root


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    server = SmtpSink()
    monkeypatch.delenv("POVDB_SMTP_CONN_ID", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_POVDB_SMTP", server.uri)
    monkeypatch.setenv("POVDB_ALERT_EMAIL", "ops@example.org")
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    ("publish_by", "cron", "shown"),
    [(None, "0 8 * * *", "08:00"), ("06:30", "30 6 * * *", "06:30")],
    ids=["default", "configured"],
)
def test_the_check_runs_daily_at_the_publish_hour(
    monkeypatch: pytest.MonkeyPatch, publish_by: str | None, cron: str, shown: str
) -> None:
    bag, dag = _deadline_dag(monkeypatch, publish_by)
    assert bag.import_errors == {}
    assert (dag.timetable.expression, dag.timetable.timezone) == (cron, "Asia/Shanghai")
    assert f"daily at {shown} Asia/Shanghai" in dag.doc_md
    assert [t.task_id for t in dag.tasks] == ["check_published"]


def test_a_bad_publish_by_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    bag, dag = _deadline_dag(monkeypatch, "8 o'clock")
    assert dag is None
    [error] = bag.import_errors.values()
    assert "POVDB_PUBLISH_BY must be a time of day as HH:MM" in error


def test_published_reads_the_snapshots_delivery_dates(published_root: Path) -> None:
    analytics = published_root / "warehouse" / "analytics.duckdb"
    ok, state = notify.published(analytics, D1)
    assert ok and f"{analytics} is as of 2015-03-01" in state
    assert notify.published(analytics, D2) == (False, state)


def test_without_a_snapshot_nothing_is_published(tmp_path: Path) -> None:
    missing = tmp_path / "analytics.duckdb"
    assert notify.published(missing, D1) == (False, f"there is no snapshot at {missing}")


def test_a_snapshot_swapped_during_the_check_is_read_whole(
    published_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish renames a new file over the snapshot while the check has it open: the
    check reads the file it opened, without an error."""
    analytics = tmp_path / "analytics.duckdb"
    shutil.copy(published_root / "warehouse" / "analytics.duckdb", analytics)
    newer = tmp_path / ".analytics.duckdb.1.tmp"
    shutil.copy(analytics, newer)
    con = duckdb.connect(str(newer))
    con.execute(
        "UPDATE meta.snapshot SET deliveries_included = [DATE '2015-03-01', DATE '2015-03-02']"
    )
    con.close()
    rows = notify.sql.rows

    def swap_then_read(con: duckdb.DuckDBPyConnection, name: str, params=None):
        os.replace(newer, analytics)  # what warehouse.publish does
        return rows(con, name, params)

    monkeypatch.setattr(notify.sql, "rows", swap_then_read)
    assert notify.published(analytics, D2)[0] is False  # the file it opened
    monkeypatch.setattr(notify.sql, "rows", rows)
    assert notify.published(analytics, D2)[0] is True  # the next check sees the new one


def _check(published_root: Path, at: dt.datetime):
    """A run of poverty_deadline through Airflow (``dag.test``) at ``at``."""
    from airflow.utils.cli import get_bagged_dag

    dag = get_bagged_dag(None, "poverty_deadline")
    return dag.test(logical_date=at, run_conf={"data_root": str(published_root)})


@pytest.mark.airflow
def test_an_unpublished_date_fails_the_check_and_emails_the_alert(
    airflow_db: Path, published_root: Path, sink: SmtpSink
) -> None:
    dr = _check(published_root, pendulum.datetime(2015, 3, 3, 8, tz="Asia/Shanghai"))
    assert dr.state == "failed"
    [raw] = sink.messages
    msg = email.message_from_string(raw)
    assert msg["Subject"] == "[povdb] delivery date 2015-03-02 not published by its deadline"
    assert msg["To"] == "ops@example.org"
    body = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    text = body.get_payload(decode=True).decode()
    assert "delivery date 2015-03-02 is not published at 2015-03-03 08:00" in text
    assert "is as of 2015-03-01" in text


@pytest.mark.airflow
def test_a_published_date_passes_silently_while_a_run_holds_the_lock(
    airflow_db: Path, published_root: Path, sink: SmtpSink
) -> None:
    """The check neither waits for the data-root lock nor needs it."""
    lease, owner = published_root / ".povdb.lock", "poverty_nightly/a-run-under-way"
    assert lock.try_acquire(lease, owner)
    try:
        dr = _check(published_root, pendulum.datetime(2015, 3, 2, 8, tz="Asia/Shanghai"))
    finally:
        lock.release(lease, owner)
    assert dr.state == "success"
    assert sink.messages == []
