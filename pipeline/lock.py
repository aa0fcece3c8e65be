"""The data-root lock: one run writes a data root at a time.

Airflow's ``max_active_runs`` does not bound a backfill's own runs, and several data
roots may share one Airflow, so the lock lives in the data root itself. A run's tasks
execute in separate processes, so the lock is a lease owned by the run id rather than an
OS lock held by one process: the first task takes it, every step checks it still holds
it (and refreshes its heartbeat while it works), the last task releases it. A lease whose
heartbeat is older than ``STALE_AFTER`` belongs to a run that died and may be taken over.
Reads and writes of the lease file are serialised with ``flock`` on a sidecar file.

A process working in a step of the holder also keeps a shared ``flock`` on a second
sidecar (``.active``) and lists its pid in the lease (``busy``). The kernel drops that
flock when the process dies, however it dies (``kill -9`` included), so a lease that lists
busy processes on this host while nobody holds the flock belongs to a run that died in
the middle of a step: it is taken over at once instead of after ``STALE_AFTER``. A lease
with no busy process (a run between two tasks) or from another host waits for
``STALE_AFTER`` as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(minutes=30)
HEARTBEAT_EVERY = 60.0  # seconds


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


def _active_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".active")


def _nobody_working(lock_path: Path) -> bool:
    """Whether no process is inside a step on this data root (call it under the guard)."""
    with open(_active_path(lock_path), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True  # closing the file drops the flock


def _died_in_a_step(lease: dict, nobody_working: bool) -> bool:
    return bool(nobody_working and lease.get("busy") and lease.get("host") == socket.gethostname())


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
            elif age < STALE_AFTER:
                return False
            else:
                log.warning(
                    "taking over the data-root lock of %s: no heartbeat for %s",
                    lease["owner"],
                    age,
                )
            lease = None
        # Pids of processes that died in a step are forgotten once nobody works.
        busy = [] if idle or not lease else list(lease.get("busy", []))
        if working is not None:
            fcntl.flock(working, fcntl.LOCK_SH)
            busy.append(os.getpid())
        _write_lease(
            lock_path,
            {
                "owner": owner,
                "acquired_at": lease["acquired_at"] if lease else now.isoformat(),
                "heartbeat_at": now.isoformat(),
                "host": socket.gethostname(),
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
                if os.getpid() in busy:
                    busy.remove(os.getpid())
                lease.update(busy=busy, heartbeat_at=_now().isoformat(), pid=os.getpid())
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
        while not stop.wait(HEARTBEAT_EVERY):
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
