"""One demo snapshot for the report, analyst-guide and data-dictionary tests.

The same data as `make demo` (seed 42, three delivery dates from 2015-03-01), run through
every step with ``run_all``; docs/data_dictionary.md and docs/report.png are generated from
a snapshot built this way.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

DEMO_START = dt.date(2015, 3, 1)
DEMO_DAYS = 3
DEMO_SEED = 42


def build_demo(root: Path) -> Path:
    """Generate the demo landing folder under ``root`` and run each date; the snapshot path."""
    from generator import generate
    from pipeline.context import RunContext
    from pipeline.steps import run_all

    generate(root / "landing", scale="demo", days=DEMO_DAYS, start=DEMO_START, seed=DEMO_SEED)
    for i in range(DEMO_DAYS):
        run_all(RunContext.local(DEMO_START + dt.timedelta(days=i), root))
    return root / "warehouse" / "analytics.duckdb"


@pytest.fixture(scope="session")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published analytics.duckdb of the demo (read it read-only: it is shared)."""
    snapshot = build_demo(tmp_path_factory.mktemp("demo") / "data")
    assert snapshot.exists()
    return snapshot
