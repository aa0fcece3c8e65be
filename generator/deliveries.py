"""The run: every county's deliveries day by day, the national targets, the manifests.

Counties are generated one at a time (all days of a county, then the next county), so
memory is bounded by the largest county whatever the scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from contract.landing import MANIFEST_NAME
from contract.reasons import reason
from generator.county import County, DayChanges, date_of, day_number
from generator.formats import (
    Style,
    column_order,
    format_frame,
    style_for,
)
from generator.frames import rows_frame
from generator.geography import Geography, largest_remainder, scaled_target
from generator.reference import Reference
from generator.writers import DayFolder, to_bytes

ENTITIES = ("villages", "households", "members", "assistance")
PART_ROWS = 250_000
MIN_SPLIT_ROWS = 100  # smaller member files are never split in two (see defects: held share)
EMPTY_FILE_SHARE = 4  # in 10: a county with nothing to send for an entity sends a header only
ANSWER_COLUMNS = (
    "delivery_date",
    "file_name",
    "entity",
    "row_number",
    "record_key",
    "defect",
    "expected_outcome",
)


@dataclass
class DayCounts:
    date: dt.date
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files: int = 0
    bytes: int = 0


@dataclass
class RunConfig:
    out: Path
    start: dt.date
    days: int
    seed: int
    formats: str
    defects: float
    progress: bool
    change_share: float | None = None


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, enabled: bool, label: str = "generate"):
        self.total, self.enabled, self.label = total, enabled, label
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.5 and self.done < self.total:
            return
        self._last = now
        frac = self.done / max(self.total, 1)
        elapsed = now - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {self.done}/{self.total} counties"
            f"  {elapsed:6.0f}s elapsed, ~{eta:5.0f}s left {note:<20}"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _hash(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def record_keys(entity: str, frame: pl.DataFrame) -> pl.Series:
    """The key of each (formatted) row as the pipeline reports it."""
    if entity == "targets":
        return frame.select(
            pl.concat_str(
                [
                    pl.col("year").fill_null(""),
                    pl.col("province_code").fill_null(""),
                    pl.col("metric").fill_null(""),
                ],
                separator="|",
            )
        ).to_series()
    col = {
        "villages": "village_code",
        "households": "household_id",
        "members": "id_number",
        "assistance": "event_id",
    }[entity]
    s = frame[col].fill_null("")
    if entity == "members":
        up = s.str.to_uppercase()
        s = pl.select(
            pl.when(up.str.contains(r"^\d{17}[\dX][1-7][1-4]$"))
            .then(up.str.slice(0, 18))
            .otherwise(up)
        ).to_series()
    return s


class Writer:
    """Writes formatted files into day folders and collects answer-key rows."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.folders: dict[dt.date, DayFolder] = {}
        self.counts: dict[dt.date, DayCounts] = {}
        self.answers: list[tuple] = []

    def folder(self, date: dt.date) -> DayFolder:
        if date not in self.folders:
            self.folders[date] = DayFolder(self.cfg.out / date.isoformat())
            self.counts[date] = DayCounts(date)
        return self.folders[date]

    def write(
        self,
        date: dt.date,
        entity: str,
        source: str,
        frame: pl.DataFrame,
        style: Style,
        columns: list[str],
        parts: int = 1,
        suffix: str = "",
    ) -> list[str]:
        folder = self.folder(date)
        frame = frame.sort("_pos", maintain_order=True)
        formatted = format_frame(entity, frame, style)
        n = formatted.height
        parts = max(parts, math.ceil(n / PART_ROWS)) if n else 1
        parts = min(parts, max(n, 1))
        names = []
        size = math.ceil(n / parts) if n else 0
        for p in range(parts):
            sub = formatted.slice(p * size, size) if n else formatted
            tag = f"_part{p + 1}" if parts > 1 else ""
            name = f"{entity}_{source}{tag}{suffix}.{style.ext}"
            data = to_bytes(entity, sub, columns, style)
            entry = folder.write(name, data, sub.height, entity)
            counts = self.counts[date]
            counts.rows[entity] += sub.height
            counts.files += 1
            counts.bytes += entry.size
            names.append(name)
            self._answers(date, name, entity, sub)
        return names

    def _answers(self, date: dt.date, name: str, entity: str, sub: pl.DataFrame) -> None:
        if not sub.height or sub["_defect"].null_count() == sub.height:
            return
        keyed = sub.with_columns(
            _row=pl.int_range(1, pl.len() + 1), _key=record_keys(entity, sub)
        ).filter(pl.col("_defect").is_not_null())
        for row, key, code in keyed.select("_row", "_key", "_defect").iter_rows():
            self.answers.append(
                (date.isoformat(), name, entity, row, key, code, reason(code).outcome)
            )

    def add_answer(
        self, date: dt.date, name: str, entity: str, row: int | None, key: str, code: str
    ) -> None:
        self.answers.append(
            (
                date.isoformat(),
                name,
                entity,
                "" if row is None else row,
                key,
                code,
                reason(code).outcome,
            )
        )

    def finish(self, answer_key: Path | None) -> int:
        total = 0
        for date, folder in sorted(self.folders.items()):
            size = folder.write_manifest()
            self.counts[date].bytes += size
            total += size
        if answer_key is not None:
            answer_key.parent.mkdir(parents=True, exist_ok=True)
            rows = sorted(
                self.answers, key=lambda r: (r[0], r[1], r[3] if isinstance(r[3], int) else 0, r[5])
            )
            with open(answer_key, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(ANSWER_COLUMNS)
                w.writerows(rows)
        return total


def targets_frame(ref: Reference, geo: Geography, year: int, first_day: bool) -> pl.DataFrame:
    """Targets for ``year`` scaled to the generated population (and, on the first day, the
    e-commerce village targets of the seed)."""
    full_households = ref.registry["registered_households"]
    provinces = geo.provinces
    hh_by_prov = {p: sum(c.households for c in geo.counties if c.province == p) for p in provinces}
    pv_by_prov = {
        p: sum(c.poor_villages for c in geo.counties if c.province == p) for p in provinces
    }
    rows: list[dict] = []
    people = [r for r in ref.targets if r["metric"] == "people_lifted" and int(r["year"]) <= year]
    if people and year <= 2020:
        national = float(max(people, key=lambda r: int(r["year"]))["target"])
        total = round(national * geo.households / full_households)
        split = largest_remainder(total, np.array([hh_by_prov[p] for p in provinces], dtype=float))
        rows += [
            {"year": year, "province_code": p, "metric": "people_lifted", "target": int(v)}
            for p, v in zip(provinces, split, strict=True)
        ]
        rows.append(
            {"year": year, "province_code": "00", "metric": "people_lifted", "target": total}
        )
    if first_day:
        for r in ref.targets:
            metric = r["metric"]
            if metric == "people_lifted":
                continue
            total = (
                geo.pilot_villages
                if metric == "ecommerce_pilot_villages"
                else scaled_target(ref, metric, geo.poor_villages)
            )
            split = largest_remainder(
                total, np.array([pv_by_prov[p] for p in provinces], dtype=float)
            )
            y = int(r["year"])
            rows += [
                {"year": y, "province_code": p, "metric": metric, "target": int(v)}
                for p, v in zip(provinces, split, strict=True)
            ]
            rows.append({"year": y, "province_code": "00", "metric": metric, "target": total})
    frame = rows_frame("targets", rows)
    return frame.with_columns(_pos=pl.int_range(pl.len()).cast(pl.Float64))


def run(cfg: RunConfig, ref: Reference, geo: Geography, planter=None) -> tuple[Writer, dict]:
    writer = Writer(cfg)
    day0 = day_number(cfg.start)
    dates = [date_of(day0 + d) for d in range(cfg.days)]
    registry = {"households": 0, "members": 0, "villages": 0}
    national_index = len(geo.counties)

    # Targets: day one, and the first day of every new year.
    for d, date in enumerate(dates):
        if d == 0 or (date.month == 1 and date.day == 1):
            frame = targets_frame(ref, geo, date.year, first_day=d == 0)
            style = style_for(national_index, "targets", cfg.seed, cfg.formats)
            if planter is not None:
                frame = planter.plant_targets(d, frame)
            writer.write(
                date,
                "targets",
                "national",
                frame,
                style,
                column_order("targets", style, cfg.seed, national_index),
            )

    bar = Progress(len(geo.counties), cfg.progress)
    for spec in geo.counties:
        county = County(spec, ref, cfg.seed, cfg.start, cfg.change_share)
        styles = {e: style_for(spec.index, e, cfg.seed, cfg.formats) for e in ENTITIES}
        columns = {e: column_order(e, styles[e], cfg.seed, spec.index) for e in ENTITIES}
        for d, date in enumerate(dates):
            changes: DayChanges = county.initial() if d == 0 else county.step(day0 + d)
            if d == 0:
                registry["households"] += len(county.ht)
                registry["members"] += len(county.mt)
                registry["villages"] += len(county.vt)
            if planter is not None:
                planter.before_frames(county, d, changes, styles)
            frames = county.frames(changes)
            if planter is not None:
                frames = planter.plant(county, d, changes, frames, styles)
            for entity in ENTITIES:
                frame = frames[entity]
                if (
                    d > 0
                    and frame.height == 0
                    and _hash(cfg.seed, spec.code, d, entity) % 10 >= EMPTY_FILE_SHARE
                ):
                    continue
                parts = (
                    2
                    if (
                        cfg.formats == "mixed"
                        and entity == "members"
                        and spec.index % 4 == 1
                        and frame.height >= MIN_SPLIT_ROWS
                    )
                    else 1
                )
                writer.write(
                    date, entity, spec.code, frame, styles[entity], columns[entity], parts=parts
                )
        bar.update(1, spec.code)
        del county
    bar.close()
    if planter is not None:
        planter.file_defects(writer, dates)
    return writer, registry


__all__ = ["MANIFEST_NAME", "RunConfig", "Writer", "run"]
