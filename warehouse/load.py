"""The load step: everything a run changes in the warehouse, in one DuckDB transaction.

The warehouse holds two kinds of tables. The ledgers (:data:`LEDGERS`: the file ledger,
validation results, run records, the secret's fingerprint) are records: the load of date
D replaces what D contributed to the first two and adds its run. Everything else is derived from staging and rebuilt whole
by :func:`rebuild_reference` from the transform's output (``outputs``: {name: Parquet
glob}, see ``transforms.build.OUTPUTS``), which covers every accepted delivery: core
tables (each person's key beside their ID, :data:`PERSON_KEYS`), the row audit
(quarantine, reconciliation) and the marts. The
nightly load (:func:`load_run`) and ``povdb verify`` (:func:`rebuild_shadow`, a new file
beside the live warehouse) run that one function. A failing post-load check rolls the
nightly load back and fails the run.

The statements are ``audit/*.sql`` beside this module; the generic table swap
(:func:`_replace`) is built here from the catalogue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import duckdb

import settings
from contract import pseudonym
from contract.landing import ENTITIES
from contract.records import IngestedFile, Ledger, LoadSummary, ValidationSummary
from settings import Paths, faults
from warehouse import mart_state, sqlfiles
from warehouse.loader import (
    MIGRATIONS,
    CheckResult,
    build_marts,
    connect,
    load_reference,
    migrate,
    post_load_checks,
    table_columns,
)
from warehouse.secret import record_fingerprint
from warehouse.sqlfiles import sql_literal

log = logging.getLogger(__name__)

# Core tables that store a person's key beside their resident ID: {table: (ID column, key
# column)}. The load keys each row of a transform's output as it writes it (:func:`_keyed`);
# core.households, a view of core.households_history, shows the history's keys; publish
# copies the key.
PERSON_KEYS = {
    "core.members": ("id_number", "person_key"),
    "core.households": ("head_id_number", "head_key"),
    "core.households_history": ("head_id_number", "head_key"),
}
# Records, not derivations of staging: the reference rebuild reads them, never rewrites them.
LEDGERS = ("audit.files", "audit.validation_results", "audit.runs", "meta.pseudonym_secret")
# The volume-jump rule, a query over audit.files; the quarantine reads it as a view.
VOLUME_JUMPS = sqlfiles.read("audit/volume_jumps.sql")


def held_message(summary: LoadSummary) -> str | None:
    """The message for a delivery that loaded with held files or rows; None when none was held."""
    files, rows = summary.get("files_held", 0), summary.get("rows_held", 0)
    if not files and not rows:
        return None
    reasons = ", ".join(f"{r} ({n})" for r, n in summary.get("held_reasons", {}).items())
    return (
        f"poverty_nightly: delivery {summary['delivery_date']} loaded with {files} file(s) and"
        f" {rows} row(s) held for review ({reasons or 'see audit.quarantine'}). The rest of"
        f" the delivery is loaded. Held rows are in audit.quarantine; re-run the date after a"
        f" corrected delivery (docs/runbook.md)."
    )


class PostLoadCheckFailed(RuntimeError):
    pass


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [column for column, _ in table_columns(con, table)]


def _without_key_index(columns_ddl: str) -> str:
    """A table definition's columns and constraints without its primary key or unique
    constraints.

    Each is an in-memory index over every key: at national scale (90 M persons) they no
    longer fit beside the load. The transform gives one row per key, and the post-load
    check ``core_keys_unique`` proves it; the key columns stay NOT NULL."""
    columns_ddl = re.sub(r",\s*(PRIMARY KEY|UNIQUE)\s*\([^)]*\)", "", columns_ddl)
    columns_ddl = re.sub(r"\s+PRIMARY KEY\b", " NOT NULL", columns_ddl)
    columns_ddl = re.sub(r"\s+UNIQUE\b", "", columns_ddl)
    return re.sub(r"NOT NULL(\s+NOT NULL)+", "NOT NULL", columns_ddl)


def _replace(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Replace every row of ``table`` with the rows of ``source`` (a FROM clause, taking
    ``params``), within the transaction.

    The rows go into a new table of the same definition (constraints and comments
    included) that then takes the old one's place. Deleting every row and inserting the
    new ones into the same table costs several times more at commit: DuckDB writes the
    whole insert to its write-ahead log, where rows of a new table go straight to their
    blocks."""
    schema, name = table.split(".")
    cols = ", ".join(f'"{c}"' for c in _columns(con, table))
    ddl, comment = con.execute(
        "SELECT sql, comment FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ?",
        [schema, name],
    ).fetchone()  # type: ignore[misc]
    column_comments = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? AND comment IS NOT NULL",
        [schema, name],
    ).fetchall()
    head = f"CREATE TABLE {schema}.{name}("
    if not ddl.startswith(head):
        raise RuntimeError(f"unexpected definition of {table}: {ddl[:80]!r}")
    staged = f"{name}__new"
    con.execute(f"CREATE TABLE {schema}.{staged}(" + _without_key_index(ddl[len(head) :]))
    con.execute(f"INSERT INTO {schema}.{staged} ({cols}) SELECT {cols} FROM {source}", params)
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {schema}.{staged} RENAME TO {name}")
    if comment:
        con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(comment)}")
    for column, text in column_comments:
        con.execute(f'COMMENT ON COLUMN {table}."{column}" IS {sql_literal(text)}')
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def _file_rows(
    ledger: Ledger,
    ingested: Mapping[str, list[IngestedFile]],
    validation: Mapping[str, ValidationSummary],
    run_id: str,
) -> list[dict[str, Any]]:
    """The parameters of ``audit/files_record.sql`` for each file of the ledger."""
    by_name: dict[str, dict] = {e["file_name"]: dict(e) for e in ledger["files"]}
    for entity in ENTITIES:
        for res in ingested[entity]:
            entry = by_name[res["file_name"]]
            entry.update({k: res[k] for k in ("format", "encoding", "delimiter", "rows")})
            entry["outcome"] = "loaded" if res["outcome"] == "loaded" else "held"
            if res["outcome"] == "held":
                entry["reason"], entry["detail"] = res["reason"], res["detail"]
        for held in validation[entity]["held_files"]:
            by_name[held["file_name"]].update(
                outcome="held", reason=held["reason"], detail=held["detail"]
            )
    return [
        {
            "delivery_date": e["delivery_date"],
            "file_name": e["file_name"],
            "entity": e.get("entity"),
            "source": e.get("source"),
            "format": e.get("format"),
            "encoding": e.get("encoding"),
            "delimiter": e.get("delimiter"),
            "size_bytes": e.get("size_bytes"),
            "sha256": e.get("sha256"),
            "rows": e.get("rows") if e.get("rows") is not None else e.get("manifest_rows"),
            "outcome": e["outcome"],
            "reason": e.get("reason"),
            "detail": e.get("detail"),
            "run_id": run_id,
            "path": f"{e['delivery_date']}/{e['file_name']}",  # under the landing root
        }
        for e in by_name.values()
    ]


def _rebuild_row_audit(con: duckdb.DuckDBPyConnection) -> None:
    """audit.quarantine and audit.reconciliation over every delivery, from the state
    tables: every delivered row's outcome and every finding on a delivered row."""
    con.execute(sqlfiles.read("audit/row_outcomes.sql"))
    con.execute(sqlfiles.read("audit/row_warnings.sql"))
    con.execute(sqlfiles.read("audit/outcome_files.sql"))
    con.execute(sqlfiles.read("audit/applied_warnings.sql"))
    con.execute("CREATE OR REPLACE TEMP VIEW volume_jumps AS " + VOLUME_JUMPS)
    con.execute(sqlfiles.read("audit/quarantine.sql"))
    con.execute(sqlfiles.read("audit/reconciliation.sql"))
    con.execute("DROP TABLE outcome_files")
    con.execute("DROP TABLE applied_warnings")


def _keyed(table: str, source: str) -> str:
    """``source`` (a FROM clause) with the person key column of ``table`` added
    (:data:`PERSON_KEYS`): the keyed hash of its ID, computed inside DuckDB as the rows are
    read, NULL where the ID is. The statement then takes the parameters of
    :func:`contract.pseudonym.person_key_params`."""
    id_column, key_column = PERSON_KEYS[table]
    key = pseudonym.person_key_sql(f'"{id_column}"')
    return f'(SELECT *, {key} AS "{key_column}" FROM {source}) AS keyed'


def _record_ledgers(
    con: duckdb.DuckDBPyConnection,
    d: str,
    ledger: Ledger,
    ingested: Mapping[str, list[IngestedFile]],
    validation: Mapping[str, ValidationSummary],
    run_id: str,
) -> None:
    """Replace what date ``d`` contributed to the file ledger (late files included) and to
    the validation results."""
    con.execute(sqlfiles.read("audit/files_clear_date.sql"), {"delivery_date": d})
    file_rows = _file_rows(ledger, ingested, validation, run_id)
    if file_rows:
        con.executemany(sqlfiles.read("audit/files_record.sql"), file_rows)
    for late in ledger["late"]:
        con.execute(
            sqlfiles.read("audit/files_record_late.sql"),
            {
                "delivery_date": late["delivery_date"],
                "file_name": late["file_name"],
                "size_bytes": late["size_bytes"],
                "detail": late["detail"],
                "run_id": run_id,
            },
        )
    con.execute(sqlfiles.read("audit/validation_results_clear_date.sql"), {"delivery_date": d})
    for entity in ENTITIES:
        for r in validation[entity]["results"]:
            con.execute(
                sqlfiles.read("audit/validation_results_record.sql"),
                {
                    "delivery_date": d,
                    "entity": entity,
                    "suite": r["suite"],
                    "suite_version": r.get("suite_version"),
                    "expectation": r["expectation"],
                    "severity": r["severity"],
                    "evaluated": r.get("evaluated"),
                    "failed": r.get("failed"),
                    "sample_keys": list(r.get("sample_keys") or []),
                },
            )


# Derived tables, in the order they are written, and what each is written from: (table,
# transform output or SQL file of state/ over outputs, the column that places its rows in a
# component or None for tables replaced whole on every path).
DERIVED: tuple[tuple[str, str, str | None], ...] = (
    ("core.villages_history", "villages_history", None),
    ("core.households_history", "households_history", "household_id"),
    ("core.members", "members_current", "household_id"),
    ("core.assistance", "assistance_current", None),
    ("core.targets", "targets_current", None),
    ("core.status_events", "status_events", "household_id"),
    ("core.exit_checks", "exit_checks", "household_id"),
    ("state.components", "components", "household_id"),
    ("state.row_outcomes", "state/row_outcomes.sql", None),
    ("state.row_findings", "state/row_findings.sql", None),
)
# Core views of the tables above, which a load counts and never writes: the current
# versions of core.villages_history and core.households_history
# (migrations/018_villages_view.sql, 017_households_view.sql).
CORE_VIEWS: tuple[str, ...] = ("core.villages", "core.households")
# What an incremental load deletes from the state tables before it inserts the transform's
# rows (which are exactly the rows it deletes, recomputed): the staged findings of its
# dates, the small entities' outcomes, the rows of the affected components; and every
# income outlier, recomputed by every load.
INCREMENTAL_DELETES = {
    "state.row_outcomes": "(judged_by = 'staging' AND delivery_date IN (SELECT d FROM scope_dates))"
    " OR (judged_by = 'transform' AND entity NOT IN ('households', 'members'))"
    " OR (judged_by = 'transform' AND (household_id IS NULL"
    " OR household_id IN (SELECT household_id FROM affected)))",
    "state.row_findings": "(found_by = 'validation' AND delivery_date IN (SELECT d FROM scope_dates))"
    " OR (found_by = 'cross' AND household_id IN (SELECT household_id FROM affected))",
}


def _in_affected(placed_by: str) -> str:
    """The rows of a table placed by ``placed_by`` that are of the affected households (the
    temp table ``affected`` of an incremental load)."""
    return f"{placed_by} IN (SELECT household_id FROM affected)"


def _source(output: str, outputs: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The FROM clause (and its parameters) of a derived table's rows: a transform output,
    or the query of a SQL file of state/ over outputs. The outputs of an incremental
    transform hold the affected households' rows alone."""
    if output.endswith(".sql"):
        sql = sqlfiles.read(output)
        return f"({sql}) AS derived", sqlfiles.parameters(sql, outputs)
    return "read_parquet($parts)", {"parts": outputs[output]}


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, source: str, params: Mapping[str, Any]
) -> int:
    """Insert the rows of ``source`` into ``table`` (by column name); the rows inserted."""
    cols = ", ".join(f'"{c}"' for c in _columns(con, table))
    rows = con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source}", params)
    return int(rows.fetchall()[0][0])


def rebuild_reference(
    con: duckdb.DuckDBPyConnection,
    outputs: Mapping[str, str],
    secret_file: Path,
    *,
    record_run: Callable[[Mapping[str, int]], None] | None = None,
) -> dict[str, int]:
    """Rebuild everything the warehouse derives from staging from a full transform's output
    (every table of :data:`DERIVED` replaced whole, each person keyed under the secret of
    ``secret_file`` as the rows are written), then the income outliers, the row audit and
    the marts: the reference path.

    Needs the migrations, ref and the ledgers in place, and runs inside the caller's
    transaction. ``record_run`` is called with the counts once the row audit is built and
    before the marts, which read ``audit.runs``. Returns rows per core table."""
    return _derive(con, outputs, secret_file, record_run=record_run, dates=None)


def apply_incremental(
    con: duckdb.DuckDBPyConnection,
    outputs: Mapping[str, str],
    secret_file: Path,
    *,
    dates: tuple[str, ...],
    record_run: Callable[[Mapping[str, int]], None] | None = None,
) -> dict[str, int]:
    """The incremental path: from an incremental transform's output (``affected``: the
    households of the components it recomputed; ``dates``: the delivery dates whose staged
    findings it copied), delete those components' rows and the small entities' and insert
    the recomputed ones, then the same income outliers, row audit and marts as
    :func:`rebuild_reference`. Its result equals the reference path's over the same
    deliveries (the property test and ``povdb verify`` prove it)."""
    return _derive(con, outputs, secret_file, record_run=record_run, dates=dates)


def _derive(
    con: duckdb.DuckDBPyConnection,
    outputs: Mapping[str, str],
    secret_file: Path,
    *,
    record_run: Callable[[Mapping[str, int]], None] | None,
    dates: tuple[str, ...] | None,
) -> dict[str, int]:
    key_params = pseudonym.person_key_params(settings.pseudonym_secret(secret_file))
    incremental = dates is not None
    if incremental:
        if "affected" not in outputs:
            raise ValueError("an incremental load needs the transform's affected households")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE affected AS"
            " SELECT DISTINCT household_id FROM read_parquet($parts)",
            {"parts": outputs["affected"]},
        )
        con.execute("CREATE OR REPLACE TEMP TABLE scope_dates (d DATE)")
        con.executemany("INSERT INTO scope_dates VALUES (?)", [[d] for d in dates or ()])
        # Before the deletes: what the affected households' old rows gave the marts' state.
        mart_state.subtract_affected(con)
    counts: dict[str, int] = {}
    for table, output, placed_by in DERIVED:
        started = time.perf_counter()
        scope = _in_affected(placed_by) if incremental and placed_by is not None else None
        source, params = _source(output, outputs)
        if table in PERSON_KEYS and not output.endswith(".sql"):
            source = _keyed(table, source)
            params.update(key_params)
        if not incremental:
            rows = _replace(con, table, source, params)
        else:
            where = INCREMENTAL_DELETES.get(table, scope or "true")
            deleted = con.execute(f"DELETE FROM {table} WHERE {where}").fetchall()[0]
            inserted = _insert(con, table, source, params)
            log.info(
                "load: %s, %d rows deleted, %d inserted",
                table,
                deleted[0] if deleted else 0,
                inserted,
            )
            rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        if table.startswith("core."):
            counts[table] = rows
        log.info("load: %s, %d rows in %.1fs", table, rows, time.perf_counter() - started)
    for view in CORE_VIEWS:
        counts[view] = int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])
    # What the publish after this load replaces in the previous snapshot: nothing on the
    # full path (its publish is full).
    con.execute("DELETE FROM audit.load_changes")
    if incremental:
        con.execute("INSERT INTO audit.load_changes SELECT household_id FROM affected")
    started = time.perf_counter()
    con.execute("DELETE FROM state.row_findings WHERE found_by = 'income'")
    con.execute(sqlfiles.read("state/income_outliers.sql"))
    _rebuild_row_audit(con)
    log.info(
        "load: income outliers, quarantine and reconciliation in %.1fs",
        time.perf_counter() - started,
    )
    if record_run is not None:
        record_run(counts)
    mart_state.update(con, incremental=incremental)
    build_marts(con)
    return counts


def unapplied_migrations(warehouse: Path) -> list[str]:
    """The migrations of this release that ``warehouse`` (opened read-only) lacks."""
    con = connect(warehouse, read_only=True)
    try:
        done = {r[0] for r in con.execute("SELECT name FROM main.schema_migrations").fetchall()}
    finally:
        con.close()
    return [f.name for f in sorted(MIGRATIONS.glob("*.sql")) if f.name not in done]


def rebuild_shadow(
    shadow: Path, *, live: Path, outputs: Mapping[str, str], secret_file: Path
) -> list[CheckResult]:
    """Build a new warehouse at ``shadow`` by the reference path: migrations, ref, the
    ledgers copied from the ``live`` warehouse (attached read-only, never written), then
    :func:`rebuild_reference` over ``outputs``. Returns every post-load check, run on it.

    Its person keys are computed afresh under the configured secret, so equal core tables
    also prove the live warehouse's keys were made with that secret."""
    if shadow.exists():
        raise FileExistsError(f"{shadow} exists already: the shadow must start empty")
    con = connect(shadow, bulk=True)
    try:
        # ATTACH cannot take a bound parameter.
        con.execute(f"ATTACH {sql_literal(str(live))} AS live (READ_ONLY)")
        con.execute("BEGIN TRANSACTION")
        migrate(con)
        load_reference(con)
        for table in LEDGERS:
            started = time.perf_counter()
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM live.{table}")
            log.info("shadow: %s copied in %.1fs", table, time.perf_counter() - started)
        con.execute("COMMIT")
        # The rebuild's catalogue lookups and unqualified names must find the shadow alone.
        con.execute("DETACH live")
        con.execute("BEGIN TRANSACTION")
        rebuild_reference(con, outputs, secret_file)
        checks = post_load_checks(con)
        con.execute("COMMIT")
    finally:
        con.close()
    return checks


def load_run(
    paths: Paths,
    *,
    delivery_date: dt.date,
    run_id: str,
    started_at: str,
    ledger: Ledger,
    ingested: Mapping[str, list[IngestedFile]],
    validation: Mapping[str, ValidationSummary],
    outputs: Mapping[str, str],
    path: Mapping[str, Any] | None = None,
) -> LoadSummary:
    """The nightly load of ``delivery_date``: its ledgers, then the reference path, or the
    incremental one when the transform's ``outputs`` hold ``affected``. ``path`` (the
    transform's choice: ``load_path``, ``reason``, ``affected_households``, ``code_hash``)
    is recorded in ``audit.runs``."""
    d = delivery_date.isoformat()
    path = dict(path or {})
    incremental = "affected" in outputs
    con = connect(paths.warehouse, bulk=True)
    try:
        con.execute("BEGIN TRANSACTION")
        applied = migrate(con)
        record_fingerprint(con, paths.secret, run_id)
        load_reference(con)
        _record_ledgers(con, d, ledger, ingested, validation, run_id)
        summary: LoadSummary = {
            "delivery_date": d,
            "migrations_applied": applied,
            "load_path": "incremental" if incremental else "full",
        }

        def record_run(counts: Mapping[str, int]) -> None:
            # After the row audit (the totals read audit.reconciliation), before the marts
            # (they read audit.runs).
            totals = con.execute(
                sqlfiles.read("audit/delivery_totals.sql"), {"delivery_date": d}
            ).fetchone()
            assert totals is not None
            summary.update(
                {
                    "tables": dict(counts),
                    "files": totals[0],
                    "files_held": totals[1],
                    "rows_received": int(totals[2]),
                    "rows_applied": int(totals[3]),
                    "rows_held": int(totals[4]),
                    "late_files": [
                        f"{x['delivery_date']}/{x['file_name']}" for x in ledger["late"]
                    ],
                }
            )
            held = con.execute(
                sqlfiles.read("audit/held_reasons.sql"), {"delivery_date": d}
            ).fetchall()
            summary["held_reasons"] = {r: n for r, n in held}
            summary["held_message"] = message = held_message(summary)
            con.execute(
                sqlfiles.read("audit/runs_record.sql"),
                {
                    "run_id": run_id,
                    "delivery_date": d,
                    "started_at": started_at,
                    "code_version": _code_version(),
                    "files": summary["files"],
                    "files_held": summary["files_held"],
                    "rows_received": summary["rows_received"],
                    "rows_applied": summary["rows_applied"],
                    "rows_held": summary["rows_held"],
                    "summary": json.dumps(summary),
                    "message": message,
                    "load_path": summary["load_path"],
                    "load_path_reason": path.get("reason"),
                    "affected_households": path.get("affected_households") if incremental else None,
                    "code_hash": path.get("code_hash"),
                },
            )

        if incremental:
            apply_incremental(con, outputs, paths.secret, dates=(d,), record_run=record_run)
        else:
            rebuild_reference(con, outputs, paths.secret, record_run=record_run)
        checks = post_load_checks(con, incremental=incremental)
        summary["checks"] = {c.name: {"severity": c.severity, "failed": c.failed} for c in checks}
        failing = [c for c in checks if c.failed and c.severity == "error"]
        for c in checks:
            if c.failed:
                log.warning("post-load check %s (%s): %d rows", c.name, c.severity, c.failed)
        if failing:
            raise PostLoadCheckFailed(
                "post-load checks failed, nothing was loaded: "
                + ", ".join(f"{c.name} ({c.failed} rows)" for c in failing)
            )
        faults.checkpoint("load.before_commit")
        started = time.perf_counter()
        con.execute("COMMIT")
        log.info("load: committed in %.1fs", time.perf_counter() - started)
    except BaseException:
        # A failed COMMIT (disk full) has already ended the transaction: the error worth
        # reporting is the original one, not that there is nothing left to roll back.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    faults.checkpoint("load.committed")
    return summary


def _code_version() -> str:
    try:
        return version("povdb")
    except PackageNotFoundError:
        return "unknown"
