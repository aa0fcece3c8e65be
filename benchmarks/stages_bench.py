"""Time and peak memory of the pipeline's stages on one delivery date of a data root.

    .venv/bin/python benchmarks/stages_bench.py --root DATA_ROOT --date 2015-03-01 \
        --stages discover,ingest,validate [--json FILE]

Runs the stages as the DAG's tasks do (pipeline.steps), in this process, one after the
other. Per stage: wall seconds, rows, rows/s and the stage's own peak RSS (the kernel's
high-water mark is reset before each stage through /proc/self/clear_refs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

from pipeline import steps
from pipeline.contract import ENTITIES


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(ln.split()[1])
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal")
    )
    import duckdb
    import polars

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "duckdb": duckdb.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True)
    ap.add_argument("--stages", default="discover,ingest,validate")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()

    ctx = steps.RunContext.local(a.date, a.root)
    if not steps.acquire_lock(ctx):
        raise SystemExit(f"{a.root} is locked by another run")
    results = []
    try:
        for stage in a.stages.split(","):
            per_entity = stage in ("ingest", "validate")
            for entity in ENTITIES if per_entity else [None]:
                _reset_peak()
                started = time.perf_counter()
                out = (
                    getattr(steps, stage)(ctx, entity) if per_entity else getattr(steps, stage)(ctx)
                )
                seconds = time.perf_counter() - started
                rows = out.get("rows") if stage == "ingest" else None
                if stage == "validate":
                    rows = sum(f["typed_rows"] for f in ctx.read(f"ingest_{entity}.json"))
                row = {
                    "stage": stage if entity is None else f"{stage} {entity}",
                    "seconds": round(seconds, 1),
                    "rows": rows,
                    "rows_per_s": round(rows / seconds) if rows else None,
                    "peak_rss_mb": round(_peak_mb()),
                }
                results.append(row)
                print(json.dumps(row), flush=True)
    finally:
        steps.release_lock(ctx)
    doc = {"root": str(a.root), "date": a.date.isoformat(), "stages": results, "machine": machine()}
    if a.json:
        a.json.write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc["machine"]))


if __name__ == "__main__":
    main()
