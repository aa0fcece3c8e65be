"""Time and peak memory of the pipeline's stages on one delivery date of a data root.

    .venv/bin/python benchmarks/stages_bench.py --root DATA_ROOT --date 2015-03-01 \
        --stages discover,ingest,validate [--json FILE]

Runs the stages as the DAG's tasks do (pipeline.steps), in this process, one after the
other. Per stage: wall seconds, rows, rows/s and the stage's own peak RSS (the kernel's
high-water mark is reset before each stage through /proc/self/clear_refs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from contract.landing import ENTITIES
from pipeline import steps
from pipeline.context import RunContext
from povdb.bench import machine, peak_mb, reset_peak


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True)
    ap.add_argument("--stages", default="discover,ingest,validate")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()

    ctx = RunContext.local(a.date, a.root)
    if not steps.acquire_lock(ctx):
        raise SystemExit(f"{a.root} is locked by another run")
    results = []
    try:
        planned: list[str] = list(ENTITIES)
        for stage in a.stages.split(","):
            per_entity = stage in ("ingest", "validate")
            for entity in planned if per_entity else [None]:
                reset_peak()
                started = time.perf_counter()
                out = (
                    getattr(steps, stage)(ctx, entity) if per_entity else getattr(steps, stage)(ctx)
                )
                seconds = time.perf_counter() - started
                if stage == "discover":
                    planned = out["parts"]  # entities, or their provinces (POVDB_SPLIT_MB)
                rows = out.get("rows") if stage == "ingest" else None
                if stage == "validate":
                    rows = sum(f["typed_rows"] for f in ctx.read(f"ingest_{entity}.json"))
                row = {
                    "stage": stage if entity is None else f"{stage} {entity}",
                    "seconds": round(seconds, 1),
                    "rows": rows,
                    "rows_per_s": round(rows / seconds) if rows else None,
                    "peak_rss_mb": round(peak_mb()),
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
