"""The machine-readable landing contract (docs/schema/) is what contract/schema.py makes of
contract/landing.py, and says what the pipeline accepts."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from contract import schema
from contract.idcard import make_id, normalise_id
from contract.landing import (
    CONTRACT,
    DELIVERED_PATTERNS,
    ENTITIES,
    FILE_NAME_RE,
    ID_PATTERN,
    LABELS_EN,
)
from generator import generate

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "docs" / "schema"


def test_committed_files_are_what_the_generator_writes() -> None:
    expected = {name: schema.render(doc) for name, doc in schema.documents().items()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.iterdir()}
    assert committed == expected, "run `python -m contract.schema docs/schema`"


def test_the_command_writes_every_file(tmp_path: Path) -> None:
    assert schema.main([str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(schema.documents())
    assert schema.main([]) == 2


@pytest.mark.parametrize("entity", ENTITIES)
def test_each_column_of_the_contract_is_a_field(entity: str) -> None:
    doc = json.loads((SCHEMA_DIR / f"{entity}.schema.json").read_text(encoding="utf-8"))
    ent = CONTRACT[entity]
    assert doc["primaryKey"] == list(ent.key)
    assert [f["name"] for f in doc["fields"]] == list(ent.column_names)
    for field, col in zip(doc["fields"], ent.columns, strict=True):
        assert field["title"] == col.zh
        assert field["constraints"]["required"] is col.required
        assert field.get("pii", False) is col.pii
        if col.kind == "enum":
            assert [c["value"] for c in field["categories"]] == list(col.enum_codes)
            for category, (code, zh) in zip(field["categories"], col.enum, strict=True):
                assert category["labelEn"] == LABELS_EN[zh]
                assert category["label"] == (zh if zh != code else LABELS_EN[zh])
            assert set(field["constraints"]["enum"]) == {v for pair in col.enum for v in pair}
        if col.min_value is not None:
            assert field["constraints"]["minimum"] == col.min_value
        if col.max_value is not None:
            assert field["constraints"]["maximum"] == col.max_value


PERSON = make_id("520102", dt.date(1980, 5, 17), 123)


@pytest.mark.parametrize(
    "raw",
    [
        PERSON,
        PERSON[:17] + "x",
        PERSON + "14",
        PERSON[:17] + "x74",
        PERSON + "05",
        PERSON + "1",
        PERSON[:16],
        PERSON[:17] + "Y",
        "x" + PERSON[1:],
    ],
)
def test_the_id_pattern_accepts_what_staging_accepts(raw: str) -> None:
    """A delivered ID matches the schema's pattern exactly when, typed, it passes the
    validation suites' format rule."""
    delivered = re.search(DELIVERED_PATTERNS["id18"], raw) is not None
    assert delivered == (re.search(ID_PATTERN, normalise_id(raw)) is not None)


@pytest.mark.parametrize(
    "name",
    [
        "villages_520102.csv",
        "households_510121_part2.xlsx",
        "targets_national.parquet",
        "members_52010.csv",
        "hh_520121.csv",
        "assistance_520102.txt",
        "villages_520102.CSV",
    ],
)
def test_file_name_patterns_accept_what_discovery_accepts(name: str) -> None:
    package = schema.data_package()
    accepted = [r["name"] for r in package["resources"] if re.match(r["pathPattern"], name)]
    m = FILE_NAME_RE.match(name)
    assert accepted == ([m["entity"]] if m else [])
    for resource in package["resources"]:
        assert re.match(resource["pathPattern"], resource["path"])
        assert resource["schema"] in schema.documents()


def _problem(field: dict[str, Any], value: str) -> str | None:
    """What the Table Schema ``field`` says is wrong with a delivered ``value`` (None: fine);
    the subset of Table Schema the generated schemas use."""
    rules = field["constraints"]
    if value == "":
        return "required" if rules["required"] else None
    kind = field["type"]
    try:
        if kind == "integer" and not re.fullmatch(r"[+-]?[0-9]+", value):
            return "integer"
        if kind in ("integer", "number"):
            number = float(value)
            if number < rules.get("minimum", number) or number > rules.get("maximum", number):
                return "range"
        if kind == "boolean" and value not in field["trueValues"] + field["falseValues"]:
            return "boolean"
        if kind == "date" and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            return "date"
        if kind == "date":
            dt.date.fromisoformat(value)
        if kind == "datetime":
            dt.datetime.fromisoformat(value)
    except ValueError:
        return kind
    if "pattern" in rules and not re.search(rules["pattern"], value):
        return "pattern"
    if "enum" in rules and value not in rules["enum"]:
        return "enum"
    return None


def test_a_clean_delivery_conforms_to_the_schemas(tmp_path: Path) -> None:
    generate(tmp_path, scale=None, households=150, days=2, seed=3, formats="csv")
    docs = schema.documents()
    package = docs[schema.PACKAGE_FILE]
    checked = 0
    for path in sorted(tmp_path.glob("*/*.csv")):
        resource = next(r for r in package["resources"] if re.match(r["pathPattern"], path.name))
        table = docs[resource["schema"]]
        fields = {f["name"]: f for f in table["fields"]} | {f["title"]: f for f in table["fields"]}
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=resource["dialect"]["delimiter"])
            header = next(reader)
            assert set(header) <= set(fields), path.name
            for row in reader:
                bad = {h: _problem(fields[h], v) for h, v in zip(header, row, strict=True)}
                assert not any(bad.values()), (path.name, row, bad)
                checked += 1
    assert checked > 500
