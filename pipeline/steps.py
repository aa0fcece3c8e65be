"""What the DAG's tasks call: one function per step of a run for delivery date D.

Each step reads and writes files under the data root and returns a small JSON-able
summary (what goes through XCom). Steps talk to each other through ``runs/D/*.json``
and the staging folders, never through data frames in XCom.

Staging layout (all partitioned by entity and delivery date, replaced when D re-runs; a
province's part of an entity replaces only its own files, see ``pipeline.parts``):

- ``staging/stg_<entity>/delivery_date=D/*.parquet``: rows typed as delivered, with their
  file and row number (``_batch<k>.<part>.parquet`` from the batched CSV scan,
  ``_batch<PP>_<k>.<part>.parquet`` in a province's part,
  ``<file>.<part>.parquet`` from the per-file reader);
- ``staging/rejects/<entity>/delivery_date=D/*.parquet``: rows held by typing or by
  error-severity validation, with their reason;
- ``staging/warnings/<entity>/delivery_date=D/*.parquet``: rows that load with a warning.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import pwd
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import settings
from contract.landing import ENTITIES
from contract.records import DiscoverResult, IngestResult, LoadSummary
from expectations.gate import apply_validation
from ingest.staging import ingest_entity
from pipeline import incremental, lock, notify, parts
from pipeline.context import ResourceFault, RunContext, StagingNotLoaded
from pipeline.landing import discover as discover_folder
from pipeline.landing import late_files
from pipeline.retry import is_transient
from reporting.report import write_reports
from settings import SecretUnavailable
from transforms import build
from warehouse import runs, secret
from warehouse.load import load_run
from warehouse.publish import publish_snapshot
from warehouse.secret import SecretMismatch

log = logging.getLogger(__name__)


# (errno, the words of the message when the error carries no errno, the problem, what to do)
_FS_FAULTS = (
    (errno.ENOSPC, "no space left on device", "the disk is full", "free space on that disk"),
    (
        errno.EDQUOT,
        "disk quota exceeded",
        "the disk quota is exceeded",
        "free space or raise the quota",
    ),
    (errno.EROFS, "read-only file system", "the file system is read-only", "remount it read-write"),
    (
        errno.EACCES,
        "permission denied",
        "permission denied",
        "give the user running the pipeline ({user}) read and write access to the data root",
    ),
    (
        errno.EPERM,
        "operation not permitted",
        "operation not permitted",
        "give the user running the pipeline ({user}) ownership of the data root",
    ),
)
NEARLY_FULL = 1 << 20  # bytes: a file system with less space left is full for a run
# What a step that failed leaves behind (every step before publish commits nothing).
_NOTHING_CHANGED = (
    "Nothing was loaded or published: the warehouse and analytics.duckdb are as they were."
)
_LEFT_AS_IS = {
    "publish": "The warehouse is loaded; analytics.duckdb is still the previous snapshot.",
    "report": "The warehouse and analytics.duckdb are up to date; only the report is missing.",
}


def _fault_path(ctx: RunContext, step: str) -> Path:
    """Where a step writes, for an error that does not name its file."""
    where = {
        "ingest": ctx.paths.staging,
        "validate": ctx.paths.staging,
        "transform": ctx.run_dir,
        "load": ctx.paths.warehouse,
        "publish": ctx.paths.analytics,
        "report": ctx.paths.reports,
    }
    return where.get(step, ctx.paths.home)


def resource_fault(step: str, ctx: RunContext, exc: BaseException) -> ResourceFault | None:
    """A clear, non-transient error for a full disk or a refused access, naming the path
    and what to do; None when ``exc`` (or what caused it) is something else."""
    if isinstance(exc, ResourceFault):
        return exc
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    for err in seen:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        for code, words, problem, todo in _FS_FAULTS:
            if not (isinstance(err, OSError) and err.errno == code) and words not in text.lower():
                continue
            quoted = re.search(r"[\"'](/[^\"']+)[\"']", text)
            path = (
                (err.filename if isinstance(err, OSError) else None)
                or (quoted and quoted[1])
                or _fault_path(ctx, step)
            )
            left = _LEFT_AS_IS.get(step, _NOTHING_CHANGED)
            return ResourceFault(
                f"{step} failed for delivery date {ctx.d}: {problem} at {path} ({text})."
                f" {left} To do: {todo.format(user=_user())}, then re-run {ctx.d}."
            )
    # Some writers lose the errno on the way (Polars may report a full disk as a
    # malformed Parquet file): a disk with next to no space left explains the error.
    for folder in (_fault_path(ctx, step), ctx.paths.home):
        probe = folder if folder.is_dir() else folder.parent
        try:
            st = os.statvfs(probe)
        except OSError:
            continue
        if st.f_bavail * st.f_frsize < NEARLY_FULL:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return ResourceFault(
                f"{step} failed for delivery date {ctx.d}: the disk is full at {probe}"
                f" ({st.f_bavail * st.f_frsize} bytes free; the step failed with: {text})."
                f" {_LEFT_AS_IS.get(step, _NOTHING_CHANGED)} To do: free space on that disk,"
                f" then re-run {ctx.d}."
            )
    return None


def _user() -> str:
    try:
        return f"{pwd.getpwuid(os.getuid()).pw_name}, uid {os.getuid()}"
    except KeyError:
        return f"uid {os.getuid()}"


def _clear_fs_errors(fn):
    """Turn a full disk or a refused access into a ResourceFault that says what to do."""

    def wrapper(ctx: RunContext, *args: Any) -> Any:
        try:
            return fn(ctx, *args)
        except Exception as exc:
            fault = None if is_transient(exc) else resource_fault(fn.__name__, ctx, exc)
            if fault is None or fault is exc:
                raise
            log.error("%s", fault)
            raise fault from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _timed(fn):
    """Log the step's duration and keep the data-root lock fresh while it runs; a full
    disk or a refused access becomes a ResourceFault."""

    def wrapper(ctx: RunContext, *args: Any) -> Any:
        started = time.perf_counter()
        with lock.held(ctx.paths.lock, ctx.run_id):
            result = fn(ctx, *args)
        elapsed = round(time.perf_counter() - started, 3)
        if isinstance(result, dict):
            result["seconds"] = elapsed
        log.info("%s %s %s done in %.1fs", fn.__name__, ctx.d, " ".join(map(str, args)), elapsed)
        return result

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return _clear_fs_errors(wrapper)


# --- staging that the warehouse does not hold yet ------------------------------------
#
# Ingest and validate rewrite staging of D before the load of D commits; the transform of
# any date reads the staging of every date. A run that dies or fails in between leaves
# staging of D that the warehouse never loaded (half written, or whole but absent from
# audit.files), and another date's run must not build on it. A marker names the run that
# rewrites staging of D, from its first ingest until its load has committed; a run refuses
# to rewrite staging or transform while another date's marker is there.


def _unloaded_marker(ctx: RunContext, d: str | None = None) -> Path:
    return ctx.paths.unloaded / (d or ctx.d)


def _mark_unloaded(ctx: RunContext) -> None:
    """Before the run rewrites staging of D: refuse if another date waits for its load
    (so that a refused run leaves no marker of its own), then mark D."""
    _check_staging_loaded(ctx)
    marker = _unloaded_marker(ctx)
    marker.parent.mkdir(parents=True, exist_ok=True)
    started = ctx.read("run.json")["started_at"]
    marker.write_text(json.dumps({"run_id": ctx.run_id, "started_at": started}))


def _check_staging_loaded(ctx: RunContext) -> None:
    """Fail when staging of another date was rewritten by a run whose load did not commit."""
    folder = ctx.paths.unloaded
    markers = sorted(p for p in folder.iterdir() if p.name != ctx.d) if folder.is_dir() else []
    if not markers:
        return
    loaded = runs.successful_runs(ctx.paths.warehouse)
    pending = []
    for marker in markers:
        try:
            doc = json.loads(marker.read_text())
            key = (doc["run_id"], marker.name, dt.datetime.fromisoformat(doc["started_at"]))
        except (ValueError, KeyError, TypeError):
            key = None  # written by a run that died while writing it
        if key in loaded:
            marker.unlink()  # its load committed; the run died before it could say so
        else:
            pending.append(marker.name)
    if pending:
        dates = ", ".join(pending)
        raise StagingNotLoaded(
            f"staging of delivery date(s) {dates} was rewritten by a run that did not load it"
            f" (it failed or was killed before its load committed); going on would mix it into"
            f" the warehouse. Nothing was changed. Re-run {dates} first, then {ctx.d}."
        )


# --- lock -------------------------------------------------------------------------------


@_clear_fs_errors
def acquire_lock(ctx: RunContext) -> bool:
    """Take the data-root lock for this run; False (poke again later) while another run holds it.

    A run whose pseudonymisation secret is not the warehouse's fails here, before it writes
    anything, and leaves the lock free."""
    ctx.paths.ensure()
    if not lock.try_acquire(ctx.paths.lock, ctx.run_id):
        log.info(
            "data root %s is locked by %s; waiting", ctx.paths.home, lock.describe(ctx.paths.lock)
        )
        return False
    try:
        secret.check(ctx.paths)
    except BaseException:
        # The run ends here: the lock's teardown runs only after a setup that succeeded.
        lock.release(ctx.paths.lock, ctx.run_id)
        raise
    if ctx.run_dir.exists():
        shutil.rmtree(ctx.run_dir)
    ctx.run_dir.mkdir(parents=True)
    ctx.write("run.json", {"run_id": ctx.run_id, "started_at": dt.datetime.now(dt.UTC).isoformat()})
    return True


@_clear_fs_errors
def release_lock(ctx: RunContext) -> bool:
    return lock.release(ctx.paths.lock, ctx.run_id)


# --- discover ---------------------------------------------------------------------------


@_timed
def discover(ctx: RunContext) -> DiscoverResult:
    """The ledger of landing/D, plus late files in folders of dates already processed."""
    entries = discover_folder(ctx.paths.landing, ctx.delivery_date)
    late = late_files(
        ctx.paths.landing, runs.delivered_files(ctx.paths.warehouse), ctx.delivery_date
    )
    for entry in late:
        log.warning("LATE FILE %s/%s: %s", entry.delivery_date, entry.file_name, entry.detail)
    files = [e.as_dict() for e in entries]
    planned = parts.plan(files, settings.split_bytes())
    ctx.write(
        "discover.json", {"files": files, "late": [e.as_dict() for e in late], "parts": planned}
    )
    held = [e for e in entries if e.outcome == "held"]
    for e in held:
        log.warning("held file %s: %s (%s)", e.file_name, e.reason, e.detail)
    split = [p for p in planned if parts.split(p)[1] is not None]
    if split:
        log.info("ingest and validation per province: %s", ", ".join(split))
    return {
        "delivery_date": ctx.d,
        "files": len(entries),
        "held_files": len(held),
        "late_files": [f"{e.delivery_date}/{e.file_name}" for e in late],
        "parts": planned,
    }


def _planned(ledger: Mapping[str, Any]) -> list[str]:
    """The parts discover planned in ``ledger`` (``discover.json``; every entity whole in a
    run discovered before parts)."""
    return ledger.get("parts") or list(ENTITIES)


# --- ingest -----------------------------------------------------------------------------


@_timed
def ingest(ctx: RunContext, part: str) -> IngestResult:
    """Read and type every pending file of one part (an entity, or one province of it; see
    ``pipeline.parts``) into staging; hold what cannot be typed."""
    entity, province = parts.split(part)
    _mark_unloaded(ctx)
    discovered = ctx.read("discover.json")
    folders = [ctx.partition(layer, entity) for layer in ("stg", "rejects", "warnings")]
    if province is None:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        parts.clear(folders, entity, province, parts.provinces(_planned(discovered), entity))
    ledger = discovered["files"]
    results = ingest_entity(
        [
            e
            for e in ledger
            if e["entity"] == entity
            and e["outcome"] == "pending"
            and province in (None, parts.province_of(e["source"]))
        ],
        entity=entity,
        delivery_date=ctx.delivery_date,
        landing_dir=ctx.paths.landing / ctx.d,
        stg_dir=ctx.partition("stg", entity),
        rejects_dir=ctx.partition("rejects", entity),
        scan=settings.ingest_scan(),
        batch_prefix="_batch" if province is None else f"_batch{province}_",
    )
    ctx.write(f"ingest_{part}.json", results)
    return {
        "entity": entity,
        "files": len(results),
        "rows": sum(r["rows"] or 0 for r in results),
        "typed": sum(r["typed_rows"] for r in results),
        "held_rows": sum(r["held_rows"] for r in results),
        "held_files": sum(r["outcome"] == "held" for r in results),
    }


# --- validate ---------------------------------------------------------------------------


@_timed
def validate(ctx: RunContext, part: str) -> dict:
    """Run the entity's Great Expectations suite over the part's typed rows of D."""
    entity, province = parts.split(part)
    ingested = ctx.read(f"ingest_{part}.json")
    _mark_unloaded(ctx)
    summary = apply_validation(
        entity=entity,
        delivery_date=ctx.delivery_date,
        stg_dir=ctx.partition("stg", entity),
        rejects_dir=ctx.partition("rejects", entity),
        warnings_dir=ctx.partition("warnings", entity),
        work_dir=ctx.run_dir / "gx" / part,
        files=ingested,
        owns=None if province is None else (lambda name: parts.owner(name, entity) == province),
        out_name="validation.parquet" if province is None else f"validation.{province}.parquet",
    )
    ctx.write(f"validate_{part}.json", summary)
    return {k: v for k, v in summary.items() if k != "results"}


def _gather(ctx: RunContext) -> None:
    """Merge the results of an entity's province parts into its own ``ingest_<entity>.json``
    and ``validate_<entity>.json``, which the load, the report and ``povdb check`` read."""
    if not (ctx.run_dir / "discover.json").exists():
        return  # nothing discovered, nothing to merge (the load says what is missing)
    planned = _planned(ctx.read("discover.json"))
    for entity in ENTITIES:
        provinces = parts.provinces(planned, entity)
        if not provinces:
            continue
        ingested = {p: ctx.read(f"ingest_{parts.name(entity, p)}.json") for p in provinces}
        ctx.write(f"ingest_{entity}.json", parts.merge_ingested(ingested.values()))
        validated = [
            (
                min(f["file_name"] for f in ingested[p]),
                ctx.read(f"validate_{parts.name(entity, p)}.json"),
            )
            for p in provinces
        ]
        ctx.write(f"validate_{entity}.json", parts.merge_validated(entity, validated))


# --- transform --------------------------------------------------------------------------


@_timed
def transform(ctx: RunContext) -> dict:
    """Key semantics, current state, history and status events over all accepted deliveries."""
    _check_staging_loaded(ctx)
    _gather(ctx)
    out = ctx.run_dir / "transform"
    shutil.rmtree(out, ignore_errors=True)
    chosen = incremental.plan(ctx)
    counts = build.build_core(ctx.paths.staging, out, scope=chosen.scope)
    result = {**counts, **chosen.as_dict()}
    ctx.write("transform.json", result)
    return result


# --- load -------------------------------------------------------------------------------


@_timed
def load(ctx: RunContext) -> LoadSummary:
    """One DuckDB transaction: migrations, ref, core, audit, marts, post-load checks."""
    transform_dir = ctx.run_dir / "transform"
    if not transform_dir.is_dir():
        raise FileNotFoundError(
            f"no transform output for {ctx.d} at {transform_dir}: it is removed once its load"
            " has committed. Run the transform of this date again (in Airflow, clear the"
            " transform task with its downstream tasks)."
        )
    ledger = ctx.read("discover.json")
    files = {e: ctx.read(f"ingest_{e}.json") for e in ENTITIES}
    validation = {e: ctx.read(f"validate_{e}.json") for e in ENTITIES}
    started = ctx.read("run.json")["started_at"]
    summary = load_run(
        ctx.paths,
        delivery_date=ctx.delivery_date,
        run_id=ctx.run_id,
        started_at=started,
        ledger=ledger,
        ingested=files,
        validation=validation,
        outputs=build.outputs(transform_dir),
        path=ctx.read("transform.json"),
    )
    notify.alert_held(summary)
    ctx.write("load.json", summary)
    _unloaded_marker(ctx).unlink(missing_ok=True)  # the warehouse now holds staging of D
    # The warehouse holds all of it now; at national scale it is 7 GB a date.
    shutil.rmtree(transform_dir, ignore_errors=True)
    return summary


# --- publish and report -----------------------------------------------------------------


@_timed
def publish(ctx: RunContext) -> dict:
    """Build the PII-free analytics snapshot aside and swap it in atomically. The summary
    carries the delivery's row counts too (the snapshot's asset event shows them)."""
    summary = publish_snapshot(ctx.paths, delivery_date=ctx.delivery_date, run_id=ctx.run_id)
    loaded = ctx.read("load.json")
    for count in ("rows_received", "rows_applied", "rows_held"):
        summary[count] = loaded[count]
    ctx.write("publish.json", summary)
    return summary


@_timed
def report(ctx: RunContext) -> dict:
    """The run summary (JSON, printed by ``povdb``) and the HTML target-progress report."""
    summary = write_reports(ctx.paths, delivery_date=ctx.delivery_date, run_dir=ctx.run_dir)
    ctx.write("report.json", summary)
    return summary


STEPS = {
    f.__name__: f
    for f in (
        acquire_lock,
        discover,
        ingest,
        validate,
        transform,
        load,
        publish,
        report,
        release_lock,
    )
}


# What a step's line in the progress file says, from its summary.
_PROGRESS_TEXT = {
    "discover": "{files:,} files, {held_files:,} held",
    "ingest": "{rows:,} rows, {held_rows:,} held",
    "validate": "{rows_in_error:,} rows held, {rows_warned:,} with a warning",
    "transform": "{load_path} path, {households_current:,} households and"
    " {members_current:,} members recomputed",
    "load": "{rows_received:,} rows received, {rows_applied:,} applied, {rows_held:,} held",
    "publish": "{tables} tables as of {as_of_date}, {publish_mode}",
}


def _progress(ctx: RunContext, step: str, args: tuple, seconds: float, **line: Any) -> None:
    """Append one line to ``runs/D/progress.jsonl`` (what ``povdb run`` prints as the run
    goes). Never fails the step: the file is for people watching."""
    doc = {
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "run_id": ctx.run_id,
        "step": " ".join([step, *map(str, args)]),
        "seconds": round(seconds, 1),
        **line,
    }
    try:
        if ctx.run_dir.is_dir():  # a run that never took the lock has no folder of its own
            with open(ctx.run_dir / "progress.jsonl", "a") as fh:
                fh.write(json.dumps(doc, default=str, ensure_ascii=False) + "\n")
    except OSError as exc:
        log.warning("could not write the progress line of %s: %s", step, exc)


def run_task(step: str, context: Mapping[str, Any], *args: Any) -> Any:
    """Entry point of the DAG's tasks: run one step for the run in ``context``, and append
    its outcome to the run's progress file.

    A transient error is re-raised for Airflow to retry (with back-off); any other error
    fails the task at once, since retrying bad data or a bug only delays the alert.
    """
    from airflow.sdk.exceptions import AirflowFailException

    ctx = RunContext.from_airflow(context)
    started = time.perf_counter()
    try:
        result = STEPS[step](ctx, *args)
    except Exception as exc:
        seconds = time.perf_counter() - started
        first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        _progress(ctx, step, args, seconds, failed=first_line, transient=is_transient(exc))
        if is_transient(exc):
            raise
        if isinstance(exc, ResourceFault | StagingNotLoaded | SecretMismatch | SecretUnavailable):
            raise AirflowFailException(str(exc)) from exc
        raise AirflowFailException(f"{step} failed for delivery date {ctx.d}: {exc!r}") from exc
    if step != "acquire_lock" or result:  # not the sensor's pokes while the lock is held
        try:
            text = _PROGRESS_TEXT.get(step, "").format_map(result)
        except (KeyError, TypeError, ValueError):
            text = ""
        _progress(ctx, step, args, time.perf_counter() - started, text=text)
    return result


def run_all(ctx: RunContext) -> dict:
    """Every step in order, outside Airflow (tests and benchmarks call stages this way)."""
    if not acquire_lock(ctx):
        raise lock.LockLost(
            f"data root {ctx.paths.home} is locked by {lock.describe(ctx.paths.lock)}:"
            " another run is working on it; nothing was done. Run again once it has finished."
            f" A run that died is taken over at once when it died in a step on this host,"
            f" else once its heartbeat is {lock.stale_after()} old (docs/runbook.md)."
        )
    try:
        # The whole run counts as working: if this process dies between two steps, the
        # next run takes the lock over at once too.
        with lock.held(ctx.paths.lock, ctx.run_id):
            out: dict[str, Any] = {"discover": discover(ctx)}
            for p in out["discover"]["parts"]:
                out[f"ingest_{p}"] = ingest(ctx, p)
            for p in out["discover"]["parts"]:
                out[f"validate_{p}"] = validate(ctx, p)
            out["transform"] = transform(ctx)
            out["load"] = load(ctx)
            out["publish"] = publish(ctx)
            out["report"] = report(ctx)
        return out
    finally:
        release_lock(ctx)
