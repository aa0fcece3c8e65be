"""A delivery full of bad input, next to good files: each bad file gets its own reason, no
row or file goes unaccounted for, and the good files of the same delivery load.

One delivery date holds the hand-built registry of tests/fixtures/landing_tiny (day 1)
plus one file per kind of bad input (LANDING_CONTRACT.md: a held file never stops the rest
of the delivery) and a few valid but awkward ones. The defective CSVs come from
tests/fixtures/files (the readers' unit tests use the same files); the binary garbage, the
10 MB field, the xlsx and the symlink are made here. Synthetic data only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from contract.landing import CONTRACT
from contract.reasons import CATALOGUE
from pipeline.context import RunContext
from pipeline.steps import run_all

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "landing_tiny" / "2015-03-01"
DEFECTS = ROOT / "tests" / "fixtures" / "files"
D = dt.date(2015, 3, 1)
H1 = "5201020012010001"

# Quoted fields with a comma, a line feed, CR LF and doubled quotes: valid CSV (RFC 4180).
QUOTED = ["网店培训,第一期\n(上午)", 'say "hi"\r\nline two\n\nline four', "plain"]
BIG = "村" * (10 * 1024 * 1024 // 3 + 1)  # a field of 10 MB (UTF-8)
FORMULA_TEXT = "=SUM(A1:A9)"  # a text cell that starts with '='
FORMULA = '=HYPERLINK("http://example.org","x")'  # a formula cell: kept as its text

# file name -> (outcome, reason) in audit.files
EXPECTED = {
    # the registry of day 1 (listed in the manifest with checksums and row counts)
    "villages_520102.csv": ("loaded", None),
    "households_520102.csv": ("loaded", None),
    "members_520102.csv": ("loaded", None),
    "targets_national.csv": ("loaded", None),
    # valid but awkward
    "assistance_520102.csv": ("loaded", None),  # quoted newlines
    "assistance_520102_header_only.csv": ("loaded", None),  # a county with no changes
    "assistance_520102_big_field.csv": ("loaded", None),  # a 10 MB field
    "villages_520102_formulas.xlsx": ("loaded", None),  # text and formulas starting with '='
    # bad input, one per kind
    "villages_520103.csv": ("held", "file_empty"),  # zero bytes
    "households_520103.csv": ("held", "file_truncated"),  # truncated last line
    "villages_520104.csv": ("held", "file_unreadable"),  # binary garbage named .csv
    "villages_520105.csv": ("held", "header_unknown_column"),  # semicolons
    "households_520106.csv": ("held", "file_unreadable"),  # UTF-8 and GBK in one file
    "villages_520107.csv": ("held", "header_duplicate_column"),  # one column named twice
    "villages_520108.csv": ("held", "path_outside_landing"),  # symlink to outside
    "../households_520102.csv": ("held", "path_outside_landing"),  # manifest: '..'
    "/tmp/villages_520102.csv": ("held", "path_outside_landing"),  # manifest: absolute
    "households_520109.csv": ("held", "manifest_missing_file"),  # listed, not delivered
}
# what the held files' details must say (besides their reason code)
DETAILS = {
    "villages_520103.csv": "zero-byte",
    "households_520103.csv": "line 4",
    "villages_520104.csv": "NUL byte",
    "villages_520105.csv": "comma or a tab",
    "households_520106.csv": "mixed encodings",
    "villages_520107.csv": "village_name",
    "villages_520108.csv": "symlink",
    "../households_520102.csv": "outside the delivery folder",
    "/tmp/villages_520102.csv": "outside the delivery folder",
    "households_520109.csv": "not delivered",
}
# data rows of the loaded files
LOADED_ROWS = {
    "villages_520102.csv": 2,
    "households_520102.csv": 3,
    "members_520102.csv": 9,
    "targets_national.csv": 1,
    "assistance_520102.csv": 3,
    "assistance_520102_header_only.csv": 0,
    "assistance_520102_big_field.csv": 2,
    "villages_520102_formulas.xlsx": 2,
}


def _csv(entity: str, rows: list[dict]) -> str:
    cols = list(CONTRACT[entity].column_names)

    def cell(v: str | None) -> str:
        if v is None:
            return ""
        if any(ch in v for ch in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v

    lines = [",".join(cols)] + [",".join(cell(r.get(c)) for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


def _event(event_id: str, platform: str | None) -> dict:
    return {
        "event_id": event_id,
        "household_id": H1,
        "program": "ecommerce_training",
        "platform": platform,
        "event_date": "2015-02-27",
        "amount_yuan": "800.00",
        "updated_at": "2015-02-28T10:00:00",
    }


def _xlsx(path: Path) -> None:
    import xlsxwriter

    cols = list(CONTRACT["villages"].column_names)
    rows = [
        ("520102001203", FORMULA_TEXT),
        ("520102001204", FORMULA),
    ]
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet()
    for j, c in enumerate(cols):
        ws.write_string(0, j, c)
    for i, (code, name) in enumerate(rows, start=1):
        values = {
            "village_code": code,
            "is_poor_village": "true",
            "rural_population": "300",
            "has_ecommerce_station": "false",
            "updated_at": "2015-02-28T10:00:00",
        }
        for j, c in enumerate(cols):
            if c == "village_name":
                if name == FORMULA:
                    ws.write_formula(i, j, name)
                else:
                    ws.write_string(i, j, name)  # a text cell, never a formula
            elif c in values:
                ws.write_string(i, j, values[c])
    wb.close()


def write_bad_delivery(folder: Path, outside: Path) -> None:
    """landing/D: the registry of day 1, the awkward valid files and the bad ones."""
    folder.mkdir(parents=True)
    for name in EXPECTED:
        if (TINY / name).exists():
            shutil.copy(TINY / name, folder / name)
    (folder / "assistance_520102.csv").write_text(
        _csv("assistance", [_event(f"Q{i}", p) for i, p in enumerate(QUOTED, start=1)]),
        encoding="utf-8",
        newline="",
    )
    (folder / "assistance_520102_header_only.csv").write_text(_csv("assistance", []))
    (folder / "assistance_520102_big_field.csv").write_text(
        _csv("assistance", [_event("B1", BIG), _event("B2", "small")]), encoding="utf-8"
    )
    _xlsx(folder / "villages_520102_formulas.xlsx")

    (folder / "villages_520103.csv").write_bytes(b"")
    shutil.copy(DEFECTS / "households_truncated_last_line.csv", folder / "households_520103.csv")
    garbage = bytearray(random.Random(10).randbytes(4096))
    garbage[100] = 0  # binary data: a NUL byte in the first line
    (folder / "villages_520104.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(garbage))
    shutil.copy(DEFECTS / "villages_semicolon_delimiter.csv", folder / "villages_520105.csv")
    shutil.copy(DEFECTS / "households_mixed_utf8_gbk.csv", folder / "households_520106.csv")
    shutil.copy(DEFECTS / "villages_duplicate_header.csv", folder / "villages_520107.csv")
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text((TINY / "villages_520102.csv").read_text())
    os.symlink(outside, folder / "villages_520108.csv")

    listed = [n for n, (outcome, _) in EXPECTED.items() if outcome == "loaded"]
    manifest = [
        {
            "name": n,
            "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest(),
            "rows": LOADED_ROWS[n],
        }
        for n in listed
    ]
    for name in ("../households_520102.csv", "/tmp/villages_520102.csv", "households_520109.csv"):
        manifest.append({"name": name, "sha256": "0" * 64, "rows": 3})
    (folder / "_manifest.json").write_text(json.dumps({"files": manifest}, indent=1))


def _landing_state(folder: Path) -> dict[str, tuple]:
    return {
        p.name: (p.is_symlink(), os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in sorted(folder.iterdir())
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    base = tmp_path_factory.mktemp("bad_input")
    root = base / "data"
    folder = root / "landing" / D.isoformat()
    write_bad_delivery(folder, base / "outside" / "villages_520102.csv")
    before = _landing_state(folder)
    out = run_all(RunContext.local(D, root))
    after = _landing_state(folder)
    return root, out, {"before": before, "after": after}


def _q(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_each_bad_file_is_held_with_its_own_reason(loaded: tuple[Path, dict, dict]) -> None:
    root, out, _ = loaded
    wh = root / "warehouse" / "poverty.duckdb"
    files = {
        name: (outcome, reason, detail)
        for name, outcome, reason, detail in _q(
            wh,
            "SELECT file_name, outcome, reason, detail FROM audit.files WHERE delivery_date = ?",
            [D],
        )
    }
    assert {n: v[:2] for n, v in files.items()} == EXPECTED, (
        "every entry and manifest line is listed"
    )
    for name, says in DETAILS.items():
        reason = files[name][1]
        assert CATALOGUE[reason].scope == "file"
        assert says in files[name][2], (name, files[name][2])
    # Every held file is also in the quarantine, with the same reason.
    quarantined = _q(
        wh,
        "SELECT file_name, outcome, reason FROM audit.quarantine"
        " WHERE delivery_date = ? AND row_number IS NULL",
        [D],
    )
    held = {(n, "held", r) for n, (o, r) in EXPECTED.items() if o == "held"}
    assert set(quarantined) == held and len(quarantined) == len(held)
    assert out["load"]["files"] == len(EXPECTED)
    assert out["load"]["files_held"] == len(held)


def test_nothing_is_lost(loaded: tuple[Path, dict, dict]) -> None:
    root, _, landing = loaded
    wh = root / "warehouse" / "poverty.duckdb"
    recon = {
        r[0]: r[1:]
        for r in _q(
            wh,
            "SELECT file_name, received, applied, stale, duplicate, parked, held, warned"
            " FROM audit.reconciliation WHERE delivery_date = ?",
            [D],
        )
    }
    assert recon.keys() == EXPECTED.keys(), "every file has its reconciliation row"
    for name, (received, applied, stale, duplicate, parked, held, _) in recon.items():
        assert received == applied + stale + duplicate + parked + held, name
        if name in LOADED_ROWS:
            assert received == LOADED_ROWS[name], name
        else:
            assert applied == stale == duplicate == parked == 0, name
    # Every row of the loaded files is applied (nothing else is wrong with them).
    assert {n: recon[n][1] for n in LOADED_ROWS} == LOADED_ROWS
    # The landing folder is read, never changed.
    assert landing["after"] == landing["before"]


def test_good_files_of_the_same_delivery_load(loaded: tuple[Path, dict, dict]) -> None:
    root, out, _ = loaded
    wh = root / "warehouse" / "poverty.duckdb"
    assert _q(wh, "SELECT state FROM audit.runs") == [("success",)]
    counts = _q(
        wh,
        "SELECT (SELECT count(*) FROM core.villages), (SELECT count(*) FROM core.households),"
        " (SELECT count(*) FROM core.members), (SELECT count(*) FROM core.targets"
        "  WHERE year = 2015 AND province_code = '52'), (SELECT count(*) FROM core.assistance)",
    )
    assert counts == [(4, 3, 9, 1, 5)]
    assert _q(wh, "SELECT household_id, head_name FROM core.households ORDER BY 1") == [
        ("5201020012010001", "Zhang Wei"),
        ("5201020012010002", "Li Na"),
        ("5201020012020001", "Wang Fang"),
    ]
    assert out["publish"]["as_of_date"] == D.isoformat()


def test_quoted_newlines_and_a_10_mb_field_load_intact(loaded: tuple[Path, dict, dict]) -> None:
    root, _, _ = loaded
    wh = root / "warehouse" / "poverty.duckdb"
    got = dict(_q(wh, "SELECT event_id, platform FROM core.assistance WHERE event_id LIKE 'Q%'"))
    assert got == {"Q1": QUOTED[0], "Q2": QUOTED[1], "Q3": QUOTED[2]}
    big = _q(
        wh,
        "SELECT length(platform), platform = ? FROM core.assistance WHERE event_id = 'B1'",
        [BIG],
    )
    assert big == [(len(BIG), True)]
    assert _q(wh, "SELECT platform FROM core.assistance WHERE event_id = 'B2'") == [("small",)]


def test_xlsx_text_starting_with_equals_stays_text(loaded: tuple[Path, dict, dict]) -> None:
    root, _, _ = loaded
    expected = [("520102001203", FORMULA_TEXT), ("520102001204", FORMULA)]
    sql = "SELECT village_code, village_name FROM core.villages WHERE village_code > '520102001202' ORDER BY 1"
    assert _q(root / "warehouse" / "poverty.duckdb", sql) == expected
    assert _q(root / "warehouse" / "analytics.duckdb", sql) == expected
