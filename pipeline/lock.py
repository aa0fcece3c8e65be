"""The data-root lock: one run writes a data root at a time, whichever hosts run its tasks.

Airflow's ``max_active_runs`` does not bound a backfill's own runs, and several data
roots may share one Airflow, so the lock lives in the data root itself. A run's tasks
execute in separate processes, on any worker of any host that shares the data root, so
the lock is a lease owned by the run id rather than an OS lock held by one process: the
first task takes it, every step checks it still holds it (and refreshes its heartbeat
every ``heartbeat_every()`` seconds while it works), the last task releases it. Reads and
writes of the lease file are serialised with ``flock`` on a sidecar file (``.guard``).

The lease decides who holds the lock. A lease whose heartbeat is older than
``stale_after()`` (``POVDB_LOCK_STALE_AFTER``, default 30 minutes) belongs to a run that
died and may be taken over; before that it is never taken over on another host's word.
Thirty minutes is about twice the longest silence of a run that is alive: between two of
its tasks no process of it runs, and that gap is at most a retry's back-off (2-4, then
4-8 minutes; dags/poverty_nightly.py), plus Airflow noticing a task whose worker died
(``task_instance_heartbeat_timeout``, 5 minutes) and queueing the next task; and the
heartbeat times are compared across hosts' clocks, which NTP keeps seconds apart. A run
that is alive but stalled (no heartbeat for that long) loses the lease and stops at its
next check (``LockLost``).

A faster path serves one host only. A process working in a step of the holder keeps a
shared ``flock`` on a sidecar of its own host (``.active.<host>``) and lists itself in the
lease (``busy``, as ``pid@host``). The kernel drops that flock when the process dies,
however it dies (``kill -9`` included), so a lease whose busy processes are all on this
host while nobody here holds the flock belongs to a run that died in the middle of a
step: it is taken over at once. A kernel knows nothing of another host's processes, so a
lease with a busy process elsewhere, or with none (a run between two tasks), waits for
``stale_after()``. The host is ``settings.hostname()`` (``POVDB_HOSTNAME``, else the host
name): two processes with different names never trust each other's flocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import settings

log = logging.getLogger(__name__)


def stale_after() -> dt.timedelta:
    """How long without a heartbeat before a lease is taken over (see above)."""
    return dt.timedelta(seconds=settings.lock_stale_after())


def heartbeat_every() -> float:
    """Seconds between two heartbeats of a process in a step: a minute, or a tenth of
    ``stale_after()`` when that is shorter, so a live holder never looks dead."""
    return min(60.0, stale_after().total_seconds() / 10)


class LockLost(RuntimeError):
    """This run does not (or no longer) hold the data-root lock."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def _guard(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path.with_name(lock_path.name + ".guard"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _me() -> str:
    """This process as listed in ``busy``."""
    return f"{os.getpid()}@{settings.hostname()}"


def _host_of(entry: object, lease: dict) -> str:
    # A lease written by an earlier release lists bare pids, all of the lease's host.
    return str(entry).split("@", 1)[1] if "@" in str(entry) else str(lease.get("host"))


def _active_path(lock_path: Path) -> Path:
    """The sidecar whose flock this host's working processes hold."""
    host = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in settings.hostname())
    return lock_path.with_name(f"{lock_path.name}.active.{host}")


def _nobody_working(lock_path: Path) -> bool:
    """Whether no process of this host is inside a step on this data root (call it under
    the guard)."""
    with open(_active_path(lock_path), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True  # closing the file drops the flock


def _died_in_a_step(lease: dict, nobody_working_here: bool) -> bool:
    """Whether the lease's run died in a step: processes were busy, all of them on this
    host, and none of this host works now."""
    busy = lease.get("busy") or []
    here = settings.hostname()
    return bool(nobody_working_here and busy and all(_host_of(b, lease) == here for b in busy))


def describe(lock_path: Path) -> str:
    """Who holds the lease, for messages: run, pid, host and heartbeat age."""
    lease = read_lease(lock_path)
    if not lease:
        return "nobody"
    age = _now() - dt.datetime.fromisoformat(lease["heartbeat_at"])
    return (
        f"run {lease['owner']} (pid {lease.get('pid')} on {lease.get('host')},"
        f" last heartbeat {int(age.total_seconds())} s ago)"
    )


def read_lease(lock_path: Path) -> dict | None:
    try:
        return json.loads(lock_path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None


def _write_lease(lock_path: Path, lease: dict) -> None:
    tmp = lock_path.with_name(lock_path.name + f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(lease, sort_keys=True))
        os.replace(tmp, lock_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def try_acquire(lock_path: Path, owner: str, *, working: IO[str] | None = None) -> bool:
    """Take the lease for ``owner`` if it is free, stale, left by a run that died in a
    step, or already ours. With ``working`` (an open ``.active`` file) the caller also
    enters a step: it takes the shared flock and is listed as busy."""
    with _guard(lock_path):
        lease = read_lease(lock_path)
        now = _now()
        idle = _nobody_working(lock_path)
        if lease and lease["owner"] != owner:
            age = now - dt.datetime.fromisoformat(lease["heartbeat_at"])
            if _died_in_a_step(lease, idle):
                log.warning(
                    "taking over the data-root lock of %s: its process(es) %s on this host"
                    " died in the middle of a step",
                    lease["owner"],
                    lease["busy"],
                )
            elif age < stale_after():
                return False
            else:
                log.warning(
                    "taking over the data-root lock of %s: no heartbeat for %s",
                    lease["owner"],
                    age,
                )
            lease = None
        # This host's processes that died in a step are forgotten once nobody here works;
        # another host's are kept: only that host's kernel knows whether they live.
        here = settings.hostname()
        listed = (
            [str(b) if "@" in str(b) else f"{b}@{lease.get('host')}" for b in lease.get("busy", [])]
            if lease
            else []
        )
        busy = [b for b in listed if not (idle and _host_of(b, {}) == here)]
        if working is not None:
            fcntl.flock(working, fcntl.LOCK_SH)
            busy.append(_me())
        _write_lease(
            lock_path,
            {
                "owner": owner,
                "acquired_at": lease["acquired_at"] if lease else now.isoformat(),
                "heartbeat_at": now.isoformat(),
                "host": here,
                "pid": os.getpid(),
                "busy": busy,
            },
        )
        return True


def _leave(lock_path: Path, owner: str, working: IO[str]) -> bool:
    """Leave a step: drop this process from ``busy`` and its shared flock. Whether the
    lease was still ours."""
    with _guard(lock_path):
        ours = False
        try:
            lease = read_lease(lock_path)
            if lease is not None and lease["owner"] == owner:
                ours = True
                busy = list(lease.get("busy", []))
                if _me() in busy:
                    busy.remove(_me())
                lease.update(
                    busy=busy,
                    heartbeat_at=_now().isoformat(),
                    pid=os.getpid(),
                    host=settings.hostname(),
                )
                _write_lease(lock_path, lease)
        finally:
            fcntl.flock(working, fcntl.LOCK_UN)
        return ours


def assert_held(lock_path: Path, owner: str) -> None:
    """Refresh the heartbeat, failing if another run holds the lease."""
    with _guard(lock_path):
        lease = read_lease(lock_path)
        if not lease or lease["owner"] != owner:
            holder = lease["owner"] if lease else "nobody"
            raise LockLost(f"the data-root lock {lock_path} is held by {holder}, not by {owner}")
        lease["heartbeat_at"] = _now().isoformat()
        lease["pid"] = os.getpid()
        lease["host"] = settings.hostname()
        _write_lease(lock_path, lease)


def release(lock_path: Path, owner: str) -> bool:
    with _guard(lock_path):
        lease = read_lease(lock_path)
        if lease and lease["owner"] == owner:
            lock_path.unlink()
            return True
        return False


@contextlib.contextmanager
def held(lock_path: Path, owner: str) -> Iterator[None]:
    """Hold the lease (taking it if it is free, as when one task of a run is retried on
    its own), mark this process busy and keep the heartbeat fresh while the block runs."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(_active_path(lock_path), "a+") as working:
        if not try_acquire(lock_path, owner, working=working):
            holder = (read_lease(lock_path) or {}).get("owner")
            raise LockLost(f"the data-root lock {lock_path} is held by {holder}, not by {owner}")
        with _heartbeat(lock_path, owner, working):
            yield


@contextlib.contextmanager
def _heartbeat(lock_path: Path, owner: str, working: IO[str]) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_every()):
            try:
                assert_held(lock_path, owner)
            except LockLost:
                log.error("lost the data-root lock while working")
                return

    t = threading.Thread(target=beat, name="povdb-lock-heartbeat", daemon=True)
    t.start()
    done = False
    try:
        yield
        done = True
    finally:
        stop.set()
        t.join(timeout=5)
        try:
            ours = _leave(lock_path, owner, working)
        except OSError:
            if done:
                raise
            # The step failed already (a full disk, say): keep its error, not this one.
            log.exception("could not update the data-root lock after a failed step")
            ours = True
    if not ours:
        holder = (read_lease(lock_path) or {}).get("owner")
        raise LockLost(f"the data-root lock {lock_path} is held by {holder}, not by {owner}")
