"""Run summary, each date's validation page and the target-progress report, read from the
published snapshot.

The HTML pages are self-contained (inline CSS and SVG, no CDN) so they open offline. The
report reads the PII-free snapshot only, so nothing it shows can carry a resident ID or a
name; the validation page shows persons as their pseudonymous keys.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from contract.landing import ENTITIES
from contract.pseudonym import person_key
from reporting import sql
from reporting.html import render_report
from reporting.render import Table, render
from settings import Paths, pseudonym_secret


def snapshot_summary(analytics: Path) -> dict:
    """What ``povdb status`` and the demo print: the latest run and target progress."""
    con = duckdb.connect(str(analytics), read_only=True)
    try:
        meta = sql.rows(con, "snapshot_meta")[0]
        latest_run = sql.rows(con, "latest_run")
        tables = sql.rows(con, "table_rows")
        for t in tables:
            if t["rows"] is None:  # a view: counted
                schema, name = t["table_name"].split(".")
                (count,) = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchall()
                t["rows"] = count[0]
        progress = sql.rows(con, "target_progress_summary", {"as_of_date": meta["as_of_date"]})
        quality = sql.rows(con, "quarantine_top_reasons")
    finally:
        con.close()
    return {
        "snapshot": meta,
        "latest_run": latest_run[0] if latest_run else None,
        "tables": tables,
        "target_progress": progress,
        "quarantine": quality,
    }


def format_summary(summary: dict) -> str:
    """Plain-text summary for the terminal."""
    meta, run = summary["snapshot"], summary["latest_run"] or {}
    if run.get("state") == "failed":
        head = f"Latest run {run.get('run_id')} FAILED: {run.get('message')}"
    else:
        head = (
            f"Latest run {run.get('run_id')}: {run.get('files')} files ({run.get('files_held')} held),"
            f" {run.get('rows_received')} rows received, {run.get('rows_applied')} applied,"
            f" {run.get('rows_held')} held; {run.get('load_path')} path"
        )
    lines = [
        f"Snapshot as of {meta['as_of_date']} ({len(meta['deliveries_included'])} delivery dates),"
        f" published {meta['published_at']:%Y-%m-%d %H:%M:%S %Z}",
        head,
        "",
        "Rows per table:",
    ]
    lines += [f"  {t['table_name']:<32} {t['rows']:>12,}" for t in summary["tables"]]
    lines += ["", "Target progress (people lifted out of poverty, year to date):"]
    lines.append(
        f"  {'prov':<5}{'target':>12}{'lifted':>10}{'returned':>10}{'net':>10}{'% target':>10}  on track"
    )
    for p in summary["target_progress"]:
        target = f"{p['target_people']:,}" if p["target_people"] is not None else "-"
        pct = f"{p['pct_of_target']:.2f}" if p["pct_of_target"] is not None else "-"
        track = {True: "yes", False: "no", None: "-"}[p["on_track"]]
        lines.append(
            f"  {p['province_code']:<5}{target:>12}{p['lifted_people']:>10,}{p['returned_people']:>10,}"
            f"{p['net_people']:>10,}{pct:>10}  {track}"
        )
    if summary["quarantine"]:
        lines += ["", "Rows not simply applied (audit.quarantine):"]
        lines += [
            f"  {q['outcome']:<10} {q['reason']:<32} {q['rows']:>8,}" for q in summary["quarantine"]
        ]
    return "\n".join(lines)


PERSON_KEYED = {"members"}  # entities whose record key is a resident ID
VALIDATION_HEADERS = ("expectation", "severity", "evaluated", "failed", "failed %", "sample keys")


def validation_summary_html(delivery_date: dt.date, run_dir: Path, secret_file: Path) -> str:
    """Readable, self-contained summary of the day's expectation results.

    Sample keys of persons are shown as their pseudonymous keys, never as resident IDs.
    """
    secret: bytes | None = None
    suites = []
    for entity in ENTITIES:
        path = run_dir / f"validate_{entity}.json"
        if not path.exists():
            continue
        doc = json.loads(path.read_text())
        cells, classes = [], []
        for r in doc["results"]:
            keys = list(r.get("sample_keys") or [])
            if entity in PERSON_KEYED and r["severity"] != "batch" and keys:
                secret = secret or pseudonym_secret(secret_file)
                keys = [person_key(secret, k[:18].upper()) for k in keys]
            evaluated, failed = r.get("evaluated") or 0, r.get("failed") or 0
            classes.append("" if not failed else ("warn" if r["severity"] == "warn" else "fail"))
            cells.append(
                [
                    r["expectation"],
                    r["severity"],
                    f"{evaluated:,}",
                    f"{failed:,}",
                    f"{100 * failed / evaluated:.2f}%" if evaluated else "-",
                    ", ".join(keys),
                ]
            )
        suites.append(
            {
                "entity": entity,
                "name": doc["results"][0]["suite"] if doc["results"] else entity,
                "version": doc["results"][0].get("suite_version") if doc["results"] else "-",
                "rows_held": f"{doc['rows_in_error']:,}",
                "rows_warned": f"{doc['rows_warned']:,}",
                "files_held_whole": ", ".join(f["file_name"] for f in doc["held_files"]) or "none",
                "results": Table(VALIDATION_HEADERS, cells, numeric={2, 3, 4}, classes=classes),
            }
        )
    return render("validation.html", delivery_date=delivery_date, suites=suites)


def write_reports(paths: Paths, *, delivery_date: dt.date, run_dir: Path) -> dict:
    summary = snapshot_summary(paths.analytics)
    paths.reports.mkdir(parents=True, exist_ok=True)
    steps: dict[str, dict] = {
        p.stem: json.loads(p.read_text())
        for p in sorted(run_dir.glob("*.json"))
        if p.stem in ("discover", "load", "publish")
    }
    if "discover" in steps:
        # The ledger itself is in audit.files; keep the summary small.
        steps["discover"].pop("files", None)
    run_summary = {"delivery_date": delivery_date.isoformat(), "steps": steps, "snapshot": summary}
    summary_file = paths.reports / f"run_{delivery_date.isoformat()}.json"
    summary_file.write_text(json.dumps(run_summary, indent=1, default=str, ensure_ascii=False))

    # The report analysts open (reporting/html.py), from the snapshot only. The
    # target_progress.html of earlier versions is kept as a byte-identical copy so that
    # bookmarks and links keep working; report.html is the name to use.
    page = render_report(paths.analytics)
    html_file = paths.reports / "report.html"
    for target in (html_file, paths.reports / "target_progress.html"):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    validation_file = paths.reports / f"validation_{delivery_date.isoformat()}.html"
    validation_file.write_text(
        validation_summary_html(delivery_date, run_dir, paths.secret), encoding="utf-8"
    )
    return {
        "summary": str(summary_file),
        "html": str(html_file),
        "validation": str(validation_file),
    }
