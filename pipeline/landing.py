"""Discovery of a delivery folder ``landing/D``: the file ledger.

Every entry of the folder (and every file a manifest names) becomes one ledger row:
``pending`` when it may be ingested, ``held`` with a reason code when it may not. Nothing
is changed or deleted in the landing folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

from contract import records
from contract.landing import FILE_NAME_RE, MANIFEST_NAME

PENDING = "pending"
HELD = "held"


@dataclass
class LedgerEntry:
    delivery_date: str
    file_name: str
    entity: str | None = None
    source: str | None = None
    format: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    manifest_rows: int | None = None
    outcome: str = PENDING
    reason: str | None = None
    detail: str | None = None

    def hold(self, reason: str, detail: str) -> None:
        self.outcome, self.reason, self.detail = HELD, reason, detail

    def as_dict(self) -> records.LedgerEntry:
        return cast(records.LedgerEntry, asdict(self))


def sha256_of(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _hash_all(files: list[tuple[LedgerEntry, Path]]) -> None:
    """Each file's SHA-256 into its entry, or the entry held as unreadable. Files are hashed
    on one thread per core (reading and hashing release the GIL): a national delivery's
    17 GB took most of discover's time on one."""

    def digest(path: Path) -> str | OSError:
        try:
            return sha256_of(path)
        except OSError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(len(files), os.cpu_count() or 1))) as pool:
        for (entry, _), found in zip(files, pool.map(digest, [p for _, p in files]), strict=True):
            if isinstance(found, OSError):
                entry.hold("file_unreadable", f"cannot read the file: {found.strerror}")
            else:
                entry.sha256 = found


def _read_manifest(folder: Path) -> tuple[dict[str, dict] | None, str | None]:
    """(entries by name, problem). No manifest: (None, None)."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        entries = {}
        for item in doc["files"]:
            name = item["name"]
            if not isinstance(name, str):
                raise TypeError("name must be a string")
            entries[name] = {"sha256": str(item["sha256"]).lower(), "rows": int(item["rows"])}
        return entries, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{MANIFEST_NAME} is not valid: {exc}"


def _inside(folder: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def discover(landing_root: Path, delivery_date: dt.date) -> list[LedgerEntry]:
    """The ledger of ``landing_root/D``: one entry per delivered file, sorted by name."""
    d = delivery_date.isoformat()
    folder = landing_root / d
    if not folder.is_dir():
        return []
    manifest, manifest_problem = _read_manifest(folder)
    entries: dict[str, LedgerEntry] = {}
    to_hash: list[tuple[LedgerEntry, Path]] = []

    for item in sorted(os.scandir(folder), key=lambda e: e.name):
        if item.name == MANIFEST_NAME:
            continue
        entry = LedgerEntry(delivery_date=d, file_name=item.name)
        entries[item.name] = entry
        path = Path(item.path)
        m = FILE_NAME_RE.match(item.name)
        if m:
            entry.entity, entry.source, entry.format = m["entity"], m["source"], m["ext"]
        if item.is_symlink() and not _inside(folder, path):
            entry.hold(
                "path_outside_landing",
                f"symlink points outside the delivery folder: {os.readlink(path)}",
            )
            continue
        if not path.is_file():
            entry.hold("file_name_invalid", "not a regular file")
            continue
        if not m:
            entry.hold(
                "file_name_invalid",
                "name does not match <entity>_<county code|national>[...].<csv|xlsx|parquet>",
            )
            continue
        entry.size_bytes = path.stat().st_size
        if entry.size_bytes == 0:
            entry.hold("file_empty", "zero-byte file")
            continue
        to_hash.append((entry, path))
    _hash_all(to_hash)

    if manifest_problem:
        for entry in entries.values():
            if entry.outcome == PENDING:
                entry.hold("manifest_invalid", manifest_problem)
        return [entries[k] for k in sorted(entries)]

    for name, expected in (manifest or {}).items():
        found = entries.get(name)
        if found is None:
            entry = LedgerEntry(delivery_date=d, file_name=name)
            m = FILE_NAME_RE.match(Path(name).name)
            if m:
                entry.entity, entry.source, entry.format = m["entity"], m["source"], m["ext"]
            entries[name] = entry
            if Path(name).is_absolute() or ".." in Path(name).parts or len(Path(name).parts) != 1:
                entry.hold(
                    "path_outside_landing",
                    f"the manifest names a path outside the delivery folder: {name}",
                )
            else:
                entry.hold(
                    "manifest_missing_file", "the manifest lists this file but it was not delivered"
                )
            continue
        entry = found
        entry.manifest_rows = expected["rows"]
        if entry.outcome == PENDING and entry.sha256 != expected["sha256"]:
            entry.hold(
                "manifest_checksum_mismatch",
                f"sha256 {entry.sha256} differs from the manifest's {expected['sha256']}",
            )
    return [entries[k] for k in sorted(entries)]


def late_files(
    landing_root: Path, seen: dict[str, dict[str, int | None]], today: dt.date
) -> list[LedgerEntry]:
    """Files in folders of already processed dates (other than ``today``) that the ledger
    has never seen: a new name, or a known name whose size changed (a resent file)."""
    late = []
    for d, known in sorted(seen.items()):
        if d == today.isoformat():
            continue
        folder = landing_root / d
        if not folder.is_dir():
            continue
        for item in sorted(os.scandir(folder), key=lambda e: e.name):
            if item.name == MANIFEST_NAME or not item.is_file():
                continue
            size = item.stat().st_size
            if item.name in known and known[item.name] in (size, None):
                continue
            entry = LedgerEntry(
                delivery_date=d, file_name=item.name, outcome="late", size_bytes=size
            )
            entry.reason = "late_file"
            changed = "changed" if item.name in known else "appeared"
            entry.detail = f"{changed} after {d} was processed; re-run {d} to load it"
            late.append(entry)
    return late
