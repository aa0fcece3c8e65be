"""Stage many UTF-8 CSV files of one entity with one DuckDB scan per batch of files.

This is the ingest's fast path for the bulk of a delivery (a national delivery is
thousands of UTF-8 CSV files). The per-file reader (``ingest.readers.csv_reader``,
through :func:`ingest.staging.ingest_file`) stays the judge: every file this path cannot
vouch for goes to it, so every reason code and detail stays exactly what it was.

For each batch of files that share a delimiter and a header (same canonical columns in
the same order):

1. **Probe** each file in Python at memory speed: the header line (decoded as UTF-8 and
   mapped to canonical names by the landing contract), the count of line feeds, and the
   bytes DuckDB's reader would accept silently or that make a count ambiguous: a NUL
   byte, a carriage return outside a CRLF pair, a blank line, a quote in the header.
   Such a file goes to the judge.
2. **Read** the batch with ``read_csv`` and every option pinned (no sniffing: header,
   delimiter, quote, escape, every column VARCHAR, strict mode, UTF-8), rejects stored,
   into a temporary table: insertion order keeps each file's rows together and in file
   order, so a row's ``_row_number`` is its position in its file.
3. **Vouch** for a file only if DuckDB rejected none of its lines, its rows are
   contiguous, and the line feeds the probe counted are exactly the header's, one per
   row and the ones inside values (a last row without a line feed counted). Anything
   else (and a row count that differs from the manifest's) sends the file to the judge:
   DuckDB cannot silently lose or add a row of a file this path stages.
4. **Type** the vouched rows in slices (``ingest.typing.type_rows``), write typed staging
   and the rows typing held, with the same lineage, columns and order as the judge.

GBK files fail the UTF-8 read and go to the judge, which transcodes them; xlsx and
Parquet files never come here.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

import settings
from contract.landing import CONTRACT, CSV_DELIMITERS, CSV_ENCODINGS
from ingest.readers.common import FileHeld, _finish, canonical_header
from ingest.typing import type_rows
from settings import faults

log = logging.getLogger(__name__)

_BOM = codecs.BOM_UTF8
_LF, _CR = 0x0A, 0x0D
_BLOCK = 16 << 20  # bytes read per step of the probe
_MAX_HEADER_BYTES = 1 << 20
_UTF8, _UTF8_BOM, _GBK = CSV_ENCODINGS
_COMMA, _TAB = CSV_DELIMITERS
# Bytes of CSV read by one DuckDB scan; None: settings.ingest_batch_mb().
BATCH_BYTES: int | None = None
# Rows typed and written at a time.
SLICE_ROWS = 1_000_000


@dataclass(frozen=True)
class CsvFile:
    """A pending CSV file of the delivery, as the discover ledger lists it."""

    path: Path
    source: str
    manifest_rows: int | None


@dataclass
class Probe:
    file: CsvFile
    encoding: str
    delimiter: str
    names: tuple[str, ...]
    line_feeds: int
    ends_with_line_feed: bool
    quoted: bool  # has a '"' past the header: a value may hold a line feed


@dataclass
class _Tally:
    typed: int = 0
    held: int = 0


@dataclass
class ScanOutcome:
    """What the fast path staged (file name -> ledger result) and the files it leaves to
    the judge, in the order given."""

    results: dict[str, dict] = field(default_factory=dict)
    to_judge: list[CsvFile] = field(default_factory=list)


def probe(file: CsvFile, entity: str) -> Probe | None:
    """The file's header and line feeds; None when only the judge may read it."""
    path = file.path
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size == 0:
        return None
    line_feeds = 0
    quoted = False
    header: bytes | None = None
    tail = b""
    last = b""
    with path.open("rb") as f:
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            if header is None:
                end = block.find(b"\n")
                if end < 0 or end > _MAX_HEADER_BYTES:
                    return None  # a header longer than a block: the judge knows the reason
                header = block[: end + 1]
            if b"\x00" in block:
                return None
            crlf = b"\r" in block
            if crlf and block.count(b"\r") != block.count(b"\r\n"):
                return None  # a lone carriage return (or a CRLF cut by the block boundary)
            seam = tail + block[:2]
            feeds = _line_feeds(block)
            if _blank_line(block, feeds, crlf) or b"\n\n" in seam or b"\n\r\n" in seam:
                return None  # a blank line: not a row, and the count could not tell
            line_feeds += feeds.size
            quoted = quoted or b'"' in block
            tail = block[-2:]
            last = block[-1:]
    if header is None:
        return None
    bom = header.startswith(_BOM)
    text_bytes = header[len(_BOM) :] if bom else header
    if b'"' in text_bytes:
        return None
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return None
    delimiter = _TAB if text.count(_TAB) > text.count(_COMMA) else _COMMA
    cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    if not [c for c in cells if c.strip()]:
        return None
    try:
        names = canonical_header(cells, CONTRACT[entity], delimiter=delimiter)
    except FileHeld:
        return None
    return Probe(
        file,
        _UTF8_BOM if bom else _UTF8,
        delimiter,
        tuple(names),
        line_feeds,
        last == b"\n",
        quoted,
    )


def _line_feeds(block: bytes) -> np.ndarray:
    """Positions of the line feeds in ``block`` (NumPy releases the GIL while it looks, so
    threads probe files side by side)."""
    return np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == _LF)


def _blank_line(block: bytes, feeds: np.ndarray, crlf: bool) -> bool:
    """Whether ``block`` holds ``\\n\\n`` or, when it has carriage returns, ``\\n\\r\\n``:
    two line feeds one apart, or two apart with a carriage return between."""
    gaps = np.diff(feeds)
    if bool((gaps == 1).any()):
        return True
    if not crlf:
        return False
    after = np.frombuffer(block, dtype=np.uint8)[feeds[:-1][gaps == 2] + 1]
    return bool((after == _CR).any())


def probe_all(files: list[CsvFile], entity: str) -> list[Probe | None]:
    """:func:`probe` of each file, in order, on as many threads as there are cores."""
    if len(files) < 2:
        return [probe(f, entity) for f in files]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(lambda f: probe(f, entity), files))


def _batches(probes: list[Probe], batch_bytes: int) -> Iterator[list[Probe]]:
    """Files grouped by (delimiter, header), in the given order, cut at about
    ``batch_bytes`` of CSV."""
    groups: dict[tuple[str, tuple[str, ...]], list[Probe]] = {}
    for p in probes:
        groups.setdefault((p.delimiter, p.names), []).append(p)
    for group in groups.values():
        batch: list[Probe] = []
        size = 0
        for p in group:
            batch.append(p)
            size += p.file.path.stat().st_size
            if size >= batch_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_sql(batch: list[Probe]) -> str:
    first = batch[0]
    files = "[" + ", ".join(_quote(str(p.file.path)) for p in batch) + "]"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(first.names))) + "}"
    delim = "'\t'" if first.delimiter == _TAB else "','"
    return (
        f"SELECT file_index AS _f, * FROM read_csv({files}, header = true, delim = {delim},"
        " quote = '\"', escape = '\"', columns = " + columns + ", auto_detect = false,"
        " strict_mode = true, encoding = 'utf-8', null_padding = false, comment = '',"
        " skip = 0, normalize_names = false, store_rejects = true, rejects_limit = 10,"
        " parallel = true)"
    )


def _connect(work_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={"memory_limit": settings.ingest_memory(), "threads": os.cpu_count() or 1}
    )
    con.execute(f"SET temp_directory = {_quote(str(work_dir))}")
    # The scan's rows come out in file order, each file's rows in line order.
    con.execute("SET preserve_insertion_order = true")
    return con


def ingest_csv_files(
    files: list[CsvFile],
    *,
    entity: str,
    delivery_date: dt.date,
    stg_dir: Path,
    rejects_dir: Path,
    batch_bytes: int | None = None,
    prefix: str = "_batch",
) -> ScanOutcome:
    """Stage every file the fast path can vouch for; list the rest for the judge.

    Batch ``k`` writes ``<prefix><k>.<part>.parquet`` (``pipeline.parts`` names the
    prefix of a province's part)."""
    outcome = ScanOutcome()
    probes: list[Probe] = []
    for f, p in zip(files, probe_all(files, entity), strict=True):
        if p is None:
            outcome.to_judge.append(f)
        else:
            probes.append(p)
    if not probes:
        return outcome
    with tempfile.TemporaryDirectory(prefix="povdb-scan-") as tmp:
        con = _connect(Path(tmp))
        try:
            size = batch_bytes or BATCH_BYTES or settings.ingest_batch_mb() << 20
            for k, batch in enumerate(_batches(probes, size)):
                judged = _ingest_batch(
                    con,
                    f"{prefix}{k:04d}",
                    batch,
                    entity,
                    delivery_date,
                    stg_dir,
                    rejects_dir,
                    outcome,
                )
                outcome.to_judge.extend(judged)
        finally:
            con.close()
    order = {f.path.name: i for i, f in enumerate(files)}
    outcome.to_judge.sort(key=lambda f: order[f.path.name])
    return outcome


def _ingest_batch(
    con: duckdb.DuckDBPyConnection,
    stem: str,
    batch: list[Probe],
    entity: str,
    delivery_date: dt.date,
    stg_dir: Path,
    rejects_dir: Path,
    outcome: ScanOutcome,
) -> list[CsvFile]:
    """Read, type and write one batch in a single streaming pass; then vouch for its files,
    take the rows of those it cannot vouch for out of what was written, and return them."""
    ent = CONTRACT[entity]
    names = list(batch[0].names)
    placeholders = [f"c{i}" for i in range(len(names))]
    file_names = [p.file.path.name for p in batch]
    sources = [p.file.source for p in batch]
    con.execute("DROP TABLE IF EXISTS reject_errors")
    con.execute("DROP TABLE IF EXISTS reject_scans")
    seen = _Seen([p.quoted for p in batch])
    written: list[Path] = []
    tallies = [_Tally() for _ in batch]
    reader = con.sql(_read_sql(batch)).to_arrow_reader(SLICE_ROWS)
    for part, raw in enumerate(_slices(reader)):
        raw = raw.rename(dict(zip(placeholders, names, strict=True)))
        first = seen.next_rid
        seen.add(raw)
        # _row_number carries a row id through typing (unique in the batch); it becomes
        # the row's number in its file when written.
        rid = pl.int_range(first, first + raw.height, dtype=pl.Int64).alias("_row_number")
        frame = _finish(raw.with_columns(rid), ent, 1)
        typed, held = type_rows(frame, entity)
        lineage = seen.lineage(file_names, sources)
        if typed.height:
            stg_dir.mkdir(parents=True, exist_ok=True)
            out = stg_dir / f"{stem}.{part:05d}.parquet"
            # zstd level 1: as small as the default level here, for less CPU.
            lineage(typed, delivery_date).write_parquet(out, compression_level=1)
            written.append(out)
            faults.checkpoint("ingest.part_written")
        if held.height:
            rejects_dir.mkdir(parents=True, exist_ok=True)
            keys = frame.select("_row_number", raw_key(frame, entity).alias("record_key"))
            held = held.join(keys, on="_row_number", how="left", maintain_order="left")
            out = rejects_dir / f"{stem}.typing.{part:05d}.parquet"
            (
                lineage(held, delivery_date)
                .with_columns(
                    detail=pl.concat_str(
                        [pl.col("column"), pl.lit(": "), pl.col("detail").fill_null("")]
                    )
                )
                .select(
                    "_delivery_date", "_file_name", "_row_number", "record_key", "reason", "detail"
                )
                .write_parquet(out)
            )
            written.append(out)
        for i, n in seen.per_file(typed).items():
            tallies[i].typed += n
        for i, n in seen.per_file(held).items():
            tallies[i].held += n
    rejected = {
        path
        for (path,) in con.execute(
            "SELECT DISTINCT s.file_path FROM reject_errors e"
            " JOIN reject_scans s USING (scan_id, file_id)"
        ).fetchall()
    }
    judged: list[CsvFile] = []
    for i, p in enumerate(batch):
        rows = seen.rows[i]
        expected = p.line_feeds - 1 + (0 if p.ends_with_line_feed else 1) - seen.feeds[i]
        why = (
            "DuckDB rejected lines"
            if str(p.file.path) in rejected
            else f"DuckDB read {rows} rows, the line feeds give {expected}"
            if rows != expected
            else "its rows came apart"
            if not seen.contiguous(i)
            else f"the manifest says {p.file.manifest_rows} rows, DuckDB read {rows}"
            if p.file.manifest_rows is not None and p.file.manifest_rows != rows
            else None
        )
        if why is not None:
            log.info("%s: read by the per-file reader (%s)", p.file.path.name, why)
            judged.append(p.file)
            continue
        result = _result(p, rows)
        result.update(typed_rows=tallies[i].typed, held_rows=tallies[i].held)
        outcome.results[p.file.path.name] = result
    if judged:
        _drop_files(written, {f.path.name for f in judged})
    return judged


def _result(p: Probe, rows: int) -> dict:
    return {
        "file_name": p.file.path.name,
        "outcome": "loaded",
        "reason": None,
        "detail": None,
        "format": "csv",
        "encoding": p.encoding,
        "delimiter": p.delimiter,
        "rows": rows,
        "typed_rows": 0,
        "held_rows": 0,
    }


def _slices(reader: Any) -> Iterator[pl.DataFrame]:
    """The scan's record batches as frames of about ``SLICE_ROWS`` rows."""
    buf: list[pl.DataFrame] = []
    held = 0
    for rb in reader:
        if rb.num_rows == 0:
            continue
        frame = pl.from_arrow(rb)
        assert isinstance(frame, pl.DataFrame)
        buf.append(frame)
        held += frame.height
        if held >= SLICE_ROWS:
            yield pl.concat(buf)
            buf, held = [], 0
    if buf:
        yield pl.concat(buf)


class _Seen:
    """What the stream showed of each file of a batch: rows, first and last row id, line
    feeds inside values."""

    def __init__(self, quoted: list[bool]) -> None:
        n = len(quoted)
        self.quoted = [i for i, q in enumerate(quoted) if q]
        self.next_rid = 0
        self.rows = [0] * n
        self.first: list[int | None] = [None] * n
        self.last = [0] * n
        self.feeds = [0] * n
        self.starts = pl.Series("start", [], dtype=pl.Int64)
        self.index = pl.Series("index", [], dtype=pl.Int64)

    def add(self, raw: pl.DataFrame) -> None:
        values = [c for c in raw.columns if c != "_f"]
        base = self.next_rid
        stats = (
            raw.select("_f")
            .with_row_index("_i")
            .group_by("_f")
            .agg(
                pl.len().alias("rows"),
                pl.col("_i").min().alias("lo"),
                pl.col("_i").max().alias("hi"),
            )
        )
        # Line feeds inside values: only in a file with a quote, and there only in the rows
        # that have one.
        inside = pl.any_horizontal(pl.col(c).str.contains("\n", literal=True) for c in values)
        feeds = (
            raw.filter(pl.col("_f").is_in(self.quoted))
            .filter(inside)
            .group_by("_f")
            .agg(
                pl.sum_horizontal(
                    pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in values
                )
                .sum()
                .alias("feeds")
            )
        )
        stats = (
            stats.join(feeds, on="_f", how="left")
            .with_columns(pl.col("feeds").fill_null(0))
            .sort("lo")
            .select("_f", "rows", "lo", "hi", "feeds")
        )
        for f, rows, lo, hi, feeds in stats.iter_rows():
            if self.first[f] is None:
                self.first[f] = base + lo
            elif self.last[f] != base + lo - 1:
                self.first[f] = -1  # not contiguous
            self.last[f] = base + hi
            self.rows[f] += rows
            self.feeds[f] += feeds
        self.next_rid += raw.height
        known = [(s, i) for i, s in enumerate(self.first) if s is not None and s >= 0]
        known.sort()
        self.starts = pl.Series("start", [s for s, _ in known], dtype=pl.Int64)
        self.index = pl.Series("index", [i for _, i in known], dtype=pl.Int64)

    def contiguous(self, i: int) -> bool:
        first = self.first[i]
        if self.rows[i] == 0:
            return first is None
        return first is not None and first >= 0 and self.last[i] - first + 1 == self.rows[i]

    def _pos(self, rid: pl.Series) -> pl.Series:
        return (self.starts.search_sorted(rid, side="right").cast(pl.Int64) - 1).rename("pos")

    def per_file(self, df: pl.DataFrame) -> dict[int, int]:
        if not df.height:
            return {}
        pos = self._pos(df["_row_number"])
        counts = pos.value_counts()
        return {
            int(self.index[p]): int(n)
            for p, n in zip(counts["pos"].to_list(), counts["count"].to_list(), strict=True)
        }

    def lineage(self, file_names: list[str], sources: list[str]) -> Any:
        index = self.index
        starts = self.starts

        def apply(df: pl.DataFrame, delivery_date: dt.date) -> pl.DataFrame:
            pos = self._pos(df["_row_number"])
            which = index.gather(pos)
            return df.with_columns(
                (df["_row_number"] - starts.gather(pos) + 1).alias("_row_number")
            ).with_columns(
                pl.lit(delivery_date).alias("_delivery_date"),
                pl.Series("_file_name", file_names, dtype=pl.String).gather(which),
                pl.Series("_source", sources, dtype=pl.String).gather(which),
            )

        return apply


def _drop_files(written: list[Path], names: set[str]) -> None:
    """Take the rows of ``names`` out of parts already written (a file sent to the judge)."""
    for path in written:
        frame = pl.read_parquet(path)
        kept = frame.filter(~pl.col("_file_name").is_in(sorted(names)))
        if kept.height == frame.height:
            continue
        if kept.height:
            tmp = path.with_name(path.name + ".tmp")
            kept.write_parquet(tmp)
            tmp.replace(path)
        else:
            path.unlink()


def raw_key(frame: pl.DataFrame, entity: str) -> pl.Expr:
    """The record's key as delivered (the key columns' text joined by ``|``)."""
    key = CONTRACT[entity].key
    cols = [
        pl.col(k).cast(pl.String).fill_null("") if k in frame.columns else pl.lit("") for k in key
    ]
    return cols[0] if len(cols) == 1 else pl.concat_str(cols, separator="|")
