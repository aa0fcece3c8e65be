"""`make airflow`: Airflow comes up on the embedded default with the DAG unpaused, and a
stop signal takes every component down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from support import ROOT, free_port, processes_of

pytestmark = pytest.mark.airflow


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_make_airflow_starts_unpaused_and_stops_cleanly(tmp_path: Path) -> None:
    home, port = tmp_path / "airflow", free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "POVDB_HOME": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "povdb.airflow_local"],
        env=env,
        cwd=ROOT,
        stdout=open(tmp_path / "airflow.log", "w"),  # noqa: SIM115 - the child keeps it
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, health = time.time() + 240, {}
        while time.time() < deadline:
            try:
                health = _get(f"http://127.0.0.1:{port}/api/v2/monitor/health")
                if all(v.get("status") == "healthy" for v in health.values()):
                    break
            except OSError:
                pass
            time.sleep(3)
        else:
            pytest.fail(
                f"Airflow did not come up: {health}\n{(tmp_path / 'airflow.log').read_text()[-3000:]}"
            )
        assert _get(f"http://127.0.0.1:{port}/api/v2/dags/poverty_nightly")["is_paused"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
    deadline = time.time() + 30
    while processes_of(home) and time.time() < deadline:
        time.sleep(1)
    assert processes_of(home) == [], "every Airflow component stopped"
