"""Runs under another pseudonymisation secret than the warehouse's stop before they write
anything; runs under the same one go on; a data root of release 0.1.0 records its secret's
fingerprint at its first load."""

from __future__ import annotations

import datetime as dt
import shutil
import tarfile
from pathlib import Path

import duckdb
import pytest

import settings
from contract.landing import ENTITIES
from pipeline import lock, steps
from pipeline.context import RunContext
from warehouse import secret
from warehouse.digest import digests

ROOT = Path(__file__).resolve().parents[2]
RELEASE_0_1_0 = ROOT / "tests" / "fixtures" / "release_0_1_0" / "data_root.tar.gz"
D1, D2 = dt.date(2015, 3, 1), dt.date(2015, 3, 2)
FIRST, OTHER = "the first secret", "another secret"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root whose warehouse loaded D1 of the tiny landing under FIRST."""
    root = tmp_path_factory.mktemp("loaded") / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(settings.SECRET_ENV_VAR, FIRST)
        steps.run_all(RunContext.local(D1, root))
    return root


@pytest.fixture
def root(loaded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(loaded, copy)
    return copy


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the data root but the lock's own: its size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".povdb.lock")
    }


def _recorded(root: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    try:
        return con.execute("SELECT fingerprint, run_id FROM meta.pseudonym_secret").fetchall()
    finally:
        con.close()


def test_a_run_with_another_secret_stops_before_writing_staging(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = RunContext.local(D2, root)
    before = _files(root)
    monkeypatch.setenv(settings.SECRET_ENV_VAR, OTHER)
    with pytest.raises(secret.SecretMismatch) as failed:
        steps.run_all(ctx)
    message = str(failed.value)
    assert f"its fingerprint {secret.fingerprint(OTHER.encode())[:16]} differs from" in message
    assert f"{secret.fingerprint(FIRST.encode())[:16]}, recorded in meta." in message
    assert "nothing was changed" in message and "restore the secret from its backup" in message
    assert _files(root) == before, "the run wrote something"
    assert not ctx.partition("stg", ENTITIES[0]).exists()
    assert lock.read_lease(ctx.paths.lock) is None, "the lock is left free"

    monkeypatch.setenv(settings.SECRET_ENV_VAR, FIRST)
    assert steps.run_all(ctx)["load"]["rows_applied"] > 0
    assert _recorded(root) == [(secret.fingerprint(FIRST.encode()), f"local/{D1}")]


def test_the_load_refuses_another_secret_and_changes_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret changes while a run is under way: its load stops."""
    ctx = RunContext.local(D2, root)
    warehouse = root / "warehouse" / "poverty.duckdb"
    before = digests(warehouse)
    monkeypatch.setenv(settings.SECRET_ENV_VAR, FIRST)
    assert steps.acquire_lock(ctx)
    try:
        steps.discover(ctx)
        for entity in ENTITIES:
            steps.ingest(ctx, entity)
        for entity in ENTITIES:
            steps.validate(ctx, entity)
        steps.transform(ctx)
        monkeypatch.setenv(settings.SECRET_ENV_VAR, OTHER)
        with pytest.raises(secret.SecretMismatch, match="person keys of this warehouse"):
            steps.load(ctx)
    finally:
        steps.release_lock(ctx)
    assert digests(warehouse) == before


def test_a_release_0_1_0_data_root_records_the_fingerprint_of_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    with tarfile.open(RELEASE_0_1_0) as tar:
        tar.extractall(root, filter="data")
    file_secret = (root / ".pseudonym_secret").read_text().strip().encode()
    next_date = max(dt.date.fromisoformat(p.name) for p in (root / "landing").iterdir())
    ctx = RunContext.local(next_date, root, run_id="upgrade")
    monkeypatch.delenv(settings.SECRET_ENV_VAR, raising=False)

    steps.run_all(ctx)
    assert _recorded(root) == [(secret.fingerprint(file_secret), "upgrade")]

    monkeypatch.setenv(settings.SECRET_ENV_VAR, OTHER)
    with pytest.raises(secret.SecretMismatch, match="from POVDB_PSEUDONYM_SECRET"):
        steps.run_all(RunContext.local(next_date, root, run_id="again"))
