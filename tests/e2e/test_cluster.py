"""The cluster topology on real servers: `povdb cluster up` (PostgreSQL, Redis, Airflow's
servers, two Celery workers), a 3-date backfill of the demo deliveries through the REST API,
then `povdb cluster down`.

Before the backfill, `povdb cluster import-metadata` carries an embedded Airflow home's
Variables (the pseudonymisation secret among them), its SMTP connection and a pool over, as
docs/runbook.md has an operator do. Every run succeeds; the task instances are in PostgreSQL,
were sent through Celery and ran on both workers (one task at a time each), day one's large
entities one task per province; the pseudonymisation secret comes from the Airflow Variable
copied over; the warehouse equals, table by table, the one the embedded path builds from
the same deliveries; and nothing of the cluster runs after `down`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port, processes_of, wait_for

import settings
from generator import generate
from pipeline.context import RunContext
from pipeline.steps import run_all
from povdb import cluster
from warehouse.digest import differences, digests

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(480)]

START, DAYS, SEED = dt.date(2015, 3, 1), 3, 42
SECRET = os.environ["POVDB_PSEUDONYM_SECRET"]
POVDB = str(Path(sys.executable).with_name("povdb"))
SMTP_PASSWORD = "not-a-real-password:/@%"  # characters a connection URI must escape

# An embedded Airflow home as `povdb airflow` leaves it: `airflow db migrate` (SQLite, and an
# airflow.cfg with its own Fernet key), then a Variable of each form, the SMTP connection
# alerts go through, a pool, and default_pool resized (the cluster keeps its own), written
# by Airflow's models as its UI and CLI write them.
EMBEDDED_SETUP = """
import subprocess, sys
from pathlib import Path

secret, password = sys.argv[1:3]
airflow = Path(sys.executable).with_name("airflow")
subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
from airflow.models import Connection, Pool, Variable
from airflow.utils.session import create_session

Variable.set("povdb_pseudonym_secret", secret)
Variable.set("povdb_report_title", "Registry nightly", description="shown on the report")
with create_session() as session:
    session.add(Connection(conn_id="povdb_smtp", conn_type="smtp", host="smtp.example.org",
                           port=587, login="povdb-alerts", password=password))
Pool.create_or_update_pool("povdb_io", slots=3, description="DuckDB writers",
                           include_deferred=False)
Pool.create_or_update_pool("default_pool", slots=64, description="Default pool",
                           include_deferred=False)
"""


def _servers_installed() -> None:
    missing = []
    if settings.postgres_bindir() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if missing:
        message = f"the cluster test needs Debian's {' and '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class Cluster:
    def __init__(self, root: Path, data_root: Path) -> None:
        self.root = root
        self.airflow_home = root / "airflow"
        self.dir = self.airflow_home / "cluster"
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        # The secret comes from the Airflow Variable the test sets, as in a deployment.
        env.pop("POVDB_PSEUDONYM_SECRET", None)
        env.pop("POVDB_CLUSTER_DIR", None)
        env.update(
            {
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__API__PORT": str(self.port),
                "POVDB_HOME": str(data_root),
                # Day one's households and members (over 100 KB each) run per province.
                "POVDB_SPLIT_MB": "0.1",
                # Only the backfill's runs: no scheduled run of the latest closed day.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            }
        )
        self.env = env
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""

    def povdb(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [POVDB, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def embedded_home(self, home: Path) -> subprocess.Popen:
        """Start making an embedded Airflow home in ``home`` (EMBEDDED_SETUP), in the
        background."""
        env = {
            **self.env,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        return subprocess.Popen(
            [sys.executable, "-c", EMBEDDED_SETUP, SECRET, SMTP_PASSWORD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def login(self) -> None:
        file = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        user, password = next(iter(json.loads(file.read_text()).items()))
        self.token = self.api("POST", "/auth/token", {"username": user, "password": password})[
            "access_token"
        ]

    def logs(self) -> str:
        return "\n".join(
            f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-40:])
            for f in sorted((self.dir / "logs").glob("*.log"))
        )

    def metadata(self, sql: str) -> list[tuple]:
        """Rows of a query on the cluster's PostgreSQL metadata database."""
        import psycopg2

        state = json.loads((self.dir / "cluster.json").read_text())
        password = json.loads((self.dir / "secrets.json").read_text())["postgres_password"]
        con = psycopg2.connect(
            host="127.0.0.1",
            port=state["postgres_port"],
            user="airflow",
            password=password,
            dbname="airflow",
        )
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            con.close()


@pytest.fixture
def deliveries(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    generate(landing, scale="demo", days=DAYS, start=START, seed=SEED)
    return landing


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    # PostgreSQL runs as `postgres` when the tests run as root: it must reach the folder.
    root = Path(tempfile.mkdtemp(prefix="povdb-cluster-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_backfill_on_the_cluster_equals_the_embedded_path(
    deliveries: Path, cluster_root: Path, tmp_path: Path
) -> None:
    _servers_installed()
    data = cluster_root / "data"
    shutil.copytree(deliveries, data / "landing")
    c = Cluster(cluster_root, data)
    # The embedded home the operator moves from, made while the cluster starts.
    embedded_home = cluster_root / "embedded-airflow"
    making = c.embedded_home(embedded_home)

    started = c.povdb("cluster", "up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        status = c.povdb("cluster", "status", timeout=60)
        assert status.returncode == 0, status.stdout
        c.login()
        waited = time.monotonic()
        made, _ = making.communicate(timeout=180)
        print(f"the embedded home, after the cluster was up: {time.monotonic() - waited:.1f} s")
        assert making.returncode == 0, made

        # The embedded metadata moves over; the secret goes with it, as the runbook says.
        # A Variable of the same name on the cluster takes the embedded value.
        c.api("POST", "/api/v2/variables", {"key": "povdb_report_title", "value": "cluster"})
        exports_before = set(Path(tempfile.gettempdir()).glob("povdb-metadata-*"))
        moving = time.monotonic()
        moved = c.povdb("cluster", "import-metadata", "--from", str(embedded_home))
        print(f"povdb cluster import-metadata: {time.monotonic() - moving:.1f} s")
        assert moved.returncode == 0, moved.stdout + moved.stderr
        assert "variables (2): povdb_pseudonym_secret, povdb_report_title" in moved.stdout
        assert "connections (1): povdb_smtp" in moved.stdout
        assert "pools (1): povdb_io" in moved.stdout, moved.stdout
        assert "now hold the embedded values: variable povdb_report_title\n" in moved.stdout
        assert c.api("GET", "/api/v2/variables/povdb_report_title")["value"] == "Registry nightly"
        said = moved.stdout + moved.stderr
        assert SECRET not in said and SMTP_PASSWORD not in said and "Registry" not in said
        assert set(Path(tempfile.gettempdir()).glob("povdb-metadata-*")) == exports_before
        assert c.metadata("SELECT key, description, is_encrypted FROM variable ORDER BY 1") == [
            ("povdb_pseudonym_secret", None, True),
            ("povdb_report_title", "shown on the report", True),
        ]
        assert c.metadata(
            "SELECT pool, slots, description, include_deferred FROM slot_pool ORDER BY 1"
        ) == [
            ("default_pool", 128, "Default pool", False),
            ("povdb_io", 3, "DuckDB writers", False),
        ]
        # The password, decrypted with the cluster's Fernet key by Airflow's CLI (the REST
        # API redacts it), read while the backfill runs.
        smtp = subprocess.Popen(
            [POVDB, "cluster", "airflow", "connections", "get", "povdb_smtp", "-o", "json"],
            env=c.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(
            "the DAG to be parsed",
            lambda: c.api("GET", "/api/v2/dags/poverty_nightly"),
            c.logs,
            180,
            tail=8000,
        )
        c.api("PATCH", "/api/v2/dags/poverty_nightly", {"is_paused": False})
        last = START + dt.timedelta(days=DAYS - 1)
        backfill = c.api(
            "POST",
            "/api/v2/backfills",
            {
                "dag_id": "poverty_nightly",
                "from_date": f"{START}T00:00:00+08:00",
                "to_date": f"{last}T00:00:00+08:00",
                # One run at a time: the runs queue for the data-root lock anyway, and a
                # waiting run's sensor would take a worker slot each time it pokes.
                "max_active_runs": 1,
                "reprocess_behavior": "completed",
            },
        )
        wait_for(
            "the backfill",
            lambda: c.api("GET", f"/api/v2/backfills/{backfill['id']}").get("completed_at"),
            c.logs,
            360,
            tail=8000,
        )
        smtp_out, smtp_err = smtp.communicate(timeout=120)
        assert smtp.returncode == 0, smtp_err
        (conn,) = json.loads(smtp_out)
        assert {k: conn[k] for k in ("conn_type", "host", "port", "login", "password")} == {
            "conn_type": "smtp",
            "host": "smtp.example.org",
            "port": "587",
            "login": "povdb-alerts",
            "password": SMTP_PASSWORD,
        }
        runs = c.api("GET", "/api/v2/dags/poverty_nightly/dagRuns?limit=100")["dag_runs"]
        assert (
            sorted(r["state"] for r in runs if r["run_type"] == "backfill") == ["success"] * DAYS
        ), c.logs()

        # The metadata is in PostgreSQL, and the embedded SQLite file was never made.
        (version,) = c.metadata("SELECT version()")[0]
        assert version.startswith("PostgreSQL"), version
        assert not (c.airflow_home / "airflow.db").exists()
        tis = c.metadata(
            "SELECT hostname, queue, state, external_executor_id FROM task_instance"
            " WHERE dag_id = 'poverty_nightly'"
        )
        assert tis and {state for _, _, state, _ in tis} == {"success"}, tis
        # Sent through Celery: every task instance carries its Celery task id, went to
        # Celery's default queue, and ran on a worker of the cluster; both took tasks.
        assert all(ext for *_, ext in tis), "a task instance without a Celery task id"
        assert {queue for _, queue, _, _ in tis} == {"default"}
        host = json.loads((c.dir / "cluster.json").read_text())["host"]
        assert {h for h, *_ in tis} == {f"worker1@{host}", f"worker2@{host}"}
        # Day one's households and members were ingested and validated per province (the
        # demo's counties are in provinces 43 and 52), the small entities whole.
        parts = set(
            c.metadata(
                "SELECT task_id, rendered_map_index FROM task_instance"
                " WHERE dag_id = 'poverty_nightly' AND task_id LIKE 'entity.%'"
            )
        )
        for step in ("entity.ingest", "entity.validate"):
            for part in ("households.43", "households.52", "members.43", "members.52"):
                assert (step, part) in parts, parts
            assert (step, "villages") in parts, parts
    finally:
        if making.poll() is None:
            making.kill()
        stopped = c.povdb("cluster", "down", timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert cluster.marked_processes(c.dir) == [], "a process of the cluster still runs"
    assert [p for p in processes_of(c.airflow_home) if cluster._alive(p)] == []
    final = c.povdb("cluster", "status", timeout=60)
    assert final.returncode == 1 and "running" not in final.stdout, final.stdout

    # The embedded path on the same deliveries, same secret (the test's environment).
    embedded = tmp_path / "embedded"
    shutil.copytree(deliveries, embedded / "landing")
    for i in range(DAYS):
        run_all(RunContext.local(START + dt.timedelta(days=i), embedded))
    # The workers keyed persons with the secret the embedded home's Variable carried over:
    # no secret file was generated.
    assert not (data / ".pseudonym_secret").exists()
    got = digests(data / "warehouse" / "poverty.duckdb")
    want = digests(embedded / "warehouse" / "poverty.duckdb")
    assert differences(got, want) == [], differences(got, want)


def test_ctrl_c_stops_a_cluster_in_the_foreground(cluster_root: Path) -> None:
    """`povdb cluster up --foreground` (what `make cluster` runs): Ctrl-C stops every server
    it started, and nothing of the cluster is left running."""
    _servers_installed()
    c = Cluster(cluster_root, cluster_root / "data")
    proc = subprocess.Popen(
        [POVDB, "cluster", "up", "--foreground"],
        env=c.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Ctrl-C stops it" in line:
                break
        else:
            pytest.fail("".join(seen) + c.logs())
        assert len(cluster.running(cluster.Layout(c.dir))) == 6 + 2, "every server runs"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            c.povdb("cluster", "down", timeout=120)
    assert proc.returncode == 0, "".join(seen) + out
    assert cluster.marked_processes(c.dir) == [], "a process of the cluster still runs"
    assert cluster.running(cluster.Layout(c.dir)) == {}
