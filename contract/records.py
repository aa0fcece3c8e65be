"""The records a run's steps hand each other, typed once.

Steps pass small JSON documents through ``runs/D/*.json`` (and XCom): the ledger of
delivered files, each file's ingest result, each entity's validation summary, the load's
summary. Rooms produce and read them without importing each other, so their shapes live
here. Rows held or warned before the load (by typing, by validation) are Parquet files with
the columns of :data:`ROW_FINDING_SCHEMA`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import polars as pl

# A delivered row held or warned with its reason: staging's rejects and warnings, and the
# transform's copies of them that the load reads.
ROW_FINDING_SCHEMA = pl.Schema(
    {
        "_delivery_date": pl.Date(),
        "_file_name": pl.String(),
        "_row_number": pl.Int64(),
        "record_key": pl.String(),
        "reason": pl.String(),
        "detail": pl.String(),
    }
)

FileOutcomeName = Literal["pending", "loaded", "held", "late"]


class LedgerEntry(TypedDict):
    """One delivered file as discovery found it (``discover.json``)."""

    delivery_date: str
    file_name: str
    entity: str | None
    source: str | None
    format: str | None
    size_bytes: int | None
    sha256: str | None
    manifest_rows: int | None
    outcome: FileOutcomeName
    reason: str | None
    detail: str | None


class Ledger(TypedDict):
    """``discover.json``: the files of landing/D, and late files of earlier dates."""

    files: list[LedgerEntry]
    late: list[LedgerEntry]
    parts: list[str]  # what ingest and validation work on (pipeline.parts)


class DiscoverResult(TypedDict):
    """The discover step's result."""

    delivery_date: str
    files: int
    held_files: int
    late_files: list[str]
    parts: list[str]


class IngestedFile(TypedDict):
    """One file's ingest result (``ingest_<entity>.json`` holds a list of them)."""

    file_name: str
    outcome: FileOutcomeName
    reason: str | None
    detail: str | None
    format: str | None
    encoding: str | None
    delimiter: str | None
    rows: int | None
    typed_rows: int
    held_rows: int


class IngestResult(TypedDict):
    """The ingest step's result for one entity: totals over its files."""

    entity: str
    files: int
    rows: int
    typed: int
    held_rows: int
    held_files: int


class HeldFile(TypedDict):
    """A file held whole after ingest by a rule over its rows, with the rule's reason."""

    file_name: str
    reason: str
    detail: str


class ValidationSummary(TypedDict):
    """One entity's validation of date D (``validate_<entity>.json``)."""

    entity: str
    rows_in_error: int
    rows_warned: int
    held_files: list[HeldFile]
    results: list[dict[str, Any]]


class LoadSummary(TypedDict, total=False):
    """What the load of date D did (``load.json``, ``audit.runs.summary``)."""

    delivery_date: str
    migrations_applied: list[str]
    load_path: str  # full or incremental
    tables: dict[str, int]
    files: int
    files_held: int
    rows_received: int
    rows_applied: int
    rows_held: int
    late_files: list[str]
    held_reasons: dict[str, int]
    held_message: str | None
    checks: dict[str, dict[str, Any]]
