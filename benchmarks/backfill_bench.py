"""Benchmark a backfill: N delivery dates run one after the other, incremental against full.

    .venv/bin/python benchmarks/backfill_bench.py --root benchmarks/data/backfill \\
        --scale county --days 30

Generates UTF-8 CSV deliveries at the scale (day one the registration, then a change
delivery a day touching about 0.5 % of the households) under ``ROOT/landing`` unless they
are there, then runs every date in order, every stage of each (``povdb.bench.run_delivery``,
as ``povdb bench`` does), on two fresh data roots: one the pipeline's way (the first date
full, the others incremental when they can be) and one with ``POVDB_FULL_REBUILD=1`` (every
date rebuilt from all staging, what a night cost before the incremental path). Both data
roots end with the same deliveries; their warehouses are compared by per-table digest.

Per date: seconds per stage and in all, the load's path. ``--json FILE`` writes it all;
the summary row goes to the "Backfill" section of benchmarks/results.md unless
``--no-record``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from generator import generate
from povdb import bench
from warehouse.digest import differences, digests

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADING = "## Backfill (`benchmarks/backfill_bench.py`)"
HEADER = (
    "| date | scale | households | dates | incremental: total, per change date (median) |"
    " full: total, per change date (median) | change dates: full / incremental | digests |"
    " machine | command |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _landing(root: Path, scale: str, days: int) -> dict[str, Any]:
    landing = root / "landing"
    marker = landing / ".backfill.json"
    want = {"scale": scale, "days": days, "seed": bench.SEED, "change_share": bench.CHANGE_SHARE}
    if marker.exists() and json.loads(marker.read_text())["params"] == want:
        print(f"reusing the deliveries in {landing}", file=sys.stderr)
        return json.loads(marker.read_text())["summary"]
    shutil.rmtree(landing, ignore_errors=True)
    summary = generate(
        landing,
        scale=scale,
        start=bench.START,
        days=days,
        seed=bench.SEED,
        formats="csv",
        change_share=bench.CHANGE_SHARE,
    )
    doc = {"households": summary.households, "members": summary.members}
    marker.write_text(json.dumps({"params": want, "summary": doc}))
    return doc


def _backfill(root: Path, landing: Path, dates: list[dt.date], full: bool) -> list[dict]:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "landing").symlink_to(landing)
    os.environ["POVDB_FULL_REBUILD"] = "1" if full else "0"
    out = []
    for day in dates:
        started = time.perf_counter()
        stages = bench.run_delivery(root, day, day.isoformat())
        path = next(s.get("load_path") for s in stages if s["stage"] == "transform")
        out.append(
            {
                "date": day.isoformat(),
                "seconds": round(time.perf_counter() - started, 1),
                "load_path": path,
                "stages": {s["stage"]: s["seconds"] for s in stages},
            }
        )
    return out


def _median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("benchmarks/data/backfill"))
    ap.add_argument("--scale", default="county", choices=("demo", "county", "province"))
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args(argv)
    data = _landing(a.root, a.scale, a.days)
    dates = [bench.START + dt.timedelta(days=i) for i in range(a.days)]
    runs = {
        mode: _backfill(a.root / mode, (a.root / "landing").resolve(), dates, mode == "full")
        for mode in ("incremental", "full")
    }
    differ = differences(
        *(digests(a.root / m / "warehouse" / "poverty.duckdb") for m in ("full", "incremental"))
    )
    doc: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "scale": a.scale,
        "days": a.days,
        **data,
        "runs": runs,
        "paths": [r["load_path"] for r in runs["incremental"]],
        "digests_equal": not differ,
        "differ": differ,
        "machine": bench.machine(),
    }
    for mode, dated in runs.items():
        change = [r["seconds"] for r in dated[1:]]
        doc[f"{mode}_s"] = round(sum(r["seconds"] for r in dated), 1)
        doc[f"{mode}_change_median_s"] = round(_median(change), 1) if change else None
    ratio = (
        doc["full_change_median_s"] / doc["incremental_change_median_s"]
        if doc.get("incremental_change_median_s")
        else None
    )
    doc["change_ratio"] = round(ratio, 2) if ratio else None
    print(json.dumps({k: v for k, v in doc.items() if k != "runs"}, indent=1))
    if a.json:
        a.json.write_text(json.dumps(doc, indent=1))
    if not a.no_record:
        _record(doc, " ".join(["benchmarks/backfill_bench.py", *(argv or sys.argv[1:])]))
    return 0 if not differ else 1


def _record(doc: dict[str, Any], command: str) -> None:
    m = doc["machine"]
    row = (
        "| "
        + " | ".join(
            [
                doc["date"],
                doc["scale"],
                f"{doc['households']:,}",
                str(doc["days"]),
                f"{doc['incremental_s']:.0f} s, {doc['incremental_change_median_s']} s",
                f"{doc['full_s']:.0f} s, {doc['full_change_median_s']} s",
                f"{doc['change_ratio']} x",
                "equal" if doc["digests_equal"] else "DIFFER: " + ", ".join(doc["differ"]),
                f"{m['cpus']} cores ({m['cpu']}), {m['ram_gb']} GB",
                f"`{command}`",
            ]
        )
        + " |"
    )
    text = RESULTS.read_text(encoding="utf-8")
    if HEADING not in text:
        text = text.rstrip("\n") + (
            f"\n\n{HEADING}\n\nAppend only, newest last. Every date of a generated backfill"
            " run in order, each through every stage, on a data root the pipeline's way"
            " (incremental after the first date) and on one where every date is rebuilt"
            f" whole (`POVDB_FULL_REBUILD=1`).\n\n{HEADER}\n{row}\n"
        )
    else:
        start = text.index(HEADER) + len(HEADER)
        end = text.find("\n\n", start)
        end = len(text.rstrip("\n")) if end < 0 else end
        text = text[:end] + "\n" + row + text[end:]
    RESULTS.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
