"""Reference data kept in the repository (``ref/*.csv``, each with its provenance):
poverty lines, provinces, counties, targets, the 2014 registry and the national series.
The warehouse loads it into the ``ref`` schema; the transform and the generator read it.
The labels of coded values (``ref.code_labels``) come from the landing contract."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from contract.landing import CONTRACT, LABELS_EN

REF_DIR = Path(__file__).resolve().parent / "ref"

# Published columns that hold the codes of a contract column under another name.
CODE_ALIASES: dict[str, str] = {
    "cause": "main_cause",  # marts.causes
    "from_status": "status",  # core.status_events
    "to_status": "status",
    "household_status": "status",  # core.members in the snapshot
    "current_status": "status",  # marts.exit_audit
}


class CodeLabel(NamedTuple):
    column_name: str
    code: str
    label_zh: str | None  # None where the contract delivers the code itself
    label_en: str


def code_labels() -> list[CodeLabel]:
    """One row per (column, code) of every enumerated column of the landing contract and of
    its aliases (:data:`CODE_ALIASES`), with the Chinese and English labels."""
    enums = {c.name: c.enum for e in CONTRACT.values() for c in e.columns if c.enum}
    enums |= {alias: enums[column] for alias, column in CODE_ALIASES.items()}
    return [
        CodeLabel(column, code, None if zh == code else zh, LABELS_EN[zh])
        for column, enum in sorted(enums.items())
        for code, zh in enum
    ]
