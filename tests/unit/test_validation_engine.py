"""The validation engine against an independent reference, on a generated county with defects.

``validate()`` reads the staging once into a checks table and lets GX count the rules there
and on the staging view (see ``expectations/runner.py``). The reference here knows nothing of
that: it applies each rule's own failing SQL (``Check.failing_sql()``) to the typed staging
rows, one rule at a time, counts the rows each rule looks at from the rule as data, and builds
results, findings and held files from those rows. On a county generated with 2 % planted
defects (every entity, most rules firing, one file held by the batch rule) both must give the
same ``ValidationOutcome``, field by field.

It also pins how GX reads: one bundled aggregate query per batch, whatever the number of
rules, so that a change of result format or expectation settings that makes GX query once per
rule (row conditions, index columns, ``COMPLETE``) fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from contract.landing import CONTRACT, staging_schema
from expectations.rules import Between, MatchesRegex, Rule, Suite, bind
from expectations.runner import (
    BATCH_REASON,
    BATCH_RULE,
    FINDINGS_SCHEMA,
    MAX_RULES,
    SAMPLE_KEYS,
    ExpectationResult,
    ValidationOutcome,
    checks_sql,
    validate,
)
from expectations.suites import SUITES
from generator import generate
from ingest.staging import ingest_file
from pipeline.landing import discover

DELIVERY = dt.date(2015, 3, 1)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county's first delivery with 2 % planted defects, typed into staging Parquet."""
    root = tmp_path_factory.mktemp("county")
    generate(
        root / "landing",
        scale="county",
        start=DELIVERY,
        days=1,
        seed=7,
        defects=0.02,
        formats="csv",
    )
    for entry in discover(root / "landing", DELIVERY):
        if entry.outcome != "pending" or entry.entity is None:
            continue
        ingest_file(
            root / "landing" / DELIVERY.isoformat() / entry.file_name,
            entity=entry.entity,
            delivery_date=DELIVERY,
            source=str(entry.source),
            manifest_rows=entry.manifest_rows,
            stg_dir=root / "stg" / entry.entity,
            rejects_dir=root / "rejects" / entry.entity,
        )
    return root


def _paths(county: Path, entity: str) -> list[Path]:
    return sorted((county / "stg" / entity).glob("*.parquet"))


def _reference(entity: str, paths: list[Path], delivery_date: dt.date) -> ValidationOutcome:
    """Each rule's failing SQL applied to the staging rows, rule by rule."""
    suite = SUITES[entity]
    rows = pl.concat(
        [pl.read_parquet(p).cast(dict(staging_schema(entity))) for p in paths],
        how="vertical",
    ).select(list(staging_schema(entity)))
    con = duckdb.connect()
    con.register("staged", rows)
    key = f"CAST({suite.record_key_sql} AS VARCHAR)"
    frames = []
    results = []
    for rule in suite.rules:
        failing = con.sql(
            f"SELECT _file_name, _row_number, {key} AS record_key FROM {suite.rows_sql('staged')} "
            f"WHERE ({bind(rule.check.failing_sql(), delivery_date)}) IS TRUE "
            "ORDER BY _file_name, _row_number"
        ).pl()
        check = rule.check.describe()
        if check["check"] == "row_condition":
            evaluated = rows.height
        elif check["check"] == "a_at_least_b":
            evaluated = rows.filter(
                pl.col(check["column_a"]).is_not_null() & pl.col(check["column_b"]).is_not_null()
            ).height
        else:
            evaluated = rows.height - rows[check["column"]].null_count()
        keys = failing["record_key"].unique(maintain_order=True).head(SAMPLE_KEYS).to_list()
        results.append(
            ExpectationResult(
                suite.name,
                suite.version,
                rule.name,
                rule.severity,
                evaluated,
                failing.height,
                tuple(keys),
            )
        )
        frames.append(
            failing.with_columns(
                expectation=pl.lit(rule.name),
                severity=pl.lit(rule.severity),
                reason=pl.lit(rule.reason),
            )
        )
    con.close()
    findings = (
        pl.concat(frames).select(FINDINGS_SCHEMA.names()).cast(dict(FINDINGS_SCHEMA))
        if frames
        else FINDINGS_SCHEMA.to_frame()
    ).sort("_file_name", "_row_number", "expectation")
    per_file = dict(rows.group_by("_file_name").len().sort("_file_name").iter_rows())
    error_rows: dict[str, set[int]] = {}
    for file_name, row_number in (
        findings.filter(pl.col("severity") == "error")
        .select("_file_name", "_row_number")
        .iter_rows()
    ):
        error_rows.setdefault(file_name, set()).add(row_number)
    held = {f: BATCH_REASON for f, bad in sorted(error_rows.items()) if 2 * len(bad) > per_file[f]}
    results.append(
        ExpectationResult(
            suite.name,
            suite.version,
            BATCH_RULE,
            "batch",
            len(per_file),
            len(held),
            tuple(list(held)[:SAMPLE_KEYS]),
        )
    )
    return ValidationOutcome(results, findings, per_file, held)


def test_the_county_exercises_the_rules(county: Path, tmp_path: Path) -> None:
    """The comparison below is only worth something if the defects make rules fire."""
    fired = {
        (entity, r.expectation)
        for entity in CONTRACT
        for r in _reference(entity, _paths(county, entity), DELIVERY).results
        if r.failed
    }
    assert len(fired) >= 20, sorted(fired)
    assert {e for e, _ in fired} == set(CONTRACT)
    assert ("assistance", BATCH_RULE) in fired  # a file held whole
    assert ("households", "exit_in_identification_year") in fired  # a warn rule
    assert ("households", "head_id_check_char") in fired  # a row condition
    assert ("households", "status_change_not_before_identification") in fired  # a column pair


@pytest.mark.parametrize("entity", list(CONTRACT))
def test_outcome_equals_the_rules_applied_row_by_row(
    county: Path, tmp_path: Path, entity: str
) -> None:
    paths = _paths(county, entity)
    got = validate(entity, paths, delivery_date=DELIVERY, work_dir=tmp_path / "work")
    want = _reference(entity, paths, DELIVERY)
    assert got.results == want.results
    assert_frame_equal(got.findings, want.findings)
    assert got.row_counts_by_file == want.row_counts_by_file
    assert got.held_files == want.held_files


def test_each_regex_match_is_evaluated_once_per_row() -> None:
    """A pattern that a helper and a rule evaluate (the members' ID), or two rules (the
    household id, in members and households), is one column of the rows the checks table
    reads, which every rule naming it reads (the test above holds the result to each rule's
    own SQL)."""
    for entity in ("members", "households"):
        rows, failing = checks_sql(SUITES[entity], DELIVERY)
        text = " ".join([rows, *failing])
        matches = [
            r.check.match_sql() for r in SUITES[entity].rules if isinstance(r.check, MatchesRegex)
        ]
        assert matches
        for match in matches:
            assert text.count(match) == 1, (entity, match)


# --- how GX reads -----------------------------------------------------------------------------


@pytest.fixture
def gx_statements() -> Iterator[list[str]]:
    """The SQL statements GX sends through SQLAlchemy while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def _reads(statements: list[str], table: str) -> list[str]:
    """Statements that read every row of ``table``: not LIMITed, not catalogue look-ups."""
    source = re.compile(rf"FROM {table}\b")
    return [s for s in statements if source.search(s) and not re.search(r"LIMIT \$\d+$", s)]


def test_gx_bundles_each_batch_into_one_aggregate_query(
    county: Path, tmp_path: Path, gx_statements: list[str]
) -> None:
    validate("households", _paths(county, "households"), delivery_date=DELIVERY, work_dir=tmp_path)
    staging = _reads(gx_statements, "stg")
    flags = _reads(gx_statements, "stg_flags")
    # The staging view: one aggregate for the 9 regex, set and range rules, the row count,
    # and the column pair rule's two (GX does not bundle column pair counts).
    assert len([s for s in staging if "column_values." in s]) == 1, staging
    assert len(staging) <= 4, staging
    # The flags view: one aggregate for the 6 row conditions, and the row count.
    assert len([s for s in flags if "column_values." in s]) == 1, flags
    assert len(flags) <= 2, flags
    # No rule's own condition is run by GX: the checks table already holds it.
    assert not [s for s in gx_statements if "regexp_matches" in s or "try_strptime" in s]


def test_a_suite_of_more_rules_than_bits_is_refused(
    county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tuple(
        Rule(f"size_{n}", "error", "value_out_of_range", Between("household_size", 1, 20), ".")
        for n in range(MAX_RULES + 1)
    )
    monkeypatch.setitem(SUITES, "households", Suite("households", "test", "household_id", rules))
    with pytest.raises(ValueError, match=f"more than {MAX_RULES} rules"):
        validate(
            "households",
            _paths(county, "households"),
            delivery_date=DELIVERY,
            work_dir=tmp_path,
        )
