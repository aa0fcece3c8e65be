"""Fault injection: named checkpoints where a run can be killed or stalled on purpose.

``checkpoint(name)`` does nothing unless an environment variable names that point:

- ``POVDB_CRASH_AT=<name>``: the process kills itself with SIGKILL there (no clean-up, no
  ``finally``, no ``atexit``: what a power cut, the OOM killer or ``kill -9`` does);
- ``POVDB_STOP_AT=<name>``: the process stops itself with SIGSTOP there (a stalled run that
  still holds its locks and files open), until something sends it SIGCONT.

The crash-safety tests (``tests/e2e/test_faults.py``) use them to prove ARCHITECTURE.md's
invariant 4: whatever point a run dies at, the warehouse is as it was before the run or
as a complete run left it, ``analytics.duckdb`` is a complete snapshot (the old one or the
new one), and re-running the date gives exactly the result of an uninterrupted run.

The points, in the order a run reaches them:

``ingest.part_written``
    Ingest has written a typed staging Parquet part of a delivered file, before the
    entity's step has finished: staging of the date is half rewritten.
``load.before_commit``
    Inside the load's DuckDB transaction: core, audit and marts are replaced and the
    post-load checks passed, but nothing is committed.
``load.committed``
    The load's transaction is committed, the step has not yet recorded its success;
    the snapshot is still the previous one.
``publish.before_swap``
    The new ``analytics.duckdb`` is written aside (complete, synced), not yet renamed
    over the published one.
``publish.swapped``
    The new snapshot has replaced the old one, the step has not yet recorded its success.
"""

from __future__ import annotations

import os
import signal

import settings

POINTS = (
    "ingest.part_written",
    "load.before_commit",
    "load.committed",
    "publish.before_swap",
    "publish.swapped",
)


def checkpoint(name: str) -> None:
    """Die (``POVDB_CRASH_AT``) or stall (``POVDB_STOP_AT``) here when asked to; else nothing."""
    if name not in POINTS:
        raise ValueError(f"unknown fault-injection point {name!r}; known: {', '.join(POINTS)}")
    if settings.crash_at() == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if settings.stop_at() == name:
        os.kill(os.getpid(), signal.SIGSTOP)
