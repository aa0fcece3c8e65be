"""A data root of release 0.1.0 upgrades in place: the current code migrates its warehouse,
runs the next delivery date and re-runs an earlier one, and ends with the same warehouse
and snapshot as a data root that the current code built from the start, but for one
record: the validation ledger keeps the suite version that validated each date, so a date
the release validated and that was not run again keeps the release's version.

The data root is tests/fixtures/release_0_1_0/data_root.tar.gz (make_fixture.py there says
how it was made). What it holds is read from it: the dates the release loaded, the
delivery dates waiting in its landing folder, its migrations and its secret.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tarfile
from pathlib import Path

import duckdb
import pytest
from support import read_with_duckdb_1x

from contract import pseudonym
from expectations.suites import SUITES
from pipeline.context import RunContext
from pipeline.steps import run_all
from settings import paths
from warehouse.digest import TableDigest, differences, digest_columns, digests
from warehouse.load import PERSON_KEYS
from warehouse.loader import MIGRATIONS
from warehouse.publish import publish_snapshot
from warehouse.runs import record_attempt

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "release_0_1_0" / "data_root.tar.gz"


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _migrations(root: Path) -> dict[str, dt.datetime]:
    """The migrations the warehouse records, with when each was applied."""
    rows = _query(root / "warehouse" / "poverty.duckdb", "SELECT * FROM main.schema_migrations")
    return dict(rows)


VALIDATION_RESULTS = "audit.validation_results"


def _digests(db: Path) -> dict[str, TableDigest]:
    found = digests(db)
    found.pop("main.schema_migrations", None)  # asserted on by name
    found.pop(VALIDATION_RESULTS)  # asserted on without its suite versions
    return found


def _suite_versions(db: Path) -> dict[tuple[dt.date, str], set[str]]:
    """Per delivery date and entity, the suite versions the validation ledger records."""
    found: dict[tuple[dt.date, str], set[str]] = {}
    for d, entity, version in _query(
        db, f"SELECT DISTINCT delivery_date, entity, suite_version FROM {VALIDATION_RESULTS}"
    ):
        found.setdefault((d, entity), set()).add(version)
    return found


def _validation_rows(db: Path) -> list[tuple]:
    """The validation ledger's rows in the columns a digest covers, less the suite version."""
    described = _query(db, f"DESCRIBE {VALIDATION_RESULTS}")
    columns = [
        c
        for c in digest_columns(VALIDATION_RESULTS, [r[0] for r in described])
        if c != "suite_version"
    ]
    return _query(db, f"SELECT {', '.join(columns)} FROM {VALIDATION_RESULTS} ORDER BY ALL")


def _unkeyed(root: Path) -> dict[str, int]:
    """Rows per table of PERSON_KEYS whose key is not the HMAC of their ID under the data
    root's secret file (NULL keys included)."""
    secret = (root / ".pseudonym_secret").read_text().strip().encode()
    found = {}
    for table, (id_column, key_column) in PERSON_KEYS.items():
        rows = _query(
            root / "warehouse" / "poverty.duckdb", f"SELECT {id_column}, {key_column} FROM {table}"
        )
        assert rows, table
        found[table] = sum(
            key != (None if i is None else pseudonym.person_key(secret, i)) for i, key in rows
        )
    return found


def _extract(root: Path) -> None:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(root, filter="data")


def test_a_release_0_1_0_data_root_upgrades_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded, fresh = tmp_path / "upgraded", tmp_path / "fresh"
    _extract(upgraded)
    shutil.copytree(upgraded / "landing", fresh / "landing")
    loaded = [
        d
        for (d,) in _query(
            upgraded / "warehouse" / "poverty.duckdb",
            "SELECT DISTINCT delivery_date FROM audit.runs WHERE state = 'success' ORDER BY 1",
        )
    ]
    landed = sorted(dt.date.fromisoformat(p.name) for p in (upgraded / "landing").iterdir())
    next_date = min(d for d in landed if d > loaded[-1])
    upgrade_dates = [next_date, loaded[1]]  # the next night, then a re-run of an earlier date
    release_migrations = _migrations(upgraded)
    files = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert set(release_migrations) <= set(files), "a migration of the release is gone"
    new_migrations = [f for f in files if f not in release_migrations]
    release_versions = _suite_versions(upgraded / "warehouse" / "poverty.duckdb")

    # The upgraded root keys persons with its own secret file, as the release did.
    monkeypatch.delenv("POVDB_PSEUDONYM_SECRET", raising=False)
    runs = []
    for d in upgrade_dates:
        runs.append(run_all(RunContext.local(d, upgraded, run_id=f"upgrade/{d}")))
        # The first load under this release keys every person it holds.
        assert _unkeyed(upgraded) == dict.fromkeys(PERSON_KEYS, 0)
    assert [r["load"]["migrations_applied"] for r in runs] == [new_migrations, []]
    recorded = _migrations(upgraded)
    assert sorted(recorded) == files
    assert {n: recorded[n] for n in release_migrations} == release_migrations, "applied again"
    assert _query(
        upgraded / "warehouse" / "poverty.duckdb",
        "SELECT delivery_date, state FROM audit.runs WHERE run_id LIKE 'upgrade/%' ORDER BY 1",
    ) == [(d, "success") for d in sorted(upgrade_dates)]

    monkeypatch.setenv(
        "POVDB_PSEUDONYM_SECRET", (upgraded / ".pseudonym_secret").read_text().strip()
    )
    for d in [*loaded, *upgrade_dates]:
        run_all(RunContext.local(d, fresh))
    for name in ("poverty.duckdb", "analytics.duckdb"):
        ours = _digests(upgraded / "warehouse" / name)
        theirs = _digests(fresh / "warehouse" / name)
        assert differences(ours, theirs) == [], name
        assert _validation_rows(upgraded / "warehouse" / name) == _validation_rows(
            fresh / "warehouse" / name
        ), name
        # Each date's validation is recorded with the suite versions that ran it: the
        # current ones for the dates this release ran, the release's for the others.
        current = {entity: {suite.version} for entity, suite in SUITES.items()}
        upgraded_versions = _suite_versions(upgraded / "warehouse" / name)
        assert _suite_versions(fresh / "warehouse" / name) == {
            (d, entity): current[entity] for d, entity in upgraded_versions
        }, name
        assert upgraded_versions == {
            (d, entity): current[entity] if d in upgrade_dates else release_versions[(d, entity)]
            for d, entity in upgraded_versions
        }, name

    snapshot = upgraded / "warehouse" / "analytics.duckdb"
    households = _digests(snapshot)["core.households"].rows
    assert (
        read_with_duckdb_1x(
            snapshot, "SELECT as_of_date, count(*) FROM meta.snapshot, core.households GROUP BY 1"
        )
        == f"{next_date},{households}"
    )


def test_an_upgrade_applied_outside_a_load_publishes_nothing_unkeyed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record of a failed run applies the migrations (no secret, no keys): publish then
    refuses the warehouse until a load has keyed its persons."""
    root = tmp_path / "data"
    _extract(root)
    monkeypatch.delenv("POVDB_PSEUDONYM_SECRET", raising=False)
    warehouse, snapshot = (
        root / "warehouse" / "poverty.duckdb",
        root / "warehouse" / "analytics.duckdb",
    )
    (last,) = _query(
        warehouse, "SELECT max(delivery_date) FROM audit.runs WHERE state = 'success'"
    )[0]
    assert record_attempt(
        warehouse,
        run_id="failed",
        delivery_date=str(last),
        started_at=None,
        state="failed",
        message="a failure before the load",
    )
    assert set(_migrations(root)) == {p.name for p in MIGRATIONS.glob("*.sql")}
    assert all(_unkeyed(root).values()), "the migration keys nobody"
    before = snapshot.read_bytes()
    with pytest.raises(RuntimeError, match="without their person keys"):
        publish_snapshot(paths(root), delivery_date=last, run_id="refused")
    assert snapshot.read_bytes() == before
    run_all(RunContext.local(last, root))
    assert _unkeyed(root) == dict.fromkeys(PERSON_KEYS, 0)
    assert _query(snapshot, "SELECT count(*) FROM core.members WHERE person_key IS NULL") == [(0,)]
