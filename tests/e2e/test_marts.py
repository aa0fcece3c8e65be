"""The marts on the hand-built registry of tests/fixtures/registry_small: every figure worked
out by hand, the same tables whatever order the dates run in, and post-load checks that can
fail.

The story (tests/fixtures/registry_small/generate.py has it in full). Dates D1 2015-02-28
(a month-end), D2 2015-03-01, D3 2015-03-02. Lines: 2,800 yuan (income year 2014), 2,736
(2013). Province 52 is west (3% rule), 43 is not (2%). Households, size in brackets:

    V1 520121100201 rural 100      H1(3) poor -> lifted 03-01 genuine
                                   H6(2) lifted 02-10 genuine -> returned 03-02 (y 2100)
    V2 520121100202 rural 190->200 H2(2) poor -> lifted 03-01, paper: income 2500
                                   H7(3) poor -> lifted 03-01 genuine -> poor 03-02 (y 2800)
                                   H10(4) poor, y -300 (net -1200)
    V3 520122101201 rural 50       H3(2) poor -> lifted 03-02 on D3, paper: housing
                                   H11(1) lifted 2014-12-15
    V4 430121102201 rural 100      H4(3) poor -> lifted 03-01, paper: child out of school
                                   H8(1) poor -> removed 03-01;  H12(3) poor (y 1400)
    V5 430121103201 rural 200      H5(2) poor -> lifted 03-01 reported on D3, paper: uninsured
                                   H9(1) identified 2015 -> lifted 03-01, paper: same year
                                   H13(1) poor (y 1368, income year 2013)

Poor stock on D3 (poor or returned): H6(2, y 2100), H7(3, y 2800 = the line), H10(4, y -300),
H12(3, y 1400), H13(1, y 1368 vs 2,736). Gaps (z - y) / z: H6 1/4, H7 0, H10 31/28,
H12 1/2, H13 1/2.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import shutil
from math import log
from pathlib import Path

import duckdb
import pytest
from support import ROOT, table_contents

from contract.idcard import id_problem
from contract.reference import code_labels
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse.loader import build_marts, post_load_checks

FIXTURE = ROOT / "tests" / "fixtures" / "registry_small"
D1, D2, D3 = dt.date(2015, 2, 28), dt.date(2015, 3, 1), dt.date(2015, 3, 2)
IN_ORDER = [D1, D2, D3]
SHUFFLED = [D3, D1, D2, D2]  # out of order, and D2 run twice

# The fixture's own story (tests/fixtures/registry_small/generate.py) names the villages
# and households; take them from there rather than repeating them.
_spec = importlib.util.spec_from_file_location(
    "registry_small", ROOT / "tests" / "fixtures" / "registry_small" / "generate.py"
)
assert _spec and _spec.loader
_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixture)
V1, V2, V3, V4, V5 = _fixture.V1, _fixture.V2, _fixture.V3, _fixture.V4, _fixture.V5
H = dict(_fixture.HH)
MARTS = {
    "marts.effective_targets",
    "marts.target_progress",
    "marts.poverty_stock",
    "marts.village_exit_readiness",
    "marts.county_exit_readiness",
    "marts.programme_coverage",
    "marts.causes",
    "marts.exit_audit",
    "marts.deprivation",
    "marts.data_quality_completeness",
    "marts.data_quality_quarantine",
}


def _build(root: Path, dates: list[dt.date]) -> Path:
    shutil.copytree(FIXTURE, root / "landing", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for d in dates:
        run_all(RunContext.local(d, root))
    return root / "warehouse" / "poverty.duckdb"


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("marts")
    return _build(tmp / "in_order", IN_ORDER), _build(tmp / "shuffled", SHUFFLED)


@pytest.fixture(scope="module")
def wh(warehouses: tuple[Path, Path]) -> Path:
    return warehouses[0]


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def approx(expected: list[tuple]) -> list[tuple]:
    """Expected rows with every float compared to 1e-9 (FGT terms are summed at 1e-15)."""
    return [
        tuple(pytest.approx(v, rel=1e-9, abs=1e-12) if isinstance(v, float) else v for v in r)
        for r in expected
    ]


# --- determinism ------------------------------------------------------------------------


def test_marts_are_the_same_whatever_the_run_order(warehouses: tuple[Path, Path]) -> None:
    in_order, shuffled = (table_contents(w) for w in warehouses)
    assert set(in_order) >= MARTS, "every mart is compared"
    assert all(in_order[t] for t in MARTS), "no mart is empty on the fixture"
    assert in_order == shuffled


# --- targets ----------------------------------------------------------------------------


def test_effective_targets(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en) FROM marts.effective_targets ORDER BY year, metric, province_code",
    )
    assert got == [
        # 10,000,000: ref default 00 2014 (nothing delivered for 2014)
        (2014, "00", "people_lifted", 10_000_000, "reference_default", None),
        # 1,500: ref default 00 2015 (no e-commerce target delivered)
        (2015, "00", "ecommerce_pilot_villages", 1500, "reference_default", None),
        # 26: no delivered 00 -> sum of delivered provinces 52 (16) + 43 (10), replacing the
        # 10,000,000 default; delivered_on = the later of D3 (52) and D1 (43)
        (2015, "00", "people_lifted", 26, "sum_of_delivered_provinces", D3),
        # 10: 43 delivered on D1
        (2015, "43", "people_lifted", 10, "delivered", D1),
        # 16: 52 delivered 20 on D1, then 16 on D3: the latest delivery wins
        (2015, "52", "people_lifted", 16, "delivered", D3),
        # 60,000: ref default 00 2019 (cumulative, five years)
        (2019, "00", "ecommerce_villages_cumulative", 60000, "reference_default", None),
    ]


def test_target_progress_every_as_of_date(wh: Path) -> None:
    # as_of, year, province, target, lifted, verified, paper, returned, net, share, projected,
    # on_track. projected = net * 365 / day of year (02-28 = 59, 03-01 = 60, 03-02 = 61).
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en) FROM marts.target_progress"
        " ORDER BY as_of_date, province_code",
    )
    assert got == approx(
        [
            # D1 nation: H6 lifted 02-10 (2, genuine); H11's exit is dated 2014: not in 2015
            (D1, 2015, "00", 26, 2, 2, 0, 0, 2, 2 / 26, 2 * 365 / 59, False),
            # D1 43: a target, no event yet (H5's exit, dated 03-01, comes on D3)
            (D1, 2015, "43", 10, 0, 0, 0, 0, 0, 0.0, 0.0, False),
            # D1 52: H6 (2, genuine)
            (D1, 2015, "52", 16, 2, 2, 0, 0, 2, 2 / 16, 2 * 365 / 59, False),
            # D2 nation: 52 (10) + 43 (6) lifted; verified 8 (52); paper 2 (H2) + 6 (43)
            (D2, 2015, "00", 26, 16, 8, 8, 0, 16, 16 / 26, 16 * 365 / 60, True),
            # D2 43: H4 (3, paper) + H9 (1, paper) + H5 (2, paper, dated 03-01 but reported on
            # D3: counted from every delivery whatever its date); H8's removal is no exit
            (D2, 2015, "43", 10, 6, 0, 6, 0, 6, 0.6, 6 * 365 / 60, True),
            # D2 52: H6 (2) + H1 (3) + H2 (2, paper: income) + H7 (3) -> 10, verified 8
            (D2, 2015, "52", 16, 10, 8, 2, 0, 10, 0.625, 10 * 365 / 60, True),
            # D3 nation: lifted 12 + 6 = 18, verified 8, paper 10, returned 5, net 13
            (D3, 2015, "00", 26, 18, 8, 10, 5, 13, 0.5, 13 * 365 / 61, True),
            # D3 43: unchanged, one more day
            (D3, 2015, "43", 10, 6, 0, 6, 0, 6, 0.6, 6 * 365 / 61, True),
            # D3 52: + H3 (2, paper: housing) -> 12; returned H6 (2) + H7 correction (3) = 5
            (D3, 2015, "52", 16, 12, 8, 4, 5, 7, 7 / 16, 7 * 365 / 61, True),
        ]
    )


# --- poverty stock ----------------------------------------------------------------------

STOCK_ORDER = "ORDER BY as_of_date, length(admin_code), admin_code"


def test_poverty_stock_rows_by_date_and_level(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT as_of_date, admin_level, count(*) FROM marts.poverty_stock GROUP BY ALL ORDER BY ALL",
    )
    assert got == [
        # D1 is a month-end: township and village rows too
        (D1, "county", 3),  # 430121, 520121, 520122
        (D1, "nation", 1),
        (D1, "province", 2),  # 43, 52
        (D1, "township", 4),  # 520121100 (V1, V2), 520122101, 430121102, 430121103
        (D1, "village", 5),  # V1-V5
        (D2, "county", 3),  # 520122 delivered nothing on D2 but its households still count
        (D2, "nation", 1),
        (D2, "province", 2),
        # D2 is neither a month-end nor the latest: no township / village rows
        (D3, "county", 3),
        (D3, "nation", 1),
        (D3, "province", 2),
        (D3, "township", 4),
        (D3, "village", 5),
    ]


def test_poverty_stock_statuses_on_the_latest_date(wh: Path) -> None:
    # code, households poor/lifted/returned/removed/total, people poor/lifted/returned/removed/total
    got = rows(
        wh,
        "SELECT admin_code, households_poor, households_lifted, households_returned,"
        " households_removed, households_total, people_poor, people_lifted, people_returned,"
        " people_removed, people_total FROM marts.poverty_stock WHERE as_of_date = ? "
        + STOCK_ORDER,
        [D3],
    )
    assert got == [
        # nation: poor H7 H10 H12 H13 (3+4+3+1); lifted H1 H2 H3 H11 H4 H5 H9 (3+2+2+1+3+2+1);
        # returned H6 (2); removed H8 (1)
        ("00", 4, 7, 1, 1, 13, 11, 14, 2, 1, 28),
        # 43: poor H12 H13 (3+1); lifted H4 H5 H9 (3+2+1); removed H8 (1)
        ("43", 2, 3, 0, 1, 6, 4, 6, 0, 1, 11),
        # 52: poor H7 H10 (3+4); lifted H1 H2 H3 H11 (3+2+2+1); returned H6 (2)
        ("52", 2, 4, 1, 0, 7, 7, 8, 2, 0, 17),
        ("430121", 2, 3, 0, 1, 6, 4, 6, 0, 1, 11),  # = 43
        # 520121 (V1, V2): poor H7 H10; lifted H1 H2 (3+2); returned H6
        ("520121", 2, 2, 1, 0, 5, 7, 5, 2, 0, 14),
        ("520122", 0, 2, 0, 0, 2, 0, 3, 0, 0, 3),  # V3: lifted H3 (2) H11 (1)
        ("430121102", 1, 1, 0, 1, 3, 3, 3, 0, 1, 7),  # V4: poor H12, lifted H4, removed H8
        ("430121103", 1, 2, 0, 0, 3, 1, 3, 0, 0, 4),  # V5: poor H13, lifted H5 (2) H9 (1)
        ("520121100", 2, 2, 1, 0, 5, 7, 5, 2, 0, 14),  # = 520121 (V1, V2)
        ("520122101", 0, 2, 0, 0, 2, 0, 3, 0, 0, 3),  # = V3
        ("430121102201", 1, 1, 0, 1, 3, 3, 3, 0, 1, 7),  # = township 430121102
        ("430121103201", 1, 2, 0, 0, 3, 1, 3, 0, 0, 4),  # = township 430121103
        ("520121100201", 0, 1, 1, 0, 2, 0, 3, 2, 0, 5),  # V1: lifted H1 (3), returned H6 (2)
        ("520121100202", 2, 1, 0, 0, 3, 7, 2, 0, 0, 9),  # V2: poor H7 (3) H10 (4), lifted H2
        ("520122101201", 0, 2, 0, 0, 2, 0, 3, 0, 0, 3),  # V3
    ]


def test_poverty_stock_incidence_on_the_latest_date(wh: Path) -> None:
    # code, villages, poor villages, rural population, poor stock people, incidence
    got = rows(
        wh,
        "SELECT admin_code, villages, poor_villages, rural_population, poor_stock_people,"
        " incidence FROM marts.poverty_stock WHERE as_of_date = ? " + STOCK_ORDER,
        [D3],
    )
    assert got == approx(
        [
            # 5 villages (V1 V2 V4 poor); rural 100 + 200 (V2 updated on D3) + 50 + 100 + 200;
            # poor stock 11 poor + 2 returned
            ("00", 5, 3, 650, 13, 13 / 650),
            ("43", 2, 1, 300, 4, 4 / 300),  # V4 V5: 100 + 200; H12 (3) + H13 (1)
            ("52", 3, 2, 350, 9, 9 / 350),  # V1 V2 V3: 100 + 200 + 50; H6 (2) H7 (3) H10 (4)
            ("430121", 2, 1, 300, 4, 4 / 300),
            ("520121", 2, 2, 300, 9, 9 / 300),  # V1 V2: 9 / 300 = 0.03
            ("520122", 1, 0, 50, 0, 0.0),  # V3: nobody poor
            ("430121102", 1, 1, 100, 3, 0.03),  # V4: H12 (3) / 100
            ("430121103", 1, 0, 200, 1, 0.005),  # V5: H13 (1) / 200
            ("520121100", 2, 2, 300, 9, 0.03),
            ("520122101", 1, 0, 50, 0, 0.0),
            ("430121102201", 1, 1, 100, 3, 0.03),
            ("430121103201", 1, 0, 200, 1, 0.005),
            ("520121100201", 1, 1, 100, 2, 0.02),  # V1: H6 (2) / 100
            ("520121100202", 1, 1, 200, 7, 0.035),  # V2: H7 (3) + H10 (4) over 200
            ("520122101201", 1, 0, 50, 0, 0.0),
        ]
    )


def test_poverty_stock_fgt_on_the_latest_date(wh: Path) -> None:
    # code, FGT people, P0, P1, P2, Watts. Person-weighted over the poor stock; gaps
    # H6 1/4, H7 0 (y = z: not below the line), H10 31/28 (negative income, not capped),
    # H12 1/2, H13 1/2 (1368 vs the 2013 line 2736); Watts bottom-codes H10's -300 to 1 yuan.
    got = rows(
        wh,
        "SELECT admin_code, fgt_people, fgt_p0, fgt_p1, fgt_p2, fgt_watts"
        " FROM marts.poverty_stock WHERE as_of_date = ? " + STOCK_ORDER,
        [D3],
    )
    w52 = (2 * log(4 / 3) + 4 * log(2800)) / 9  # H6 2 x ln(2800/2100), H10 4 x ln(2800/1)
    assert got == approx(
        [
            # nation, 13 people: below the line H6 H10 H12 H13 (2+4+3+1 = 10);
            # P1 = (2/4 + 4*31/28 + 3/2 + 1/2) / 13; P2 = (2/16 + 4*(31/28)^2 + 3/4 + 1/4) / 13
            (
                "00",
                13,
                10 / 13,
                (2 / 4 + 4 * 31 / 28 + 3 / 2 + 1 / 2) / 13,
                (2 / 16 + 4 * (31 / 28) ** 2 + 3 / 4 + 1 / 4) / 13,
                (2 * log(4 / 3) + 4 * log(2800) + 3 * log(2) + log(2)) / 13,
            ),
            # 43: H12 (3) and H13 (1), both gap 1/2
            ("43", 4, 1.0, 0.5, 0.25, log(2)),
            # 52: H6 (2), H7 (3, gap 0), H10 (4)
            ("52", 9, 6 / 9, (2 / 4 + 4 * 31 / 28) / 9, (2 / 16 + 4 * (31 / 28) ** 2) / 9, w52),
            ("430121", 4, 1.0, 0.5, 0.25, log(2)),
            ("520121", 9, 6 / 9, (2 / 4 + 4 * 31 / 28) / 9, (2 / 16 + 4 * (31 / 28) ** 2) / 9, w52),
            ("520122", 0, None, None, None, None),  # nobody in the poor stock
            ("430121102", 3, 1.0, 0.5, 0.25, log(2)),  # H12
            ("430121103", 1, 1.0, 0.5, 0.25, log(2)),  # H13
            ("520121100", 9, 6 / 9, (2 / 4 + 4 * 31 / 28) / 9, (2 / 16 + 4 * (31 / 28) ** 2) / 9, w52),
            ("520122101", 0, None, None, None, None),
            ("430121102201", 3, 1.0, 0.5, 0.25, log(2)),
            ("430121103201", 1, 1.0, 0.5, 0.25, log(2)),
            ("520121100201", 2, 1.0, 0.25, 1 / 16, log(4 / 3)),  # H6 alone
            # V2: H7 (3, at the line) and H10 (4): P0 4/7
            ("520121100202", 7, 4 / 7, 4 * 31 / 28 / 7, 4 * (31 / 28) ** 2 / 7, 4 * log(2800) / 7),
            ("520122101201", 0, None, None, None, None),
        ]
    )  # fmt: skip


def test_poverty_stock_earlier_dates(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT as_of_date, admin_code, households_poor, households_lifted, households_returned,"
        " households_removed, people_poor, people_lifted, people_returned, people_removed,"
        " rural_population FROM marts.poverty_stock"
        " WHERE as_of_date < ? AND admin_level IN ('nation', 'county') " + STOCK_ORDER,
        [D3],
    )
    assert got == [
        # D1: everyone poor but H6 and H11 (lifted); rural 100 + 190 + 50 + 100 + 200
        (D1, "00", 11, 2, 0, 0, 25, 3, 0, 0, 640),
        (D1, "430121", 6, 0, 0, 0, 11, 0, 0, 0, 300),  # H4 H8 H12 H5 H9 H13 (3+1+3+2+1+1)
        (D1, "520121", 4, 1, 0, 0, 12, 2, 0, 0, 290),  # H1 H2 H7 H10 poor; H6 lifted
        (D1, "520122", 1, 1, 0, 0, 2, 1, 0, 0, 50),  # H3 poor, H11 lifted
        # D2: H1 H2 H7 H4 H9 lifted, H8 removed; H5's lift only arrives on D3
        (D2, "00", 5, 7, 0, 1, 12, 15, 0, 1, 640),
        (D2, "430121", 3, 2, 0, 1, 6, 4, 0, 1, 300),  # poor H12 H5 H13; lifted H4 H9
        (D2, "520121", 1, 4, 0, 0, 4, 10, 0, 0, 290),  # poor H10; lifted H1 H6 H2 H7
        (D2, "520122", 1, 1, 0, 0, 2, 1, 0, 0, 50),  # missing on D2: its D1 state holds
    ]
    fgt = rows(
        wh,
        "SELECT as_of_date, incidence, fgt_people, fgt_p0, fgt_p1, fgt_p2, fgt_watts"
        " FROM marts.poverty_stock WHERE as_of_date < ? AND admin_level = 'nation' " + STOCK_ORDER,
        [D3],
    )
    assert fgt == approx(
        [
            # D1, 25 people all below the line. Gaps in 28ths: H1 2 (y 2600), H2 8 (2000),
            # H7 7 (2100), H10 31, H3 3 (2500), H4 3, H8 8, H12 14, H5 3, H9 2 (2600), H13 14;
            # weighted: 3*2 + 2*8 + 3*7 + 4*31 + 2*3 + 3*3 + 8 + 3*14 + 2*3 + 2 + 14 = 254
            (
                D1,
                25 / 640,
                25,
                1.0,
                254 / 28 / 25,
                (3 * 4 + 2 * 64 + 3 * 49 + 4 * 961 + 2 * 9 + 3 * 9 + 64 + 3 * 196 + 2 * 9 + 4 + 196)
                / 784
                / 25,
                (
                    4 * log(2800 / 2600)
                    + 3 * log(2800 / 2000)
                    + 3 * log(2800 / 2100)
                    + 4 * log(2800)
                    + 7 * log(2800 / 2500)
                    + 4 * log(2)
                )
                / 25,
            ),
            # D2, 12 people: H10 (4, 31), H3 (2, 3), H12 (3, 14), H5 (2, 3), H13 (1, 14)
            (
                D2,
                12 / 640,
                12,
                1.0,
                (4 * 31 + 2 * 3 + 3 * 14 + 2 * 3 + 14) / 28 / 12,
                (4 * 961 + 2 * 9 + 3 * 196 + 2 * 9 + 196) / 784 / 12,
                (4 * log(2800) + 4 * log(2800 / 2500) + 3 * log(2) + log(2)) / 12,
            ),
        ]
    )


# --- exit readiness ---------------------------------------------------------------------


def test_village_exit_readiness(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en, county_name, county_name_en) FROM marts.village_exit_readiness"
        " ORDER BY village_code",
    )
    west, east = 0.03, 0.02  # exit thresholds
    assert got == approx(
        [
            # V4, east: 3 / 100 = 0.03, not below 0.02 (would pass in the west)
            (D3, V4, "Xinglong", "43", "430121", True, 1, 3, 100, 0.03, False, east, False),
            # V5, east: 1 / 200 = 0.005 < 0.02
            (D3, V5, "Taoyuan", "43", "430121", False, 1, 1, 200, 0.005, False, east, True),
            # V1, west: H6 returned (2) / 100 = 0.02 < 0.03
            (D3, V1, "Qingshan", "52", "520121", True, 1, 2, 100, 0.02, True, west, True),
            # V2, west: H7 (3) + H10 (4) = 7 / 200 = 0.035, above 0.03
            (D3, V2, "Baiyun", "52", "520121", True, 2, 7, 200, 0.035, True, west, False),
            # V3, west: nobody poor, 0 / 50
            (D3, V3, "Heping", "52", "520122", False, 0, 0, 50, 0.0, True, west, True),
        ]
    )


COUNTY_SQL = (
    "SELECT county_code, villages, poor_villages, ready_villages, poor_people, rural_population,"
    " incidence, western_exit_rule, threshold, incidence_ok, wrongful_exit_rate,"
    " missed_identification_rate, public_approval, evaluation_ok, status"
    " FROM marts.county_exit_readiness ORDER BY county_code"
)


def test_county_exit_readiness_without_evaluation_figures(wh: Path) -> None:
    assert rows(wh, "SELECT DISTINCT as_of_date FROM marts.county_exit_readiness") == [(D3,)]
    assert rows(wh, COUNTY_SQL) == approx(
        [
            # V4 V5: (3 + 1) / 300 < 0.02; no evaluation figures -> not_evaluated
            ("430121", 2, 1, 1, 4, 300, 4 / 300, False, 0.02, True, None, None, None, None, "not_evaluated"),
            # V1 V2: (2 + 7) / 300 = 0.03, not below 0.03: a known failure -> not_ready
            ("520121", 2, 2, 1, 9, 300, 0.03, True, 0.03, False, None, None, None, None, "not_ready"),
            # V3: 0 / 50 -> not_evaluated
            ("520122", 1, 0, 1, 0, 50, 0.0, True, 0.03, True, None, None, None, None, "not_evaluated"),
        ]
    )  # fmt: skip


def test_county_exit_readiness_with_evaluation_figures(wh: Path) -> None:
    # Third-party figures are not known for these counties, so the repository's reference
    # has none; they are put in here, the marts rebuilt, and everything rolled back.
    before = rows(wh, "SELECT * FROM ref.counties ORDER BY ALL")
    con = duckdb.connect(str(wh))
    try:
        con.execute("BEGIN")
        con.execute("DELETE FROM ref.counties")
        con.execute(
            "INSERT INTO ref.counties (county_code, wrongful_exit_rate,"
            " missed_identification_rate, public_approval) VALUES"
            " ('430121', 0.01, 0.015, 0.95), ('520121', 0.03, 0.01, 0.95),"
            " ('520122', 0.01, NULL, 0.95)"
        )
        build_marts(con)
        got = con.execute(COUNTY_SQL).fetchall()
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert [(r[0], r[9], r[13], r[14]) for r in got] == [
        ("430121", True, True, "ready"),  # incidence ok, 0.01 <= 0.02, 0.015 <= 0.02, 0.95 >= 0.9
        ("520121", False, False, "not_ready"),  # 0.03 incidence and wrongful-exit rate 0.03
        ("520122", True, None, "not_evaluated"),  # missed-identification rate unknown
    ]
    assert rows(wh, "SELECT * FROM ref.counties ORDER BY ALL") == before, "rolled back"


# --- programme coverage -----------------------------------------------------------------


def test_programme_coverage_every_as_of_date(wh: Path) -> None:
    # as_of, province, villages, poor villages, stations, pilots, pilot target, its year,
    # share, reached, reached target, its year, share, selling online, trainings, solar kW,
    # mulberry mu
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en) FROM marts.programme_coverage"
        " ORDER BY as_of_date, province_code",
    )
    n = None
    assert got == approx(
        [
            # D1 nation: stations V1 V4; pilots V1 V4 vs 1,500 (2015); reached V1 V4 (stations)
            # + V5 (E1 training 02-20) vs 60,000 (2019, the first target year >= 2015);
            # selling H8 H5; trainings E1; solar 30.5 + 0 + 10; mulberry 12 + 20 + 5.5
            (D1, "00", 5, 3, 2, 2, 1500, 2015, 2 / 1500, 3, 60000, 2019, 3 / 60000, 2, 1, 40.5, 37.5),
            # D1 43: V4 station + pilot; reached V4, V5; selling H8, H5; E1; solar 10; V5 5.5
            (D1, "43", 2, 1, 1, 1, n, n, n, 2, n, n, n, 2, 1, 10.0, 5.5),
            # D1 52: V1 station + pilot, reached; nobody sells online yet; solar V1 30.5
            (D1, "52", 3, 2, 1, 1, n, n, n, 1, n, n, n, 0, 0, 30.5, 32.0),
            # D2 nation: + V2 reached (E2, H2's store on 03-01); selling H1 (from D2) + H5
            # (H8 removed no longer counts)
            (D2, "00", 5, 3, 2, 2, 1500, 2015, 2 / 1500, 4, 60000, 2019, 4 / 60000, 2, 1, 40.5, 37.5),
            (D2, "43", 2, 1, 1, 1, n, n, n, 2, n, n, n, 1, 1, 10.0, 5.5),  # selling H5 only
            (D2, "52", 3, 2, 1, 1, n, n, n, 2, n, n, n, 1, 0, 30.5, 32.0),  # reached V1, V2
            # D3 nation: V2 gets a station and 20 kW; E3 training (H13, 03-02)
            (D3, "00", 5, 3, 3, 2, 1500, 2015, 2 / 1500, 4, 60000, 2019, 4 / 60000, 2, 2, 60.5, 37.5),
            (D3, "43", 2, 1, 1, 1, n, n, n, 2, n, n, n, 1, 2, 10.0, 5.5),  # trainings E1 + E3
            (D3, "52", 3, 2, 2, 1, n, n, n, 2, n, n, n, 1, 0, 50.5, 32.0),  # stations V1 V2
        ]
    )  # fmt: skip


# --- causes, exit audit, deprivation ----------------------------------------------------


def test_causes(wh: Path) -> None:
    # province, cause, households, people, share, poor households, poor people, as other cause.
    # Registered = not removed (H8 left out): 52 has 7 households, 43 has 5, the nation 12.
    got = rows(
        wh,
        "SELECT province_code, cause, households, people, share_of_households, poor_households,"
        " poor_people, other_cause_households FROM marts.causes ORDER BY province_code, cause",
    )
    assert rows(wh, "SELECT DISTINCT as_of_date FROM marts.causes") == [(D3,)]
    assert got == approx(
        [
            ("00", "disability", 2, 6, 2 / 12, 1, 4, 0),  # H3 (2), H10 (4, poor)
            ("00", "disaster", 1, 2, 1 / 12, 1, 2, 0),  # H6 (returned)
            ("00", "education", 1, 3, 1 / 12, 0, 0, 1),  # H4; other: H12
            ("00", "funds", 0, 0, 0.0, 0, 0, 2),  # other: H1, H12
            # H1 H2 H7 H5 H12 (3+2+3+2+3); poor H7 H12; other: H3 H10 H4
            ("00", "illness", 5, 13, 5 / 12, 2, 6, 3),
            ("00", "labour", 1, 1, 1 / 12, 0, 0, 0),  # H11
            ("00", "land", 0, 0, 0.0, 0, 0, 1),  # other: H3
            ("00", "skills", 1, 1, 1 / 12, 0, 0, 1),  # H9; other: H7
            ("00", "water", 1, 1, 1 / 12, 1, 1, 0),  # H13
            ("43", "education", 1, 3, 1 / 5, 0, 0, 1),  # H4; other H12
            ("43", "funds", 0, 0, 0.0, 0, 0, 1),  # other H12
            ("43", "illness", 2, 5, 2 / 5, 1, 3, 1),  # H5 (2), H12 (3, poor); other H4
            ("43", "skills", 1, 1, 1 / 5, 0, 0, 0),  # H9
            ("43", "water", 1, 1, 1 / 5, 1, 1, 0),  # H13
            ("52", "disability", 2, 6, 2 / 7, 1, 4, 0),  # H3, H10
            ("52", "disaster", 1, 2, 1 / 7, 1, 2, 0),  # H6
            ("52", "funds", 0, 0, 0.0, 0, 0, 1),  # other H1
            ("52", "illness", 3, 8, 3 / 7, 1, 3, 2),  # H1 H2 H7; poor H7; other H3 H10
            ("52", "labour", 1, 1, 1 / 7, 0, 0, 0),  # H11
            ("52", "land", 0, 0, 0.0, 0, 0, 1),  # other H3
            ("52", "skills", 0, 0, 0.0, 0, 0, 1),  # other H7
        ]
    )


def test_exit_audit(wh: Path) -> None:
    # household, exit no., province, county, village, event date, reported on, people, income
    # year, per-capita income, line, income/food/housing/water/education/medical/exit-year ok,
    # failed count, failed criteria, current status. Genuine exits (H1 H6 H7 H11) are not listed.
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en, county_name, county_name_en, village_name) FROM marts.exit_audit"
        " ORDER BY household_id",
    )
    yes = True
    assert [tuple(float(v) if k == 9 else v for k, v in enumerate(r)) for r in got] == [
        # H4: 3200 above the line, but a child of 9 out of school
        (H["H4"], 1, "43", "430121", V4, D2, D2, 3, 2014, 3200.0, 2800.0,
         yes, yes, yes, yes, False, yes, yes, 1, ["child_out_of_school"], "lifted"),
        # H5: exit dated 03-01, reported on D3; the spouse is uninsured
        (H["H5"], 1, "43", "430121", V5, D2, D3, 2, 2014, 3200.0, 2800.0,
         yes, yes, yes, yes, yes, False, yes, 1, ["member_uninsured"], "lifted"),
        # H9: identified 2015-01-15, lifted in 2015
        (H["H9"], 1, "43", "430121", V5, D2, D2, 1, 2014, 3000.0, 2800.0,
         yes, yes, yes, yes, yes, yes, False, 1, ["exit_in_identification_year"], "lifted"),
        # H2: 2500 below the 2014 line of 2800
        (H["H2"], 1, "52", "520121", V2, D2, D2, 2, 2014, 2500.0, 2800.0,
         False, yes, yes, yes, yes, yes, yes, 1, ["income_below_line"], "lifted"),
        # H3: housing unsafe on the exiting record
        (H["H3"], 1, "52", "520122", V3, D3, D3, 2, 2014, 3200.0, 2800.0,
         yes, yes, False, yes, yes, yes, yes, 1, ["housing_unsafe"], "lifted"),
    ]  # fmt: skip


def test_deprivation(wh: Path) -> None:
    # Indicators of the poor stock on D3 (1/5 each, deprived at >= 2 of 5):
    #   H6 (2)  water                       -> 1 of 5, not deprived; income poor (2100)
    #   H7 (3)  housing, water              -> 2 of 5, deprived;     not income poor (2800)
    #   H10 (4) food, education (13, out of school), medical (a child uninsured)
    #                                       -> 3 of 5, deprived;     income poor (-300)
    #   H12 (3) none                        -> 0,      not deprived; income poor (1400)
    #   H13 (1) food, housing               -> 2 of 5, deprived;     income poor (1368 < 2736)
    got = rows(
        wh,
        "SELECT * EXCLUDE (province_name, province_name_en) FROM marts.deprivation ORDER BY province_code",
    )
    assert got == approx(
        [
            # nation: 5 households, 13 people; deprived H7 H10 H13 (3 + 4 + 1 = 8);
            # H = 8/13; A = (3*2 + 4*3 + 1*2) / (5 * 8) = 0.5; M0 = 20 / 65;
            # food H10 H13 (5), education H10 (4), medical H10 (4), housing H7 H13 (4),
            # water H6 H7 (5); cells: poor & deprived H10 H13 (2, 5), poor only H6 H12 (2, 5),
            # deprived only H7 (1, 3), neither 0, income unknown 0
            (D3, "00", 5, 13, 3, 8, 8 / 13, 0.5, 20 / 65, 5, 4, 4, 4, 5, 2, 5, 2, 5, 1, 3, 0, 0, 0, 0),
            # 43: H12 (3), H13 (1); deprived H13: H 1/4, A 2/5, M0 2/20
            (D3, "43", 2, 4, 1, 1, 0.25, 0.4, 0.1, 1, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, 0, 0, 0),
            # 52: H6 (2), H7 (3), H10 (4); deprived H7 H10 (7): H 7/9, A 18/35, M0 18/45
            (D3, "52", 3, 9, 2, 7, 7 / 9, 18 / 35, 18 / 45, 4, 4, 4, 3, 5, 1, 4, 1, 2, 1, 3, 0, 0, 0, 0),
        ]
    )  # fmt: skip


# --- names and units --------------------------------------------------------------------

AREA_NAMES = {"province_code": "province_name", "county_code": "county_name"}


def test_every_area_code_of_a_mart_has_its_names_beside_it(wh: Path) -> None:
    columns: dict[str, list[str]] = {}
    for table, column in rows(
        wh,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts'"
        " ORDER BY table_name, column_index",
    ):
        columns.setdefault(table, []).append(column)
    named = 0
    for table, cols in columns.items():
        for code, name in AREA_NAMES.items():
            if code in cols:
                at = cols.index(code)
                assert cols[at + 1 : at + 3] == [name, f"{name}_en"], (table, cols)
                named += 1
        if "village_code" in cols:
            assert "village_name" in cols, table
    assert named >= 10
    # Every province code of the fixture (and the nation) is named, in both languages.
    assert rows(
        wh,
        "SELECT DISTINCT province_code, province_name, province_name_en"
        " FROM marts.target_progress ORDER BY 1",
    ) == [("00", "全国", "Nation"), ("43", "湖南", "Hunan"), ("52", "贵州", "Guizhou")]
    assert rows(
        wh,
        "SELECT count(*) FROM marts.exit_audit a JOIN core.villages v USING (village_code)"
        " WHERE a.village_name IS DISTINCT FROM v.village_name",
    ) == [(0,)]


def test_poverty_stock_names_each_area(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT DISTINCT admin_level, admin_code, admin_name, admin_name_en"
        " FROM marts.poverty_stock WHERE admin_level IN ('nation', 'province', 'village')"
        " ORDER BY length(admin_code), admin_code",
    )
    assert got == [
        ("nation", "00", "全国", "Nation"),
        ("province", "43", "湖南", "Hunan"),
        ("province", "52", "贵州", "Guizhou"),
        *[
            ("village", v, name, None)
            for v, name in rows(
                wh, "SELECT village_code, village_name FROM core.villages ORDER BY 1"
            )
        ],
    ]
    assert rows(
        wh, "SELECT DISTINCT admin_name FROM marts.poverty_stock WHERE admin_level = 'township'"
    ) == [(None,)]


def test_county_names_come_from_the_county_reference(wh: Path) -> None:
    con = duckdb.connect(str(wh))
    try:
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO ref.counties (county_code, name_en, name_zh)"
            " VALUES ('430121', 'Changsha County', '长沙县')"
        )
        build_marts(con)
        named = {
            table: con.execute(
                f"SELECT DISTINCT county_name, county_name_en FROM marts.{table}"
                " WHERE county_code = '430121'"
            ).fetchall()
            for table in (
                "county_exit_readiness",
                "village_exit_readiness",
                "exit_audit",
                "data_quality_completeness",
            )
        }
        stock = con.execute(
            "SELECT DISTINCT admin_name, admin_name_en FROM marts.poverty_stock"
            " WHERE admin_code = '430121'"
        ).fetchall()
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert named == {table: [("长沙县", "Changsha County")] for table in named}
    assert stock == [("长沙县", "Changsha County")]


def test_shares_and_rates_are_double_fractions(wh: Path) -> None:
    """One convention: every share, rate, incidence, index or threshold of the marts is a
    DOUBLE fraction (0-1); no column is a percent."""
    fractions = rows(
        wh,
        "SELECT table_name, column_name, data_type FROM duckdb_columns()"
        " WHERE schema_name = 'marts' AND regexp_matches(column_name,"
        " '(share|(_rate|incidence|threshold|headcount_h|intensity_a|m0|approval)$|^fgt_p[0-9]$)')",
    )
    assert len(fractions) >= 15
    assert {t for _, _, t in fractions} == {"DOUBLE"}, fractions
    assert (
        rows(
            wh,
            "SELECT table_name, column_name FROM duckdb_columns()"
            " WHERE schema_name IN ('marts', 'ref') AND column_name LIKE '%pct%'",
        )
        == []
    )
    assert rows(wh, "SELECT max(incidence) FROM ref.national_poverty") == approx([(0.172,)])


def test_every_code_of_the_contract_has_its_labels(wh: Path) -> None:
    labels = rows(wh, "SELECT column_name, code, label_zh, label_en FROM ref.code_labels")
    assert len(labels) == len(code_labels()) and all(r[3] for r in labels)
    assert ("main_cause", "illness", "因病", "Illness") in labels
    assert ("household_status", "returned", "返贫", "Returned to poverty") in labels
    assert ("program", "solar_pv", None, "Solar PV") in labels
    # Every code the marts hold under a labelled name has a label.
    assert (
        rows(
            wh,
            "SELECT c.cause FROM marts.causes c ANTI JOIN ref.code_labels l"
            " ON l.column_name = 'cause' AND l.code = c.cause",
        )
        == []
    )


# --- data quality -----------------------------------------------------------------------


def test_data_quality_completeness(wh: Path) -> None:
    # date, county, province, status, files, held, villages/households/members/assistance
    # files, rows received, rows held
    got = rows(
        wh,
        "SELECT * EXCLUDE (county_name, county_name_en, province_name, province_name_en)"
        " FROM marts.data_quality_completeness ORDER BY ALL",
    )
    assert got == [
        # D1 430121: villages (2), households (6), members (11), assistance (E1)
        (D1, "430121", "43", "delivered", 4, 0, 1, 1, 1, 1, 20, 0),
        # D1 520121: villages (2), households (5), members (14)
        (D1, "520121", "52", "delivered", 3, 0, 1, 1, 1, 0, 21, 0),
        # D1 520122: villages (1), households (2), members (3), assistance (E4)
        (D1, "520122", "52", "delivered", 4, 0, 1, 1, 1, 1, 7, 0),
        (D2, "430121", "43", "delivered", 1, 0, 0, 1, 0, 0, 3, 0),  # H4 H8 H9
        # D2 520121: households (3) + assistance (E2, E2 again, E6 held)
        (D2, "520121", "52", "delivered", 2, 0, 0, 1, 0, 1, 6, 1),
        (D2, "520122", "52", "missing", 0, 0, 0, 0, 0, 0, 0, 0),  # delivered on D1, not D2
        (D3, "430121", "43", "delivered", 2, 0, 0, 1, 0, 1, 3, 0),  # H5, H12 (stale); E3
        (D3, "520121", "52", "delivered", 2, 0, 1, 1, 0, 0, 3, 0),  # V2; H6, H7
        # D3 520122: H3, and a zero-byte assistance file held whole (no rows read)
        (D3, "520122", "52", "delivered", 2, 1, 0, 1, 0, 1, 1, 0),
    ]


def test_data_quality_quarantine(wh: Path) -> None:
    got = rows(wh, "SELECT * FROM marts.data_quality_quarantine ORDER BY ALL")
    assert got == [
        # H10's -300 in county 520121: median 2500, MAD 400, z = 0.6745 * 2800 / 400 = 4.7
        (D1, "households", "warned", "income_outlier", 1, 1),
        (D2, "assistance", "duplicate", "duplicate_row", 1, 1),  # E2 twice in the file
        (D2, "assistance", "held", "unknown_code_value", 1, 1),  # E6, programme 'fireworks'
        (D2, "households", "warned", "exit_in_identification_year", 1, 1),  # H9
        (D3, "assistance", "held", "file_empty", 1, 1),  # the zero-byte file of 520122
        (D3, "households", "stale", "stale_update", 1, 1),  # H12's row older than D1's
    ]


def test_data_quality_timeliness(wh: Path) -> None:
    got = rows(
        wh,
        "SELECT delivery_date, deadline_at, successful_runs, on_time, minutes_late > 0"
        " FROM marts.data_quality_timeliness ORDER BY delivery_date",
    )
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert got == [
        # deadline 02:00 Asia/Shanghai the next day; the 2015 dates were loaded years later
        (
            d,
            dt.datetime(d.year, d.month, d.day, 2, tzinfo=shanghai) + dt.timedelta(days=1),
            1,
            False,
            True,
        )
        for d in IN_ORDER
    ]


# --- documentation, checks, privacy -----------------------------------------------------


def test_every_mart_and_column_is_documented(wh: Path) -> None:
    objects = rows(
        wh,
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'"
        " UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'marts'",
    )
    assert {f"marts.{t}" for t, _ in objects} >= MARTS | {"marts.data_quality_timeliness"}
    for table, comment in objects:
        assert comment and comment.startswith("Grain: "), table
    undocumented = rows(
        wh,
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE schema_name IN ('marts', 'ref') AND (comment IS NULL OR comment = '')"
        " AND table_name NOT IN ('poverty_lines', 'provinces', 'national_poverty',"
        " 'registry_2014', 'targets')",
    )
    assert undocumented == []


# (check, a corruption it must catch)
CORRUPTIONS = [
    ("marts_effective_targets_key_unique", "INSERT INTO marts.effective_targets SELECT * FROM marts.effective_targets LIMIT 1"),
    ("marts_poverty_stock_key_unique", "INSERT INTO marts.poverty_stock SELECT * FROM marts.poverty_stock LIMIT 1"),
    ("marts_poverty_stock_levels_add_up", f"UPDATE marts.poverty_stock SET rural_population = 99 WHERE admin_code = '{V1}'"),
    ("marts_poverty_stock_statuses_add_up", "UPDATE marts.poverty_stock SET people_total = people_total + 1"),
    ("marts_village_exit_readiness_key_unique", "INSERT INTO marts.village_exit_readiness SELECT * FROM marts.village_exit_readiness LIMIT 1"),
    ("marts_exit_readiness_matches_stock", f"UPDATE marts.village_exit_readiness SET poor_people = 0 WHERE village_code = '{V2}'"),
    ("marts_county_exit_readiness_key_unique", "INSERT INTO marts.county_exit_readiness SELECT * FROM marts.county_exit_readiness LIMIT 1"),
    ("marts_programme_coverage_key_unique", "INSERT INTO marts.programme_coverage SELECT * FROM marts.programme_coverage LIMIT 1"),
    ("marts_programme_coverage_nation_is_sum", "UPDATE marts.programme_coverage SET ecommerce_trainings = 0 WHERE province_code = '00'"),
    ("marts_causes_key_unique", "INSERT INTO marts.causes SELECT * FROM marts.causes LIMIT 1"),
    ("marts_causes_add_up", "DELETE FROM marts.causes WHERE cause = 'water'"),
    ("marts_exit_audit_key_unique", "INSERT INTO marts.exit_audit SELECT * FROM marts.exit_audit LIMIT 1"),
    ("marts_exit_audit_matches_target_progress", f"DELETE FROM marts.exit_audit WHERE household_id = '{H['H2']}'"),
    ("marts_deprivation_key_unique", "INSERT INTO marts.deprivation SELECT * FROM marts.deprivation LIMIT 1"),
    ("marts_deprivation_adds_up", "UPDATE marts.deprivation SET neither_households = 1"),
    ("marts_data_quality_key_unique", "INSERT INTO marts.data_quality_completeness SELECT * FROM marts.data_quality_completeness LIMIT 1"),
    ("marts_data_quality_adds_up", "DELETE FROM marts.data_quality_quarantine WHERE reason = 'file_empty'"),
]  # fmt: skip


def test_mart_checks_pass_on_the_fixture(wh: Path) -> None:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        failed = {c.name: c.failed for c in post_load_checks(con) if c.failed}
    finally:
        con.close()
    assert failed == {}
    names = {p.stem for p in (ROOT / "warehouse" / "checks").glob("marts_*.sql")}
    assert names == {name for name, _ in CORRUPTIONS}, "every mart check has a corruption below"


@pytest.mark.parametrize(("check", "corruption"), CORRUPTIONS, ids=[c for c, _ in CORRUPTIONS])
def test_mart_check_catches(wh: Path, check: str, corruption: str) -> None:
    con = duckdb.connect(str(wh))
    try:
        con.execute("BEGIN")
        con.execute(corruption)
        failed = {c.name: c.failed for c in post_load_checks(con)}
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert failed[check] > 0


def test_published_marts_hold_no_names_or_ids(warehouses: tuple[Path, Path]) -> None:
    names = set()
    for f in FIXTURE.glob("*/members_*.csv"):
        with f.open(encoding="utf-8") as fh:
            names |= {r["name"] for r in csv.DictReader(fh)}
    assert len(names) == 28
    snap = warehouses[0].with_name("analytics.duckdb")
    con = duckdb.connect(str(snap), read_only=True)
    try:
        published = {
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall()
        }
        assert {m.split(".")[1] for m in MARTS} <= published
        for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns()"
            " WHERE schema_name = 'marts' AND data_type = 'VARCHAR'"
        ).fetchall():
            for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM marts.{table}').fetchall():
                assert v not in names, (table, column)
                assert v is None or len(v) != 18 or id_problem(v) is not None, (table, column)
    finally:
        con.close()
