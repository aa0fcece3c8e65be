"""``pl.format`` panics now and then in Polars (``assertion failed: i < self.len()`` in its
string kernel, polars issue 25525): seen in the transform's cross checks. The project
builds text with ``pl.concat_str``, which gives the same strings."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "contract",
    "expectations",
    "ingest",
    "pipeline",
    "reporting",
    "transforms",
    "warehouse",
)


def test_no_module_builds_text_with_pl_format() -> None:
    used = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bpl\.format\(", line)
    ]
    assert used == []


def test_concat_str_gives_what_format_gave() -> None:
    df = pl.DataFrame({"size": [3, None, 1], "active": [2, 1, None]})
    got = df.select(
        pl.concat_str(pl.lit("household_size "), "size", pl.lit(" but "), "active", pl.lit(" x"))
    ).to_series()
    assert got.to_list() == ["household_size 3 but 2 x", None, None]
