"""Core tables are replaced by a new table of the same definition, comments kept, without
the key index; the post-load check ``core_keys_unique`` stands in for it. Tables that hold
resident IDs store each person's key beside the ID, computed as the rows are written."""

from __future__ import annotations

import duckdb
import pytest

from contract import pseudonym
from warehouse import sqlfiles
from warehouse.load import PERSON_KEYS, _keyed, _replace
from warehouse.loader import CHECKS, build_marts, migrate, post_load_checks


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
    """Two current versions of one household: two rows of H1 in core.households, the view
    of the history's current versions."""
    con.execute(
        "CREATE TEMP TABLE src AS SELECT * FROM core.households_history LIMIT 0;"
        "INSERT INTO src (household_id, village_code, province_code, county_code, is_current)"
        " VALUES ('H1', 'V', 'P', 'C', true), ('H1', 'V', 'P', 'C', true),"
        " ('H2', 'V', 'P', 'C', true), ('H2', 'V', 'P', 'C', false)"
    )
    _replace(con, "core.households_history", "src")
    assert _failed(con, "core_keys_unique") == 1


SECRET = b"s3cret"


def test_every_person_is_stored_with_the_hmac_of_their_id(con) -> None:
    """The key beside each ID is contract.pseudonym's HMAC of that ID; no ID, no key."""
    con.execute(
        "CREATE TEMP TABLE m AS SELECT * EXCLUDE (person_key) FROM core.members LIMIT 0;"
        "INSERT INTO m (id_number, household_id) VALUES ('110101199001011234', 'H1'),"
        " ('11010119900101123X', 'H1');"
        "CREATE TEMP TABLE h AS SELECT * EXCLUDE (head_key) FROM core.households_history"
        " LIMIT 0;"
        "INSERT INTO h (household_id, village_code, province_code, county_code, head_id_number)"
        " VALUES ('H1', 'V', 'P', 'C', '110101199001011234'), ('H2', 'V', 'P', 'C', NULL)"
    )
    params = pseudonym.person_key_params(SECRET)
    assert _replace(con, "core.members", _keyed("core.members", "m"), params) == 2
    assert (
        _replace(con, "core.households_history", _keyed("core.households_history", "h"), params)
        == 2
    )
    members = con.execute("SELECT id_number, person_key FROM core.members").fetchall()
    heads = con.execute("SELECT head_id_number, head_key FROM core.households_history").fetchall()
    for id_number, key in members + heads:
        assert key == (None if id_number is None else pseudonym.person_key(SECRET, id_number))
    assert len({key for _, key in members}) == 2
    assert _failed(con, "persons_keyed") == 0
    assert _failed(con, "core_keys_unique") == 0


def test_every_table_that_holds_resident_ids_stores_their_keys(con) -> None:
    """No core table holds a resident ID without its key column (PERSON_KEYS)."""
    columns = con.execute(
        "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns()"
        " WHERE schema_name = 'core'"
    ).fetchall()
    id_columns = {(t, c) for t, c in columns if c in ("id_number", "head_id_number")}
    assert id_columns == {(t, ids) for t, (ids, _) in PERSON_KEYS.items()}
    assert {(t, key) for t, (_, key) in PERSON_KEYS.items()} <= set(columns)


def test_an_id_without_its_key_fails_the_check(con) -> None:
    """A row a migration left unkeyed (or a load that skipped the key) fails the load."""
    con.execute(
        "INSERT INTO core.members (id_number, household_id) VALUES ('A', 'H1');"
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, is_current) VALUES ('H1', 'V', 'P', 'C', 'A', true)"
    )
    assert _failed(con, "persons_keyed") == 2


def test_two_persons_with_one_key_fail_the_check(con) -> None:
    """A hash collision, or a bug, would merge two persons in the snapshot."""
    con.execute(
        "INSERT INTO core.members (id_number, household_id, person_key) VALUES ('A', 'H1', 'k');"
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, head_key) VALUES ('H1', 'V', 'P', 'C', 'A', 'k'),"
        " ('H1', 'V', 'P', 'C', 'A', 'k')"
    )
    assert _failed(con, "core_keys_unique") == 0  # one person, several rows
    con.execute(
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, head_key) VALUES ('H2', 'V', 'P', 'C', 'B', 'k')"
    )
    assert _failed(con, "core_keys_unique") == 1
    # A key without an ID on one row and with one on another: two persons as well (the
    # check's first step tells a NULL ID from any ID by its hash).
    con.execute(
        "INSERT INTO core.members (id_number, household_id, person_key) VALUES ('C', 'H3', 'kc');"
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, head_key) VALUES ('H3', 'V', 'P', 'C', NULL, 'kc')"
    )
    assert _failed(con, "core_keys_unique") == 2


def test_income_outliers_flag_only_the_extreme_version() -> None:
    # One county's current incomes: median 3,010, MAD 40, so the 60,000 version scores
    # 0.6745 x 56,990 / 40 = 961.0: an outlier
    # (and it is flagged though it is no longer current); a second county whose incomes
    # are all equal has MAD 0 and flags nothing.
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA state")
    con.execute(
        "CREATE TABLE core.households_history (household_id VARCHAR,"
        " per_capita_income_yuan INTEGER, delivery_date DATE, file_name VARCHAR,"
        " row_number BIGINT)"
    )
    con.execute("CREATE TABLE core.households AS FROM core.households_history LIMIT 0")
    con.execute(
        "CREATE TABLE state.row_findings (entity VARCHAR, delivery_date DATE, file_name VARCHAR,"
        " row_number BIGINT, record_key VARCHAR, household_id VARCHAR, found_by VARCHAR,"
        " reason VARCHAR, detail VARCHAR)"
    )
    incomes = [3000, 3100, 2900, 3050, 2950, 3020, 60000]
    rows = [(f"520102001201{i:04d}", pc, i + 1) for i, pc in enumerate(incomes)]
    rows += [(f"520103001201{i:04d}", 1000, 20 + i) for i in range(3)]
    for hid, pc, row in rows:
        version = [hid, pc, "2015-03-01", "h.csv", row]
        con.execute("INSERT INTO core.households_history VALUES (?, ?, ?, ?, ?)", version)
        if pc != 60000:
            con.execute("INSERT INTO core.households VALUES (?, ?, ?, ?, ?)", version)
    # The outlier's household is current again with its usual income.
    con.execute(
        "INSERT INTO core.households VALUES ('5201020012010006', 3010, '2015-03-02', 'h.csv', 8)"
    )
    con.execute(sqlfiles.read("state/income_outliers.sql"))
    got = con.execute(
        "SELECT row_number, household_id, found_by, reason, detail FROM state.row_findings"
    ).fetchall()
    assert got == [
        (
            7,
            "5201020012010006",
            "income",
            "income_outlier",
            "modified z-score 961.0 in county 520102",
        )
    ]


def _failed_scoped(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return next(c.failed for c in post_load_checks(con, incremental=True) if c.name == name)


def test_every_scoped_check_stands_for_a_full_check() -> None:
    scoped = {p.name for p in (CHECKS / "incremental").glob("*.sql")}
    assert scoped and scoped <= {p.name for p in CHECKS.glob("*.sql")}


def test_scoped_checks_find_what_an_incremental_load_wrote_wrong(con) -> None:
    """The load rewrote H2 (temp table affected): a person it inserted there who is still a
    current member of H1, a member of H2 without its household, H2's village missing and
    an unkeyed head are all found; a duplicate wholly outside H2 is the full check's."""
    con.execute("CREATE TEMP TABLE affected AS SELECT 'H2' AS household_id")
    con.execute(
        "CREATE TEMP TABLE m AS SELECT * FROM core.members LIMIT 0;"
        "INSERT INTO m (id_number, household_id, person_key) VALUES"
        " ('A', 'H1', 'ka'), ('A', 'H2', 'ka'), ('C', 'H9', 'kc'), ('C', 'H9', 'kc');"
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, is_current) VALUES ('H1', 'V1', 'P', 'C', true), ('H9', 'V1', 'P', 'C', true);"
        "INSERT INTO core.villages_history (village_code, province_code, county_code,"
        " is_current) VALUES ('V1', 'P', 'C', true)"
    )
    _replace(con, "core.members", "m")  # as a load writes it: no key index
    assert _failed_scoped(con, "core_keys_unique") == 1  # A; C is outside the load's rows
    assert _failed(con, "core_keys_unique") == 2
    assert _failed_scoped(con, "members_have_households") == 1  # A's row in H2
    con.execute(
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, is_current) VALUES ('H2', 'V2', 'P', 'C', 'A', true)"
    )
    assert _failed_scoped(con, "members_have_households") == 0
    assert _failed_scoped(con, "households_have_villages") == 1
    assert _failed_scoped(con, "persons_keyed") == 1
    # Two persons under one key, one of them written by the load: found without the UNION
    # of every (ID, key) pair.
    con.execute(
        "INSERT INTO core.households_history (household_id, village_code, province_code,"
        " county_code, head_id_number, head_key) VALUES ('H2', 'V2', 'P', 'C', 'B', 'ka')"
    )
    assert _failed_scoped(con, "core_keys_unique") == 2  # A twice, and key ka for A and B
