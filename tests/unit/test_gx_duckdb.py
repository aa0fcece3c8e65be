"""The GX-on-DuckDB adapter: exact counts for core expectations, on a table and on Parquet.

These tests pin the behaviour a GX (or duckdb-engine, or SQLAlchemy) upgrade could break.
``test_unpatched_sql_datasource_is_still_broken`` documents the upstream bug the adapter
works around (GX issue #10738): when it starts failing, GX has fixed it and the adapter in
``expectations/gx_duckdb.py`` can probably go.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pytest

from expectations.gx_duckdb import DuckDBExecutionEngine, duckdb_url

ROWS = 1000
BIG_ROWS = 300_000  # more failing rows than GX fetches (MAX_RESULT_RECORDS = 200,000)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gx_duckdb")
    path = root / "adapter.duckdb"
    parquet = root / "t.parquet"
    con = duckdb.connect(str(path))
    con.execute(
        f"""
        CREATE TABLE t AS
        SELECT i,
               CASE WHEN i % 10 = 0 THEN NULL ELSE i END AS v,
               CAST(i % 7 AS VARCHAR) AS s,
               printf('%04d', i) AS code,
               CASE WHEN i < 10 THEN 0 ELSE i END AS u,
               i % 3 AS a,
               i % 3 + CAST(i % 50 = 0 AS INTEGER) AS b,
               DATE '2015-01-01' + CAST(i AS INTEGER) AS d,
               CAST(i AS DECIMAL(18, 2)) / 4 AS m,
               TIMESTAMPTZ '2015-01-01 00:00:00+00' AS ts,
               i % 7 = 0 AS f
        FROM range({ROWS}) r(i)
        """
    )
    con.execute(f"COPY t TO '{parquet}' (FORMAT parquet)")
    con.execute(f"CREATE VIEW pv AS SELECT * FROM read_parquet('{parquet}')")
    con.execute(f"CREATE TABLE big AS SELECT i FROM range({BIG_ROWS}) r(i)")
    con.close()
    return path


@pytest.fixture(scope="module")
def datasource(db_path: Path) -> Iterator[Any]:
    context = gx.get_context(mode="ephemeral")
    ds = context.data_sources.add_duckdb(
        name="adapter", connection_string=duckdb_url(str(db_path)), create_temp_table=False
    )
    yield ds
    ds.get_execution_engine().close()
    ds.get_engine().dispose()


def _batch(datasource: Any, table: str) -> Any:
    try:
        asset = datasource.get_asset(table)
    except LookupError:
        asset = datasource.add_table_asset(name=table, table_name=table)
        asset.add_batch_definition_whole_table("whole")
    return asset.get_batch_definition("whole").get_batch()


def _unexpected(batch: Any, expectation: Any) -> int:
    result = batch.validate(expectation)
    assert not (result.exception_info or {}).get("raised_exception"), result.exception_info
    if "unexpected_count" in result.result:
        return int(result.result["unexpected_count"])
    return int(result.result["observed_value"])


E = gx.expectations

CASES = [
    pytest.param(E.ExpectColumnValuesToNotBeNull(column="v"), 100, id="not-null"),
    pytest.param(
        E.ExpectColumnValuesToBeInSet(column="s", value_set=["0", "1", "2"]), 571, id="in-set"
    ),
    pytest.param(
        E.ExpectColumnValuesToBeBetween(column="i", min_value=10, max_value=989), 20, id="between"
    ),
    pytest.param(
        E.ExpectColumnValuesToBeBetween(column="v", min_value=10), 9, id="between-skips-nulls"
    ),
    pytest.param(
        E.ExpectColumnValuesToBeBetween(column="m", min_value=0, max_value=100),
        599,
        id="between-decimal",
    ),
    pytest.param(
        E.ExpectColumnValuesToBeBetween(column="d", max_value="2015-01-10"), 990, id="between-date"
    ),
    pytest.param(
        E.ExpectColumnValuesToMatchRegex(column="code", regex="^0[0-9]{2}[1-9]$"),
        100,
        id="regex-anchored",
    ),
    pytest.param(
        E.ExpectColumnValuesToMatchRegex(column="code", regex="5"), 729, id="regex-partial-match"
    ),
    pytest.param(
        E.ExpectColumnValuesToBeInSet(column="f", value_set=[False]), 143, id="in-set-boolean-flag"
    ),
    pytest.param(E.ExpectColumnValuesToBeUnique(column="u"), 10, id="unique"),
    pytest.param(
        E.ExpectColumnPairValuesToBeEqual(column_A="a", column_B="b"), 20, id="pair-equal"
    ),
    pytest.param(
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="a", column_B="b", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        20,
        id="pair-a-at-least-b",
    ),
    pytest.param(
        E.UnexpectedRowsExpectation(
            unexpected_rows_query="SELECT i FROM {batch} WHERE i % 100 = 0"
        ),
        10,
        id="unexpected-rows",
    ),
]


@pytest.mark.parametrize("table", ["t", "pv"], ids=["duckdb-table", "parquet-view"])
@pytest.mark.parametrize(("expectation", "unexpected"), CASES)
def test_core_expectations_count_exactly(datasource, table, expectation, unexpected):
    assert _unexpected(_batch(datasource, table), expectation) == unexpected


def test_unexpected_rows_beyond_fetch_limit(datasource):
    expectation = E.UnexpectedRowsExpectation(
        unexpected_rows_query="SELECT i FROM {batch} WHERE i >= 0"
    )
    assert _unexpected(_batch(datasource, "big"), expectation) == BIG_ROWS


def test_suite_run_counts_every_expectation(datasource):
    expectations = [c.values[0].copy(update={"meta": {"case": c.id}}) for c in CASES]
    suite = gx.ExpectationSuite(name="adapter", expectations=expectations)
    result = _batch(datasource, "pv").validate(
        suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 0}
    )
    got = {
        r.expectation_config.meta["case"]: r.result.get(
            "unexpected_count", r.result.get("observed_value")
        )
        for r in result.results
    }
    assert got == {c.id: c.values[1] for c in CASES}


def test_engine_uses_postgresql_regex_dialect(datasource):
    engine = datasource.get_execution_engine()
    assert isinstance(engine, DuckDBExecutionEngine)
    assert engine.dialect_module.__name__ == "sqlalchemy.dialects.postgresql"


@pytest.mark.filterwarnings("ignore:You are using a generic SQLDatasource")
def test_unpatched_sql_datasource_is_still_broken(db_path):
    """GX issue #10738: the plain SQL datasource loses DuckDB results before fetching them.

    If this fails, GX fixed the bug: check the adapter's tests pass without it and drop it.
    """
    context = gx.get_context(mode="ephemeral")
    ds = context.data_sources.add_sql(name="plain", connection_string=duckdb_url(str(db_path)))
    try:
        asset = ds.add_table_asset(name="t", table_name="t")
        batch = asset.add_batch_definition_whole_table("whole").get_batch()
        result = batch.validate(E.ExpectColumnValuesToNotBeNull(column="v"))
        raised = bool((result.exception_info or {}).get("raised_exception"))
        right = result.result.get("unexpected_count") == 100
        assert raised or not right, "GX now counts right on DuckDB: the adapter may be obsolete"
    finally:
        ds.get_execution_engine().close()
        ds.get_engine().dispose()
