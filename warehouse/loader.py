"""The DuckDB warehouse: connections, ordered migrations, reference data, marts, checks."""

from __future__ import annotations

import graphlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

import settings
from contract.reference import REF_DIR as REF
from contract.reference import code_labels
from warehouse import sqlfiles

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
MARTS = HERE / "marts"
CHECKS = HERE / "checks"


def connect(
    path: Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    bulk: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file ``path``; ``bulk`` (the load's): see
    :func:`bulk_writes`."""
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
    if bulk:
        bulk_writes(con)
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con


def bulk_writes(con: duckdb.DuckDBPyConnection) -> None:
    """Let DuckDB write inserted rows in the order its threads finish them rather than the
    source's (``preserve_insertion_order``), as the load and the publish do: each thread
    writes its own row groups, straight to the file, so a table of 90 M rows is neither
    buffered for ordering nor rewritten at checkpoint. Nothing the warehouse or the
    snapshot holds depends on the order of rows in a table: every query that needs an order
    says it (ORDER BY), and digests are sums over rows."""
    con.execute("SET preserve_insertion_order = false")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of ``table`` (``schema.name``) in the current database,
    in order."""
    schema, name = table.split(".")
    return [
        (column, data_type)
        for column, data_type in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns()"
            " WHERE database_name = current_database() AND schema_name = ? AND table_name = ?"
            " ORDER BY column_index",
            [schema, name],
        ).fetchall()
    ]


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
    """Replace the ref schema from the CSV files kept in the repository (``contract/ref``)
    and the labels of the landing contract's codes."""
    for statement in sqlfiles.statements("ref/load_reference.sql"):
        con.execute(statement, sqlfiles.parameters(statement, {"ref_dir": str(REF)}))
    con.executemany(sqlfiles.read("ref/code_labels.sql"), [c._asdict() for c in code_labels()])


@dataclass(frozen=True)
class Mart:
    """One mart: ``marts/<name>.sql`` and the marts it reads (its ``-- depends on:`` line)."""

    name: str
    path: Path
    sql: str
    depends_on: frozenset[str]


_HEADER = re.compile(r"\A(?:--[^\n]*\n)+")
_DEPENDS_ON = re.compile(r"^-- depends on:(.*)$", re.MULTILINE)
# String literals and comments: COMMENT ON texts and headers name other marts freely.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
_MART_REF = re.compile(r"\bmarts\.(\w+)", re.IGNORECASE)


def _read_mart(path: Path) -> tuple[Mart, list[str]]:
    """The mart of ``path`` and what is wrong with its file."""
    text = path.read_text()
    name = path.stem
    problems: list[str] = []
    header = m.group(0) if (m := _HEADER.match(text)) else ""
    if not re.search(r"^-- Grain: ", header, re.MULTILINE):
        problems.append(f"{path.name}: no '-- Grain: ' line in its header comment")
    if not re.search(rf"^CREATE OR REPLACE (TABLE|VIEW) marts\.{name}\b", text, re.MULTILINE):
        problems.append(f"{path.name}: does not CREATE OR REPLACE marts.{name}")
    declared: set[str] = set()
    for line in _DEPENDS_ON.findall(header):
        for item in filter(None, (i.strip() for i in line.split(","))):
            if not item.startswith("marts."):
                problems.append(f"{path.name}: depends on {item!r}, not a marts.<name>")
            declared.add(item.removeprefix("marts."))
    read = {r.lower() for r in _MART_REF.findall(_NOT_CODE.sub(" ", text))} - {name}
    problems += [
        f"{path.name}: reads marts.{r} but does not declare it (-- depends on: marts.{r})"
        for r in sorted(read - declared)
    ]
    problems += [
        f"{path.name}: declares marts.{r} but does not read it" for r in sorted(declared - read)
    ]
    return Mart(name, path, text, frozenset(declared)), problems


def mart_order(folder: Path = MARTS) -> list[Mart]:
    """The marts of ``folder`` in build order: each after the marts it depends on.

    Raises ValueError naming the files when a header lacks its grain line, a dependency is
    undeclared, unused or has no file, or dependencies form a cycle.
    """
    problems: list[str] = []
    marts = {}
    for path in sorted(folder.glob("*.sql")):
        marts[path.stem], wrong = _read_mart(path)
        problems += wrong
    for mart in marts.values():
        problems += [
            f"{mart.path.name}: depends on marts.{d}, which no file in {folder.name}/ builds"
            for d in sorted(mart.depends_on - marts.keys())
        ]
    if problems:
        raise ValueError("mart SQL: " + "; ".join(problems))
    sorter = graphlib.TopologicalSorter({n: m.depends_on for n, m in marts.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(f"{n}.sql" for n in exc.args[1])
        raise ValueError(f"mart SQL: dependencies form a cycle: {cycle}") from None
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += [marts[n] for n in ready]
        sorter.done(*ready)
    return order


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every mart (``marts/<name>.sql``) in dependency order."""
    for mart in mart_order():
        started = time.perf_counter()
        con.execute(mart.sql)
        log.info("mart %s built in %.1fs", mart.name, time.perf_counter() - started)


@dataclass(frozen=True)
class CheckResult:
    name: str
    severity: str  # error stops the publish; warn is reported
    failed: int


def post_load_checks(
    con: duckdb.DuckDBPyConnection, *, incremental: bool = False
) -> list[CheckResult]:
    """SQL assertions after load: each ``checks/*.sql`` returns the offending rows. After an
    incremental load (``incremental``: the temp table ``affected`` lists the households it
    rewrote), a check with a variant in ``checks/incremental/`` runs that instead: the same
    assertion over the rows the load wrote, which cannot break it elsewhere. ``povdb
    verify`` runs every check in full."""
    results = []
    for sql_file in sorted(CHECKS.glob("*.sql")):
        scoped = CHECKS / "incremental" / sql_file.name
        text = (scoped if incremental and scoped.exists() else sql_file).read_text()
        severity = "warn" if "-- severity: warn" in text else "error"
        started = time.perf_counter()
        failed = con.execute(f"SELECT count(*) FROM ({text.strip().rstrip(';')})").fetchone()
        log.info("check %s ran in %.1fs", sql_file.stem, time.perf_counter() - started)
        results.append(CheckResult(sql_file.stem, severity, int(failed[0]) if failed else 0))
    return results
