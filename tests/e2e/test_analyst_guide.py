"""Every worked example of docs/analyst_guide.md runs against the demo snapshot, read-only,
and returns at least one row: the guide cannot drift from the tables it describes."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analyst_guide.md"
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def sql_examples(text: str) -> list[tuple[str, str]]:
    """(question, sql) for every ```sql block: the question is the heading above it."""
    examples = []
    for match in SQL_BLOCK.finditer(text):
        before = text[: match.start()].splitlines()
        heading = next((line for line in reversed(before) if line.startswith("#")), "")
        examples.append((heading.lstrip("#").strip(), match.group(1)))
    return examples


EXAMPLES = sql_examples(GUIDE.read_text(encoding="utf-8"))


def test_the_guide_has_at_least_ten_worked_examples_each_under_a_question() -> None:
    assert len(EXAMPLES) >= 10
    questions = [q for q, _ in EXAMPLES]
    assert all(q.endswith("?") for q in questions), questions
    assert len(set(questions)) == len(questions), "one question per example"


@pytest.mark.parametrize(
    "sql", [sql for _, sql in EXAMPLES], ids=[f"{i:02d} {q}" for i, (q, _) in enumerate(EXAMPLES)]
)
def test_example_runs_on_the_demo_snapshot(demo_snapshot: Path, sql: str) -> None:
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    assert rows, "the example returns no row on the demo snapshot"
