"""Per-table digests of a DuckDB file: row count and the sum of a row hash.

Two warehouses (or two snapshots) hold the same data when every table's digest is equal.
What a digest leaves out is the pipeline's own record of attempts, which differs between
runs of the same deliveries: it is listed once, here, for every comparison that needs it.

``python -m warehouse.digest FILE [--json OUT] [--expect JSON]`` prints one line per table;
with ``--expect`` (digests written earlier by ``--json``) it names every table that differs
and exits 1 when any does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

# Tables that record attempts, not data: left out whole. audit.load_changes is what the
# latest load replaced, for the publish after it.
EXCLUDED_TABLES = frozenset({"audit.runs", "audit.load_changes"})
# Columns whose values are attempts' ids or wall-clock times: left out of every table.
EXCLUDED_COLUMNS = frozenset(
    {
        "run_id",
        "loaded_at",
        "started_at",
        "published_at",
        "applied_at",
        "first_loaded_at",
        "last_loaded_at",
    }
)
# Wall-clock columns of one table only (the timeliness mart is computed from audit.runs).
EXCLUDED_TABLE_COLUMNS = {
    "marts.data_quality_timeliness": frozenset(
        {"deadline_at", "on_time", "minutes_late", "successful_runs"}
    ),
    # How the snapshot was written (full or by delta), not what it holds.
    "meta.snapshot": frozenset({"publish_mode", "deltas_since_full"}),
}


@dataclass(frozen=True)
class TableDigest:
    table: str
    rows: int
    digest: str
    columns: tuple[str, ...]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def digest_columns(table: str, columns: Iterable[str]) -> list[str]:
    """The columns of ``table`` that a digest covers."""
    left_out = EXCLUDED_COLUMNS | EXCLUDED_TABLE_COLUMNS.get(table, frozenset())
    return [c for c in columns if c not in left_out]


def tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[str]:
    """Every table and view of a catalog as ``schema.name``, sorted, less the excluded."""
    where = "database_name = current_database()" if catalog is None else "database_name = $c"
    params = {} if catalog is None else {"c": catalog}
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables()"
        f" WHERE {where} AND NOT internal AND NOT temporary"
        " UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views()"
        f" WHERE {where} AND NOT internal AND NOT temporary ORDER BY 1",
        params,
    ).fetchall()
    return [r[0] for r in rows if r[0] not in EXCLUDED_TABLES]


def table_digest(
    con: duckdb.DuckDBPyConnection, table: str, catalog: str | None = None
) -> TableDigest:
    schema, name = table.split(".", 1)
    prefix = f"{_quote(catalog)}." if catalog else ""
    ref = f"{prefix}{_quote(schema)}.{_quote(name)}"
    described = con.execute(f"DESCRIBE {ref}").fetchall()
    cols = digest_columns(table, [r[0] for r in described])
    row_hash = "hash(" + ", ".join(_quote(c) for c in cols) + ")::HUGEINT" if cols else "0"
    rows, total = con.execute(
        f"SELECT count(*), coalesce(sum({row_hash}), 0)::VARCHAR FROM {ref}"
    ).fetchone() or (0, "0")
    return TableDigest(table, int(rows), str(total), tuple(cols))


def digests(path: Path | str) -> dict[str, TableDigest]:
    """Every table's digest in the DuckDB file at ``path`` (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: table_digest(con, t) for t in tables(con)}
    finally:
        con.close()


def differences(a: dict[str, TableDigest], b: dict[str, TableDigest]) -> list[str]:
    """The tables whose digests differ, or that only one side has."""
    return sorted(t for t in a.keys() | b.keys() if a.get(t) != b.get(t))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m warehouse.digest", description=__doc__)
    p.add_argument("file", type=Path)
    p.add_argument("--json", type=Path, help="also write the digests to this JSON file")
    p.add_argument("--expect", type=Path, help="compare with digests written by --json")
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="TABLE",
        help="leave this table out of the comparison (repeatable)",
    )
    a = p.parse_args(argv)
    found = digests(a.file)
    for d in found.values():
        print(f"{d.table:55} {d.rows:>12,} {d.digest}")
    if a.json:
        a.json.write_text(json.dumps({t: asdict(d) for t, d in found.items()}, indent=1))
    if a.expect:
        expected = {
            t: TableDigest(d["table"], d["rows"], d["digest"], tuple(d["columns"]))
            for t, d in json.loads(a.expect.read_text()).items()
        }
        ignored = set(a.ignore)
        differ = differences(
            {t: d for t, d in expected.items() if t not in ignored},
            {t: d for t, d in found.items() if t not in ignored},
        )
        for t in differ:
            print(f"DIFFERS: {t} (expected {_rows(expected.get(t))}, found {_rows(found.get(t))})")
        print(f"{len(found) - len(ignored & found.keys())} tables compared, {len(differ)} differ")
        return 1 if differ else 0
    return 0


def _rows(d: TableDigest | None) -> str:
    return "no such table" if d is None else f"{d.rows:,} rows"


if __name__ == "__main__":
    sys.exit(main())
