"""Alerts: a failed task, a held delivery or a missed publish deadline gets a clear message
in the log and, when an SMTP connection and recipients are configured, an email.

Emails go through Airflow's SMTP provider: the Airflow connection ``settings.smtp_conn_id()``
(``POVDB_SMTP_CONN_ID``, default ``povdb_smtp``) to ``settings.alert_recipients()``
(``POVDB_ALERT_EMAIL``). Without recipients or without that connection no email is sent,
and that is not an error.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

import settings
from contract.records import LoadSummary
from pipeline.context import RunContext
from reporting import sql
from warehouse.runs import record_attempt

log = logging.getLogger(__name__)

DEFAULT_SENDER = "povdb@localhost"


def send_email(subject: str, body: str) -> bool:
    """Send an alert when recipients and the SMTP connection are configured. Returns
    whether an email was sent; a failure to send is logged, never raised (an alert must
    not fail the step that raises it)."""
    recipients = settings.alert_recipients()
    if not recipients:
        return False
    # The SMTP provider comes with Airflow (heavy): imported only when an alert goes out.
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn_id = settings.smtp_conn_id()
    try:
        # The hook reports a missing connection like any failure: looked up first.
        SmtpHook.get_connection(conn_id)
        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(
                to=list(recipients),
                from_email=hook.from_email or DEFAULT_SENDER,
                subject=subject,
                html_content=f"<pre>{html.escape(body)}</pre>",
            )
    except AirflowNotFoundException:
        log.info("no Airflow connection %s: the alert is not emailed", conn_id)
        return False
    except Exception as exc:
        log.error(
            "could not send the alert email to %s through %s: %s", list(recipients), conn_id, exc
        )
        return False
    return True


def task_failed(context: dict) -> None:
    """``on_failure_callback`` of the DAG's tasks."""
    ti = context.get("task_instance") or context.get("ti")
    task_id = getattr(ti, "task_id", "?")
    exc = context.get("exception")
    try:
        ctx = RunContext.from_airflow(context)
    except Exception:  # the context itself is unusable: still say what failed
        log.error("poverty_nightly task %s failed: %r", task_id, exc)
        return
    message = (
        f"poverty_nightly FAILED for delivery date {ctx.d} (run {ctx.run_id}): task {task_id}"
        f" failed with {exc!r}. Nothing was changed: the load is one transaction and the"
        f" snapshot is swapped atomically. See docs/runbook.md, then clear the task."
    )
    log.error(message)
    started = None
    run_file = ctx.run_dir / "run.json"
    if run_file.exists():
        started = json.loads(run_file.read_text()).get("started_at")
    record_attempt(
        ctx.paths.warehouse,
        run_id=ctx.run_id,
        delivery_date=ctx.d,
        started_at=started,
        state="failed",
        message=message,
    )
    send_email(f"[povdb] poverty_nightly failed for {ctx.d}", message)


def alert_held(summary: LoadSummary) -> None:
    """After the load committed: log and email the held-delivery message, if any."""
    message = summary.get("held_message")
    if message:
        log.warning(message)
        send_email(f"[povdb] held rows in delivery {summary['delivery_date']}", message)


def published(analytics: Path, d: dt.date) -> tuple[bool, str]:
    """Whether the snapshot at ``analytics`` includes delivery date ``d`` (in
    ``meta.snapshot.deliveries_included``), and what it holds, in words.

    Opens the snapshot read-only and takes no lock: a publish swaps in a whole new file
    (an atomic rename), so this reads either the old snapshot or the new one."""
    if not analytics.exists():
        return False, f"there is no snapshot at {analytics}"
    con = duckdb.connect(str(analytics), read_only=True)
    try:
        meta = sql.rows(con, "snapshot_meta")[0]
    finally:
        con.close()
    state = (
        f"the snapshot {analytics} is as of {meta['as_of_date']}, published"
        f" {meta['published_at']:%Y-%m-%d %H:%M %Z}"
    )
    return d in meta["deliveries_included"], state


def _deadline_date(context: Mapping[str, Any]) -> tuple[dt.date, dt.datetime]:
    """The delivery date a run of ``poverty_deadline`` checks (the day before the
    Asia/Shanghai day of its logical date), and that moment."""
    # Imports Airflow (the timetable): only in a task.
    from pipeline.timetable import TZ, delivery_date_of

    moment = context.get("logical_date") or context["dag_run"].run_after
    return delivery_date_of(moment) - dt.timedelta(days=1), moment.astimezone(TZ)


def check_published(context: Mapping[str, Any]) -> dict[str, Any]:
    """The task of ``poverty_deadline``: fail, so that ``deadline_missed`` sends the alert,
    unless yesterday's delivery date D (Asia/Shanghai) is in the published snapshot of the
    run's data root. Neither takes the data-root lock nor opens the warehouse."""
    # Airflow is imported only inside a task.
    from airflow.sdk.exceptions import AirflowFailException

    d, moment = _deadline_date(context)
    analytics = settings.paths((context.get("params") or {}).get("data_root")).analytics
    ok, state = published(analytics, d)
    if not ok:
        raise AirflowFailException(
            f"delivery date {d} is not published at {moment:%Y-%m-%d %H:%M} Asia/Shanghai:"
            f" {state}. Look at poverty_nightly's run of {d} in Airflow (a task waiting,"
            f" retrying or failed, or acquire_lock waiting for another run), then see"
            f" docs/runbook.md."
        )
    log.info("delivery date %s is published: %s", d, state)
    return {"delivery_date": d.isoformat(), "published": True}


def deadline_missed(context: Mapping[str, Any]) -> bool:
    """``on_failure_callback`` of ``poverty_deadline``: log and email why D is not known
    to be published (not published, or the check itself failed). Returns whether an email
    was sent."""
    # Airflow is imported only inside a task.
    from airflow.sdk.exceptions import AirflowFailException

    d, _ = _deadline_date(context)
    exc = context.get("exception")
    if isinstance(exc, AirflowFailException):
        subject = f"[povdb] delivery date {d} not published by its deadline"
        message = str(exc)
    else:
        subject = f"[povdb] could not check that delivery date {d} is published"
        message = (
            f"poverty_deadline could not tell whether delivery date {d} is published: {exc!r}."
            f" Look at the task's log and at poverty_nightly's run of {d}, then see"
            f" docs/runbook.md."
        )
    log.error(message)
    return send_email(subject, message)
