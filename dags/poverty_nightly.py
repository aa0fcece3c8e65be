"""Wiring of the nightly registry pipeline. All logic lives in ``pipeline.steps``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from airflow.sdk import (
    Asset,
    AssetAlias,
    Param,
    PokeReturnValue,
    dag,
    get_current_context,
    task,
    task_group,
)

import settings
from pipeline import retry
from pipeline.timetable import DeliveryDayTimetable

RETRY_RULE = (
    f"**Retries**: {retry.RULE} A transient error is retried up to 2 times, after 2 to 4"
    " then 4 to 8 minutes."
)

DOC_MD = f"""
### poverty_nightly

Owner: **registry-data** (data engineering). One run = one delivery date D
(Asia/Shanghai): it reads `landing/D` under the data root (`POVDB_HOME`, or the run's
`data_root` param), validates it with Great Expectations, transforms it with Polars,
loads the DuckDB warehouse in one transaction and publishes the PII-free
`analytics.duckdb` snapshot and the HTML report.

* **Schedule**: for delivery day D, at 02:00 Asia/Shanghai on D+1 (18:00 UTC on D).
* **Deadline**: the DAG `poverty_deadline` checks at `POVDB_PUBLISH_BY` (default 08:00
  Asia/Shanghai on D+1) that D is published, else it sends the deadline alert.
* **Asset**: `publish` records an event of the asset alias `povdb_snapshot` on the
  snapshot file (`file://.../warehouse/analytics.duckdb`) with `as_of_date` and the
  delivery's row counts: schedule downstream DAGs on it.
* **Entities**: ingest and validation run per part of the delivery (the `entity` task
  group, mapped over the parts discover plans): an entity, or one province of an entity
  whose delivery is larger than `POVDB_SPLIT_MB` (`members.52`). A part's `validate`
  waits only for its own `ingest`; any worker can run any part.
* **Green** means every delivered file was accounted for (applied, stale, duplicate,
  parked or held with a reason) and the warehouse and snapshot are up to date. Held files
  and rows do not fail the run: they are in `audit.quarantine` and the run summary.
* **Red** means nothing was changed: the load is one transaction and the snapshot is
  swapped atomically. Read the failed task's log, fix, clear the task.
* {RETRY_RULE}
* **Backfill**: `airflow backfill create --dag-id poverty_nightly --from-date D1
  --to-date D2 --reprocess-behavior completed` processes exactly D1..D2 (see
  `docs/runbook.md`). Runs of one data root never overlap: each holds the data-root lock.
* **Reports**: the report and each date's validation page are linked from the Airflow
  UI (the `povdb` plugin).
"""

SNAPSHOT = AssetAlias("povdb_snapshot")
# Ingest or validate tasks of one run that may run at once (POVDB_PARALLEL_PARTS).
PARALLEL_PARTS = settings.parallel_parts()
# What the snapshot's asset events carry (from the publish step's summary).
SNAPSHOT_EXTRA = ("as_of_date", "tables", "rows_received", "rows_applied", "rows_held")


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
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "retry_policy": retry.transient_only(),
    "doc_md": RETRY_RULE,
}


def _run(step: str, context: dict, *args: object):
    from pipeline.steps import run_task

    return run_task(step, context, *args)


def _run_part(step: str, part: str, context: dict) -> dict:
    # Names the mapped task instance after its part in the UI (map_index_template).
    get_current_context()["part"] = part  # type: ignore[typeddict-unknown-key]
    return _run(step, context, part)


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
        "full_rebuild": Param(
            False,
            type="boolean",
            description="Rebuild every derived table from staging (the full path) instead of"
            " replacing what the delivery touches; see the runbook, 'Full and incremental runs'.",
        ),
    },
)
def poverty_nightly() -> None:
    @task.sensor(
        poke_interval=10,
        timeout=6 * 3600,
        mode="reschedule",
        retries=0,
        doc_md="Waits for the data-root lock without holding a worker slot (up to 6 hours);"
        " never retried.",
    )
    def acquire_lock(**context) -> PokeReturnValue:
        return PokeReturnValue(is_done=_run("acquire_lock", context))

    # Returns the parts the task group maps over; the ledger is in runs/D/discover.json.
    @task
    def discover(**context) -> list[str]:
        return _run("discover", context)["parts"]

    @task(max_active_tis_per_dagrun=PARALLEL_PARTS, map_index_template="{{ part }}")
    def ingest(part: str, **context) -> dict:
        return _run_part("ingest", part, context)

    @task(max_active_tis_per_dagrun=PARALLEL_PARTS, map_index_template="{{ part }}")
    def validate(part: str, **context) -> dict:
        return _run_part("validate", part, context)

    @task_group(group_id="entity")
    def per_part(part: str) -> None:
        ingest(part) >> validate(part)

    @task
    def transform(**context) -> dict:
        return _run("transform", context)

    @task
    def load(**context) -> dict:
        return _run("load", context)

    @task(outlets=[SNAPSHOT])
    def publish(**context) -> dict:
        summary = _run("publish", context)
        context["outlet_events"][SNAPSHOT].add(
            Asset(Path(summary["snapshot"]).as_uri()),
            extra={k: summary[k] for k in SNAPSHOT_EXTRA},
        )
        return summary

    @task
    def report(**context) -> dict:
        return _run("report", context)

    @task(
        retries=0,
        doc_md="Releases the data-root lock whatever happened upstream; never retried.",
    )
    def release_lock(**context) -> None:
        _run("release_lock", context)

    lock = acquire_lock()
    found = discover()
    each_part = per_part.expand(part=found)
    done = report()
    lock >> found >> each_part >> transform() >> load() >> publish() >> done
    # A teardown: it runs whatever happened upstream, and its own success does not turn a
    # failed run green.
    done >> release_lock().as_teardown(setups=lock)


poverty_nightly()
