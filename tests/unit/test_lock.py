"""The data-root lease: one run at a time, retries of the same run welcome, dead runs
taken over (at once when their process died in a step on this host)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import subprocess
import sys
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


HOLDER = """
import os, signal, sys
from pathlib import Path
from pipeline import lock
with lock.held(Path(sys.argv[1]), sys.argv[2]):
    print("in a step", flush=True)
    if sys.argv[3] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()
"""


def _holder(path: Path, owner: str, then: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), owner, then],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "in a step"
    return proc


def test_a_run_that_died_in_a_step_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    proc = _holder(path, "dead-run", "die")
    assert proc.wait(30) == -signal.SIGKILL
    lease = lock.read_lease(path)
    assert lease and lease["owner"] == "dead-run" and lease["busy"] == [proc.pid]
    assert lock.try_acquire(path, "run-b"), "no heartbeat wait: its process is gone"
    assert lock.read_lease(path)["owner"] == "run-b"
    assert lock.read_lease(path)["busy"] == []


def test_a_run_working_in_a_step_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    proc = _holder(path, "run-a", "wait")
    try:
        assert not lock.try_acquire(path, "run-b")
        with pytest.raises(lock.LockLost, match="held by run-a"), lock.held(path, "run-b"):
            pass
        assert "run run-a (pid" in lock.describe(path)
    finally:
        proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0
    lease = lock.read_lease(path)
    assert lease and lease["owner"] == "run-a" and lease["busy"] == [], "between two steps"
    assert not lock.try_acquire(path, "run-b"), "a run between steps keeps its lease"


def test_a_busy_lease_of_another_host_waits_for_its_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    lock.try_acquire(path, "remote-run")
    lease = json.loads(path.read_text())
    lease.update(host="another-host", busy=[12345])
    path.write_text(json.dumps(lease))
    assert not lock.try_acquire(path, "run-b"), "its process may live on the other host"


def test_nested_steps_of_one_process(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    with lock.held(path, "run-a"):
        with lock.held(path, "run-a"):
            assert lock.read_lease(path)["busy"] == [os.getpid()] * 2
        assert lock.read_lease(path)["busy"] == [os.getpid()]
        assert not lock.try_acquire(path, "run-b")
    assert lock.read_lease(path)["busy"] == []
