"""The report and the validation page escape what comes from the data, share one stylesheet,
and find their queries and templates next to the package."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from contract.pseudonym import person_key
from reporting import html, report, sql
from reporting.charts import Bar, BarChart
from reporting.render import TEMPLATES
from settings import pseudonym_secret

PACKAGE = Path(html.__file__).parent
HOSTILE = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;"
AS_OF = dt.date(2015, 3, 3)
# The query results of html.load that are lists of rows.
RESULTS = [
    "progress",
    "stock",
    "causes",
    "readiness",
    "incidence_bins",
    "county_readiness",
    "coverage",
    "dates",
    "counties",
    "completeness",
    "quarantine",
    "reconciliation",
    "expectations",
]


def snapshot_data(**overrides: Any) -> dict[str, Any]:
    """What ``html.load`` returns for a snapshot with no rows but ``overrides``."""
    data: dict[str, Any] = {
        "meta": {
            "as_of_date": AS_OF,
            "deliveries_included": [AS_OF],
            "code_version": "test",
            "run_id": "local/2015-03-03",
            "published_local": "2015-03-04 01:00:00",
        },
        "year": AS_OF.year,
        "provinces": {},
        "seed_targets": {},
        "quarantine_rows": 0,
        "timeliness": None,
    }
    return data | {key: [] for key in RESULTS} | overrides


def test_report_escapes_text_from_the_snapshot() -> None:
    page = html.render_page(
        snapshot_data(
            quarantine=[
                {
                    "outcome": "held",
                    "reason": HOSTILE,
                    "entity": "members",
                    "records": 3,
                    "files": 1,
                    "dates": 1,
                },
            ],
            quarantine_rows=3,
            expectations=[
                {
                    "entity": "members",
                    "expectation": HOSTILE,
                    "severity": "error",
                    "evaluated": 10,
                    "failed": 3,
                    "dates": 1,
                },
            ],
        )
    )
    assert "<script" not in page
    start = page.index('<figure id="quarantine">')
    quarantine = page[start : page.index("</figure>", start)]
    assert f'text-anchor="end">{ESCAPED}' in quarantine, "the bar label drawn by the chart kit"
    assert f"<td>{ESCAPED}" in quarantine, "the reason in the figure's numbers"
    rules = page[page.index("Validation rules with failures") :]
    assert f"<td>{ESCAPED}" in rules, "the expectation name"


def test_validation_page_escapes_and_shows_persons_as_keys(tmp_path: Path) -> None:
    resident_id = "52012120150301002X"
    (tmp_path / "validate_members.json").write_text(
        json.dumps(
            {
                "entity": "members",
                "rows_in_error": 1,
                "rows_warned": 0,
                "held_files": [
                    {"file_name": f"{HOSTILE}.csv", "reason": "file_mostly_invalid", "detail": "x"}
                ],
                "results": [
                    {
                        "suite": "members_staging",
                        "suite_version": "1",
                        "expectation": HOSTILE,
                        "severity": "error",
                        "evaluated": 4,
                        "failed": 1,
                        "sample_keys": [resident_id],
                    },
                ],
            }
        )
    )
    page = report.validation_summary_html(AS_OF, tmp_path, tmp_path / "secret")
    assert "<script" not in page
    assert page.count(ESCAPED) == 2, "the expectation and the file held whole"
    assert '<tr class="fail">' in page
    assert resident_id not in page
    assert person_key(pseudonym_secret(tmp_path / "secret"), resident_id) in page


def test_both_pages_inline_the_one_stylesheet(tmp_path: Path) -> None:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    pages = [
        html.render_page(snapshot_data()),
        report.validation_summary_html(AS_OF, tmp_path, tmp_path / "secret"),
    ]
    for page in pages:
        assert f"<style>\n{css}</style>" in page
        assert "<link" not in page and "<script" not in page


def test_chart_kit_escapes_its_own_text() -> None:
    svg = BarChart(
        title=HOSTILE,
        x_label="<x>",
        series={"s": ("<series>", "#000000")},
        bars=[Bar(HOSTILE, [(1, "s")], note="<note>")],
    ).svg("svg-test")
    for raw in ("<script", "<x>", "<series>", "<note>"):
        assert raw not in svg
    assert svg.count(ESCAPED) == 2  # the title and the bar's label


def test_every_query_file_is_used_and_every_used_query_exists() -> None:
    source = "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))
    used = set(re.findall(r'sql\.(?:rows|query)\(\s*(?:con,\s*)?"(\w+)"', source))
    present = {p.stem for p in sql.QUERIES.glob("*.sql")}
    assert used == present
    assert sql.QUERIES.parent == PACKAGE and TEMPLATES.parent == PACKAGE


def test_shares_held_as_fractions_show_as_percentages() -> None:
    """The marts hold shares as fractions (0-1); the report shows them as percentages."""
    progress = {
        "as_of_date": AS_OF,
        "year": AS_OF.year,
        "province_code": "52",
        "target_people": 16,
        "lifted_people": 10,
        "verified_people": 8,
        "paper_exit_people": 2,
        "returned_people": 0,
        "net_people": 10,
        "share_of_target": 0.625,
        "projected_year_end": 60.8,
        "on_track": True,
    }
    page = html.render_page(snapshot_data(progress=[progress]))
    start = page.index('<section id="progress"')
    assert '<td class="n">62.5%</td>' in page[start : page.index("</section>", start)]
