"""Wiring of the weekly verify. All logic lives in ``pipeline.verify``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, PokeReturnValue, dag, task

from pipeline import retry

RETRY_RULE = f"**Retries**: {retry.RULE} A transient error is retried once, after 10 minutes."

DOC_MD = f"""
### poverty_verify

Owner: **registry-data** (data engineering). Proves the warehouse the nightly runs built
is the one the reference path builds from the same staging: `povdb verify` under the data
root (`POVDB_HOME`, or the run's `data_root` param). It rebuilds the whole warehouse from
staging into `warehouse/.verify-<time>.duckdb` beside the live one, compares every table by
digest and runs every post-load check on the rebuild. The live warehouse is only read and
the snapshot is not opened.

* **Schedule**: Sundays at 10:00 Asia/Shanghai (02:00 UTC), well after the nightly's
  02:00 start and its national run of about an hour, so the two rarely meet.
* **Lock**: it takes the data-root lock the nightly holds (`acquire_lock`, a sensor in
  reschedule mode: while a nightly or a backfill runs it waits without holding a worker
  slot, up to 12 hours). A nightly that starts meanwhile waits for it the same way.
* **Green**: every table equal and no post-load check of severity error failed; the
  rebuild is removed.
* **Red** on `verify`: a table differs or a check failed. The rebuild is kept; the task
  log names the tables and gives the command to diff each one. What to do:
  `docs/runbook.md`, "Verify: the warehouse against the reference rebuild".
* {RETRY_RULE}
"""


# pipeline.verify imports Polars, DuckDB and the transforms: imported when a task runs,
# never when the scheduler parses this file.
def _on_failure(context: dict) -> None:
    from pipeline.verify import task_failed

    task_failed(context)


default_args = {
    "owner": "registry-data",
    "on_failure_callback": _on_failure,
    "retries": 1,
    "retry_delay": dt.timedelta(minutes=10),
    "retry_policy": retry.transient_only(),
}


@dag(
    dag_id="poverty_verify",
    schedule=CronTriggerTimetable("0 10 * * 0", timezone="Asia/Shanghai"),
    start_date=dt.datetime(2015, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["registry", "weekly", "verify", "duckdb"],
    doc_md=DOC_MD,
    params={
        "data_root": Param(
            None,
            type=["null", "string"],
            description="Data root to verify; empty means POVDB_HOME (default ./data).",
        ),
    },
)
def poverty_verify() -> None:
    @task.sensor(poke_interval=60, timeout=12 * 3600, mode="reschedule", retries=0)
    def acquire_lock(**context) -> PokeReturnValue:
        from pipeline.verify import acquire_lock_task

        return PokeReturnValue(is_done=acquire_lock_task(context))

    @task(doc_md=RETRY_RULE)
    def verify(**context) -> dict:
        from pipeline.verify import verify_task

        return verify_task(context)

    @task(retries=0)
    def release_lock(**context) -> None:
        from pipeline.verify import release_lock_task

        release_lock_task(context)

    lock = acquire_lock()
    done = verify()
    lock >> done
    # A teardown: it runs whatever happened to verify, and does not turn a failed run green.
    done >> release_lock().as_teardown(setups=lock)


poverty_verify()
