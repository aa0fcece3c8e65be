"""Read a delivered xlsx workbook into strings: the first sheet, its first non-empty row
the header; cells are read with their type.

A resident ID or household id in a number cell gives a row finding ``excel_numeric_id``
(the row is to be held; the value is still read, as Excel kept it). Village codes may be
number cells (read as their digits), a province code number is zero-padded to two digits;
date cells read ``YYYY-MM-DD``, datetime cells ISO 8601 without offset, booleans
``true``/``false``, numbers plainly (``3`` not ``3.0``), a formula cell as its text (never
evaluated). All-empty rows are not rows. The sheet (at most ~1 M rows) is read whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from contract.landing import Column, Entity
from ingest.readers.common import (
    FINDINGS_SCHEMA,
    FileHeld,
    Piece,
    Pieces,
    canonical_header,
    error_summary,
)


def read(path: Path, ent: Entity, chunk_rows: int) -> Pieces:
    """Read the first sheet whole (FileHeld before any frame); re-cutting to ``chunk_rows``
    is the caller's."""
    return Pieces(iter([_read_xlsx(path, ent)]))


def count_rows(path: Path) -> int:
    """Non-empty rows after the header row; FileHeld if the workbook cannot be read."""
    header_seen = False
    n = 0
    for values in _xlsx_rows(path):
        if all(_empty_cell(v[0]) for v in values):
            continue
        if header_seen:
            n += 1
        header_seen = True
    return n


def _xlsx_rows(path: Path) -> Iterator[list[tuple[Any, str, str | None]]]:
    """(value, data_type, number_format) per cell of each row of the first sheet; FileHeld if corrupt."""
    import openpyxl  # a third of a second to import, and only xlsx deliveries need it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise FileHeld(
            "file_unreadable", f"{path.name} is not a readable xlsx workbook ({error_summary(exc)})"
        ) from None
    try:
        if not wb.worksheets:
            raise FileHeld("file_unreadable", f"{path.name} has no worksheet")
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # a writer's stored dimension may be wrong: read every row
        try:
            for row in ws.iter_rows():
                yield [
                    (cell.value, cell.data_type, getattr(cell, "number_format", None))
                    for cell in row
                ]
        except FileHeld:
            raise
        except Exception as exc:
            raise FileHeld(
                "file_unreadable",
                f"{path.name}: the first sheet cannot be read ({error_summary(exc)})",
            ) from None
    finally:
        wb.close()


def _empty_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _read_xlsx(path: Path, ent: Entity) -> Piece:
    names: list[str] | None = None
    kinds: list[Column] = []
    columns: list[list[str | None]] = []
    findings: list[tuple[int, str, str, str]] = []
    row_number = 0
    for cells in _xlsx_rows(path):
        if all(_empty_cell(c[0]) for c in cells):
            continue
        if names is None:
            header = [_xlsx_plain(value, fmt) or "" for value, _, fmt in cells]
            while header and not header[-1].strip():
                header.pop()
            names = canonical_header(header, ent)
            kinds = [ent.column(n) for n in names]
            columns = [[] for _ in names]
            continue
        row_number += 1
        for i, (value, dtype, fmt) in enumerate(cells):
            if i >= len(names):
                if not _empty_cell(value):
                    raise FileHeld(
                        "file_unreadable",
                        f"data row {row_number} has a value in column {i + 1}, beyond the header's {len(names)} columns",
                    )
                continue
            col = kinds[i]
            text, finding = _xlsx_cell(value, dtype, fmt, col)
            columns[i].append(text)
            if finding:
                findings.append((row_number, col.name, "excel_numeric_id", finding))
        for i in range(len(cells), len(names)):
            columns[i].append(None)
    if names is None:
        raise FileHeld("header_missing_column", "the first sheet is empty: no header row")
    frame = pl.DataFrame(
        {n: col for n, col in zip(names, columns, strict=True)},
        schema=dict.fromkeys(names, pl.String()),
    ).with_row_index("_row_number", offset=1)
    frame = frame.with_columns(pl.col("_row_number").cast(pl.Int64))
    found = pl.DataFrame(findings, schema=FINDINGS_SCHEMA, orient="row")
    return frame, found


def _xlsx_cell(
    value: Any, dtype: str, fmt: str | None, col: Column
) -> tuple[str | None, str | None]:
    """A cell as text, and the excel_numeric_id detail when an ID is a number cell."""
    is_number = dtype == "n" and isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and col.kind in ("id18", "hh16"):
        what = "resident ID" if col.kind == "id18" else "household id"
        detail = (
            f"{col.name}: the {what} is an Excel number cell, which keeps only 15 digits; "
            "it must be a text cell"
        )
        return _plain_number(value), detail
    if is_number and col.kind == "prov2" and float(value).is_integer():
        return f"{int(value):02d}", None
    if col.kind == "timestamp" and isinstance(value, dt.datetime):
        return value.isoformat(), None
    return _xlsx_plain(value, fmt), None


def _xlsx_plain(value: Any, fmt: str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None  # formula cells come back as their text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        has_time = bool(fmt) and any(ch in (fmt or "").lower() for ch in "hs")
        if value.time() == dt.time(0) and not has_time:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int | float):
        return _plain_number(value)
    return str(value)


def _plain_number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")
