"""A county whose delivery volume jumps or collapses against its own change deliveries."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from warehouse.load import VOLUME_JUMPS
from warehouse.loader import migrate

START = dt.date(2015, 3, 1)


def _jumps(volumes: list[int]) -> list[int]:
    """Day numbers (1-based) flagged for one county delivering ``volumes`` rows a day."""
    con = duckdb.connect()
    migrate(con)
    for i, rows in enumerate(volumes):
        con.execute(
            "INSERT INTO audit.files (delivery_date, file_name, entity, source, rows, outcome)"
            " VALUES (?, 'households_520102.csv', 'households', '520102', ?, 'loaded')",
            [START + dt.timedelta(days=i), rows],
        )
    flagged = con.execute(f"SELECT delivery_date FROM ({VOLUME_JUMPS}) ORDER BY 1").fetchall()
    return [(d - START).days + 1 for (d,) in flagged]


@pytest.mark.parametrize(
    ("volumes", "flagged"),
    [
        ([5000, 40, 38, 41, 39, 40, 42], []),  # the initial registration is not history
        ([5000, 40, 38, 41, 39, 40, 400], [7]),  # a jump
        ([5000, 40, 38, 41, 39, 40, 0], [7]),  # a collapse
        ([5000, 40, 38, 41, 400], []),  # fewer than five change deliveries yet
        ([5000, 4, 3, 5, 4, 4, 12], []),  # small numbers: 12 is within 3x + 10
    ],
    ids=["steady", "jump", "collapse", "too-little-history", "small-numbers"],
)
def test_volume_jump(volumes: list[int], flagged: list[int]) -> None:
    assert _jumps(volumes) == flagged
