"""Ingestion through the pipeline's stages (no Airflow): small synthetic landing folders run
with ``run_all`` date by date, then the warehouse is checked.

Every resident ID is built with ``make_id`` (synthetic, valid check characters); nothing
here is real personal data. The world is one county (520102) with two villages.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from support import table_contents, tables_and_core_views

from contract.idcard import check_char, make_id
from contract.landing import CONTRACT
from pipeline.context import RunContext
from pipeline.steps import run_all

COUNTY = "520102"
V1, V2 = "520102001201", "520102001202"
H1, H2, H3, H4 = V1 + "0001", V1 + "0002", V2 + "0001", V2 + "0002"
D1, D2, D3 = dt.date(2015, 3, 1), dt.date(2015, 3, 2), dt.date(2015, 3, 3)
TS0 = "2015-02-28T10:00:00"  # updated_at of the initial registration
TS2 = "2015-03-02T09:00:00"
TS3 = "2015-03-03T09:00:00"


# --- synthetic rows ---------------------------------------------------------------------


def village(code: str, name: str, **kw: Any) -> dict:
    row = {
        "village_code": code,
        "village_name": name,
        "is_poor_village": "true",
        "rural_population": "500",
        "collective_income_yuan": "12000.00",
        "has_ecommerce_station": "false",
        "ecommerce_pilot_year": None,
        "solar_capacity_kw": "30.5",
        "paper_mulberry_mu": None,
        "updated_at": TS0,
    }
    return {**row, **kw}


def person(hid: str, relation: str, birth: str, seq: int, name: str, **kw: Any) -> dict:
    born = dt.date.fromisoformat(birth)
    row = {
        "id_number": make_id(COUNTY, born, seq),
        "household_id": hid,
        "name": name,
        "relation": relation,
        "sex": "male" if seq % 2 else "female",
        "birth_date": birth,
        "education": "junior",
        "in_school": "false",
        "health": "healthy",
        "labour": "ordinary",
        "medical_insured": "true",
        "member_status": "active",
        "updated_at": TS0,
    }
    return {**row, **kw}


def household(hid: str, head: dict, size: int, net: int, **kw: Any) -> dict:
    row = {
        "household_id": hid,
        "village_code": hid[:12],
        "head_id_number": head["id_number"],
        "head_name": head["name"],
        "household_size": str(size),
        "attribute": "general",
        "main_cause": "illness",
        "other_causes": "funds;land",
        "net_income_yuan": f"{net:.2f}",
        "per_capita_income_yuan": f"{net / size:.2f}",
        "income_year": "2014",
        "food_clothing_secure": "true",
        "housing_safe": "true",
        "drinking_water_safe": "true",
        "status": "poor",
        "identified_on": "2014-06-01",
        "status_changed_on": "2014-06-01",
        "sells_online": "false",
        "updated_at": TS0,
    }
    return {**row, **kw}


# Members of H1 (3), H2 (2), H3 (1), H4 (2); H4 is not in the initial delivery.
M1 = [
    person(H1, "head", "1970-05-01", 11, "张伟"),
    person(H1, "spouse", "1972-08-08", 24, "陈丽"),
    person(H1, "child", "2005-03-03", 22, "张晓", in_school="true", education="primary"),
]
M2 = [
    person(H2, "head", "1965-07-09", 13, "李娜", health="disabled", labour="lost"),
    person(H2, "child", "1990-02-02", 26, "李明", education=None),
]
M3 = [person(H3, "head", "1980-01-02", 15, "王芳", education="senior")]
M4 = [
    person(H4, "head", "1975-11-11", 17, "赵强"),
    person(H4, "spouse", "1977-12-12", 28, "孙梅"),
]
VILLAGES = [village(V1, "青山村"), village(V2, "白云村", is_poor_village="false")]
HOUSEHOLDS = [
    household(H1, M1[0], 3, 4500, other_causes="funds"),
    household(H2, M2[0], 2, 3000, attribute="dibao_poor", main_cause="disability"),
    household(H3, M3[0], 1, 2100, other_causes=None, sells_online="true"),
]
H4_ROW = household(
    H4, M4[0], 2, 5000, identified_on="2015-03-01", status_changed_on="2015-03-01", updated_at=TS2
)


# --- writing deliveries -------------------------------------------------------------------


def _zh(entity: str, column: str, value: str | None) -> str | None:
    """The Chinese spelling of a value: enum labels, 是/否 for booleans."""
    col = CONTRACT[entity].column(column)
    if value is None:
        return None
    if col.kind == "bool":
        return "是" if value == "true" else "否"
    labels = dict(col.enum)
    if col.kind == "causes":
        return "、".join(labels[c] for c in value.split(";"))
    if col.kind == "enum":
        return labels[value]
    return value


def _csv_text(entity: str, rows: list[dict], *, sep: str = ",", zh: bool = False) -> str:
    cols = list(CONTRACT[entity].column_names)
    header = [CONTRACT[entity].column(c).zh for c in cols] if zh else cols
    lines = [sep.join(header)]
    for r in rows:
        values = [(_zh(entity, c, r.get(c)) if zh else r.get(c)) or "" for c in cols]
        lines.append(sep.join(values))
    return "\n".join(lines) + "\n"


def _write_xlsx(path: Path, entity: str, rows: list[dict]) -> None:
    import xlsxwriter

    cols = list(CONTRACT[entity].column_names)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for j, c in enumerate(cols):
        ws.write_string(0, j, c)
    for i, r in enumerate(rows, start=1):
        for j, c in enumerate(cols):
            v = r.get(c)
            kind = CONTRACT[entity].column(c).kind
            if v is None:
                continue
            if kind in ("int", "money", "number", "code12"):  # village codes may be numbers
                ws.write_number(i, j, float(v) if "." in v else int(v))
            elif kind == "bool":
                ws.write_boolean(i, j, v == "true")
            elif kind == "date":
                ws.write_datetime(i, j, dt.datetime.fromisoformat(v), date_fmt)
            elif kind == "timestamp":
                ws.write_datetime(i, j, dt.datetime.fromisoformat(v), ts_fmt)
            else:  # IDs, household ids, text and codes: text cells
                ws.write_string(i, j, v)
    wb.close()


def _write_parquet(path: Path, entity: str, rows: list[dict]) -> None:
    dtypes = {
        "int": pl.Int64,
        "money": pl.Float64,
        "number": pl.Float64,
        "bool": pl.Boolean,
        "date": pl.Date,
        "timestamp": pl.Datetime("us"),
    }
    series = []
    for col in CONTRACT[entity].columns:
        raw = [r.get(col.name) for r in rows]
        s = pl.Series(col.name, raw, dtype=pl.String)
        if col.kind == "bool":
            s = s.replace_strict({"true": True, "false": False}, return_dtype=pl.Boolean)
        elif col.kind == "date":
            s = s.str.to_date("%Y-%m-%d")
        elif col.kind == "timestamp":
            s = s.str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us")
        elif col.kind in dtypes:
            s = s.cast(dtypes[col.kind])
        series.append(s)
    pl.DataFrame(series).write_parquet(path)


def deliver(
    root: Path,
    day: dt.date,
    entity: str,
    rows: list[dict],
    *,
    fmt: str = "csv",
    name: str = "",
    source: str | None = None,
) -> Path:
    """Write ``landing/<day>/<entity>_<source><name>.<ext>`` in one of the accepted formats:
    csv (UTF-8, English headers), gbk (GBK, Chinese headers and labels), bom_tsv (UTF-8
    with BOM, tabs, 1/0 booleans, YYYY/MM/DD dates), xlsx, parquet. The source is 520102,
    or national for targets."""
    folder = root / "landing" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    source = source or ("national" if entity == "targets" else COUNTY)
    ext = fmt if fmt in ("xlsx", "parquet") else "csv"
    path = folder / f"{entity}_{source}{name}.{ext}"
    if fmt == "csv":
        path.write_bytes(_csv_text(entity, rows).encode("utf-8"))
    elif fmt == "gbk":
        path.write_bytes(_csv_text(entity, rows, zh=True).encode("gbk"))
    elif fmt == "bom_tsv":
        kinds = {c.name: c.kind for c in CONTRACT[entity].columns}

        def respell(c: str, v: str | None) -> str | None:
            if v is None:
                return v
            if kinds[c] == "bool":
                return "1" if v == "true" else "0"
            if kinds[c] == "date":
                return v.replace("-", "/")
            return v

        rows = [{c: respell(c, v) for c, v in r.items()} for r in rows]
        path.write_bytes(b"\xef\xbb\xbf" + _csv_text(entity, rows, sep="\t").encode("utf-8"))
    elif fmt == "xlsx":
        _write_xlsx(path, entity, rows)
    elif fmt == "parquet":
        _write_parquet(path, entity, rows)
    else:
        raise ValueError(fmt)
    return path


def deliver_registry(root: Path, fmt: str = "csv") -> None:
    """Day 1: the initial registration (villages, H1-H3 and their members, a target)."""
    deliver(root, D1, "villages", VILLAGES, fmt=fmt)
    deliver(root, D1, "households", HOUSEHOLDS, fmt=fmt)
    deliver(root, D1, "members", M1 + M2 + M3, fmt=fmt)
    targets = [{"year": "2015", "province_code": "52", "metric": "people_lifted", "target": "1000"}]
    deliver(root, D1, "targets", targets, fmt=fmt)


def recounty(rows: list[dict], county: str) -> list[dict]:
    """The same rows in another county: codes and IDs get its 6-digit address code (and
    IDs a new check character)."""
    out = []
    for r in rows:
        r = dict(r)
        for col in ("village_code", "household_id"):
            if r.get(col):
                r[col] = county + r[col][6:]
        for col in ("id_number", "head_id_number"):
            if r.get(col):
                first17 = county + r[col][6:17]
                r[col] = first17 + check_char(first17)
        out.append(r)
    return out


# --- running and reading ------------------------------------------------------------------


def run(root: Path, *days: dt.date) -> list[dict]:
    return [run_all(RunContext.local(d, root)) for d in days]


def rows(root: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def every_table_but_runs(root: Path) -> dict[str, list[tuple]]:
    """Every table of the warehouse (core, marts, ref and all of audit except audit.runs)
    and the core views (core.households), rows sorted."""
    con = duckdb.connect(str(root / "warehouse" / "poverty.duckdb"), read_only=True)
    try:
        names = [f"{s}.{t}" for s, t in tables_and_core_views(con) if f"{s}.{t}" != "audit.runs"]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def reconciliation(root: Path, day: dt.date, file_name: str) -> tuple:
    """(received, applied, stale, duplicate, parked, held, warned) of one delivered file."""
    got = rows(
        root,
        "SELECT received, applied, stale, duplicate, parked, held, warned"
        " FROM audit.reconciliation WHERE delivery_date = ? AND file_name = ?",
        [day, file_name],
    )
    assert len(got) == 1, (day, file_name, got)
    return got[0]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="module")
def registry_day1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root where the initial registration (day 1, UTF-8 CSV) has been run once."""
    root = tmp_path_factory.mktemp("registry") / "data"
    deliver_registry(root)
    run(root, D1)
    return root


@pytest.fixture
def after_day1(registry_day1: Path, tmp_path: Path) -> Path:
    """A private copy of ``registry_day1`` (landing, staging, warehouse) to go on from."""
    root = tmp_path / "data"
    shutil.copytree(registry_day1, root)
    return root


# --- cases --------------------------------------------------------------------------------


def test_identical_redelivery_on_same_date_changes_nothing(after_day1: Path) -> None:
    root = after_day1
    before = every_table_but_runs(root)
    assert len(before["core.households"]) == 3 and len(before["core.members"]) == 6

    # The county sends the very same households file again (a new file, same bytes).
    path = root / "landing" / D1.isoformat() / "households_520102.csv"
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)
    run(root, D1)

    after = every_table_but_runs(root)
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], table
    assert rows(root, "SELECT count(*) FROM audit.runs WHERE delivery_date = ?", [D1]) == [(2,)]
    assert reconciliation(root, D1, "households_520102.csv") == (3, 3, 0, 0, 0, 0, 0)


def test_corrected_redelivery_on_same_date_replaces_earlier_version(after_day1: Path) -> None:
    root = after_day1
    income = "SELECT net_income_yuan::VARCHAR FROM core.households WHERE household_id = ?"
    assert rows(root, income, [H1]) == [("4500.00",)]

    # The county corrects H1's income in place: same file name, same updated_at, new content;
    # and drops H3 (sent by mistake) from the households file and its member from members.
    corrected = [
        {**HOUSEHOLDS[0], "net_income_yuan": "6300.00", "per_capita_income_yuan": "2100.00"},
        HOUSEHOLDS[1],
    ]
    old_sha = rows(root, "SELECT sha256 FROM audit.files WHERE file_name = 'households_520102.csv'")
    deliver(root, D1, "households", corrected)
    deliver(root, D1, "members", M1 + M2)
    run(root, D1)

    assert rows(
        root,
        "SELECT household_id, net_income_yuan::VARCHAR, per_capita_income_yuan::VARCHAR"
        " FROM core.households ORDER BY 1",
    ) == [(H1, "6300.00", "2100.00"), (H2, "3000.00", "1500.00")]
    # The earlier version left no trace: not current, not history, not a conflict.
    assert rows(
        root,
        "SELECT count(*) FROM core.households_history WHERE net_income_yuan = 4500 OR household_id = ?",
        [H3],
    ) == [(0,)]
    assert rows(root, "SELECT count(*) FROM core.households_history") == [(2,)]
    assert rows(root, "SELECT count(*) FROM core.members") == [(5,)]
    assert rows(root, "SELECT outcome, reason FROM audit.quarantine") == []
    files = rows(
        root,
        "SELECT rows, outcome, sha256 FROM audit.files"
        " WHERE delivery_date = ? AND file_name = 'households_520102.csv'",
        [D1],
    )
    assert files[0][:2] == (2, "loaded") and files[0][2] != old_sha[0][0]
    assert reconciliation(root, D1, "households_520102.csv") == (2, 2, 0, 0, 0, 0, 0)
    assert reconciliation(root, D1, "members_520102.csv") == (5, 5, 0, 0, 0, 0, 0)


def test_same_file_on_a_later_date_is_duplicate(after_day1: Path) -> None:
    root = after_day1
    day1 = root / "landing" / D1.isoformat() / "households_520102.csv"
    (root / "landing" / D2.isoformat()).mkdir(parents=True)
    shutil.copy(day1, root / "landing" / D2.isoformat() / day1.name)
    run(root, D2)

    assert rows(
        root,
        "SELECT record_key, outcome, reason FROM audit.quarantine"
        " WHERE delivery_date = ? ORDER BY row_number",
        [D2],
    ) == [
        (H1, "duplicate", "duplicate_row"),
        (H2, "duplicate", "duplicate_row"),
        (H3, "duplicate", "duplicate_row"),
    ]
    assert reconciliation(root, D2, "households_520102.csv") == (3, 0, 0, 3, 0, 0, 0)
    assert reconciliation(root, D1, "households_520102.csv") == (3, 3, 0, 0, 0, 0, 0)
    # Counted once: still one version per household, from day 1.
    assert rows(
        root, "SELECT count(*), min(delivery_date), max(delivery_date) FROM core.households_history"
    ) == [(3, D1, D1)]


def test_orphan_member_is_parked_until_its_household_arrives(root: Path) -> None:
    deliver_registry(root)
    # H4's head arrives on day 1, its household only on day 2.
    orphan = M4[0]
    deliver(root, D1, "members", M1 + M2 + M3 + [orphan])
    deliver(root, D2, "households", [H4_ROW])
    deliver(root, D2, "members", [M4[1]])
    run(root, D1)

    quarantine = "SELECT delivery_date, row_number, outcome, reason, applied_on FROM audit.quarantine WHERE record_key = ?"
    assert rows(root, quarantine, [orphan["id_number"]]) == [
        (D1, 7, "parked", "parent_missing", None)
    ]
    assert rows(
        root, "SELECT count(*) FROM core.members WHERE id_number = ?", [orphan["id_number"]]
    ) == [(0,)]
    assert reconciliation(root, D1, "members_520102.csv") == (7, 6, 0, 0, 1, 0, 0)

    run(root, D2)
    assert rows(
        root,
        "SELECT household_id, effective_date, delivery_date FROM core.members WHERE id_number = ?",
        [orphan["id_number"]],
    ) == [(H4, D2, D1)]
    assert rows(root, quarantine, [orphan["id_number"]]) == [
        (D1, 7, "parked", "parent_missing", D2)
    ]
    assert rows(root, "SELECT count(*) FROM core.members WHERE household_id = ?", [H4]) == [(2,)]


def test_late_file_is_listed_then_loaded_by_rerunning_its_date(after_day1: Path) -> None:
    root = after_day1  # day 1 has run
    deliver(
        root,
        D2,
        "households",
        [
            {
                **HOUSEHOLDS[0],
                "status": "lifted",
                "updated_at": TS2,
                "status_changed_on": "2015-03-02",
            }
        ],
    )
    deliver(
        root,
        D3,
        "households",
        [
            {
                **HOUSEHOLDS[1],
                "net_income_yuan": "3600.00",
                "per_capita_income_yuan": "1800.00",
                "updated_at": TS3,
            }
        ],
    )
    run(root, D2)

    event = {
        "event_id": "E0001",
        "household_id": H1,
        "village_code": None,
        "program": "ecommerce_training",
        "platform": None,
        "event_date": "2015-02-27",
        "amount_yuan": "800.00",
        "updated_at": TS0,
    }
    deliver(root, D1, "assistance", [event])
    (out3,) = run(root, D3)

    late = [f"{D1.isoformat()}/assistance_520102.csv"]
    assert out3["discover"]["late_files"] == late
    assert out3["load"]["late_files"] == late
    report = json.loads((root / "reports" / f"run_{D3.isoformat()}.json").read_text())
    assert report["steps"]["load"]["late_files"] == late
    assert rows(
        root,
        "SELECT outcome, reason FROM audit.files WHERE delivery_date = ? AND file_name = ?",
        [D1, "assistance_520102.csv"],
    ) == [("late", "late_file")]
    assert rows(root, "SELECT count(*) FROM core.assistance") == [(0,)]

    run(root, D1)
    assert rows(
        root,
        "SELECT outcome, reason, rows FROM audit.files WHERE delivery_date = ? AND file_name = ?",
        [D1, "assistance_520102.csv"],
    ) == [("loaded", None, 1)]
    assert rows(
        root, "SELECT event_id, household_id, amount_yuan::VARCHAR FROM core.assistance"
    ) == [("E0001", H1, "800.00")]
    assert reconciliation(root, D1, "assistance_520102.csv") == (1, 1, 0, 0, 0, 0, 0)
    assert rows(root, "SELECT count(*) FROM audit.files WHERE outcome = 'late'") == [(0,)]


# One county per format, so that all four load in one run (and the UTF-8 twin in another).
FORMATS = {  # format: (county, target year, encoding, delimiter)
    "gbk": ("520103", 2016, "gbk", ","),
    "bom_tsv": ("520111", 2017, "utf-8-sig", "\t"),
    "xlsx": ("520112", 2018, None, None),
    "parquet": ("520113", 2019, None, None),
}


def _deliver_in(root: Path, fmt: str, as_fmt: str) -> None:
    """Format ``fmt``'s county (registry H1-H3 and a target of its own year), written as ``as_fmt``."""
    county, year, _, _ = FORMATS[fmt]
    for entity, rs in (
        ("villages", VILLAGES),
        ("households", HOUSEHOLDS),
        ("members", M1 + M2 + M3),
    ):
        deliver(root, D1, entity, recounty(rs, county), fmt=as_fmt, source=county)
    target = {"year": str(year), "province_code": "52", "metric": "people_lifted", "target": "900"}
    deliver(root, D1, "targets", [target], fmt=as_fmt, name=f"_{fmt}")


@pytest.fixture(scope="module")
def format_roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(UTF-8 CSV root, other-formats root): the same rows, each county in its format."""
    utf8 = tmp_path_factory.mktemp("formats_utf8") / "data"
    other = tmp_path_factory.mktemp("formats_other") / "data"
    for fmt in FORMATS:
        _deliver_in(utf8, fmt, "csv")
        _deliver_in(other, fmt, fmt)
    run(utf8, D1)
    run(other, D1)
    return utf8, other


def _county_slice(root: Path, county: str, year: int) -> dict[str, list[tuple]]:
    where = {
        "core.villages": f"starts_with(village_code, '{county}')",
        "core.households": f"starts_with(household_id, '{county}')",
        "core.members": f"starts_with(household_id, '{county}')",
        "core.targets": f"year = {year}",
    }
    return {
        t: rows(root, f"SELECT * EXCLUDE (file_name) FROM {t} WHERE {w} ORDER BY ALL")
        for t, w in where.items()
    }


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_other_formats_load_like_utf8_csv(format_roots: tuple[Path, Path], fmt: str) -> None:
    utf8, root = format_roots
    county, year, encoding, delimiter = FORMATS[fmt]
    ext = fmt if fmt in ("xlsx", "parquet") else "csv"
    assert rows(
        root,
        "SELECT file_name, format, encoding, delimiter, rows, outcome FROM audit.files"
        " WHERE source = ? AND entity = 'households'",
        [county],
    ) == [(f"households_{county}.{ext}", ext, encoding, delimiter, 3, "loaded")]
    assert (
        rows(
            root,
            "SELECT file_name, outcome, reason, detail FROM audit.quarantine"
            " WHERE file_name LIKE ? OR file_name LIKE ?",
            [f"%_{county}.%", f"%_{fmt}.%"],
        )
        == []
    )
    got = _county_slice(root, county, year)
    assert {t: len(v) for t, v in got.items()} == {
        "core.villages": 2,
        "core.households": 3,
        "core.members": 6,
        "core.targets": 1,
    }
    want = _county_slice(utf8, county, year)
    for table in want:
        assert got[table] == want[table], table
    # A few values spelled differently in each format, read back as the UTF-8 CSV has them.
    assert rows(
        root,
        "SELECT attribute, main_cause, other_causes, status, sells_online, head_name,"
        " net_income_yuan::VARCHAR, identified_on, updated_at"
        " FROM core.households WHERE household_id = ?",
        [county + H2[6:]],
    ) == [
        (
            "dibao_poor",
            "disability",
            "funds;land",
            "poor",
            False,
            "李娜",
            "3000.00",
            dt.date(2014, 6, 1),
            dt.datetime(2015, 2, 28, 2, 0, tzinfo=dt.UTC),
        )
    ]


def test_header_only_file_is_an_empty_delivery(root: Path) -> None:
    deliver_registry(root)
    deliver(root, D1, "assistance", [])
    run(root, D1)
    assert rows(
        root,
        "SELECT outcome, reason, rows FROM audit.files WHERE file_name = 'assistance_520102.csv'",
    ) == [("loaded", None, 0)]
    assert reconciliation(root, D1, "assistance_520102.csv") == (0, 0, 0, 0, 0, 0, 0)
    assert rows(root, "SELECT count(*) FROM core.assistance") == [(0,)]
    assert rows(root, "SELECT count(*) FROM audit.quarantine") == [(0,)]


def _three_days(root: Path) -> None:
    """A registry over three dates with every key outcome: applied, duplicate, stale,
    parked (then applied), held, a status change, a village update and a new target."""
    deliver_registry(root)
    # Day 2: H1 exits; H2 resent unchanged (duplicate); H4's head arrives before H4 (parked);
    # one household row with an unreadable boolean (held); an assistance event.
    deliver(
        root,
        D2,
        "households",
        [
            {
                **HOUSEHOLDS[0],
                "status": "lifted",
                "status_changed_on": "2015-03-02",
                "net_income_yuan": "9000.00",
                "per_capita_income_yuan": "3000.00",
                "updated_at": TS2,
            },
            HOUSEHOLDS[1],
            {**HOUSEHOLDS[2], "housing_safe": "maybe", "updated_at": TS2},
        ],
    )
    deliver(root, D2, "members", [{**M4[0], "updated_at": TS2}])
    deliver(
        root,
        D2,
        "assistance",
        [
            {
                "event_id": "E0001",
                "household_id": H1,
                "village_code": None,
                "program": "ecommerce_store",
                "platform": "淘宝",
                "event_date": "2015-03-02",
                "amount_yuan": "5000",
                "updated_at": TS2,
            },
        ],
    )
    # Day 3: H4 and its spouse arrive; an older H1 row comes late (stale); V1 is updated;
    # the 2015 target is raised.
    deliver(
        root,
        D3,
        "households",
        [
            {
                **HOUSEHOLDS[0],
                "net_income_yuan": "4800.00",
                "per_capita_income_yuan": "1600.00",
                "updated_at": "2015-03-01T08:00:00",
            },
            H4_ROW,
        ],
    )
    deliver(root, D3, "members", [{**M4[1], "updated_at": TS3}])
    deliver(
        root, D3, "villages", [{**VILLAGES[0], "has_ecommerce_station": "true", "updated_at": TS3}]
    )
    deliver(
        root,
        D3,
        "targets",
        [{"year": "2015", "province_code": "52", "metric": "people_lifted", "target": "1200"}],
    )


def test_dates_in_another_order_give_the_same_warehouse(after_day1: Path, tmp_path: Path) -> None:
    in_order, shuffled = after_day1, tmp_path / "shuffled"  # in_order: day 1 has run
    for r in (in_order, shuffled):
        _three_days(r)
    run(in_order, D2, D3)
    run(shuffled, D3, D1, D2)

    want = table_contents(in_order / "warehouse" / "poverty.duckdb")
    got = table_contents(shuffled / "warehouse" / "poverty.duckdb")
    assert got.keys() == want.keys()
    assert {"audit.quarantine", "audit.reconciliation", "core.households", "core.members"} <= set(
        want
    )
    assert any(t.startswith("marts.") for t in want)
    for table in want:
        assert got[table] == want[table], table

    # The scenario did exercise every outcome (so the comparison above means something).
    assert rows(
        shuffled, "SELECT outcome, reason, count(*) FROM audit.quarantine GROUP BY ALL ORDER BY ALL"
    ) == [
        ("duplicate", "duplicate_row", 1),
        ("held", "invalid_bool", 1),
        ("parked", "parent_missing", 1),
        ("stale", "stale_update", 1),
    ]
    assert rows(
        shuffled,
        "SELECT status, net_income_yuan::VARCHAR FROM core.households WHERE household_id = ?",
        [H1],
    ) == [("lifted", "9000.00")]
    assert rows(
        shuffled, "SELECT target FROM core.targets WHERE year = 2015 AND province_code = '52'"
    ) == [(1200,)]
    assert rows(
        shuffled, "SELECT has_ecommerce_station FROM core.villages WHERE village_code = ?", [V1]
    ) == [(True,)]
    assert rows(shuffled, "SELECT count(*) FROM core.members WHERE household_id = ?", [H4]) == [
        (2,)
    ]


def test_the_transform_output_goes_once_loaded_and_a_lone_reload_says_why(
    after_day1: Path,
) -> None:
    from pipeline import steps

    ctx = RunContext.local(D1, after_day1)
    assert not (ctx.run_dir / "transform").exists()
    assert (ctx.run_dir / "load.json").exists()
    before = every_table_but_runs(after_day1)
    with pytest.raises(Exception, match="clear the transform task"):
        steps.load(ctx)
    assert every_table_but_runs(after_day1) == before
    # Transform and load again: the output is back, loaded, and gone again.
    steps.transform(ctx)
    assert any((ctx.run_dir / "transform").iterdir())
    steps.load(ctx)
    assert not (ctx.run_dir / "transform").exists()
    assert every_table_but_runs(after_day1) == before
