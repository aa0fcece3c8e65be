"""``povdb``: the registry pipeline's command line.

povdb generate   write a synthetic landing folder (no real personal data)
povdb run        run the DAG through Airflow for one delivery date
povdb status     latest run, target progress and data quality
povdb report     rebuild the HTML report from the published snapshot
povdb shell      open the published snapshot read-only in the DuckDB CLI
povdb demo       generate a demo landing folder and run it, date by date
povdb bench      the pipeline against the DuckDB floor at a scale (not part of the tests)
povdb verify     rebuild the warehouse from staging aside and compare every table with it
povdb airflow    any Airflow command, on this project's embedded configuration
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
from pathlib import Path

import settings
from generator import generate
from pipeline import verify
from povdb import bench
from reporting.report import format_summary, snapshot_summary, write_reports


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


def run_date(delivery_date: dt.date, data_root: Path, *, quiet: bool = False) -> int:
    """Run poverty_nightly for one delivery date through Airflow (``airflow dags test``)."""
    conf = json.dumps({"data_root": str(data_root)})
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
    log_file = log_dir / f"airflow_{delivery_date.isoformat()}.log"
    with open(log_file, "w") as fh:
        ensure_airflow()
        proc = subprocess.run(
            [
                _airflow_bin(),
                "dags",
                "test",
                settings.DAG_ID,
                delivery_date.isoformat(),
                "--conf",
                conf,
            ],
            env=_env(),
            stdout=fh,
            stderr=subprocess.STDOUT,
            text=True,
        )
    elapsed = time.perf_counter() - started
    summary_file = settings.paths(data_root).reports / f"run_{delivery_date.isoformat()}.json"
    ok = (
        proc.returncode == 0
        and summary_file.exists()
        and summary_file.stat().st_mtime >= time.time() - elapsed - 1
    )
    if not ok:
        print(
            f"FAILED: delivery date {delivery_date} (exit {proc.returncode}); Airflow log: {log_file}",
            file=sys.stderr,
        )
        tail = log_file.read_text(errors="replace").splitlines()[-25:]
        print("\n".join("  " + line for line in tail), file=sys.stderr)
        return proc.returncode or 1
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
    return run_date(a.date, root)


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
            "The DuckDB CLI is not installed (it comes with `make` from the lock file).",
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

    # The steps' progress (the transform logs each bucket of counties) on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("pipeline").setLevel(logging.INFO)
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


def cmd_airflow(a: argparse.Namespace) -> int:
    return airflow(a.args).returncode


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

    r = add_parser("run", help="run the DAG through Airflow for one delivery date")
    r.add_argument("--date", type=_date, required=True, help="delivery date YYYY-MM-DD")
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

    af = sub.add_parser("airflow", help="an Airflow command on the embedded configuration")
    af.add_argument("args", nargs=argparse.REMAINDER)
    af.set_defaults(fn=cmd_airflow)

    a = parser.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    return int(a.fn(a))


if __name__ == "__main__":
    sys.exit(main())
