"""Helpers shared by the tests that compare warehouses or drive a real Airflow."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Tables whose content is a function of the accepted deliveries (ARCHITECTURE.md,
# invariant 1). audit.runs and audit.files carry run ids and times: attempts, not data.
DETERMINISTIC_SCHEMAS = ("core", "marts", "ref")
DETERMINISTIC_AUDIT = ("audit.quarantine", "audit.reconciliation")


def tables_and_core_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, name) of every table of a warehouse and of its core views (core.villages,
    core.households; the views of marts read the record of attempts), sorted."""
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL"
        " SELECT schema_name, view_name FROM duckdb_views() WHERE schema_name = 'core'"
        " ORDER BY 1, 2"
    ).fetchall()


def read_with_duckdb_1x(snapshot: Path, sql: str) -> str:
    """``sql`` run by the DuckDB 1.x CLI (the client the snapshot is written for) on
    ``snapshot`` opened read-only: its CSV output, without header, stripped. Fails the test
    when the CLI is not 1.x or the query fails."""
    cli = Path(sys.executable).with_name("duckdb")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v1."), version.stdout
    out = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(snapshot), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def table_contents(db: Path) -> dict[str, list[tuple]]:
    """Every deterministic table of a warehouse and its core views, rows sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            f"{s}.{t}"
            for s, t in tables_and_core_views(con)
            if s in DETERMINISTIC_SCHEMAS or f"{s}.{t}" in DETERMINISTIC_AUDIT
        ]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def wait_for(what: str, check, logs, timeout: float, tail: int = 6000):
    """Poll ``check`` every 2 s until it returns something true, and return that; an
    ``OSError`` (a server still starting) counts as not yet. On timeout the test fails
    with the last result and the end of ``logs()``."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what} (last: {str(last)[:2000]})\n{logs()[-tail:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def processes_of(airflow_home: Path) -> list[int]:
    """Pids whose environment names this AIRFLOW_HOME (Airflow's workers included)."""
    marker = f"AIRFLOW_HOME={airflow_home}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


class AirflowStack:
    """Scheduler, DAG processor and API server on SQLite in a temporary AIRFLOW_HOME,
    as ops would run them. Every process is stopped (its whole process group) on exit."""

    def __init__(self, home: Path, data_root: Path) -> None:
        self.home = home
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "POVDB_HOME": str(data_root),
        }
        self.airflow = str(Path(sys.executable).with_name("airflow"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [self.airflow, "db", "migrate"], env=self.env, check=True, capture_output=True
        )
        for component in (
            ["api-server", "--port", str(self.port)],
            ["scheduler"],
            ["dag-processor"],
        ):
            log = open(self.home / f"{component[0]}.log", "w")
            self.procs.append(
                subprocess.Popen(
                    [self.airflow, *component],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.time() + 30
        for p in self.procs:
            try:
                p.wait(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        # Executor workers may sit in process groups of their own: stop whatever is left
        # that runs on this AIRFLOW_HOME.
        deadline = time.time() + 15
        while (left := processes_of(self.home)) and time.time() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM if time.time() < deadline - 5 else signal.SIGKILL)
            time.sleep(1)

    def logs(self) -> str:
        return "\n".join(
            f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-40:])
            for f in sorted(self.home.glob("*.log"))
        )


class SmtpSink:
    """A minimal SMTP server on localhost that keeps the messages it receives."""

    def __init__(self) -> None:
        import threading

        self.messages: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(5)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        """An Airflow SMTP connection to this server (plain text: no SSL, no STARTTLS, no
        retry), for an ``AIRFLOW_CONN_<ID>`` variable."""
        return f"smtp://127.0.0.1:{self.port}?disable_ssl=true&disable_tls=true&retry_limit=0"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.write(b"220 sink\r\n")
                f.flush()
                data: list[str] | None = None
                for raw in f:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if data is not None:
                        if line == ".":
                            self.messages.append("\n".join(data))
                            data = None
                            f.write(b"250 ok\r\n")
                        else:
                            data.append(line)
                        f.flush()
                        continue
                    verb = line[:4].upper()
                    if verb == "DATA":
                        data = []
                        f.write(b"354 go\r\n")
                    elif verb == "QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"250 ok\r\n")
                    f.flush()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)
