"""Typing delivered strings: one case per edge, on one-row frames."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contract.idcard import make_id
from contract.landing import CONTRACT, LINEAGE, staging_dtype, staging_schema
from contract.reasons import CATALOGUE
from ingest.typing import HELD_SCHEMA, type_rows

PERSON = make_id("510121", dt.date(1980, 5, 17), 123)
UTC = dt.UTC

# One clean delivered row per entity, as the reader hands it over (all strings).
CLEAN: dict[str, dict[str, str | None]] = {
    "villages": {
        "village_code": "510121001001",
        "village_name": "测试一村",
        "is_poor_village": "true",
        "rural_population": "1200",
        "collective_income_yuan": "35000.00",
        "has_ecommerce_station": "false",
        "ecommerce_pilot_year": "2016",
        "solar_capacity_kw": "120.5",
        "paper_mulberry_mu": "30",
        "updated_at": "2020-01-01T08:00:00+08:00",
    },
    "households": {
        "household_id": "5101210010010001",
        "village_code": "510121001001",
        "head_id_number": PERSON,
        "head_name": "测试甲",
        "household_size": "3",
        "attribute": "general",
        "main_cause": "illness",
        "other_causes": "disability;water",
        "net_income_yuan": "12000.50",
        "per_capita_income_yuan": "4000.17",
        "income_year": "2019",
        "food_clothing_secure": "true",
        "housing_safe": "true",
        "drinking_water_safe": "true",
        "status": "poor",
        "identified_on": "2015-03-01",
        "status_changed_on": "2015-03-01",
        "sells_online": "false",
        "updated_at": "2020-01-01T08:00:00+08:00",
    },
    "members": {
        "id_number": PERSON,
        "household_id": "5101210010010001",
        "name": "测试甲",
        "relation": "head",
        "sex": "male",
        "birth_date": "1980-05-17",
        "education": "junior",
        "in_school": "false",
        "health": "healthy",
        "labour": "ordinary",
        "medical_insured": "true",
        "member_status": "active",
        "updated_at": "2020-01-01T08:00:00+08:00",
    },
    "assistance": {
        "event_id": "E0001",
        "household_id": "5101210010010001",
        "village_code": None,
        "program": "ecommerce_training",
        "platform": "淘宝",
        "event_date": "2019-05-01",
        "amount_yuan": "0",
        "updated_at": "2019-05-02T10:00:00+08:00",
    },
    "targets": {"year": "2020", "province_code": "51", "metric": "people_lifted", "target": "1000"},
}


def frame(entity: str, **overrides: str | None) -> pl.DataFrame:
    row = {**CLEAN[entity], **overrides}
    cols = {name: [value] for name, value in row.items()}
    return pl.DataFrame(cols, schema=dict.fromkeys(row, pl.String())).with_columns(
        pl.lit(1, pl.Int64).alias("_row_number")
    )


def typed_value(entity: str, column: str, value: object) -> pl.DataFrame:
    dtype = staging_dtype(CONTRACT[entity].column(column).kind)
    return pl.DataFrame({column: [value]}, schema={column: dtype})


@pytest.mark.parametrize(
    ("entity", "column", "raw", "expected"),
    [
        pytest.param("villages", "is_poor_village", "TRUE", True, id="bool-true-any-case"),
        pytest.param("villages", "is_poor_village", "是", True, id="bool-chinese-yes"),
        pytest.param("villages", "is_poor_village", "否", False, id="bool-chinese-no"),
        pytest.param("villages", "is_poor_village", "y", True, id="bool-y"),
        pytest.param("villages", "is_poor_village", "N", False, id="bool-n"),
        pytest.param("villages", "is_poor_village", "1", True, id="bool-1"),
        pytest.param("villages", "is_poor_village", " 0 ", False, id="bool-0-padded"),
        pytest.param("villages", "is_poor_village", "Yes", True, id="bool-yes"),
        pytest.param("villages", "is_poor_village", "f", False, id="bool-f"),
        pytest.param("villages", "rural_population", "1200", 1200, id="int-plain"),
        pytest.param("villages", "rural_population", "1200.0", 1200, id="int-trailing-dot-zero"),
        pytest.param("villages", "rural_population", "+7", 7, id="int-plus-sign"),
        pytest.param(
            "villages", "rural_population", "-5", -5, id="int-negative-range-is-validation"
        ),
        pytest.param("villages", "rural_population", "007", 7, id="int-leading-zeros"),
        pytest.param(
            "villages", "collective_income_yuan", "12.5", Decimal("12.50"), id="money-one-decimal"
        ),
        pytest.param(
            "villages", "collective_income_yuan", "12", Decimal("12.00"), id="money-integer"
        ),
        pytest.param(
            "villages",
            "collective_income_yuan",
            "-3.10",
            Decimal("-3.10"),
            id="money-negative-kept",
        ),
        pytest.param(
            "villages", "collective_income_yuan", ".5", Decimal("0.50"), id="money-no-integer-part"
        ),
        pytest.param("villages", "collective_income_yuan", None, None, id="money-optional-missing"),
        pytest.param("villages", "collective_income_yuan", "  ", None, id="money-optional-blank"),
        pytest.param("villages", "solar_capacity_kw", "1e3", 1000.0, id="number-exponent"),
        pytest.param("villages", "solar_capacity_kw", "0.25", 0.25, id="number-decimal"),
        pytest.param(
            "villages", "ecommerce_pilot_year", "1999", 1999, id="int-out-of-range-is-validation"
        ),
        pytest.param(
            "households", "identified_on", "2015-03-01", dt.date(2015, 3, 1), id="date-iso"
        ),
        pytest.param(
            "households", "identified_on", "2015/03/01", dt.date(2015, 3, 1), id="date-slashes"
        ),
        pytest.param(
            "households", "identified_on", "20150301", dt.date(2015, 3, 1), id="date-compact"
        ),
        pytest.param(
            "households", "identified_on", "2016-02-29", dt.date(2016, 2, 29), id="date-leap-day"
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00",
            dt.datetime(2015, 3, 1, 0, 0, tzinfo=UTC),
            id="timestamp-no-offset-is-shanghai",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01 08:00:00",
            dt.datetime(2015, 3, 1, 0, 0, tzinfo=UTC),
            id="timestamp-space-separator",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00+08:00",
            dt.datetime(2015, 3, 1, 0, 0, tzinfo=UTC),
            id="timestamp-offset-colon",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00+0530",
            dt.datetime(2015, 3, 1, 2, 30, tzinfo=UTC),
            id="timestamp-offset-no-colon",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00-05",
            dt.datetime(2015, 3, 1, 13, 0, tzinfo=UTC),
            id="timestamp-offset-hours-only",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00Z",
            dt.datetime(2015, 3, 1, 8, 0, tzinfo=UTC),
            id="timestamp-zulu",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00",
            dt.datetime(2015, 3, 1, 0, 0, tzinfo=UTC),
            id="timestamp-no-seconds",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00.123456789Z",
            dt.datetime(2015, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
            id="timestamp-nanoseconds-cut-to-us",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00.5",
            dt.datetime(2015, 3, 1, 0, 0, 0, 500000, tzinfo=UTC),
            id="timestamp-fraction-no-offset",
        ),
        pytest.param("households", "attribute", "一般贫困户", "general", id="enum-chinese-label"),
        pytest.param(
            "households", "attribute", " dibao_poor ", "dibao_poor", id="enum-code-padded"
        ),
        pytest.param("households", "attribute", "WUBAO", "wubao", id="enum-code-upper-case"),
        pytest.param("households", "status", "返贫", "returned", id="enum-status-label"),
        pytest.param("members", "relation", "儿媳女婿", "child_in_law", id="enum-relation-label"),
        pytest.param("members", "education", None, None, id="enum-optional-missing"),
        pytest.param(
            "households",
            "other_causes",
            "因残、缺水",
            "disability;water",
            id="causes-chinese-dunhao",
        ),
        pytest.param(
            "households",
            "other_causes",
            "disability；water",
            "disability;water",
            id="causes-fullwidth-semicolon",
        ),
        pytest.param(
            "households",
            "other_causes",
            " 因残 ; skills ",
            "disability;skills",
            id="causes-mixed-padded",
        ),
        pytest.param("households", "other_causes", "因残", "disability", id="causes-single"),
        pytest.param(
            "households",
            "other_causes",
            "因残;因残;因病",
            "disability;disability;illness",
            id="causes-repeats-and-count-are-validation",
        ),
        pytest.param(
            "households",
            "other_causes",
            "disability;",
            "disability",
            id="causes-trailing-separator",
        ),
        pytest.param(
            "households", "other_causes", ";", None, id="causes-only-separators-is-missing"
        ),
        pytest.param(
            "households",
            "other_causes",
            "因残、天灾",
            "disability;天灾",
            id="causes-unknown-kept-for-validation",
        ),
        pytest.param(
            "households",
            "other_causes",
            "disability,water",
            "disability,water",
            id="causes-comma-is-not-a-separator",
        ),
        pytest.param(
            "households",
            "head_id_number",
            PERSON.lower(),
            PERSON.upper(),
            id="id18-lower-x-upper-cased",
        ),
        pytest.param("households", "head_id_number", f" {PERSON} ", PERSON, id="id18-stripped"),
        pytest.param(
            "households",
            "head_id_number",
            PERSON + "23",
            PERSON,
            id="id18-disability-number-cut-to-18",
        ),
        pytest.param(
            "households",
            "head_id_number",
            PERSON + "83",
            PERSON + "83",
            id="id18-bad-category-kept-for-validation",
        ),
        pytest.param(
            "households",
            "head_id_number",
            "12345",
            "12345",
            id="id18-bad-format-kept-for-validation",
        ),
        pytest.param(
            "households",
            "household_id",
            " 5101210010010001\t",
            "5101210010010001",
            id="hh16-stripped",
        ),
        pytest.param(
            "households",
            "village_code",
            "\u3000510121001001",
            "510121001001",
            id="code12-fullwidth-space",
        ),
        pytest.param("targets", "province_code", "00", "00", id="prov2-national-kept"),
        pytest.param(
            "villages", "village_name", "  测试 一村 ", "测试 一村", id="text-outer-whitespace-only"
        ),
        pytest.param("villages", "village_name", "=1+1", "=1+1", id="text-formula-stays-text"),
    ],
)
def test_value_is_typed(entity: str, column: str, raw: str | None, expected: object) -> None:
    typed, held = type_rows(frame(entity, **{column: raw}), entity)
    assert held.is_empty(), held.rows()
    assert_frame_equal(typed.select(column), typed_value(entity, column, expected))


@pytest.mark.parametrize(
    ("entity", "column", "raw", "reason"),
    [
        pytest.param("villages", "village_code", None, "missing_required", id="required-null"),
        pytest.param("villages", "village_name", "", "missing_required", id="required-empty"),
        pytest.param(
            "villages", "village_name", " \t ", "missing_required", id="required-whitespace"
        ),
        pytest.param(
            "households", "head_id_number", None, "missing_required", id="required-id-null"
        ),
        pytest.param("villages", "is_poor_village", "maybe", "invalid_bool", id="bool-word"),
        pytest.param("villages", "is_poor_village", "2", "invalid_bool", id="bool-two"),
        pytest.param("villages", "is_poor_village", "对", "invalid_bool", id="bool-other-chinese"),
        pytest.param("villages", "rural_population", "3.5", "invalid_number", id="int-fraction"),
        pytest.param(
            "villages", "rural_population", "3.00", "invalid_number", id="int-two-zero-decimals"
        ),
        pytest.param(
            "villages", "rural_population", "1,200", "invalid_number", id="int-thousands-separator"
        ),
        pytest.param("villages", "rural_population", "1e3", "invalid_number", id="int-exponent"),
        pytest.param(
            "villages",
            "rural_population",
            "99999999999999999999",
            "invalid_number",
            id="int-overflow",
        ),
        pytest.param(
            "villages",
            "collective_income_yuan",
            "12.345",
            "invalid_number",
            id="money-three-decimals",
        ),
        pytest.param(
            "villages", "collective_income_yuan", "1e3", "invalid_number", id="money-exponent"
        ),
        pytest.param(
            "villages", "collective_income_yuan", "¥12", "invalid_number", id="money-currency-sign"
        ),
        pytest.param(
            "villages",
            "collective_income_yuan",
            "12345678901234567",
            "invalid_number",
            id="money-too-large",
        ),
        pytest.param("villages", "solar_capacity_kw", "abc", "invalid_number", id="number-word"),
        pytest.param("villages", "solar_capacity_kw", "inf", "invalid_number", id="number-inf"),
        pytest.param("villages", "solar_capacity_kw", "NaN", "invalid_number", id="number-nan"),
        pytest.param(
            "villages", "solar_capacity_kw", "1e999", "invalid_number", id="number-overflow"
        ),
        pytest.param(
            "households", "identified_on", "2015-02-30", "invalid_date", id="date-impossible"
        ),
        pytest.param("households", "identified_on", "2015-3-1", "invalid_date", id="date-unpadded"),
        pytest.param(
            "households", "identified_on", "01/03/2015", "invalid_date", id="date-day-first"
        ),
        pytest.param(
            "households",
            "identified_on",
            "2015-03-01T00:00:00",
            "invalid_date",
            id="date-with-time",
        ),
        pytest.param(
            "households", "identified_on", "2015131", "invalid_date", id="date-seven-digits"
        ),
        pytest.param(
            "households",
            "status_changed_on",
            "20151301",
            "invalid_date",
            id="date-month-13-optional-col",
        ),
        pytest.param(
            "villages", "updated_at", "2015-03-01", "invalid_timestamp", id="timestamp-date-only"
        ),
        pytest.param(
            "villages", "updated_at", "yesterday", "invalid_timestamp", id="timestamp-word"
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-02-30T08:00:00",
            "invalid_timestamp",
            id="timestamp-impossible",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T25:00:00",
            "invalid_timestamp",
            id="timestamp-hour-25",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00+15:00",
            "invalid_timestamp",
            id="timestamp-offset-15h",
        ),
        pytest.param(
            "villages",
            "updated_at",
            "2015-03-01T08:00:00+08:75",
            "invalid_timestamp",
            id="timestamp-offset-75min",
        ),
        pytest.param(
            "households", "attribute", "very_poor", "unknown_code_value", id="enum-unknown-code"
        ),
        pytest.param("households", "status", "脱贫", "unknown_code_value", id="enum-near-label"),
        pytest.param("members", "sex", "M", "unknown_code_value", id="enum-abbreviation"),
        pytest.param("targets", "metric", "people", "unknown_code_value", id="enum-unknown-metric"),
    ],
)
def test_problem_holds_the_row(entity: str, column: str, raw: str | None, reason: str) -> None:
    typed, held = type_rows(frame(entity, **{column: raw}), entity)
    assert typed.is_empty()
    assert reason in CATALOGUE
    expected = pl.DataFrame({"_row_number": [1], "column": [column], "reason": [reason]})
    assert_frame_equal(held.select("_row_number", "column", "reason"), expected)


@pytest.mark.parametrize("entity", list(CONTRACT))
def test_typed_frame_has_the_staging_schema_without_the_callers_lineage(entity: str) -> None:
    typed, held = type_rows(frame(entity), entity)
    lineage_added_by_caller = set(LINEAGE) - {"_row_number"}
    expected = pl.Schema(
        {k: v for k, v in staging_schema(entity).items() if k not in lineage_added_by_caller}
    )
    assert typed.schema == expected
    assert typed.height == 1
    assert held.schema == HELD_SCHEMA


def test_held_rows_leave_typed_and_keep_their_row_numbers() -> None:
    rows = pl.concat(
        [
            frame("villages"),
            frame("villages", rural_population="many"),
            frame("villages"),
            frame("villages", is_poor_village="?"),
        ]
    ).with_columns(pl.int_range(1, 5, dtype=pl.Int64).alias("_row_number"))
    typed, held = type_rows(rows, "villages")
    assert typed["_row_number"].to_list() == [1, 3]
    assert_frame_equal(
        held.select("_row_number", "column", "reason"),
        pl.DataFrame(
            {
                "_row_number": [2, 4],
                "column": ["rural_population", "is_poor_village"],
                "reason": ["invalid_number", "invalid_bool"],
            }
        ),
    )


def test_first_problem_in_column_order_gives_the_reason_and_detail_lists_all() -> None:
    typed, held = type_rows(
        frame("villages", village_name=None, rural_population="x", updated_at="soon"), "villages"
    )
    assert typed.is_empty()
    assert_frame_equal(
        held,
        pl.DataFrame(
            {
                "_row_number": [1],
                "column": ["village_name"],
                "reason": ["missing_required"],
                "detail": [
                    "village_name is empty; rural_population: 'x' is not an integer; "
                    "updated_at: 'soon' is not an ISO 8601 timestamp"
                ],
            },
            schema=HELD_SCHEMA,
        ),
    )


@pytest.mark.parametrize(
    ("column", "raw", "detail"),
    [
        pytest.param(
            "collective_income_yuan",
            "1.234",
            "collective_income_yuan: '1.234' has more than 2 decimals",
            id="money-decimals",
        ),
        pytest.param(
            "collective_income_yuan",
            "abc",
            "collective_income_yuan: 'abc' is not an amount in yuan",
            id="money-word",
        ),
        pytest.param("village_name", None, "village_name is empty", id="missing"),
        pytest.param(
            "rural_population",
            "9" * 60,
            f"rural_population: '{'9' * 40}…' is not an integer",
            id="long-value-cut-short",
        ),
    ],
)
def test_detail_says_what_is_wrong(column: str, raw: str | None, detail: str) -> None:
    _, held = type_rows(frame("villages", **{column: raw}), "villages")
    assert held["detail"].to_list() == [detail]


def test_pii_value_never_appears_in_a_detail() -> None:
    # An ID column cannot fail typing, so force a PII problem through a missing name plus a
    # non-PII problem and check no PII text leaks anywhere in the held row.
    _, held = type_rows(frame("members", name="   ", sex="x"), "members")
    text = " ".join(held.select(pl.all().cast(pl.String)).row(0))
    assert PERSON not in text
    assert held["reason"].to_list() == ["missing_required"]


def test_absent_optional_column_types_as_null() -> None:
    rows = frame("villages").drop("solar_capacity_kw", "paper_mulberry_mu")
    typed, held = type_rows(rows, "villages")
    assert held.is_empty()
    assert typed["solar_capacity_kw"].to_list() == [None]
    assert typed.schema["solar_capacity_kw"] == pl.Float64


def test_empty_frame_types_to_empty_frames() -> None:
    typed, held = type_rows(frame("members").clear(), "members")
    assert typed.is_empty() and held.is_empty()
    assert held.schema == HELD_SCHEMA


def test_received_rows_are_typed_or_held_never_lost() -> None:
    raws = ["1", "x", None, "2.0", "3.5", "  4 "]
    rows = pl.concat([frame("targets", target=r) for r in raws]).with_columns(
        pl.int_range(1, len(raws) + 1, dtype=pl.Int64).alias("_row_number")
    )
    typed, held = type_rows(rows, "targets")
    assert sorted(typed["_row_number"].to_list() + held["_row_number"].to_list()) == list(
        range(1, 7)
    )
    assert typed["target"].to_list() == [1, 2, 4]
