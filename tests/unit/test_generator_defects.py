"""Planted defects: every kind appears, in the files, exactly where the answer key says,
one defect per row, and nothing else in the data is defective.

The check is an independent *oracle*: it reads the generated files back and applies every
rule of the landing contract and DOMAIN.md (typing, identity, codes, rules, key
semantics, parents, warnings) to every row, then compares its findings with the answer key.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from contract.idcard import birth_date_of, id_problem, normalise_id, sex_of, village_code_ok
from contract.landing import CONTRACT, FILE_NAME_RE, MANIFEST_NAME
from contract.reasons import CATALOGUE
from generator import generate
from generator.defects import FILE_KINDS, NOT_PLANTED, ROW_KINDS, TARGET_KINDS
from generator.readback import canonical, manifest, read_delivery, read_raw
from generator.reference import reference_dir

with open(reference_dir() / "provinces.csv", encoding="utf-8") as _fh:
    PROVINCES = {"00", *(r["province_code"] for r in csv.DictReader(_fh))}
_INT = re.compile(r"^-?\d+$")
_MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\+08:00)?$")
Finding = tuple[str, str, int]  # (delivery date, file name, row number)


def _date(s: str | None) -> dt.date | None:
    if s is None or not _DATE.match(s):
        return None
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def _ts(s: str | None) -> dt.datetime | None:
    if s is None or not _TS.match(s):
        return None
    try:
        return dt.datetime.fromisoformat(s[:19])
    except ValueError:
        return None


def _id_rules(value: str, prefix: str = "") -> list[str]:
    problem = id_problem(value)
    return [problem] if problem else []


# --------------------------------------------------------------------------- typing
def _typing(entity: str, row: dict, numeric_cells: set[str]) -> list[str]:
    found = []
    for col in CONTRACT[entity].columns:
        v = row.get(col.name)
        if col.name in numeric_cells and col.kind in ("id18", "hh16"):
            found.append("excel_numeric_id")
            continue
        if v is None or v == "":
            if col.required:
                found.append("missing_required")
            continue
        k = col.kind
        if (
            (k == "int" and not _INT.match(v))
            or (k == "money" and not _MONEY.match(v))
            or (k == "number" and not _NUMBER.match(v))
        ):
            found.append("invalid_number")
        elif k == "bool" and v not in ("true", "false"):
            found.append("invalid_bool")
        elif k == "date" and _date(v) is None:
            found.append("invalid_date")
        elif k == "timestamp" and _ts(v) is None:
            found.append("invalid_timestamp")
        elif k == "enum" and v not in col.enum_codes:
            found.append("unknown_code_value")
    return found


# --------------------------------------------------------------------------- validation
def _validation(entity: str, row: dict, delivery: dt.date) -> list[str]:
    f: list[str] = []
    g = row.get

    def num(c: str) -> float | None:
        return float(g(c)) if g(c) not in (None, "") else None

    if entity == "villages":
        if not village_code_ok(g("village_code")):
            f.append("village_code_invalid")
        for c, lo, hi in (
            ("rural_population", 0, None),
            ("collective_income_yuan", 0, None),
            ("ecommerce_pilot_year", 2014, 2030),
            ("solar_capacity_kw", 0, None),
            ("paper_mulberry_mu", 0, None),
        ):
            x = num(c)
            if x is not None and (x < lo or (hi is not None and x > hi)):
                f.append("value_out_of_range")
    elif entity == "households":
        hid, vc = g("household_id"), g("village_code")
        if not re.match(r"^\d{16}$", hid):
            f.append("household_id_invalid")
        if not village_code_ok(vc):
            f.append("village_code_invalid")
        if re.match(r"^\d{16}$", hid) and re.match(r"^\d{12}$", vc) and hid[:12] != vc:
            f.append("household_village_mismatch")
        f += _id_rules(g("head_id_number"))
        size = num("household_size")
        if size is not None and not 1 <= size <= 20:
            f.append("value_out_of_range")
        if size and abs(num("per_capita_income_yuan") * size - num("net_income_yuan")) > size:  # type: ignore[operator]
            f.append("per_capita_mismatch")
        if g("other_causes"):
            parts = g("other_causes").split(";")
            codes = CONTRACT["households"].column("main_cause").enum_codes
            if len(parts) > 2 or any(p not in codes for p in parts) or g("main_cause") in parts:
                f.append("other_causes_invalid")
        ident, changed = _date(g("identified_on")), _date(g("status_changed_on"))
        if changed < ident:  # type: ignore[operator]
            f.append("date_order_invalid")
        if changed > delivery or ident > delivery:  # type: ignore[operator]
            f.append("date_in_future")
        if g("status") == "lifted" and changed.year == ident.year:  # type: ignore[union-attr]
            f.append("exit_in_identification_year")
    elif entity == "members":
        idn = g("id_number")
        problem = id_problem(idn)
        if problem:
            f.append(problem)
        else:
            n = normalise_id(idn)
            if str(birth_date_of(n)) != g("birth_date"):
                f.append("id_birth_date_mismatch")
            if sex_of(n) != g("sex"):
                f.append("id_sex_mismatch")
            if re.match(r"^\d{16}$", g("household_id")) and n[:6] != g("household_id")[:6]:
                f.append("id_other_county")
        if not re.match(r"^\d{16}$", g("household_id")):
            f.append("household_id_invalid")
    elif entity == "assistance":
        if g("household_id") is None and g("village_code") is None:
            f.append("assistance_target_missing")
        if g("household_id") is not None and not re.match(r"^\d{16}$", g("household_id")):
            f.append("household_id_invalid")
        if g("village_code") is not None and not village_code_ok(g("village_code")):
            f.append("village_code_invalid")
        if _date(g("event_date")) > delivery:  # type: ignore[operator]
            f.append("date_in_future")
        if num("amount_yuan") is not None and num("amount_yuan") < 0:  # type: ignore[operator]
            f.append("value_out_of_range")
    elif entity == "targets":
        if g("province_code") not in PROVINCES:
            f.append("province_code_invalid")
        if float(g("target")) < 0:
            f.append("value_out_of_range")
    return f


# --------------------------------------------------------------------------- the oracle
def _key(entity: str, row: dict) -> str:
    if entity == "targets":
        return f"{row['year']}|{row['province_code']}|{row['metric']}"
    if entity == "members":
        return normalise_id(row["id_number"])
    return row[CONTRACT[entity].key[0]]


def oracle(root: Path) -> dict[Finding, list[str]]:
    """Every rule applied to every delivered row; files held as a whole are reported with
    row number 0."""
    findings: dict[Finding, list[str]] = defaultdict(list)
    candidates: dict[str, list[dict]] = defaultdict(list)
    for day in sorted(p for p in root.iterdir() if p.is_dir()):
        delivery = dt.date.fromisoformat(day.name)
        listed = {f["name"]: f for f in manifest(day)["files"]}
        for name in listed:
            if not (day / name).exists():
                findings[(day.name, name, 0)].append("manifest_missing_file")
        for path in sorted(day.iterdir()):
            if path.name == MANIFEST_NAME:
                continue
            where = (day.name, path.name, 0)
            m = FILE_NAME_RE.match(path.name)
            if not m:
                findings[where].append("file_name_invalid")
                continue
            data = path.read_bytes()
            if not data:
                findings[where].append("file_empty")
                continue
            import hashlib

            if hashlib.sha256(data).hexdigest() != listed[path.name]["sha256"]:
                findings[where].append("manifest_checksum_mismatch")
                continue
            if path.suffix == ".csv" and data.rstrip(b"\r\n").count(b'"') % 2:
                findings[where].append("file_truncated")
                continue
            try:
                raw, info = read_raw(path)
            except Exception:
                findings[where].append("file_unreadable")
                continue
            entity = m["entity"]
            aliases = CONTRACT[entity].header_aliases
            if len(set(raw.columns)) != len(raw.columns) or any(
                c.endswith("_duplicated_0") for c in raw.columns
            ):
                findings[where].append("header_duplicate_column")
                continue
            if any(c not in aliases for c in raw.columns):
                findings[where].append("header_unknown_column")
                continue
            required = {c.name for c in CONTRACT[entity].columns if c.required}
            if required - {aliases[c] for c in raw.columns}:
                findings[where].append("header_missing_column")
                continue
            if raw.height != listed[path.name]["rows"]:
                findings[where].append("manifest_row_count_mismatch")
                continue
            frame = canonical(entity, raw)
            numeric = defaultdict(set)
            for r, h in info["numeric_cells"]:
                numeric[r].add(aliases[h])
            rows = frame.to_dicts()
            errors = 0
            for i, row in enumerate(rows, start=1):
                f = _typing(entity, row, numeric[i]) or _validation(entity, row, delivery)
                found = (day.name, path.name, i)
                warn = [x for x in f if CATALOGUE[x].outcome != "held"]
                held = [x for x in f if CATALOGUE[x].outcome == "held"]
                if held:
                    findings[found] += held
                    errors += 1
                    continue
                findings[found] += warn
                candidates[entity].append(
                    {
                        **row,
                        "_date": delivery,
                        "_file": path.name,
                        "_row": i,
                        "_key": _key(entity, row),
                    }
                )
            if errors * 2 > len(rows):
                for i in range(1, len(rows) + 1):
                    if not findings[(day.name, path.name, i)]:
                        findings[(day.name, path.name, i)].append("file_mostly_invalid")
                for entity_rows in candidates.values():
                    entity_rows[:] = [
                        r for r in entity_rows if r["_file"] != path.name or r["_date"] != delivery
                    ]
    _semantics(candidates, findings)
    return {k: v for k, v in findings.items() if v}


def _semantics(cands: dict[str, list[dict]], findings: dict[Finding, list[str]]) -> None:
    applied: dict[str, list[dict]] = {}
    first_seen: dict[str, dict[str, dt.date]] = {}
    for entity in ("villages", "households", "members", "assistance", "targets"):
        rows = sorted(cands.get(entity, []), key=lambda r: (r["_date"], r["_file"], r["_row"]))
        content = [c.name for c in CONTRACT[entity].columns]
        has_ts = CONTRACT[entity].has_updated_at
        latest: dict[str, str] = {}
        live = []
        for r in rows:
            where = (r["_date"].isoformat(), r["_file"], r["_row"])
            if has_ts and r["_key"] in latest and r["updated_at"] < latest[r["_key"]]:
                findings[where].append("stale_update")
                continue
            if has_ts:
                latest[r["_key"]] = max(latest.get(r["_key"], ""), r["updated_at"])
            live.append(r)
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in live:
            groups[(r["_key"], r.get("updated_at") if has_ts else r["_date"])].append(r)
        ok = []
        for group in groups.values():
            contents = {tuple(r[c] for c in content) for r in group}
            if entity == "members":
                by_day = defaultdict(set)
                for r in group:
                    by_day[r["_date"]].add(r["household_id"])
            for i, r in enumerate(group):
                where = (r["_date"].isoformat(), r["_file"], r["_row"])
                if entity == "members" and len(by_day[r["_date"]]) > 1:
                    findings[where].append("person_in_two_households")
                elif len(contents) > 1:
                    findings[where].append("conflicting_duplicate")
                elif i > 0:
                    findings[where].append("duplicate_row")
                else:
                    ok.append(r)
        parent = {
            "households": ("villages", "village_code"),
            "members": ("households", "household_id"),
        }.get(entity)
        final = []
        for r in ok:
            if parent:
                seen = first_seen[parent[0]].get(r[parent[1]])
                if seen is None or seen > r["_date"]:
                    findings[(r["_date"].isoformat(), r["_file"], r["_row"])].append(
                        "parent_missing"
                    )
                    if seen is None:
                        continue
                    r = {**r, "_date": seen}
            final.append(r)
        first_seen[entity] = {}
        for r in rows:
            if r["_key"] not in first_seen[entity] or r["_date"] < first_seen[entity][r["_key"]]:
                first_seen[entity][r["_key"]] = r["_date"]
        applied[entity] = final
    _warnings(applied, findings)


def _warnings(applied: dict[str, list[dict]], findings: dict[Finding, list[str]]) -> None:
    """Rules on the current state: size, heads, returns, income outliers."""
    days = sorted({r["_date"] for rows in applied.values() for r in rows})
    order = lambda r: (r.get("updated_at", ""), r["_date"], r["_file"], r["_row"])  # noqa: E731
    hh_rows = sorted(applied.get("households", []), key=order)
    m_rows = sorted(applied.get("members", []), key=order)
    ever_lifted: set[str] = set()
    for r in hh_rows:  # in version order
        where = (r["_date"].isoformat(), r["_file"], r["_row"])
        if r["status"] == "returned" and r["_key"] not in ever_lifted:
            findings[where].append("return_without_exit")
        if r["status"] == "lifted":
            ever_lifted.add(r["_key"])
    held_members: set[tuple] = set()
    for day in days:
        households = {r["_key"]: r for r in hh_rows if r["_date"] <= day}
        members = {
            r["_key"]: r
            for r in m_rows
            if r["_date"] <= day and (r["_date"], r["_file"], r["_row"]) not in held_members
        }
        active = defaultdict(int)
        heads = defaultdict(int)
        for r in members.values():
            if r["member_status"] == "active":
                active[r["household_id"]] += 1
                heads[r["household_id"]] += r["relation"] == "head"
        delivered_hh = {r["household_id"] for r in m_rows if r["_date"] == day}
        for r in m_rows:
            if (
                r["_date"] == day
                and heads[r["household_id"]] != 1
                and r["household_id"] in delivered_hh
                and members.get(r["_key"]) is r
            ):
                # A held row's warnings are told by the reason that holds it.
                findings[(day.isoformat(), r["_file"], r["_row"])] = ["household_head_count"]
                held_members.add((r["_date"], r["_file"], r["_row"]))
        by_county: dict[str, list[float]] = defaultdict(list)
        for r in households.values():
            by_county[r["household_id"][:6]].append(float(r["per_capita_income_yuan"]))
        stats = {}
        for c, xs in by_county.items():
            x = np.array(xs)
            med = np.median(x)
            stats[c] = (med, np.median(np.abs(x - med)))
        for r in households.values():
            if r["_date"] != day:
                continue
            where = (day.isoformat(), r["_file"], r["_row"])
            if int(r["household_size"]) != active[r["_key"]]:
                findings[where].append("household_size_mismatch")
            med, mad = stats[r["household_id"][:6]]
            if mad and 0.6745 * abs(float(r["per_capita_income_yuan"]) - med) / mad > 3.5:
                findings[where].append("income_outlier")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _answer_key(path: Path) -> dict[Finding, list[str]]:
    key: dict[Finding, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key[(r["delivery_date"], r["file_name"], int(r["row_number"] or 0))].append(r["defect"])
    return key


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("defects")
    key = root / "answer_key.csv"
    generate(root / "landing", days=3, defects=0.02, answer_key=key)
    return root / "landing", key


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    generate(root, scale="county", households=8000, days=6)
    return root


# --------------------------------------------------------------------------- tests
def test_clean_data_has_no_defect_at_all(clean: Path) -> None:
    assert oracle(clean) == {}


def test_clean_demo_has_no_defect_at_all(tmp_path: Path) -> None:
    generate(tmp_path, days=4)
    assert oracle(tmp_path) == {}


def test_answer_key_columns_and_outcomes(planted: tuple[Path, Path]) -> None:
    _, key = planted
    with open(key, encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [
            "delivery_date",
            "file_name",
            "entity",
            "row_number",
            "record_key",
            "defect",
            "expected_outcome",
        ]
        rows = list(reader)
    assert rows
    for r in rows:
        assert r["expected_outcome"] == CATALOGUE[r["defect"]].outcome
        assert r["expected_outcome"] in (
            "held",
            "warned",
            "stale",
            "duplicate",
            "conflict",
            "parked",
        )


def test_every_kind_is_planted(planted: tuple[Path, Path]) -> None:
    _, key = planted
    codes = {r["defect"] for r in _rows(key)}
    expected = {k.code for k in ROW_KINDS} | set(TARGET_KINDS[:1]) | set(FILE_KINDS)
    assert expected <= codes
    assert set(CATALOGUE) - codes <= set(NOT_PLANTED) | set(TARGET_KINDS)


def test_answer_key_is_exactly_what_the_files_hold(planted: tuple[Path, Path]) -> None:
    landing, key = planted
    expected = _answer_key(key)
    found = oracle(landing)
    for where, codes in expected.items():
        assert len(codes) == 1, (where, codes)
    assert found == expected


def test_both_rows_of_a_conflict_and_the_parked_next_day_household(
    planted: tuple[Path, Path],
) -> None:
    _, key = planted
    rows = _rows(key)
    for code in ("person_in_two_households", "conflicting_duplicate"):
        keys = [(r["delivery_date"], r["record_key"]) for r in rows if r["defect"] == code]
        assert keys and all(keys.count(k) == 2 for k in keys), code
    landing = planted[0]
    days = {p.name: read_delivery(p) for p in sorted(landing.iterdir()) if p.is_dir()}
    arrived = []
    for r in rows:
        if r["defect"] != "parent_missing" or r["entity"] != "members":
            continue
        members = days[r["delivery_date"]]["members"]
        hh = members.filter(
            (pl.col("_file_name") == r["file_name"])
            & (pl.col("_row_number") == int(r["row_number"]))
        )["household_id"].item()
        later = [
            d
            for d, frames in days.items()
            if d > r["delivery_date"]
            and "households" in frames
            and hh in set(frames["households"]["household_id"])
        ]
        arrived.append(later[0] if later else None)
    assert None in arrived, "an orphan whose household never arrives"
    assert any(a is not None for a in arrived), "a member whose household arrives the next day"


def test_moves_within_and_across_counties(planted: tuple[Path, Path]) -> None:
    """Heads delivered into a household that has one (held), from the same county and from
    another; members who move to another county (applied, warned for their ID)."""
    landing, key = planted
    members = pl.concat(
        [
            read_delivery(p)["members"].with_columns(_date=pl.lit(p.name))
            for p in sorted(landing.iterdir())
        ],
        how="diagonal",
    ).with_columns(_key=pl.col("id_number").str.slice(0, 18))
    seen: dict[str, set[str]] = defaultdict(set)
    for r in _rows(key):
        if r["defect"] not in ("household_head_count", "id_other_county"):
            continue
        row = members.filter(
            (pl.col("_date") == r["delivery_date"])
            & (pl.col("_file_name") == r["file_name"])
            & (pl.col("_row_number") == int(r["row_number"]))
        ).row(0, named=True)
        before = members.filter(
            (pl.col("_key") == row["_key"]) & (pl.col("_date") < r["delivery_date"])
        )["household_id"]
        if not before.len():
            came_from = "new person"
        elif set(before) == {row["household_id"]}:
            came_from = "same household"
        else:
            came_from = (
                "same county" if before[-1][:6] == row["household_id"][:6] else "other county"
            )
            if r["defect"] == "household_head_count":
                assert row["relation"] == "head", r
        seen[r["defect"]].add(came_from)
    assert {"same household", "same county", "other county"} <= seen["household_head_count"]
    assert {"new person", "other county"} <= seen["id_other_county"]


def test_excel_numeric_ids_are_number_cells(planted: tuple[Path, Path]) -> None:
    landing, key = planted
    rows = [r for r in _rows(key) if r["defect"] == "excel_numeric_id"]
    assert rows
    for r in rows:
        assert r["file_name"].endswith(".xlsx")
        _, info = read_raw(landing / r["delivery_date"] / r["file_name"])
        assert any(row == int(r["row_number"]) for row, _ in info["numeric_cells"])


def test_one_day_run_plants_what_one_day_allows(tmp_path: Path) -> None:
    key = tmp_path / "key.csv"
    generate(tmp_path / "l", days=1, defects=0.02, answer_key=key)
    expected = _answer_key(key)
    assert oracle(tmp_path / "l") == expected
    codes = {c for cs in expected.values() for c in cs}
    assert {"stale_update", "duplicate_row", "parent_missing", "conflicting_duplicate"} <= codes
    assert "household_head_count" not in codes


def test_defects_are_deterministic(tmp_path: Path, planted: tuple[Path, Path]) -> None:
    key = tmp_path / "key.csv"
    generate(tmp_path / "l", days=3, defects=0.02, answer_key=key)
    assert key.read_bytes() == planted[1].read_bytes()
    for p in sorted((tmp_path / "l").rglob("*")):
        if p.is_file():
            assert p.read_bytes() == (planted[0] / p.relative_to(tmp_path / "l")).read_bytes()


def test_csv_mode_with_defects(tmp_path: Path) -> None:
    key = tmp_path / "key.csv"
    generate(tmp_path / "l", households=2000, days=2, formats="csv", defects=0.01, answer_key=key)
    assert oracle(tmp_path / "l") == _answer_key(key)


def test_no_answer_key_lines_without_defects(tmp_path: Path) -> None:
    key = tmp_path / "key.csv"
    s = generate(tmp_path / "l", households=300, days=2, answer_key=key)
    assert s.defects == 0
    assert key.read_text().strip().count("\n") == 0
