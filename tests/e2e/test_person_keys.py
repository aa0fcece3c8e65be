"""Person keys are computed by the load and stored beside each resident ID in the core
tables; publish copies them (no table of keys, no recomputation for the persons of core),
and refuses a warehouse that holds an ID without its key."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from contract import pseudonym
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse.load import PERSON_KEYS
from warehouse.publish import publish_snapshot

D1 = dt.date(2015, 3, 1)
SECRET = os.environ["POVDB_PSEUDONYM_SECRET"].encode()  # tests/conftest.py sets it


@pytest.fixture
def loaded(tiny_landing: Path, data_root: Path) -> RunContext:
    ctx = RunContext.local(D1, data_root)
    run_all(ctx)
    return ctx


def _query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _write(db: Path, sql: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(sql)


def test_the_core_tables_store_the_hmac_of_every_id(loaded: RunContext) -> None:
    warehouse = loaded.paths.warehouse
    for table, (id_column, key_column) in PERSON_KEYS.items():
        rows = _query(warehouse, f"SELECT {id_column}, {key_column} FROM {table}")
        assert rows, table
        for id_number, key in rows:
            assert key == pseudonym.person_key(SECRET, id_number), (table, id_number)
    assert not _query(
        warehouse, "SELECT * FROM duckdb_tables() WHERE table_name = 'person_keys'"
    ), "no table of keys beside the core tables"


def test_publish_copies_the_stored_keys(loaded: RunContext) -> None:
    """A person's key changed in the warehouse after the load is the one published: publish
    reads the stored columns, for the core tables and for the persons the quarantine names;
    only a quarantined ID no core table holds is hashed at publish."""
    warehouse, snapshot = loaded.paths.warehouse, loaded.paths.analytics
    household, head = _query(
        warehouse,
        "SELECT household_id, head_id_number FROM core.households"
        " WHERE head_id_number IN (SELECT id_number FROM core.members) ORDER BY 1",
    )[0]
    stored, held_id = "f" * 32, "520102199912319999"
    _write(
        warehouse,
        f"UPDATE core.members SET person_key = '{stored}' WHERE id_number = '{head}';"
        f"UPDATE core.households_history SET head_key = '{stored}'"
        f" WHERE head_id_number = '{head}';"
        "INSERT INTO audit.quarantine (delivery_date, file_name, entity, row_number,"
        " record_key, outcome, reason) VALUES"
        f" (DATE '{D1}', 'members_520102.csv', 'members', 1, '{head}', 'held', 'stale'),"
        f" (DATE '{D1}', 'members_520102.csv', 'members', 2, '{held_id}', 'held', 'stale')",
    )
    publish_snapshot(loaded.paths, delivery_date=D1, run_id="republish")
    expected = {
        h: stored if h == household else pseudonym.person_key(SECRET, i)
        for h, i in _query(warehouse, "SELECT household_id, head_id_number FROM core.households")
    }
    assert dict(_query(snapshot, "SELECT household_id, head_key FROM core.households")) == expected
    assert (stored,) in _query(snapshot, "SELECT person_key FROM core.members")
    assert sorted(_query(snapshot, "SELECT row_number, record_key FROM audit.quarantine")) == [
        (1, stored),
        (2, pseudonym.person_key(SECRET, held_id)),
    ]


def test_publish_refuses_an_id_without_its_key(loaded: RunContext) -> None:
    """A warehouse holding an ID without its key (a migration applied outside a load) is
    not published: the snapshot stays the last one."""
    snapshot = loaded.paths.analytics
    before = _query(snapshot, "SELECT run_id FROM meta.snapshot")
    _write(loaded.paths.warehouse, "UPDATE core.households_history SET head_key = NULL")
    with pytest.raises(RuntimeError, match=r"without their person keys \(core.households_history"):
        publish_snapshot(loaded.paths, delivery_date=D1, run_id="refused")
    assert _query(snapshot, "SELECT run_id FROM meta.snapshot") == before
    assert not list(snapshot.parent.glob(".analytics.duckdb.*")), "no half-built snapshot left"
