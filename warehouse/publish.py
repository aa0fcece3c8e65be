"""Publishing ``analytics.duckdb``: the PII-free snapshot analysts open read-only.

The snapshot is built aside, in a file that DuckDB 1.x clients can read (storage version
v1.0.0), and swapped in with an atomic rename: an analyst holding the old file open keeps
reading it, the next connection sees the new one, and a crash leaves the old one whole.

It is built one of two ways, with the same result (``povdb verify`` compares them):

- **full**: every table written afresh from the warehouse;
- **delta**: after an incremental load, a copy of the previous snapshot in which the rows
  of the households that load replaced (``audit.load_changes``) are deleted and inserted
  again, with the members whose age band moves between the two as-of dates; the small
  tables (ref, marts, audit, the entities the load rebuilds whole) are replaced whole.

A delta needs the previous snapshot to hold the load just before this one
(``meta.snapshot.loaded_at``); otherwise, after a full load, or once
``POVDB_PUBLISH_FULL_EVERY`` delta publishes have followed the last full one, the publish
is full (:func:`publish_plan` says which and why).

What the snapshot drops, keys or coarsens (resident IDs keyed, names dropped, birth dates
as birth year and age band) is declared in ``contract/publication.py``; the queries that
do it are ``publication/<schema>.<table>.sql`` beside this module, and each published
table is checked against its declaration as it is built. Schema and table creation,
comments, the copies of whole tables, the views of current versions (``core.villages``,
``core.households``) and the ``_latest`` views of the marts declared there are built here
from the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

import settings
from contract import pseudonym, publication
from settings import Paths, faults
from warehouse import sqlfiles
from warehouse.loader import bulk_writes
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
    # The snapshot's views so far: its views of current versions (the marts' _latest views
    # come after, with comments of their own).
    views = {
        f"{schema}.{view}"
        for schema, view in con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'snap'"
        ).fetchall()
    }
    for schema, table, comment in con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables()"
        " WHERE database_name = 'wh' AND comment IS NOT NULL"
        " UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views()"
        " WHERE database_name = 'wh' AND comment IS NOT NULL"
    ).fetchall():
        if _tables(con, "snap", schema).count(table):
            con.execute(f"COMMENT ON TABLE snap.{schema}.{table} IS {sql_literal(comment)}")
        elif f"{schema}.{table}" in views:
            con.execute(f"COMMENT ON VIEW snap.{schema}.{table} IS {sql_literal(comment)}")
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
    against its declaration, then the declared views of their current versions.
    ``audit.quarantine`` reads the temp table quarantine_keys."""
    for published in publication.TABLES:
        if published.current_of:
            continue
        started = time.perf_counter()
        select = _published_select(published)
        con.execute(
            f"CREATE TABLE snap.{published.name} AS {select}",
            sqlfiles.parameters(select, {"as_of": as_of}),
        )
        declared = published.published_columns(_columns(con, "wh", published.name))
        _check_columns(con, published.name, declared)
        log.info("publish: %s in %.1fs", published.name, time.perf_counter() - started)
    _create_current_views(con)


def _create_current_views(con: duckdb.DuckDBPyConnection) -> None:
    """The declared views of current versions (``PublishedTable.current_of``), inside the
    snapshot over its own history tables: the declared table's published columns, in the
    history's order, of the versions ``is_current``. Each checked against its
    declaration."""
    for published in publication.TABLES:
        if not published.current_of:
            continue
        declared = published.published_columns(_columns(con, "wh", published.name))
        schema, name = published.current_of.split(".")
        history = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = 'snap'"
                " AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, name],
            ).fetchall()
        ]
        if missing := declared - set(history):
            raise RuntimeError(
                f"snapshot view {published.name} needs columns {sorted(missing)} that"
                f" {published.current_of} does not publish (contract/publication.py)"
            )
        columns = ", ".join(f'"{c}"' for c in history if c in declared)
        # Created inside the snapshot, the view names the snapshot's own history wherever
        # the file is opened. A snapshot of schema version 2 holds tables by these names;
        # a delta never starts from one (publish_plan: another schema version is full).
        con.execute("USE snap")
        try:
            con.execute(
                f"CREATE OR REPLACE VIEW {published.name} AS"
                f" SELECT {columns} FROM {published.current_of} WHERE is_current"
            )
        finally:
            con.execute("USE memory")
        _check_columns(con, published.name, declared)


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
                f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {table}"
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


@dataclass(frozen=True)
class PublishPlan:
    """How the next publish writes the snapshot: ``mode`` full or delta, and why."""

    mode: str
    reason: str
    deltas_since_full: int = 0  # after this publish
    previous_as_of: dt.date | None = None  # the snapshot the delta starts from


def _household_tables() -> frozenset[str]:
    """The published core tables whose rows an incremental load replaces by household (the
    load's DERIVED tables placed by household_id): a delta replaces the same rows. The
    snapshot's views of current versions (core.villages, core.households) follow their
    histories; any other table is replaced whole."""
    from warehouse.load import DERIVED

    return frozenset(t for t, _, placed_by in DERIVED if placed_by and t.startswith("core."))


def _successful_loads(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, str | None]]:
    """(loaded_at, load_path) of the two latest successful loads of ``wh``, latest first."""
    return con.execute(
        "SELECT loaded_at, load_path FROM wh.audit.runs WHERE state = 'success'"
        " ORDER BY loaded_at DESC LIMIT 2"
    ).fetchall()


def publish_plan(paths: Paths, con: duckdb.DuckDBPyConnection | None = None) -> PublishPlan:
    """Whether the next publish of ``paths`` can be a delta of the snapshot in place, and
    why not when it cannot. ``con`` has the warehouse attached as ``wh`` (read-only);
    without it the warehouse is attached here."""
    own = con is None
    if con is None:
        con = duckdb.connect()
        con.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(paths.warehouse)})
    try:
        return _plan(paths, con)
    finally:
        if own:
            con.close()


def _plan(paths: Paths, con: duckdb.DuckDBPyConnection) -> PublishPlan:
    def full(reason: str) -> PublishPlan:
        return PublishPlan("full", reason)

    every = settings.publish_full_every()
    if every == 0:
        return full("POVDB_PUBLISH_FULL_EVERY is 0: every publish is full")
    loads = _successful_loads(con)
    if not loads:
        return full("no successful load")
    if loads[0][1] != "incremental":
        return full("the latest load took the full path")
    if not paths.analytics.exists():
        return full("no snapshot yet")
    try:
        con.execute("ATTACH $path AS prev (READ_ONLY)", {"path": str(paths.analytics)})
    except duckdb.Error as exc:
        return full(f"the snapshot cannot be opened ({exc})")
    try:
        columns = _columns(con, "prev", publication.SNAPSHOT.name)
        needed = {"schema_version", "as_of_date", "loaded_at", "deltas_since_full"}
        if not needed <= columns:
            return full("the snapshot predates delta publishes (meta.snapshot.loaded_at)")
        version, as_of, loaded_at, deltas = con.execute(
            "SELECT schema_version, as_of_date, loaded_at, deltas_since_full"
            f" FROM prev.{publication.SNAPSHOT.name}"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.execute("DETACH prev")
    if version != publication.SCHEMA_VERSION:
        return full(
            f"the snapshot has schema version {version}, this release publishes"
            f" {publication.SCHEMA_VERSION}"
        )
    # The snapshot holds the load before this one; or this one already (a publish retried
    # after its swap: replacing the same rows again changes nothing).
    if loaded_at not in [loaded for loaded, _ in loads]:
        return full(
            f"the snapshot holds an earlier load (loaded at {loaded_at}) than the one before"
            " the latest: a publish was missed"
        )
    if deltas >= every:
        return full(
            f"compaction: {deltas} delta publishes since the last full one"
            f" (POVDB_PUBLISH_FULL_EVERY={every})"
        )
    return PublishPlan(
        "delta",
        f"the snapshot holds the previous load; {deltas + 1} of {every} deltas before a full"
        " publish",
        deltas_since_full=deltas + 1,
        previous_as_of=as_of,
    )


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary macros the publication queries call (``publication/age_band.sql``)."""
    con.execute(sqlfiles.read("publication/age_band.sql"))


def _open(paths: Paths) -> duckdb.DuckDBPyConnection:
    """A connection with the warehouse attached read-only as ``wh``, refusing unkeyed
    persons."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET memory_limit = $limit", {"limit": settings.publish_memory()})
        bulk_writes(con)
        con.execute(
            "SET temp_directory = $path", {"path": str(paths.warehouse.parent / "duckdb_tmp")}
        )
        con.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(paths.warehouse)})
        _refuse_unkeyed_persons(con)
        define_macros(con)
    except BaseException:
        con.close()
        raise
    return con


def _quarantine_keys(con: duckdb.DuckDBPyConnection, paths: Paths) -> None:
    """The temp table quarantine_keys: the persons the quarantine names, with the keys the
    core tables store, and for IDs that never made it into core (held rows) keys hashed
    here, kept nowhere; the hash is contract.pseudonym's."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE quarantine_keys AS "
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


def _copy_ref_and_marts(con: duckdb.DuckDBPyConnection) -> None:
    """ref and marts whole; views of marts (marts.data_quality_timeliness, over the record
    of attempts) as tables, as of the publish."""
    for schema in ("ref", "marts"):
        for table in _tables(con, "wh", schema):
            con.execute(
                f"CREATE OR REPLACE TABLE snap.{schema}.{table} AS"
                f" SELECT * FROM wh.{schema}.{table}"
            )
    for (view,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = 'wh'"
        " AND schema_name = 'marts' ORDER BY view_name"
    ).fetchall():
        con.execute(f"CREATE OR REPLACE TABLE snap.marts.{view} AS SELECT * FROM wh.marts.{view}")


def _published_select(published: publication.PublishedTable) -> str:
    return (
        f"SELECT * FROM wh.{published.name}"
        if published.copied_whole
        else sqlfiles.read(f"publication/{published.name}.sql")
    )


def _reading(select: str, table: str) -> str:
    """The publication query ``select`` of ``table`` over the temp table ``delta_rows``
    instead of the warehouse's table: a publication query names its own table once, as
    ``wh.<schema>.<table>`` (it may join others)."""
    pattern = re.compile(rf"\bwh\.{re.escape(table)}\b")
    if len(pattern.findall(select)) != 1:
        raise RuntimeError(
            f"the publication query of {table} must name wh.{table} exactly once to be"
            " published by delta"
        )
    return pattern.sub("delta_rows", select)


def _write_full(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> None:
    for schema in ("ref", "core", "marts", "audit", "meta"):
        con.execute(f"CREATE SCHEMA snap.{schema}")
    _copy_ref_and_marts(con)
    _publish_tables(con, as_of)


def _write_delta(
    con: duckdb.DuckDBPyConnection, as_of: dt.date | None, previous_as_of: dt.date | None
) -> None:
    """Bring the copy of the previous snapshot (``snap``) up to the warehouse: the tables
    placed by household lose and regain the rows of ``audit.load_changes``' households
    (members also those whose age band moves from ``previous_as_of`` to ``as_of``), every
    other table is replaced whole."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed AS"
        " SELECT DISTINCT household_id FROM wh.audit.load_changes"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE aged AS " + sqlfiles.read("publication/members_aged.sql"),
        {"previous_as_of": previous_as_of, "as_of": as_of},
    )
    changed, aged = con.execute(
        "SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM aged)"
    ).fetchone()  # type: ignore[misc]
    log.info(
        "publish: delta of %d households, %d members whose age band moved (%s to %s)",
        changed,
        aged,
        previous_as_of,
        as_of,
    )
    # Tables of the previous snapshot the warehouse no longer has (a mart dropped) go.
    for schema in ("ref", "marts"):
        kept = set(_tables(con, "wh", schema)) | {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = 'wh'"
                " AND schema_name = ?",
                [schema],
            ).fetchall()
        }
        for table in set(_tables(con, "snap", schema)) - kept:
            con.execute(f"DROP TABLE snap.{schema}.{table}")
    _copy_ref_and_marts(con)
    by_household = _household_tables()
    for published in publication.TABLES:
        if published.current_of:
            continue  # a view of its history's rows, which this loop replaces
        started = time.perf_counter()
        select = _published_select(published)
        params = sqlfiles.parameters(select, {"as_of": as_of})
        if published.name in by_household:
            where = "household_id IN (SELECT household_id FROM changed)"
            if published.name == "core.members":
                where += " OR person_key IN (SELECT person_key FROM aged)"
            deleted = con.execute(f"DELETE FROM snap.{published.name} WHERE {where}").fetchall()
            # The rows to publish again, found by a scan of the key columns alone and read
            # by row id: a filter on the published query would come after its joins, over
            # every row (30 s for core.members at national scale, against 2 s).
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE delta_rows AS SELECT * FROM wh.{published.name}"
                f" WHERE rowid IN (SELECT rowid FROM wh.{published.name} WHERE {where})"
            ).fetchall()
            inserted = con.execute(
                f"INSERT INTO snap.{published.name} BY NAME {_reading(select, published.name)}",
                params,
            ).fetchall()
            con.execute("DROP TABLE delta_rows")
            log.info(
                "publish: %s, %d rows deleted, %d inserted in %.1fs",
                published.name,
                deleted[0][0],
                inserted[0][0],
                time.perf_counter() - started,
            )
        else:
            con.execute(f"CREATE OR REPLACE TABLE snap.{published.name} AS {select}", params)
            log.info("publish: %s in %.1fs", published.name, time.perf_counter() - started)
        declared = published.published_columns(_columns(con, "wh", published.name))
        _check_columns(con, published.name, declared)
    _create_current_views(con)


def build_snapshot(
    paths: Paths, dest: Path, *, run_id: str, plan: PublishPlan | None = None
) -> dict:
    """Write the snapshot of ``paths``' warehouse to ``dest`` (which must not exist): in full,
    or, when ``plan`` is a delta, as a copy of the published snapshot brought up to date.
    Nothing is swapped: :func:`publish_snapshot` does that; ``povdb verify`` builds a full
    one to compare with the published one."""
    publication.check()
    plan = plan or PublishPlan("full", "asked")
    if dest.exists():
        raise FileExistsError(f"{dest} exists already")
    con = _open(paths)
    try:
        as_of = con.execute(
            "SELECT max(delivery_date) FROM wh.audit.runs WHERE state = 'success'"
        ).fetchone()[0]  # type: ignore[index]
        if plan.mode == "delta":
            started = time.perf_counter()
            shutil.copyfile(paths.analytics, dest)
            log.info("publish: previous snapshot copied in %.1fs", time.perf_counter() - started)
            con.execute("ATTACH $path AS snap", {"path": str(dest)})
        else:
            con.execute(
                "ATTACH $path AS snap (STORAGE_VERSION $version)",
                {"path": str(dest), "version": STORAGE_VERSION},
            )
        _quarantine_keys(con, paths)
        if plan.mode == "delta":
            _write_delta(con, as_of, plan.previous_as_of)
        else:
            _write_full(con, as_of)
        meta = publication.SNAPSHOT
        con.execute(
            f"CREATE OR REPLACE TABLE snap.{meta.name} AS "
            + sqlfiles.read(f"publication/{meta.name}.sql"),
            {
                "as_of": as_of,
                "run_id": run_id,
                "schema_version": publication.SCHEMA_VERSION,
                "publish_mode": plan.mode,
                "deltas_since_full": plan.deltas_since_full,
            },
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
        started = time.perf_counter()
        con.execute("DETACH snap")
        log.info("publish: checkpointed in %.1fs", time.perf_counter() - started)
        con.execute("DETACH wh")
    except BaseException:
        con.close()
        dest.unlink(missing_ok=True)
        dest.with_name(dest.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    return {
        "as_of_date": str(as_of),
        "tables": tables,
        "publish_mode": plan.mode,
        "publish_reason": plan.reason,
    }


def publish_snapshot(paths: Paths, *, delivery_date: dt.date, run_id: str) -> dict:
    """Publish ``paths``' warehouse as ``analytics.duckdb``: built aside (by delta when
    :func:`publish_plan` allows), fsynced and renamed over the old snapshot."""
    target = paths.analytics
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Left-overs of a publish that died (killed, disk full): only the run holding the
    # data-root lock publishes, so none of them is in use.
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    plan = publish_plan(paths)
    log.info("publish: %s (%s)", plan.mode, plan.reason)
    summary = build_snapshot(paths, tmp, run_id=run_id, plan=plan)
    _fsync(tmp)
    os.chmod(tmp, 0o644)
    faults.checkpoint("publish.before_swap")
    os.replace(tmp, target)
    _fsync(target.parent)
    faults.checkpoint("publish.swapped")
    return {"snapshot": str(target), **summary}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
