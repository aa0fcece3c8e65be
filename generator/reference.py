"""Reference figures the generator calibrates on, read from ``contract/ref`` (never constants).

Each figure carries its provenance in those files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from contract.reference import REF_DIR


def reference_dir() -> Path:
    return REF_DIR


def _rows(name: str) -> list[dict[str, str]]:
    with open(reference_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Province:
    code: str
    name_en: str
    name_zh: str
    region: str
    western_exit_rule: bool
    poverty_counties: int
    poor_2013_10k: float


@dataclass(frozen=True)
class Reference:
    provinces: dict[str, Province]  # only provinces with poverty counties
    poverty_lines: dict[int, int]  # year -> yuan per person
    rural_poor_10k: dict[int, float]
    reduction_10k: dict[int, float]
    registry: dict[str, float]
    targets: list[dict[str, str]]

    def line(self, year: int) -> int:
        """The poverty line of ``year`` (the nearest year the table has outside its range)."""
        years = sorted(self.poverty_lines)
        year = min(max(year, years[0]), years[-1])
        return self.poverty_lines[year]

    def exit_rate(self, year: int) -> float:
        """Yearly share of the poor stock that exits: reduction(year) / rural poor(year-1)."""
        reduction = self.reduction_10k.get(year)
        before = self.rural_poor_10k.get(year - 1)
        if reduction is None or not before:
            return 0.0
        return reduction / before

    @property
    def total_weight(self) -> float:
        return sum(p.poor_2013_10k for p in self.provinces.values())


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


@lru_cache(maxsize=4)
def _load(path: str) -> Reference:
    provinces = {}
    for r in _rows("provinces.csv"):
        if r["has_poverty_counties"].strip().lower() != "true":
            continue
        provinces[r["province_code"]] = Province(
            code=r["province_code"],
            name_en=r["name_en"],
            name_zh=r["name_zh"],
            region=r["region"],
            western_exit_rule=r["western_exit_rule"].strip().lower() == "true",
            poverty_counties=int(r["poverty_counties_832"] or 0),
            poor_2013_10k=float(r["poor_2013_10k"] or 0),
        )
    lines = {
        int(r["year"]): int(float(r["line_yuan_per_person"])) for r in _rows("poverty_lines.csv")
    }
    poor: dict[int, float] = {}
    reduction: dict[int, float] = {}
    for r in _rows("national_poverty.csv"):
        p, d = _float(r["rural_poor_10k"]), _float(r["reduction_10k"])
        if p is not None:
            poor[int(r["year"])] = p
        if d is not None:
            reduction[int(r["year"])] = d
    registry = {r["metric"]: float(r["value"]) for r in _rows("registry_2014.csv")}
    return Reference(provinces, lines, poor, reduction, registry, _rows("targets.csv"))


def load_reference() -> Reference:
    return _load(str(reference_dir()))
