"""Ingest and validation per province (``POVDB_SPLIT_MB``, pipeline/parts.py) build what
the whole-entity path builds: the same warehouse, table by table, the same held and warned
rows, and the same ledger and validation results; and a part rewrites only its own files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from contract.landing import ENTITIES
from generator import generate
from pipeline import parts, steps
from pipeline.context import RunContext
from pipeline.steps import run_all
from warehouse.digest import differences, digests

START, DAYS, SEED, DEFECTS = dt.date(2015, 3, 1), 3, 7, 0.04


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parts") / "landing"
    generate(folder, scale="demo", days=DAYS, start=START, seed=SEED, defects=DEFECTS)
    return folder


def _root(base: Path, landing: Path) -> Path:
    shutil.copytree(landing, base / "landing")
    return base


def _run_dates(root: Path) -> None:
    for i in range(DAYS):
        run_all(RunContext.local(START + dt.timedelta(days=i), root))


def _staged(root: Path, layer: str) -> pl.DataFrame:
    """Every row of one staging layer of every date, in a stable order."""
    files = sorted((root / "staging").glob(f"{layer}/**/*.parquet"))
    frames = [
        pl.read_parquet(f).with_columns(_entity=pl.lit(f.relative_to(root).parts[2])) for f in files
    ]
    frame = pl.concat(frames, how="diagonal_relaxed")
    return frame.sort(frame.columns)


def _results(root: Path, d: dt.date) -> dict:
    run = root / "runs" / d.isoformat()
    return {
        name: json.loads((run / name).read_text())
        for name in sorted(p.name for p in run.glob("*.json"))
        if name.startswith(("ingest_", "validate_")) and name.count(".") == 1
    }


@pytest.fixture(scope="module")
def whole(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _root(tmp_path_factory.mktemp("whole"), landing)
    _run_dates(root)
    return root


@pytest.fixture(scope="module")
def split(landing: Path, tmp_path_factory: pytest.TempPathFactory, whole: Path) -> Path:
    root = _root(tmp_path_factory.mktemp("split"), landing)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POVDB_SPLIT_MB", "0")
        _run_dates(root)
    return root


def test_per_province_parts_build_the_same_warehouse(whole: Path, split: Path) -> None:
    planned = json.loads((split / "runs" / START.isoformat() / "discover.json").read_text())
    # The demo's counties are in two provinces (43 and 52); targets come from the nation.
    assert "members.43" in planned["parts"] and "members.52" in planned["parts"]
    assert "members" not in planned["parts"] and "targets" in planned["parts"]
    whole_plan = json.loads((whole / "runs" / START.isoformat() / "discover.json").read_text())
    # Every entity whole, heaviest first: members, then households.
    assert sorted(whole_plan["parts"]) == sorted(ENTITIES)
    assert whole_plan["parts"][:2] == ["members", "households"]

    got = digests(split / "warehouse" / "poverty.duckdb")
    want = digests(whole / "warehouse" / "poverty.duckdb")
    assert got and differences(got, want) == []
    for d in (START + dt.timedelta(days=i) for i in range(DAYS)):
        merged, reference = _results(split, d), _results(whole, d)
        assert list(merged) == list(reference)
        assert merged == reference, d
    # Typing and validation held, and warned, the same rows with the same reasons.
    for layer in ("rejects", "warnings"):
        assert _staged(split, layer).equals(_staged(whole, layer)), layer
    assert _staged(split, "stg_*").equals(_staged(whole, "stg_*"))
    # The defects did reach the parts: rows were held by typing and by validation.
    held = _staged(split, "rejects")
    assert held.height > 0 and held["reason"].n_unique() > 3


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_a_part_rewrites_only_its_own_files(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _root(tmp_path, landing)
    ctx = RunContext.local(START, root)
    # First the whole entity, as a run planned without splitting would leave it.
    assert steps.acquire_lock(ctx)
    try:
        steps.discover(ctx)
        steps.ingest(ctx, "members")
        steps.validate(ctx, "members")
        whole_rows = _staged(root, "stg_members")
        folder = ctx.partition("stg", "members")
        assert any(p.name.startswith("_batch0000.") for p in folder.iterdir())

        # Then discover again with splitting on: the parts replace the whole entity's files.
        monkeypatch.setenv("POVDB_SPLIT_MB", "0")
        assert "members.52" in steps.discover(ctx)["parts"]
        steps.ingest(ctx, "members.43")
        left = {parts.owner(p.name, "members") for p in folder.iterdir()}
        # The whole entity's batches are gone once a part has run (None: no part owns it).
        assert "43" in left and None not in left, left
        steps.ingest(ctx, "members.52")
        for p in ("members.43", "members.52"):
            steps.validate(ctx, p)
        assert _staged(root, "stg_members").equals(whole_rows)

        # A part run again (a retried task) touches no file of the other part.
        stg, rejects = folder, ctx.partition("rejects", "members")
        before = {**_files(stg), **_files(rejects)}
        others = {n for n in before if parts.owner(n, "members") == "52"}
        assert others and any(n.startswith("_batch52_") for n in others)
        assert "validation.52.parquet" in others
        steps.ingest(ctx, "members.43")
        steps.validate(ctx, "members.43")
        after = {**_files(stg), **_files(rejects)}
        assert {n: after[n] for n in others} == {n: before[n] for n in others}
        assert {n for n in after if parts.owner(n, "members") == "43"} == {
            n for n in before if parts.owner(n, "members") == "43"
        }
        assert _staged(root, "stg_members").equals(whole_rows)
    finally:
        steps.release_lock(ctx)
