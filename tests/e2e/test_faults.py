"""Faults: a run killed at any point, two runs at once, analysts reading during a publish,
a full disk and a refused access. Nothing is corrupted (ARCHITECTURE.md, invariant 4): the
warehouse is as before the run or as a complete run left it, ``analytics.duckdb`` is the
old or the new complete snapshot, and re-running gives exactly the result of an
uninterrupted run.

Runs are ``run_all`` over the hand-built registry of tests/fixtures/landing_tiny: day 1 is
loaded once, each test goes on from a private copy with day 2 (and day 3). Crashes and
stalls come from the fault-injection points of ``settings/faults.py``, in a subprocess.
Disks and permissions are real: a small tmpfs, a read-only bind mount and a run stripped of
every capability (the tests run as root, here and in CI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from support import table_contents

import settings
from contract.landing import ENTITIES
from pipeline import lock, steps
from pipeline.context import ResourceFault, RunContext, StagingNotLoaded
from pipeline.steps import run_all
from settings import faults

ROOT = Path(__file__).resolve().parents[2]
D1, D2, D3 = dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)
NOBODY = 65534

RUN = textwrap.dedent(
    """
    import datetime as dt, sys
    from pathlib import Path
    from pipeline.context import RunContext
    from pipeline.steps import run_all
    root, day, run_id = Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]), sys.argv[3]
    try:
        run_all(RunContext.local(day, root, run_id=run_id))
    except Exception as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("DONE", flush=True)
    """
)


def start_run(root: Path, day: dt.date, run_id: str, **env: str) -> subprocess.Popen:
    """``run_all`` for one date in a process of its own (so that it can be killed)."""
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(root), day.isoformat(), run_id],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


# --- what a data root holds ----------------------------------------------------------------

# marts.data_quality_timeliness is published as of the publish, from audit.runs (the
# record of attempts, which may differ between runs of the same deliveries).
ATTEMPTS = ("marts.data_quality_timeliness",)


def snapshot_contents(path: Path) -> dict[str, list[tuple]]:
    return {t: rows for t, rows in table_contents(path).items() if t not in ATTEMPTS}


def ledger(db: Path) -> list[tuple]:
    """audit.files without the run ids: what was delivered and what became of it."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * EXCLUDE (run_id) FROM audit.files ORDER BY ALL").fetchall()
    finally:
        con.close()


def state(root: Path) -> dict[str, object]:
    wh = root / "warehouse"
    return {
        "warehouse": table_contents(wh / "poverty.duckdb"),
        "files": ledger(wh / "poverty.duckdb"),
        "snapshot": snapshot_contents(wh / "analytics.duckdb"),
    }


def as_of(snapshot: Path) -> dt.date:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return con.execute("SELECT as_of_date FROM meta.snapshot").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()


def assert_clean(root: Path) -> None:
    """No lease, no half-built snapshot, no staging waiting for its load."""
    assert not (root / ".povdb.lock").exists(), lock.read_lease(root / ".povdb.lock")
    assert not list((root / "warehouse").glob(".analytics.duckdb.*"))
    assert not list(root.glob(".povdb.lock.tmp*"))
    unloaded = root / "staging" / "_unloaded"
    assert not unloaded.exists() or not list(unloaded.iterdir())


@pytest.fixture(scope="module")
def day1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with day 1 of landing_tiny loaded and published (and days 2-3 waiting)."""
    root = tmp_path_factory.mktemp("faults_day1") / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "landing_tiny", root / "landing")
    run_all(RunContext.local(D1, root))
    return root


@pytest.fixture(scope="module")
def reference(day1: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """What uninterrupted runs leave: after day 1, after day 2, after day 3."""
    root = tmp_path_factory.mktemp("faults_reference") / "data"
    shutil.copytree(day1, root)
    states = {"d1": state(root)}
    run_all(RunContext.local(D2, root))
    states["d2"] = state(root)
    run_all(RunContext.local(D3, root))
    states["d3"] = state(root)
    assert states["d1"]["warehouse"] != states["d2"]["warehouse"] != states["d3"]["warehouse"]
    return states


@pytest.fixture
def root(day1: Path, tmp_path: Path) -> Path:
    """A private copy of the day-1 data root."""
    copy = tmp_path / "data"
    shutil.copytree(day1, copy)
    return copy


# --- kill -9 at every point ------------------------------------------------------------------

# After a crash at each point: the warehouse and the snapshot (as after day 1 or day 2),
# and whether the warehouse holds what the killed run staged.
AFTER_CRASH = {
    "ingest.part_written": ("d1", "d1", False),
    "load.before_commit": ("d1", "d1", False),
    "load.committed": ("d2", "d1", True),
    "publish.before_swap": ("d2", "d1", True),
    "publish.swapped": ("d2", "d2", True),
}


def test_every_fault_point_is_tested() -> None:
    assert set(AFTER_CRASH) == set(faults.POINTS)
    with pytest.raises(ValueError, match="unknown fault-injection point"):
        faults.checkpoint("no.such.point")


@pytest.mark.parametrize("point", faults.POINTS)
def test_kill_9_leaves_a_whole_state_and_a_rerun_completes_it(
    point: str, root: Path, reference: dict[str, dict]
) -> None:
    snapshot = root / "warehouse" / "analytics.duckdb"
    published = snapshot.read_bytes()
    proc = start_run(root, D2, "crashed/2015-03-02", POVDB_CRASH_AT=point)
    code, err = finish(proc)
    assert code == -signal.SIGKILL, err

    # The warehouse opens and holds a complete state: the old one, or the new one.
    wh_state, snap_state, loaded = AFTER_CRASH[point]
    got = state(root)
    assert got["warehouse"] == reference[wh_state]["warehouse"]
    assert got["files"] == reference[wh_state]["files"]
    # The snapshot is the old file, untouched, or the new one, complete.
    if snap_state == "d1":
        assert snapshot.read_bytes() == published
    else:
        assert got["snapshot"] == reference["d2"]["snapshot"]
        assert as_of(snapshot) == D2
    if point == "publish.before_swap":
        assert list(snapshot.parent.glob(".analytics.duckdb.*.tmp")), "the new snapshot was aside"
    if point == "ingest.part_written":
        assert list((root / "staging" / "stg_households" / "delivery_date=2015-03-02").iterdir())

    # The dead run's lease is left behind, naming the process that died in a step; the
    # next run takes it over at once.
    lease = lock.read_lease(root / ".povdb.lock")
    assert (
        lease
        and lease["owner"] == "crashed/2015-03-02"
        and f"{proc.pid}@{settings.hostname()}" in lease["busy"]
    )

    if not loaded:
        # Staging of day 2 is rewritten but the warehouse never loaded it: a run of
        # another date must not mix it in.
        with pytest.raises(StagingNotLoaded, match=r"2015-03-02 .*Re-run 2015-03-02 first"):
            run_all(RunContext.local(D3, root))
        assert state(root) == got
        assert snapshot.read_bytes() == published
        assert not (root / ".povdb.lock").exists(), "the refused run released the lock"
    elif point == "load.committed":
        # Day 2 is loaded (its run died before saying so): day 3 goes on.
        run_all(RunContext.local(D3, root))

    # Re-running the date gives exactly the result of runs never interrupted.
    run_all(RunContext.local(D2, root, run_id="rerun/2015-03-02"))
    assert state(root) == reference["d3" if point == "load.committed" else "d2"]
    assert_clean(root)


# --- concurrency -----------------------------------------------------------------------------


def _stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "tT"


def _wait_for(predicate, what: str, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_runs_started_at_once_one_writes_the_other_fails_clearly(
    root: Path, reference: dict[str, dict]
) -> None:
    # Both start together; whichever takes the lock stalls inside its load transaction,
    # holding the warehouse's writer, until the test lets it go on.
    procs = {
        name: start_run(root, D2, name, POVDB_STOP_AT="load.before_commit")
        for name in ("run-a", "run-b")
    }
    try:
        _wait_for(
            lambda: (
                any(p.poll() is not None for p in procs.values())
                and any(p.poll() is None and _stopped(p.pid) for p in procs.values())
            ),
            "one run to fail and the other to stall in its load",
        )
        (loser,) = [n for n, p in procs.items() if p.poll() is not None]
        (winner,) = [n for n in procs if n != loser]
        code, err = finish(procs[loser])
        assert code == 1
        assert f"is locked by run {winner} (pid {procs[winner].pid}" in err, err
        assert "nothing was done. Run again once it has finished" in err
        assert lock.read_lease(root / ".povdb.lock")["owner"] == winner  # type: ignore[index]
        os.kill(procs[winner].pid, signal.SIGCONT)
        code, err = finish(procs[winner])
        assert code == 0, err
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
    assert state(root) == reference["d2"], "the result of a single run"
    assert_clean(root)


SNAPSHOT_SQL = (
    "SELECT (SELECT as_of_date FROM meta.snapshot)::VARCHAR,"
    " (SELECT count(*) FROM core.households_history),"
    " (SELECT count(*) FROM core.status_events),"
    " (SELECT count(*) FROM marts.target_progress),"
    " (SELECT count(*) FROM audit.files)"
)
# An analyst's session, open all through the publish (DuckDB shares one database instance
# per file within a process, so the session and the fresh connections below need
# processes of their own).
SESSION = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(*con.execute(sys.argv[2]).fetchone(), flush=True)
    sys.stdin.readline()
    print(*con.execute(sys.argv[2]).fetchone(), flush=True)
    """
)
# Analysts connecting again and again: every read, in order (run-length encoded), until
# five reads in a row see the new snapshot.
POLLER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, sql, new = sys.argv[1], sys.argv[2], sys.argv[3]
    reads, deadline = [], time.monotonic() + 600
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            con = duckdb.connect(path, read_only=True)
            row = [str(v) for v in con.execute(sql).fetchone()]
            con.close()
        except Exception as exc:
            row = ["ERROR", repr(exc)]
        if reads and reads[-1][0] == row:
            reads[-1][1] += 1
        else:
            reads.append([row, 1])
        if row[0] == new and reads[-1][1] >= 5:
            break
        time.sleep(0.02)
    print(json.dumps(reads), flush=True)
    """
)


def _fingerprint(snapshot: Path) -> list[str]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        row = con.execute(SNAPSHOT_SQL).fetchone()
    finally:
        con.close()
    assert row is not None
    return [str(v) for v in row]


def test_analysts_read_whole_snapshots_all_through_a_publish(
    root: Path, reference: dict[str, dict]
) -> None:
    snapshot = root / "warehouse" / "analytics.duckdb"
    old = _fingerprint(snapshot)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    session = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(snapshot), SNAPSHOT_SQL], **pipes
    )
    poller = subprocess.Popen(
        [sys.executable, "-c", POLLER, str(snapshot), SNAPSHOT_SQL, D2.isoformat()], **pipes
    )
    writer = start_run(root, D2, "publisher", POVDB_STOP_AT="publish.before_swap")
    try:
        assert session.stdout is not None and poller.stdout is not None
        assert session.stdout.readline().split() == old
        assert poller.stdout.readline().strip() == "ready"
        _wait_for(lambda: writer.poll() is not None or _stopped(writer.pid), "the publish")
        assert writer.poll() is None, writer.communicate()
        # The new snapshot is complete aside; analysts still read the old one.
        assert _fingerprint(snapshot) == old
        os.kill(writer.pid, signal.SIGCONT)
        code, err = finish(writer)
        assert code == 0, err
        reads = json.loads(poller.communicate(timeout=600)[0])
        session_after = session.communicate("done\n", timeout=60)[0].split()
    finally:
        for p in (session, poller, writer):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
    new = _fingerprint(snapshot)
    assert new[0] == D2.isoformat() and new != old
    # Every read saw one whole snapshot, the old one until the swap, then the new one.
    assert [row for row, _ in reads] == [old, new], reads
    assert session_after == old, "an open session keeps reading its snapshot"
    assert state(root) == reference["d2"]


# --- resource faults -------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs_over(folder: Path, size: str) -> Iterator[Path]:
    """Mount a small tmpfs over ``folder``, keeping what it held (copied in)."""
    aside = folder.with_name(folder.name + ".aside")
    folder.rename(aside)
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        shutil.copytree(aside, folder, dirs_exist_ok=True)
        folder.chmod(aside.stat().st_mode & 0o7777)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()
        aside.rename(folder)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` so that ``leave`` bytes remain free."""
    st = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * (st.f_bavail * st.f_frsize - leave))
    assert os.statvfs(folder).f_bavail * st.f_frsize == leave
    return filler


def test_full_disk_in_staging_fails_clearly_and_changes_nothing(
    root: Path, reference: dict[str, dict]
) -> None:
    wh = root / "warehouse"
    before = {p.name: p.read_bytes() for p in wh.glob("*.duckdb")}
    with tmpfs_over(root / "staging", "1m") as staging:
        # One page left: the run's marker fits, its first Parquet part does not.
        filler = fill(staging, leave=os.sysconf("SC_PAGE_SIZE"))
        with pytest.raises(ResourceFault) as failure:
            run_all(RunContext.local(D2, root))
        message = str(failure.value)
        # Polars reports the full disk as ENOSPC or as a broken Parquet file, as it goes.
        assert message.startswith(
            f"ingest failed for delivery date 2015-03-02: the disk is full at {staging}"
        )
        assert "the warehouse and analytics.duckdb are as they were" in message
        assert "To do: free space on that disk, then re-run 2015-03-02." in message
        assert {p.name: p.read_bytes() for p in wh.glob("*.duckdb")} == before
        assert state(root) == reference["d1"]
        assert not (root / ".povdb.lock").exists(), "the failed run released the lock"

        filler.unlink()
        run_all(RunContext.local(D2, root))
        assert state(root) == reference["d2"]
        assert_clean(root)


@pytest.mark.parametrize("step", ["load", "publish"])
def test_full_disk_in_the_warehouse_folder_fails_clearly_and_keeps_a_whole_state(
    step: str, root: Path, reference: dict[str, dict]
) -> None:
    snapshot = root / "warehouse" / "analytics.duckdb"
    published = snapshot.read_bytes()
    with tmpfs_over(root / "warehouse", "64m") as wh:
        ctx = RunContext.local(D2, root)
        assert steps.acquire_lock(ctx)
        try:
            steps.discover(ctx)
            for e in ENTITIES:
                steps.ingest(ctx, e)
            for e in ENTITIES:
                steps.validate(ctx, e)
            steps.transform(ctx)
            if step == "publish":
                steps.load(ctx)
            filler = fill(wh)
            with pytest.raises(ResourceFault) as failure:
                getattr(steps, step)(ctx)
        finally:
            steps.release_lock(ctx)
        message = str(failure.value)
        assert message.startswith(
            f"{step} failed for delivery date 2015-03-02: the disk is full at {wh}/"
        )
        assert "No space left on device" in message
        if step == "load":
            assert "the warehouse and analytics.duckdb are as they were" in message
        else:
            assert "analytics.duckdb is still the previous snapshot" in message
        filler.unlink()
        # Nothing half-done: the warehouse is as before the run (load) or loaded (the load
        # committed before the publish failed); the snapshot is the old file.
        got = state(root)
        expected = reference["d1" if step == "load" else "d2"]
        assert got["warehouse"] == expected["warehouse"]
        assert got["files"] == expected["files"]
        assert snapshot.read_bytes() == published
        assert not list(wh.glob(".analytics.duckdb.*")), "the half-written snapshot is removed"

        run_all(RunContext.local(D2, root))
        assert state(root) == reference["d2"]
        assert_clean(root)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_warehouse_fails_clearly_and_changes_nothing(
    root: Path, reference: dict[str, dict]
) -> None:
    wh = root / "warehouse"
    before = {p.name: p.read_bytes() for p in wh.iterdir()}
    with read_only(wh):
        with pytest.raises(ResourceFault) as failure:
            run_all(RunContext.local(D2, root))
        message = str(failure.value)
        assert message.startswith(
            f"load failed for delivery date 2015-03-02: the file system is read-only at {wh}/"
        )
        assert "To do: remount it read-write, then re-run 2015-03-02." in message
        assert not (root / ".povdb.lock").exists()
    assert {p.name: p.read_bytes() for p in wh.iterdir()} == before
    run_all(RunContext.local(D2, root))
    assert state(root) == reference["d2"]
    assert_clean(root)


def run_without_privileges(root: Path) -> subprocess.CompletedProcess:
    """Day 2 run by this user stripped of every capability: it may read and write only what
    the files' owners and modes grant its uid, as any ordinary user. It runs the interpreter
    and the project from where they are, so the clone may sit in a folder no other user
    can enter."""
    drop = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]
    return subprocess.run(
        [*drop, sys.executable, "-c", RUN, str(root), D2.isoformat(), "unprivileged"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_permission_denied_fails_clearly_and_changes_nothing(
    day1: Path, reference: dict[str, dict], tmp_path: Path
) -> None:
    # The data root is the running user's but for the warehouse, which another account owns
    # (owner-only, as the pipeline leaves it). The run stops as it takes the lock: the
    # secret check reads the warehouse first.
    root = tmp_path / "data"
    shutil.copytree(day1, root)
    wh = root / "warehouse"
    for path in [wh, *wh.rglob("*")]:
        os.lchown(path, NOBODY, NOBODY)
    before = {p.name: p.read_bytes() for p in wh.iterdir()}
    proc = run_without_privileges(root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        f"FAILED: acquire_lock failed for delivery date 2015-03-02: permission denied at {wh}/poverty.duckdb"
        in proc.stderr
    ), proc.stderr
    user = f"{pwd.getpwuid(os.getuid()).pw_name}, uid {os.getuid()}"
    assert f"give the user running the pipeline ({user}) read and write access" in proc.stderr
    assert {p.name: p.read_bytes() for p in wh.iterdir()} == before
    assert not (root / ".povdb.lock").exists(), "the failed run released the lock"
    assert state(root) == reference["d1"]
