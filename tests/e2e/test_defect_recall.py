"""Every planted defect is caught with its expected outcome and reason code, and no clean
row is held: the generator's answer key against the warehouse's own record.

Runs the pipeline's stages as functions (no Airflow) over a generated three-day demo
delivery with defects."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from contract.idcard import id_problem
from generator import generate
from ingest.readers import FileHeld, read_delivery_file
from pipeline.context import RunContext
from pipeline.steps import run_all

START = dt.date(2015, 3, 1)
DAYS = 3


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("recall")
    key = root / "answer_key.csv"
    generate(
        root / "landing",
        scale="demo",
        start=START,
        days=DAYS,
        seed=11,
        defects=0.02,
        answer_key=key,
    )
    for i in range(DAYS):
        run_all(RunContext.local(START + dt.timedelta(days=i), root))
    answers = pl.read_csv(key, schema_overrides={"row_number": pl.Int64, "record_key": pl.String})
    return root / "warehouse" / "poverty.duckdb", answers


def _found(db: Path) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT delivery_date::VARCHAR, file_name, row_number, outcome, reason FROM audit.quarantine"
            " UNION ALL"
            " SELECT delivery_date::VARCHAR, file_name, NULL, outcome, reason FROM audit.files"
            " WHERE outcome = 'held'"
        ).fetchall()
    finally:
        con.close()
    return pl.DataFrame(
        rows, schema=["delivery_date", "file_name", "row_number", "outcome", "reason"], orient="row"
    )


def test_every_planted_defect_is_caught(warehouse: tuple[Path, pl.DataFrame]) -> None:
    db, answers = warehouse
    found = _found(db)
    expected = answers.select(
        pl.col("delivery_date").cast(pl.String),
        "file_name",
        "row_number",
        pl.col("expected_outcome").alias("outcome"),
        pl.col("defect").alias("reason"),
    )
    hits = expected.join(found, on=expected.columns, how="semi", nulls_equal=True)
    total, caught = Counter(expected["reason"].to_list()), Counter(hits["reason"].to_list())
    print("\nrecall per defect kind:")
    for kind in sorted(total):
        print(
            f"  {kind:<32} {caught[kind]:>4}/{total[kind]:<4} {100 * caught[kind] / total[kind]:6.1f}%"
        )
    missed = expected.join(found, on=expected.columns, how="anti", nulls_equal=True)
    assert missed.height == 0, (
        f"missed:\n{missed.join(found, on=['delivery_date', 'file_name', 'row_number'], how='left', nulls_equal=True)}"
    )


def test_no_clean_row_is_held(warehouse: tuple[Path, pl.DataFrame]) -> None:
    db, answers = warehouse
    refused = _found(db).filter(pl.col("outcome").is_in(["held", "conflict"]))
    planted = answers.select(pl.col("delivery_date").cast(pl.String), "file_name", "row_number")
    rows = refused.filter(pl.col("row_number").is_not_null())
    files = refused.filter(pl.col("row_number").is_null())
    clean_rows = rows.join(planted, on=["delivery_date", "file_name", "row_number"], how="anti")
    clean_files = files.join(planted, on=["delivery_date", "file_name"], how="anti")
    assert clean_rows.height == 0, clean_rows
    assert clean_files.height == 0, clean_files


def test_nothing_lost(warehouse: tuple[Path, pl.DataFrame]) -> None:
    db, _ = warehouse
    con = duckdb.connect(str(db), read_only=True)
    try:
        bad = con.execute(
            "SELECT * FROM audit.reconciliation WHERE received <> applied + stale + duplicate + parked + held"
        ).fetchall()
        received = con.execute("SELECT sum(received) FROM audit.reconciliation").fetchone()
    finally:
        con.close()
    assert bad == []
    assert received and received[0] > 9000


def _landing_names(landing: Path) -> set[str]:
    """Every person name delivered in the landing folder (any format)."""
    names: set[str] = set()
    for path in landing.glob("*/*_*.*"):
        entity = path.name.split("_")[0]
        if entity not in ("households", "members"):
            continue
        try:
            frame = read_delivery_file(path, entity).frame
        except FileHeld:
            continue
        col = "head_name" if entity == "households" else "name"
        names |= {v.strip() for v in frame[col].drop_nulls().to_list() if v.strip()}
    return names


ID_RE = re.compile(r"\d{17}[\dXx]")


def test_snapshot_and_reports_hold_no_resident_id_and_no_name(
    warehouse: tuple[Path, pl.DataFrame],
) -> None:
    db, _ = warehouse
    root = db.parent.parent
    names = _landing_names(root / "landing")
    assert len(names) > 1000
    hits: list[str] = []
    con = duckdb.connect(str(root / "warehouse" / "analytics.duckdb"), read_only=True)
    try:
        for schema, table, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE data_type = 'VARCHAR'"
        ).fetchall():
            for (v,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM {schema}.{table} WHERE "{column}" IS NOT NULL'
            ).fetchall():
                if v in names or any(id_problem(m) is None for m in ID_RE.findall(v)):
                    hits.append(f"{schema}.{table}.{column}: {v[:40]}")
    finally:
        con.close()
    reports = sorted((root / "reports").glob("*"))
    assert any(p.name.startswith("validation_") for p in reports)
    for path in reports:
        text = path.read_text(encoding="utf-8")
        hits += [f"{path.name}: ID" for m in ID_RE.findall(text) if id_problem(m) is None]
        hits += [f"{path.name}: name" for n in names if n in text]
    assert hits == []
