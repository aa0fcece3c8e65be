"""Alerts: a failed task or a held delivery gets a clear message in the task log, a row in
``audit.runs`` and, when SMTP is configured, an email.

SMTP is a setting (``settings.smtp``: ``POVDB_SMTP_HOST``, ``POVDB_ALERT_EMAIL``,
``POVDB_SMTP_FROM``). Without it no email is sent, and that is not an error.
"""

from __future__ import annotations

import json
import logging
import smtplib
from email.message import EmailMessage

import settings
from contract.records import LoadSummary
from pipeline.context import RunContext
from warehouse.runs import record_attempt

log = logging.getLogger(__name__)


def send_email(subject: str, body: str) -> bool:
    """Send an alert when SMTP is configured. Returns whether an email was sent."""
    smtp = settings.smtp()
    if smtp is None:
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    msg.set_content(body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as server:
            server.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send the alert email to %s: %s", list(smtp.recipients), exc)
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
