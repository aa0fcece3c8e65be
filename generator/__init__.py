"""Synthetic registry generator: realistic county deliveries, never real personal data.

``generate(out, ...)`` writes a landing tree as the landing contract describes it::

    <out>/<YYYY-MM-DD>/villages_<county>.<ext>      every county, day one; changed villages later
    <out>/<YYYY-MM-DD>/households_<county>.<ext>    day one: the whole registry; later: changed rows
    <out>/<YYYY-MM-DD>/members_<county>[_partN].<ext>
    <out>/<YYYY-MM-DD>/assistance_<county>.<ext>
    <out>/<YYYY-MM-DD>/targets_national.<ext>       day one, and the first day of a new year
    <out>/<YYYY-MM-DD>/_manifest.json               {"files": [{"name", "sha256", "rows"}]}

Day one (``start``) is the initial registration of every county; each later day is a
change delivery: new identifications, exits (a few percent paper exits), returns,
removals, births, deaths and moves, income re-assessments, assistance events, with
``updated_at`` on that day. A county with nothing to send for an entity sometimes sends a
header-only file. Rates and sizes are calibrated on ``warehouse/ref`` (the 2014 registry,
the national poverty series, the poverty lines).

``formats='mixed'`` varies the files by county and entity (UTF-8 CSV with English headers,
GBK CSV with Chinese headers and labels, UTF-8 with BOM and tabs, xlsx with IDs as text
cells, parquet; booleans, dates and timestamps in the accepted spellings);
``formats='csv'`` writes UTF-8 CSV with English headers and canonical spellings only.

``defects=RATE`` plants defects (about RATE x delivered rows, at least one of every kind,
and moves of persons between households and counties on every change day) and
``answer_key`` receives one line per planted row (or file):
``delivery_date,file_name,entity,row_number,record_key,defect,expected_outcome`` where
``defect`` is a code of :mod:`contract.reasons` and ``expected_outcome`` its outcome.
``change_share=S`` raises income re-assessments so that about S of the households change
on each later day (benchmarks ask for 0.005); by default the calibrated rates change about
0.1 % a day. Every planted row carries exactly one defect; every other row is clean. The same
arguments always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from generator.defects import DefectPlanter
from generator.deliveries import RunConfig, run
from generator.geography import build_geography
from generator.reference import load_reference


@dataclass(frozen=True)
class DaySummary:
    date: dt.date
    rows: dict[str, int]
    files: int
    bytes: int


@dataclass(frozen=True)
class GenerateSummary:
    out: Path
    scale: str
    start: dt.date
    days: int
    counties: int
    villages: int  # on day one
    households: int  # on day one
    members: int  # on day one
    files: int
    bytes: int
    defects: int  # answer-key lines
    seconds: float
    per_day: tuple[DaySummary, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return sum(sum(d.rows.values()) for d in self.per_day)

    def __str__(self) -> str:
        planted = f", {self.defects:,} planted defects" if self.defects else ""
        return (
            f"{self.scale} registry: {self.households:,} households, {self.members:,} members, "
            f"{self.villages:,} villages in {self.counties:,} counties; {self.days} delivery days, "
            f"{self.rows:,} rows in {self.files:,} files ({self.bytes / 1e6:,.1f} MB){planted}"
        )


def generate(
    out: Path,
    *,
    scale: str | None = "demo",
    households: int | None = None,
    start: dt.date = dt.date(2015, 3, 1),
    days: int = 3,
    seed: int = 42,
    formats: str = "mixed",
    defects: float = 0.0,
    answer_key: Path | None = None,
    progress: bool = False,
    change_share: float | None = None,
) -> GenerateSummary:
    """Write a synthetic landing tree under ``out`` (see the module docstring)."""
    t0 = time.monotonic()
    if days < 1:
        raise ValueError("days must be >= 1")
    if formats not in ("mixed", "csv"):
        raise ValueError(f"formats must be 'mixed' or 'csv', got {formats!r}")
    if not 0.0 <= defects < 0.5:
        raise ValueError("defects is a rate in [0, 0.5)")
    if change_share is not None and not 0.0 < change_share < 0.5:
        raise ValueError("change_share is a daily share of households in (0, 0.5)")
    if households is not None and households < 1:
        raise ValueError("households must be >= 1")
    out = Path(out)
    ref = load_reference()
    geo = build_geography(ref, scale, households, seed)
    cfg = RunConfig(
        out=out,
        start=start,
        days=days,
        seed=seed,
        formats=formats,
        defects=defects,
        progress=progress,
        change_share=change_share,
    )
    planter = None
    if defects > 0:
        planter = DefectPlanter(cfg, ref, geo)
    writer, registry = run(cfg, ref, geo, planter)
    writer.finish(answer_key)
    per_day = tuple(
        DaySummary(date=c.date, rows=dict(c.rows), files=c.files, bytes=c.bytes)
        for _, c in sorted(writer.counts.items())
    )
    return GenerateSummary(
        out=out,
        scale=geo.scale,
        start=start,
        days=days,
        counties=len(geo.counties),
        villages=registry["villages"],
        households=registry["households"],
        members=registry["members"],
        files=sum(d.files for d in per_day),
        bytes=sum(d.bytes for d in per_day),
        defects=len(writer.answers),
        seconds=time.monotonic() - t0,
        per_day=per_day,
    )


__all__ = ["DaySummary", "GenerateSummary", "generate"]
