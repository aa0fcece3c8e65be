"""`make airflow`: Airflow comes up on the embedded default with the DAG unpaused, `povdb run`
hands its run to that scheduler through the REST API, and a stop signal takes every
process down. Airflow starts once for the module; the stop test comes last."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from support import ROOT, free_port, processes_of

from povdb.airflow_local import descendants

pytestmark = pytest.mark.airflow
POVDB = str(Path(sys.executable).with_name("povdb"))


@dataclass
class Launcher:
    proc: subprocess.Popen
    home: Path
    url: str
    env: dict[str, str]
    log: Path
    data_root: Path  # landing_tiny, as POVDB_HOME

    def api(self, path: str) -> dict:
        """GET on the API, logged in as make airflow's admin (its generated password)."""
        passwords = json.loads(
            (self.home / "simple_auth_manager_passwords.json.generated").read_text()
        )
        login = urllib.request.Request(
            f"{self.url}/auth/token",
            data=json.dumps({"username": "admin", "password": passwords["admin"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=10) as resp:
            token = json.loads(resp.read())["access_token"]
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def povdb_run(self, day: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POVDB, "run", "--date", day],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """`make airflow` (its launcher, with Airflow's default auth) on a free port."""
    tmp = tmp_path_factory.mktemp("make_airflow")
    home, port, data_root = tmp / "airflow", free_port(), tmp / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", data_root / "landing")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "POVDB_HOME": str(data_root),
    }
    log = tmp / "airflow.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "povdb.airflow_local"],
        env=env,
        cwd=ROOT,
        stdout=open(log, "w"),  # noqa: SIM115 - the child keeps it
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    running = Launcher(proc, home, url, env, log, data_root)
    try:
        deadline, health = time.time() + 240, {}
        while time.time() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=10) as resp:
                    health = json.loads(resp.read())
                if all(v.get("status") == "healthy" for v in health.values()):
                    break
            time.sleep(3)
        else:
            pytest.fail(f"Airflow did not come up: {health}\n{log.read_text()[-3000:]}")
        yield running
    finally:
        if proc.poll() is None:  # the stop test did not run
            proc.send_signal(signal.SIGTERM)
            proc.wait(90)


def test_make_airflow_starts_unpaused(launcher: Launcher) -> None:
    assert launcher.api("/api/v2/dags/poverty_nightly")["is_paused"] is False


def _steps(stdout: str) -> list[str]:
    """The steps `povdb run` said were done, in its order."""
    return re.findall(r"^  \[ *\d+:\d\d\] (\S+(?: [a-z]+)?)  [\d.]+s\b", stdout, re.M)


def test_povdb_run_hands_the_run_to_the_running_scheduler(launcher: Launcher) -> None:
    root = launcher.data_root
    out = launcher.povdb_run("2015-03-01")
    assert out.returncode == 0, out.stdout + out.stderr + launcher.log.read_text()[-3000:]
    triggered = re.search(r"in the running Airflow \(\S+\): triggered it as run (\S+)", out.stdout)
    assert triggered, out.stdout
    run_id = triggered[1]
    assert not (root / "runs" / "airflow_2015-03-01.log").exists(), "no `airflow dags test`"
    run = launcher.api(f"/api/v2/dags/poverty_nightly/dagRuns/{run_id}")
    assert run["state"] == "success"
    assert run["conf"] == {"data_root": str(root)}
    # One line per step as it finishes, in the order the DAG runs them.
    steps = _steps(out.stdout)
    assert steps[:2] == ["acquire_lock", "discover"], out.stdout
    assert steps[-4:] == ["load", "publish", "report", "release_lock"], out.stdout
    assert {s for s in steps if s.startswith("ingest ")} == {
        f"ingest {e}" for e in ("villages", "households", "members", "assistance", "targets")
    }
    assert re.search(r"\] load  [\d.]+s  15 rows received, 15 applied, 0 held$", out.stdout, re.M)

    # Again: Airflow has that date's run, so it is cleared and runs again (the steps of the
    # first attempt are not repeated as progress).
    again = launcher.povdb_run("2015-03-01")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f": cleared its run {run_id}\n" in again.stdout
    assert sorted(_steps(again.stdout)) == sorted(steps), again.stdout
    # (The scheduler may also have run the latest closed delivery day, unpaused as it is.)
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    runs = con.execute(
        "SELECT count(*) FROM audit.runs WHERE run_id = ?", [f"poverty_nightly/{run_id}"]
    ).fetchone()
    con.close()
    assert runs == (2,), "the scheduler ran it, twice"


def test_sigterm_after_a_dag_run_stops_every_process(launcher: Launcher) -> None:
    """The scheduler has run a whole DAG run; SIGTERM (what a supervisor or `timeout`
    sends) leaves no process of it behind, zombies included, when the launcher returns."""
    out = launcher.povdb_run("2015-03-02")
    assert out.returncode == 0, out.stdout + out.stderr
    started = set(descendants(launcher.proc.pid)) | set(processes_of(launcher.home))
    assert len(started) >= 4, "scheduler, DAG processor, triggerer and API server at least"
    launcher.proc.send_signal(signal.SIGTERM)
    assert launcher.proc.wait(90) == 0
    left = [pid for pid in started if Path(f"/proc/{pid}").exists()]
    states = {pid: Path(f"/proc/{pid}/stat").read_text(errors="replace") for pid in left}
    assert left == [], f"left running or unreaped: {states}\n{launcher.log.read_text()[-3000:]}"
    assert processes_of(launcher.home) == []
