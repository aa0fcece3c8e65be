"""The report's chart kit: horizontal bar charts, heat maps and the target burn-up as inline SVG.

Every chart carries a ``<title>`` (for screen readers, referenced by ``aria-labelledby``),
axis labels and a legend, and escapes the text it draws itself, so it comes back as
``Markup`` ready for a template. It knows nothing of the snapshot or of the page; the styles
its class names refer to are in templates/report.css.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, RED, SKY, PURPLE, GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#8c8c8c",
)
LIGHT = "#dcdcdc"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _tick_label(value: float, step: float) -> str:
    digits = 0
    while digits < 6 and abs(step * 10**digits - round(step * 10**digits)) > 1e-9:
        digits += 1
    return f"{value:,.{digits}f}"


def nice_ticks(top: float, n: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1-2-2.5-5 steps)."""
    top = top if top > 0 else 1.0
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag * (1 + 1e-9))
    if integer:
        step = max(1.0, round(step))
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _svg_open(width: float, height: float, label_id: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{_e(label_id)}">'
        f'<title id="{_e(label_id)}">{_e(title)}</title>'
    )


def _text(
    x: float, y: float, text: str, cls: str = "lbl", anchor: str = "start", extra: str = ""
) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}"{extra}>{_e(text)}</text>'


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float) -> str:
    """Legend entries (label, colour, kind) in one row; kind is box, line, dash or dot."""
    out = []
    for label, colour, kind in items:
        if kind == "box":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{colour}"/>'
            )
        else:
            dash = {"dash": ' stroke-dasharray="6 4"', "dot": ' stroke-dasharray="2 3"'}.get(
                kind, ""
            )
            out.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}"'
                f' stroke="{colour}" stroke-width="2"{dash}/>'
            )
        out.append(_text(x + 20, y, label, "note"))
        x += 32 + 6.3 * len(label)
    return "".join(out)


# --- horizontal bars ------------------------------------------------------------------------


@dataclass
class Bar:
    """One row of a horizontal bar chart: stacked segments (value, series), an optional
    light background bar (e.g. the target) and a note written after the bar."""

    label: str
    segments: list[tuple[float, str]]
    background: float | None = None
    note: str = ""


@dataclass
class BarChart:
    title: str
    x_label: str
    series: dict[str, tuple[str, str]]  # key -> (legend label, colour)
    bars: list[Bar]
    background_label: str | None = None
    reference: float | None = None  # a vertical reference line, e.g. 100% of target
    reference_label: str = ""
    integer: bool = True
    width: int = 900

    def svg(self, label_id: str) -> Markup:
        bar_h, row_h = 14, 24
        left = min(260, max(70, 7 * max((len(b.label) for b in self.bars), default=4) + 14))
        right = max(110, round(6.4 * max((len(b.note) for b in self.bars), default=0)) + 16)
        top, bottom = 30, 50
        plot_w = self.width - left - right
        height = top + row_h * max(1, len(self.bars)) + bottom
        peak = max(
            [sum(max(v, 0) for v, _ in b.segments) for b in self.bars]
            + [b.background or 0 for b in self.bars]
            + [self.reference or 0]
        )
        ticks = nice_ticks(peak, 5, integer=self.integer)
        x_top = ticks[-1]

        def sx(v: float) -> float:
            return left + plot_w * max(0.0, v) / x_top

        parts = [_svg_open(self.width, height, label_id, self.title)]
        legend = [(label, colour, "box") for label, colour in self.series.values()]
        if self.background_label:
            legend.append((self.background_label, LIGHT, "box"))
        if self.reference is not None and self.reference_label:
            legend.append((self.reference_label, "#333", "dash"))
        parts.append(_legend(legend, left, 16))
        plot_bottom = top + row_h * max(1, len(self.bars))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
        for t in ticks:
            x = sx(t)
            parts.append(
                f'<line class="gridline" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}"/>'
            )
            parts.append(_text(x, plot_bottom + 14, _tick_label(t, step), "tick", "middle"))
        for i, b in enumerate(self.bars):
            y = top + i * row_h + (row_h - bar_h) / 2
            parts.append(_text(left - 8, y + bar_h - 3, b.label, "lbl", "end"))
            if b.background:
                parts.append(
                    f'<rect x="{left}" y="{y - 3:.1f}" width="{sx(b.background) - left:.1f}"'
                    f' height="{bar_h + 6}" fill="{LIGHT}"/>'
                )
            x = float(left)
            for value, key in b.segments:
                w = sx(value) - left
                if w > 0:
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}"'
                        f' fill="{self.series[key][1]}"><title>{_e(self.series[key][0])}: {_e(_fmt_value(value, self.integer))}</title></rect>'
                    )
                x += w
            end = max(x, sx(b.background or 0))
            if b.note:
                parts.append(_text(end + 6, y + bar_h - 3, b.note, "note"))
        if self.reference is not None:
            x = sx(self.reference)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{plot_bottom}" stroke="#333"'
                ' stroke-width="1.5" stroke-dasharray="6 4"/>'
            )
        parts.append(
            f'<line class="axis" x1="{left}" y1="{plot_bottom}" x2="{left + plot_w}" y2="{plot_bottom}"/>'
        )
        parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}"/>')
        parts.append(_text(left + plot_w / 2, plot_bottom + 34, self.x_label, "atitle", "middle"))
        parts.append("</svg>")
        return Markup("".join(parts))


def _fmt_value(value: float, integer: bool) -> str:
    return f"{value:,.0f}" if integer else f"{value:,.1f}"


# --- heat map -------------------------------------------------------------------------------


@dataclass
class Cell:
    colour: str
    text: str
    tooltip: str


def heatmap(
    title: str,
    label_id: str,
    rows: Sequence[str],
    cols: Sequence[str],
    cells: dict[tuple[str, str], Cell],
    x_label: str,
    y_label: str,
    legend: Sequence[tuple[str, str, str]],
    marks: dict[str, int] | None = None,
) -> Markup:
    """Rows x columns of coloured cells with their text; ``marks`` draws a bold line on the
    left edge of a column in a row (e.g. the exit threshold)."""
    left = min(220, max(80, 7 * max((len(r) for r in rows), default=4) + 30))
    top, bottom, right = 62, 20, 20
    cell_w = max(34.0, min(90.0, (1000 - left - right) / max(1, len(cols))))
    cell_h = 22
    legend_w = sum(32 + 6.3 * len(label) for label, _, _ in legend)
    width = max(left + cell_w * len(cols) + right, left + 6.6 * len(x_label) + 10, left + legend_w)
    height = top + cell_h * len(rows) + bottom
    parts = [_svg_open(width, height, label_id, title)]
    parts.append(_legend(legend, left, 14))
    parts.append(_text(left, 34, x_label, "atitle"))
    parts.append(
        _text(
            14,
            top + cell_h * len(rows) / 2,
            y_label,
            "atitle",
            "middle",
            f' transform="rotate(-90 14 {top + cell_h * len(rows) / 2:.1f})"',
        )
    )
    for j, c in enumerate(cols):
        parts.append(_text(left + cell_w * (j + 0.5), top - 8, c, "tick", "middle"))
    for i, r in enumerate(rows):
        y = top + i * cell_h
        parts.append(_text(left - 6, y + cell_h - 7, r, "lbl", "end"))
        for j, c in enumerate(cols):
            cell = cells.get((r, c))
            x = left + j * cell_w
            if cell is None:
                parts.append(
                    f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{cell_w - 2:.1f}" height="{cell_h - 2}"'
                    ' fill="#fff" stroke="#eee"/>'
                )
                continue
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{cell_w - 2:.1f}" height="{cell_h - 2}"'
                f' fill="{cell.colour}"><title>{_e(cell.tooltip)}</title></rect>'
            )
            ink = "#fff" if _dark(cell.colour) else "#222"
            parts.append(
                _text(
                    x + cell_w / 2,
                    y + cell_h - 7,
                    cell.text,
                    "note",
                    "middle",
                    f' style="fill:{ink}"',
                )
            )
    for r, j in (marks or {}).items():
        if r in rows:
            x, y = left + j * cell_w, top + list(rows).index(r) * cell_h
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 1}" x2="{x:.1f}" y2="{y + cell_h + 1}"'
                ' stroke="#222" stroke-width="3"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _dark(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 150


def shade(share: float) -> str:
    """White to blue for a share 0-1."""
    share = min(1.0, max(0.0, share))
    r = round(255 + (0x00 - 255) * share * 0.85)
    g = round(255 + (0x72 - 255) * share * 0.85)
    b = round(255 + (0xB2 - 255) * share * 0.85)
    return f"#{r:02x}{g:02x}{b:02x}"


# --- burn-up --------------------------------------------------------------------------------


def burnup(
    title: str,
    label_id: str,
    year: int,
    points: Sequence[tuple[dt.date, int]],
    target: int | None,
    projected: float | None,
    *,
    width: int = 900,
    height: int = 360,
    compact: bool = False,
) -> Markup:
    """Cumulative net people lifted per as_of_date over the calendar year, against the
    target (horizontal line), the even pace to it (diagonal) and the run-rate projection."""
    left, right = (56, 16) if compact else (72, 130)
    top, bottom = (30, 44) if compact else (34, 52)
    plot_w, plot_h = width - left - right, height - top - bottom
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    days = (end - start).days
    values = [v for _, v in points] + [target or 0, projected or 0]
    low, high = min(0, *values), max(0, *values)
    base = nice_ticks(high - low, 4 if compact else 5, integer=True)
    step = base[1] - base[0]
    ticks = [k * step for k in range(math.floor(low / step), math.ceil(high / step - 1e-9) + 1)]
    y_low, y_top = ticks[0], ticks[-1]

    def sx(d: dt.date) -> float:
        return left + plot_w * (d - start).days / days

    def sy(v: float) -> float:
        return top + plot_h * (1 - (v - y_low) / (y_top - y_low or 1))

    parts = [_svg_open(width, height, label_id, title)]
    if compact:
        parts.append(_text(left, 16, title, "ctitle"))
    else:
        legend = [("net people lifted", BLUE, "line")]
        if target:
            legend += [("target", "#333", "dash"), ("even pace to target", GREY, "dot")]
        if projected is not None and points:
            legend.append(("projection at run rate", BLUE, "dot"))
        parts.append(_legend(legend, left, 16))
    for t in ticks:
        y = sy(t)
        parts.append(
            f'<line class="gridline" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
        )
        parts.append(_text(left - 6, y + 4, _tick_label(t, step), "tick", "end"))
    month_step = 2 if compact else 1
    for m in range(1, 13, month_step):
        d = dt.date(year, m, 1)
        x = sx(d)
        parts.append(
            f'<line class="axis" x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}"/>'
        )
        parts.append(_text(x + 2, top + plot_h + 16, d.strftime("%b"), "tick", "start"))
    parts.append(
        f'<line class="axis" x1="{left}" y1="{sy(0):.1f}" x2="{left + plot_w}" y2="{sy(0):.1f}"/>'
    )
    parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>')
    parts.append(
        _text(
            left + plot_w / 2,
            height - 8,
            f"As-of delivery date, {year} (Asia/Shanghai)",
            "atitle",
            "middle",
        )
    )
    parts.append(
        _text(
            14,
            top + plot_h / 2,
            "People, cumulative",
            "atitle",
            "middle",
            f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"',
        )
    )
    if target:
        y = sy(target)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#333"'
            ' stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<line x1="{sx(start):.1f}" y1="{sy(0):.1f}" x2="{sx(end):.1f}" y2="{y:.1f}" stroke="{GREY}"'
            ' stroke-width="1.5" stroke-dasharray="2 3"/>'
        )
        if not compact:
            parts.append(_text(left + plot_w + 6, y + 4, f"target {target:,}", "note"))
    if points:
        last_d, last_v = points[-1]
        if projected is not None:
            parts.append(
                f'<line x1="{sx(last_d):.1f}" y1="{sy(last_v):.1f}" x2="{sx(end):.1f}" y2="{sy(projected):.1f}"'
                f' stroke="{BLUE}" stroke-width="1.5" stroke-dasharray="2 3"/>'
            )
            if not compact:
                parts.append(
                    _text(
                        left + plot_w + 6, sy(projected) + 16, f"projected {projected:,.0f}", "note"
                    )
                )
        coords = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
        for d, v in points:
            parts.append(
                f'<circle cx="{sx(d):.1f}" cy="{sy(v):.1f}" r="{2.5 if compact else 3}" fill="{BLUE}">'
                f"<title>{d.isoformat()}: {v:,} net</title></circle>"
            )
        parts.append(_text(sx(last_d) + 6, sy(last_v) - 6, f"{last_v:,}", "note"))
    parts.append("</svg>")
    return Markup("".join(parts))
