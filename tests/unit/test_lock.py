"""The data-root lease: one run at a time, retries of the same run welcome, dead runs
taken over (at once when their process died in a step on this host, once their heartbeat
expired when it ran on another). Hosts are simulated by their names (``POVDB_HOSTNAME``):
each has its own ``.active`` flock, as two real hosts sharing the data root would."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import settings
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
        dt.datetime.now(dt.UTC) - lock.stale_after() - dt.timedelta(seconds=1)
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
    assert (
        lease
        and lease["owner"] == "dead-run"
        and lease["busy"] == [f"{proc.pid}@{settings.hostname()}"]
    )
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
    lease.update(host="another-host", busy=["12345@another-host"])
    path.write_text(json.dumps(lease))
    assert not lock.try_acquire(path, "run-b"), "its process may live on the other host"


def test_nested_steps_of_one_process(tmp_path: Path) -> None:
    path = tmp_path / ".povdb.lock"
    with lock.held(path, "run-a"):
        with lock.held(path, "run-a"):
            assert lock.read_lease(path)["busy"] == [lock._me()] * 2
        assert lock.read_lease(path)["busy"] == [lock._me()]
        assert not lock.try_acquire(path, "run-b")
    assert lock.read_lease(path)["busy"] == []


# --- two hosts sharing the data root ---------------------------------------------------

HOST_A, HOST_B = "host-a.example", "host-b.example"
STALE = 5  # seconds: POVDB_LOCK_STALE_AFTER of the simulated hosts (heartbeat every 0.5 s)

ON_HOST = """
import os, signal, sys
from pathlib import Path
from pipeline import lock
path, owner, then = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if then == "try":
    print("acquired" if lock.try_acquire(path, owner) else "refused", flush=True)
    sys.exit(0)
with lock.held(path, owner):
    print("in a step", flush=True)
    if then == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if then == "wait":
        sys.stdin.readline()
"""


def _on_host(host: str, path: Path, owner: str, then: str) -> subprocess.Popen:
    """A process of run ``owner`` on the simulated host ``host``."""
    env = {**os.environ, "POVDB_HOSTNAME": host, "POVDB_LOCK_STALE_AFTER": str(STALE)}
    proc = subprocess.Popen(
        [sys.executable, "-c", ON_HOST, str(path), owner, then],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    if then != "try":
        assert proc.stdout is not None and proc.stdout.readline().strip() == "in a step"
    return proc


def _try_on(host: str, path: Path, owner: str) -> bool:
    proc = _on_host(host, path, owner, "try")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out.strip() == "acquired"


def test_a_live_holder_on_another_host_keeps_the_lease(tmp_path: Path) -> None:
    """Host B asks for longer than the heartbeat expiry while a step of run A works on
    host A: refused every time, since A's heartbeat stays fresh."""
    path = tmp_path / ".povdb.lock"
    holder = _on_host(HOST_A, path, "run-a", "wait")
    try:
        deadline = time.monotonic() + 2.5 * STALE
        while time.monotonic() < deadline:
            assert not _try_on(HOST_B, path, "run-b"), lock.read_lease(path)
            time.sleep(0.5)
    finally:
        holder.communicate("go\n", timeout=30)
    assert holder.returncode == 0
    assert lock.read_lease(path)["owner"] == "run-a"


def test_a_holder_that_died_on_another_host_is_taken_over_once_its_heartbeat_expires(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".povdb.lock"
    holder = _on_host(HOST_A, path, "run-a", "die")
    assert holder.wait(30) == -signal.SIGKILL
    lease = lock.read_lease(path)
    assert lease and lease["busy"] == [f"{holder.pid}@{HOST_A}"]
    # Host B's kernel cannot tell whether a process of host A lives: it waits ...
    assert not _try_on(HOST_B, path, "run-b")
    # ... while host A's own kernel knows at once that its process died in a step.
    assert _try_on(HOST_A, path, "run-c")
    assert lock.release(path, "run-c")

    holder = _on_host(HOST_A, path, "run-a", "die")
    assert holder.wait(30) == -signal.SIGKILL
    died_at = time.monotonic()
    while not _try_on(HOST_B, path, "run-b"):
        assert time.monotonic() - died_at < STALE + 10, "never taken over"
        time.sleep(0.3)
    assert time.monotonic() - died_at >= STALE - 1.0, "taken over before the expiry"
    lease = lock.read_lease(path)
    assert lease["owner"] == "run-b" and lease["host"] == HOST_B


def test_a_run_working_on_two_hosts_is_not_taken_over_on_one_hosts_word(
    tmp_path: Path,
) -> None:
    """Run A works in a step on host A; a task of A on host B enters and leaves a step, so
    the lease was last written by host B. A new run on host B sees nobody working on host
    B, but the lease lists a busy process of host A: it waits."""
    path = tmp_path / ".povdb.lock"
    holder = _on_host(HOST_A, path, "run-a", "wait")
    try:
        other = _on_host(HOST_B, path, "run-a", "leave")
        assert other.wait(30) == 0
        lease = lock.read_lease(path)
        assert lease["host"] == HOST_B and lease["busy"] == [f"{holder.pid}@{HOST_A}"]
        assert not _try_on(HOST_B, path, "run-b")
    finally:
        holder.communicate("go\n", timeout=30)
    assert lock.read_lease(path)["owner"] == "run-a"


def test_a_lease_expires_after_30_minutes_and_a_step_beats_every_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POVDB_LOCK_STALE_AFTER", raising=False)
    assert lock.stale_after() == dt.timedelta(minutes=30)
    assert lock.heartbeat_every() == 60.0
    monkeypatch.setenv("POVDB_LOCK_STALE_AFTER", "5")
    assert lock.heartbeat_every() == 0.5, "a tenth of a short expiry"
