"""``povdb verify``: the live warehouse against the reference rebuild.

Under the data-root lock (the one the nightly holds: a verify and a nightly never run at
once) the whole warehouse is rebuilt from staging by the reference path: the transform
over every date's staging, then ``warehouse.load.rebuild_shadow`` into a new DuckDB file
beside the live one, ``warehouse/.verify-<stamp>.duckdb``. The live warehouse is only
opened read-only (its ledgers are copied into the shadow); the snapshot is not opened.
Every table is compared by digest (``warehouse.digest``, with its list of what digests
leave out) and every post-load check runs on the shadow. The published snapshot, which a
publish may have written by delta, is compared the same way with a full publish of the
live warehouse (``warehouse/.verify-<stamp>-snapshot.duckdb``); it must hold the latest
load. When all tables are equal and no check of severity error finds rows, the shadows and
the transform output are removed; otherwise the shadows are kept for diffing
(docs/runbook.md, "Verify: the warehouse against the reference rebuild"). The DAG
``poverty_verify`` calls the ``*_task`` functions.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import settings
from pipeline import lock, notify
from pipeline.steps import is_transient
from settings import Paths, paths
from transforms import build
from warehouse import digest, secret
from warehouse.load import rebuild_shadow, unapplied_migrations
from warehouse.loader import CheckResult, connect
from warehouse.publish import build_snapshot
from warehouse.sqlfiles import sql_literal

log = logging.getLogger(__name__)


RUNBOOK_SECTION = '"Verify: the warehouse against the reference rebuild"'


class CannotVerify(RuntimeError):
    """Verify did not run: the lock is held, there is no warehouse, staging holds a date the
    warehouse has not loaded, or the secret is missing or not the warehouse's. Nothing was
    written."""


@dataclass(frozen=True)
class TableResult:
    """One table on both sides; rows are None on the side that lacks the table."""

    table: str
    rows_live: int | None
    rows_reference: int | None
    equal: bool


@dataclass(frozen=True)
class Verdict:
    """What a verify found, with the report printed and written as JSON."""

    live: Path
    tables: list[TableResult]
    checks: list[CheckResult]
    left_out: Mapping[str, tuple[str, ...]]  # columns digests leave out, per table on both sides
    shadow: Path | None  # kept when something differs or a check fails
    seconds: float
    # The published snapshot against a full publish of the live warehouse: its tables, or
    # why it was not compared (None: compared); the full publish, kept when one differs.
    snapshot: Path | None = None
    snapshot_tables: list[TableResult] = field(default_factory=list)
    snapshot_left_out: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    snapshot_problem: str | None = None
    snapshot_shadow: Path | None = None

    @property
    def differ(self) -> list[str]:
        return [t.table for t in self.tables if not t.equal] + [
            f"snapshot {t.table}" for t in self.snapshot_tables if not t.equal
        ]

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.failed and c.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.differ and not self.failed_checks and self.snapshot_problem is None

    def diff_command(self, table: str) -> str | None:
        """A shell command listing the rows of ``table`` found on one side only, without the
        columns digests leave out; None when a side lacks the table. ``snapshot <table>``
        names a table of the snapshot. It runs DuckDB from Python: the warehouse's storage
        format is newer than the DuckDB CLI's (1.x, kept for the snapshot's analysts)."""
        if table.startswith("snapshot "):
            table = table.removeprefix("snapshot ")
            left_out = self.snapshot_left_out.get(table)
            live_file, shadow = self.snapshot, self.snapshot_shadow
        else:
            left_out = self.left_out.get(table)
            live_file, shadow = self.live, self.shadow
        if shadow is None or live_file is None or left_out is None:
            return None
        select = "*" if not left_out else f"* EXCLUDE ({', '.join(left_out)})"
        live, ref = f"SELECT {select} FROM live.{table}", f"SELECT {select} FROM shadow.{table}"
        sql = (
            f"SET memory_limit = {sql_literal(settings.load_memory())};"
            f" ATTACH {sql_literal(str(live_file))} AS live (READ_ONLY);"
            f" ATTACH {sql_literal(str(shadow))} AS shadow (READ_ONLY);"
            f" SELECT 'live only' AS side, * FROM ({live} EXCEPT ALL {ref})"
            f" UNION ALL SELECT 'reference only', * FROM ({ref} EXCEPT ALL {live});"
        )
        show = "import duckdb, sys; duckdb.sql(sys.argv[1]).show(max_rows=100)"
        return f'{sys.executable} -c "{show}" "{_shell_escape(sql)}"'

    def headline(self) -> str:
        """The verdict in one sentence."""
        if self.ok:
            return (
                f"verify: OK, {len(self.tables)} tables equal, {len(self.checks)} checks"
                f" passed, in {self.seconds:.0f} s"
            )
        wrong = []
        if differ := [t.table for t in self.tables if not t.equal]:
            wrong.append(f"{len(differ)} of {len(self.tables)} tables differ: {', '.join(differ)}")
        if differ := [t.table for t in self.snapshot_tables if not t.equal]:
            wrong.append(
                f"the snapshot differs from a full publish in {len(differ)} of"
                f" {len(self.snapshot_tables)} tables: {', '.join(differ)}"
            )
        if self.failed_checks:
            failed = ", ".join(f"{c.name} ({c.failed:,} rows)" for c in self.failed_checks)
            wrong.append(f"checks failed on the reference rebuild: {failed}")
        if self.snapshot_problem:
            wrong.append(self.snapshot_problem)
        kept = [
            f"{what} is kept at {path}"
            for what, path in (
                ("the reference rebuild", self.shadow),
                ("the full publish", self.snapshot_shadow),
            )
            if path is not None
        ]
        return f"verify: MISMATCH, {'; '.join(wrong)}." + (
            f" {'; '.join(kept).capitalize()} (remove once diffed)." if kept else ""
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "live": str(self.live),
            "shadow": str(self.shadow) if self.shadow else None,
            "seconds": self.seconds,
            "differ": self.differ,
            "snapshot": str(self.snapshot) if self.snapshot else None,
            "snapshot_shadow": str(self.snapshot_shadow) if self.snapshot_shadow else None,
            "snapshot_problem": self.snapshot_problem,
            "snapshot_tables": [
                {
                    "table": t.table,
                    "rows_snapshot": t.rows_live,
                    "rows_full_publish": t.rows_reference,
                    "equal": t.equal,
                }
                for t in self.snapshot_tables
            ],
            "tables": [
                {
                    "table": t.table,
                    "rows_live": t.rows_live,
                    "rows_reference": t.rows_reference,
                    "equal": t.equal,
                    **({} if t.equal else {"diff_command": self.diff_command(t.table)}),
                }
                for t in self.tables
            ],
            "checks": [
                {
                    "name": c.name,
                    "severity": c.severity,
                    "failed": c.failed,
                    "passed": not (c.failed and c.severity == "error"),
                }
                for c in self.checks
            ],
        }

    def lines(self) -> list[str]:
        """The report as printed: one line per table, one per check, then the verdict."""
        width = max([len(t.table) for t in self.tables] + [5])
        out = [f"{'table':{width}}  {'rows live':>13}  {'rows reference':>14}  equal"]
        for t in self.tables:
            out.append(
                f"{t.table:{width}}  {_rows(t.rows_live):>13}  {_rows(t.rows_reference):>14}"
                f"  {'yes' if t.equal else 'NO'}"
            )
        if self.snapshot_tables:
            out.append(
                f"{'snapshot table':{width}}  {'rows snapshot':>13}  {'rows full':>14}  equal"
            )
            for t in self.snapshot_tables:
                out.append(
                    f"{t.table:{width}}  {_rows(t.rows_live):>13}  {_rows(t.rows_reference):>14}"
                    f"  {'yes' if t.equal else 'NO'}"
                )
        elif self.snapshot_problem is None:
            out.append("snapshot: none published, not compared")
        for c in self.checks:
            if not c.failed:
                result = "passed"
            elif c.severity == "error":
                result = f"FAILED ({c.failed:,} rows)"
            else:
                result = f"warning ({c.failed:,} rows; a warning does not fail verify)"
            out.append(f"check {c.name} ({c.severity}): {result}")
        out.append(self.headline())
        if self.ok:
            return out
        for table in self.differ:
            command = self.diff_command(table)
            if command:
                out.append(f"Diff {table}: {command}")
        out.append(f"What to do: docs/runbook.md, {RUNBOOK_SECTION}")
        return out


def _rows(n: int | None) -> str:
    return "no table" if n is None else f"{n:,}"


def _shell_escape(text: str) -> str:
    """``text`` for use inside double quotes in a POSIX shell."""
    return "".join("\\" + ch if ch in '\\"$`' else ch for ch in text)


def _digests(path: Path) -> dict[str, tuple[digest.TableDigest, tuple[str, ...]]]:
    """Every table's digest and the columns it leaves out, on a connection held to the
    load's memory limit (a national warehouse read under DuckDB's default limit would fill
    the host's memory with cached blocks)."""
    con = connect(path, read_only=True)
    try:
        found = {}
        for table in digest.tables(con):
            started = time.perf_counter()
            d = digest.table_digest(con, table)
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            found[table] = d, tuple(c for c in columns if c not in d.columns)
            log.info(
                "verify: digest of %s in %s, %d rows in %.1fs",
                table,
                path.name,
                d.rows,
                time.perf_counter() - started,
            )
        return found
    finally:
        con.close()


def _compare(live: Path, shadow: Path) -> tuple[list[TableResult], dict[str, tuple[str, ...]]]:
    """One result per table of either side, and the columns left out of the tables both
    sides have."""
    a, b = _digests(live), _digests(shadow)
    results = [
        TableResult(
            t,
            a[t][0].rows if t in a else None,
            b[t][0].rows if t in b else None,
            t in a and t in b and a[t][0] == b[t][0],
        )
        for t in sorted(a.keys() | b.keys())
    ]
    left_out = {t: a[t][1] for t in a.keys() & b.keys() if a[t][1] == b[t][1]}
    return results, left_out


def _unloaded_dates(p: Paths) -> list[str]:
    """Dates whose staging a run rewrote without its load committing (the markers that
    ``pipeline.steps`` keeps, ``Paths.unloaded``)."""
    folder = p.unloaded
    return sorted(m.name for m in folder.iterdir()) if folder.is_dir() else []


def _require_warehouse(p: Paths) -> None:
    if not p.warehouse.exists():
        raise CannotVerify(f"no warehouse at {p.warehouse}: nothing to verify")


def _remove_shadow(shadow: Path) -> None:
    for f in (shadow, shadow.with_name(shadow.name + ".wal")):
        f.unlink(missing_ok=True)


def verify(p: Paths, owner: str) -> Verdict:
    """Rebuild the warehouse of ``p`` by the reference path and compare it with the live
    one, holding the data-root lock for ``owner`` throughout (taking it if it is free)."""
    with lock.held(p.lock, owner):
        _require_warehouse(p)
        if missing := unapplied_migrations(p.warehouse):
            raise CannotVerify(
                f"the warehouse {p.warehouse} lacks migration(s) {', '.join(missing)} of this"
                " release: the next nightly load applies them. Verify after it; nothing was"
                " done."
            )
        if pending := _unloaded_dates(p):
            raise CannotVerify(
                f"staging of delivery date(s) {', '.join(pending)} was rewritten by a run whose"
                " load has not committed: the warehouse does not hold it yet. Re-run those"
                " dates (docs/runbook.md), then verify. Nothing was done."
            )
        try:
            secret.check(p)
        except secret.SecretMismatch as exc:
            raise CannotVerify(str(exc)) from exc
        if settings.configured_secret(p.secret) is None:
            raise CannotVerify(
                f"no pseudonymisation secret is configured ({settings.SECRET_ENV_VAR}, the"
                f" Airflow Variable {settings.SECRET_AIRFLOW_VARIABLE} or {p.secret}): the"
                " person keys cannot be recomputed. Nothing was done."
            )
        for earlier in sorted(p.warehouse_dir.glob(".verify-*.duckdb")):
            log.warning("verify: an earlier reference rebuild is still kept: %s", earlier)
        started = time.perf_counter()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        shadow = p.warehouse_dir / f".verify-{stamp}.duckdb"
        work = p.runs / f"verify-{stamp}"
        try:
            log.info("verify: transform of every date's staging into %s", work)
            build.build_core(p.staging, work / "transform")
            log.info("verify: reference rebuild into %s", shadow)
            checks = rebuild_shadow(
                shadow,
                live=p.warehouse,
                outputs=build.outputs(work / "transform"),
                secret_file=p.secret,
            )
        except BaseException:
            _remove_shadow(shadow)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        try:
            log.info("verify: comparing every table by digest")
            tables, left_out = _compare(p.warehouse, shadow)
        except BaseException:
            _remove_shadow(shadow)
            raise
        snapshot = _check_snapshot(p, owner, p.warehouse_dir / f".verify-{stamp}-snapshot.duckdb")
        verdict = Verdict(
            live=p.warehouse,
            tables=tables,
            checks=checks,
            left_out=left_out,
            shadow=shadow,
            seconds=round(time.perf_counter() - started, 1),
            **snapshot,
        )
        if not [t for t in verdict.tables if not t.equal] and not verdict.failed_checks:
            _remove_shadow(shadow)
            verdict = replace(verdict, shadow=None)
        if verdict.snapshot_shadow and all(t.equal for t in verdict.snapshot_tables):
            _remove_shadow(verdict.snapshot_shadow)
            verdict = replace(verdict, snapshot_shadow=None)
        return verdict


def _latest_load(warehouse: Path) -> Any:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(
            "SELECT max(loaded_at) FROM audit.runs WHERE state = 'success'"
        ).fetchall()[0][0]
    finally:
        con.close()


def _snapshot_load(snapshot: Path) -> Any:
    """The load the snapshot holds (``meta.snapshot.loaded_at``); None for a snapshot of a
    release that did not record it."""
    con = connect(snapshot, read_only=True)
    try:
        columns = {r[0] for r in con.execute("DESCRIBE meta.snapshot").fetchall()}
        if "loaded_at" not in columns:
            return None
        return con.execute("SELECT loaded_at FROM meta.snapshot").fetchall()[0][0]
    finally:
        con.close()


def _check_snapshot(p: Paths, owner: str, full: Path) -> dict[str, Any]:
    """The published snapshot against a full publish of the live warehouse at ``full``:
    the fields of :class:`Verdict` about it."""
    if not p.analytics.exists():
        return {}
    found: dict[str, Any] = {"snapshot": p.analytics}
    latest, held = _latest_load(p.warehouse), _snapshot_load(p.analytics)
    if held != latest:
        found["snapshot_problem"] = (
            f"the snapshot holds the load of {held} and the warehouse's latest is of {latest}:"
            " its publish failed or has not run; re-run the latest date (docs/runbook.md)"
        )
        return found
    log.info("verify: a full publish into %s to compare the snapshot with", full)
    _remove_shadow(full)
    try:
        build_snapshot(p, full, run_id=owner)
        tables, left_out = _compare(p.analytics, full)
    except BaseException:
        _remove_shadow(full)
        raise
    found.update(snapshot_tables=tables, snapshot_left_out=left_out, snapshot_shadow=full)
    return found


def run(p: Paths) -> Verdict:
    """Verify outside Airflow (``povdb verify``): refuse at once while a run holds the lock."""
    _require_warehouse(p)
    owner = f"povdb-verify/{dt.datetime.now(dt.UTC).isoformat()}"
    if not lock.try_acquire(p.lock, owner):
        raise CannotVerify(
            f"data root {p.home} is locked by {lock.describe(p.lock)}: a run is working on it."
            " Nothing was done; verify again once it has finished."
        )
    try:
        return verify(p, owner)
    finally:
        lock.release(p.lock, owner)


# --- the tasks of the poverty_verify DAG ------------------------------------------------


def _task_paths_owner(context: Mapping[str, Any]) -> tuple[Paths, str]:
    params = context.get("params") or {}
    dag_run = context["dag_run"]
    return paths(params.get("data_root")), f"{dag_run.dag_id}/{dag_run.run_id}"


def acquire_lock_task(context: Mapping[str, Any]) -> bool:
    """Take the data-root lock for this verify run; False (poke again) while a run holds it."""
    p, owner = _task_paths_owner(context)
    _require_warehouse(p)
    if lock.try_acquire(p.lock, owner):
        return True
    log.info("data root %s is locked by %s; waiting", p.home, lock.describe(p.lock))
    return False


def verify_task(context: Mapping[str, Any]) -> dict[str, Any]:
    """Verify under the lock the run took; a mismatch or a failed check fails the task at
    once (a retry would rebuild the same thing), a transient error is retried."""
    # Airflow is imported only inside a task.
    from airflow.sdk.exceptions import AirflowFailException

    p, owner = _task_paths_owner(context)
    try:
        verdict = verify(p, owner)
    except Exception as exc:
        if is_transient(exc):
            raise
        raise AirflowFailException(f"verify of {p.home} did not run to the end: {exc}") from exc
    for line in verdict.lines():
        log.info("%s", line)
    if not verdict.ok:
        raise AirflowFailException(verdict.headline())
    return verdict.as_dict()


def release_lock_task(context: Mapping[str, Any]) -> bool:
    p, owner = _task_paths_owner(context)
    return lock.release(p.lock, owner)


def task_failed(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of the verify DAG: log and email. Unlike the nightly's, it
    writes nothing to the warehouse: verify never does."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    message = (
        f"poverty_verify FAILED, task {getattr(ti, 'task_id', '?')}: {str(exc).rstrip('.')}."
        f" The live warehouse and the snapshot are untouched. See docs/runbook.md,"
        f" {RUNBOOK_SECTION}."
    )
    log.error(message)
    notify.send_email("[povdb] poverty_verify failed", message)
