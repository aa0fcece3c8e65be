"""Time ``ingest.typing.type_rows`` on synthetic member-like and household-like frames.

    .venv/bin/python benchmarks/typing_bench.py [--rows 1000000] [--reference] [--seed 7]

The frames are what a reader hands over (every contract column a string, plus
``_row_number``): values in the generator's canonical spellings (English codes,
``true``/``false``, ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS+08:00``, amounts with 2
decimals), and in each column about ``--noncanonical`` (default 1 %) of the values in
another spelling: accepted ones (padded, upper-case codes, Chinese labels, other date
formats, ``Z`` and other offsets, ``+3``, ``.5``, ...) and refused ones (month 13, hour
25, unknown codes, empty required values). Each entity is typed ``--repeat`` times (best
of 3 by default): wall seconds, the CPU seconds of all threads in that run (steadier on
a shared machine) and rows/s. ``--reference`` also times the general typing every value
went through before the fast path (``tests/typing_reference.py``) and checks that both
give the same frames.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from contract.landing import CAUSES, CONTRACT
from ingest.typing import type_rows

ROOT = Path(__file__).resolve().parent.parent

# Spellings the fast path does not take (most accepted by the general path, some refused).
OTHER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "id18": ("51012119800517123x", " 510121198005171234 ", "51012119800517123423", "12345"),
    "hh16": (" 5201210010010001", "5201210010010001\t", ""),
    "code12": (" 520121001001 ", "\u3000520121001001", ""),
    "text": (" 张三 ", "李 四", ""),
    "bool": (" true ", "yes", "是", "No", "maybe", "2"),
    "int": ("+3", "3.0", " 3 ", "007", "3.5", "1e3", "x"),
    "money": (".5", "12", "12.5", "-3.10", " 100.00 ", "1,200.00", "12.345", "¥12"),
    "date": (
        "2015/03/01",
        "20150301",
        " 2015-03-01 ",
        "2015-02-30",
        "2015-13-01",
        "2015-3-1",
    ),
    "timestamp": (
        "2015-03-01 08:00:00",
        "2015-03-01T08:00:00Z",
        "2015-03-01T08:00:00.5+0800",
        "2015-03-01T08:00:00-05:00",
        "2015-03-01T08:00",
        " 2015-03-01T08:00:00+08:00 ",
        "2015-03-01T25:00:00",
        "2015-02-30T08:00:00+08:00",
        "yesterday",
    ),
    "enum": ("HEAD", " male ", "户主", "男", "Spouse", "unknown"),
    "causes": ("因残、缺水", "disability；water", " water ", "water;", "天灾"),
}
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_ENUM_OTHER = {  # per enum column: an upper-case code, a padded code, its label, a typo
    c.name: (c.enum[0][0].upper(), f" {c.enum[-1][0]} ", c.enum[-1][1], c.enum[0][0] + "x")
    for e in CONTRACT.values()
    for c in e.columns
    if c.kind == "enum"
}


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return pl.Series(rng.integers(0, 10**width, n, dtype=np.int64)).cast(pl.String).str.zfill(width)


def _pick(rng: np.random.Generator, n: int, choices: list[str]) -> pl.Series:
    return pl.Series(choices, dtype=pl.String).gather(rng.integers(0, len(choices), n))


def _dates(rng: np.random.Generator, n: int, first: str, last: str) -> pl.Series:
    lo, hi = (dt.date.fromisoformat(d).toordinal() - _EPOCH_DAY for d in (first, last))
    days = pl.Series(rng.integers(lo, hi, n))
    return pl.from_epoch(days, time_unit="d").dt.to_string("%Y-%m-%d")


def _timestamps(rng: np.random.Generator, n: int) -> pl.Series:
    first = int(dt.datetime(2015, 3, 1, tzinfo=dt.UTC).timestamp())
    secs = pl.Series(rng.integers(first, first + 86_400 * 365 * 3, n))
    return pl.from_epoch(secs, time_unit="s").dt.to_string("%Y-%m-%dT%H:%M:%S") + "+08:00"


def _canonical(rng: np.random.Generator, entity: str, name: str, kind: str, n: int) -> pl.Series:
    """The column's values as the generator's canonical CSV spells them."""
    c = CONTRACT[entity].column(name)
    if kind == "id18":
        body = _digits(rng, n, 6) + _dates(rng, n, "1940-01-01", "2014-12-31").str.replace_all(
            "-", ""
        )
        check = _pick(rng, n, [*"0123456789", "X"])
        return body + _digits(rng, n, 3) + check
    if kind == "hh16":
        return "520121" + _digits(rng, n, 10)
    if kind == "code12":
        return "520121" + _digits(rng, n, 6)
    if kind == "text":
        given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
        return _pick(rng, n, list("王李张刘陈杨黄赵吴周")) + _pick(rng, n, given)
    if kind == "bool":
        return _pick(rng, n, ["true", "false"])
    if kind == "int":
        if name == "household_size":
            return pl.Series(rng.integers(1, 9, n)).cast(pl.String)
        return pl.Series(rng.integers(2013, 2021, n)).cast(pl.String)
    if kind == "money":
        cents = pl.Series(rng.integers(0, 5_000_000, n))
        return (cents // 100).cast(pl.String) + "." + (cents % 100).cast(pl.String).str.zfill(2)
    if kind == "date":
        if name == "birth_date":
            return _dates(rng, n, "1930-01-01", "2015-01-01")
        return _dates(rng, n, "2014-01-01", "2017-12-31")
    if kind == "timestamp":
        return _timestamps(rng, n)
    if kind == "enum":
        return _pick(rng, n, list(c.enum_codes))
    if kind == "causes":
        codes = [code for code, _ in CAUSES]
        pairs = _pick(rng, n, codes) + ";" + _pick(rng, n, codes)
        one = _pick(rng, n, codes)
        which = pl.Series(rng.integers(0, 3, n))
        return (
            pl.select(
                pl.when(which == 0)
                .then(pl.lit(None, pl.String))
                .when(which == 1)
                .then(one)
                .otherwise(pairs)
            )
            .to_series()
            .rename(name)
        )
    raise ValueError(f"no synthetic values for kind {kind!r}")


def synthetic_frame(entity: str, rows: int, share: float, seed: int) -> pl.DataFrame:
    """A reader-like frame: canonical strings, ``share`` of each column spelt otherwise."""
    rng = np.random.default_rng([seed, len(entity)])
    columns: dict[str, pl.Series] = {}
    for c in CONTRACT[entity].columns:
        values = _canonical(rng, entity, c.name, c.kind, rows).rename(c.name)
        if not c.required:
            values = values.scatter(np.flatnonzero(rng.random(rows) < 0.1), None)
        other = _ENUM_OTHER[c.name] if c.kind == "enum" else OTHER_SPELLINGS[c.kind]
        where = np.flatnonzero(rng.random(rows) < share)
        if where.size:
            values = values.scatter(where, _pick(rng, where.size, list(other)))
        columns[c.name] = values
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.int_range(1, rows + 1, dtype=pl.Int64).alias("_row_number"))


def best_of(
    fn: Callable[[pl.DataFrame, str], tuple[pl.DataFrame, pl.DataFrame]],
    frame: pl.DataFrame,
    entity: str,
    repeat: int,
) -> tuple[float, float, tuple[pl.DataFrame, pl.DataFrame]]:
    """Best wall seconds of ``repeat`` runs, the CPU seconds (all threads) of that run,
    and the frames."""
    best, cpu = float("inf"), float("inf")
    out: tuple[pl.DataFrame, pl.DataFrame] | None = None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        out = fn(frame, entity)
        seconds = time.perf_counter() - started
        if seconds < best:
            best, cpu = seconds, time.process_time() - cpu_started
    assert out is not None
    return best, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--entities", default="members,households")
    ap.add_argument("--noncanonical", type=float, default=0.01, help="share per column")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reference", action="store_true", help="also time the general typing")
    a = ap.parse_args()

    reference = None
    if a.reference:
        # The frozen general typing lives with the tests (tests/typing_reference.py).
        spec = importlib.util.spec_from_file_location(
            "typing_reference", ROOT / "tests" / "typing_reference.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        reference = module.type_rows

    print(
        f"polars {pl.__version__}, {pl.thread_pool_size()} threads, best of {a.repeat}, "
        f"{a.noncanonical:.1%} of each column in other spellings"
    )
    for entity in a.entities.split(","):
        frame = synthetic_frame(entity, a.rows, a.noncanonical, a.seed)
        seconds, cpu, (typed, held) = best_of(type_rows, frame, entity, a.repeat)
        print(
            f"{entity:<11} {a.rows:>10,} rows  type_rows  {seconds:7.3f} s (cpu {cpu:6.3f} s) "
            f"{a.rows / seconds:>12,.0f} rows/s   ({typed.height:,} typed, {held.height:,} held)",
            flush=True,
        )
        if reference is not None:
            ref_seconds, ref_cpu, (ref_typed, ref_held) = best_of(
                reference, frame, entity, a.repeat
            )
            print(
                f"{entity:<11} {a.rows:>10,} rows  reference  {ref_seconds:7.3f} s "
                f"(cpu {ref_cpu:6.3f} s) {a.rows / ref_seconds:>12,.0f} rows/s   "
                f"(x{ref_seconds / seconds:.1f} wall, x{ref_cpu / cpu:.1f} cpu)",
                flush=True,
            )
            assert_frame_equal(typed, ref_typed, check_exact=True)
            assert_frame_equal(held, ref_held, check_exact=True)


if __name__ == "__main__":
    main()
