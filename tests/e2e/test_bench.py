"""``povdb bench`` end to end on a small registry: deliveries generated once and reused, the
floor, both deliveries stage by stage, the guide's queries, and the row it records."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from contract.landing import ENTITIES
from povdb import bench, cli

STAGES = (
    ["discover"]
    + [f"ingest {e}" for e in ENTITIES]
    + [f"validate {e}" for e in ENTITIES]
    + ["transform", "load", "publish", "report"]
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    root = tmp_path_factory.mktemp("bench")
    results = root / "results.md"
    results.write_text("# Benchmark results\n\n## Another benchmark\n\n| a |\n|---|\n| 1 |\n")
    out = root / "bench.json"
    mp = pytest.MonkeyPatch()
    mp.setattr(bench, "RESULTS", results)
    try:
        rc = cli.main(
            ["bench", "--households", "400", "--root", str(root / "data"), "--json", str(out)]
        )
    finally:
        mp.undo()
    assert rc == 0
    return root, json.loads(out.read_text()), results


def test_the_document_has_every_field(run) -> None:
    _, doc, _ = run
    for field in (
        "scale",
        "households",
        "members",
        "stages",
        "total_s",
        "floor_s",
        "floor_cpu_s",
        "total_cpu_s",
        "ratio",
        "delta_s",
        "peak_rss_mb",
        "machine",
        "queries",
    ):
        assert field in doc, field
    assert doc["households"] >= 400 and doc["members"] > doc["households"]
    assert doc["machine"]["cpus"] >= 1 and doc["machine"]["ram_gb"] > 0


def test_both_deliveries_run_every_stage_and_the_sums_add_up(run) -> None:
    _, doc, _ = run
    for delivery in ("initial", "delta"):
        stages = [s for s in doc["stages"] if s["delivery"] == delivery]
        names = [s["stage"] for s in stages]
        # Every stage once, in the DAG's order: the parts' ingest, then their validation,
        # each in the order discover planned them (heaviest first).
        assert sorted(names) == sorted(STAGES)
        assert names[0] == "discover" and names[-4:] == STAGES[-4:]
        ingested = [n.split()[1] for n in names if n.startswith("ingest ")]
        validated = [n.split()[1] for n in names if n.startswith("validate ")]
        assert names[1 : 1 + 2 * len(ENTITIES)] == [f"ingest {e}" for e in ingested] + [
            f"validate {e}" for e in validated
        ]
        assert ingested == validated
        assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in stages)
        total = sum(s["seconds"] for s in stages)
        key = "total_s" if delivery == "initial" else "delta_s"
        assert doc[key] == pytest.approx(total, abs=0.1)
    initial = {s["stage"]: s for s in doc["stages"] if s["delivery"] == "initial"}
    # Day one's heaviest parts are its members, then its households.
    assert [n for n in initial if n.startswith("ingest ")][:2] == [
        "ingest members",
        "ingest households",
    ]
    assert initial["ingest households"]["rows"] == doc["households"]
    assert initial["ingest members"]["rows"] == doc["members"]
    assert doc["ratio"] == pytest.approx(doc["total_s"] / doc["floor_s"], rel=0.01)
    assert doc["floor_rows"] == sum(doc["rows"]["2015-03-01"].values())


def test_each_stage_s_cpu_time_is_its_own(run) -> None:
    """CPU seconds per stage: this process's threads during the stage alone, so never more
    than its seconds times the cores (a clock tick of slack), and more than nothing where
    a stage reads every row."""
    _, doc, _ = run
    cores = doc["machine"]["cpus"]
    for s in doc["stages"]:
        assert 0 <= s["cpu_s"] <= s["seconds"] * cores + 0.05, s
    initial = {s["stage"]: s for s in doc["stages"] if s["delivery"] == "initial"}
    for stage in ("ingest members", "validate members", "transform", "load", "publish"):
        assert initial[stage]["cpu_s"] > 0, stage
    assert doc["total_cpu_s"] == pytest.approx(sum(s["cpu_s"] for s in initial.values()), abs=0.1)
    assert 0 < doc["floor_cpu_s"] <= doc["floor_s"] * cores + 0.1


def test_the_change_delivery_touches_about_half_a_percent_of_households(run) -> None:
    _, doc, _ = run
    changed = doc["delta_households"]
    assert changed and changed < 0.05 * doc["households"]
    delta = {s["stage"]: s for s in doc["stages"] if s["delivery"] == "delta"}
    assert delta["ingest households"]["rows"] == changed


def test_the_change_delivery_is_incremental_and_verify_finds_it_equal(run) -> None:
    _, doc, _ = run
    assert doc["delta_path"] == "incremental"
    assert doc["delta_publish_mode"] == "delta"
    delta = [s for s in doc["stages"] if s["delivery"] == "delta"]
    assert doc["delta_stages"] == {s["stage"]: s["seconds"] for s in delta}
    assert doc["delta_floor_ratio"] == pytest.approx(doc["delta_s"] / doc["floor_s"], rel=0.01)
    assert doc["delta_peak_rss_mb"] == max(s["peak_rss_mb"] for s in delta)
    assert doc["verify_equal"] is True and doc["verify_differ"] == []
    assert doc["targets"]["verify_ok"] is True
    assert doc["verify_s"] > 0 and doc["verify_peak_rss_mb"] > 0


def test_the_snapshot_is_published_and_every_guide_query_is_timed(run) -> None:
    root, doc, _ = run
    assert len(doc["queries"]) == len(bench.guide_queries())
    assert all(q["ms"] > 0 and q["kind"] in ("mart", "scan") for q in doc["queries"])
    con = duckdb.connect(str(root / "data" / "warehouse" / "analytics.duckdb"), read_only=True)
    try:
        as_of = con.execute("SELECT as_of_date FROM meta.snapshot").fetchone()[0]
    finally:
        con.close()
    assert as_of.isoformat() == "2015-03-02"


def test_a_row_is_recorded_under_its_heading_and_other_tables_are_kept(run) -> None:
    _, doc, results = run
    text = results.read_text()
    assert "| a |\n|---|\n| 1 |" in text
    assert text.count(bench.BENCH_HEADING) == 1
    rows = [ln for ln in text.splitlines() if ln.startswith(f"| {doc['date']} | custom")]
    assert len(rows) == 1 and "povdb bench --households 400" in rows[0]
    bench.record(doc, "second run", results)
    text = results.read_text()
    table = text.split(bench.BENCH_HEADER, 1)[1].strip().splitlines()
    assert len(table) == 2 and table[1].endswith("| `second run` |")


def test_a_second_run_reuses_the_deliveries(run) -> None:
    root, doc, _ = run
    marker = root / "data" / "landing" / ".bench.json"
    before = marker.stat().st_mtime_ns
    again = bench.ensure_landing(root / "data", "custom", households=400)
    assert marker.stat().st_mtime_ns == before
    assert again["households"] == doc["households"]
