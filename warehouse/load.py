"""The load step: everything a run changes in the warehouse, in one DuckDB transaction.

Core tables and the row-level audit (quarantine, reconciliation) are rebuilt from the
transform's output, which covers every accepted delivery: the warehouse is a function of
the set of deliveries, whatever order the dates ran in. The file ledger and validation
results of date D are replaced (delete what D contributed, insert). A failing post-load
check rolls everything back and fails the run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import time
from pathlib import Path

import duckdb

import settings
from contract import pseudonym
from contract.landing import ENTITIES
from settings import Paths, faults
from transforms.build import parts as transform_parts
from warehouse.loader import (
    build_marts,
    connect,
    load_reference,
    migrate,
    post_load_checks,
    sql_literal,
)

log = logging.getLogger(__name__)

CORE_TABLES = {
    "villages": ("core.villages", "core.villages_history"),
    "households": ("core.households", "core.households_history"),
    "members": ("core.members", None),
    "assistance": ("core.assistance", None),
    "targets": ("core.targets", None),
}
PERSON_ID_SOURCES = (
    "SELECT head_id_number AS id FROM core.households_history",
    "SELECT id_number AS id FROM core.members",
)


# A county whose delivery volume (rows of one entity on one date) jumps above 3x or falls
# below a third of the median of its own earlier change deliveries, once it has five.
# Like with like: a county's first delivery of an entity is its initial registration and
# is left out of the history. Files of held deliveries do not count.
VOLUME_JUMP_FACTOR = 3
VOLUME_JUMP_HISTORY = 5
VOLUME_JUMPS = f"""
    WITH per_day AS (
        SELECT source, entity, delivery_date, sum(rows) AS rows
        FROM audit.files
        WHERE outcome = 'loaded' AND source <> 'national' AND rows IS NOT NULL
        GROUP BY ALL
    ),
    numbered AS (
        SELECT *, row_number() OVER (PARTITION BY source, entity ORDER BY delivery_date) AS n
        FROM per_day
    ),
    judged AS (
        SELECT *,
            median(CASE WHEN n > 1 THEN rows END) OVER w AS usual,
            count(CASE WHEN n > 1 THEN rows END) OVER w AS history
        FROM numbered
        WINDOW w AS (PARTITION BY source, entity ORDER BY delivery_date
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    )
    SELECT f.delivery_date, f.file_name, f.entity,
           format('{{}} rows of {{}} from county {{}}; its usual change delivery is {{}} rows',
                  j.rows, j.entity, j.source, j.usual) AS detail
    FROM judged j
    JOIN audit.files f USING (source, entity, delivery_date)
    WHERE j.n > 1 AND j.history >= {VOLUME_JUMP_HISTORY} AND f.outcome = 'loaded'
      AND (j.rows > {VOLUME_JUMP_FACTOR} * j.usual + 10 OR {VOLUME_JUMP_FACTOR} * j.rows + 10 < j.usual)
"""


def held_message(summary: dict) -> str | None:
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
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


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


def _replace(con: duckdb.DuckDBPyConnection, table: str, source: str) -> int:
    """Replace every row of ``table`` with the rows of ``source`` (a FROM clause), within
    the transaction.

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
    con.execute(f"INSERT INTO {schema}.{staged} ({cols}) SELECT {cols} FROM {source}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {schema}.{staged} RENAME TO {name}")
    if comment:
        con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(comment)}")
    for column, text in column_comments:
        con.execute(f'COMMENT ON COLUMN {table}."{column}" IS {sql_literal(text)}')
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


def _file_rows(ledger: dict, ingested: dict, validation: dict, run_id: str) -> list[tuple]:
    by_name: dict[str, dict] = {e["file_name"]: dict(e) for e in ledger["files"]}
    for entity in ENTITIES:
        for res in ingested[entity]:
            entry = by_name[res["file_name"]]
            entry.update({k: res[k] for k in ("format", "encoding", "delimiter", "rows")})
            entry["outcome"] = "loaded" if res["outcome"] == "loaded" else "held"
            if res["outcome"] == "held":
                entry["reason"], entry["detail"] = res["reason"], res["detail"]
        for name in validation[entity]["batch_held_files"]:
            by_name[name].update(
                outcome="held",
                reason="file_mostly_invalid",
                detail="more than half of the file's rows fail error-severity rules",
            )
    rows = []
    for e in by_name.values():
        rows.append(
            (
                e["delivery_date"],
                e["file_name"],
                e.get("entity"),
                e.get("source"),
                e.get("format"),
                e.get("encoding"),
                e.get("delimiter"),
                e.get("size_bytes"),
                e.get("sha256"),
                e.get("rows") if e.get("rows") is not None else e.get("manifest_rows"),
                e["outcome"],
                e.get("reason"),
                e.get("detail"),
                run_id,
                f"{e['delivery_date']}/{e['file_name']}",  # under the landing root
            )
        )
    return rows


def _rebuild_row_audit(con: duckdb.DuckDBPyConnection, staging: Path, transform_dir: Path) -> None:
    """audit.quarantine and audit.reconciliation over every delivery, from staging."""
    parts = []
    for entity in ENTITIES:
        rejects = staging / "rejects" / entity
        if list(rejects.glob("delivery_date=*/*.parquet")):
            parts.append(
                f"SELECT '{entity}' AS entity, _delivery_date, _file_name, _row_number, record_key,"
                f" 'held' AS outcome, reason, detail, NULL::DATE AS effective_date"
                f" FROM read_parquet('{rejects}/delivery_date=*/*.parquet', union_by_name = true)"
            )
        parts.append(
            f"SELECT '{entity}' AS entity, _delivery_date, _file_name, _row_number, record_key,"
            f" outcome, reason, NULL::VARCHAR AS detail, effective_date"
            f" FROM read_parquet('{transform_parts(transform_dir, f'{entity}_outcomes')}')"
        )
    # A view, not a table: at national scale every delivered row (120 M) would have to
    # fit in memory; each use reads the small Parquet columns again instead.
    con.execute("CREATE OR REPLACE TEMP VIEW row_outcomes AS " + " UNION ALL ".join(parts))

    warn_parts = [
        f"SELECT '{e}' AS entity, _delivery_date, _file_name, _row_number, record_key, reason, detail"
        f" FROM read_parquet('{staging / 'warnings' / e}/delivery_date=*/*.parquet')"
        for e in ENTITIES
        if list((staging / "warnings" / e).glob("delivery_date=*/*.parquet"))
    ]
    warn_parts.append(
        "SELECT entity, _delivery_date, _file_name, _row_number, record_key, reason, detail"
        f" FROM read_parquet('{transform_parts(transform_dir, 'cross_warnings')}')"
    )
    # One row per warned delivered row: its first reason, every finding in the detail.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE row_warnings AS"
        " SELECT entity, _delivery_date, _file_name, _row_number, any_value(record_key) AS record_key,"
        " min(reason) AS reason,"
        " string_agg(DISTINCT reason || coalesce(': ' || detail, ''), '; ') AS detail"
        " FROM (" + " UNION ALL ".join(warn_parts) + ") GROUP BY ALL"
    )

    # Per delivered file, its rows by outcome: one streaming pass over the outcomes. The
    # statements below join this small table, never the outcomes themselves on the build
    # side of a hash join (at national scale 120 M rows would not fit beside the load).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE outcome_files AS
        SELECT _delivery_date AS delivery_date, _file_name AS file_name,
               count(*) FILTER (WHERE outcome = 'applied') AS applied,
               count(*) FILTER (WHERE outcome = 'stale') AS stale,
               count(*) FILTER (WHERE outcome = 'duplicate') AS duplicate,
               count(*) FILTER (WHERE outcome = 'parked') AS parked,
               count(*) FILTER (WHERE outcome IN ('held', 'conflict')) AS held,
               count(*) AS listed
        FROM row_outcomes GROUP BY ALL
        """
    )
    # Warned rows that were applied (a warning on a row held for another reason is told
    # by that reason). The warnings are the small side of the join.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE applied_warnings AS
        SELECT w.*
        FROM row_warnings w
        JOIN (SELECT entity, _delivery_date, _file_name, _row_number FROM row_outcomes
              WHERE outcome = 'applied') o
          USING (entity, _delivery_date, _file_name, _row_number)
        """
    )

    con.execute("DELETE FROM audit.quarantine")
    con.execute(
        """
        INSERT INTO audit.quarantine
        SELECT _delivery_date, _file_name, entity, _row_number, record_key, outcome, reason, detail,
               CASE WHEN outcome = 'parked' THEN effective_date END
        FROM row_outcomes WHERE outcome <> 'applied'
        UNION ALL
        SELECT _delivery_date, _file_name, entity, _row_number, record_key, 'warned', reason,
               detail, NULL
        FROM applied_warnings
        UNION ALL
        SELECT f.delivery_date, f.file_name, coalesce(f.entity, 'unknown'), NULL, NULL, 'held',
               f.reason, f.detail, NULL
        FROM audit.files f
        ANTI JOIN outcome_files o USING (delivery_date, file_name)
        WHERE f.outcome = 'held'
        UNION ALL
        SELECT delivery_date, file_name, entity, NULL, NULL, 'warned', 'volume_jump', detail, NULL
        FROM ("""
        + VOLUME_JUMPS
        + """)
        """
    )
    con.execute("DELETE FROM audit.reconciliation")
    con.execute(
        """
        INSERT INTO audit.reconciliation
        WITH warned AS (
            SELECT _delivery_date AS delivery_date, _file_name AS file_name, count(*) AS warned
            FROM applied_warnings GROUP BY ALL
        )
        SELECT f.delivery_date, f.file_name, f.entity,
               CASE WHEN p.listed IS NULL THEN coalesce(f.rows, 0) ELSE coalesce(f.rows, p.listed) END,
               coalesce(p.applied, 0), coalesce(p.stale, 0), coalesce(p.duplicate, 0),
               coalesce(p.parked, 0),
               CASE WHEN p.listed IS NULL THEN coalesce(f.rows, 0) ELSE p.held END,
               coalesce(w.warned, 0)
        FROM audit.files f
        LEFT JOIN outcome_files p USING (delivery_date, file_name)
        LEFT JOIN warned w USING (delivery_date, file_name)
        WHERE f.outcome <> 'late'
        """
    )
    con.execute("DROP TABLE outcome_files")
    con.execute("DROP TABLE applied_warnings")


def _parquet(transform_dir: Path, name: str) -> str:
    return f"read_parquet('{transform_parts(transform_dir, name)}')"


def _update_person_keys(con: duckdb.DuckDBPyConnection, secret_file: Path) -> int:
    """Keys for every person ID not keyed yet, hashed inside DuckDB.

    The new IDs go straight into the table (no intermediate table: one dropped inside the
    transaction would hold its memory until the commit)."""
    if con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database()"
        " AND schema_name = 'core' AND table_name = 'person_keys'"
        " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ).fetchone()[0]:  # type: ignore[index]
        _replace(con, "core.person_keys", "core.person_keys")
    secret = settings.pseudonym_secret(secret_file)
    inserted = con.execute(
        "INSERT INTO core.person_keys SELECT id, "
        + pseudonym.person_key_sql("id")
        + " FROM (SELECT DISTINCT s.id FROM ("
        + " UNION ALL ".join(PERSON_ID_SOURCES)
        + ") s ANTI JOIN core.person_keys k ON k.id_number = s.id WHERE s.id IS NOT NULL)",
        pseudonym.person_key_params(secret),
    ).fetchone()
    return int(inserted[0]) if inserted else 0


def load_run(
    paths: Paths,
    *,
    delivery_date: dt.date,
    run_id: str,
    started_at: str,
    ledger: dict,
    ingested: dict,
    validation: dict,
    transform_dir: Path,
) -> dict:
    d = delivery_date.isoformat()
    con = connect(paths.warehouse)
    try:
        con.execute("BEGIN TRANSACTION")
        applied = migrate(con)
        load_reference(con)
        counts: dict[str, int] = {}
        sources = []
        for entity, (table, hist_table) in CORE_TABLES.items():
            sources.append((table, f"{entity}_current"))
            if hist_table:
                sources.append((hist_table, f"{entity}_history"))
        sources += [(f"core.{t}", t) for t in ("status_events", "exit_checks")]
        for table, output in sources:
            started = time.perf_counter()
            counts[table] = _replace(con, table, _parquet(transform_dir, output))
            log.info(
                "load: %s, %d rows in %.1fs", table, counts[table], time.perf_counter() - started
            )
        started = time.perf_counter()
        counts["new_person_keys"] = _update_person_keys(con, paths.secret)
        log.info(
            "load: %d new person keys in %.1fs",
            counts["new_person_keys"],
            time.perf_counter() - started,
        )

        con.execute("DELETE FROM audit.files WHERE delivery_date = ?", [d])
        file_rows = _file_rows(ledger, ingested, validation, run_id)
        if file_rows:
            con.executemany(
                "INSERT INTO audit.files (delivery_date, file_name, entity, source, format, encoding,"
                " delimiter, size_bytes, sha256, rows, outcome, reason, detail, run_id, path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                file_rows,
            )
        for late in ledger["late"]:
            con.execute(
                "INSERT INTO audit.files (delivery_date, file_name, size_bytes, outcome, reason, detail, run_id)"
                " VALUES (?, ?, ?, 'late', 'late_file', ?, ?) ON CONFLICT DO NOTHING",
                [
                    late["delivery_date"],
                    late["file_name"],
                    late["size_bytes"],
                    late["detail"],
                    run_id,
                ],
            )

        con.execute("DELETE FROM audit.validation_results WHERE delivery_date = ?", [d])
        for entity in ENTITIES:
            for r in validation[entity]["results"]:
                con.execute(
                    "INSERT INTO audit.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        d,
                        entity,
                        r["suite"],
                        r.get("suite_version"),
                        r["expectation"],
                        r["severity"],
                        r.get("evaluated"),
                        r.get("failed"),
                        list(r.get("sample_keys") or []),
                    ],
                )

        started = time.perf_counter()
        _rebuild_row_audit(con, paths.staging, transform_dir)
        log.info("load: quarantine and reconciliation in %.1fs", time.perf_counter() - started)

        totals = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE f.outcome = 'held'),"
            " coalesce(sum(r.received), 0), coalesce(sum(r.applied), 0), coalesce(sum(r.held), 0)"
            " FROM audit.files f LEFT JOIN audit.reconciliation r USING (delivery_date, file_name)"
            " WHERE f.delivery_date = ? AND f.outcome <> 'late'",
            [d],
        ).fetchone()
        assert totals is not None
        summary = {
            "delivery_date": d,
            "migrations_applied": applied,
            "tables": counts,
            "files": totals[0],
            "files_held": totals[1],
            "rows_received": int(totals[2]),
            "rows_applied": int(totals[3]),
            "rows_held": int(totals[4]),
            "late_files": [f"{x['delivery_date']}/{x['file_name']}" for x in ledger["late"]],
        }
        held = con.execute(
            "SELECT reason, count(*) FROM audit.quarantine"
            " WHERE delivery_date = ? AND outcome IN ('held', 'conflict') GROUP BY ALL ORDER BY 2 DESC",
            [d],
        ).fetchall()
        summary["held_reasons"] = {r: n for r, n in held}
        summary["held_message"] = message = held_message(summary)
        con.execute(
            "INSERT INTO audit.runs (run_id, delivery_date, started_at, loaded_at, code_version,"
            " files, files_held, rows_received, rows_applied, rows_held, summary, state, message)"
            " VALUES (?, ?, ?, current_timestamp, ?, ?, ?, ?, ?, ?, ?, 'success', ?)",
            [
                run_id,
                d,
                started_at,
                _code_version(),
                summary["files"],
                summary["files_held"],
                summary["rows_received"],
                summary["rows_applied"],
                summary["rows_held"],
                json.dumps(summary),
                message,
            ],
        )
        build_marts(con)
        checks = post_load_checks(con)
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
    from importlib.metadata import version

    try:
        return version("povdb")
    except Exception:
        return "unknown"
