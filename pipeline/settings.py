"""The one place that reads configuration, at run time.

Defaults serve the embedded demo: the data root is ``./data`` and Airflow lives in
``./.airflow`` with SQLite metadata. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
