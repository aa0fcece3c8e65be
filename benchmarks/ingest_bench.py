"""Benchmark discover + ingest of one delivery date, entity by entity, with peak memory.

    .venv/bin/python benchmarks/ingest_bench.py --landing benchmarks/data/national/landing \\
        --date 2015-03-01

Runs ``pipeline.steps.discover`` and then ``pipeline.steps.ingest`` for every entity, the
way ``run_all`` does (same ``RunContext.local``, same data-root lock), and nothing after
ingest (validate/transform/load are benchmarked elsewhere).

The data root: with ``--work DIR`` it is DIR and ``DIR/landing`` is made a symlink to the
landing folder (discover follows a symlinked landing root; only symlinked *files* that
leave their delivery folder are held). Without ``--work``, the landing folder must be
named ``landing`` and its parent is the data root, so staging is written beside it.

Measured per step: wall seconds, rows, rows/s, the step's own peak RSS and the process's
peak so far. The process peak is ``getrusage(RUSAGE_SELF).ru_maxrss``, cross-checked with
VmHWM from /proc/self/status; the step's peak is the highest VmRSS a sampler thread saw
(every 0.2 s) while the step ran. ``--step-hwm`` measures each step's peak exactly instead,
by resetting VmHWM before the step (``echo 5 > /proc/self/clear_refs``); beware that this
also resets the kernel's maxrss, so getrusage (and ``/usr/bin/time``) then report the peak
since the last reset only, and the process peak is taken as the highest VmHWM read before
each reset. Per file: seconds and rows (the slowest files are listed). ``--json FILE`` writes all of it; the summary row is appended
to the "Ingest" section of benchmarks/results.md unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shlex
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ingest.staging as ingest_module  # noqa: E402
from contract.landing import ENTITIES  # noqa: E402
from pipeline import steps  # noqa: E402
from pipeline.context import RunContext  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.md"
SECTION = "## Ingest (`benchmarks/ingest_bench.py`)"
INTRO = (
    "Append only: one row per run, newest last. discover + ingest of one delivery date "
    "(nothing after ingest). Peak RSS is the benchmark process's own maximum resident set "
    "(getrusage ru_maxrss, cross-checked with VmHWM); per entity: seconds / rows/s / the "
    "step's peak RSS (sampled VmRSS, or VmHWM with --step-hwm). Data under benchmarks/data/ "
    "is deleted after each run."
)
HEADER = (
    "| date | delivery | files | rows | discover | ingest | ingest rows/s | peak RSS "
    "| per entity (s, rows/s, step peak) | staging | machine | command |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


# --- memory -------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def vm_hwm_mib() -> float:
    return _status_kib("VmHWM") / 1024


def vm_rss_mib() -> float:
    return _status_kib("VmRSS") / 1024


def ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """VmRSS every ``every`` seconds; ``peak()`` since the last ``mark()``."""

    def __init__(self, every: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.every = every
        self.stop = threading.Event()
        self._since = 0.0
        self.overall = 0.0

    def mark(self) -> None:
        self._since = vm_rss_mib()

    def peak(self) -> float:
        return self._since

    def run(self) -> None:
        while not self.stop.wait(self.every):
            rss = vm_rss_mib()
            self._since = max(self._since, rss)
            self.overall = max(self.overall, rss)


# --- machine ------------------------------------------------------------------------------


def machine_facts() -> dict:
    from importlib.metadata import version

    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    facts = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    for pkg in ("polars", "duckdb", "pyarrow"):
        try:
            facts[pkg] = version(pkg)
        except Exception:
            facts[pkg] = "n/a"
    facts["polars_threads"] = __import__("polars").thread_pool_size()
    return facts


# --- per-file timing ----------------------------------------------------------------------


class FileTimer:
    """Wrap ingest.staging.ingest_file to time the files the per-file reader reads: every
    file with ``--per-file``, else only those the batched CSV scan leaves to it."""

    def __init__(self) -> None:
        self.files: list[dict] = []
        self._orig = ingest_module.ingest_file

    def __enter__(self) -> FileTimer:
        orig = self._orig

        def timed(path: Path, **kw):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            res = orig(path, **kw)
            self.files.append(
                {
                    "entity": kw["entity"],
                    "file": path.name,
                    "bytes": path.stat().st_size,
                    "rows": res["rows"],
                    "outcome": res["outcome"],
                    "seconds": round(time.perf_counter() - t0, 4),
                    "rss_mib": round(vm_rss_mib(), 1),
                }
            )
            return res

        ingest_module.ingest_file = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        ingest_module.ingest_file = self._orig  # type: ignore[assignment]


# --- results.md ---------------------------------------------------------------------------


def record(row: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if SECTION not in text:
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write(
                ("\n" if text.endswith("\n") else "\n\n") + f"{SECTION}\n\n{INTRO}\n\n{HEADER}"
            )
        text = RESULTS.read_text(encoding="utf-8")
    # Append the row at the end of the Ingest table (the section may not be the last one).
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line == SECTION)
    end = start + 1
    last_row = None
    while end < len(lines) and not lines[end].startswith("## "):
        if lines[end].startswith("|"):
            last_row = end
        end += 1
    assert last_row is not None, "the Ingest section has no table header"
    lines.insert(last_row + 1, row)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def _time(seconds: float) -> str:
    return f"{seconds / 60:,.1f} min" if seconds >= 120 else f"{seconds:,.1f} s"


def _bytes(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _du(path: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_size
    return total


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--landing", type=Path, required=True, help="the landing root (has DATE/)")
    p.add_argument("--date", type=dt.date.fromisoformat, required=True)
    p.add_argument("--work", type=Path, help="data root to use (landing is symlinked into it)")
    p.add_argument("--json", type=Path, help="write every measurement here")
    p.add_argument("--entities", default=",".join(ENTITIES), help="comma-separated subset")
    p.add_argument("--no-record", action="store_true", help="do not append to results.md")
    p.add_argument(
        "--per-file",
        action="store_true",
        help="read every file with the per-file reader (POVDB_INGEST_SCAN=0), not the batched scan",
    )
    p.add_argument("--keep-staging", action="store_true", help="keep the staging written")
    p.add_argument(
        "--step-hwm", action="store_true", help="exact per-step peaks (resets VmHWM, see above)"
    )
    a = p.parse_args(argv)
    if a.per_file:
        os.environ["POVDB_INGEST_SCAN"] = "0"

    landing = a.landing.resolve()
    if not (landing / a.date.isoformat()).is_dir():
        p.error(f"{landing / a.date.isoformat()} is not a folder")
    if a.work:
        root = a.work.resolve()
        root.mkdir(parents=True, exist_ok=True)
        link = root / "landing"
        if link.is_symlink():
            link.unlink()
        if link.exists():
            if link.resolve() != landing:
                p.error(f"{link} exists and is not the landing folder")
        else:
            link.symlink_to(landing, target_is_directory=True)
    else:
        if landing.name != "landing":
            p.error("without --work the landing folder must be named 'landing'")
        root = landing.parent
    entities = [e for e in a.entities.split(",") if e]

    facts = machine_facts()
    peaks_before_resets: list[float] = []
    sampler = Sampler()
    sampler.start()
    ctx = RunContext.local(a.date, root, run_id=f"bench/ingest/{a.date.isoformat()}")
    if not steps.acquire_lock(ctx):
        p.error(f"the data root {root} is locked by another run")
    measures: list[dict] = []
    timer = FileTimer()
    try:

        def step(name: str, fn, *args):  # type: ignore[no-untyped-def]
            if a.step_hwm:
                peaks_before_resets.append(vm_hwm_mib())
                if not reset_hwm():
                    p.error("--step-hwm: /proc/self/clear_refs cannot be written here")
            sampler.mark()
            t0 = time.perf_counter()
            out = fn(ctx, *args)
            seconds = time.perf_counter() - t0
            m = {
                "step": name,
                "seconds": round(seconds, 3),
                "rows": out.get("rows"),
                "files": out.get("files"),
                "summary": out,
                "step_peak_mib": round(vm_hwm_mib() if a.step_hwm else sampler.peak(), 1),
                "sampled_peak_mib": round(sampler.peak(), 1),
                "process_peak_mib": round(max([*peaks_before_resets, ru_maxrss_mib()]), 1),
                "rss_after_mib": round(vm_rss_mib(), 1),
            }
            m["rows_per_s"] = round(m["rows"] / seconds) if m["rows"] else None
            measures.append(m)
            rows = f"{m['rows']:,}" if m["rows"] is not None else "-"
            print(
                f"{name:<22} {m['files'] or 0:>6} files {rows:>12} rows {seconds:>9.1f} s "
                f"{(m['rows_per_s'] or 0):>10,} rows/s  step peak {m['step_peak_mib']:>8,.0f} MiB"
                f"  process peak {m['process_peak_mib']:>8,.0f} MiB",
                flush=True,
            )
            return out

        t_all = time.perf_counter()
        step("discover", steps.discover)
        with timer:
            for e in entities:
                step(f"ingest {e}", steps.ingest, e)
        total_seconds = time.perf_counter() - t_all
    finally:
        steps.release_lock(ctx)
        sampler.stop.set()

    ingests = [m for m in measures if m["step"].startswith("ingest")]
    rows = sum(m["rows"] or 0 for m in ingests)
    ingest_seconds = sum(m["seconds"] for m in ingests)
    discover_m = measures[0]
    ru_peak, hwm_peak = ru_maxrss_mib(), vm_hwm_mib()
    peak = max([*peaks_before_resets, ru_peak, hwm_peak])
    staging_bytes = _du(ctx.paths.staging)
    held_rows = sum(m["summary"]["held_rows"] for m in ingests)
    held_files = sum(m["summary"]["held_files"] for m in ingests)

    print()
    print(
        f"TOTAL discover+ingest {total_seconds:,.1f} s; ingest {ingest_seconds:,.1f} s for "
        f"{rows:,} rows ({rows / ingest_seconds:,.0f} rows/s); held {held_rows:,} rows, "
        f"{held_files} files; staging {_bytes(staging_bytes)}"
    )
    since = " since the last per-step reset" if a.step_hwm else ""
    print(
        f"peak RSS {peak:,.0f} MiB: getrusage ru_maxrss {ru_peak:,.0f} MiB{since}, "
        f"VmHWM {hwm_peak:,.0f} MiB{since}, highest sampled VmRSS {sampler.overall:,.0f} MiB"
    )
    print("machine:", json.dumps(facts))
    slow = sorted(timer.files, key=lambda f: -f["seconds"])[:8]
    print("slowest files:")
    for f in slow:
        print(
            f"  {f['file']:<40} {f['rows'] or 0:>10,} rows {_bytes(f['bytes']):>10} "
            f"{f['seconds']:>7.2f} s  rss {f['rss_mib']:,.0f} MiB"
        )

    command = "benchmarks/ingest_bench.py " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])
    )
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(
            json.dumps(
                {
                    "date": dt.date.today().isoformat(),
                    "delivery_date": a.date.isoformat(),
                    "data_root": str(root),
                    "command": command,
                    "machine": facts,
                    "step_hwm": a.step_hwm,
                    "total_seconds": round(total_seconds, 3),
                    "peak_rss_mib": round(peak, 1),
                    "ru_maxrss_mib": round(ru_peak, 1),
                    "vm_hwm_mib": round(hwm_peak, 1),
                    "sampled_peak_mib": round(sampler.overall, 1),
                    "staging_bytes": staging_bytes,
                    "steps": measures,
                    "files": timer.files,
                },
                indent=1,
                default=str,
            )
        )
    if not a.no_record:
        per_entity = "; ".join(
            f"{m['step'].split()[1]} {m['seconds']:,.0f} s, {(m['rows_per_s'] or 0):,}/s, "
            f"{m['step_peak_mib']:,.0f} MiB"
            for m in ingests
        )
        mach = (
            f"{facts['nproc']} cores ({facts['cpu_model']}), {facts['ram_gib']:.0f} GB, "
            f"py {facts['python']}, polars {facts['polars']}, duckdb {facts['duckdb']}"
        )
        record(
            f"| {dt.date.today().isoformat()} | {a.date.isoformat()} | {discover_m['files']:,} "
            f"| {rows:,} | {_time(discover_m['seconds'])} | {_time(ingest_seconds)} "
            f"| {rows / ingest_seconds:,.0f} | {peak:,.0f} MiB | {per_entity} "
            f"| {_bytes(staging_bytes)} | {mach} | `.venv/bin/python {command}` |"
        )
    if not a.keep_staging:
        import shutil

        shutil.rmtree(ctx.paths.staging, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
