"""``make airflow``: Airflow on the embedded default, UI on http://localhost:8080.

Migrates the SQLite metadata database, parses the DAG, unpauses it and runs
``airflow standalone`` (scheduler, DAG processor, triggerer and API server in one
process group). SIGTERM or Ctrl-C stops every process it started, executor workers
included: each gets SIGTERM, what is left after ``GRACE`` seconds is killed, and the
launcher returns once none is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from povdb.cli import _airflow_bin, _env, ensure_airflow
from settings import DAG_ID

GRACE = 30  # seconds the components get to stop before they are killed
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def _become_subreaper() -> None:
    """Orphaned descendants (workers whose parent died) become this process's children
    instead of init's, so that it can find, stop and reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` in the process tree, zombies included."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The fields after the command name (which may hold spaces and parentheses).
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap() -> None:
    """Collect every child of this process that has exited."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stop_all(grace: float = GRACE) -> None:
    """SIGTERM to every descendant; SIGKILL to those left after ``grace`` seconds; return
    once all are gone and reaped."""
    _signal_all(descendants(os.getpid()), signal.SIGTERM)
    deadline, killing = time.monotonic() + grace, False
    while True:
        _reap()
        left = descendants(os.getpid())
        if not left:
            return
        if not killing and time.monotonic() > deadline:
            print(f"Killing the {len(left)} Airflow processes still running ...", flush=True)
            killing = True
        if killing:  # again each round: a dying parent may hand over children
            _signal_all(left, signal.SIGKILL)
        time.sleep(0.2)


def _wait(proc: subprocess.Popen) -> int:
    """Wait for ``proc``, reaping the orphans handed to this process meanwhile."""
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode


def main() -> int:
    ensure_airflow()
    env = _env()
    airflow = _airflow_bin()
    subprocess.run([airflow, "dags", "reserialize"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [airflow, "dags", "unpause", DAG_ID], env=env, check=True, stdout=subprocess.DEVNULL
    )
    print(
        f"Airflow home: {env['AIRFLOW_HOME']}; UI on http://localhost:8080 (login printed below). Ctrl-C stops."
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    _become_subreaper()
    rc = 0
    try:
        proc = subprocess.Popen([airflow, "standalone"], env=env, start_new_session=True)
        rc = _wait(proc)
        print(f"airflow standalone exited ({rc}); stopping what it left ...", flush=True)
    except KeyboardInterrupt:
        print(f"Stopping Airflow (at most {GRACE} s) ...", flush=True)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the stop short and leave orphans.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all()
    return rc


if __name__ == "__main__":
    sys.exit(main())
