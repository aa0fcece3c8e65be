"""What an incremental run reads from the warehouse before its transform: the state the
last load left (``state.*``, ``audit.runs``), opened read-only (the load is the only
writer, and it runs after the transform under the same data-root lock).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from warehouse.loader import connect


class Prior:
    """A read-only view of the warehouse's incremental state; use as a context manager."""

    def __init__(self, warehouse: Path):
        self.con = connect(warehouse, read_only=True)

    def __enter__(self) -> Prior:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def last_code_hash(self) -> str | None:
        """The code hash of the last successful load; None when there is none, or it was
        made by a release that kept no incremental state."""
        rows = self.con.execute(
            "SELECT code_hash FROM audit.runs WHERE state = 'success'"
            " ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()
        return rows[0][0] if rows else None

    def has_state(self) -> bool:
        """Whether the last load wrote the row outcomes (every load does; an upgraded
        warehouse has none until its first load)."""
        rows = self.con.execute("SELECT count(*) FROM (FROM state.row_outcomes LIMIT 1)").fetchall()
        return bool(rows[0][0])

    def households(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM core.households").fetchall()[0][0])

    def delivered_on(self, dates: tuple[dt.date, ...]) -> pl.DataFrame:
        """``household_id`` of every household and member row of ``dates`` as they were
        loaded (held ones included): what those dates contributed before a re-run."""
        return self.con.sql(
            "SELECT DISTINCT household_id FROM state.row_outcomes"
            " WHERE delivery_date IN (SELECT unnest($dates)) AND household_id IS NOT NULL"
            " AND entity IN ('households', 'members')",
            params={"dates": list(dates)},
        ).pl()

    def village_first(self) -> pl.DataFrame:
        """First date from which each village was applied (``parent_key``, ``first_date``)."""
        return self.con.sql(
            "SELECT village_code AS parent_key, min(effective_date) AS first_date"
            " FROM core.villages_history WHERE effective_date IS NOT NULL GROUP BY ALL"
        ).pl()

    def close(self, seeds: pl.DataFrame) -> pl.DataFrame:
        """Every household of the components (as last loaded) of the ``seeds``
        (``household_id``), the seeds included."""
        self.con.register("seeds", seeds.select("household_id").to_arrow())
        try:
            return self.con.sql(
                "SELECT household_id FROM seeds"
                " UNION SELECT c.household_id FROM state.components c"
                " WHERE c.component IN (SELECT s.component FROM state.components s"
                "   WHERE s.household_id IN (SELECT household_id FROM seeds))"
            ).pl()
        finally:
            self.con.unregister("seeds")


def open_prior(warehouse: Path) -> Prior | None:
    """The warehouse's state, or None when there is no warehouse, or it lacks the state
    tables (a release before them: the load's migrations add them)."""
    if not warehouse.exists():
        return None
    prior = Prior(warehouse)
    try:
        prior.con.execute("SELECT 1 FROM state.row_outcomes LIMIT 0").fetchall()
    except duckdb.CatalogException:
        prior.con.close()
        return None
    return prior
