"""What orchestration asks the warehouse about earlier runs, and the record of a failed one.

Read-only questions open the warehouse read-only and answer "nothing yet" for a warehouse
that does not exist or predates the table asked about.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import duckdb

from warehouse import sqlfiles
from warehouse.loader import connect, migrate

log = logging.getLogger(__name__)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def delivered_files(warehouse: Path) -> dict[str, dict[str, int | None]]:
    """Files of every processed delivery date: {date: {file name: size in bytes}}."""
    seen: dict[str, dict[str, int | None]] = {}
    if not warehouse.exists():
        return seen
    con = connect(warehouse, read_only=True)
    try:
        if _has_table(con, "audit", "files"):
            for d, name, size in con.execute(sqlfiles.read("audit/files_delivered.sql")).fetchall():
                seen.setdefault(d.isoformat(), {})[name] = size
    finally:
        con.close()
    return seen


def successful_runs(warehouse: Path) -> set[tuple[str, str, dt.datetime]]:
    """Every load that committed: {(run id, delivery date, started at)}."""
    loaded: set[tuple[str, str, dt.datetime]] = set()
    if not warehouse.exists():
        return loaded
    con = connect(warehouse, read_only=True)
    try:
        if _has_table(con, "audit", "runs"):
            for run_id, d, started in con.execute(
                sqlfiles.read("audit/runs_successful.sql")
            ).fetchall():
                loaded.add((run_id, d.isoformat(), started))
    finally:
        con.close()
    return loaded


def record_attempt(
    warehouse: Path,
    *,
    run_id: str,
    delivery_date: str,
    started_at: str | None,
    state: str,
    message: str,
) -> bool:
    """Add a row for a failed attempt to ``audit.runs`` (its own small transaction).

    Best effort: if the warehouse itself is what failed, the log and the email still carry
    the message.
    """
    if not warehouse.exists():
        return False
    try:
        con = connect(warehouse)
    except Exception as exc:  # a damaged or locked warehouse: the log still has it
        log.error("could not record the failure in audit.runs: %s", exc)
        return False
    try:
        con.execute("BEGIN TRANSACTION")
        migrate(con)
        con.execute(
            sqlfiles.read("audit/runs_record_attempt.sql"),
            {
                "run_id": run_id,
                "delivery_date": delivery_date,
                "started_at": started_at,
                "state": state,
                "message": message,
                "summary": json.dumps({"message": message}),
            },
        )
        con.execute("COMMIT")
        return True
    except Exception as exc:
        con.execute("ROLLBACK")
        log.error("could not record the failure in audit.runs: %s", exc)
        return False
    finally:
        con.close()
