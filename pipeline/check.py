"""``povdb check FOLDER``: what a run would hold of a delivery folder, before it is sent.

The check runs the night's own steps (discover, ingest, validate) on a temporary data root
whose landing folder for the delivery date is the folder itself (a symlink, so nothing is
copied), then lists the held files and rows from what those steps wrote. No warehouse is
opened and nothing is written outside the temporary folder, which is removed afterwards.

Left out are the reasons a run decides against the deliveries it already holds (the
transform's key semantics and cross-entity rules): a conflict, a stale or duplicate row,
a parked row or a household's head count can only be told with the warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from contract.landing import ENTITIES, TIMEZONE
from contract.reasons import reason
from pipeline import steps
from pipeline.context import RunContext

# Decided by the transform over every accepted delivery: not told by one folder.
NOT_CHECKED: frozenset[str] = frozenset(
    {
        "stale_update",
        "duplicate_row",
        "conflicting_duplicate",
        "person_in_two_households",
        "parent_missing",
        "household_head_count",
    }
)
_DATE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NotADeliveryFolder(ValueError):
    """The path given is not a folder of delivered files."""


@dataclass(frozen=True)
class Finding:
    """One held file (``row_number`` None) or one held row of a file."""

    file_name: str
    row_number: int | None
    record_key: str | None
    reason: str
    detail: str | None

    @property
    def sentence(self) -> str:
        return reason(self.reason).description


@dataclass(frozen=True)
class CheckResult:
    folder: Path
    delivery_date: dt.date
    files: int  # entries of the folder and files its manifest names
    rows: int  # data rows of the files read whole
    findings: list[Finding]  # by file name, the file's own finding first, then by row

    @property
    def held_files(self) -> int:
        return sum(f.row_number is None for f in self.findings)

    @property
    def held_rows(self) -> int:
        return len(self.findings) - self.held_files

    def lines(self) -> list[str]:
        """One line per finding under its file's name, and a summary line."""
        out = []
        for name, found in groupby(self.findings, key=lambda f: f.file_name):
            out.append(name)
            for f in found:
                where = "file" if f.row_number is None else f"row {f.row_number}"
                detail = f" ({f.detail})" if f.detail else ""
                out.append(f"  {where}: {f.reason}: {f.sentence}{detail}")
        verdict = (
            "nothing would be held"
            if not self.findings
            else f"{_count(self.held_files, 'file')} and {_count(self.held_rows, 'row')}"
            " would be held"
        )
        out.append(
            f"{self.folder} (delivery date {self.delivery_date}): {_count(self.files, 'file')},"
            f" {_count(self.rows, 'row')} read: {verdict}."
        )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "delivery_date": self.delivery_date.isoformat(),
            "files": self.files,
            "rows": self.rows,
            "held_files": self.held_files,
            "held_rows": self.held_rows,
            "not_checked": sorted(NOT_CHECKED),
            "findings": [{**asdict(f), "sentence": f.sentence} for f in self.findings],
        }


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def delivery_folder(folder: Path) -> Path:
    """``folder`` resolved, once it is a folder of delivered files; NotADeliveryFolder else."""
    if not folder.exists():
        raise NotADeliveryFolder(f"{folder} does not exist")
    if not folder.is_dir():
        raise NotADeliveryFolder(f"{folder} is not a folder: give the folder of one delivery")
    entries = list(os.scandir(folder))
    if not any(e.is_file() for e in entries):
        dated = sorted(e.name for e in entries if e.is_dir() and _DATE_NAME.match(e.name))
        hint = (
            f": it holds delivery-date folders ({dated[0]}, ...); give one of them"
            if dated
            else ": it holds no files"
        )
        raise NotADeliveryFolder(f"{folder} is not a delivery folder{hint}")
    return folder.resolve()


def default_delivery_date(folder: Path) -> dt.date:
    """The folder's name when it is a date (landing/YYYY-MM-DD), else today in Asia/Shanghai
    (the day the files would be sent)."""
    if _DATE_NAME.match(folder.name):
        try:
            return dt.date.fromisoformat(folder.name)
        except ValueError:
            pass
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def check_folder(
    folder: Path,
    delivery_date: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> CheckResult:
    """Every file and row of ``folder`` that a run for ``delivery_date`` would hold for a
    reason the folder alone decides."""
    folder = delivery_folder(folder)
    d = delivery_date or default_delivery_date(folder)
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="povdb-check-") as tmp:
        ctx = RunContext.local(d, Path(tmp) / "data", run_id=f"check/{d.isoformat()}")
        ctx.paths.landing.mkdir(parents=True)
        (ctx.paths.landing / ctx.d).symlink_to(folder, target_is_directory=True)
        started = time.perf_counter()
        if not steps.acquire_lock(ctx):
            raise RuntimeError(f"the temporary data root {ctx.paths.home} is locked")
        try:
            found = steps.discover(ctx)
            say(f"discover: {found['files']} files, {found['held_files']} held")
            delivered = []
            for entity in ENTITIES:
                done = steps.ingest(ctx, entity)
                if done["files"]:
                    delivered.append(entity)
                    say(
                        f"ingest {entity}: {done['files']} files ({done['held_files']} held),"
                        f" {done['rows']} rows ({done['held_rows']} held)"
                        f" ({time.perf_counter() - started:.0f}s)"
                    )
            for entity in ENTITIES:
                checked = steps.validate(ctx, entity)
                if entity in delivered:
                    say(
                        f"validate {entity}: {checked['rows_in_error']} rows held,"
                        f" {len(checked['held_files'])} files held"
                        f" ({time.perf_counter() - started:.0f}s)"
                    )
        finally:
            steps.release_lock(ctx)
        return _result(ctx, folder)


def _result(ctx: RunContext, folder: Path) -> CheckResult:
    """The held files and rows the steps of ``ctx`` recorded."""
    ledger = ctx.read("discover.json")["files"]
    held_files = [
        Finding(e["file_name"], None, None, e["reason"], e["detail"])
        for e in ledger
        if e["outcome"] == "held"
    ]
    rows = 0
    parts: list[Path] = []
    for entity in ENTITIES:
        for f in ctx.read(f"ingest_{entity}.json"):
            if f["outcome"] == "loaded":
                rows += f["rows"]
            else:
                held_files.append(Finding(f["file_name"], None, None, f["reason"], f["detail"]))
        held_files += [
            Finding(f["file_name"], None, None, f["reason"], f["detail"])
            for f in ctx.read(f"validate_{entity}.json")["held_files"]
        ]
        rejects = ctx.partition("rejects", entity)
        parts += sorted(rejects.glob("*.parquet")) if rejects.is_dir() else []
    held_rows = (
        [
            Finding(*row)
            for row in pl.scan_parquet(parts)
            .select("_file_name", "_row_number", "record_key", "reason", "detail")
            .collect()
            .iter_rows()
        ]
        if parts
        else []
    )
    findings = sorted(
        held_files + held_rows, key=lambda f: (f.file_name, f.row_number or 0, f.reason)
    )
    return CheckResult(folder, ctx.delivery_date, len(ledger), rows, findings)
