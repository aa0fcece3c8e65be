"""``povdb``: the registry pipeline's command line.

povdb generate   write a synthetic landing folder (no real personal data)
povdb run        run the DAG through Airflow for one delivery date
povdb status     latest run, target progress and data quality
povdb report     rebuild the HTML report from the published snapshot
povdb shell      open the published snapshot read-only in the DuckDB CLI
povdb demo       generate a demo landing folder and run it, date by date
povdb bench      the pipeline against the DuckDB floor at a scale (not part of the tests)
povdb verify     rebuild the warehouse from staging aside and compare every table with it
povdb check      what a run would hold of a delivery folder, before it is sent
povdb airflow    any Airflow command, on this project's embedded configuration
povdb cluster    up|down|status: PostgreSQL, Redis, Airflow and Celery workers on this host;
                 import-metadata copies the embedded Airflow's Variables, Connections, Pools
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import settings
from generator import generate
from pipeline import check, verify
from povdb import bench
from reporting.report import format_summary, snapshot_summary, write_reports

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _version() -> str:
    try:
        return importlib.metadata.version("povdb")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(settings.airflow_env())
    # Airflow starts its own components as `airflow ...`: this environment's first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _airflow_bin() -> str:
    exe = Path(sys.executable).with_name("airflow")
    return str(exe) if exe.exists() else "airflow"


def ensure_airflow() -> None:
    """Create or upgrade the embedded Airflow metadata database when needed."""
    from importlib.metadata import version

    home = settings.airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    marker = home / f".migrated-{version('apache-airflow')}"
    if marker.exists():
        return
    print(f"Preparing Airflow metadata database in {home} (first run only) ...", file=sys.stderr)
    subprocess.run(
        [_airflow_bin(), "db", "migrate"], env=_env(), check=True, stdout=subprocess.DEVNULL
    )
    marker.touch()


def airflow(args: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    ensure_airflow()
    return subprocess.run(
        [_airflow_bin(), *args],
        env=_env(),
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )


def cmd_generate(a: argparse.Namespace) -> int:
    out = a.out or settings.paths(a.data_root).landing
    started = time.perf_counter()
    summary = generate(
        Path(out),
        scale=None if a.households else a.scale,
        households=a.households,
        start=a.start,
        days=a.days,
        seed=a.seed,
        formats=a.formats,
        defects=a.defects,
        answer_key=a.answer_key,
        progress=sys.stderr.isatty() or a.progress,
        change_share=a.change_share,
    )
    print(f"Generated {summary} into {out} in {time.perf_counter() - started:.1f}s")
    return 0


class CannotRun(Exception):
    """``povdb run`` cannot start the run; the message says why and what to do."""


class AirflowApi:
    """The REST API of the running Airflow of this Airflow home, logged in."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        return _http(f"{self.url}{path}", method, body, self.token)


def _http(url: str, method: str = "GET", body: dict | None = None, token: str = "") -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def _scheduler_running(home: Path) -> bool:
    """Whether a scheduler of this Airflow home runs on this host (as this user, or any
    when root: other users' environments are not readable)."""
    for proc in Path("/proc").iterdir():
        try:
            if b"scheduler" not in (proc / "cmdline").read_bytes().split(b"\0"):
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # not a process, gone, or another user's
        for var in environ:
            if var.startswith(b"AIRFLOW_HOME=") and Path(os.fsdecode(var[13:])).resolve() == home:
                return True
    return False


def running_airflow() -> AirflowApi | None:
    """The API of this Airflow home when its scheduler runs (``make airflow``, say); None
    when none does. CannotRun when one does but its API cannot be used."""
    if not _scheduler_running(settings.airflow_home()):
        return None
    url = settings.airflow_api_url()
    try:
        health = _http(f"{url}/api/v2/monitor/health")
    except (OSError, ValueError) as exc:
        raise CannotRun(
            f"a scheduler of {settings.airflow_home()} is running but its API does not answer"
            f" on {url} ({exc}): wait until it is up, or set AIRFLOW__API__PORT to its port"
        ) from exc
    if (health.get("scheduler") or {}).get("status") != "healthy":
        raise CannotRun(
            f"a scheduler of {settings.airflow_home()} is running but is not healthy"
            f" ({health.get('scheduler')}): a run would not start; restart it"
        )
    try:
        return AirflowApi(url, _token(url))
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise CannotRun(
            f"a scheduler is running on {url} but povdb cannot log in to its API ({exc});"
            " trigger the run in the Airflow UI, or stop that scheduler"
        ) from exc


def _token(url: str) -> str:
    """A token of Airflow's simple auth manager: anonymous when every user is an admin,
    else as the first user of the passwords file Airflow generated in its home."""
    try:
        return _http(f"{url}/auth/token")["access_token"]
    except urllib.error.HTTPError as exc:
        if exc.code != 403:
            raise
    file = settings.airflow_home() / "simple_auth_manager_passwords.json.generated"
    passwords = json.loads(file.read_text())
    user = "admin" if "admin" in passwords else next(iter(passwords))
    body = {"username": user, "password": passwords[user]}
    return _http(f"{url}/auth/token", "POST", body)["access_token"]


def _trigger(
    api: AirflowApi, delivery_date: dt.date, data_root: Path, full: bool = False
) -> tuple[str, str]:
    """Trigger the run of ``delivery_date``, or clear the one Airflow has (as the UI
    would), or take the one under way: its run id, and which of these it did."""
    dag = api.call("GET", f"/api/v2/dags/{settings.DAG_ID}")
    if dag.get("is_paused"):
        raise CannotRun(
            f"{settings.DAG_ID} is paused in the Airflow running on {api.url}: unpause it"
            f" (UI, or `povdb airflow dags unpause {settings.DAG_ID}`) and run again"
        )
    # The run of D has the logical date D 00:00 Asia/Shanghai (pipeline/timetable.py).
    logical = dt.datetime.combine(delivery_date, dt.time(), SHANGHAI).isoformat()
    body = {"logical_date": logical, "conf": _conf(data_root, full)}
    try:
        run = api.call("POST", f"/api/v2/dags/{settings.DAG_ID}/dagRuns", body)
        return str(run["dag_run_id"]), "triggered it as run"
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            raise
    query = urllib.parse.urlencode({"logical_date_gte": logical, "logical_date_lte": logical})
    (run,) = api.call("GET", f"/api/v2/dags/{settings.DAG_ID}/dagRuns?{query}")["dag_runs"]
    if (run.get("conf") or {}).get("data_root") != str(data_root):
        raise CannotRun(
            f"Airflow has a run of {delivery_date} for another data root"
            f" ({(run.get('conf') or {}).get('data_root') or 'its POVDB_HOME'}): clear that run"
            f" in the UI to re-run it there, or delete it to run {data_root}"
        )
    if run["state"] in ("queued", "running"):
        return str(run["dag_run_id"]), "follows its run under way"
    if full and not (run.get("conf") or {}).get("full_rebuild"):
        # Clearing a run keeps its conf: it would take the path it chose before.
        raise CannotRun(
            f"Airflow has a run of {delivery_date} triggered without full_rebuild, and a"
            " cleared run keeps its conf: delete that run in the UI, then run again with --full"
        )
    api.call(
        "POST",
        f"/api/v2/dags/{settings.DAG_ID}/dagRuns/{run['dag_run_id']}/clear",
        {"dry_run": False},
    )
    return str(run["dag_run_id"]), "cleared its run"


def _progress_lines(progress: Path, since: dt.datetime, run_id: str | None) -> list[str]:
    """The steps the run has finished so far (``runs/D/progress.jsonl``), one line each."""
    try:
        text = progress.read_text()
    except OSError:
        return []
    out = []
    for raw in text.splitlines(keepends=True):
        if not raw.endswith("\n"):
            break  # being written
        try:
            line = json.loads(raw)
            at = dt.datetime.fromisoformat(line["at"])
        except (ValueError, KeyError):
            continue
        if at < since or (run_id and line.get("run_id") != run_id):
            continue  # an earlier run of the date
        elapsed = int((at - since).total_seconds())
        head = f"  [{elapsed // 60:3d}:{elapsed % 60:02d}] {line.get('step')}"
        if "failed" in line:
            retry = (
                " (transient: Airflow retries it while it has retries left)"
                if line.get("transient")
                else ""
            )
            out.append(f"{head} FAILED after {line.get('seconds')}s: {line['failed']}{retry}")
        else:
            out.append(f"{head}  {line.get('seconds')}s  {line.get('text') or ''}".rstrip())
    return out


def _follow(
    progress: Path, since: dt.datetime, run_id: str | None, finished: Callable[[], Any]
) -> Any:
    """Print each step's line as the run finishes it, until ``finished()`` is not None."""
    printed = 0
    while True:
        outcome = finished()
        lines = _progress_lines(progress, since, run_id)
        for line in lines[printed:]:
            print(line, flush=True)
        printed = max(printed, len(lines))
        if outcome is not None:
            return outcome
        time.sleep(1)


def _run_in_airflow(
    api: AirflowApi, delivery_date: dt.date, data_root: Path, full: bool = False
) -> tuple[bool, str, list[str]]:
    """Trigger the run in the running Airflow and follow it to its end: whether it
    succeeded, what to say if not."""
    since = dt.datetime.now(dt.UTC)
    run_id, how = _trigger(api, delivery_date, data_root, full)
    path = f"/api/v2/dags/{settings.DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}"
    print(f"  in the running Airflow ({api.url}): {how} {run_id}", flush=True)
    unreachable_since: float | None = None

    def finished() -> str | None:
        nonlocal unreachable_since
        try:
            state = api.call("GET", path)["state"]
        except OSError:
            # The API server restarting: the run goes on; give up after a minute.
            unreachable_since = unreachable_since or time.monotonic()
            if time.monotonic() - unreachable_since > 60:
                raise
            return None
        unreachable_since = None
        return state if state in ("success", "failed") else None

    progress = settings.paths(data_root).run_dir(delivery_date.isoformat()) / "progress.jsonl"
    state = _follow(progress, since, f"{settings.DAG_ID}/{run_id}", finished)
    ui = f"{api.url}/dags/{settings.DAG_ID}/runs/{run_id}"
    return state == "success", f"run {run_id} {state}; Airflow UI: {ui}", []


def _conf(data_root: Path, full: bool) -> dict[str, Any]:
    """The run's conf: its data root, and the full path when asked."""
    return {"data_root": str(data_root), **({"full_rebuild": True} if full else {})}


def _run_dags_test(
    delivery_date: dt.date, data_root: Path, log_file: Path, full: bool = False
) -> tuple[bool, str, list[str]]:
    """Run the DAG for one date in this process's own Airflow (``airflow dags test``):
    whether it succeeded, what to say if not and the end of its log."""
    since = dt.datetime.now(dt.UTC)
    conf = json.dumps(_conf(data_root, full))
    command = [_airflow_bin(), "dags", "test", settings.DAG_ID, delivery_date.isoformat()]
    with open(log_file, "w") as fh:
        ensure_airflow()
        proc = subprocess.Popen(
            [*command, "--conf", conf], env=_env(), stdout=fh, stderr=subprocess.STDOUT
        )
        progress = settings.paths(data_root).run_dir(delivery_date.isoformat()) / "progress.jsonl"
        rc = _follow(progress, since, None, proc.poll)
    tail = log_file.read_text(errors="replace").splitlines()[-25:]
    return rc == 0, f"exit {rc}; Airflow log: {log_file}", tail


def run_date(delivery_date: dt.date, data_root: Path, full: bool = False) -> int:
    """Run poverty_nightly for one delivery date, printing each step as it finishes: in the
    running Airflow through its REST API when a scheduler is up, else ``airflow dags test``.
    ``full``: the run takes the full path (DAG param ``full_rebuild``)."""
    print(
        f"Running poverty_nightly for delivery date {delivery_date} on {data_root} ...", flush=True
    )
    started = time.perf_counter()
    log_dir = settings.paths(data_root).runs
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"FAILED: cannot use the data root {data_root}: {exc.strerror} ({exc.filename})",
            file=sys.stderr,
        )
        return 2
    try:
        api = running_airflow()
        if api:
            ok, detail, tail = _run_in_airflow(api, delivery_date, data_root, full)
        else:
            log_file = log_dir / f"airflow_{delivery_date.isoformat()}.log"
            ok, detail, tail = _run_dags_test(delivery_date, data_root, log_file, full)
    except CannotRun as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2
    except urllib.error.URLError as exc:
        print(f"FAILED: the Airflow API on {settings.airflow_api_url()}: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    summary_file = settings.paths(data_root).reports / f"run_{delivery_date.isoformat()}.json"
    if not (
        ok and summary_file.exists() and summary_file.stat().st_mtime >= time.time() - elapsed - 1
    ):
        print(f"FAILED: delivery date {delivery_date} ({detail})", file=sys.stderr)
        print("\n".join("  " + line for line in tail), file=sys.stderr)
        return 1
    run = json.loads(summary_file.read_text())
    load = run["steps"].get("load", {})
    print(
        f"  done in {elapsed:.0f}s: {load.get('files')} files ({load.get('files_held')} held),"
        f" {load.get('rows_received')} rows received, {load.get('rows_applied')} applied,"
        f" {load.get('rows_held')} held"
    )
    for late in load.get("late_files", []):
        print(f"  LATE FILE {late}: re-run its date to load it", file=sys.stderr)
    return 0


def cmd_run(a: argparse.Namespace) -> int:
    root = settings.data_root(a.data_root)
    return run_date(a.date, root, a.full)


def cmd_status(a: argparse.Namespace) -> int:
    paths = settings.paths(a.data_root)
    if not paths.analytics.exists():
        print(
            f"No published snapshot at {paths.analytics}: run `povdb run --date D` first.",
            file=sys.stderr,
        )
        return 1
    summary = snapshot_summary(paths.analytics)
    if a.json:
        print(json.dumps(summary, default=str, ensure_ascii=False, indent=1))
    else:
        print(format_summary(summary))
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    paths = settings.paths(a.data_root)
    if not paths.analytics.exists():
        print(f"No published snapshot at {paths.analytics}.", file=sys.stderr)
        return 1
    import duckdb

    con = duckdb.connect(str(paths.analytics), read_only=True)
    as_of = con.execute("SELECT as_of_date FROM meta.snapshot").fetchone()[0]  # type: ignore[index]
    con.close()
    out = write_reports(paths, delivery_date=as_of, run_dir=paths.run_dir(as_of.isoformat()))
    print(out["html"])
    return 0


def cmd_shell(a: argparse.Namespace) -> int:
    paths = settings.paths(a.data_root)
    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if not cli:
        print(
            "The DuckDB CLI is not installed: it comes with povdb (the duckdb-cli package);"
            " reinstall povdb.",
            file=sys.stderr,
        )
        return 1
    os.execv(cli, [cli, "-readonly", str(paths.analytics)])
    return 0  # pragma: no cover


def cmd_demo(a: argparse.Namespace) -> int:
    paths = settings.paths(a.data_root)
    if paths.home.exists() and a.fresh:
        shutil.rmtree(paths.home)
    paths.ensure()
    days = [a.start + dt.timedelta(days=i) for i in range(a.days)]
    if not all((paths.landing / d.isoformat()).exists() for d in days):
        print(f"Generating a demo landing folder ({a.days} delivery dates) in {paths.landing} ...")
        generate(paths.landing, scale="demo", start=a.start, days=a.days, seed=a.seed)
    for d in days:
        rc = run_date(d, paths.home)
        if rc:
            return rc
    print()
    print(format_summary(snapshot_summary(paths.analytics)))
    print()
    print(f"Warehouse: {paths.warehouse}")
    print(f"Snapshot:  {paths.analytics}   (open it with `povdb shell`)")
    print(f"Report:    {paths.reports / 'report.html'}")
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    import logging

    # The steps' progress on stderr: the transform's buckets, each table loaded, each mart
    # built, each check, each table published (the figures results.md breaks down).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for name in ("pipeline", "transforms", "warehouse"):
        logging.getLogger(name).setLevel(logging.INFO)
    scale = "custom" if a.households else a.scale
    root = (a.root or settings.PROJECT_ROOT / "benchmarks" / "data" / scale).resolve()
    doc = bench.bench(scale, root, households=a.households)
    if a.json:
        a.json.write_text(json.dumps(doc, indent=1) + "\n")
    print("\n".join(bench.summary_lines(doc)))
    if not a.no_record:
        print(f"recorded in {bench.record(doc, 'povdb ' + ' '.join(a.argv))}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    import logging

    # Progress (transform buckets, each table loaded and compared, each check) on stderr:
    # at national scale verify runs as long as a nightly's transform and load together.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for name in ("pipeline", "transforms", "warehouse"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        verdict = verify.run(settings.paths(a.data_root))
    except verify.CannotVerify as exc:
        print(f"verify did not run: {exc}", file=sys.stderr)
        return 2
    print("\n".join(verdict.lines()))
    if a.json:
        a.json.write_text(json.dumps(verdict.as_dict(), indent=1) + "\n")
    return 0 if verdict.ok else 1


def cmd_check(a: argparse.Namespace) -> int:
    import logging

    # The steps log each held file and GX its progress; the findings below say it all once.
    # The level goes on the handler too: GX sets its loggers' own levels.
    handler = logging.StreamHandler()
    handler.setLevel(logging.ERROR)
    logging.basicConfig(
        level=logging.ERROR, handlers=[handler], format="%(asctime)s %(name)s: %(message)s"
    )
    try:
        result = check.check_folder(
            a.folder, a.date, progress=lambda line: print(line, file=sys.stderr, flush=True)
        )
    except check.NotADeliveryFolder as exc:
        print(f"povdb check: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
    else:
        print("\n".join(result.lines()))
    return 1 if result.findings else 0


def cmd_airflow(a: argparse.Namespace) -> int:
    return airflow(a.args).returncode


def cmd_cluster(a: argparse.Namespace) -> int:
    from povdb import cluster

    if a.data_root:
        os.environ["POVDB_HOME"] = str(settings.data_root(a.data_root))
    foreground, source = a.foreground, a.source
    if a.action != "airflow":
        # The airflow action's arguments take the rest of the line: so do options after
        # the other actions (`povdb cluster up --foreground`).
        rest = argparse.ArgumentParser(
            prog=f"povdb cluster {a.action}", add_help=False, allow_abbrev=False
        )
        rest.add_argument("--foreground", action="store_true")
        rest.add_argument("--from", dest="source", type=Path, metavar="HOME")
        options, unknown = rest.parse_known_args(a.args)
        if unknown:
            print(f"povdb cluster {a.action}: unknown arguments {unknown}", file=sys.stderr)
            return 2
        foreground = foreground or options.foreground
        source = options.source or source
    if source is not None and a.action != "import-metadata":
        print(f"povdb cluster {a.action}: --from goes with import-metadata only", file=sys.stderr)
        return 2
    return cluster.cmd(a.action, foreground=foreground, args=a.args, source=source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="povdb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", help="data root (default: $POVDB_HOME, else ./data)")
    parser.add_argument("--version", action="version", version=f"povdb {_version()}")
    # Global options are accepted after the subcommand too (`povdb status --data-root X`);
    # SUPPRESS keeps a subcommand without them from resetting what came before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-root",
        default=argparse.SUPPRESS,
        help="data root (default: $POVDB_HOME, else ./data)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser = functools.partial(sub.add_parser, parents=[common])

    g = add_parser("generate", help="write a synthetic landing folder")
    g.add_argument("--scale", choices=["demo", "county", "province", "national"], default="demo")
    g.add_argument("--households", type=int, help="number of households (overrides --scale)")
    g.add_argument("--start", type=_date, default=dt.date(2015, 3, 1), help="first delivery date")
    g.add_argument(
        "--days",
        type=int,
        default=3,
        help="delivery dates to write (day 1 is the full registration)",
    )
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", type=Path, help="landing root (default: <data root>/landing)")
    g.add_argument("--formats", choices=["mixed", "csv"], default="mixed")
    g.add_argument("--defects", type=float, default=0.0, help="share of rows with a planted defect")
    g.add_argument("--answer-key", type=Path, help="CSV listing every planted defect")
    g.add_argument(
        "--change-share",
        type=float,
        help="share of households changed on each later day (default: calibrated, ~0.001)",
    )
    g.add_argument(
        "--progress", action="store_true", help="show a progress bar even when not on a terminal"
    )
    g.set_defaults(fn=cmd_generate)

    r = add_parser(
        "run",
        help="run the DAG through Airflow for one delivery date",
        description="Run poverty_nightly for one delivery date and print each step as it"
        " finishes. When a scheduler of this Airflow home runs (make airflow), the run is"
        " triggered through its REST API and followed to its end; else it runs in this"
        " process (airflow dags test). Exit 0: the run succeeded; 1: it failed; 2: it"
        " could not start. See docs/runbook.md.",
    )
    r.add_argument("--date", type=_date, required=True, help="delivery date YYYY-MM-DD")
    r.add_argument(
        "--full",
        action="store_true",
        help="rebuild every derived table from staging (the full path) instead of replacing"
        " what the delivery touches",
    )
    r.set_defaults(fn=cmd_run)

    st = add_parser("status", help="latest run, target progress, data quality")
    st.add_argument("--json", action="store_true", help="print the status as one JSON document")
    st.set_defaults(fn=cmd_status)
    add_parser("report", help="rebuild the HTML report").set_defaults(fn=cmd_report)
    add_parser("shell", help="open the snapshot read-only in the DuckDB CLI").set_defaults(
        fn=cmd_shell
    )

    d = add_parser("demo", help="generate demo deliveries and run them through Airflow")
    d.add_argument("--start", type=_date, default=dt.date(2015, 3, 1))
    d.add_argument("--days", type=int, default=3)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--fresh", action="store_true", help="delete the data root first")
    d.set_defaults(fn=cmd_demo)

    b = add_parser(
        "bench", help="the pipeline against the DuckDB floor (initial and change delivery)"
    )
    b.add_argument(
        "--scale", choices=["demo", "county", "province", "national"], default="province"
    )
    b.add_argument("--households", type=int, help="number of households (overrides --scale)")
    b.add_argument(
        "--root",
        type=Path,
        help="benchmark folder: deliveries are kept there and reused (default:"
        " benchmarks/data/<scale>; its runs are deleted at each start)",
    )
    b.add_argument("--json", type=Path, help="write the full result to this JSON file")
    b.add_argument(
        "--no-record", action="store_true", help="do not append a row to benchmarks/results.md"
    )
    b.set_defaults(fn=cmd_bench)

    v = add_parser(
        "verify",
        help="rebuild the warehouse from staging aside and compare every table with it",
        description="Under the data-root lock, rebuild the whole warehouse from staging into"
        " warehouse/.verify-<time>.duckdb, compare every table by digest and run every"
        " post-load check on it. Exit 0: all equal and no check of severity error failed;"
        " 1: a table differs or such a check failed (the rebuild is kept for diffing);"
        " 2: verify could not run (the lock is held, say). See docs/runbook.md.",
    )
    v.add_argument("--json", type=Path, help="also write the result to this JSON file")
    v.set_defaults(fn=cmd_verify)

    c = add_parser(
        "check",
        help="list what a run would hold of a delivery folder (no warehouse needed)",
        description="Run discovery, ingest and validation on FOLDER in a temporary folder and"
        " list every file and row a run would hold, with its reason code and what it means."
        " Conflicts, stale, duplicate and parked rows and the head count need the warehouse"
        " and are not checked. Exit 0: nothing would be held; 1: something would;"
        " 2: FOLDER is not a delivery folder. See docs/landing_contract.md.",
    )
    c.add_argument("folder", type=Path, help="the folder of one delivery")
    c.add_argument(
        "--date",
        type=_date,
        help="delivery date (default: the folder's name if it is a date, else today in"
        " Asia/Shanghai)",
    )
    c.add_argument("--json", action="store_true", help="print the findings as one JSON document")
    c.set_defaults(fn=cmd_check)

    cl = add_parser(
        "cluster",
        help="PostgreSQL, Redis, Airflow and Celery workers on this host: up, down, status;"
        " import-metadata copies the embedded Airflow's Variables, Connections and Pools to it",
        description="up: start PostgreSQL (Airflow's metadata), Redis (the Celery broker),"
        " Airflow's api-server, scheduler, dag-processor and triggerer and the Celery workers,"
        " all on 127.0.0.1, and wait until each is ready; down: stop all of them and anything"
        " left running for them; status: what runs, with pids, ports and logs; airflow ARGS:"
        " any Airflow command on the cluster's configuration; import-metadata --from HOME:"
        " copy the Variables, Connections and Pools (default_pool aside) of the embedded"
        " Airflow in HOME (its airflow.db) into the running cluster, replacing those of the"
        " same names, and print their names (run history is not copied: the warehouse keeps"
        " the pipeline's own). Everything is"
        " kept under POVDB_CLUSTER_DIR (default <AIRFLOW_HOME>/cluster). Exit 0: done (status:"
        " every server runs); 1: status found a server stopped, or down could not stop one;"
        " 2: up could not start (why is printed; nothing is left running), or import-metadata"
        ' could not copy (why is printed). See docs/runbook.md, "The cluster".',
    )
    cl.add_argument("action", choices=["up", "down", "status", "airflow", "import-metadata"])
    cl.add_argument(
        "--foreground",
        action="store_true",
        help="up: stay in the foreground; Ctrl-C or SIGTERM brings the cluster down",
    )
    cl.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="HOME",
        help="import-metadata: the embedded AIRFLOW_HOME to copy from (the folder of its"
        " airflow.db)",
    )
    cl.add_argument(
        "args", nargs=argparse.REMAINDER, help="airflow: the Airflow command and its arguments"
    )
    cl.set_defaults(fn=cmd_cluster)

    af = sub.add_parser("airflow", help="an Airflow command on the embedded configuration")
    af.add_argument("args", nargs=argparse.REMAINDER)
    af.set_defaults(fn=cmd_airflow)

    a = parser.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    return int(a.fn(a))


if __name__ == "__main__":
    sys.exit(main())
