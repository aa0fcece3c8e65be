"""The run context: which data root, delivery date and run a step works for, and where
the run's working files go. Steps pass small JSON documents to each other through
``runs/D/*.json`` (what also goes through XCom), never data frames.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import DAG_ID, Paths, paths


@dataclass(frozen=True)
class RunContext:
    paths: Paths
    delivery_date: dt.date
    run_id: str
    # The run takes the full path whatever its prior state (DAG param ``full_rebuild``).
    full_rebuild: bool = False

    @property
    def d(self) -> str:
        return self.delivery_date.isoformat()

    @property
    def run_dir(self) -> Path:
        return self.paths.run_dir(self.d)

    @classmethod
    def from_airflow(cls, context: Mapping[str, Any]) -> RunContext:
        from pipeline.timetable import delivery_date_of  # imports Airflow: only in a task

        params = context.get("params") or {}
        start = context.get("data_interval_start") or context["logical_date"]
        dag_run = context["dag_run"]
        return cls(
            paths=paths(params.get("data_root")),
            delivery_date=delivery_date_of(start),
            run_id=f"{DAG_ID}/{dag_run.run_id}",
            full_rebuild=bool(params.get("full_rebuild")),
        )

    @classmethod
    def local(
        cls, delivery_date: dt.date, home: Path | None = None, run_id: str | None = None
    ) -> RunContext:
        """A context outside Airflow (tests, benchmarks)."""
        return cls(paths(home), delivery_date, run_id or f"local/{delivery_date.isoformat()}")

    def write(self, name: str, doc: Any) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.run_dir / f".{name}.tmp"
        tmp.write_text(json.dumps(doc, indent=1, default=str, ensure_ascii=False))
        tmp.replace(self.run_dir / name)

    def read(self, name: str) -> Any:
        path = self.run_dir / name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run the earlier steps of {self.d} first")
        return json.loads(path.read_text())

    def partition(self, layer: str, entity: str) -> Path:
        folder = f"stg_{entity}" if layer == "stg" else f"{layer}/{entity}"
        return self.paths.staging / folder / f"delivery_date={self.d}"


class ResourceFault(RuntimeError):
    """The file system refused the pipeline a write or a read: disk full, permission
    denied, read-only. Not the data's fault and not transient: an operator must act."""


class StagingNotLoaded(RuntimeError):
    """Staging of another delivery date was rewritten by a run whose load never committed."""
