"""The data-root lease: one run at a time, retries of the same run welcome, dead runs
taken over."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import pytest

from pipeline import lock


def test_second_run_waits_while_first_holds(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    assert lock.try_acquire(path, "run-a")
    assert not lock.try_acquire(path, "run-b")
    assert lock.try_acquire(path, "run-a"), "the holder may take it again (a retried task)"
    assert lock.release(path, "run-a")
    assert lock.try_acquire(path, "run-b")


def test_release_by_non_holder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    lock.try_acquire(path, "run-a")
    assert not lock.release(path, "run-b")
    assert lock.read_lease(path)["owner"] == "run-a"


def test_stale_lease_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    lock.try_acquire(path, "dead-run")
    lease = json.loads(path.read_text())
    lease["heartbeat_at"] = (
        dt.datetime.now(dt.UTC) - lock.STALE_AFTER - dt.timedelta(seconds=1)
    ).isoformat()
    path.write_text(json.dumps(lease))
    assert lock.try_acquire(path, "run-b")
    assert lock.read_lease(path)["owner"] == "run-b"


def test_held_refuses_a_step_of_another_run(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    lock.try_acquire(path, "run-a")
    with pytest.raises(lock.LockLost, match="held by run-a"), lock.held(path, "run-b"):
        pass


def _contend(path: str, owner: str, q) -> None:
    q.put((owner, lock.try_acquire(Path(path), owner)))


def test_only_one_of_many_concurrent_runs_wins(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(path), f"run-{i}", q)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = dict(q.get(timeout=5) for _ in procs)
    winners = [o for o, won in results.items() if won]
    assert len(winners) == 1
    assert lock.read_lease(path)["owner"] == winners[0]
