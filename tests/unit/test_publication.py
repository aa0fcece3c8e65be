"""What publishing drops, keys or coarsens is declared once (contract/publication.py): every
PII column of the landing contract has a rule that drops or keys it, and the publish's
queries (warehouse/publication/) give each table exactly the columns its rules leave. Every
coded value of the contract has its labels for ref.code_labels."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest

from contract import publication
from contract.landing import CONTRACT, LABELS_EN, MEMBERS, Column
from contract.publication import PublishedTable, Rule, Treatment, UnpublishedPII
from contract.reference import CODE_ALIASES, code_labels
from warehouse import publish, sqlfiles
from warehouse.loader import migrate

PUBLICATION_SQL = sqlfiles.HERE / "publication"


def test_every_pii_column_is_dropped_or_keyed_wherever_it_is_published() -> None:
    publication.check()
    pii = [(e.name, c.name) for e in CONTRACT.values() for c in e.columns if c.pii]
    assert pii
    for entity, column in pii:
        for table in (t for t in publication.TABLES if t.entity == entity):
            treatments = {r.column: r.treatment for r in table.rules}
            assert treatments[column] in (Treatment.DROP, Treatment.KEY), (table.name, column)


def test_a_pii_column_without_a_rule_fails_loudly() -> None:
    phone = Column("phone", "电话", "text", required=False, pii=True)
    contract = {
        **CONTRACT,
        "members": dataclasses.replace(MEMBERS, columns=(*MEMBERS.columns, phone)),
    }
    with pytest.raises(UnpublishedPII, match=r"core\.members\.phone"):
        publication.check(publication.TABLES, contract)


def test_coarsening_a_pii_column_is_not_enough() -> None:
    members = PublishedTable(
        "core.members",
        entity="members",
        rules=(Rule("id_number", Treatment.KEY), Rule("name", Treatment.COARSEN)),
    )
    with pytest.raises(UnpublishedPII, match=r"core\.members\.name"):
        publication.check([members])


def test_published_columns_follow_the_rules() -> None:
    members = next(t for t in publication.TABLES if t.name == "core.members")
    published = members.published_columns(
        ["id_number", "name", "birth_date", "sex", "row_number", "file_name"]
    )
    assert published == {"person_key", "birth_year", "age_band", "sex", "household_status"}
    with pytest.raises(ValueError, match="birth_date"):
        members.published_columns(["id_number", "name", "sex", "row_number", "file_name"])


def test_a_query_file_for_each_table_the_publish_changes() -> None:
    # A view of current versions (core.households) is written from its history's rows.
    changed = {t.name for t in publication.TABLES if not t.copied_whole and not t.current_of}
    files = {p.stem for p in PUBLICATION_SQL.glob("*.*.sql")}
    assert files == changed | {publication.SNAPSHOT.name}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """An empty migrated warehouse attached as ``wh``, and an empty snapshot ``snap``."""
    c = duckdb.connect()
    c.execute("ATTACH ':memory:' AS wh")
    c.execute("USE wh")
    migrate(c)
    c.execute("ATTACH ':memory:' AS snap")
    for schema in ("core", "audit"):
        c.execute(f"CREATE SCHEMA snap.{schema}")
    c.execute("CREATE TEMP TABLE quarantine_keys (id_number VARCHAR, person_key VARCHAR)")
    publish.define_macros(c)
    return c


def _snapshot_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns()"
            " WHERE database_name = 'snap' AND schema_name = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    }


def test_the_publish_gives_each_table_the_columns_its_rules_leave(con) -> None:
    publish._publish_tables(con, dt.date(2015, 3, 1))
    for table in publication.TABLES:
        columns = _snapshot_columns(con, table.name)
        assert {c.name for c in table.snapshot_columns} <= columns
        withheld = {r.column for r in table.rules} - {c.name for c in table.snapshot_columns}
        assert not withheld & columns, table.name
        if table.entity:
            pii = {c.name for c in CONTRACT[table.entity].columns if c.pii}
            assert not pii & columns, table.name


def test_a_query_that_disagrees_with_its_rules_stops_the_publish(
    con, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Declared without the rule for head_name, which the query drops.
    households = PublishedTable(
        "core.households_history",
        entity="households",
        rules=(
            Rule(
                "head_id_number", Treatment.KEY, into=(publication.SnapshotColumn("head_key", "k"),)
            ),
        ),
    )
    monkeypatch.setattr(publication, "TABLES", (households,))
    with pytest.raises(RuntimeError, match=r"declared but not published \['head_name'\]"):
        publish._publish_tables(con, dt.date(2015, 3, 1))


def test_every_code_of_the_contract_has_an_english_label_and_every_label_a_code() -> None:
    labels = code_labels()
    enums = {c.name: c.enum for e in CONTRACT.values() for c in e.columns if c.enum}
    assert {(r.column_name, r.code) for r in labels} >= {
        (column, code) for column, enum in enums.items() for code, _ in enum
    }
    assert len({(r.column_name, r.code) for r in labels}) == len(labels), "one row per code"
    used = {zh for enum in enums.values() for _, zh in enum}
    assert set(LABELS_EN) == used, "an English label for every Chinese one, and no other"
    assert ("status", "lifted", "已脱贫", "Lifted out of poverty") in labels
    assert ("metric", "people_lifted", None, "People lifted out of poverty") in labels


def test_code_aliases_name_labelled_columns() -> None:
    enums = {c.name for e in CONTRACT.values() for c in e.columns if c.enum}
    assert set(CODE_ALIASES.values()) <= enums
    assert not set(CODE_ALIASES) & enums


def test_listed_columns_are_published_as_lists(con) -> None:
    publish._publish_tables(con, dt.date(2015, 3, 1))
    listed = [
        (t.name, r.column)
        for t in publication.TABLES
        for r in t.rules
        if r.treatment == Treatment.LIST
    ]
    assert len(listed) == 3
    for table, column in listed:
        schema, name = table.split(".")
        assert con.execute(
            "SELECT data_type FROM duckdb_columns() WHERE database_name = 'snap'"
            " AND schema_name = ? AND table_name = ? AND column_name = ?",
            [schema, name, column],
        ).fetchall() == [("VARCHAR[]",)], table


def test_each_table_published_by_delta_reads_its_rows_to_publish() -> None:
    """A delta publish runs each household table's publication query over the rows to
    publish again (the temp table delta_rows) instead of the whole warehouse table."""
    tables = publish._household_tables()
    assert {"core.households_history", "core.members"} <= tables
    # A view of its history's current versions in the snapshot: nothing of its own to replace.
    assert "core.households" not in tables
    for table in tables:
        published = next(t for t in publication.TABLES if t.name == table)
        query = publish._reading(publish._published_select(published), table)
        assert "delta_rows" in query and f"wh.{table} " not in query + " ", table
    with pytest.raises(RuntimeError, match="exactly once"):
        publish._reading(
            "SELECT * FROM wh.core.members JOIN wh.core.members USING (x)", "core.members"
        )
    # A longer name that starts with the table's is another table.
    assert "wh.core.households_history" in publish._reading(
        "SELECT * FROM wh.core.households JOIN wh.core.households_history USING (household_id)",
        "core.households",
    )
