"""Benchmark the synthetic registry generator and record the run in benchmarks/results.md.

    .venv/bin/python benchmarks/generate_bench.py --scale national --days 1 --formats csv

Writes under benchmarks/data/ (git-ignored), measures wall time and peak RSS (the
process's own maximum resident set, from getrusage), and appends one row to the
"Generator" section of results.md. ``--keep`` leaves the data on disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator import generate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.md"
SECTION = "## Generator (`benchmarks/generate_bench.py`)"
HEADER = (
    "| date | scale | days | formats | households | members | rows | files | bytes | time | rows/s "
    "| peak RSS | machine | command |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def machine() -> str:
    import os

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GB, {platform.python_version()}"


def record(row: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if SECTION not in text:
        text = (
            text.rstrip("\n")
            + f"\n\n{SECTION}\n\nAppend only: one row per run, newest last.\n\n{HEADER}"
        )
        RESULTS.write_text(text, encoding="utf-8")
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(row + "\n")


def _bytes(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _time(seconds: float) -> str:
    return f"{seconds / 60:,.1f} min" if seconds >= 120 else f"{seconds:,.1f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scale", default="national", choices=["demo", "county", "province", "national"]
    )
    p.add_argument("--households", type=int)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--formats", default="csv", choices=["csv", "mixed"])
    p.add_argument("--defects", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data" / "generate")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument("--no-record", action="store_true", help="do not append to results.md")
    a = p.parse_args(argv)

    if a.out.exists():
        shutil.rmtree(a.out)
    t0 = time.perf_counter()
    s = generate(
        a.out,
        scale=a.scale,
        households=a.households,
        days=a.days,
        seed=a.seed,
        formats=a.formats,
        defects=a.defects,
        answer_key=a.out / "answer_key.csv" if a.defects else None,
        progress=True,
    )
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(s)
    print(f"wall {seconds:.1f} s, peak RSS {peak:,.0f} MiB")
    if not a.no_record:
        args = " ".join(argv if argv is not None else sys.argv[1:])
        scale = s.scale if a.households is None else f"{s.scale} ({a.households:,} households)"
        record(
            f"| {dt.date.today().isoformat()} | {scale} | {s.days} | {a.formats} | {s.households:,} "
            f"| {s.members:,} | {s.rows:,} | {s.files:,} | {_bytes(s.bytes)} | {_time(seconds)} "
            f"| {s.rows / seconds:,.0f} | {peak:,.0f} MiB | {machine()} "
            f"| `.venv/bin/python benchmarks/generate_bench.py {args}` |"
        )
    if not a.keep:
        shutil.rmtree(a.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
