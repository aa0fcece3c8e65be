"""The one place that reads configuration, at run time.

Defaults serve the embedded demo: the data root is ``./data`` and Airflow lives in
``./.airflow`` with SQLite metadata. Nothing here runs at import time. Every setting is
listed in docs/runbook.md ("Settings"):

- ``POVDB_HOME``: the data root (default ``./data``);
- ``POVDB_PSEUDONYM_SECRET`` or the Airflow Variable ``povdb_pseudonym_secret``: the
  pseudonymisation secret (else a generated file under the data root);
- ``POVDB_SMTP_CONN_ID`` (the Airflow SMTP connection, default ``povdb_smtp``) and
  ``POVDB_ALERT_EMAIL`` (comma-separated recipients): alert emails;
- ``POVDB_PUBLISH_BY``: the hour (Asia/Shanghai, on D+1) by which date D is published;
- ``POVDB_LOAD_MEMORY``, ``POVDB_PUBLISH_MEMORY``, ``POVDB_TRANSFORM_MEMORY``: DuckDB memory
  limits of the load, the publish and the transform's DuckDB work;
- ``POVDB_BUCKET_HOUSEHOLDS``: households per transform bucket;
- ``POVDB_CRASH_AT``, ``POVDB_STOP_AT``: fault injection (``settings.faults``);
- ``POVDB_HOSTNAME``: the name this node goes by in the data-root lock and in Airflow's
  task instances (default: the host name);
- ``POVDB_LOCK_STALE_AFTER``: seconds without a heartbeat after which a lease is taken over;
- ``POVDB_CLUSTER_DIR``, ``POVDB_CLUSTER_WORKERS``, ``POVDB_CLUSTER_PG_PORT``,
  ``POVDB_CLUSTER_REDIS_PORT``, ``POVDB_PG_BINDIR``: the local cluster (``povdb cluster``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "poverty_nightly"


@dataclass(frozen=True)
class Paths:
    """Everything the pipeline keeps lives under one data root (``POVDB_HOME``)."""

    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def unloaded(self) -> Path:
        """Markers of delivery dates whose staging a run rewrote and whose load has not
        committed yet (one file per date, kept by ``pipeline.steps``)."""
        return self.staging / "_unloaded"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "poverty.duckdb"

    @property
    def analytics(self) -> Path:
        return self.warehouse_dir / "analytics.duckdb"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def runs(self) -> Path:
        """Per-run working files (step summaries passed between tasks)."""
        return self.home / "runs"

    @property
    def lock(self) -> Path:
        return self.home / ".povdb.lock"

    @property
    def secret(self) -> Path:
        return self.home / ".pseudonym_secret"

    def run_dir(self, delivery_date: str) -> Path:
        return self.runs / delivery_date

    def ensure(self) -> Paths:
        for d in (self.landing, self.staging, self.warehouse_dir, self.reports, self.runs):
            d.mkdir(parents=True, exist_ok=True)
        # Staging and run files hold clear IDs and names: not world-readable.
        for d in (self.staging, self.runs):
            d.chmod(0o700)
        return self


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The data root: an explicit value, else ``POVDB_HOME``, else ``./data``."""
    raw = override or os.environ.get("POVDB_HOME") or "data"
    return Path(raw).expanduser().resolve()


def paths(override: str | os.PathLike[str] | None = None) -> Paths:
    return Paths(data_root(override))


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow").resolve()


def airflow_env(home: Path | None = None) -> dict[str, str]:
    """Environment for the embedded Airflow: SQLite metadata, LocalExecutor, our DAG folder.

    Values already set in the environment win, so a real deployment configures Airflow
    its own way and only inherits what it does not set.
    """
    ah = home or airflow_home()
    defaults = {
        "AIRFLOW_HOME": str(ah),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{ah / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
    }
    env = {k: os.environ.get(k, v) for k, v in defaults.items()}
    return env


def airflow_api_url() -> str:
    """The embedded Airflow's API server (Airflow's own ``[api]`` host and port), where
    ``povdb run`` looks for a running scheduler."""
    host = os.environ.get("AIRFLOW__API__HOST", "127.0.0.1")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{os.environ.get('AIRFLOW__API__PORT', '8080')}"


# --- the cluster topology (povdb cluster) ----------------------------------------------


def hostname() -> str:
    """The name this node goes by: in the data-root lease (``host``) and, on the cluster's
    workers, in Airflow's task instances (``[core] hostname_callable``). ``POVDB_HOSTNAME``,
    else the host name. Two processes with different names never assume they share a
    kernel (see pipeline/lock.py)."""
    return os.environ.get("POVDB_HOSTNAME") or socket.gethostname()


def lock_stale_after() -> int:
    """Seconds without a heartbeat after which the data-root lease of a run is taken over
    (``POVDB_LOCK_STALE_AFTER``, default 1800; why: pipeline/lock.py)."""
    return _whole("POVDB_LOCK_STALE_AFTER", 1800, 1)


def cluster_dir() -> Path:
    """Where ``povdb cluster`` keeps its servers' data, logs and pids (``POVDB_CLUSTER_DIR``,
    default ``<AIRFLOW_HOME>/cluster``)."""
    raw = os.environ.get("POVDB_CLUSTER_DIR")
    return Path(raw).expanduser().resolve() if raw else airflow_home() / "cluster"


def _whole(name: str, default: int, least: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


def _yes_no(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise ValueError(f"{name} must be 1, true, yes, 0, false or no, not {raw!r}")


def cluster_workers() -> int:
    """Celery workers ``povdb cluster up`` starts (``POVDB_CLUSTER_WORKERS``, default 2),
    each running one task at a time."""
    return _whole("POVDB_CLUSTER_WORKERS", 2, 1)


def cluster_port(server: str) -> int:
    """The port of the cluster's ``postgres`` or ``redis`` (``POVDB_CLUSTER_PG_PORT``,
    ``POVDB_CLUSTER_REDIS_PORT``); 0 (the default): a free one, chosen at ``up``."""
    name = {"postgres": "POVDB_CLUSTER_PG_PORT", "redis": "POVDB_CLUSTER_REDIS_PORT"}[server]
    return _whole(name, 0, 0)


def api_port() -> int:
    """Airflow's API server port (``AIRFLOW__API__PORT``, default 8080)."""
    return _whole("AIRFLOW__API__PORT", 8080, 1)


def postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's ``initdb`` and ``pg_ctl`` (``POVDB_PG_BINDIR``, else
    ``initdb`` on the PATH, else the newest of Debian's ``/usr/lib/postgresql/*/bin``);
    None when there is none."""
    if raw := os.environ.get("POVDB_PG_BINDIR"):
        return Path(raw)
    import shutil

    if found := shutil.which("initdb"):
        return Path(found).resolve().parent
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return debian[-1].parent if debian else None


CLUSTER_SPLIT_MB = 1024  # POVDB_SPLIT_MB on the cluster, unless set


def cluster_airflow_env(
    *, db_url: str, broker_url: str, api_port: int, jwt_secret: str, fernet_key: str
) -> dict[str, str]:
    """Airflow's configuration on the cluster: PostgreSQL metadata, the CeleryExecutor on
    Redis, the API server on localhost. It overrides what the environment says about these
    (the cluster owns them); everything else is as on the embedded default."""
    env = airflow_env()
    env.update(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "settings.hostname",
            "AIRFLOW__CORE__FERNET_KEY": fernet_key,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            # Every component signs and checks the tokens tasks use with the same secret.
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
            "AIRFLOW__API__SECRET_KEY": jwt_secret,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
                "AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"
            ),
            # Ingest and validation of an entity's large delivery spread over the workers,
            # one task per province.
            "POVDB_SPLIT_MB": os.environ.get("POVDB_SPLIT_MB") or str(CLUSTER_SPLIT_MB),
        }
    )
    return env


# --- the pseudonymisation secret ---------------------------------------------------------

SECRET_ENV_VAR = "POVDB_PSEUDONYM_SECRET"
SECRET_AIRFLOW_VARIABLE = "povdb_pseudonym_secret"


class SecretUnavailable(RuntimeError):
    """The pseudonymisation secret is configured but could not be read."""


def _secret_from_airflow() -> str | None:
    """The Airflow Variable ``povdb_pseudonym_secret``, asked only inside an Airflow task.

    None outside a task (``povdb``, tests, benchmarks: no Airflow to ask), or when the
    Variable is not set. Any other failure raises :class:`SecretUnavailable`: a run that
    fell back to the file would key its new persons with another secret.
    """
    # A task's process runs the Task SDK's task runner, which has set SUPERVISOR_COMMS
    # before the task starts. Any other process has not loaded the runner, and importing
    # Airflow only to learn so costs seconds: it is not imported here. Outside a task the
    # Variables are out of reach anyway (Variable.get reads only AIRFLOW_VAR_* and external
    # secrets backends, and says "not found" when one fails): the Variable counts as absent.
    task_runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None:
        return None
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult

    try:
        return Variable.get(SECRET_AIRFLOW_VARIABLE) or None
    except AirflowRuntimeError as exc:
        if exc.error.error != ErrorType.VARIABLE_NOT_FOUND:
            raise _unavailable(exc) from exc
    except Exception as exc:
        raise _unavailable(exc) from exc
    # Variable.get also says "not found" when the lookup failed (API server down or failing,
    # a value it cannot decrypt): its secrets backend falls through on any error. The API
    # server's own answer tells a Variable that is not set from a lookup that failed.
    try:
        reply = comms.send(GetVariable(key=SECRET_AIRFLOW_VARIABLE))
    except Exception as exc:
        raise _unavailable(exc) from exc
    if isinstance(reply, ErrorResponse) and reply.error == ErrorType.VARIABLE_NOT_FOUND:
        return None
    if isinstance(reply, VariableResult):
        return reply.value or None
    raise _unavailable(reply)


def _unavailable(cause: object) -> SecretUnavailable:
    return SecretUnavailable(
        f"could not read the Airflow Variable {SECRET_AIRFLOW_VARIABLE} ({cause}): the step"
        " stops rather than key persons with another secret. Check the Airflow API server"
        ' and the Variable, then clear the task (docs/runbook.md, "The pseudonymisation'
        ' secret").'
    )


def configured_secret(secret_file: Path) -> tuple[bytes, str] | None:
    """The secret and where it comes from: ``POVDB_PSEUDONYM_SECRET``, else the Airflow
    Variable ``povdb_pseudonym_secret``, else ``secret_file``; None when none is there."""
    if value := os.environ.get(SECRET_ENV_VAR):
        return value.encode(), SECRET_ENV_VAR
    if value := _secret_from_airflow():
        return value.encode(), f"the Airflow Variable {SECRET_AIRFLOW_VARIABLE}"
    if secret_file.exists():
        return secret_file.read_text().strip().encode(), str(secret_file)
    return None


def pseudonym_secret(secret_file: Path) -> bytes:
    """The secret persons are keyed with (:func:`configured_secret`); when none is
    configured, ``secret_file`` is generated (mode 0600) with a warning. Losing it changes
    every key: back it up (docs/runbook.md)."""
    if found := configured_secret(secret_file):
        return found[0]
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    log.warning(
        "no pseudonymisation secret configured: generated %s (mode 0600). Back it up: "
        "losing it changes every person key (see docs/runbook.md).",
        secret_file,
    )
    return secret_file.read_text().strip().encode()


# --- alerts ----------------------------------------------------------------------------


SMTP_CONN_ID_DEFAULT = "povdb_smtp"


def smtp_conn_id() -> str:
    """The Airflow connection alerts are sent through (``POVDB_SMTP_CONN_ID``)."""
    return os.environ.get("POVDB_SMTP_CONN_ID") or SMTP_CONN_ID_DEFAULT


def alert_recipients() -> tuple[str, ...]:
    """Who gets the alert emails (``POVDB_ALERT_EMAIL``, comma-separated); empty: nobody."""
    raw = os.environ.get("POVDB_ALERT_EMAIL", "")
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def publish_by() -> dt.time:
    """The time of day on D+1 (Asia/Shanghai) by which delivery date D must be published:
    ``POVDB_PUBLISH_BY`` (``HH:MM``, default ``08:00``, six hours after the 02:00 start)."""
    raw = os.environ.get("POVDB_PUBLISH_BY") or "08:00"
    try:
        at = dt.time.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"POVDB_PUBLISH_BY must be a time of day as HH:MM (e.g. 08:00), not {raw!r}"
        ) from None
    return at


# --- resources -------------------------------------------------------------------------


def load_memory() -> str:
    """DuckDB memory limit of the load (and of other read-write warehouse connections)."""
    return os.environ.get("POVDB_LOAD_MEMORY", "8GB")


def publish_memory() -> str:
    """DuckDB memory limit of the publish."""
    return os.environ.get("POVDB_PUBLISH_MEMORY", "8GB")


def publish_full_every() -> int:
    """Delta publishes a snapshot takes before the next publish is full again
    (``POVDB_PUBLISH_FULL_EVERY``, default 7; 0: every publish is full). A full publish
    writes the snapshot afresh, which compacts it: a delta publish reuses the blocks its
    deletes free but never shrinks the file."""
    return _whole("POVDB_PUBLISH_FULL_EVERY", 7, 0)


def ingest_memory() -> str:
    """DuckDB memory limit of the ingest's scan of CSV files."""
    return os.environ.get("POVDB_INGEST_MEMORY", "2GB")


def ingest_scan() -> bool:
    """Whether UTF-8 CSV files go through the batched DuckDB scan (``POVDB_INGEST_SCAN``,
    default yes); ``0``, ``false`` or ``no`` read every file with the per-file reader, which
    stages the same rows more slowly."""
    return _yes_no("POVDB_INGEST_SCAN", True)


def ingest_batch_mb() -> int:
    """MB of CSV files the ingest reads in one DuckDB scan (``POVDB_INGEST_BATCH_MB``,
    default 256). Memory does not follow it (rows are typed and written in slices of a
    million); a file the scan cannot vouch for costs its batch a rewrite of what it wrote."""
    return _whole("POVDB_INGEST_BATCH_MB", 256, 1)


def split_bytes() -> int | None:
    """Bytes of one entity's pending files in a delivery above which its ingest and
    validation run per province, as tasks any worker can take (``POVDB_SPLIT_MB``, MB,
    decimals allowed; 0 splits every entity delivered by several provinces). Unset: never,
    the embedded default, where one machine gains nothing from more tasks; ``povdb
    cluster`` sets 1024 unless it is set."""
    raw = os.environ.get("POVDB_SPLIT_MB", "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"POVDB_SPLIT_MB must be a number of MB, not {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"POVDB_SPLIT_MB must be a number of MB of at least 0, not {raw!r}")
    return int(value * (1 << 20))


def parallel_parts() -> int:
    """Ingest tasks, and validate tasks, of one run that run at once (``POVDB_PARALLEL_PARTS``,
    default 2; read when the DAG is parsed). Each takes up to about 2 GB; on a cluster,
    as many as there are workers for the data root."""
    return _whole("POVDB_PARALLEL_PARTS", 2, 1)


def transform_memory() -> str:
    """DuckDB memory limit of the transform's DuckDB work (person buckets)."""
    return os.environ.get("POVDB_TRANSFORM_MEMORY", "2GB")


def bucket_households() -> int:
    """Households per transform bucket (``POVDB_BUCKET_HOUSEHOLDS``, default 1,000,000):
    about 1 GB of Polars frames per million households with their members."""
    raw = os.environ.get("POVDB_BUCKET_HOUSEHOLDS", "1000000")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"POVDB_BUCKET_HOUSEHOLDS must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"POVDB_BUCKET_HOUSEHOLDS must be at least 1, not {value}")
    return value


def full_rebuild() -> bool:
    """Whether every run takes the full path (``POVDB_FULL_REBUILD``: 1, true or yes;
    ``povdb run --full`` sets it for its run)."""
    return _yes_no("POVDB_FULL_REBUILD", False)


def incremental_max_share() -> float:
    """The largest share of the registry's households an incremental run may replace
    (``POVDB_INCREMENTAL_MAX_SHARE``, default 0.10); above it the run takes the full path,
    which then costs about as much."""
    raw = os.environ.get("POVDB_INCREMENTAL_MAX_SHARE", "0.10")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"POVDB_INCREMENTAL_MAX_SHARE must be a number, not {raw!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"POVDB_INCREMENTAL_MAX_SHARE must be between 0 and 1, not {value}")
    return value


# --- fault injection -------------------------------------------------------------------


def crash_at() -> str | None:
    """The fault-injection point where the process kills itself (``POVDB_CRASH_AT``)."""
    return os.environ.get("POVDB_CRASH_AT") or None


def stop_at() -> str | None:
    """The fault-injection point where the process stops itself (``POVDB_STOP_AT``)."""
    return os.environ.get("POVDB_STOP_AT") or None
