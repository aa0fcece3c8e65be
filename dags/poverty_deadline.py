"""Wiring of the publish deadline check. All logic lives in ``pipeline.notify``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, dag, task

import settings
from pipeline import retry
from pipeline.timetable import TZ

# POVDB_PUBLISH_BY is a time of day on D+1: the check of D runs then.
_DUE = settings.publish_by()
HOUR, MINUTE = _DUE.hour, _DUE.minute

DOC_MD = f"""
### poverty_deadline

Owner: **registry-data** (data engineering). Checks that delivery date D ({TZ.name})
is published by the deadline: it is in the snapshot analysts open
(`meta.snapshot.deliveries_included` of `warehouse/analytics.duckdb` under the data root:
`POVDB_HOME`, or the run's `data_root` param).

* **Schedule**: daily at {HOUR:02d}:{MINUTE:02d} {TZ.name} (`POVDB_PUBLISH_BY`), for
  yesterday's delivery date D.
* **Green**: D is published. Nothing is sent.
* **Red**: D is not published (or the check could not read the snapshot): the alert
  "delivery date D not published by its deadline" is emailed. Look at `poverty_nightly`'s
  run of D; see `docs/runbook.md`, "Alerts, the publish deadline".
* It reads the snapshot read-only and takes no lock: it never waits for, nor delays, a
  nightly run. Clearing a red run checks again.
* **Retries**: {retry.RULE} A transient error is retried up to 2 times, a minute apart.
"""


# pipeline.notify imports DuckDB: imported when a task runs, never when the scheduler
# parses this file.
def _on_failure(context: dict) -> None:
    from pipeline.notify import deadline_missed

    deadline_missed(context)


@dag(
    dag_id="poverty_deadline",
    schedule=CronTriggerTimetable(f"{MINUTE} {HOUR} * * *", timezone=TZ.name),
    start_date=dt.datetime(2015, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "registry-data",
        "on_failure_callback": _on_failure,
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=1),
        "retry_policy": retry.transient_only(),
    },
    tags=["registry", "daily", "deadline"],
    doc_md=DOC_MD,
    params={
        "data_root": Param(
            None,
            type=["null", "string"],
            description="Data root to check; empty means POVDB_HOME (default ./data).",
        ),
    },
)
def poverty_deadline() -> None:
    @task
    def check_published(**context) -> dict:
        from pipeline.notify import check_published

        return check_published(context)

    check_published()


poverty_deadline()
