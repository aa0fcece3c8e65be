"""Every worked example of docs/analyst_guide.md runs against the demo snapshot, read-only,
and returns at least one row: the guide cannot drift from the tables it describes. Its
"Changes" section has an entry for every schema version up to the snapshot's."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from contract.publication import SCHEMA_VERSION
from povdb.bench import GUIDE, guide_queries

EXAMPLES = guide_queries()


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


def test_members_carry_their_households_current_status(demo_snapshot: Path) -> None:
    """``core.members.household_status`` (what the uninsured-members example filters on) is
    the status of the member's household in ``core.households``, for every member."""
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        mismatched, members, statuses = con.execute(
            "SELECT count(*) FILTER (WHERE m.household_status IS DISTINCT FROM h.status),"
            " count(*), count(DISTINCT m.household_status)"
            " FROM core.members m LEFT JOIN core.households h USING (household_id)"
        ).fetchone()
    finally:
        con.close()
    assert members > 0 and statuses >= 2
    assert mismatched == 0


def test_the_guide_lists_the_changes_of_every_schema_version(demo_snapshot: Path) -> None:
    con = duckdb.connect(str(demo_snapshot), read_only=True)
    try:
        version = con.execute("SELECT schema_version FROM meta.snapshot").fetchone()
    finally:
        con.close()
    assert version == (SCHEMA_VERSION,)
    guide = GUIDE.read_text(encoding="utf-8")
    changes = guide[guide.index("\n## Changes\n") :]
    listed = [int(v) for v in re.findall(r"^### Version (\d+)$", changes, flags=re.M)]
    assert listed == list(range(SCHEMA_VERSION, 0, -1)), "newest first, none missing"
    assert f"Schema version **{SCHEMA_VERSION}**" in guide, "the conventions name the version"
