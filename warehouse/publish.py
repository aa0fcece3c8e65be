"""Publishing ``analytics.duckdb``: the PII-free snapshot analysts open read-only.

The snapshot is built aside, in a file that DuckDB 1.x clients can read (storage version
v1.0.0), and swapped in with an atomic rename: an analyst holding the old file open keeps
reading it, the next connection sees the new one, and a crash leaves the old one whole.
Resident IDs become keyed hashes, names are dropped, birth dates become birth year and
age band.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import duckdb

import settings
from contract import pseudonym
from settings import Paths, faults
from warehouse.loader import sql_literal

log = logging.getLogger(__name__)

STORAGE_VERSION = "v1.0.0"

# (published table, SELECT over the attached warehouse `wh`).
PUBLISHED: tuple[tuple[str, str], ...] = (
    ("core.villages", "SELECT * FROM wh.core.villages"),
    (
        "core.households",
        "SELECT h.* EXCLUDE (head_id_number, head_name), k.person_key AS head_key"
        " FROM wh.core.households h LEFT JOIN wh.core.person_keys k ON k.id_number = h.head_id_number",
    ),
    (
        "core.households_history",
        "SELECT h.* EXCLUDE (head_id_number, head_name), k.person_key AS head_key"
        " FROM wh.core.households_history h"
        " LEFT JOIN wh.core.person_keys k ON k.id_number = h.head_id_number",
    ),
    ("core.villages_history", "SELECT * FROM wh.core.villages_history"),
    (
        "core.members",
        "SELECT k.person_key, m.household_id, m.relation, m.sex, year(m.birth_date) AS birth_year,"
        " CASE WHEN age < 6 THEN '0-5' WHEN age < 16 THEN '6-15' WHEN age < 60 THEN '16-59'"
        "      ELSE '60+' END AS age_band,"
        " m.education, m.in_school, m.health, m.labour, m.medical_insured, m.member_status,"
        " m.updated_at, m.delivery_date, m.effective_date, h.status AS household_status"
        " FROM (SELECT *, date_diff('year', birth_date, $as_of::DATE)"
        "        - CASE WHEN strftime(birth_date, '%m%d') > strftime($as_of::DATE, '%m%d') THEN 1 ELSE 0 END AS age"
        "       FROM wh.core.members) m"
        " LEFT JOIN wh.core.person_keys k ON k.id_number = m.id_number"
        # The household's status, so that questions about the members of poor households
        # scan members alone: joining 90 M members to 30 M households takes seconds.
        " LEFT JOIN wh.core.households h ON h.household_id = m.household_id",
    ),
    ("core.assistance", "SELECT * FROM wh.core.assistance"),
    ("core.status_events", "SELECT * FROM wh.core.status_events"),
    ("core.exit_checks", "SELECT * FROM wh.core.exit_checks"),
    ("core.targets", "SELECT * FROM wh.core.targets"),
    ("audit.runs", "SELECT * FROM wh.audit.runs"),
    ("audit.files", "SELECT * FROM wh.audit.files"),
    ("audit.reconciliation", "SELECT * FROM wh.audit.reconciliation"),
    ("audit.validation_results", "SELECT * EXCLUDE (sample_keys) FROM wh.audit.validation_results"),
    (
        # Record keys of persons are pseudonymised; details (which may quote a value) stay
        # in the internal warehouse.
        "audit.quarantine",
        "SELECT q.delivery_date, q.file_name, q.entity, q.row_number,"
        " CASE WHEN q.entity = 'members' THEN p.person_key ELSE q.record_key END AS record_key,"
        " q.outcome, q.reason, q.applied_on"
        " FROM wh.audit.quarantine q LEFT JOIN quarantine_keys p ON p.id_number = q.record_key"
        " AND q.entity = 'members'",
    ),
)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?"
            " ORDER BY table_name",
            [catalog, schema],
        ).fetchall()
    ]


# Columns that exist only in the snapshot (pseudonymised or derived at publish).
PUBLISHED_COMMENTS = {
    "core.households.head_key": "Keyed hash (HMAC-SHA256, 32 hex) of the head's resident ID: stable across snapshots while the secret is kept; not reversible without it.",
    "core.households_history.head_key": "Keyed hash of the head's resident ID (see core.households.head_key).",
    "core.members.person_key": "Keyed hash (HMAC-SHA256, 32 hex) of the person's resident ID; the same person has the same key in every table and snapshot.",
    "core.members.birth_year": "Year of birth (the birth date itself is not published).",
    "core.members.household_status": "Current status of the person's household (core.households.status as of this snapshot): poor, lifted, returned or removed. Saves a join for questions about the members of poor households.",
    "core.members.age_band": "Age at the snapshot's as-of date: 0-5, 6-15 (compulsory schooling), 16-59, 60+.",
    "audit.quarantine.record_key": "Key of the record; for members the person_key (keyed hash), never the resident ID.",
    "meta.snapshot.as_of_date": "Latest delivery date (Asia/Shanghai) included in this snapshot.",
    "meta.snapshot.deliveries_included": "Every delivery date loaded into this snapshot.",
    "meta.snapshot.code_version": "Version of the pipeline that built it.",
    "meta.snapshot.run_id": "Airflow run that published it.",
    "meta.snapshot.published_at": "When it was published (timestamp with time zone).",
}


def _copy_comments(con: duckdb.DuckDBPyConnection) -> None:
    for schema, table, comment in con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables()"
        " WHERE database_name = 'wh' AND comment IS NOT NULL"
        " UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views()"
        " WHERE database_name = 'wh' AND comment IS NOT NULL"
    ).fetchall():
        if _tables(con, "snap", schema).count(table):
            con.execute(f"COMMENT ON TABLE snap.{schema}.{table} IS {sql_literal(comment)}")
    published_cols = {
        (s, t, c)
        for s, t, c in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = 'snap'"
        ).fetchall()
    }
    for schema, table, column, comment in con.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()"
        " WHERE database_name = 'wh' AND comment IS NOT NULL"
    ).fetchall():
        if (schema, table, column) in published_cols:
            con.execute(
                f'COMMENT ON COLUMN snap.{schema}.{table}."{column}" IS {sql_literal(comment)}'
            )


def publish_snapshot(paths: Paths, *, delivery_date: dt.date, run_id: str) -> dict:
    target = paths.analytics
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Left-overs of a publish that died (killed, disk full): only the run holding the
    # data-root lock publishes, so none of them is in use.
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute(f"SET memory_limit = '{settings.publish_memory()}'")
        con.execute(
            f"SET temp_directory = {sql_literal(str(paths.warehouse.parent / 'duckdb_tmp'))}"
        )
        con.execute(f"ATTACH '{paths.warehouse}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{tmp}' AS snap (STORAGE_VERSION '{STORAGE_VERSION}')")
        as_of = con.execute(
            "SELECT max(delivery_date) FROM wh.audit.runs WHERE state = 'success'"
        ).fetchone()[0]  # type: ignore[index]
        for schema in ("ref", "core", "marts", "audit", "meta"):
            con.execute(f"CREATE SCHEMA snap.{schema}")

        # Keys for persons named in the quarantine whose ID never made it into core
        # (held rows): hashed here, kept nowhere.
        con.execute(
            "CREATE TEMP TABLE quarantine_keys AS SELECT DISTINCT q.record_key AS id_number"
            " FROM wh.audit.quarantine q"
            " ANTI JOIN wh.core.person_keys k ON k.id_number = q.record_key"
            " WHERE q.entity = 'members' AND q.record_key IS NOT NULL"
        )
        if con.execute("SELECT count(*) FROM quarantine_keys").fetchone()[0]:  # type: ignore[index]
            secret = settings.pseudonym_secret(paths.secret)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE quarantine_keys AS SELECT id_number, "
                + pseudonym.person_key_sql("id_number")
                + " AS person_key FROM quarantine_keys",
                pseudonym.person_key_params(secret),
            )
        else:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE quarantine_keys"
                " (id_number VARCHAR, person_key VARCHAR)"
            )
        con.execute(
            "INSERT INTO quarantine_keys SELECT id_number, person_key FROM wh.core.person_keys"
            " WHERE id_number IN (SELECT record_key FROM wh.audit.quarantine WHERE entity = 'members')"
        )

        for schema in ("ref", "marts"):
            for table in _tables(con, "wh", schema):
                con.execute(
                    f"CREATE TABLE snap.{schema}.{table} AS SELECT * FROM wh.{schema}.{table}"
                )
        # Views of marts (marts.data_quality_timeliness: over the record of attempts) are
        # published as tables, as of the publish.
        for (view,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'wh'"
            " AND schema_name = 'marts' ORDER BY view_name"
        ).fetchall():
            con.execute(f"CREATE TABLE snap.marts.{view} AS SELECT * FROM wh.marts.{view}")
        for name, select in PUBLISHED:
            params = {"as_of": as_of} if "$as_of" in select else {}
            started = time.perf_counter()
            con.execute(f"CREATE TABLE snap.{name} AS {select}", params)
            log.info("publish: %s in %.1fs", name, time.perf_counter() - started)
        con.execute(
            "CREATE TABLE snap.meta.snapshot AS SELECT"
            " $as_of::DATE AS as_of_date,"
            " (SELECT list(DISTINCT delivery_date ORDER BY delivery_date) FROM wh.audit.runs"
            "  WHERE state = 'success') AS deliveries_included,"
            " (SELECT code_version FROM wh.audit.runs WHERE state = 'success'"
            "  ORDER BY loaded_at DESC LIMIT 1) AS code_version,"
            " $run_id AS run_id, current_timestamp AS published_at",
            {"as_of": as_of, "run_id": run_id},
        )
        con.execute(
            "COMMENT ON TABLE snap.meta.snapshot IS 'Grain: one row. What this snapshot holds:"
            " as-of delivery date, the delivery dates included, code version, publish time.'"
        )
        _copy_comments(con)
        for column, comment in PUBLISHED_COMMENTS.items():
            schema, table, name = column.split(".")
            con.execute(
                f'COMMENT ON COLUMN snap.{schema}.{table}."{name}" IS {sql_literal(comment)}'
            )
        tables = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'snap'"
        ).fetchone()[0]  # type: ignore[index]
        con.execute("DETACH snap")
        con.execute("DETACH wh")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    _fsync(tmp)
    os.chmod(tmp, 0o644)
    faults.checkpoint("publish.before_swap")
    os.replace(tmp, target)
    _fsync(target.parent)
    faults.checkpoint("publish.swapped")
    return {"snapshot": str(target), "as_of_date": str(as_of), "tables": tables}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
