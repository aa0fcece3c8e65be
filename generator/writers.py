"""Bytes of delivered files (CSV UTF-8 / GBK / BOM+tab, xlsx, parquet) and the manifests.

Every writer is deterministic: the same frame gives the same bytes (xlsx gets a fixed
creation date; parquet is written without any time-dependent metadata).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contract.landing import CONTRACT, MANIFEST_NAME
from generator.formats import CSV_GBK, CSV_TAB, PARQUET, XLSX, Style

_XLSX_CREATED = dt.datetime(2015, 1, 1)
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_NUMERIC_KINDS = {"int", "money", "number"}


@dataclass
class FileEntry:
    name: str
    sha256: str
    rows: int
    size: int
    entity: str = ""


@dataclass
class DayFolder:
    """Files written into one delivery folder; the manifest is written at the end."""

    path: Path
    entries: list[FileEntry] = field(default_factory=list)
    manifest_extra: list[dict] = field(default_factory=list)  # planted manifest defects
    manifest_override: dict[str, dict] = field(default_factory=dict)

    def write(
        self, name: str, data: bytes, rows: int, entity: str, listed: bool = True
    ) -> FileEntry:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / name).write_bytes(data)
        entry = FileEntry(name, hashlib.sha256(data).hexdigest(), rows, len(data), entity)
        if listed:
            self.entries.append(entry)
        return entry

    def write_manifest(self) -> int:
        files = []
        for e in sorted(self.entries, key=lambda e: e.name):
            item = {"name": e.name, "sha256": e.sha256, "rows": e.rows}
            item.update(self.manifest_override.get(e.name, {}))
            files.append(item)
        files.extend(self.manifest_extra)
        files.sort(key=lambda f: str(f["name"]))
        data = (json.dumps({"files": files}, ensure_ascii=False, indent=1) + "\n").encode()
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / MANIFEST_NAME).write_bytes(data)
        return len(data)


def headers(entity: str, columns: list[str], zh: bool) -> list[str]:
    if not zh:
        return columns
    spec = CONTRACT[entity]
    return [spec.column(c).zh for c in columns]


def to_bytes(entity: str, frame: pl.DataFrame, columns: list[str], style: Style) -> bytes:
    """``frame`` is all strings with English names and may hold ``_num`` (xlsx number cells)."""
    if style.family == XLSX:
        return _xlsx(entity, frame, columns, style)
    out = frame.select(columns)
    out.columns = headers(entity, columns, style.header_zh)
    if style.family == PARQUET:
        buf = io.BytesIO()
        out.write_parquet(buf, compression="zstd", statistics=False)
        return buf.getvalue()
    sep = "\t" if style.family == CSV_TAB else ","
    eol = "\r\n" if style.family == CSV_GBK else "\n"
    text = out.write_csv(separator=sep, line_terminator=eol, quote_style="necessary")
    if style.family == CSV_GBK:
        return text.encode("gbk")
    if style.family == CSV_TAB:
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode("utf-8")


def _xlsx(entity: str, frame: pl.DataFrame, columns: list[str], style: Style) -> bytes:
    import xlsxwriter

    spec = CONTRACT[entity]
    kinds = [spec.column(c).kind for c in columns]
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": _XLSX_CREATED, "author": "povdb generator"})
    ws = wb.add_worksheet("data")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, h in enumerate(headers(entity, columns, style.header_zh)):
        ws.write_string(0, j, h)
    nums = frame["_num"].to_list() if "_num" in frame.columns else [None] * frame.height
    for i, row in enumerate(frame.select(columns).iter_rows()):
        r = i + 1
        for j, value in enumerate(row):
            if value is None:
                continue
            kind = kinds[j]
            if nums[i] == columns[j] and value.isdigit():
                ws.write_number(r, j, float(value))  # an ID Excel has already mangled
            elif (kind in _NUMERIC_KINDS and _NUMBER_RE.match(value)) or (
                kind == "code12"
                and style.xlsx_code_numbers
                and value.isdigit()
                and len(value) == 12
            ):
                ws.write_number(r, j, float(value))
            elif kind == "date" and style.xlsx_date_cells and (d := _parse_date(value, style)):
                ws.write_datetime(r, j, d, date_fmt)
            else:
                ws.write_string(r, j, value)
    wb.close()
    return buf.getvalue()


def _parse_date(value: str, style: Style) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, style.date_format)
    except ValueError:
        return None
