"""Core tables are replaced by a new table of the same definition, comments kept, without
the key index; the post-load check ``core_keys_unique`` stands in for it."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.load import _replace, _update_person_keys
from warehouse.loader import build_marts, migrate, post_load_checks


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """An empty warehouse, marts built: every post-load check can run."""
    c = duckdb.connect()
    migrate(c)
    build_marts(c)
    return c


def _comments(con: duckdb.DuckDBPyConnection, table: str) -> dict:
    return dict(
        con.execute(
            "SELECT column_name, comment FROM duckdb_columns()"
            " WHERE schema_name = 'core' AND table_name = ?",
            [table],
        ).fetchall()
    )


def _failed(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return next(c.failed for c in post_load_checks(con) if c.name == name)


def test_replace_keeps_comments_and_not_null_and_drops_the_key_index(con) -> None:
    before = _comments(con, "members")
    table_comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'members'"
    ).fetchone()
    con.execute(
        "CREATE TEMP TABLE src AS SELECT * FROM core.members LIMIT 0;"
        "INSERT INTO src (id_number, household_id) VALUES ('A', 'H1'), ('B', 'H1')"
    )
    assert _replace(con, "core.members", "src") == 2
    assert _comments(con, "members") == before and any(before.values())
    assert (
        con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'members'").fetchone()
        == table_comment
    )
    assert not con.execute(
        "SELECT * FROM duckdb_constraints() WHERE table_name = 'members'"
        " AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO core.members (id_number, household_id) VALUES (NULL, 'H1')")
    assert _failed(con, "core_keys_unique") == 0


def test_the_source_takes_parameters(con, tmp_path) -> None:
    """The transform's output comes in as a bound Parquet glob, never pasted into the SQL."""
    (tmp_path / "targets").mkdir()
    con.execute(
        "CREATE TEMP TABLE src AS SELECT * FROM core.targets LIMIT 0;"
        "INSERT INTO src (year, province_code, metric, target)"
        " VALUES (2015, '52', 'people_lifted', 1000)"
    )
    con.execute("COPY src TO $path", {"path": str(tmp_path / "targets" / "part-0.parquet")})
    glob = str(tmp_path / "targets" / "*.parquet")
    assert _replace(con, "core.targets", "read_parquet($parts)", {"parts": glob}) == 1
    assert con.execute("SELECT year, target FROM core.targets").fetchall() == [(2015, 1000)]


def test_a_duplicate_key_fails_the_check(con) -> None:
    con.execute(
        "CREATE TEMP TABLE src AS SELECT * FROM core.households LIMIT 0;"
        "INSERT INTO src (household_id, village_code, province_code, county_code)"
        " VALUES ('H1', 'V', 'P', 'C'), ('H1', 'V', 'P', 'C'), ('H2', 'V', 'P', 'C')"
    )
    _replace(con, "core.households", "src")
    assert _failed(con, "core_keys_unique") == 1


def test_person_keys_lose_their_unique_index_and_the_check_stands_in(con, tmp_path) -> None:
    con.execute(
        "INSERT INTO core.members (id_number, household_id) VALUES ('A', 'H1'), ('B', 'H1')"
    )
    (tmp_path / "secret").write_text("s3cret\n")
    assert _update_person_keys(con, tmp_path / "secret") == (2, 0)
    assert not con.execute(
        "SELECT * FROM duckdb_constraints() WHERE table_name = 'person_keys'"
        " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ).fetchall()
    # Only the IDs not keyed yet are hashed.
    con.execute("INSERT INTO core.members (id_number, household_id) VALUES ('C', 'H2')")
    assert _update_person_keys(con, tmp_path / "secret") == (1, 0)
    assert _failed(con, "core_keys_unique") == 0
    # A person the core tables no longer hold (a re-run that no longer delivers them)
    # loses their key: the table is the same whatever order the dates ran in.
    con.execute("DELETE FROM core.members WHERE id_number = 'B'")
    assert _update_person_keys(con, tmp_path / "secret") == (0, 1)
    assert sorted(
        r[0] for r in con.execute("SELECT id_number FROM core.person_keys").fetchall()
    ) == [
        "A",
        "C",
    ]
    # Two persons with one key (a hash collision, or a bug) fail the load.
    con.execute(
        "INSERT INTO core.person_keys SELECT 'D', person_key FROM core.person_keys"
        " WHERE id_number = 'A'"
    )
    assert _failed(con, "core_keys_unique") == 1
