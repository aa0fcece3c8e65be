"""The published snapshot: readable by DuckDB 1.x clients, swapped atomically under a
reader, keyed with a secret that is generated once and kept."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from support import read_with_duckdb_1x

from contract import publication
from contract.landing import CONTRACT
from pipeline.context import RunContext
from pipeline.steps import run_all

ROOT = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2015, 3, 1), dt.date(2015, 3, 2)


@pytest.fixture
def published(tiny_landing: Path, data_root: Path) -> Path:
    run_all(RunContext.local(D1, data_root))
    return data_root / "warehouse" / "analytics.duckdb"


def test_duckdb_1x_cli_opens_the_snapshot_read_only(published: Path) -> None:
    cli = Path(sys.executable).with_name("duckdb")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v1."), version
    out = subprocess.run(
        [
            cli,
            "-readonly",
            "-csv",
            str(published),
            "-c",
            "SELECT as_of_date FROM meta.snapshot; SELECT count(*) FROM core.households;",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "2015-03-01" in out.stdout and "\n3\n" in out.stdout


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("open", flush=True)
    sys.stdin.readline()  # wait until the test has published a new snapshot
    n = con.execute("SELECT count(*) FROM core.households, range(20000)").fetchone()[0]
    as_of = con.execute("SELECT as_of_date FROM meta.snapshot").fetchone()[0]
    print(n, as_of, flush=True)
    """
)


def test_a_reader_keeps_its_snapshot_through_a_publish(published: Path, data_root: Path) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "open"
        run_all(RunContext.local(D2, data_root))  # publishes the D2 snapshot meanwhile
        reader.stdin.write("go\n")
        reader.stdin.flush()
        line = reader.stdout.readline().split()
        assert reader.wait(60) == 0
    finally:
        reader.kill()
    assert line == [str(3 * 20000), "2015-03-01"], "the open connection still reads the D1 snapshot"
    con = duckdb.connect(str(published), read_only=True)
    try:
        assert con.execute("SELECT as_of_date FROM meta.snapshot").fetchone() == (D2,)
    finally:
        con.close()
    assert not list(published.parent.glob(".analytics.duckdb.*")), "no half-built snapshot left"


def test_secret_generated_once_with_owner_only_mode(
    tiny_landing: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Listen on the module's own logger: whatever another test left as logging config
    # (Airflow's structlog setup), the warning reaches this handler.
    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("settings")
    monkeypatch.setattr(logger, "disabled", False)
    logger.addHandler(handler)
    monkeypatch.delenv("POVDB_PSEUDONYM_SECRET", raising=False)
    try:
        run_all(RunContext.local(D1, data_root))
    finally:
        logger.removeHandler(handler)
    secret = data_root / ".pseudonym_secret"
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    assert any("no pseudonymisation secret configured" in w and "Back it up" in w for w in warnings)

    def keys() -> list[tuple]:
        con = duckdb.connect(str(data_root / "warehouse" / "analytics.duckdb"), read_only=True)
        try:
            return con.execute(
                "SELECT household_id, head_key FROM core.households ORDER BY 1"
            ).fetchall()
        finally:
            con.close()

    first = keys()
    assert all(len(k) == 32 for _, k in first)
    run_all(RunContext.local(D2, data_root))
    assert keys() == first, "a person's key is kept from run to run"

    other = data_root.parent / "other"
    shutil.copytree(tiny_landing, other / "landing")
    monkeypatch.setenv("POVDB_PSEUDONYM_SECRET", "another secret")
    run_all(RunContext.local(D1, other))
    con = duckdb.connect(str(other / "warehouse" / "analytics.duckdb"), read_only=True)
    try:
        other_keys = con.execute(
            "SELECT household_id, head_key FROM core.households ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert {h for h, _ in other_keys} == {h for h, _ in first}
    assert not {k for _, k in other_keys} & {k for _, k in first}, "another secret gives other keys"


def test_the_snapshot_holds_what_the_declaration_leaves(published: Path) -> None:
    """No PII column of the contract in any table of its entity; every column only the
    snapshot has carries its declared description."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        columns = con.execute(
            "SELECT schema_name || '.' || table_name, column_name, comment FROM duckdb_columns()"
        ).fetchall()
    finally:
        con.close()
    described = {(t, c): text for t, c, text in columns}
    for table in publication.TABLES:
        names = {c for t, c in described if t == table.name}
        if table.entity:
            assert not names & {c.name for c in CONTRACT[table.entity].columns if c.pii}
        for column in table.snapshot_columns:
            assert described[table.name, column.name] == column.description
    for column in publication.SNAPSHOT.columns:
        assert described[publication.SNAPSHOT.name, column.name] == column.description


def test_latest_views_read_by_duckdb_1x(published: Path, data_root: Path) -> None:
    """Each mart of several as-of dates has its ``_latest`` view, the rows of the snapshot's
    as-of date, and a DuckDB 1.x client opening the snapshot read-only reads them."""
    run_all(RunContext.local(D2, data_root))
    con = duckdb.connect(str(published), read_only=True)
    try:
        several = {
            f"marts.{t}"
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'marts'"
                " AND column_name = 'as_of_date' AND table_name IN (SELECT table_name"
                " FROM duckdb_tables() WHERE schema_name = 'marts')"
            ).fetchall()
            if con.execute(f"SELECT count(DISTINCT as_of_date) FROM marts.{t}").fetchone()[0] > 1
        }
        expected = [
            con.execute(f"SELECT count(*) FROM {m} WHERE as_of_date = ?", [D2]).fetchone()[0]
            for m in publication.LATEST_VIEWS
        ]
        version = con.execute("SELECT schema_version FROM meta.snapshot").fetchone()
    finally:
        con.close()
    assert several == set(publication.LATEST_VIEWS)
    assert all(expected)
    assert version == (publication.SCHEMA_VERSION,)
    query = " UNION ALL ".join(
        f"SELECT '{m}', count(*), min(as_of_date), max(as_of_date) FROM {m}_latest"
        for m in publication.LATEST_VIEWS
    )
    out = read_with_duckdb_1x(published, query + ";")
    assert out.split() == [
        f"{m},{n},{D2},{D2}" for m, n in zip(publication.LATEST_VIEWS, expected, strict=True)
    ]


def test_internal_warehouse_is_owner_only(published: Path) -> None:
    wh = published.with_name("poverty.duckdb")
    assert wh.stat().st_mode & 0o077 == 0
    assert published.stat().st_mode & 0o044 == 0o044, "analysts can read the snapshot"
