"""Airflow's own backfill, driven through the REST API the way ops would, against a real
scheduler: the warehouse it builds equals the one from running the same dates in order."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from support import ROOT, AirflowStack, table_contents

from pipeline.steps import RunContext, run_all

pytestmark = pytest.mark.airflow
DATES = [dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)]


def _api(stack: AirflowStack, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        stack.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def _wait(what: str, check, stack: AirflowStack, timeout: float):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as exc:  # the API server is still starting
            last = exc
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what} (last: {str(last)[:2000]})\n{stack.logs()[-6000:]}")


def test_rest_backfill_equals_sequential_runs(tmp_path: Path) -> None:
    backfilled, sequential = tmp_path / "backfilled", tmp_path / "sequential"
    for root in (backfilled, sequential):
        shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")

    with AirflowStack(tmp_path / "airflow", backfilled) as stack:
        _wait(
            "the DAG to be parsed",
            lambda: _api(stack, "GET", "/api/v2/dags/poverty_nightly"),
            stack,
            180,
        )
        _api(stack, "PATCH", "/api/v2/dags/poverty_nightly", {"is_paused": False})
        backfill = _api(
            stack,
            "POST",
            "/api/v2/backfills",
            {
                "dag_id": "poverty_nightly",
                "from_date": "2015-03-01T00:00:00+08:00",
                "to_date": "2015-03-03T00:00:00+08:00",
                "max_active_runs": 3,  # several runs at once: the data-root lock keeps one writer
                "reprocess_behavior": "completed",
            },
        )

        def finished() -> list[dict] | None:
            if not _api(stack, "GET", f"/api/v2/backfills/{backfill['id']}").get("completed_at"):
                return None
            runs = _api(stack, "GET", "/api/v2/dags/poverty_nightly/dagRuns?limit=50")["dag_runs"]
            return [r for r in runs if r["run_type"] == "backfill"]

        runs = _wait("the backfill to finish", finished, stack, 600)
        assert sorted(r["state"] for r in runs) == ["success"] * 3, stack.logs()
        assert (
            sorted(
                dt.datetime.fromisoformat(r["logical_date"])
                .astimezone(dt.timezone(dt.timedelta(hours=8)))
                .date()
                for r in runs
            )
            == DATES
        )

    for d in DATES:
        run_all(RunContext.local(d, sequential))
    got = table_contents(backfilled / "warehouse" / "poverty.duckdb")
    want = table_contents(sequential / "warehouse" / "poverty.duckdb")
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], table
