"""Wiring of the nightly registry pipeline. All logic lives in ``pipeline.steps``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task
from airflow.sdk.bases.sensor import PokeReturnValue

from contract.landing import ENTITIES
from pipeline.timetable import DeliveryDayTimetable

DOC_MD = """
### poverty_nightly

Owner: **registry-data** (data engineering). One run = one delivery date D
(Asia/Shanghai): it reads `landing/D` under the data root (`POVDB_HOME`, or the run's
`data_root` param), validates it with Great Expectations, transforms it with Polars,
loads the DuckDB warehouse in one transaction and publishes the PII-free
`analytics.duckdb` snapshot and the HTML report.

* **Schedule**: for delivery day D, at 02:00 Asia/Shanghai on D+1 (18:00 UTC on D).
* **Green** means every delivered file was accounted for (applied, stale, duplicate,
  parked or held with a reason) and the warehouse and snapshot are up to date. Held files
  and rows do not fail the run: they are in `audit.quarantine` and the run summary.
* **Red** means nothing was changed: the load is one transaction and the snapshot is
  swapped atomically. Read the failed task's log, fix, clear the task.
* **Backfill**: `airflow backfill create --dag-id poverty_nightly --from-date D1
  --to-date D2 --reprocess-behavior completed` processes exactly D1..D2 (see
  `docs/runbook.md`). Runs of one data root never overlap: each holds the data-root lock.
"""


# The steps import Polars, DuckDB and the rest of the pipeline: imported when a task runs,
# never when the scheduler parses this file.
def _on_failure(context: dict) -> None:
    from pipeline.notify import task_failed

    task_failed(context)


default_args = {
    "owner": "registry-data",
    "on_failure_callback": _on_failure,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
}


def _run(step: str, context: dict, *args: object):
    from pipeline.steps import run_task

    return run_task(step, context, *args)


@dag(
    dag_id="poverty_nightly",
    schedule=DeliveryDayTimetable(),
    start_date=dt.datetime(2015, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["registry", "nightly", "duckdb"],
    doc_md=DOC_MD,
    params={
        "data_root": Param(
            None,
            type=["null", "string"],
            description="Data root to process; empty means POVDB_HOME (default ./data).",
        ),
    },
)
def poverty_nightly() -> None:
    @task.sensor(poke_interval=10, timeout=6 * 3600, mode="reschedule", retries=0)
    def acquire_lock(**context) -> PokeReturnValue:
        return PokeReturnValue(is_done=_run("acquire_lock", context))

    @task
    def discover(**context) -> dict:
        return _run("discover", context)

    @task(max_active_tis_per_dagrun=2)
    def ingest(entity: str, **context) -> dict:
        return _run("ingest", context, entity)

    @task(max_active_tis_per_dagrun=2)
    def validate(entity: str, **context) -> dict:
        return _run("validate", context, entity)

    @task
    def transform(**context) -> dict:
        return _run("transform", context)

    @task
    def load(**context) -> dict:
        return _run("load", context)

    @task
    def publish(**context) -> dict:
        return _run("publish", context)

    @task
    def report(**context) -> dict:
        return _run("report", context)

    @task(retries=0)
    def release_lock(**context) -> None:
        _run("release_lock", context)

    lock = acquire_lock()
    found = discover()
    ingested = ingest.expand(entity=list(ENTITIES))
    validated = validate.expand(entity=list(ENTITIES))
    done = report()
    lock >> found >> ingested >> validated >> transform() >> load() >> publish() >> done
    # A teardown: it runs whatever happened upstream, and its own success does not turn a
    # failed run green.
    done >> release_lock().as_teardown(setups=lock)


poverty_nightly()
