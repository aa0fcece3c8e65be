"""Rendering the report and the validation page from the Jinja2 templates in templates/.

Autoescape is on: a value from the data is escaped wherever a template writes it, and only
``Markup`` (the chart kit's SVG) goes in as it is. Both pages inline templates/report.css,
so each stays one self-contained file that opens offline.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Table:
    """A table's headers and formatted cells. Columns in ``numeric`` are right-aligned;
    ``classes`` gives a CSS class per row (empty for none)."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: Collection[int]
    empty: str = "no rows"
    classes: Sequence[str] = ()


def render(template: str, **context: Any) -> str:
    """Template ``template`` (a path under templates/) rendered with ``context``."""
    return _ENV.get_template(template).render(**context)
