"""The landing contract, machine-readable: a Frictionless Table Schema per entity and a
Data Package that describes a delivery folder (file names, formats, encodings, CSV
dialect), all generated from :mod:`contract.landing`.

The generated files are committed under ``docs/schema/`` for counties to validate their
files with any Table Schema tool; a test keeps them equal to what this module writes.
Regenerate them with ``python -m contract.schema docs/schema``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from contract.landing import (
    CONTRACT,
    CSV_DELIMITERS,
    CSV_ENCODINGS,
    DELIVERED_PATTERNS,
    ENTITIES,
    EXTENSIONS,
    FALSE_VALUES,
    FILE_NAME_RE,
    LABELS_EN,
    MANIFEST_NAME,
    TIMEZONE,
    TRUE_VALUES,
    Column,
    Entity,
)

TABLE_SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
PACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PACKAGE_FILE = "datapackage.json"

_KINDS: dict[str, tuple[str, str]] = {
    # kind: (Table Schema type, what the value is)
    "code12": ("string", "12-digit village code: township part 001-599, village part 001-399."),
    "hh16": ("string", "16-digit household id: the village code and a 4-digit sequence."),
    "id18": (
        "string",
        "Resident ID (17 digits and a check digit or X), or a 20-character disability"
        " number whose first 18 characters are the person's ID.",
    ),
    "prov2": ("string", "2-digit province code, or 00 for the nation."),
    "text": ("string", ""),
    "bool": ("boolean", "true/false, 1/0, 是/否 or Y/N (any letter case)."),
    "int": ("integer", "Integer."),
    "money": ("number", "Yuan, with up to 2 decimals."),
    "number": ("number", "Number."),
    "date": ("date", "YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD, or an xlsx date cell)."),
    "timestamp": (
        "datetime",
        f"ISO 8601 date and time; {TIMEZONE} when no offset is given.",
    ),
    "enum": ("string", "The English code or the Chinese label of one category."),
    "causes": (
        "string",
        "Up to 2 causes (the categories of main_cause, as codes or Chinese labels)"
        " separated by ';' or '、', none equal to main_cause.",
    ),
}


def _spellings(values: frozenset[str]) -> list[str]:
    """Every letter case the pipeline reads (it compares lower-cased)."""
    return sorted({s for v in values for s in (v, v.upper(), v.capitalize())})


def _field(c: Column) -> dict[str, Any]:
    kind_type, what = _KINDS[c.kind]
    field: dict[str, Any] = {"name": c.name, "title": c.zh, "type": kind_type}
    if description := " ".join(x for x in (what, c.description) if x):
        field["description"] = description
    if c.kind == "bool":
        field["trueValues"] = _spellings(TRUE_VALUES)
        field["falseValues"] = _spellings(FALSE_VALUES)
    if c.kind == "enum":
        # label: the Chinese label a file may give instead of the code, where there is one.
        field["categories"] = [
            {"value": code, "label": LABELS_EN[zh] if zh == code else zh, "labelEn": LABELS_EN[zh]}
            for code, zh in c.enum
        ]
    constraints: dict[str, Any] = {"required": c.required}
    if c.kind in DELIVERED_PATTERNS:
        constraints["pattern"] = DELIVERED_PATTERNS[c.kind]
    if c.kind == "enum":
        constraints["enum"] = [v for pair in c.enum for v in dict.fromkeys(pair)]
    if c.min_value is not None:
        constraints["minimum"] = _number(c.min_value)
    if c.max_value is not None:
        constraints["maximum"] = _number(c.max_value)
    field["constraints"] = constraints
    if c.pii:
        field["pii"] = True
    return field


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def table_schema(entity: str) -> dict[str, Any]:
    """The Frictionless Table Schema of one entity's delivered files."""
    ent: Entity = CONTRACT[entity]
    return {
        "$schema": TABLE_SCHEMA_PROFILE,
        "name": ent.name,
        "description": (
            f"{ent.name} as counties deliver them. A header cell is the field's name or its"
            " Chinese title, in any order; optional fields may be left out of the header;"
            " a header cell naming no field holds the file. Values are trimmed; an empty"
            " value is missing."
        ),
        "fields": [_field(c) for c in ent.columns],
        "fieldsMatch": "superset",
        "missingValues": [""],
        "primaryKey": list(ent.key),
    }


def _name_pattern(entity: str) -> str:
    """FILE_NAME_RE narrowed to one entity."""
    every = f"(?P<entity>{'|'.join(ENTITIES)})"
    if every not in FILE_NAME_RE.pattern:
        raise ValueError(f"FILE_NAME_RE no longer names the entities as {every}")
    # Without Python's group names, so that any regex engine reads it.
    return re.sub(r"\(\?P<\w+>", "(", FILE_NAME_RE.pattern.replace(every, f"({entity})"))


def data_package() -> dict[str, Any]:
    """A delivery folder as a Data Package: one resource per entity, naming its schema,
    the file names it may come in, the formats, encodings and CSV dialect read."""
    resources = []
    for entity in ENTITIES:
        resources.append(
            {
                "name": entity,
                "type": "table",
                "path": f"{entity}_{'national' if entity == 'targets' else '520102'}.csv",
                "pathPattern": _name_pattern(entity),
                "format": "csv",
                "formats": list(EXTENSIONS),
                "mediatype": "text/csv",
                "encoding": CSV_ENCODINGS[0],
                "encodings": list(CSV_ENCODINGS),
                "dialect": {
                    "header": True,
                    "delimiter": CSV_DELIMITERS[0],
                    "delimiters": list(CSV_DELIMITERS),
                    "quoteChar": '"',
                    "doubleQuote": True,
                    "sheetNumber": 1,
                },
                "schema": f"{entity}.schema.json",
            }
        )
    return {
        "$schema": PACKAGE_PROFILE,
        "name": "povdb-delivery",
        "title": "A county's delivery folder for one delivery date",
        "description": (
            f"One folder per delivery date (YYYY-MM-DD, {TIMEZONE}) holding files named"
            " <entity>_<source>[anything].<csv|xlsx|parquet>, where source is a 6-digit"
            " county code or 'national' (pathPattern). CSV files are UTF-8 (with or without"
            " BOM) or GBK, comma- or tab-separated (encodings, dialect.delimiters); the"
            f" first sheet of an xlsx file is read. An optional {MANIFEST_NAME} lists"
            ' {"files": [{"name", "sha256", "rows"}]}; a file that disagrees with it is held.'
            " Each resource's path is an example name."
        ),
        "resources": resources,
    }


def documents() -> dict[str, dict[str, Any]]:
    """Every file of ``docs/schema/`` by name."""
    docs = {f"{entity}.schema.json": table_schema(entity) for entity in ENTITIES}
    docs[PACKAGE_FILE] = data_package()
    return docs


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path) -> list[Path]:
    """Write every document into ``out_dir``; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in documents().items():
        path = out_dir / name
        path.write_text(render(doc), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m contract.schema OUTDIR", file=sys.stderr)
        return 2
    for path in write(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
