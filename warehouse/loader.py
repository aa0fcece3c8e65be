"""The DuckDB warehouse: connections, ordered migrations, reference data, marts, checks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

import settings
from contract.reference import REF_DIR as REF

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
MARTS = HERE / "marts"
CHECKS = HERE / "checks"


def sql_literal(text: str) -> str:
    """A SQL string literal of ``text`` (for statements that take no parameters, such as
    COMMENT ON)."""
    return "'" + text.replace("'", "''") + "'"


def connect(
    path: Path, *, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        # The internal warehouse holds clear IDs and names: owner-only.
        path.chmod(0o600)
    con.execute(f"SET memory_limit = '{memory_limit or settings.load_memory()}'")
    if not read_only:
        spill = path.parent / "duckdb_tmp"
        con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet applied, in file-name order. Returns the applied names.

    Runs inside the caller's transaction, so a failing migration changes nothing.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS main.schema_migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT current_timestamp)"
    )
    done = {r[0] for r in con.execute("SELECT name FROM main.schema_migrations").fetchall()}
    applied = []
    for sql_file in sorted(MIGRATIONS.glob("*.sql")):
        if sql_file.name in done:
            continue
        log.info("applying migration %s", sql_file.name)
        con.execute(sql_file.read_text())
        con.execute("INSERT INTO main.schema_migrations (name) VALUES (?)", [sql_file.name])
        applied.append(sql_file.name)
    return applied


def load_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the ref schema from the CSV files kept in the repository."""

    def csv(name: str) -> str:
        return f"read_csv('{REF / name}', header = true, all_varchar = true)"

    con.execute("DELETE FROM ref.poverty_lines")
    con.execute(
        "INSERT INTO ref.poverty_lines SELECT year::INT, line_yuan_per_person::INT, basis,"
        f" confidence, note FROM {csv('poverty_lines.csv')}"
    )
    con.execute("DELETE FROM ref.provinces")
    con.execute(
        "INSERT INTO ref.provinces SELECT province_code, name_en, name_zh, region,"
        " western_exit_rule::BOOLEAN, has_poverty_counties::BOOLEAN,"
        " poverty_counties_832::INT, poor_2013_10k::INT, poor_2013_confidence"
        f" FROM {csv('provinces.csv')}"
    )
    con.execute("DELETE FROM ref.national_poverty")
    con.execute(
        "INSERT INTO ref.national_poverty SELECT year::INT, rural_poor_10k::INT,"
        " reduction_10k::INT, incidence_pct::DOUBLE, source_confidence, source"
        f" FROM {csv('national_poverty.csv')}"
    )
    con.execute("DELETE FROM ref.registry_2014")
    con.execute(
        "INSERT INTO ref.registry_2014 SELECT metric, value::DOUBLE, confidence, source"
        f" FROM {csv('registry_2014.csv')}"
    )
    con.execute("DELETE FROM ref.targets")
    con.execute(
        "INSERT INTO ref.targets SELECT year::INT,"
        " CASE WHEN scope = 'national' THEN '00' ELSE scope END, metric, target::BIGINT, source"
        f" FROM {csv('targets.csv')}"
    )
    con.execute("DELETE FROM ref.counties")
    con.execute(
        "INSERT INTO ref.counties SELECT county_code, name_en, name_zh,"
        " wrongful_exit_rate::DOUBLE, missed_identification_rate::DOUBLE,"
        " public_approval::DOUBLE, evaluation_year::INT, source, confidence"
        f" FROM {csv('counties.csv')}"
    )


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    for sql_file in sorted(MARTS.glob("*.sql")):
        started = time.perf_counter()
        con.execute(sql_file.read_text())
        log.info("mart %s built in %.1fs", sql_file.stem, time.perf_counter() - started)


@dataclass(frozen=True)
class CheckResult:
    name: str
    severity: str  # error stops the publish; warn is reported
    failed: int


def post_load_checks(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """SQL assertions after load: each ``checks/*.sql`` returns the offending rows."""
    results = []
    for sql_file in sorted(CHECKS.glob("*.sql")):
        text = sql_file.read_text()
        severity = "warn" if "-- severity: warn" in text else "error"
        started = time.perf_counter()
        failed = con.execute(f"SELECT count(*) FROM ({text.strip().rstrip(';')})").fetchone()
        log.info("check %s ran in %.1fs", sql_file.stem, time.perf_counter() - started)
        results.append(CheckResult(sql_file.stem, severity, int(failed[0]) if failed else 0))
    return results
