"""``make airflow``: Airflow on the embedded default, UI on http://localhost:8080.

Migrates the SQLite metadata database, parses the DAG, unpauses it and runs
``airflow standalone`` (scheduler, DAG processor, triggerer and API server in one
process group). Ctrl-C stops every component.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from povdb.cli import _airflow_bin, _env, ensure_airflow
from settings import DAG_ID


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
    proc = subprocess.Popen([airflow, "standalone"], env=env, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print("Stopping Airflow ...", flush=True)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        return 0


if __name__ == "__main__":
    sys.exit(main())
