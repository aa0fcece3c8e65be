"""``povdb bench``: the pipeline against the floor, at a chosen scale.

One benchmark run:

1. generates UTF-8 CSV deliveries at the scale unless they are already there
   (``<root>/landing``: the initial registration on day one, then one daily change
   delivery touching about 0.5 % of the households);
2. measures the floor: DuckDB loading the same day-one CSV files into tables of a fresh
   database file, with no validation and no transform;
3. runs every stage of the nightly run (discover, ingest, validate, transform, load,
   publish, report) on a fresh data root for day one, then for the change delivery, as the
   DAG's tasks do (``pipeline.steps``), in this process; per stage: seconds, rows, rows/s,
   the stage's own peak RSS (the kernel high-water mark, reset before each stage) and the
   CPU time it took (every thread of this process, user and system): CPU seconds over
   seconds is the number of cores a stage kept busy, so a stage near the machine's core
   count is bound by its work, one well under it by waiting or by a serial part;
4. times the analyst guide's example queries on the published snapshot, read-only, as an
   analyst runs them (best of three after a first run);
5. runs ``povdb verify`` on the data root: the warehouse the two nights built (the second
   one incremental when it can be) against the reference rebuild, table by table.

The result is a JSON document (``--json FILE``) and a dated row appended to
``benchmarks/results.md``. Targets (the constants below): the initial load within 10 x
the floor at national scale and 6 x at smaller ones (aims 7 x and 4 x), with a peak RSS
under 8.7 GiB; the change delivery within 180 s including publish at national scale
(within 3 x the floor at province scale) with its own peak under 8 GB; mart queries under
100 ms and household-level scans under 2 s; ``verify_equal``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.landing import ENTITIES
from generator import generate
from pipeline import steps
from pipeline import verify as verifier
from pipeline.context import RunContext
from settings import paths

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "benchmarks" / "results.md"
GUIDE = PROJECT / "docs" / "analyst_guide.md"
START = dt.date(2015, 3, 1)
CHANGE_SHARE = 0.005
SEED = 42
# Day one against the floor: the target, and what to aim for. Smaller scales than province
# are held to province's (their fixed costs weigh more).
RATIO_TARGET = {"national": 10.0, "province": 6.0}
RATIO_AIM = {"national": 7.0, "province": 4.0}
RSS_TARGET_MB = 8909  # 8.7 GiB, the national day one's peak before the one-scan ingest
DELTA_TARGET_S = 180.0  # national; at province the change delivery is judged by the floor
DELTA_FLOOR_TARGET = {"province": 3.0}
DELTA_RSS_TARGET_MB = 8 * 1024
MART_QUERY_TARGET_MS = 100.0
SCAN_TARGET_MS = 2000.0

SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)


# --- measuring --------------------------------------------------------------------------


def reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    """This process's peak RSS in MiB since the last :func:`reset_peak`."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds this process has used so far, every thread, user and system."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb
    import polars

    cpu = platform.processor()
    mem_gb = float("nan")
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
        mem_kb = next(
            int(ln.split()[1])
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        )
        mem_gb = round(mem_kb / 1024 / 1024, 1)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": mem_gb,
        "python": platform.python_version(),
        "polars": polars.__version__,
        "duckdb": duckdb.__version__,
    }


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- data -------------------------------------------------------------------------------


def ensure_landing(root: Path, scale: str, *, households: int | None = None) -> dict[str, Any]:
    """Generate the benchmark deliveries under ``root/landing`` unless the same ones are there."""
    landing = root / "landing"
    want = {
        "scale": scale,
        "households": households,
        "start": START.isoformat(),
        "days": 2,
        "formats": "csv",
        "seed": SEED,
        "change_share": CHANGE_SHARE,
    }
    marker = landing / ".bench.json"
    days = [START, START + dt.timedelta(days=1)]
    have = json.loads(marker.read_text()) if marker.exists() else None
    if (
        have
        and have.get("params") == want
        and all((landing / d.isoformat() / "_manifest.json").exists() for d in days)
    ):
        _say(f"reusing the deliveries in {landing}")
        return have["summary"]
    if landing.exists():
        shutil.rmtree(landing)
    _say(f"generating {scale} deliveries (UTF-8 CSV, 2 days) into {landing} ...")
    started = time.perf_counter()
    summary = generate(
        landing,
        scale=None if households else scale,
        households=households,
        start=START,
        days=2,
        seed=SEED,
        formats="csv",
        change_share=CHANGE_SHARE,
        progress=sys.stderr.isatty(),
    )
    per_day = {d.date.isoformat(): d.rows for d in summary.per_day}
    doc = {
        "households": summary.households,
        "members": summary.members,
        "villages": summary.villages,
        "bytes": summary.bytes,
        "rows": per_day,
        "generate_s": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps({"params": want, "summary": doc}, indent=1))
    _say(f"generated {summary} in {doc['generate_s']} s")
    return doc


def _first_line(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.readline()


def floor(landing_day: Path, db_path: Path) -> dict[str, Any]:
    """DuckDB reading the day's CSV files into one table per entity: nothing else."""
    import duckdb

    if db_path.exists():
        db_path.unlink()
    started, cpu_started = time.perf_counter(), cpu_s()
    rows = 0
    con = duckdb.connect(str(db_path))
    try:
        for entity in ENTITIES:
            files = sorted(str(p) for p in landing_day.glob(f"{entity}_*.csv"))
            if not files:
                continue
            # Files with one header are read as one relation, DuckDB's fastest way; only
            # differing headers need matching by name.
            headers = {_first_line(Path(f)) for f in files}
            by_name = ", union_by_name = true" if len(headers) > 1 else ""
            con.execute(
                f"CREATE TABLE {entity} AS SELECT * FROM read_csv(?, header = true{by_name})",
                [files],
            )
            rows += con.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]  # type: ignore[index]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    seconds = time.perf_counter() - started
    cpu = cpu_s() - cpu_started
    db_path.unlink()
    return {
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "rows": rows,
        "rows_per_s": round(rows / seconds),
    }


def fresh_root(root: Path) -> None:
    """Delete what earlier benchmark runs left in the data root ``root``; keep the deliveries."""
    p = paths(root)
    for folder in (p.staging, p.warehouse_dir, p.reports, p.runs):
        shutil.rmtree(folder, ignore_errors=True)
    for file in (p.lock, root / "floor.duckdb"):
        file.unlink(missing_ok=True)


# --- the pipeline -----------------------------------------------------------------------


def _stage_rows(stage: str, entity: str | None, out: dict, ctx: Any) -> int | None:
    if stage == "ingest":
        return out.get("rows")
    if stage == "validate":
        return sum(f["typed_rows"] for f in ctx.read(f"ingest_{entity}.json"))
    if stage == "transform":
        return sum(v for k, v in out.items() if k.endswith("_rows"))
    if stage == "load":
        return sum((out.get("tables") or {}).values())
    return None


def run_delivery(root: Path, day: dt.date, label: str) -> list[dict[str, Any]]:
    """Every stage of one delivery date, timed; the rows a stage handled and its peak RSS."""
    ctx = RunContext.local(day, root, run_id=f"bench/{day.isoformat()}")
    if not steps.acquire_lock(ctx):
        raise RuntimeError(f"{root} is locked by another run")
    results: list[dict[str, Any]] = []
    try:
        plan: list[tuple[str, str | None]] = [("discover", None)]
        for stage, entity in plan:  # discover appends the rest, once it has planned the parts
            fn: Callable[..., dict] = getattr(steps, stage)
            reset_peak()
            started, cpu_started = time.perf_counter(), cpu_s()
            out = fn(ctx, entity) if entity else fn(ctx)
            seconds = time.perf_counter() - started
            cpu = cpu_s() - cpu_started
            if stage == "discover":
                plan += [("ingest", p) for p in out["parts"]]
                plan += [("validate", p) for p in out["parts"]]
                plan += [("transform", None), ("load", None), ("publish", None), ("report", None)]
            rows = _stage_rows(stage, entity, out, ctx)
            row = {
                "delivery": label,
                "stage": stage if entity is None else f"{stage} {entity}",
                "seconds": round(seconds, 2),
                "rows": rows,
                "rows_per_s": round(rows / seconds) if rows and seconds > 0 else None,
                "peak_rss_mb": round(peak_mb()),
                "cpu_s": round(cpu, 2),
            }
            if stage == "transform":
                row["load_path"] = out.get("load_path")
            if stage == "publish":
                row["publish_mode"] = out.get("publish_mode")
            results.append(row)
            _say(
                f"{label} {row['stage']}: {row['seconds']} s, {rows or '-'} rows,"
                f" peak {row['peak_rss_mb']} MiB, CPU {row['cpu_s']} s{_cores(cpu, seconds)}"
            )
    finally:
        steps.release_lock(ctx)
    return results


# --- queries ----------------------------------------------------------------------------


def guide_queries(text: str | None = None) -> list[tuple[str, str]]:
    """(question, sql) for every ```sql block of the analyst guide, under its heading."""
    text = GUIDE.read_text(encoding="utf-8") if text is None else text
    examples = []
    for match in SQL_BLOCK.finditer(text):
        before = text[: match.start()].splitlines()
        heading = next((line for line in reversed(before) if line.startswith("#")), "")
        examples.append((heading.lstrip("#").strip(), match.group(1)))
    return examples


def time_queries(snapshot: Path, repeat: int = 3) -> list[dict[str, Any]]:
    """Each guide query on the published snapshot, read-only: best of ``repeat`` after a
    first run. A query over core tables is a household-level scan (2 s target); the others
    read marts (100 ms target).

    Every row of the result is fetched, as Arrow, the way a notebook or BI client takes it:
    turning 76,000 rows into Python tuples alone costs more than 100 ms."""
    import duckdb

    out = []
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for question, sql in guide_queries():
            con.sql(sql).to_arrow_table()
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                con.sql(sql).to_arrow_table()
                best = min(best, time.perf_counter() - started)
            kind = "scan" if re.search(r"\bcore\.", sql) else "mart"
            target = SCAN_TARGET_MS if kind == "scan" else MART_QUERY_TARGET_MS
            ms = round(best * 1000, 1)
            out.append(
                {
                    "question": question,
                    "kind": kind,
                    "ms": ms,
                    "target_ms": target,
                    "ok": ms < target,
                }
            )
    finally:
        con.close()
    return out


# --- the run ----------------------------------------------------------------------------


def _sum_s(stages: list[dict[str, Any]], key: str = "seconds") -> float:
    return round(sum(s[key] for s in stages), 1)


def _cores(cpu: float, seconds: float) -> str:
    """`` (N cores busy)``: CPU seconds over wall seconds; nothing for an instant."""
    return f" ({cpu / seconds:.2f} cores busy)" if seconds >= 0.05 else ""


def bench(scale: str, root: Path, *, households: int | None = None) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    data = ensure_landing(root, scale, households=households)
    fresh_root(root)
    day1, day2 = START, START + dt.timedelta(days=1)

    _say("floor: DuckDB reading the day-one CSV files into tables ...")
    fl = floor(root / "landing" / day1.isoformat(), root / "floor.duckdb")
    _say(
        f"floor: {fl['seconds']} s for {fl['rows']:,} rows,"
        f" CPU {fl['cpu_s']} s{_cores(fl['cpu_s'], fl['seconds'])}"
    )

    initial = run_delivery(root, day1, "initial")
    delta = run_delivery(root, day2, "delta")

    queries = time_queries(paths(root).analytics)

    _say("verify: the warehouse against the reference rebuild ...")
    reset_peak()
    started = time.perf_counter()
    verdict = verifier.run(paths(root))
    verify_s = round(time.perf_counter() - started, 1)
    verify_peak = round(peak_mb())
    _say(f"verify: {verdict.headline()} (peak {verify_peak} MiB)")

    total = _sum_s(initial)
    delta_s = _sum_s(delta)
    doc = {
        "scale": scale,
        "date": dt.date.today().isoformat(),
        "households": data["households"],
        "members": data["members"],
        "villages": data["villages"],
        "landing_bytes": data["bytes"],
        "rows": data["rows"],
        "stages": initial + delta,
        "total_s": total,
        "floor_s": fl["seconds"],
        "floor_cpu_s": fl["cpu_s"],
        "floor_rows": fl["rows"],
        "total_cpu_s": _sum_s(initial, "cpu_s"),
        "ratio": round(total / fl["seconds"], 2) if fl["seconds"] else None,
        "delta_s": delta_s,
        "delta_households": data["rows"].get(day2.isoformat(), {}).get("households"),
        "delta_path": next((s.get("load_path") for s in delta if s["stage"] == "transform"), None),
        "delta_publish_mode": next(
            (s.get("publish_mode") for s in delta if s["stage"] == "publish"), None
        ),
        "delta_stages": {s["stage"]: s["seconds"] for s in delta},
        "delta_floor_ratio": round(delta_s / fl["seconds"], 2) if fl["seconds"] else None,
        "delta_peak_rss_mb": max(s["peak_rss_mb"] for s in delta),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in initial + delta),
        "verify_equal": verdict.ok,
        "verify_s": verify_s,
        "verify_peak_rss_mb": verify_peak,
        "verify_differ": verdict.differ,
        "queries": queries,
        "machine": machine(),
    }
    doc["targets"] = {
        "ratio": RATIO_TARGET.get(scale, RATIO_TARGET["province"]),
        "ratio_aim": RATIO_AIM.get(scale, RATIO_AIM["province"]),
        "ratio_ok": doc["ratio"] is not None
        and doc["ratio"] <= RATIO_TARGET.get(scale, RATIO_TARGET["province"]),
        "peak_rss_ok": doc["peak_rss_mb"] < RSS_TARGET_MB,
        "delta": f"<= {DELTA_FLOOR_TARGET[scale]} x the floor"
        if scale in DELTA_FLOOR_TARGET
        else f"< {DELTA_TARGET_S:.0f} s",
        "delta_ok": (
            doc["delta_floor_ratio"] is not None
            and doc["delta_floor_ratio"] <= DELTA_FLOOR_TARGET[scale]
            if scale in DELTA_FLOOR_TARGET
            else doc["delta_s"] < DELTA_TARGET_S
        ),
        "delta_peak_rss_ok": doc["delta_peak_rss_mb"] < DELTA_RSS_TARGET_MB,
        "verify_ok": verdict.ok,
        "queries_ok": all(q["ok"] for q in queries),
    }
    return doc


def _slowest(stages: list[dict[str, Any]], n: int = 3) -> str:
    top = sorted(stages, key=lambda s: -s["seconds"])[:n]
    return ", ".join(f"{s['stage']} {s['seconds']:.0f} s" for s in top)


def results_row(doc: dict[str, Any], command: str) -> str:
    """One dated row of the ``povdb bench`` table in benchmarks/results.md."""
    m = doc["machine"]
    initial = [s for s in doc["stages"] if s["delivery"] == "initial"]
    mart = [q["ms"] for q in doc["queries"] if q["kind"] == "mart"]
    scans = [q["ms"] for q in doc["queries"] if q["kind"] == "scan"]
    cells = [
        doc["date"],
        doc["scale"],
        f"{doc['households']:,}",
        f"{doc['members']:,}",
        f"{doc['total_s']:.0f} s",
        f"{doc['floor_s']:.0f} s",
        f"{doc['ratio']:.1f} x",
        f"{doc['delta_s']:.0f} s ({doc['delta_households'] or 0:,} households"
        f"{', ' + doc['delta_path'] if doc.get('delta_path') else ''}"
        f"{', publish ' + doc['delta_publish_mode'] if doc.get('delta_publish_mode') else ''}"
        f"{'' if 'verify_equal' not in doc else ', verify equal' if doc['verify_equal'] else ', VERIFY MISMATCH'})",
        f"{doc['peak_rss_mb'] / 1024:.1f} GiB",
        f"max {max(mart, default=0):.0f} ms" if mart else "-",
        f"max {max(scans, default=0):.0f} ms" if scans else "-",
        _slowest(initial),
        f"{m['cpus']} cores ({m['cpu']}), {m['ram_gb']} GB, py {m['python']},"
        f" polars {m['polars']}, duckdb {m['duckdb']}",
        f"`{command}`",
    ]
    return "| " + " | ".join(cells) + " |"


BENCH_HEADING = "## Pipeline against the floor (`povdb bench`)"
BENCH_HEADER = (
    "| date | scale | households | members | initial | floor | ratio | change delivery |"
    " peak RSS | mart queries | household scans | slowest stages | machine | command |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def record(doc: dict[str, Any], command: str, results: Path | None = None) -> Path:
    """Append the run's row under the ``povdb bench`` heading of ``results`` (default:
    benchmarks/results.md; the heading is created on first use); the file written."""
    results = results or RESULTS
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    row = results_row(doc, command)
    if BENCH_HEADING not in text:
        text = text.rstrip("\n") + (
            f"\n\n{BENCH_HEADING}\n\nAppend only: one row per run, newest last. Initial: every"
            " stage of the day-one delivery (discover to report) in one process; floor: DuckDB"
            " reading the same CSV files into tables; change delivery: every stage of day two"
            " (about 0.5 % of households changed), publish included; queries: the analyst"
            " guide's examples on the published snapshot, best of three.\n\n"
            f"{BENCH_HEADER}\n{row}\n"
        )
    else:
        # The table ends at the first blank line after its header.
        start = text.index(BENCH_HEADER, text.index(BENCH_HEADING)) + len(BENCH_HEADER)
        end = text.find("\n\n", start)
        end = len(text.rstrip("\n")) if end < 0 else end
        text = text[:end] + "\n" + row + text[end:]
    results.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return results


def summary_lines(doc: dict[str, Any]) -> list[str]:
    t = doc["targets"]
    ok = {True: "ok", False: "MISSED"}
    lines = [
        f"scale {doc['scale']}: {doc['households']:,} households, {doc['members']:,} members",
        f"initial {doc['total_s']:.1f} s, floor {doc['floor_s']:.1f} s, ratio {doc['ratio']}"
        f" (target <= {t['ratio']}, aim {t['ratio_aim']}: {ok[t['ratio_ok']]})",
        f"CPU: initial {doc['total_cpu_s']:.1f} s"
        f"{_cores(doc['total_cpu_s'], doc['total_s'])}, floor {doc['floor_cpu_s']:.1f} s"
        f"{_cores(doc['floor_cpu_s'], doc['floor_s'])}, of {doc['machine']['cpus']} cores",
        f"peak RSS {doc['peak_rss_mb']:,} MiB (target < {RSS_TARGET_MB:,}: {ok[t['peak_rss_ok']]})",
        f"change delivery {doc['delta_s']:.1f} s, {doc['delta_path']} path,"
        f" {doc.get('delta_publish_mode')} publish,"
        f" {doc['delta_floor_ratio']} x the floor (target {t['delta']}: {ok[t['delta_ok']]}),"
        f" peak {doc['delta_peak_rss_mb']:,} MiB (target < {DELTA_RSS_TARGET_MB:,}:"
        f" {ok[t['delta_peak_rss_ok']]})",
        f"verify {doc['verify_s']:.1f} s, peak {doc['verify_peak_rss_mb']:,} MiB:"
        f" {'every table equal' if doc['verify_equal'] else 'MISMATCH ' + ', '.join(doc['verify_differ'])}"
        f" ({ok[t['verify_ok']]})",
    ]
    for q in doc["queries"]:
        lines.append(f"  {q['kind']:4} {q['ms']:8.1f} ms  {ok[q['ok']]:6}  {q['question']}")
    return lines
