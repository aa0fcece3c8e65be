"""The data-root lock: one run writes a data root at a time.

Airflow's ``max_active_runs`` does not bound a backfill's own runs, and several data
roots may share one Airflow, so the lock lives in the data root itself. A run's tasks
execute in separate processes, so the lock is a lease owned by the run id rather than an
OS lock held by one process: the first task takes it, every step checks it still holds
it (and refreshes its heartbeat while it works), the last task releases it. A lease whose
heartbeat is older than ``STALE_AFTER`` belongs to a run that died and may be taken over.
Reads and writes of the lease file are serialised with ``flock`` on a sidecar file.
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


def read_lease(lock_path: Path) -> dict | None:
    try:
        return json.loads(lock_path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None


def _write_lease(lock_path: Path, lease: dict) -> None:
    tmp = lock_path.with_name(lock_path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(lease, sort_keys=True))
    os.replace(tmp, lock_path)


def try_acquire(lock_path: Path, owner: str) -> bool:
    """Take the lease for ``owner`` if it is free, stale or already ours."""
    with _guard(lock_path):
        lease = read_lease(lock_path)
        now = _now()
        if lease and lease["owner"] != owner:
            age = now - dt.datetime.fromisoformat(lease["heartbeat_at"])
            if age < STALE_AFTER:
                return False
            log.warning(
                "taking over the data-root lock of %s: no heartbeat for %s", lease["owner"], age
            )
        acquired_at = lease["acquired_at"] if lease and lease["owner"] == owner else now.isoformat()
        _write_lease(
            lock_path,
            {
                "owner": owner,
                "acquired_at": acquired_at,
                "heartbeat_at": now.isoformat(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        )
        return True


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
    its own) and keep its heartbeat fresh while the block runs."""
    if not try_acquire(lock_path, owner):
        holder = (read_lease(lock_path) or {}).get("owner")
        raise LockLost(f"the data-root lock {lock_path} is held by {holder}, not by {owner}")
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
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=5)
    assert_held(lock_path, owner)
