from __future__ import annotations

import re
from pathlib import Path

import pytest

from contract.reasons import CATALOGUE, OUTCOMES, reason, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_docs_are_generated_from_the_catalogue() -> None:
    assert (ROOT / "docs" / "reason_codes.md").read_text() == render_markdown(), "run `make docs`"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_codes_are_stable_snake_case_with_a_known_outcome(code: str) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code)
    assert CATALOGUE[code].outcome in OUTCOMES
    assert CATALOGUE[code].scope in ("file", "row")


def test_unknown_code_fails_loudly() -> None:
    with pytest.raises(KeyError, match=r"contract/reasons\.py"):
        reason("no_such_reason")


def test_every_code_the_pipeline_writes_is_catalogued() -> None:
    written = set()
    for path in [*(ROOT / "pipeline").glob("*.py"), *(ROOT / "transforms").glob("*.py")]:
        written |= set(re.findall(r'"([a-z]+(?:_[a-z0-9]+)+)"', path.read_text()))
    candidates = {
        w for w in written if w in CATALOGUE or w.endswith(("_invalid", "_mismatch", "_missing"))
    }
    assert candidates <= set(CATALOGUE), candidates - set(CATALOGUE)
