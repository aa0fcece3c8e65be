"""Read generated files back into canonical string frames (tests and inspection).

This is deliberately simple and independent of the pipeline's own readers: it undoes what
:mod:`generator.formats` did (encoding, separator, Chinese headers and labels,
boolean, date and timestamp spellings) so tests can compare what was written with what
was meant.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import polars as pl

from contract.landing import CONTRACT, FALSE_VALUES, FILE_NAME_RE, MANIFEST_NAME, TRUE_VALUES


def decode_csv(data: bytes) -> tuple[str, str, str]:
    """Text, encoding and separator of a delivered CSV file."""
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data[3:].decode("utf-8"), "utf-8-sig"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("gbk"), "gbk"
    first = text.split("\n", 1)[0]
    return text, encoding, "\t" if "\t" in first else ","


def read_raw(path: Path) -> tuple[pl.DataFrame, dict]:
    """All-string frame with the file's own headers, and facts about the file."""
    data = path.read_bytes()
    ext = path.suffix.lstrip(".")
    info: dict = {"ext": ext, "numeric_cells": set()}
    if ext == "csv":
        text, enc, sep = decode_csv(data)
        info.update(encoding=enc, separator=sep)
        frame = pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False)
    elif ext == "parquet":
        frame = pl.read_parquet(io.BytesIO(data))
        frame = frame.with_columns(pl.all().cast(pl.String))
    else:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        header = [str(h) for h in rows[0]]
        out: list[list[str | None]] = []
        for i, row in enumerate(rows[1:], start=1):
            vals: list[str | None] = []
            for j, v in enumerate(row):
                if v is None:
                    vals.append(None)
                elif isinstance(v, bool):
                    vals.append(str(v).lower())
                elif isinstance(v, dt.datetime):
                    vals.append(v.date().isoformat())
                elif isinstance(v, int | float):
                    info["numeric_cells"].add((i, header[j]))
                    vals.append(str(int(v)) if float(v).is_integer() else repr(float(v)))
                else:
                    vals.append(str(v))
            out.append(vals)
        wb.close()
        frame = pl.DataFrame(out, schema=dict.fromkeys(header, pl.String), orient="row")
    return frame, info


def canonical(entity: str, frame: pl.DataFrame) -> pl.DataFrame:
    """English headers, English codes, true/false, YYYY-MM-DD, causes joined with ';'."""
    spec = CONTRACT[entity]
    aliases = spec.header_aliases
    frame = frame.rename({c: aliases[c] for c in frame.columns if c in aliases})
    exprs = []
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        c = pl.col(col.name)
        if col.kind == "bool":
            low = c.str.to_lowercase()
            e = (
                pl.when(low.is_in(list(TRUE_VALUES)))
                .then(pl.lit("true"))
                .when(low.is_in(list(FALSE_VALUES)))
                .then(pl.lit("false"))
                .otherwise(c)
            )
        elif col.kind == "date":
            digits = c.str.replace_all(r"[/-]", "")
            e = (
                pl.when(digits.str.contains(r"^\d{8}$"))
                .then(
                    pl.concat_str(
                        digits.str.slice(0, 4),
                        pl.lit("-"),
                        digits.str.slice(4, 2),
                        pl.lit("-"),
                        digits.str.slice(6, 2),
                    )
                )
                .otherwise(c)
            )
        elif col.kind == "enum":
            back = {zh: code for code, zh in col.enum}
            e = c.replace(back)
        elif col.kind == "causes":
            back = {zh: code for code, zh in col.enum}
            e = (
                c.str.replace_all("、", ";")
                .str.split(";")
                .list.eval(pl.element().replace(back))
                .list.join(";")
            )
        elif col.kind == "timestamp":
            e = c.str.replace(r"\+08:00$", "")
        else:
            e = c
        exprs.append(e.alias(col.name))
    return frame.with_columns(exprs)


def read_delivery(folder: Path) -> dict[str, pl.DataFrame]:
    """Every data file of a delivery folder, canonical, concatenated per entity, with
    ``_file_name`` and ``_row_number`` (data rows counted from 1)."""
    out: dict[str, list[pl.DataFrame]] = {}
    for path in sorted(folder.iterdir()):
        m = FILE_NAME_RE.match(path.name)
        if not m or path.stat().st_size == 0:
            continue
        entity = m["entity"]
        try:
            raw, _ = read_raw(path)
        except Exception:  # planted unreadable files
            continue
        if set(raw.columns) - set(CONTRACT[entity].header_aliases) or len(set(raw.columns)) != len(
            raw.columns
        ):
            continue
        frame = canonical(entity, raw).with_columns(
            _file_name=pl.lit(path.name), _row_number=pl.int_range(1, pl.len() + 1)
        )
        out.setdefault(entity, []).append(frame)
    return {e: pl.concat(fs, how="diagonal") for e, fs in out.items()}


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
