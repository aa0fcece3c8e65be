"""Read a delivered file into strings, losing nothing, or hold the whole file with a reason.

``iter_delivery_file`` yields the rows of one delivered CSV, xlsx or parquet file as
``pl.String`` columns under their canonical English names, plus ``_row_number`` (data rows
counted from 1, as the manifest and the generator's answer key count them). Typing the
strings is ``ingest.typing``'s job; the reader only decides whether the file can be
read at all and records what only the file itself can tell (an xlsx number cell in an
ID column).

How a CSV is read (memory stays bounded whatever the file's size):

1. One streaming pass over the bytes checks the encoding (UTF-8 with or without BOM, else
   GBK read as its superset GB18030), refuses NUL bytes, and follows the RFC 4180 quote
   structure to count records and cut the file into record-aligned chunks of about
   ``_CSV_CHUNK_BYTES``. Commas, tabs, quotes and line feeds are ASCII and never occur
   inside a GBK character, so the same scan serves both encodings.
2. Each chunk is transcoded to UTF-8 if needed and parsed by pyarrow as strings only.
   pyarrow's row count must equal the scan's; every row must have the header's number of
   fields. When anything disagrees, the stdlib ``csv`` module re-reads the file and is the
   judge: it finds the line to name in the reason, or (a quote inside an unquoted field,
   which confuses the fast scan but is legal for the parser) it reads the rest itself.

xlsx: the first sheet, its first non-empty row the header; cells are read with their
type. A resident ID or household id in a number cell gives a row finding
``excel_numeric_id`` (the row is to be held; the value is still read, as Excel kept it).
Village codes may be number cells (read as their digits), a province code number is
zero-padded to two digits; date cells read ``YYYY-MM-DD``, datetime cells ISO 8601 without
offset, booleans ``true``/``false``, numbers plainly (``3`` not ``3.0``), a formula cell as
its text (never evaluated). parquet: every column cast to text the same way (zoned
timestamps keep their offset).

Blank lines (and all-empty xlsx rows) are not rows: they are skipped and not counted.
Empty fields are null.

Classification of whole-file problems (``FileHeld.reason``):

- ``file_empty``: zero bytes.
- ``file_unreadable``: NUL bytes (binary data, UTF-16), bytes that are neither UTF-8 nor
  GBK, a mostly-UTF-8 file with some non-UTF-8 bytes (mixed encodings; the detail names
  the byte offset and line), a row in the middle with too many or too few fields (the
  detail names the line), malformed quoting, a corrupt xlsx or parquet file.
- ``file_truncated``: the file ends inside a quoted field, or its last row has fewer
  fields than the header. The whole file is held: a cut file is an incomplete delivery.
- ``header_unknown_column``: a header cell names no column of the entity. A wrong
  delimiter (e.g. ``;``) gives a one-cell header and is reported here, with a detail
  saying that the delimiter must be a comma or a tab.
- ``header_duplicate_column``, ``header_missing_column``: as named (a Chinese and an
  English header for the same column are a duplicate). Optional columns may be absent:
  they are added as nulls.
- ``file_name_invalid``: an extension other than csv, xlsx or parquet.

``iter_delivery_file`` raises ``FileHeld`` before its first chunk for every problem found
by the first pass (encoding, truncation, header, a bad last row). A malformed row in the
middle of a file longer than one chunk is found when its chunk is parsed, so ``FileHeld``
can also come after some chunks were yielded: the whole file is held all the same, and
the caller discards what it received.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract.landing import CONTRACT, Column, Entity
from contract.reasons import reason as _check_reason

__all__ = [
    "FileHeld",
    "ReadResult",
    "count_data_rows",
    "iter_delivery_file",
    "read_delivery_file",
]

FINDINGS_SCHEMA = pl.Schema(
    {"_row_number": pl.Int64(), "column": pl.String(), "reason": pl.String(), "detail": pl.String()}
)

_BOM = codecs.BOM_UTF8
_SCAN_BLOCK = 1 << 20  # bytes read per step of the first pass
_CSV_CHUNK_BYTES = 32 << 20  # target size of one parsed chunk (monkeypatched by tests)
_MAX_HEADER_BYTES = 1 << 20
_MIXED_WINDOW = 1 << 16
_CJK = re.compile("[\u4e00-\u9fff]")
_CSV_FIELD_LIMIT = 2**31 - 1
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


@dataclass
class ReadResult:
    frame: pl.DataFrame  # contract columns as pl.String (canonical names) + "_row_number"
    format: str  # csv | xlsx | parquet
    encoding: str | None  # utf-8 | utf-8-sig | gbk (csv only)
    delimiter: str | None  # "," or "\t" (csv only)
    cell_findings: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=FINDINGS_SCHEMA)
    )


class FileHeld(Exception):
    """The whole file is held: ``reason`` is a catalogue code, ``detail`` a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        _check_reason(reason)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------------------
# public API


def read_delivery_file(path: Path, entity: str) -> ReadResult:
    """Read a whole delivered file (see the module docstring for what is held and why)."""
    parts = list(iter_delivery_file(path, entity, chunk_rows=2**62))
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return ReadResult(
        frame=pl.concat([p.frame for p in parts]),
        format=first.format,
        encoding=first.encoding,
        delimiter=first.delimiter,
        cell_findings=pl.concat([p.cell_findings for p in parts]),
    )


def iter_delivery_file(
    path: Path, entity: str, *, chunk_rows: int = 1_000_000
) -> Iterator[ReadResult]:
    """Yield the file's rows in chunks of ``chunk_rows`` (the last may be shorter).

    At least one ReadResult is yielded (with an empty frame for a header-only file).
    ``_row_number`` runs on across chunks. Memory is bounded for CSV and parquet; an xlsx
    sheet (at most ~1 M rows) is read whole and then sliced.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    ent = CONTRACT[entity]
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx", "parquet"):
        raise FileHeld(
            "file_name_invalid",
            f"{path.name}: extension {path.suffix!r} is not csv, xlsx or parquet",
        )
    if path.stat().st_size == 0:
        raise FileHeld("file_empty", f"{path.name} has zero bytes")
    if fmt == "csv":
        layout = _csv_layout(path, ent)
        pieces: Iterator[tuple[pl.DataFrame, pl.DataFrame]] = (
            (frame, _no_findings()) for frame in _csv_frames(path, ent, layout)
        )
        encoding: str | None = layout.encoding
        delimiter: str | None = layout.delimiter
    elif fmt == "xlsx":
        frame, findings = _read_xlsx(path, ent)
        pieces = iter([(frame, findings)])
        encoding = delimiter = None
    else:
        pieces = _parquet_frames(path, ent, chunk_rows)
        encoding = delimiter = None
    for frame, findings in _rebatch(pieces, ent, chunk_rows):
        yield ReadResult(frame, fmt, encoding, delimiter, findings)


def count_data_rows(path: Path) -> int:
    """Data rows as the manifest counts them: header excluded, blank lines skipped, a line
    feed inside a quoted field does not start a row. Raises FileHeld for an xlsx or parquet
    file that cannot be opened; a zero-byte file has 0 rows."""
    path = Path(path)
    if path.stat().st_size == 0:
        return 0
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "parquet":
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception as exc:
            raise FileHeld(
                "file_unreadable", f"{path.name} is not a readable parquet file ({_short(exc)})"
            ) from None
    if fmt == "xlsx":
        rows = _xlsx_rows(path)
        header_seen = False
        n = 0
        for values in rows:
            if all(_empty_cell(v[0]) for v in values):
                continue
            if header_seen:
                n += 1
            header_seen = True
        return n
    with path.open("rb") as f:
        start = len(_BOM) if f.read(len(_BOM)) == _BOM else 0
        try:
            header_end, _ = _find_header_end(f, start)
        except FileHeld:
            return 0
        scan = _scan_records(f, header_end, path.stat().st_size, check_text=False)
    if scan.ends_inside_quotes:
        return _exact_count(path, header_end)
    return sum(c.rows for c in scan.chunks)


# --------------------------------------------------------------------------------------
# header


def _canonical_header(cells: list[str], ent: Entity, *, delimiter: str | None = None) -> list[str]:
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


# --------------------------------------------------------------------------------------
# CSV: first pass (encoding, structure, chunks)


@dataclass
class _Chunk:
    start: int  # byte offset of the chunk's first record
    end: int  # byte offset just past its last record
    first_line: int  # physical line number (1 = header line) of the chunk's first byte
    first_row: int  # _row_number of its first data row
    rows: int  # data rows (blank lines excluded)


@dataclass
class _Scan:
    chunks: list[_Chunk]
    ends_inside_quotes: bool
    nul_at: int | None = None
    utf8_error_at: int | None = None
    lines_before_error: int = 0
    nul_line: int = 0


@dataclass
class _CsvLayout:
    encoding: str
    codec: str
    delimiter: str
    names: list[str]
    header_end: int
    header_lines: int
    chunks: list[_Chunk]
    parsed_last: pl.DataFrame | None = None  # the last chunk, parsed while checking it


def _find_header_end(f: Any, start: int) -> tuple[int, bytes]:
    """Offset just past the header record (first line feed outside quotes), and its bytes."""
    f.seek(start)
    buf = b""
    inside = False
    while True:
        block = f.read(_SCAN_BLOCK)
        if not block:
            if inside:
                if not _is_text(buf):
                    raise FileHeld("file_unreadable", "the file is not UTF-8 or GBK text")
                raise FileHeld("file_truncated", "the file ends inside a quoted header cell")
            return start + len(buf), buf
        rel = _first_outside_newline(block, inside)
        if rel >= 0:
            buf += block[: rel + 1]
            return start + len(buf), buf
        inside ^= block.count(b'"') % 2 == 1
        buf += block
        if len(buf) > _MAX_HEADER_BYTES:
            raise FileHeld(
                "file_unreadable", "no line end in the first 1 MB: this is not a CSV header"
            )


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    for codec in ("utf-8", "gb18030"):
        try:
            data.decode(codec)
            return True
        except UnicodeDecodeError:
            pass
    return False


def _first_outside_newline(block: bytes, inside: bool) -> int:
    if b'"' not in block:
        return -1 if inside else block.find(b"\n")
    pos = 0
    for seg in block.split(b'"'):
        if not inside:
            k = seg.find(b"\n")
            if k >= 0:
                return pos + k
        pos += len(seg) + 1
        inside = not inside
    return -1


def _last_outside_newline(segs: list[bytes], inside_at_start: bool, total: int) -> int:
    """Position of the last line feed outside quotes in a block split on '"', or -1."""
    n = len(segs)
    end = total
    for k in range(n - 1, -1, -1):
        seg = segs[k]
        seg_start = end - len(seg)
        outside = (k % 2 == 1) if inside_at_start else (k % 2 == 0)
        if outside:
            j = seg.rfind(b"\n")
            if j >= 0:
                return seg_start + j
        end = seg_start - 1
    return -1


def _scan_records(
    f: Any, start: int, size: int, *, check_text: bool, header_lines: int = 1
) -> _Scan:
    """Follow the quote structure from ``start`` (just past the header) to EOF.

    Counts records and blank lines, cuts record-aligned chunks, and (``check_text``)
    finds NUL bytes and the first byte that is not UTF-8.
    """
    f.seek(start)
    inside = False
    pos = start
    lines_before = header_lines  # line feeds before ``pos`` (+1 = line number at pos)
    chunk = _Chunk(start, start, header_lines + 1, 1, 0)
    chunk_nl = 0
    chunk_blank = 0
    tail = b"\n"  # the outside text just before ``pos`` (for blank lines across blocks)
    chunks: list[_Chunk] = []
    scan = _Scan(chunks=chunks, ends_inside_quotes=False)
    decoder = codecs.getincrementaldecoder("utf-8")("strict") if check_text else None
    last_byte = b""
    while True:
        block = f.read(_SCAN_BLOCK)
        if not block:
            break
        if check_text:
            if scan.nul_at is None:
                k = block.find(b"\x00")
                if k >= 0:
                    scan.nul_at = pos + k
                    scan.nul_line = lines_before + block.count(b"\n", 0, k) + 1
                    break
            if decoder is not None:
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    rel = exc.start - pending
                    scan.utf8_error_at = pos + rel
                    scan.lines_before_error = lines_before + block.count(b"\n", 0, max(rel, 0))
                    decoder = None
        if b'"' in block:
            segs = block.split(b'"')
            # Starting inside quotes, the first outside text follows a closing quote.
            outside = b'"' + b'"'.join(segs[1::2]) if inside else b'"'.join(segs[0::2])
            inside_at_start = inside
            if len(segs) % 2 == 0:
                inside = not inside
        else:
            segs = [block]
            inside_at_start = inside
            outside = b"" if inside else block
        nl = outside.count(b"\n")
        if nl:
            joined = tail + outside
            chunk_blank += len(_BLANK_LINE.findall(joined)) - len(_BLANK_LINE.findall(tail))
            chunk_nl += nl
        tail = (tail + outside[-2:])[-2:]
        if nl and pos + len(block) - chunk.start >= _CSV_CHUNK_BYTES:
            cut = _last_outside_newline(segs, inside_at_start, len(block)) + 1
            chunk.end = pos + cut
            chunk.rows = chunk_nl - chunk_blank
            chunks.append(chunk)
            next_line = lines_before + block.count(b"\n", 0, cut) + 1
            chunk = _Chunk(pos + cut, pos + cut, next_line, chunk.first_row + chunk.rows, 0)
            chunk_nl = chunk_blank = 0
        lines_before += block.count(b"\n")
        pos += len(block)
        last_byte = block[-1:]
    if check_text and decoder is not None and scan.nul_at is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.utf8_error_at = size - len(decoder.getstate()[0])
            scan.lines_before_error = lines_before
    end = size if scan.nul_at is None else pos
    chunk.end = end
    final_partial = end > chunk.start and last_byte not in (b"\n", b"")
    chunk.rows = chunk_nl + int(final_partial) - chunk_blank
    if chunk.end > chunk.start:
        chunks.append(chunk)
    scan.ends_inside_quotes = inside
    return scan


def _csv_layout(path: Path, ent: Entity) -> _CsvLayout:
    size = path.stat().st_size
    with path.open("rb") as f:
        has_bom = f.read(len(_BOM)) == _BOM
        start = len(_BOM) if has_bom else 0
        if start == size:
            raise FileHeld("file_empty", f"{path.name} holds only a byte-order mark")
        header_end, header_bytes = _find_header_end(f, start)
        _check_header_bytes(header_bytes, start)
        header_lines = max(header_bytes.count(b"\n"), 1)
        scan = _scan_records(f, header_end, size, check_text=True, header_lines=header_lines)
        if scan.nul_at is not None:
            raise FileHeld(
                "file_unreadable",
                f"NUL byte at byte offset {scan.nul_at} (line {scan.nul_line}): "
                "binary data or UTF-16 text, not a UTF-8/GBK CSV",
            )
        encoding, codec = _decide_encoding(f, scan, has_bom, header_bytes, start)
    header_text = header_bytes.decode(codec)
    delimiter = _sniff_delimiter(header_text)
    cells = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
    if not [c for c in cells if c.strip()]:
        raise FileHeld("header_missing_column", "the first line is empty: the file has no header")
    names = _canonical_header(cells, ent, delimiter=delimiter)
    layout = _CsvLayout(encoding, codec, delimiter, names, header_end, header_lines, scan.chunks)
    if scan.ends_inside_quotes:
        # The fast scan thinks the file ends inside quotes; the csv module decides
        # whether it really does (truncated) or a stray quote misled the scan.
        _exact_check(path, layout)
    elif layout.chunks:
        # A cut last line is the common defect: find it before anything is yielded.
        layout.parsed_last = _parse_chunk(path, layout, layout.chunks[-1], last=True)
    return layout


def _check_header_bytes(header: bytes, start: int) -> None:
    k = header.find(b"\x00")
    if k >= 0:
        raise FileHeld(
            "file_unreadable",
            f"NUL byte at byte offset {start + k} (line 1): binary data or UTF-16 text, not a UTF-8/GBK CSV",
        )


def _decide_encoding(
    f: Any, scan: _Scan, has_bom: bool, header: bytes, start: int
) -> tuple[str, str]:
    """UTF-8 if every byte is UTF-8, else GBK if every byte is GB18030 and the text around
    the first non-UTF-8 byte is not mostly UTF-8 Chinese (mixed encodings are refused: a
    GBK value inside a UTF-8 file)."""
    err_at: int | None = None
    err_line = 1
    try:
        header.decode("utf-8")
        if scan.utf8_error_at is not None:
            err_at, err_line = scan.utf8_error_at, scan.lines_before_error + 1
    except UnicodeDecodeError as exc:
        err_at = start + exc.start
        err_line = header.count(b"\n", 0, exc.start) + 1
    if err_at is None:
        return ("utf-8-sig", "utf-8-sig") if has_bom else ("utf-8", "utf-8")
    where = f"byte offset {err_at} (line {err_line})"
    # Chinese in UTF-8 is three bytes a character (U+4E00-U+9FFF); GBK bytes read as UTF-8
    # rarely form one, and give one or two bad bytes per character.
    lo = max(start, err_at - _MIXED_WINDOW)
    f.seek(lo)
    before = f.read(err_at - lo).decode("utf-8", "ignore")
    after = f.read(_MIXED_WINDOW).decode("utf-8", "replace")
    chinese = len(_CJK.findall(before)) + len(_CJK.findall(after))
    utf8_like = has_bom or 2 * chinese >= after.count("\ufffd")
    if utf8_like:
        raise FileHeld(
            "file_unreadable",
            f"mixed encodings: the file is UTF-8 but the bytes at {where} are not "
            "(a GBK value inside a UTF-8 file?); re-export the whole file in one encoding",
        )
    gbk_error = _first_gb18030_error(f, start)
    if gbk_error is not None:
        off, line = gbk_error
        raise FileHeld(
            "file_unreadable",
            f"undecodable text: not UTF-8 (first bad byte at {where}) "
            f"nor GBK (first bad byte at byte offset {off}, line {line})",
        )
    return "gbk", "gb18030"


def _first_gb18030_error(f: Any, start: int) -> tuple[int, int] | None:
    f.seek(start)
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    pos = start
    lines = 0
    while True:
        block = f.read(_SCAN_BLOCK)
        if not block:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return pos, lines + 1
            return None
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            rel = max(exc.start - pending, 0)
            return pos + rel, lines + block.count(b"\n", 0, rel) + 1
        lines += block.count(b"\n")
        pos += len(block)


def _sniff_delimiter(header: str) -> str:
    return "\t" if header.count("\t") > header.count(",") else ","


# --------------------------------------------------------------------------------------
# CSV: second pass (parse chunks)


def _csv_frames(path: Path, ent: Entity, layout: _CsvLayout) -> Iterator[pl.DataFrame]:
    names = layout.names
    if not layout.chunks:
        yield _empty_strings(names)
        return
    for i, chunk in enumerate(layout.chunks):
        last = i == len(layout.chunks) - 1
        if last and layout.parsed_last is not None:
            frame: pl.DataFrame | None = layout.parsed_last
            layout.parsed_last = None
        else:
            frame = _parse_chunk(path, layout, chunk, last=last)
        if frame is None:
            # The fast scan and the parser disagree but the csv module finds nothing
            # wrong (a '"' inside an unquoted field): let the csv module read the rest.
            yield from _exact_frames(path, layout, chunk)
            return
        yield frame


def _parse_chunk(
    path: Path, layout: _CsvLayout, chunk: _Chunk, *, last: bool
) -> pl.DataFrame | None:
    """Parse one record-aligned chunk with pyarrow; None when only the csv module can."""
    with path.open("rb") as f:
        f.seek(chunk.start)
        raw = f.read(chunk.end - chunk.start)
    data = raw if layout.codec.startswith("utf-8") else raw.decode(layout.codec).encode("utf-8")
    placeholders = [f"c{i}" for i in range(len(layout.names))]
    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row.actual_columns)
        return "skip"

    table = None
    block_size = 4 << 20
    for _ in range(2):
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=placeholders, block_size=block_size),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=True,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(placeholders, pa.string()),
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            break
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc) and block_size <= len(data):
                block_size = len(data) + 1  # a record longer than a block (a 10 MB field)
                invalid.clear()
                continue
            table = None
            break
    if table is None or invalid or table.num_rows != chunk.rows:
        _locate_problem(raw, layout, chunk, last=last)
        return None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.rename(dict(zip(placeholders, layout.names, strict=True)))


def _csv_reader(text: Iterable[str], delimiter: str) -> Any:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)  # the default 128 KiB refuses a long field
    return csv.reader(text, delimiter=delimiter, strict=True)


def _locate_problem(raw: bytes, layout: _CsvLayout, chunk: _Chunk, *, last: bool) -> None:
    """Re-read one chunk with the csv module and raise FileHeld naming the line; return
    when the csv module finds every row well formed."""
    text = raw.decode(layout.codec.replace("-sig", ""))
    reader = _csv_reader(io.StringIO(text, newline=""), layout.delimiter)
    _judge_rows(reader, len(layout.names), chunk.first_line - 1, chunk.first_row, last_chunk=last)


def _judge_rows(
    reader: Any, ncols: int, line_offset: int, first_row: int, *, last_chunk: bool
) -> None:
    """Walk rows and raise FileHeld on the first malformed one (the csv module is the judge).

    ``line_offset`` is the physical line before the reader's first line; ``first_row`` the
    data-row number of its first row. Returns when every row is well formed.
    """
    row_number = first_row - 1
    start_line = line_offset + 1
    bad: tuple[int, int, int] | None = None  # (line, data row, fields)
    rows_after_bad = False
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            if bad is not None:
                rows_after_bad = True
                break
            if "unexpected end of data" in str(exc):
                if last_chunk:
                    raise FileHeld(
                        "file_truncated",
                        f"the file ends inside a quoted field opened on line {start_line} "
                        f"(data row {row_number + 1}): the file is cut short",
                    ) from None
                raise FileHeld(
                    "file_unreadable", f"the quote opened on line {start_line} is never closed"
                ) from None
            raise FileHeld(
                "file_unreadable", f"malformed quoting on line {start_line}: {exc}"
            ) from None
        if row:
            if bad is not None:
                rows_after_bad = True
                break
            row_number += 1
            if len(row) != ncols:
                bad = (start_line, row_number, len(row))
        start_line = line_offset + reader.line_num + 1
    if bad is None:
        return
    line, number, fields = bad
    if last_chunk and not rows_after_bad and fields < ncols:
        raise FileHeld(
            "file_truncated",
            f"the last row (line {line}, data row {number}) has {fields} of {ncols} fields: "
            "the file is cut short",
        )
    raise FileHeld(
        "file_unreadable",
        f"line {line} (data row {number}) has {fields} fields, the header has {ncols}",
    )


def _exact_check(path: Path, layout: _CsvLayout) -> None:
    with _text(path, layout) as text:
        _judge_rows(
            _csv_reader(text, layout.delimiter),
            len(layout.names),
            layout.header_lines,
            1,
            last_chunk=True,
        )


def _exact_count(path: Path, header_end: int) -> int:
    with path.open("rb") as f:
        f.seek(header_end)
        data = io.TextIOWrapper(f, encoding="latin-1", newline="")
        return sum(1 for row in csv.reader(data) if row)


def _text(path: Path, layout: _CsvLayout, start: int | None = None) -> io.TextIOWrapper:
    f = path.open("rb")
    f.seek(layout.header_end if start is None else start)
    return io.TextIOWrapper(f, encoding=layout.codec.replace("-sig", ""), newline="")


def _exact_frames(path: Path, layout: _CsvLayout, chunk: _Chunk) -> Iterator[pl.DataFrame]:
    """Read from ``chunk`` to EOF with the csv module (the slow, authoritative path)."""
    with _text(path, layout, chunk.start) as text:
        # First make sure the rest is well formed, so nothing is yielded from a bad file.
        _judge_rows(
            _csv_reader(text, layout.delimiter),
            len(layout.names),
            chunk.first_line - 1,
            chunk.first_row,
            last_chunk=True,
        )
    with _text(path, layout, chunk.start) as text:
        batch: list[list[str]] = []
        for row in _csv_reader(text, layout.delimiter):
            if not row:
                continue
            batch.append(row)
            if len(batch) >= 100_000:
                yield _rows_to_frame(batch, layout.names)
                batch = []
        if batch:
            yield _rows_to_frame(batch, layout.names)


def _rows_to_frame(rows: list[list[str]], names: list[str]) -> pl.DataFrame:
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    return pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String()))


# --------------------------------------------------------------------------------------
# xlsx


def _xlsx_rows(path: Path) -> Iterator[list[tuple[Any, str, str | None]]]:
    """(value, data_type, number_format) per cell of each row of the first sheet; FileHeld if corrupt."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise FileHeld(
            "file_unreadable", f"{path.name} is not a readable xlsx workbook ({_short(exc)})"
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
                "file_unreadable", f"{path.name}: the first sheet cannot be read ({_short(exc)})"
            ) from None
    finally:
        wb.close()


def _empty_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _read_xlsx(path: Path, ent: Entity) -> tuple[pl.DataFrame, pl.DataFrame]:
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
            names = _canonical_header(header, ent)
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


# --------------------------------------------------------------------------------------
# parquet


def _parquet_frames(
    path: Path, ent: Entity, chunk_rows: int
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except Exception as exc:
        raise FileHeld(
            "file_unreadable", f"{path.name} is not a readable parquet file ({_short(exc)})"
        ) from None
    names = _canonical_header(list(schema.names), ent)
    for f in schema:
        if pa.types.is_nested(f.type):
            raise FileHeld("file_unreadable", f"column {f.name!r} holds nested values ({f.type})")
    kinds = [ent.column(n) for n in names]
    emitted = False
    try:
        batches = pf.iter_batches(batch_size=min(chunk_rows, 262_144), use_threads=True)
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
            frame = frame.select(_as_text(frame.schema[c.name], c) for c in kinds)
            emitted = True
            yield frame, _no_findings()
    except FileHeld:
        raise
    except Exception as exc:
        raise FileHeld(
            "file_unreadable", f"{path.name}: parquet data cannot be read ({_short(exc)})"
        ) from None
    if not emitted:
        yield _empty_strings(names), _no_findings()


def _as_text(dtype: pl.DataType, col: Column) -> pl.Expr:
    """Cast a parquet column to text the way a CSV would have written it."""
    c = pl.col(col.name)
    if dtype == pl.String:
        return c
    if dtype.is_float():
        integral = c.is_finite() & (c == c.floor()) & (c.abs() < 2**53)
        text = pl.when(integral).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.cast(pl.String))
        if col.kind == "prov2":
            text = (
                pl.when(integral)
                .then(c.cast(pl.Int64).cast(pl.String).str.zfill(2))
                .otherwise(text)
            )
        return text.alias(col.name)
    if dtype.is_integer() and col.kind == "prov2":
        return c.cast(pl.String).str.zfill(2)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return c.dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")
        full = c.dt.to_string("%Y-%m-%dT%H:%M:%S%.f")
        if col.kind == "timestamp":
            return full
        midnight = c.dt.time() == dt.time(0)
        return pl.when(midnight).then(c.dt.to_string("%Y-%m-%d")).otherwise(full).alias(col.name)
    return c.cast(pl.String)  # bool -> true/false, date -> ISO, decimal -> plain


# --------------------------------------------------------------------------------------
# shared


def _no_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def _empty_strings(names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(names, pl.String()))


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


def _rebatch(
    pieces: Iterator[tuple[pl.DataFrame, pl.DataFrame]], ent: Entity, chunk_rows: int
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Re-cut frames into chunks of exactly ``chunk_rows`` rows, numbering rows on."""
    buf: list[pl.DataFrame] = []
    findings: list[pl.DataFrame] = []
    held = 0
    next_row = 1
    yielded = False

    def take(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        lo, hi = frame["_row_number"].min(), frame["_row_number"].max()
        all_found = pl.concat(findings) if findings else _no_findings()
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
            pl.concat(buf)
            if buf
            else _finish(_empty_strings([c.name for c in ent.columns]), ent, 1)
        )
        yield take(whole)


def _quote(value: str, limit: int) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 160 else text[:160] + "…"
