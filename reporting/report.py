"""Run summary and the target-progress report, read from the published snapshot.

The HTML is self-contained (inline CSS and SVG, no CDN) so it opens offline. It reads the
PII-free snapshot only, so nothing it shows can carry a resident ID or a name.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import duckdb

from settings import Paths


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def snapshot_summary(analytics: Path) -> dict:
    """What ``povdb status`` and the demo print: the latest run and target progress."""
    con = duckdb.connect(str(analytics), read_only=True)
    try:
        meta = _rows(con, "SELECT * FROM meta.snapshot")[0]
        latest_run = _rows(
            con,
            "SELECT run_id, delivery_date, loaded_at, files, files_held, rows_received,"
            " rows_applied, rows_held, state, message FROM audit.runs ORDER BY loaded_at DESC LIMIT 1",
        )
        tables = _rows(
            con,
            "SELECT schema_name || '.' || table_name AS table_name, estimated_size AS rows"
            " FROM duckdb_tables() WHERE schema_name IN ('core', 'marts') ORDER BY 1",
        )
        progress = _rows(
            con,
            "SELECT as_of_date, year, province_code, target_people, lifted_people,"
            " returned_people, net_people, round(pct_of_target, 2) AS pct_of_target,"
            " round(projected_year_end) AS projected_year_end, on_track"
            " FROM marts.target_progress WHERE as_of_date = ? ORDER BY province_code",
            [meta["as_of_date"]],
        )
        quality = _rows(
            con,
            "SELECT outcome, reason, count(*) AS rows FROM audit.quarantine"
            " GROUP BY ALL ORDER BY rows DESC LIMIT 15",
        )
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
            f" {run.get('rows_held')} held"
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

PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
    "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}"
    "tr.fail td{background:#fde8e8}tr.warn td{background:#fff6dd}"
)


def validation_summary_html(delivery_date: dt.date, run_dir: Path, secret_file: Path) -> str:
    """Readable, self-contained summary of the day's expectation results.

    Sample keys of persons are shown as their pseudonymous keys, never as resident IDs.
    """
    from contract.landing import ENTITIES
    from contract.pseudonym import person_key
    from settings import pseudonym_secret

    secret: bytes | None = None
    sections = []
    for entity in ENTITIES:
        path = run_dir / f"validate_{entity}.json"
        if not path.exists():
            continue
        doc = json.loads(path.read_text())
        rows = []
        for r in doc["results"]:
            keys = list(r.get("sample_keys") or [])
            if entity in PERSON_KEYED and r["severity"] != "batch" and keys:
                secret = secret or pseudonym_secret(secret_file)
                keys = [person_key(secret, k[:18].upper()) for k in keys]
            evaluated, failed = r.get("evaluated") or 0, r.get("failed") or 0
            cls = "" if not failed else ("warn" if r["severity"] == "warn" else "fail")
            pct = f"{100 * failed / evaluated:.2f}%" if evaluated else "-"
            rows.append(
                f'<tr class="{cls}"><td>{html.escape(r["expectation"])}</td>'
                f"<td>{html.escape(r['severity'])}</td><td class=n>{evaluated:,}</td>"
                f"<td class=n>{failed:,}</td><td class=n>{pct}</td>"
                f"<td>{html.escape(', '.join(keys))}</td></tr>"
            )
        suite = doc["results"][0]["suite"] if doc["results"] else entity
        version = doc["results"][0].get("suite_version") if doc["results"] else "-"
        sections.append(
            f"<h2>{html.escape(entity)}</h2><p>Suite <code>{html.escape(suite)}</code> version"
            f" {html.escape(str(version))}: {doc['rows_in_error']:,} rows held,"
            f" {doc['rows_warned']:,} rows warned, files held whole:"
            f" {html.escape(', '.join(doc['batch_held_files']) or 'none')}.</p>"
            "<table><thead><tr><th>expectation</th><th>severity</th><th>evaluated</th>"
            "<th>failed</th><th>failed %</th><th>sample keys</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Validation {delivery_date}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>Great Expectations results for delivery {delivery_date}</h1>"
        "<p>Error rules hold rows (audit.quarantine, outcome held), warn rules load them with a"
        " flag (outcome warned); a file with more than half of its rows in error is held whole."
        " Reason codes: docs/reason_codes.md. Persons appear as pseudonymous keys.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


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
    from reporting.html import render_report

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
