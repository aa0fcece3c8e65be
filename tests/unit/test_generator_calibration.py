"""Calibration of the generator against the reference figures (warehouse/ref), on a
county-sized sample, and the geography of every scale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from generator import generate
from generator.deliveries import targets_frame
from generator.geography import build_geography
from generator.readback import read_delivery
from generator.reference import load_reference

DAYS = 30


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("county")
    generate(root, scale="county", households=20_000, days=DAYS, formats="csv")
    frames: dict[str, list[pl.DataFrame]] = {}
    for day in sorted(p for p in root.iterdir() if p.is_dir()):
        for entity, frame in read_delivery(day).items():
            frames.setdefault(entity, []).append(frame.with_columns(_day=pl.lit(day.name)))
    return {e: pl.concat(f, how="diagonal") for e, f in frames.items()}


def _day_one(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("_day") == frame["_day"].min())


def test_household_size(county: dict[str, pl.DataFrame]) -> None:
    size = _day_one(county["households"])["household_size"].cast(pl.Int64)
    assert abs(size.mean() - 3.04) <= 0.1  # type: ignore[operator]
    assert size.min() >= 1 and size.max() <= 20  # type: ignore[operator]
    assert 0.08 < (size == 1).mean() < 0.25  # type: ignore[operator]


def test_illness_is_the_main_cause_of_about_43_percent(county: dict[str, pl.DataFrame]) -> None:
    share = (_day_one(county["households"])["main_cause"] == "illness").mean()
    assert 0.40 <= share <= 0.46  # type: ignore[operator]


def test_exit_rate_is_about_a_fifth_a_year(county: dict[str, pl.DataFrame]) -> None:
    h = county["households"]
    poor = (_day_one(h)["status"] == "poor").sum()
    later = h.filter(pl.col("_day") > h["_day"].min())
    exits = later.filter(
        (pl.col("status") == "lifted") & (pl.col("status_changed_on") == pl.col("_day"))
    ).height
    yearly = exits / (DAYS - 1) * 365 / poor
    assert 0.1 < yearly < 0.4, yearly  # 2015: 14.42 M / 70.17 M = 0.21


def test_paper_exits_are_a_few_percent(county: dict[str, pl.DataFrame]) -> None:
    h = county["households"]
    exits = h.filter(
        (pl.col("status") == "lifted")
        & (pl.col("_day") > h["_day"].min())
        & (pl.col("status_changed_on") == pl.col("_day"))
    )
    lines = {2014: 2800, 2015: 2855}
    below = exits.filter(
        pl.col("per_capita_income_yuan").cast(pl.Float64)
        < pl.col("income_year").cast(pl.Int64).replace_strict(lines, default=3000)
    ).height
    insecure = exits.filter(
        (pl.col("food_clothing_secure") == "false")
        | (pl.col("housing_safe") == "false")
        | (pl.col("drinking_water_safe") == "false")
    ).height
    assert (below + insecure) / exits.height < 0.1


def test_poor_incomes_below_the_line_of_their_year(county: dict[str, pl.DataFrame]) -> None:
    h = _day_one(county["households"]).filter(pl.col("status") == "poor")
    line = h["income_year"].cast(pl.Int64).replace_strict({2013: 2736, 2014: 2800}, default=None)
    pc = h["per_capita_income_yuan"].cast(pl.Float64)
    assert (pc < line).all()


def test_school_age_children_mostly_in_school(county: dict[str, pl.DataFrame]) -> None:
    m = _day_one(county["members"]).with_columns(
        age=(
            pl.lit("2015-03-01").str.to_date() - pl.col("birth_date").str.to_date()
        ).dt.total_days()
        / 365.25
    )
    kids = m.filter(pl.col("age").is_between(6.5, 15))
    assert kids.height > 100
    assert (kids["in_school"] == "true").mean() > 0.95  # type: ignore[operator]
    insured = (m["medical_insured"] == "true").mean()
    assert 0.9 < insured < 1.0  # type: ignore[operator]


def test_every_change_kind_happens(county: dict[str, pl.DataFrame]) -> None:
    h = county["households"].filter(pl.col("_day") > "2015-03-01")
    statuses = set(h["status"])
    assert {"lifted", "removed", "poor"} <= statuses
    assert h.filter(pl.col("identified_on") == pl.col("_day")).height > 0  # new identifications
    m = county["members"].filter(pl.col("_day") > "2015-03-01")
    assert {"deceased", "left"} <= set(m["member_status"])
    assert m.filter(pl.col("birth_date") >= "2015-02-01").height > 0  # births
    a = county["assistance"].filter(pl.col("_day") > "2015-03-01")
    assert a["program"].n_unique() >= 5


def test_national_geography_matches_the_registry() -> None:
    ref = load_reference()
    geo = build_geography(ref, "national", None, seed=42)
    assert geo.households == 29_480_000
    assert geo.poor_villages == 128_000
    assert geo.pilot_villages == 1_500
    assert len(geo.provinces) == 22
    total_w = ref.total_weight
    for p in geo.provinces:
        share = sum(c.households for c in geo.counties if c.province == p) / geo.households
        assert abs(share - ref.provinces[p].poor_2013_10k / total_w) < 1e-4
    sizes = [c.households for c in geo.counties]
    assert 10_000 < sum(sizes) / len(sizes) < 30_000
    assert len({c.code for c in geo.counties}) == len(geo.counties)


@pytest.mark.parametrize(
    ("scale", "low", "high", "counties"),
    [
        ("demo", 2_900, 3_100, 3),
        ("county", 10_000, 30_000, 1),
        ("province", 900_000, 1_200_000, None),
    ],
)
def test_scales(scale: str, low: int, high: int, counties: int | None) -> None:
    geo = build_geography(load_reference(), scale, None, seed=42)
    assert low <= geo.households <= high
    if counties:
        assert len(geo.counties) == counties
    if scale == "demo":
        assert geo.provinces == ("43", "52")


def test_households_override_the_scale(tmp_path: Path) -> None:
    s = generate(tmp_path, scale="province", households=3_000, days=1, formats="csv")
    assert s.households == 3_000
    assert s.counties > 30
    assert {p.name[:13] for p in (tmp_path / "2015-03-01").glob("households_*")} == {
        "households_14"
    }


def test_national_targets_split_the_ten_million() -> None:
    ref = load_reference()
    geo = build_geography(ref, "national", None, seed=42)
    t = targets_frame(ref, geo, 2015, first_day=True)
    lifted = t.filter(pl.col("metric") == "people_lifted")
    assert lifted.filter(pl.col("province_code") == "00")["target"].item() == 10_000_000
    provinces = lifted.filter(pl.col("province_code") != "00")
    assert provinces["target"].sum() == 10_000_000
    assert provinces.height == 22
    guizhou = provinces.filter(pl.col("province_code") == "52")["target"].item()
    assert abs(guizhou / 10_000_000 - ref.provinces["52"].poor_2013_10k / ref.total_weight) < 1e-4
    pilots = t.filter(
        (pl.col("metric") == "ecommerce_pilot_villages") & (pl.col("province_code") == "00")
    )
    assert pilots["target"].item() == 1_500


def test_a_new_year_brings_its_targets(tmp_path: Path) -> None:
    generate(tmp_path, households=300, days=3, start=dt.date(2015, 12, 31), formats="csv")
    t = pl.read_csv(tmp_path / "2016-01-01" / "targets_national.csv")
    assert set(t["year"]) == {2016} and set(t["metric"]) == {"people_lifted"}
    assert not (tmp_path / "2016-01-02" / "targets_national.csv").exists()
