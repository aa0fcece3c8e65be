"""docs/data_dictionary.md is the snapshot's own COMMENT ON, kept in sync, and every column of
every mart is described."""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb

from reporting.dictionary import render_dictionary

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "data_dictionary.md"
REGENERATE = (
    "regenerate it from the demo snapshot: make demo, then"
    " .venv/bin/python -m reporting.dictionary data/warehouse/analytics.duckdb > docs/data_dictionary.md"
    " (or make docs)"
)


def test_committed_dictionary_matches_the_snapshot(demo_snapshot: Path) -> None:
    rendered = render_dictionary(demo_snapshot)
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != rendered:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    rendered.splitlines(keepends=True),
                    "docs/data_dictionary.md (committed)",
                    "render_dictionary(demo snapshot)",
                )
            )[:80]
        )
        raise AssertionError(f"docs/data_dictionary.md is out of date; {REGENERATE}\n{diff}")


def test_every_mart_column_is_described(demo_snapshot: Path) -> None:
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        marts = con.execute(
            "SELECT table_name, coalesce(trim(comment), '') = '' FROM duckdb_tables()"
            " WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall()
        missing = [
            f"marts.{t}.{c}"
            for t, c in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns()"
                " WHERE schema_name = 'marts' AND coalesce(trim(comment), '') = ''"
                " ORDER BY table_name, column_index"
            ).fetchall()
        ]
    finally:
        con.close()
    assert len(marts) >= 10, marts
    missing += [f"marts.{t} (table)" for t, undocumented in marts if undocumented]
    assert missing == [], "marts without a description (COMMENT ON):\n" + "\n".join(missing)


def test_dictionary_lists_every_published_column(demo_snapshot: Path) -> None:
    text = render_dictionary(demo_snapshot)
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        columns = con.execute(
            "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns()"
            " WHERE schema_name IN ('ref', 'core', 'marts', 'audit', 'meta')"
        ).fetchall()
    finally:
        con.close()
    sections = {s.split("\n", 1)[0]: s for s in text.split("\n### ")[1:]}
    absent = [f"{t}.{c}" for t, c in columns if f"| `{c}` |" not in sections.get(t, "")]
    assert absent == []
