"""Run an entity's expectation suite over its typed staging Parquet: GX on DuckDB.

``validate()`` is what the pipeline's validate task calls. It opens its own DuckDB file
under ``work_dir`` (never the warehouse), puts a view ``stg`` over the staging Parquet files,
and

1. reads the staging once into a checks table, ``stg_checks``: per row its file, row
   number, which rules it fails (each rule's own ``failing_sql()``, computed once, kept as
   one bit of ``_fails``) and, on rows failing any, the record key. The view ``stg_flags``
   shows the bits as one boolean column per rule. The findings (one row per failing row and
   rule, with its reason code) and the rows per file are selected from them;
2. runs the entity's suite through Great Expectations with the DuckDB adapter
   (``expectations/gx_duckdb.py``): the regex, set, range and column-pair rules on the
   staging data itself (``stg``; GX bundles their counts into one aggregate query), the
   rules GX cannot express natively (row conditions) on their columns of ``stg_flags`` (one
   aggregate query over the flags);
3. checks that per rule GX's unexpected count equals the number of rows found in (1); a
   difference means GX and the rule's SQL disagree, and the run fails loudly rather than
   hold or load the wrong rows;
4. applies the batch rule: a file with more than half of its rows failing an error rule is
   held whole (``file_mostly_invalid``), see :func:`batch_failures`.

So the staging Parquet is read twice: once for (1), once by GX's aggregate for (2) (plus the
two narrow queries GX runs for a column-pair rule). Great Expectations is imported inside
``validate()`` (the import costs ~5 s and DAG files import this module), in a background
thread while DuckDB runs (1), so that the import and the scan overlap.
"""

from __future__ import annotations

import atexit
import datetime as dt
import importlib
import logging
import sys
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import polars as pl

from contract.landing import staging_schema
from expectations.rules import MatchesRegex, Suite, bind, quote_literal
from expectations.suites import SUITES

log = logging.getLogger(__name__)

STAGING_VIEW = "stg"
CHECKS_TABLE = "stg_checks"
FLAGS_VIEW = "stg_flags"
MAX_RULES = 63  # bits of the checks table's BIGINT _fails
ADAPTER = "expectations.gx_duckdb"  # imports great_expectations
BATCH_RULE = "file_error_rows_at_most_half"
BATCH_REASON = "file_mostly_invalid"
SAMPLE_KEYS = 5

FINDINGS_SCHEMA = pl.Schema(
    {
        "_file_name": pl.String(),
        "_row_number": pl.Int64(),
        "record_key": pl.String(),
        "expectation": pl.String(),
        "severity": pl.String(),
        "reason": pl.String(),
    }
)


class ExpectationResult(NamedTuple):
    suite: str
    suite_version: str
    expectation: str  # the rule's stable name
    severity: str  # error | warn | batch
    evaluated: int  # rows the rule looked at (files, for the batch rule)
    failed: int  # rows that failed it (files held, for the batch rule)
    sample_keys: tuple[str, ...]  # up to 5 record keys (file names, for the batch rule)


@dataclass(frozen=True)
class ValidationOutcome:
    results: list[ExpectationResult]
    findings: pl.DataFrame  # FINDINGS_SCHEMA, sorted by file, row, expectation
    row_counts_by_file: dict[str, int] = field(default_factory=dict)
    # Files the batch rule holds whole: {file name: "file_mostly_invalid"}.
    held_files: dict[str, str] = field(default_factory=dict)


class ValidationEngineError(RuntimeError):
    """GX and the rules' own SQL disagree, or GX could not evaluate an expectation."""


def _suite_for(entity: str) -> Suite:
    try:
        return SUITES[entity]
    except KeyError:
        raise ValueError(f"no expectation suite for entity {entity!r}") from None


def _duckdb_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    simple = {
        pl.String: "VARCHAR",
        pl.Boolean: "BOOLEAN",
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.Date: "DATE",
    }
    for polars_type, sql_type in simple.items():
        if isinstance(dtype, polars_type):
            return sql_type
    raise TypeError(f"no DuckDB type for staging dtype {dtype}")


def _create_staging_view(
    con: duckdb.DuckDBPyConnection, entity: str, paths: Sequence[Path]
) -> None:
    """A view (or, with no files, an empty table) of the staging schema."""
    schema = staging_schema(entity)
    if not paths:
        cols = ", ".join(f'"{name}" {_duckdb_type(t)}' for name, t in schema.items())
        con.execute(f"CREATE TABLE {STAGING_VIEW} ({cols})")
        return
    files = ", ".join(quote_literal(str(Path(p).resolve())) for p in paths)
    # Explicit casts pin the schema (a no-op when the files are typed as ingestion writes them).
    cols = ", ".join(
        f'CAST("{name}" AS {_duckdb_type(t)}) AS "{name}"' for name, t in schema.items()
    )
    con.execute(f"CREATE VIEW {STAGING_VIEW} AS SELECT {cols} FROM read_parquet([{files}])")


def flag_column(rule_name: str) -> str:
    """The flags view's boolean column of a rule: its ``failing_sql()`` on each row."""
    return f"_fails_{rule_name}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_checks_table(
    con: duckdb.DuckDBPyConnection, suite: Suite, delivery_date: dt.date
) -> None:
    """The one scan of the staging: every rule's failing SQL on every row, kept.

    ``stg_checks`` holds per row its file and row number, ``_fails`` (bit i set when the
    row fails rule i: one integer column is far cheaper to write than one boolean column
    per rule) and, on rows with a bit set, the record key. The view ``stg_flags`` adds one
    boolean column per rule (:func:`flag_column`), never null, which GX checks and the
    findings read.
    """
    if len(suite.rules) > MAX_RULES:
        raise ValueError(f"suite {suite.name} has more than {MAX_RULES} rules")
    rows, failing = checks_sql(suite, delivery_date)
    mask = " | ".join(f"(CAST(({sql}) IS TRUE AS BIGINT) << {i})" for i, sql in enumerate(failing))
    con.execute(
        f"""
        CREATE TABLE {CHECKS_TABLE} AS
        SELECT _file_name, _row_number, _fails,
               CASE WHEN _fails <> 0 THEN CAST({suite.record_key_sql} AS VARCHAR) END
                   AS _record_key
        FROM (SELECT *, {mask or "0"} AS _fails FROM {rows})
        """
    )
    flags = "".join(
        f", (_fails >> {i}) & 1 = 1 AS {_quoted(flag_column(r.name))}"
        for i, r in enumerate(suite.rules)
    )
    con.execute(f"CREATE VIEW {FLAGS_VIEW} AS SELECT *{flags} FROM {CHECKS_TABLE}")


def checks_sql(suite: Suite, delivery_date: dt.date) -> tuple[str, list[str]]:
    """The rows the checks table reads (``suite.rows_sql`` over the staging view) and each
    rule's failing SQL over them, with every regex match computed once per row.

    A regex rule's match (:meth:`MatchesRegex.match_sql`) that a helper of the suite also
    computes, or that another rule's condition evaluates too, is one column of the rows (the
    helper, or a column ``_match_<i>`` added here) that every rule naming it reads: the
    same expression, evaluated once. The members' ID and household id patterns are each
    evaluated twice otherwise (0.35 s of the province's 1.9 s checks table)."""
    failing = [bind(r.check.failing_sql(), delivery_date) for r in suite.rules]
    named = {sql: name for name, sql in suite.helpers}
    shared: dict[str, str] = {}
    added: list[tuple[str, str]] = []
    for rule in suite.rules:
        if not isinstance(rule.check, MatchesRegex):
            continue
        match = rule.check.match_sql()
        if match in shared:
            continue
        if match in named:
            shared[match] = named[match]
        elif sum(sql.count(match) for sql in failing) > 1:
            shared[match] = f"_match_{len(added)}"
            added.append((shared[match], match))
    # A match is a whole call, its closing parenthesis included: no other expression holds it.
    for match, column in shared.items():
        failing = [sql.replace(match, column) for sql in failing]
    rows = replace(suite, helpers=suite.helpers + tuple(added)).rows_sql(STAGING_VIEW)
    return rows, failing


def _findings_sql(suite: Suite) -> str:
    """Every row with a flag set, with the list of rules it fails, unnested."""
    names = ", ".join(
        f"CASE WHEN {_quoted(flag_column(r.name))} THEN {quote_literal(r.name)} END"
        for r in suite.rules
    )
    return f"""
        SELECT _file_name, _row_number, _record_key AS record_key, unnest(failed) AS expectation
        FROM (
            SELECT _file_name, _row_number, _record_key,
                   list_filter([{names}], lambda x: x IS NOT NULL) AS failed
            FROM {FLAGS_VIEW}
            WHERE _fails <> 0
        )
    """


def _rules_frame(suite: Suite) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "expectation": [r.name for r in suite.rules],
            "severity": [r.severity for r in suite.rules],
            "reason": [r.reason for r in suite.rules],
        },
        schema={"expectation": pl.String(), "severity": pl.String(), "reason": pl.String()},
    )


def _select_findings(con: duckdb.DuckDBPyConnection, suite: Suite) -> pl.DataFrame:
    raw = con.sql(_findings_sql(suite)).pl()
    if raw.height == 0:
        return FINDINGS_SCHEMA.to_frame()
    return (
        raw.join(_rules_frame(suite), on="expectation", how="left")
        .select(FINDINGS_SCHEMA.names())
        .cast(dict(FINDINGS_SCHEMA))
        .sort("_file_name", "_row_number", "expectation")
    )


def _import_gx_in_background() -> Future[Any]:
    """Start importing GX and the adapter (~5 s of Python) in a thread; a no-op when loaded.

    The caller goes on with DuckDB's scan of the staging, which releases the GIL, so the
    import and the scan overlap; the caller waits on the future before it uses GX.
    """
    if ADAPTER in sys.modules:
        loaded: Future[Any] = Future()
        loaded.set_result(sys.modules[ADAPTER])
        return loaded
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-import")
    try:
        return pool.submit(importlib.import_module, ADAPTER)
    finally:
        pool.shutdown(wait=False)


def _run_gx(db_path: Path, suite: Suite, delivery_date: dt.date) -> dict[str, tuple[int, int]]:
    """Run the suite through GX; {rule name: (evaluated, unexpected)} as GX counted them.

    Two batches of one datasource: the rules GX evaluates on the data run on the staging
    view, the rules checked by flag on the flags view. GX bundles each batch's column-map
    counts into one aggregate query; nothing here may defeat that: no ``row_condition``, no
    index columns, result format ``BASIC`` with no partial unexpected list (counts only, no
    rows fetched).
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations.gx_duckdb import DuckDBDatasource, duckdb_url

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource: DuckDBDatasource = context.data_sources.add_duckdb(
        name=f"staging_{uuid.uuid4().hex[:8]}",
        connection_string=duckdb_url(str(db_path)),
        create_temp_table=False,
    )
    try:
        counts: dict[str, tuple[int, int]] = {}
        for table, on_flag in ((STAGING_VIEW, False), (FLAGS_VIEW, True)):
            rules = [r for r in suite.rules if r.check.on_flag == on_flag]
            if not rules:
                continue
            asset = datasource.add_table_asset(name=f"{suite.entity}_{table}", table_name=table)
            batch = asset.add_batch_definition_whole_table("whole").get_batch()
            gx_suite = gx.ExpectationSuite(
                name=suite.name if table == STAGING_VIEW else f"{suite.name}_flags",
                expectations=[
                    r.check.gx_expectation(delivery_date, {"rule": r.name}, flag_column(r.name))
                    for r in rules
                ],
                meta={"version": suite.version},
            )
            validation = batch.validate(
                gx_suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 0}
            )
            for res in validation.results:
                config = res.expectation_config
                if config is None or not config.meta:
                    raise ValidationEngineError(
                        f"GX returned a result without its expectation: {res}"
                    )
                rule = config.meta["rule"]
                error = _raised(res.exception_info)
                if error is not None:
                    raise ValidationEngineError(
                        f"GX could not evaluate {suite.name}.{rule}: {error}"
                    )
                counts[rule] = _counts(res.result, rule)
        missing = [r.name for r in suite.rules if r.name not in counts]
        if missing:
            raise ValidationEngineError(f"GX returned no result for {suite.name} rules {missing}")
        return counts
    finally:
        # Close every DuckDB connection GX opened: the execution engine's and the one the
        # datasource's own engine keeps pooled after its connection test.
        datasource.get_execution_engine().close()
        datasource.get_engine().dispose()
        # Once per process, however many validations it runs.
        atexit.unregister(_drop_duckdb_compile_hook)
        atexit.register(_drop_duckdb_compile_hook)


def _drop_duckdb_compile_hook() -> None:
    """Take duckdb-engine's SQLAlchemy compile hook off ``TryCast``; run at exit.

    With GX loaded, SQLAlchemy's ``TryCast`` class outlives interpreter shutdown, and so
    does the hook duckdb-engine registers on it, whose module globals reach DuckDB's
    connection type. DuckDB's binding (nanobind) would then report that type, its methods
    and their default values as leaked ("nanobind: leaked N instances") at every exit.
    """
    # sqlalchemy is loaded by then (the validation used it); imported here to keep it off
    # the import path of DAG files.
    import sqlalchemy as sa

    dispatcher = getattr(sa.TryCast, "_compiler_dispatcher", None)
    if dispatcher is not None:
        dispatcher.specs.pop("duckdb", None)


def _raised(info: Mapping[str, Any] | None) -> str | None:
    """The message of an exception GX caught, flat or keyed by metric; None when none."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _counts(result: Mapping[str, Any], rule: str) -> tuple[int, int]:
    """(evaluated, unexpected) of a column (pair) map expectation: nulls are skipped."""
    if "unexpected_count" not in result:
        raise ValidationEngineError(f"GX returned no count for rule {rule}: {dict(result)}")
    elements = int(result["element_count"])
    unexpected = result["unexpected_count"]
    if unexpected is None and elements == 0:  # GX's SUM over no rows
        unexpected = 0
    if unexpected is None:
        raise ValidationEngineError(f"GX returned no unexpected count for rule {rule}")
    return elements - int(result.get("missing_count") or 0), int(unexpected)


def batch_failures(findings: pl.DataFrame, row_counts_by_file: Mapping[str, int]) -> dict[str, str]:
    """Files more than half of whose rows have an error finding: {file name: reason}.

    A row with several error findings counts once. A file with no rows is never held here.
    """
    if findings.height == 0:
        return {}
    bad = (
        findings.filter(pl.col("severity") == "error")
        .select("_file_name", "_row_number")
        .unique()
        .group_by("_file_name")
        .len()
    )
    held: dict[str, str] = {}
    for file_name, bad_rows in bad.iter_rows():
        total = row_counts_by_file.get(file_name, 0)
        if total and 2 * bad_rows > total:
            held[file_name] = BATCH_REASON
    return dict(sorted(held.items()))


def validate(
    entity: str,
    parquet_paths: list[Path],
    *,
    delivery_date: dt.date,
    work_dir: Path,
) -> ValidationOutcome:
    """Validate one entity's typed staging Parquet of one delivery date."""
    suite = _suite_for(entity)
    work_dir.mkdir(parents=True, exist_ok=True)
    # One database file per call, so mapped tasks sharing a work_dir never collide; it holds
    # the view over the Parquet files and the checks table, and is removed when the call ends.
    db_path = (
        work_dir / f"validate_{entity}_{delivery_date.isoformat()}_{uuid.uuid4().hex[:8]}.duckdb"
    )
    gx_loaded = _import_gx_in_background()
    try:
        # The one scan of the staging. Closing the connection afterwards writes the (small)
        # checks table out and hands back the scan's memory before GX and the findings run.
        con = duckdb.connect(str(db_path))
        try:
            _create_staging_view(con, entity, parquet_paths)
            _create_checks_table(con, suite, delivery_date)
        finally:
            con.close()
        gx_loaded.result()
        gx_counts = _run_gx(db_path, suite, delivery_date)
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            row_counts = {
                name: int(n)
                for name, n in con.execute(
                    f"SELECT _file_name, count(*) FROM {CHECKS_TABLE} GROUP BY ALL ORDER BY 1"
                ).fetchall()
            }
            findings = _select_findings(con, suite)
        finally:
            con.close()
    finally:
        for path in (db_path, db_path.with_name(db_path.name + ".wal")):
            path.unlink(missing_ok=True)

    per_rule = findings.group_by("expectation").agg(
        pl.len().alias("n"),
        pl.col("record_key").unique(maintain_order=True).head(SAMPLE_KEYS).alias("keys"),
    )
    found: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    for rule_name, n, keys in per_rule.iter_rows():
        found[rule_name] = int(n)
        samples[rule_name] = list(keys)

    results: list[ExpectationResult] = []
    for rule in suite.rules:
        evaluated, failed = gx_counts[rule.name]
        if failed != found.get(rule.name, 0):
            raise ValidationEngineError(
                f"{suite.name}.{rule.name}: GX counted {failed} unexpected rows, "
                f"the rule's SQL selected {found.get(rule.name, 0)}"
            )
        results.append(
            ExpectationResult(
                suite.name,
                suite.version,
                rule.name,
                rule.severity,
                evaluated,
                failed,
                tuple(samples.get(rule.name, ())),
            )
        )

    held = batch_failures(findings, row_counts)
    results.append(
        ExpectationResult(
            suite.name,
            suite.version,
            BATCH_RULE,
            "batch",
            len(row_counts),
            len(held),
            tuple(list(held)[:SAMPLE_KEYS]),
        )
    )
    log.info(
        "validated %s for %s: %d rows in %d files, %d findings, %d files held",
        entity,
        delivery_date,
        sum(row_counts.values()),
        len(row_counts),
        findings.height,
        len(held),
    )
    return ValidationOutcome(results, findings, row_counts, held)
