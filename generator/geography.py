"""Administrative geography: which provinces and counties a scale generates, and how many
households, poor villages and e-commerce pilot villages each county gets.

Counts are spread with the largest-remainder method so totals are exact (the national
scale has exactly the registry's 128,000 poor villages and 29.48 M households).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generator.reference import Reference

SCALES = ("demo", "county", "province", "national")
NONPOOR_VILLAGES_PER_POOR = 2.5  # non-poor villages give incidence its denominator
COUNTIES_PER_POVERTY_COUNTY = 1.8  # poverty counties plus the other counties with poor people
PROVINCE_SCALE_PROVINCE = "14"  # Shanxi: about 1 M registered households
DEMO_COUNTIES = (("52", 2, 1000), ("43", 1, 1000))  # (province, counties, households each)
COUNTY_SCALE = ("52", 20_000)


@dataclass(frozen=True)
class CountySpec:
    index: int  # position in the run, fixes the county's random stream and formats
    code: str  # 6-digit county code
    province: str
    households: int
    poor_villages: int
    nonpoor_villages: int
    pilot_villages: int
    poverty_county: bool


@dataclass(frozen=True)
class Geography:
    scale: str
    counties: tuple[CountySpec, ...]

    @property
    def households(self) -> int:
        return sum(c.households for c in self.counties)

    @property
    def poor_villages(self) -> int:
        return sum(c.poor_villages for c in self.counties)

    @property
    def pilot_villages(self) -> int:
        return sum(c.pilot_villages for c in self.counties)

    @property
    def provinces(self) -> tuple[str, ...]:
        return tuple(sorted({c.province for c in self.counties}))


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    raw = w / w.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = int(total - out.sum())
    if short:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:short]] += 1
    return out


def _county_codes(province: str, n: int) -> list[str]:
    # 12 counties per prefecture, numbered 21.. as county-level units usually are.
    return [f"{province}{j // 12 + 1:02d}{21 + j % 12:02d}" for j in range(n)]


def build_geography(
    ref: Reference, scale: str | None, households: int | None, seed: int
) -> Geography:
    scale = scale or "demo"
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    rng = np.random.default_rng([seed, 7_041])
    full_households = int(ref.registry["registered_households"])
    full_poor_villages = int(ref.registry["poor_villages"])
    weight_total = ref.total_weight

    # (province, code, relative weight, poverty county?)
    plan: list[tuple[str, str, float, bool]] = []
    if scale == "demo":
        for prov, n, _ in DEMO_COUNTIES:
            for code in _county_codes(prov, n):
                plan.append((prov, code, 1.0, True))
        total = sum(n * each for _, n, each in DEMO_COUNTIES)
    elif scale == "county":
        plan.append((COUNTY_SCALE[0], _county_codes(COUNTY_SCALE[0], 1)[0], 1.0, True))
        total = COUNTY_SCALE[1]
    else:
        provs = (
            [ref.provinces[PROVINCE_SCALE_PROVINCE]]
            if scale == "province"
            else sorted(ref.provinces.values(), key=lambda p: p.code)
        )
        for p in provs:
            n = max(2, round(p.poverty_counties * COUNTIES_PER_POVERTY_COUNTY))
            codes = _county_codes(p.code, n)
            poverty = np.zeros(n, dtype=bool)
            poverty[rng.choice(n, size=min(p.poverty_counties, n), replace=False)] = True
            noise = rng.lognormal(0.0, 0.35, size=n)
            w = noise * np.where(poverty, 2.0, 1.0)
            w = w / w.sum() * p.poor_2013_10k / weight_total
            plan.extend(
                (p.code, c, float(wi), bool(pv))
                for c, wi, pv in zip(codes, w, poverty, strict=True)
            )
        share = sum(w for _, _, w, _ in plan)
        total = round(full_households * share)
    if households is not None:
        if households < len(plan):
            plan = plan[: max(1, households)]
        total = households

    weights = np.array([w for _, _, w, _ in plan])
    hh = largest_remainder(total, weights)
    keep = hh > 0  # a small run spread over many counties leaves some without households
    plan = [p for p, k in zip(plan, keep, strict=True) if k]
    hh = hh[keep]
    if scale == "national" and households is None:
        poor_total = full_poor_villages
    else:
        poor_total = max(len(plan), round(total * full_poor_villages / full_households))
    pv = largest_remainder(poor_total, hh.astype(np.float64))
    pv = np.maximum(pv, 1)
    pilot_total = _pilot_target(ref, int(pv.sum()))
    pilots = np.minimum(largest_remainder(pilot_total, pv.astype(np.float64)), pv)
    counties = tuple(
        CountySpec(
            index=i,
            code=code,
            province=prov,
            households=int(hh[i]),
            poor_villages=int(pv[i]),
            nonpoor_villages=math.ceil(pv[i] * NONPOOR_VILLAGES_PER_POOR),
            pilot_villages=int(pilots[i]),
            poverty_county=poverty,
        )
        for i, (prov, code, _, poverty) in enumerate(plan)
    )
    return Geography(scale=scale, counties=counties)


def scaled_target(ref: Reference, metric: str, poor_villages: int) -> int:
    """A village-count target of the seed (pilots, villages reached) scaled to the run."""
    full = ref.registry["poor_villages"]
    for row in ref.targets:
        if row["metric"] == metric and row["scope"] == "national":
            return max(1, round(float(row["target"]) * poor_villages / full))
    return 0


def _pilot_target(ref: Reference, poor_villages: int) -> int:
    return scaled_target(ref, "ecommerce_pilot_villages", poor_villages)


def pilot_year(ref: Reference) -> int:
    for row in ref.targets:
        if row["metric"] == "ecommerce_pilot_villages":
            return int(row["year"])
    return 2015
