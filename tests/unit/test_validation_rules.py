"""The expectation suites, rule by rule: one bad row in a tiny staging file -> exactly that row.

Every case writes a clean row and one row with a single defect to a staging Parquet file,
runs ``validate()`` (GX on DuckDB, plus the rules' own SQL) and compares the whole findings
frame. ``validate()`` itself fails when GX's count and the SQL's disagree, so every case
also checks that agreement; the tests below assert it once more from the results.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from contract import idcard
from contract.landing import CONTRACT, VILLAGE_CODE_PATTERN, staging_schema
from contract.reasons import CATALOGUE, HELD, WARNED
from expectations import runner
from expectations.rules import (
    Between,
    RowCondition,
    Rule,
    Suite,
    id_expected_check_char,
    id_first17,
    quote_literal,
)
from expectations.runner import (
    FINDINGS_SCHEMA,
    ValidationEngineError,
    batch_failures,
    flag_column,
    validate,
)
from expectations.suites import SUITES, fingerprint, recorded_versions

DELIVERY = dt.date(2015, 6, 1)
FILE = "x_110101.csv"
HEAD_ID = idcard.make_id("110101", dt.date(1970, 1, 1), 11)
MEMBER_ID = idcard.make_id("110101", dt.date(1980, 2, 29), 12)  # even sequence: female


def _with_check(first17: str) -> str:
    return first17 + idcard.check_char(first17)


def _wrong_check(id18: str) -> str:
    return id18[:17] + ("0" if id18[17] != "0" else "1")


IMPOSSIBLE_DATE_ID = _with_check("11010119701301001")  # month 13, right check character

CLEAN: dict[str, dict[str, Any]] = {
    "villages": dict(
        village_code="110101001001",
        village_name="东村",
        is_poor_village=True,
        rural_population=1200,
        collective_income_yuan=Decimal("15000.00"),
        has_ecommerce_station=True,
        ecommerce_pilot_year=2015,
        solar_capacity_kw=30.0,
        paper_mulberry_mu=12.5,
        updated_at=dt.datetime(2015, 5, 1, tzinfo=dt.UTC),
    ),
    "households": dict(
        household_id="1101010010010001",
        village_code="110101001001",
        head_id_number=HEAD_ID,
        head_name="张三",
        household_size=3,
        attribute="general",
        main_cause="illness",
        other_causes="land;water",
        net_income_yuan=Decimal("3000.00"),
        per_capita_income_yuan=Decimal("1000.00"),
        income_year=2014,
        food_clothing_secure=True,
        housing_safe=True,
        drinking_water_safe=True,
        status="poor",
        identified_on=dt.date(2014, 5, 1),
        status_changed_on=dt.date(2014, 5, 1),
        sells_online=False,
        updated_at=dt.datetime(2015, 5, 1, tzinfo=dt.UTC),
    ),
    "members": dict(
        id_number=MEMBER_ID,
        household_id="1101010010010001",
        name="李四",
        relation="spouse",
        sex="female",
        birth_date=dt.date(1980, 2, 29),
        education="primary",
        in_school=False,
        health="healthy",
        labour="ordinary",
        medical_insured=True,
        member_status="active",
        updated_at=dt.datetime(2015, 5, 1, tzinfo=dt.UTC),
    ),
    "assistance": dict(
        event_id="E-1",
        household_id="1101010010010001",
        village_code=None,
        program="solar_pv",
        platform=None,
        event_date=dt.date(2015, 5, 1),
        amount_yuan=Decimal("100.00"),
        updated_at=dt.datetime(2015, 5, 1, tzinfo=dt.UTC),
    ),
    "targets": dict(year=2015, province_code="51", metric="people_lifted", target=100),
}


def _key(entity: str, row: dict[str, Any]) -> str:
    if entity == "targets":
        return f"{row['year']}|{row['province_code']}|{row['metric']}"
    if entity == "members":
        return str(row["id_number"])[:18]
    return str(row[CONTRACT[entity].key[0]])


def _rows(entity: str, *overrides: dict[str, Any], file_name: str = FILE) -> list[dict[str, Any]]:
    """The clean row with each set of changes; households, events and targets get distinct keys."""
    distinct_key = {
        "households": lambda n: {"household_id": f"110101001001{n:04d}"},
        "assistance": lambda n: {"event_id": f"E-{n}"},
        "targets": lambda n: {"year": 2014 + n},
    }.get(entity, lambda n: {})
    rows = []
    for n, change in enumerate(overrides, start=1):
        row = {**CLEAN[entity], **distinct_key(n), **change}
        row.update(_delivery_date=DELIVERY, _file_name=file_name, _row_number=n, _source="110101")
        rows.append(row)
    return rows


def _write(
    tmp_path: Path, entity: str, rows: list[dict[str, Any]], name: str = "part.parquet"
) -> Path:
    path = tmp_path / name
    pl.DataFrame(rows, schema=staging_schema(entity), orient="row").write_parquet(path)
    return path


def _expected(entity: str, row: dict[str, Any], hits: list[tuple[str, str]]) -> pl.DataFrame:
    suite = SUITES[entity]
    return pl.DataFrame(
        [
            (
                row["_file_name"],
                row["_row_number"],
                _key(entity, row),
                rule,
                suite.rule(rule).severity,
                reason,
            )
            for rule, reason in sorted(hits)
        ],
        schema=FINDINGS_SCHEMA,
        orient="row",
    )


def _run(tmp_path: Path, entity: str, paths: list[Path]) -> runner.ValidationOutcome:
    return validate(entity, paths, delivery_date=DELIVERY, work_dir=tmp_path / "work")


def _assert_counts_agree(outcome: runner.ValidationOutcome) -> None:
    found = dict(outcome.findings.group_by("expectation").len().iter_rows())
    for r in outcome.results:
        if r.severity != "batch":
            assert r.failed == found.get(r.expectation, 0), r


H = "households"
V = "villages"
M = "members"
A = "assistance"
T = "targets"

# (entity, changes to the clean row, [(rule, reason), ...] expected on that row)
BAD_ROW_CASES = [
    # villages
    pytest.param(
        V,
        {"village_code": "11010100100"},
        [("village_code_structure", "village_code_invalid")],
        id="village-code-11-digits",
    ),
    pytest.param(
        V,
        {"village_code": "110101600001"},
        [("village_code_structure", "village_code_invalid")],
        id="village-township-600",
    ),
    pytest.param(
        V,
        {"village_code": "110101000001"},
        [("village_code_structure", "village_code_invalid")],
        id="village-township-000",
    ),
    pytest.param(
        V,
        {"village_code": "110101001400"},
        [("village_code_structure", "village_code_invalid")],
        id="village-village-400",
    ),
    pytest.param(
        V,
        {"village_code": "110101001000"},
        [("village_code_structure", "village_code_invalid")],
        id="village-village-000",
    ),
    pytest.param(
        V,
        {"rural_population": -1},
        [("rural_population_non_negative", "value_out_of_range")],
        id="village-population-negative",
    ),
    pytest.param(
        V,
        {"collective_income_yuan": Decimal("-0.01")},
        [("collective_income_non_negative", "value_out_of_range")],
        id="village-income-negative",
    ),
    pytest.param(
        V,
        {"ecommerce_pilot_year": 2013},
        [("ecommerce_pilot_year_range", "value_out_of_range")],
        id="village-pilot-2013",
    ),
    pytest.param(
        V,
        {"ecommerce_pilot_year": 2031},
        [("ecommerce_pilot_year_range", "value_out_of_range")],
        id="village-pilot-2031",
    ),
    pytest.param(
        V,
        {"solar_capacity_kw": -1.0},
        [("solar_capacity_non_negative", "value_out_of_range")],
        id="village-solar-negative",
    ),
    pytest.param(
        V,
        {"paper_mulberry_mu": -0.5},
        [("paper_mulberry_area_non_negative", "value_out_of_range")],
        id="village-mulberry-negative",
    ),
    # households
    pytest.param(
        H,
        {"household_id": "110101001001001"},
        [("household_id_format", "household_id_invalid")],
        id="hh-id-15-digits",
    ),
    pytest.param(
        H,
        {"household_id": "110101001001000A"},
        [("household_id_format", "household_id_invalid")],
        id="hh-id-letter",
    ),
    pytest.param(
        H,
        {"household_id": "1101010000010001", "village_code": "110101000001"},
        [("village_code_structure", "village_code_invalid")],
        id="hh-village-township-000",
    ),
    pytest.param(
        H,
        {"village_code": "110101001002"},
        [("village_code_matches_household_id", "household_village_mismatch")],
        id="hh-village-mismatch",
    ),
    pytest.param(
        H,
        {"head_id_number": HEAD_ID[:17]},
        [("head_id_format", "id_format_invalid")],
        id="hh-head-id-17-chars",
    ),
    pytest.param(
        H,
        {"head_id_number": HEAD_ID[:17] + "Y"},
        [("head_id_format", "id_format_invalid")],
        id="hh-head-id-letter",
    ),
    pytest.param(
        H,
        {"head_id_number": HEAD_ID + "81"},
        [("head_id_format", "id_format_invalid")],
        id="hh-head-disability-category-8",
    ),
    pytest.param(
        H,
        {"head_id_number": _wrong_check(HEAD_ID)},
        [("head_id_check_char", "id_check_char_invalid")],
        id="hh-head-id-check-char",
    ),
    pytest.param(
        H,
        {"head_id_number": IMPOSSIBLE_DATE_ID},
        [("head_id_birth_date", "id_birth_date_mismatch")],
        id="hh-head-id-month-13",
    ),
    pytest.param(
        H,
        {"household_size": 21, "net_income_yuan": Decimal("21000.00")},
        [("household_size_range", "value_out_of_range")],
        id="hh-size-21",
    ),
    pytest.param(
        H, {"household_size": 0}, [("household_size_range", "value_out_of_range")], id="hh-size-0"
    ),
    pytest.param(
        H,
        {"attribute": "rich"},
        [("attribute_known", "unknown_code_value")],
        id="hh-attribute-unknown",
    ),
    pytest.param(
        H,
        {"main_cause": "laziness"},
        [("main_cause_known", "unknown_code_value")],
        id="hh-main-cause-unknown",
    ),
    pytest.param(
        H, {"status": "gone"}, [("status_known", "unknown_code_value")], id="hh-status-unknown"
    ),
    pytest.param(
        H,
        {"per_capita_income_yuan": Decimal("1001.01")},
        [("per_capita_income_consistent", "per_capita_mismatch")],
        id="hh-per-capita-1.01-over",
    ),
    pytest.param(
        H,
        {"net_income_yuan": Decimal("-300.00")},
        [("per_capita_income_consistent", "per_capita_mismatch")],
        id="hh-per-capita-negative-income",
    ),
    pytest.param(
        H,
        {"other_causes": "land;water;funds"},
        [("other_causes_valid", "other_causes_invalid")],
        id="hh-other-causes-three",
    ),
    pytest.param(
        H,
        {"other_causes": "land;bogus"},
        [("other_causes_valid", "other_causes_invalid")],
        id="hh-other-causes-unknown",
    ),
    pytest.param(
        H,
        {"other_causes": "illness"},
        [("other_causes_valid", "other_causes_invalid")],
        id="hh-other-causes-repeat-main",
    ),
    pytest.param(
        H,
        {"status_changed_on": dt.date(2014, 4, 30)},
        [("status_change_not_before_identification", "date_order_invalid")],
        id="hh-change-before-identification",
    ),
    pytest.param(
        H,
        {"status_changed_on": dt.date(2015, 6, 2)},
        [("status_change_not_in_future", "date_in_future")],
        id="hh-change-after-delivery",
    ),
    pytest.param(
        H,
        {"identified_on": dt.date(2015, 6, 2), "status_changed_on": None},
        [("identification_not_in_future", "date_in_future")],
        id="hh-identified-after-delivery",
    ),
    pytest.param(
        H,
        {"status": "lifted", "status_changed_on": dt.date(2014, 12, 31)},
        [("exit_in_identification_year", "exit_in_identification_year")],
        id="hh-exit-in-identification-year-warn",
    ),
    # members
    pytest.param(
        M,
        {"id_number": MEMBER_ID[:17]},
        [("id_format", "id_format_invalid")],
        id="member-id-17-chars",
    ),
    pytest.param(
        M,
        {"id_number": _wrong_check(MEMBER_ID)},
        [("id_check_char", "id_check_char_invalid")],
        id="member-id-check-char",
    ),
    pytest.param(
        M,
        {"id_number": IMPOSSIBLE_DATE_ID, "sex": "male"},
        [("id_birth_date_valid", "id_birth_date_mismatch")],
        id="member-id-month-13",
    ),
    pytest.param(
        M,
        {"birth_date": dt.date(1980, 3, 1)},
        [("birth_date_matches_id", "id_birth_date_mismatch")],
        id="member-birth-date-differs",
    ),
    pytest.param(
        M, {"sex": "male"}, [("sex_matches_id", "id_sex_mismatch")], id="member-sex-differs"
    ),
    pytest.param(
        M,
        {"household_id": "110101001001001"},
        [("household_id_format", "household_id_invalid")],
        id="member-hh-id-15-digits",
    ),
    pytest.param(
        M,
        {"household_id": "5101210010010001"},
        [("id_from_household_county", "id_other_county")],
        id="member-other-county-warn",
    ),
    pytest.param(
        M,
        {"relation": "cousin"},
        [("relation_known", "unknown_code_value")],
        id="member-relation-unknown",
    ),
    pytest.param(M, {"sex": "x"}, [("sex_known", "unknown_code_value")], id="member-sex-unknown"),
    pytest.param(
        M,
        {"education": "phd"},
        [("education_known", "unknown_code_value")],
        id="member-education-unknown",
    ),
    pytest.param(
        M, {"health": "bad"}, [("health_known", "unknown_code_value")], id="member-health-unknown"
    ),
    pytest.param(
        M, {"labour": "some"}, [("labour_known", "unknown_code_value")], id="member-labour-unknown"
    ),
    pytest.param(
        M,
        {"member_status": "gone"},
        [("member_status_known", "unknown_code_value")],
        id="member-status-unknown",
    ),
    # assistance
    pytest.param(
        A,
        {"household_id": None, "village_code": None},
        [("target_present", "assistance_target_missing")],
        id="assist-no-target",
    ),
    pytest.param(
        A,
        {"household_id": "11010100100100"},
        [("household_id_format", "household_id_invalid")],
        id="assist-hh-id-14-digits",
    ),
    pytest.param(
        A,
        {"household_id": None, "village_code": "110101001400"},
        [("village_code_structure", "village_code_invalid")],
        id="assist-village-400",
    ),
    pytest.param(
        A,
        {"program": "cash"},
        [("program_known", "unknown_code_value")],
        id="assist-program-unknown",
    ),
    pytest.param(
        A,
        {"event_date": dt.date(2015, 6, 2)},
        [("event_not_in_future", "date_in_future")],
        id="assist-event-after-delivery",
    ),
    pytest.param(
        A,
        {"amount_yuan": Decimal("-1.00")},
        [("amount_non_negative", "value_out_of_range")],
        id="assist-amount-negative",
    ),
    # targets
    pytest.param(
        T,
        {"province_code": "99"},
        [("province_code_known", "province_code_invalid")],
        id="target-province-99",
    ),
    pytest.param(
        T,
        {"province_code": "5"},
        [("province_code_known", "province_code_invalid")],
        id="target-province-1-digit",
    ),
    pytest.param(
        T,
        {"metric": "people_moved"},
        [("metric_known", "unknown_code_value")],
        id="target-metric-unknown",
    ),
    pytest.param(
        T, {"target": -1}, [("target_non_negative", "value_out_of_range")], id="target-negative"
    ),
]


@pytest.mark.parametrize(("entity", "change", "hits"), BAD_ROW_CASES)
def test_one_bad_row_gives_exactly_its_finding(tmp_path, entity, change, hits):
    rows = _rows(entity, {}, change)
    outcome = _run(tmp_path, entity, [_write(tmp_path, entity, rows)])
    assert_frame_equal(outcome.findings, _expected(entity, rows[1], hits))
    _assert_counts_agree(outcome)


# Edges that must load clean: (entity, changes to the clean row).
CLEAN_EDGE_CASES = [
    pytest.param(V, {}, id="village-clean"),
    pytest.param(
        V, {"village_code": "110101599399", "ecommerce_pilot_year": 2030}, id="village-upper-bounds"
    ),
    pytest.param(
        V,
        {"village_code": "110101001001", "ecommerce_pilot_year": 2014, "rural_population": 0},
        id="village-lower-bounds",
    ),
    pytest.param(
        V,
        {
            "collective_income_yuan": None,
            "ecommerce_pilot_year": None,
            "solar_capacity_kw": None,
            "paper_mulberry_mu": None,
        },
        id="village-optionals-empty",
    ),
    pytest.param(H, {}, id="hh-clean"),
    pytest.param(H, {"head_id_number": HEAD_ID + "74"}, id="hh-head-disability-number"),
    pytest.param(H, {"head_id_number": "11010519491231002X"}, id="hh-head-id-check-X"),
    pytest.param(
        H, {"per_capita_income_yuan": Decimal("1001.00")}, id="hh-per-capita-exactly-1-over"
    ),
    pytest.param(
        H, {"per_capita_income_yuan": Decimal("999.00")}, id="hh-per-capita-exactly-1-under"
    ),
    pytest.param(
        H, {"household_size": 20, "net_income_yuan": Decimal("20000.00")}, id="hh-size-20"
    ),
    pytest.param(
        H,
        {"net_income_yuan": Decimal("-300.00"), "per_capita_income_yuan": Decimal("-100.00")},
        id="hh-negative-income",
    ),
    pytest.param(H, {"other_causes": None}, id="hh-other-causes-empty"),
    pytest.param(H, {"other_causes": "land"}, id="hh-other-causes-one"),
    pytest.param(H, {"status_changed_on": DELIVERY}, id="hh-change-on-delivery-date"),
    pytest.param(
        H, {"status": "lifted", "status_changed_on": dt.date(2015, 1, 1)}, id="hh-lifted-next-year"
    ),
    pytest.param(M, {}, id="member-clean"),
    pytest.param(M, {"id_number": MEMBER_ID + "12"}, id="member-disability-number"),
    pytest.param(M, {"education": None}, id="member-education-empty"),
    pytest.param(A, {}, id="assist-clean"),
    pytest.param(
        A, {"household_id": None, "village_code": "110101001001"}, id="assist-village-only"
    ),
    pytest.param(A, {"amount_yuan": None, "event_date": DELIVERY}, id="assist-amount-empty"),
    pytest.param(T, {}, id="target-clean"),
    pytest.param(T, {"province_code": "00", "target": 0}, id="target-national-zero"),
]


@pytest.mark.parametrize(("entity", "change"), CLEAN_EDGE_CASES)
def test_clean_rows_give_no_findings(tmp_path, entity, change):
    rows = _rows(entity, {}, change)
    outcome = _run(tmp_path, entity, [_write(tmp_path, entity, rows)])
    assert_frame_equal(outcome.findings, FINDINGS_SCHEMA.to_frame())
    assert all(r.failed == 0 for r in outcome.results)
    assert {r.expectation for r in outcome.results} >= {r.name for r in SUITES[entity].rules}


# --- resident IDs agree with contract/idcard.py ---------------------------------------------

ID_SAMPLES = [
    HEAD_ID,
    MEMBER_ID,
    "11010519491231002X",
    "360426199101010072",  # DOMAIN.md: not valid
    _wrong_check(HEAD_ID),
    IMPOSSIBLE_DATE_ID,
    _with_check("11010519000229001"),  # 1900 is not a leap year
    _with_check("11010520000229001"),  # 2000 is
    HEAD_ID + "14",
    HEAD_ID + "05",
    HEAD_ID[:16],
    "ABCDEFGHIJKLMNOPQR",
]


def test_id_rules_agree_with_idcard(tmp_path):
    rows = _rows(
        H,
        *(
            {"head_id_number": i, "household_id": f"110101001001{n:04d}"}
            for n, i in enumerate(ID_SAMPLES, 1)
        ),
    )
    outcome = _run(tmp_path, H, [_write(tmp_path, H, rows)])
    got = dict(outcome.findings.select("_row_number", "reason").iter_rows())
    want = {n: idcard.id_problem(i) for n, i in enumerate(ID_SAMPLES, 1) if idcard.id_problem(i)}
    assert got == want


@settings(max_examples=50, deadline=None)
@given(st.lists(st.from_regex(r"[0-9]{17}", fullmatch=True), min_size=1, max_size=200))
def test_check_char_sql_agrees_with_idcard(first17s: list[str]) -> None:
    sql = f"SELECT {id_expected_check_char(id_first17('id'))} FROM (SELECT unnest($ids) AS id, generate_subscripts($ids, 1) AS i) ORDER BY i"
    got = [r[0] for r in duckdb.execute(sql, {"ids": first17s}).fetchall()]
    assert got == [idcard.check_char(f) for f in first17s]


def test_check_char_sql_never_fails_on_malformed_ids() -> None:
    odd = [
        "",
        "1",
        "-1234567890123456",
        "12345678901234567890123",
        "1234567890123456X",
        "abc",
        None,
    ]
    got = duckdb.execute(
        f"SELECT {id_expected_check_char(id_first17('id'))} FROM (SELECT unnest($ids) AS id)",
        {"ids": odd},
    ).fetchall()
    assert len(got) == len(odd)


@pytest.mark.parametrize(
    "code",
    [
        "110101001001",
        "110101599399",
        "110101600001",
        "110101000001",
        "110101001400",
        "110101001000",
        "11010100100",
        "1101010010011",
        "11010100100A",
    ],
)
def test_village_code_pattern_agrees_with_idcard(code):
    matched = duckdb.sql(
        f"SELECT regexp_matches({quote_literal(code)}, {quote_literal(VILLAGE_CODE_PATTERN)})"
    ).fetchall()[0]
    assert matched == (idcard.village_code_ok(code),)


# --- the runner -------------------------------------------------------------------------------


def test_no_files_and_empty_files_validate_to_nothing(tmp_path):
    for paths in ([], [_write(tmp_path, H, [])]):
        outcome = _run(tmp_path, H, paths)
        assert outcome.findings.height == 0
        assert outcome.row_counts_by_file == {}
        assert outcome.held_files == {}
        assert [(r.evaluated, r.failed) for r in outcome.results] == [(0, 0)] * len(outcome.results)


def test_results_carry_suite_version_severity_and_samples(tmp_path):
    bad = [{"household_size": 0} for _ in range(7)]
    rows = _rows(H, {}, *bad)
    outcome = _run(tmp_path, H, [_write(tmp_path, H, rows)])
    size = next(r for r in outcome.results if r.expectation == "household_size_range")
    suite = SUITES[H]
    assert size == runner.ExpectationResult(
        suite.name,
        suite.version,
        "household_size_range",
        "error",
        8,
        7,
        tuple(r["household_id"] for r in rows[1:6]),
    )


def test_mostly_invalid_file_is_held_whole(tmp_path):
    mostly_bad = _rows(
        H, {}, {"household_size": 0}, {"attribute": "x", "status": "y"}, file_name="a_110101.csv"
    )
    half_bad = _rows(
        H,
        {"household_id": "1101010010019991"},
        {"household_id": "1101010010019992", "status": "y"},
        file_name="b_110101.csv",
    )
    warned = _rows(
        H,
        *(
            {
                "household_id": f"110101001001800{n}",
                "status": "lifted",
                "status_changed_on": dt.date(2014, 9, 1),
            }
            for n in range(3)
        ),
        file_name="c_110101.csv",
    )
    paths = [
        _write(tmp_path, H, mostly_bad, "a.parquet"),
        _write(tmp_path, H, half_bad, "b.parquet"),
        _write(tmp_path, H, warned, "c.parquet"),
    ]
    outcome = _run(tmp_path, H, paths)
    assert outcome.row_counts_by_file == {"a_110101.csv": 3, "b_110101.csv": 2, "c_110101.csv": 3}
    assert outcome.held_files == {"a_110101.csv": "file_mostly_invalid"}
    batch = outcome.results[-1]
    assert (
        batch.expectation,
        batch.severity,
        batch.evaluated,
        batch.failed,
        batch.sample_keys,
    ) == ("file_error_rows_at_most_half", "batch", 3, 1, ("a_110101.csv",))
    _assert_counts_agree(outcome)


@pytest.mark.parametrize(
    ("findings", "row_counts", "held"),
    [
        pytest.param([], {"a": 3}, {}, id="no-findings"),
        pytest.param(
            [("a", 1, "error"), ("a", 2, "error")],
            {"a": 3},
            {"a": "file_mostly_invalid"},
            id="two-of-three",
        ),
        pytest.param([("a", 1, "error")], {"a": 2}, {}, id="exactly-half-loads"),
        pytest.param(
            [("a", 1, "error"), ("a", 1, "error")],
            {"a": 3},
            {},
            id="one-row-two-errors-counts-once",
        ),
        pytest.param([("a", 1, "warn"), ("a", 2, "warn")], {"a": 2}, {}, id="warnings-never-hold"),
        pytest.param(
            [("a", 1, "error"), ("b", 1, "error")],
            {"a": 1, "b": 5},
            {"a": "file_mostly_invalid"},
            id="per-file",
        ),
    ],
)
def test_batch_failures(findings, row_counts, held):
    frame = pl.DataFrame(
        [(f, n, "k", "rule", sev, "r") for f, n, sev in findings],
        schema=FINDINGS_SCHEMA,
        orient="row",
    )
    assert batch_failures(frame, row_counts) == held


class _LyingSql(Between):
    """A check whose SQL disagrees with its GX expectation."""

    def failing_sql(self) -> str:
        return "FALSE"


def test_runner_fails_when_gx_and_sql_disagree(tmp_path, monkeypatch):
    suite = Suite(
        H,
        "test",
        "household_id",
        (Rule("size", "error", "value_out_of_range", _LyingSql("household_size", 1, 20), "."),),
    )
    monkeypatch.setitem(SUITES, H, suite)
    rows = _rows(H, {"household_size": 0})
    with pytest.raises(
        ValidationEngineError, match="GX counted 1 unexpected rows, the rule's SQL selected 0"
    ):
        _run(tmp_path, H, [_write(tmp_path, H, rows)])


class _OtherFlag(RowCondition):
    """A row condition whose GX expectation checks another rule's flag column."""

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        return super().gx_expectation(delivery_date, meta, flag_column("zero_size"))


def test_runner_fails_when_gx_and_sql_disagree_on_a_flag_rule(tmp_path, monkeypatch):
    """Row conditions are counted by GX on their flag columns: the cross-check covers them too."""
    suite = Suite(
        H,
        "test",
        "household_id",
        (
            Rule(
                "zero_size", "error", "value_out_of_range", RowCondition("household_size = 0"), "."
            ),
            Rule("big", "error", "value_out_of_range", _OtherFlag("household_size > 20"), "."),
        ),
    )
    monkeypatch.setitem(SUITES, H, suite)
    rows = _rows(H, {"household_size": 0})
    with pytest.raises(
        ValidationEngineError,
        match=r"households_staging\.big: GX counted 1 unexpected rows, the rule's SQL selected 0",
    ):
        _run(tmp_path, H, [_write(tmp_path, H, rows)])


class _UnknownColumn(Between):
    """A check whose GX expectation names a column the batch does not have."""

    def gx_expectation(self, delivery_date: dt.date, meta: dict[str, Any], flag: str) -> Any:
        return Between("no_such_column", self.min_value, self.max_value).gx_expectation(
            delivery_date, meta, flag
        )


def test_runner_fails_when_gx_raises(tmp_path, monkeypatch):
    suite = Suite(
        H,
        "test",
        "household_id",
        (
            Rule(
                "size", "error", "value_out_of_range", _UnknownColumn("household_size", 1, 20), "."
            ),
        ),
    )
    monkeypatch.setitem(SUITES, H, suite)
    with pytest.raises(
        ValidationEngineError, match=r"GX could not evaluate households_staging\.size"
    ):
        _run(tmp_path, H, [_write(tmp_path, H, _rows(H, {}))])


def test_a_process_that_validates_exits_quietly(tmp_path):
    """DuckDB's binding reports on stderr what is still alive at interpreter exit
    ("nanobind: leaked N instances"); a validation leaves nothing of DuckDB behind."""
    path = _write(tmp_path, H, _rows(H, {}, {"household_size": 0}))
    code = (
        "import datetime as dt, pathlib, sys\n"
        "from expectations.runner import validate\n"
        "out = validate('households', [pathlib.Path(sys.argv[1])],"
        " delivery_date=dt.date.fromisoformat(sys.argv[2]), work_dir=pathlib.Path(sys.argv[3]))\n"
        "print(*out.findings['expectation'])\n"
    )
    args = [str(path), DELIVERY.isoformat(), str(tmp_path / "work")]
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["household_size_range"]
    assert "leaked" not in out.stderr
    assert "Exception ignored" not in out.stderr


def test_rerun_in_same_work_dir_replaces_database(tmp_path):
    path = _write(tmp_path, H, _rows(H, {"household_size": 0}))
    first = _run(tmp_path, H, [path])
    second = _run(tmp_path, H, [path])
    assert_frame_equal(first.findings, second.findings)
    assert list((tmp_path / "work").iterdir()) == []  # its DuckDB file is gone


# --- the suites as data ---------------------------------------------------------------------


@pytest.mark.parametrize("entity", list(CONTRACT))
def test_suite_rules_are_well_formed(entity):
    suite = SUITES[entity]
    names = [r.name for r in suite.rules]
    assert len(names) == len(set(names))
    for rule in suite.rules:
        reason = CATALOGUE[rule.reason]
        assert reason.scope == "row"
        assert reason.outcome == {"error": HELD, "warn": WARNED}[rule.severity], rule.name


@pytest.mark.parametrize("entity", list(CONTRACT))
def test_suite_version_is_bumped_when_rules_change(entity):
    suite = SUITES[entity]
    recorded = recorded_versions()[entity]
    assert suite.version in recorded, (
        f"record suite {entity} v{suite.version} in expectations/suites/versions.json"
    )
    assert recorded[suite.version] == fingerprint(suite), (
        f"suite {entity} changed but is still version {suite.version}: bump VERSION and record "
        "the new fingerprint in expectations/suites/versions.json (never edit a released one)"
    )


@pytest.mark.parametrize("entity", list(CONTRACT))
def test_suite_helpers_are_new_columns_read_by_row_conditions_and_fingerprinted(entity):
    """A helper shadows no staging column, is read by a rule the runner evaluates in its
    checks table (never by a rule GX evaluates on the data, which has no helpers), and
    changing one changes the suite's fingerprint."""
    import dataclasses
    import re

    suite = SUITES[entity]
    names = [name for name, _ in suite.helpers]
    assert len(set(names)) == len(names)
    assert not set(names) & set(staging_schema(entity))
    for name in names:
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        readers = [r for r in suite.rules if pattern.search(r.check.failing_sql())]
        assert readers, f"helper {name} is read by no rule"
        assert all(r.check.on_flag for r in readers), name
    if suite.helpers:
        (name, sql), *rest = suite.helpers
        changed = dataclasses.replace(suite, helpers=((name, sql + " AND true"), *rest))
        assert fingerprint(changed) != fingerprint(suite)


def test_runner_import_does_not_import_great_expectations():
    code = "import sys, expectations.runner, expectations.suites; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
