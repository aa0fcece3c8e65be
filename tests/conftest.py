"""Test-wide setup: Airflow and the data root point at temporary folders, never at ./data
or ~/airflow. Set at import time, before any test module imports Airflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="povdb-test-airflow-"))

os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Shanghai"
os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ["POVDB_PSEUDONYM_SECRET"] = "test-secret-not-for-production"
os.environ.pop("POVDB_HOME", None)
# The path a run takes is each test's choice, never the caller's environment.
for _name in ("POVDB_FULL_REBUILD", "POVDB_INCREMENTAL_MAX_SHARE", "POVDB_BUCKET_HOUSEHOLDS"):
    os.environ.pop(_name, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite) for the tests that run the DAG."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    monkeypatch.setenv("POVDB_HOME", str(root))
    return root


@pytest.fixture
def tiny_landing(data_root: Path) -> Path:
    """The hand-built three-day registry of tests/fixtures/landing_tiny, as a landing folder."""
    landing = data_root / "landing"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", landing)
    return landing


@pytest.fixture
def split_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch count of every split of staging by batch the transform runs
    (``transforms.build._split_by_batch``, counted, then run as it is)."""
    import transforms.build

    counts: list[int] = []
    split = transforms.build._split_by_batch

    def counted(*args):  # type: ignore[no-untyped-def]
        counts.append(len(args[2]))
        return split(*args)

    monkeypatch.setattr(transforms.build, "_split_by_batch", counted)
    return counts
