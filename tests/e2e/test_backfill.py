"""Airflow's own backfill, driven through the REST API the way ops would, against a real
scheduler: the warehouse it builds equals the one from running the same dates in order."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from support import ROOT, AirflowStack, processes_of, table_contents, wait_for

from pipeline.context import RunContext
from pipeline.steps import run_all

pytestmark = pytest.mark.airflow
DATES = [dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _api(stack: AirflowStack, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        stack.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def _create(stack: AirflowStack, body: dict) -> dict:
    """POST a backfill as ops do (docs/runbook.md, "Backfill a range"): on SQLite the API
    answers 503 "Database is locked" while the scheduler writes, having created nothing;
    the request is sent again."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return _api(stack, "POST", "/api/v2/backfills", body)
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                raise
        time.sleep(2)


def _backfill(stack: AirflowStack, first: str, last: str) -> list[dict]:
    """Create a backfill through the REST API and wait for it; return its runs."""
    backfill = _create(
        stack,
        {
            "dag_id": "poverty_nightly",
            "from_date": f"{first}T00:00:00+08:00",
            "to_date": f"{last}T00:00:00+08:00",
            "max_active_runs": 3,  # several runs at once: the data-root lock keeps one writer
            "reprocess_behavior": "completed",
        },
    )

    def finished() -> list[dict] | None:
        if not _api(stack, "GET", f"/api/v2/backfills/{backfill['id']}").get("completed_at"):
            return None
        runs = _api(stack, "GET", "/api/v2/dags/poverty_nightly/dagRuns?limit=100")["dag_runs"]
        return [r for r in runs if r["run_type"] == "backfill"]

    return wait_for(f"backfill {first}..{last}", finished, stack.logs, 600)


def _delivery_date(run: dict) -> dt.date:
    return dt.datetime.fromisoformat(run["logical_date"]).astimezone(SHANGHAI).date()


def test_rest_backfill_equals_sequential_runs(tmp_path: Path) -> None:
    """Later dates first, then an older one, each as an Airflow backfill with several runs
    at once: the warehouse equals the one from running the dates in order."""
    backfilled, sequential = tmp_path / "backfilled", tmp_path / "sequential"
    for root in (backfilled, sequential):
        shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")

    with AirflowStack(tmp_path / "airflow", backfilled) as stack:
        wait_for(
            "the DAG to be parsed",
            lambda: _api(stack, "GET", "/api/v2/dags/poverty_nightly"),
            stack.logs,
            180,
        )
        _api(stack, "PATCH", "/api/v2/dags/poverty_nightly", {"is_paused": False})
        later = _backfill(stack, "2015-03-02", "2015-03-03")
        assert sorted(_delivery_date(r) for r in later) == DATES[1:]
        runs = _backfill(stack, "2015-03-01", "2015-03-01")
        assert sorted(r["state"] for r in runs) == ["success"] * 3, stack.logs()
        assert sorted(_delivery_date(r) for r in runs) == DATES
    assert processes_of(stack.home) == [], "every process the test started is stopped"

    wh = backfilled / "warehouse" / "poverty.duckdb"
    con = duckdb.connect(str(wh), read_only=True)
    spans = con.execute(
        "SELECT started_at, loaded_at FROM audit.runs ORDER BY started_at"
    ).fetchall()
    con.close()
    assert len(spans) == 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, f"two runs wrote at once: {spans}"

    for d in DATES:
        run_all(RunContext.local(d, sequential))
    got = table_contents(wh)
    want = table_contents(sequential / "warehouse" / "poverty.duckdb")
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], table
