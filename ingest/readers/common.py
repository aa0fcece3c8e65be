"""What every format reader shares: the result and held-file types, header
canonicalisation against the landing contract, and the finishing of frames into chunks of
contract columns numbered on across the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl

from contract.landing import Entity
from contract.reasons import reason as _check_reason

FINDINGS_SCHEMA = pl.Schema(
    {"_row_number": pl.Int64(), "column": pl.String(), "reason": pl.String(), "detail": pl.String()}
)

Piece = tuple[pl.DataFrame, pl.DataFrame]
"""Rows as strings under canonical names, and their cell findings (``FINDINGS_SCHEMA``)."""


def no_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def empty_strings(names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(names, pl.String()))


@dataclass
class ReadResult:
    frame: pl.DataFrame  # contract columns as pl.String (canonical names) + "_row_number"
    format: str  # csv | xlsx | parquet
    encoding: str | None  # one of contract.landing.CSV_ENCODINGS (csv only)
    delimiter: str | None  # one of contract.landing.CSV_DELIMITERS (csv only)
    cell_findings: pl.DataFrame = field(default_factory=no_findings)


@dataclass(frozen=True)
class Pieces:
    """What a format reader hands over: its pieces in file order (any sizes, rows not yet
    numbered unless the piece carries ``_row_number``) and, for CSV, how it was decoded."""

    frames: Iterator[Piece]
    encoding: str | None = None
    delimiter: str | None = None


class FileHeld(Exception):
    """The whole file is held: ``reason`` is a catalogue code, ``detail`` a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        _check_reason(reason)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def canonical_header(cells: list[str], ent: Entity, *, delimiter: str | None = None) -> list[str]:
    """Map header cells to canonical names, holding the file on an unknown, duplicate or
    missing column."""
    aliases = ent.header_aliases
    folded = {k.casefold(): v for k, v in aliases.items()}
    cleaned = [c.replace("\ufeff", "").strip() for c in cells]
    if len(cleaned) == 1 and cleaned[0] not in aliases:
        odd_delimiter = delimiter is not None and any(ch in cleaned[0] for ch in ";|:")
        hint = " (the delimiter must be a comma or a tab)" if odd_delimiter else ""
        raise FileHeld(
            "header_unknown_column",
            f"the header is a single cell {_quote(cleaned[0], 80)}{hint}",
        )
    names: list[str] = []
    unknown: list[str] = []
    for i, cell in enumerate(cleaned, start=1):
        canon = aliases.get(cell) or folded.get(cell.casefold())
        if canon is None:
            unknown.append(f"cell {i} {_quote(cell, 40)}" if cell else f"cell {i} (empty)")
        names.append(canon or "")
    if unknown:
        raise FileHeld(
            "header_unknown_column",
            f"header names no column of {ent.name}: " + ", ".join(unknown),
        )
    seen: dict[str, int] = {}
    dups: list[str] = []
    for i, (name, cell) in enumerate(zip(names, cleaned, strict=True), start=1):
        if name in seen:
            dups.append(f"{name} (cells {seen[name]} and {i}, {_quote(cell, 40)})")
        else:
            seen[name] = i
    if dups:
        raise FileHeld(
            "header_duplicate_column", "the header names a column twice: " + ", ".join(dups)
        )
    missing = [c.name for c in ent.columns if c.required and c.name not in seen]
    if missing:
        raise FileHeld(
            "header_missing_column",
            f"required column(s) missing from the header: {', '.join(missing)}",
        )
    return names


def _finish(frame: pl.DataFrame, ent: Entity, first_row: int) -> pl.DataFrame:
    """Contract columns in contract order (absent optional ones as null), empty strings
    as null, and ``_row_number`` last."""
    exprs = []
    for c in ent.columns:
        if c.name in frame.columns:
            e = pl.col(c.name).cast(pl.String)
            exprs.append(pl.when(e.str.len_bytes() > 0).then(e).alias(c.name))
        else:
            exprs.append(pl.lit(None, pl.String).alias(c.name))
    if "_row_number" in frame.columns:
        exprs.append(pl.col("_row_number").cast(pl.Int64))
    else:
        exprs.append(
            pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias("_row_number")
        )
    return frame.select(exprs)


def rebatch(pieces: Iterator[Piece], ent: Entity, chunk_rows: int) -> Iterator[Piece]:
    """Re-cut frames into chunks of exactly ``chunk_rows`` rows, numbering rows on."""
    buf: list[pl.DataFrame] = []
    findings: list[pl.DataFrame] = []
    held = 0
    next_row = 1
    yielded = False

    def take(frame: pl.DataFrame) -> Piece:
        lo, hi = frame["_row_number"].min(), frame["_row_number"].max()
        all_found = pl.concat(findings) if findings else no_findings()
        mine = (
            all_found.filter(pl.col("_row_number").is_between(lo, hi))
            if frame.height
            else all_found.clear()
        )
        return frame, mine

    for frame, found in pieces:
        frame = _finish(frame, ent, next_row)
        next_row += frame.height
        if found.height:
            findings.append(found)
        if frame.height == 0:
            continue
        buf.append(frame)
        held += frame.height
        while held >= chunk_rows:
            whole = pl.concat(buf) if len(buf) > 1 else buf[0]
            out, rest = whole.head(chunk_rows), whole.slice(chunk_rows)
            yield take(out)
            yielded = True
            last = out["_row_number"].max()
            findings = [f.filter(pl.col("_row_number") > last) for f in findings]
            buf = [rest] if rest.height else []
            held = rest.height
    if buf or not yielded:
        whole = (
            pl.concat(buf) if buf else _finish(empty_strings([c.name for c in ent.columns]), ent, 1)
        )
        yield take(whole)


def _quote(value: str, limit: int) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def error_summary(exc: BaseException) -> str:
    """The exception as a short phrase for a ``FileHeld`` detail."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 160 else text[:160] + "…"
