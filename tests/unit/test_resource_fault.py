"""A full disk or a refused access becomes one clear error: the step, the path, what it
left behind and what to do. Other errors pass through unchanged."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

import pytest

from pipeline import steps
from pipeline.context import ResourceFault, RunContext
from pipeline.steps import resource_fault


@pytest.fixture
def ctx(tmp_path: Path) -> RunContext:
    return RunContext.local(dt.date(2015, 3, 2), tmp_path / "data")


def test_an_oserror_names_its_file(ctx: RunContext) -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", "/data/staging/x.parquet")
    fault = resource_fault("ingest", ctx, exc)
    assert isinstance(fault, ResourceFault)
    assert str(fault) == (
        "ingest failed for delivery date 2015-03-02: the disk is full at /data/staging/x.parquet"
        " ([Errno 28] No space left on device: '/data/staging/x.parquet')."
        " Nothing was loaded or published: the warehouse and analytics.duckdb are as they were."
        " To do: free space on that disk, then re-run 2015-03-02."
    )


def test_a_duckdb_message_is_read_for_the_cause_and_the_path(ctx: RunContext) -> None:
    class IOException(Exception):  # what DuckDB raises, without an errno
        pass

    exc = IOException(
        'IO Error: Cannot open file "/data/warehouse/poverty.duckdb": Read-only file system'
    )
    fault = resource_fault("publish", ctx, exc)
    assert fault is not None
    assert str(fault).startswith(
        "publish failed for delivery date 2015-03-02: the file system is read-only at"
        " /data/warehouse/poverty.duckdb ("
    )
    assert "analytics.duckdb is still the previous snapshot" in str(fault)
    assert "To do: remount it read-write, then re-run 2015-03-02." in str(fault)


def test_the_cause_of_a_wrapping_error_counts(ctx: RunContext) -> None:
    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied", "/data/runs/x.json")
        except OSError as inner:
            raise RuntimeError("could not write the summary") from inner
    except RuntimeError as exc:
        fault = resource_fault("report", ctx, exc)
    assert fault is not None
    assert (
        "report failed for delivery date 2015-03-02: permission denied at /data/runs/x.json"
        in str(fault)
    )
    assert f"uid {os.getuid()}) read and write access to the data root" in str(fault)


def test_a_nearly_full_disk_explains_an_error_without_errno(
    ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.paths.ensure()
    garbled = ValueError("parquet: File out of specification: Invalid thrift: transport error")
    assert resource_fault("ingest", ctx, garbled) is None, "a disk with room: not a disk fault"

    real = os.statvfs

    class Full:
        f_bavail, f_frsize = 1, 4096

    monkeypatch.setattr(
        steps.os, "statvfs", lambda p: Full() if Path(p) == ctx.paths.staging else real(p)
    )
    fault = resource_fault("ingest", ctx, garbled)
    assert fault is not None
    assert str(fault).startswith(
        f"ingest failed for delivery date 2015-03-02: the disk is full at {ctx.paths.staging}"
        " (4096 bytes free; the step failed with: parquet: File out of specification"
    )


def test_other_errors_pass_through(ctx: RunContext) -> None:
    ctx.paths.ensure()
    assert resource_fault("load", ctx, ValueError("a bug")) is None
    assert resource_fault("load", ctx, FileNotFoundError(errno.ENOENT, "gone", "/x")) is None
    fault = ResourceFault("already clear")
    assert resource_fault("load", ctx, fault) is fault


def test_a_step_raises_the_clear_error(ctx: RunContext, monkeypatch: pytest.MonkeyPatch) -> None:
    import transforms.build

    def full(*args: object, **kwargs: object) -> dict:
        raise OSError(errno.ENOSPC, "No space left on device", str(ctx.run_dir / "transform"))

    monkeypatch.setattr(transforms.build, "build_core", full)
    assert steps.acquire_lock(ctx)
    try:
        with pytest.raises(
            ResourceFault,
            match="transform failed for delivery date 2015-03-02: the disk is full at",
        ) as err:
            steps.transform(ctx)
    finally:
        steps.release_lock(ctx)
    assert isinstance(err.value.__cause__, OSError)
    assert not ctx.paths.lock.exists()
