"""The queries reporting runs on the snapshot, one file each in queries/, named for what
they return. Parameters are named (``$as_of_date``) and passed as a mapping."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

QUERIES = Path(__file__).parent / "queries"


@functools.cache
def query(name: str) -> str:
    """The text of queries/``name``.sql."""
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


def rows(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The result of query ``name``, one dict per row."""
    cur = con.execute(query(name), dict(params or {}))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
