"""Publishing ``analytics.duckdb``: the PII-free snapshot analysts open read-only.

The snapshot is built aside, in a file that DuckDB 1.x clients can read (storage version
v1.0.0), and swapped in with an atomic rename: an analyst holding the old file open keeps
reading it, the next connection sees the new one, and a crash leaves the old one whole.

What the snapshot drops, keys or coarsens (resident IDs keyed, names dropped, birth dates
as birth year and age band) is declared in ``contract/publication.py``; the queries that
do it are ``publication/<schema>.<table>.sql`` beside this module, and each published
table is checked against its declaration as it is built. Schema and table creation,
comments, the copies of whole tables and the ``_latest`` views of the marts declared there
are built here from the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import duckdb

import settings
from contract import pseudonym, publication
from settings import Paths, faults
from warehouse import sqlfiles
from warehouse.secret import verified_secret
from warehouse.sqlfiles import sql_literal

log = logging.getLogger(__name__)

STORAGE_VERSION = "v1.0.0"


def _tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?"
            " ORDER BY table_name",
            [catalog, schema],
        ).fetchall()
    ]


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> set[str]:
    schema, name = table.split(".")
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns()"
            " WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [catalog, schema, name],
        ).fetchall()
    }


def _check_columns(con: duckdb.DuckDBPyConnection, table: str, declared: set[str]) -> None:
    """Fail unless the snapshot's ``table`` has the columns its declaration gives it."""
    published = _columns(con, "snap", table)
    if published != declared:
        raise RuntimeError(
            f"snapshot table {table} disagrees with contract/publication.py:"
            f" published but not declared {sorted(published - declared)},"
            f" declared but not published {sorted(declared - published)}"
        )


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


def _refuse_unkeyed_persons(con: duckdb.DuckDBPyConnection) -> None:
    """Fail before anything is published if a core table of ``wh`` holds a resident ID
    without the key the load stores beside it (the post-load check ``persons_keyed``): the
    snapshot would publish a NULL key for that person."""
    # The check names the warehouse's tables unqualified.
    con.execute("USE wh")
    try:
        found = con.execute(
            "SELECT t, count(*) FROM (" + sqlfiles.read("checks/persons_keyed.sql") + ")"
            " GROUP BY t ORDER BY t"
        ).fetchall()
    finally:
        con.execute("USE memory")
    if found:
        raise RuntimeError(
            "the warehouse holds resident IDs without their person keys ("
            + ", ".join(f"{table}: {n} rows" for table, n in found)
            + "). The load keys every row it writes: a migration applied since the last load"
            " (by the record of a failed run) leaves the rows already there unkeyed, or the"
            " warehouse was changed outside the pipeline. Nothing was published, the last"
            " snapshot stands; the next load keys every row: re-run the latest delivery date"
            " (docs/runbook.md)."
        )


def _publish_tables(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> None:
    """The declared tables of ``core`` and ``audit`` from ``wh`` into ``snap``, each checked
    against its declaration. ``audit.quarantine`` reads the temp table quarantine_keys."""
    for published in publication.TABLES:
        started = time.perf_counter()
        select = (
            f"SELECT * FROM wh.{published.name}"
            if published.copied_whole
            else sqlfiles.read(f"publication/{published.name}.sql")
        )
        con.execute(
            f"CREATE TABLE snap.{published.name} AS {select}",
            sqlfiles.parameters(select, {"as_of": as_of}),
        )
        declared = published.published_columns(_columns(con, "wh", published.name))
        _check_columns(con, published.name, declared)
        log.info("publish: %s in %.1fs", published.name, time.perf_counter() - started)


def _create_latest_views(con: duckdb.DuckDBPyConnection) -> None:
    """``<mart>_latest`` for each mart of ``publication.LATEST_VIEWS``: its rows of the
    snapshot's as-of date, with the mart's comments."""
    # A view keeps its query as written: created inside the snapshot, it names the
    # snapshot's own tables wherever the file is opened.
    con.execute("USE snap")
    try:
        for table in publication.LATEST_VIEWS:
            view = f"{table}_latest"
            con.execute(
                f"CREATE VIEW {view} AS SELECT * FROM {table}"
                f" WHERE as_of_date = (SELECT as_of_date FROM {publication.SNAPSHOT.name})"
            )
            con.execute(
                f"COMMENT ON VIEW {view} IS "
                + sql_literal(
                    f"Grain: as {table}, its rows of the snapshot's as-of date"
                    f" ({publication.SNAPSHOT.name}.as_of_date) only."
                )
            )
            schema, name = table.split(".")
            for column, comment in con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'snap'"
                " AND schema_name = ? AND table_name = ? AND comment IS NOT NULL",
                [schema, name],
            ).fetchall():
                con.execute(f'COMMENT ON COLUMN {view}."{column}" IS {sql_literal(comment)}')
    finally:
        con.execute("USE memory")


def publish_snapshot(paths: Paths, *, delivery_date: dt.date, run_id: str) -> dict:
    publication.check()
    target = paths.analytics
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Left-overs of a publish that died (killed, disk full): only the run holding the
    # data-root lock publishes, so none of them is in use.
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET memory_limit = $limit", {"limit": settings.publish_memory()})
        con.execute(
            "SET temp_directory = $path", {"path": str(paths.warehouse.parent / "duckdb_tmp")}
        )
        con.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(paths.warehouse)})
        _refuse_unkeyed_persons(con)
        con.execute(
            "ATTACH $path AS snap (STORAGE_VERSION $version)",
            {"path": str(tmp), "version": STORAGE_VERSION},
        )
        as_of = con.execute(
            "SELECT max(delivery_date) FROM wh.audit.runs WHERE state = 'success'"
        ).fetchone()[0]  # type: ignore[index]
        for schema in ("ref", "core", "marts", "audit", "meta"):
            con.execute(f"CREATE SCHEMA snap.{schema}")

        # The persons the quarantine names: the keys the core tables store, and for IDs
        # that never made it into core (held rows) keys hashed here, kept nowhere; the hash
        # is contract.pseudonym's.
        con.execute(
            "CREATE TEMP TABLE quarantine_keys AS "
            + sqlfiles.read("publication/quarantine_kept_keys.sql")
        )
        unkeyed = sqlfiles.read("publication/quarantine_unkeyed_ids.sql")
        if con.execute(f"SELECT count(*) FROM ({unkeyed})").fetchone()[0]:  # type: ignore[index]
            con.execute(
                "INSERT INTO quarantine_keys SELECT id_number, "
                + pseudonym.person_key_sql("id_number")
                + f" FROM ({unkeyed})",
                pseudonym.person_key_params(verified_secret(paths)),
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
        _publish_tables(con, as_of)
        meta = publication.SNAPSHOT
        con.execute(
            f"CREATE TABLE snap.{meta.name} AS " + sqlfiles.read(f"publication/{meta.name}.sql"),
            {"as_of": as_of, "run_id": run_id, "schema_version": publication.SCHEMA_VERSION},
        )
        _check_columns(con, meta.name, {c.name for c in meta.columns})
        con.execute(f"COMMENT ON TABLE snap.{meta.name} IS {sql_literal(meta.description)}")
        _copy_comments(con)
        # Columns only the snapshot has are described by the declaration.
        described = [(t.name, c) for t in publication.TABLES for c in t.snapshot_columns]
        described += [(meta.name, c) for c in meta.columns]
        for table_name, column in described:
            con.execute(
                f'COMMENT ON COLUMN snap.{table_name}."{column.name}"'
                f" IS {sql_literal(column.description)}"
            )
        _create_latest_views(con)
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
