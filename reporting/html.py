"""The report analysts and managers open: one self-contained HTML page built from the snapshot.

``render_report(analytics)`` reads the published, PII-free ``analytics.duckdb`` only (never
the internal warehouse) and returns the page: target burn-up for the year of the as-of date,
province progress, causes, village exit readiness, programme coverage and data quality.
Every chart is inline SVG drawn here, with a title, axis labels and units, a "how to read
this" line and its numbers in a ``<details>`` table. There is no JavaScript, no CDN and no
web font, so the file opens offline and can be mailed as it is. Persons never appear: the
page shows counts by province, county and date, never a household, a person or a village
name.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

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

# Outcomes of audit.quarantine, in the order a reader scans them (worst first).
OUTCOME_COLOURS = {
    "held": RED,
    "conflict": PURPLE,
    "stale": SKY,
    "duplicate": BLUE,
    "parked": GREY,
    "warned": ORANGE,
}

# Incidence bins of the village readiness heat map; the 2% and 3% thresholds are edges.
INCIDENCE_BINS: tuple[tuple[str, float, float], ...] = (
    ("< 1%", 0.0, 0.01),
    ("1-2%", 0.01, 0.02),
    ("2-3%", 0.02, 0.03),
    ("3-5%", 0.03, 0.05),
    ("5-10%", 0.05, 0.10),
    ("10-20%", 0.10, 0.20),
    (">= 20%", 0.20, math.inf),
)

MAX_HEATMAP_DATES = 31  # completeness and row outcomes: the latest delivery dates
MAX_COUNTY_ROWS = 60  # completeness heat map by county up to this many counties, else by province
MAX_COUNTY_TABLE = 500  # completeness table: every county up to this many, else the ones with gaps

STYLE = """
:root{--ink:#222;--muted:#5a5a5a;--rule:#d9d9d9;--band:#f6f6f4}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif;
 color:var(--ink);margin:0;background:#fff;line-height:1.4}
main,header.top{max-width:1140px;margin:0 auto;padding:0 24px}
header.top{padding-top:20px;border-bottom:1px solid var(--rule)}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.3em;margin:32px 0 8px;padding-top:8px;border-top:2px solid var(--ink)}
h3{font-size:1.05em;margin:0 0 2px}
section>h3{margin-top:22px}
p{margin:6px 0}
.meta{color:var(--muted);margin:0 0 10px}
.meta b{color:var(--ink)}
nav{margin:8px 0 14px;font-size:.92em}
nav a{margin-right:14px;color:#0b5394}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(205px,1fr));gap:10px;margin:14px 0}
.tile{background:var(--band);border-left:4px solid var(--ink);padding:8px 12px}
.tile .v{font-size:1.45em;font-weight:600}
.tile .l{font-size:.85em;color:var(--muted)}
.tile.good{border-color:#009E73}.tile.bad{border-color:#D55E00}.tile.neutral{border-color:#8c8c8c}
figure{margin:14px 0 22px;padding:12px 14px;border:1px solid var(--rule);border-radius:4px;break-inside:avoid}
figure svg{display:block;max-width:100%;height:auto;margin:6px 0}
.how{font-size:.9em;color:var(--muted)}
.how b{color:var(--ink)}
.src{font-size:.8em;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:4px 16px}
details{margin-top:6px;font-size:.88em}
summary{cursor:pointer;color:#0b5394}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--rule);padding:2px 7px;text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600}
td.n{text-align:right}
.empty{padding:10px;background:var(--band);color:var(--muted)}
svg text{font-family:inherit;fill:#333}
svg .axis{stroke:#666;stroke-width:1}
svg .gridline{stroke:#e6e6e6;stroke-width:1}
svg .tick{font-size:11px;fill:#555}
svg .atitle{font-size:12px;fill:#333}
svg .ctitle{font-size:13px;font-weight:600}
svg .lbl{font-size:12px}
svg .note{font-size:11px;fill:#444}
footer{max-width:1140px;margin:30px auto;padding:10px 24px;border-top:1px solid var(--rule);
 font-size:.82em;color:var(--muted)}
@media print{nav,summary{display:none}details{display:block}details>*{display:block}
 figure{border:none;padding:0}}
"""


# --- formatting -----------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _int(value: Any) -> str:
    if value is None:
        return "-"
    return f"{round(value):,}"


def _pct(value: Any, digits: int = 1) -> str:
    """A percentage held as 0-100."""
    return "-" if value is None else f"{value:.{digits}f}%"


def _frac(value: Any, digits: int = 1) -> str:
    """A fraction held as 0-1, shown as a percentage."""
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


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


# --- tables and figures ---------------------------------------------------------------------


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: set[int] | None = None,
    empty: str = "no rows",
) -> str:
    """A plain table; ``numeric`` columns (0-based) are right-aligned."""
    numeric = numeric if numeric is not None else set(range(1, len(headers)))
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(headers)}">{_e(empty)}</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(fig_id: str, title: str, how: str, chart: str, numbers: str, source: str) -> str:
    return (
        f'<figure id="{_e(fig_id)}"><h3 id="{_e(fig_id)}-title">{_e(title)}</h3>'
        f'<p class="how"><b>How to read this:</b> {how}</p>{chart}'
        f"<details><summary>The numbers</summary>{numbers}</details>"
        f'<p class="src">Source: {source}</p></figure>'
    )


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

    def svg(self, label_id: str) -> str:
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
        return "".join(parts)


def _fmt_value(value: float, integer: bool) -> str:
    return f"{value:,.0f}" if integer else f"{value:,.1f}"


# --- heat map -------------------------------------------------------------------------------


@dataclass
class Cell:
    colour: str
    text: str
    tooltip: str


def _heatmap(
    title: str,
    label_id: str,
    rows: Sequence[str],
    cols: Sequence[str],
    cells: dict[tuple[str, str], Cell],
    x_label: str,
    y_label: str,
    legend: Sequence[tuple[str, str, str]],
    marks: dict[str, int] | None = None,
) -> str:
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
    return "".join(parts)


def _dark(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 150


def _shade(share: float) -> str:
    """White to blue for a share 0-1."""
    share = min(1.0, max(0.0, share))
    r = round(255 + (0x00 - 255) * share * 0.85)
    g = round(255 + (0x72 - 255) * share * 0.85)
    b = round(255 + (0xB2 - 255) * share * 0.85)
    return f"#{r:02x}{g:02x}{b:02x}"


# --- burn-up --------------------------------------------------------------------------------


def _burnup(
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
) -> str:
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
    return "".join(parts)


# --- reading the snapshot -------------------------------------------------------------------


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def load(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the page shows, read from an open snapshot connection (small results only:
    aggregation happens in SQL, so this stays cheap at national scale)."""
    meta = _rows(
        con,
        "SELECT as_of_date, deliveries_included, code_version, run_id,"
        " strftime(timezone('Asia/Shanghai', published_at), '%Y-%m-%d %H:%M:%S') AS published_local"
        " FROM meta.snapshot",
    )[0]
    as_of: dt.date = meta["as_of_date"]
    data: dict[str, Any] = {"meta": meta, "year": as_of.year}
    data["provinces"] = {
        r["province_code"]: r["name_en"]
        for r in _rows(con, "SELECT province_code, name_en FROM ref.provinces")
    }
    data["progress"] = _rows(
        con,
        "SELECT * FROM marts.target_progress WHERE year = ? ORDER BY province_code, as_of_date",
        [as_of.year],
    )
    data["stock"] = _rows(
        con,
        "SELECT * FROM marts.poverty_stock WHERE admin_level = 'nation' AND as_of_date = ?",
        [as_of],
    )
    data["causes"] = _rows(
        con,
        "SELECT province_code, cause, households, people, share_of_households, poor_households,"
        " poor_people, other_cause_households FROM marts.causes ORDER BY province_code, households DESC, cause",
    )
    data["readiness"] = _rows(
        con,
        "SELECT province_code, max(threshold)::DOUBLE AS threshold, bool_or(western_exit_rule) AS western,"
        " count(*) AS villages, count(*) FILTER (WHERE ready) AS ready,"
        " count(*) FILTER (WHERE NOT ready) AS not_ready, count(*) FILTER (WHERE ready IS NULL) AS unknown,"
        " count(*) FILTER (WHERE is_poor_village) AS poor_villages,"
        " count(*) FILTER (WHERE is_poor_village AND ready) AS poor_villages_ready,"
        " sum(poor_people) AS poor_people, sum(rural_population) AS rural_population"
        " FROM marts.village_exit_readiness GROUP BY ALL ORDER BY province_code",
    )
    bins = " ".join(
        f"WHEN incidence < {hi} THEN {i}"
        for i, (_, _, hi) in enumerate(INCIDENCE_BINS)
        if hi != math.inf
    )
    data["incidence_bins"] = _rows(
        con,
        f"SELECT province_code, CASE WHEN incidence IS NULL THEN -1 {bins} ELSE {len(INCIDENCE_BINS) - 1} END AS bin,"
        " count(*) AS villages FROM marts.village_exit_readiness GROUP BY ALL ORDER BY ALL",
    )
    data["county_readiness"] = _rows(
        con,
        "SELECT province_code, status, count(*) AS counties FROM marts.county_exit_readiness"
        " GROUP BY ALL ORDER BY ALL",
    )
    data["coverage"] = _rows(
        con,
        "SELECT * FROM marts.programme_coverage WHERE as_of_date = ? ORDER BY province_code",
        [as_of],
    )
    data["seed_targets"] = {
        r["metric"]: r
        for r in _rows(
            con,
            "SELECT metric, year, target, source FROM ref.targets WHERE province_code = '00'"
            " AND metric IN ('ecommerce_pilot_villages', 'ecommerce_villages_cumulative')",
        )
    }
    data["dates"] = [
        r["delivery_date"]
        for r in _rows(
            con,
            "SELECT DISTINCT delivery_date FROM marts.data_quality_completeness"
            " ORDER BY delivery_date DESC LIMIT ?",
            [MAX_HEATMAP_DATES],
        )
    ][::-1]
    data["counties"] = _rows(
        con,
        "SELECT county_code, any_value(province_code) AS province_code, count(*) AS expected_days,"
        " count(*) FILTER (WHERE status = 'delivered') AS delivered_days,"
        " count(*) FILTER (WHERE status = 'missing') AS missing_days,"
        " sum(files) AS files, sum(files_held) AS files_held, sum(rows_received) AS rows_received,"
        " sum(rows_held) AS rows_held FROM marts.data_quality_completeness GROUP BY ALL ORDER BY county_code",
    )
    recent = data["dates"][0] if data["dates"] else as_of
    data["completeness"] = _rows(
        con,
        "SELECT delivery_date, county_code, province_code, status, files, files_held"
        " FROM marts.data_quality_completeness WHERE delivery_date >= ?",
        [recent],
    )
    data["quarantine"] = _rows(
        con,
        "SELECT outcome, reason, entity, sum(records)::BIGINT AS records, sum(files)::BIGINT AS files,"
        " count(DISTINCT delivery_date) AS dates FROM marts.data_quality_quarantine"
        " GROUP BY ALL ORDER BY records DESC, outcome, reason, entity",
    )
    data["quarantine_rows"] = _rows(con, "SELECT count(*) AS n FROM audit.quarantine")[0]["n"]
    data["reconciliation"] = _rows(
        con,
        "SELECT delivery_date, sum(received)::BIGINT AS received, sum(applied)::BIGINT AS applied,"
        " sum(stale)::BIGINT AS stale, sum(duplicate)::BIGINT AS duplicate,"
        " sum(parked)::BIGINT AS parked, sum(held)::BIGINT AS held, sum(warned)::BIGINT AS warned"
        " FROM audit.reconciliation WHERE delivery_date >= ? GROUP BY ALL ORDER BY delivery_date",
        [recent],
    )
    data["expectations"] = _rows(
        con,
        "SELECT entity, expectation, severity, sum(evaluated)::BIGINT AS evaluated,"
        " sum(failed)::BIGINT AS failed, count(DISTINCT delivery_date) FILTER (WHERE failed > 0) AS dates"
        " FROM audit.validation_results GROUP BY ALL HAVING sum(failed) > 0"
        " ORDER BY failed DESC, entity, expectation",
    )
    # A view in the warehouse, published as a table: snapshots of older code lack it.
    data["timeliness"] = (
        _rows(
            con,
            "SELECT delivery_date, on_time, minutes_late, successful_runs,"
            " strftime(timezone('Asia/Shanghai', deadline_at), '%Y-%m-%d %H:%M') AS deadline,"
            " strftime(timezone('Asia/Shanghai', first_loaded_at), '%Y-%m-%d %H:%M') AS first_loaded"
            " FROM marts.data_quality_timeliness WHERE delivery_date >= ? ORDER BY delivery_date",
            [recent],
        )
        if _rows(
            con,
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'marts'"
            " AND table_name = 'data_quality_timeliness'",
        )
        else None
    )
    return data


# --- sections -------------------------------------------------------------------------------

Row = dict[str, Any]
Column = tuple[str, Callable[[Row], Any]]
YES_NO = {True: "yes", False: "no", None: "-"}


def _spec_table(
    rows: Sequence[Row], columns: Sequence[Column], *, text: int = 1, empty: str = "no rows"
) -> str:
    """A table from (header, getter) columns; the first ``text`` columns are left-aligned."""
    return _table(
        [h for h, _ in columns],
        [[get(r) for _, get in columns] for r in rows],
        numeric=set(range(text, len(columns))),
        empty=empty,
    )


def _area(code: str, names: dict[str, str]) -> str:
    if code == "00":
        return "Nation"
    return f"{code} {names[code]}" if code in names else code


def _nation_first(rows: Sequence[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r["province_code"] != "00", r["province_code"]))


def _header(data: dict[str, Any]) -> str:
    meta = data["meta"]
    dates = meta["deliveries_included"] or []
    span = f"{dates[0]} to {dates[-1]}" if dates else "none"
    links = "".join(f'<a href="#{a}">{t}</a>' for a, t in NAV)
    return (
        '<header class="top"><h1>Poverty registry: progress report</h1>'
        f'<p class="meta">As of delivery date <b>{_e(meta["as_of_date"])}</b>'
        f" &middot; snapshot published <b>{_e(meta['published_local'])}</b> (Asia/Shanghai)"
        f" &middot; {len(dates)} delivery dates included ({_e(span)})"
        f" &middot; code version {_e(meta['code_version'])} &middot; run {_e(meta['run_id'])}</p>"
        f"<nav>{links}</nav></header>"
    )


NAV = (
    ("progress", "Target progress"),
    ("provinces", "Provinces"),
    ("causes", "Causes"),
    ("readiness", "Village exit readiness"),
    ("coverage", "Programme coverage"),
    ("quality", "Data quality"),
)


def _tiles(data: dict[str, Any]) -> str:
    as_of = data["meta"]["as_of_date"]
    tiles: list[tuple[str, str, str]] = []  # value, label, good/bad/neutral
    nation = [
        r for r in data["progress"] if r["province_code"] == "00" and r["as_of_date"] == as_of
    ]
    if nation:
        n = nation[0]
        of_target = (
            f", {_pct(n['pct_of_target'])} of the target {_int(n['target_people'])}"
            if n["target_people"]
            else " (no target)"
        )
        tiles.append((_int(n["net_people"]), f"net people lifted in {data['year']}{of_target}", ""))
        if n["projected_year_end"] is not None:
            verdict = "on track" if n["on_track"] else "behind the target"
            tiles.append(
                (
                    _int(n["projected_year_end"]),
                    f"projected by 31 December at the current run rate: {verdict}",
                    "good" if n["on_track"] else "bad",
                )
            )
        if n["lifted_people"]:
            tiles.append(
                (
                    _pct(100 * n["verified_people"] / n["lifted_people"]),
                    "of people lifted are in verified exits;"
                    f" {_int(n['paper_exit_people'])} in paper exits",
                    "good" if n["paper_exit_people"] == 0 else "bad",
                )
            )
    if data["stock"]:
        s = data["stock"][0]
        households = s["households_poor"] + s["households_returned"]
        tiles.append(
            (
                _int(s["poor_stock_people"]),
                f"people still poor (poor or returned) in {_int(households)} households;"
                f" incidence {_frac(s['incidence'], 2)}",
                "",
            )
        )
    ready = sum(r["ready"] for r in data["readiness"])
    villages = sum(r["villages"] for r in data["readiness"])
    tiles.append((f"{ready:,} of {villages:,}", "villages below their exit threshold", ""))
    latest = [c for c in data["completeness"] if c["delivery_date"] == as_of]
    if latest:
        delivered = sum(c["status"] == "delivered" for c in latest)
        tiles.append(
            (
                f"{delivered:,} of {len(latest):,}",
                f"counties delivered on {as_of}",
                "good" if delivered == len(latest) else "bad",
            )
        )
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile {cls or "neutral"}"><div class="v">{_e(v)}</div>'
            f'<div class="l">{_e(label)}</div></div>'
            for v, label, cls in tiles
        )
        + "</div>"
    )


PROGRESS_COLUMNS: tuple[Column, ...] = (
    ("target", lambda r: _int(r["target_people"])),
    ("lifted", lambda r: _int(r["lifted_people"])),
    ("verified", lambda r: _int(r["verified_people"])),
    ("paper exits", lambda r: _int(r["paper_exit_people"])),
    ("returned", lambda r: _int(r["returned_people"])),
    ("net", lambda r: _int(r["net_people"])),
    ("% of target", lambda r: _pct(r["pct_of_target"])),
    ("projected 31 Dec", lambda r: _int(r["projected_year_end"])),
    ("on track", lambda r: YES_NO[r["on_track"]]),
)


def _progress_section(data: dict[str, Any]) -> str:
    year, names = data["year"], data["provinces"]
    by_area: dict[str, list[Row]] = {}
    for r in data["progress"]:
        by_area.setdefault(r["province_code"], []).append(r)
    out = [
        '<section id="progress"><h2>Target progress</h2>'
        f"<p>People lifted out of poverty in {year}, net of returns, counted by the date of each"
        " exit (a late-reported exit raises an earlier point) against the year's target.</p>"
    ]
    if not by_area:
        out.append(f'<p class="empty">No target progress for {year} in this snapshot.</p>')
        return "".join(out) + "</section>"

    def chart(code: str, compact: bool) -> str:
        rows = by_area[code]
        return _burnup(
            f"{_area(code, names)}: net people lifted in {year}",
            f"svg-burnup-{code}",
            year,
            [(r["as_of_date"], r["net_people"]) for r in rows],
            rows[-1]["target_people"],
            rows[-1]["projected_year_end"],
            width=380 if compact else 900,
            height=230 if compact else 360,
            compact=compact,
        )

    table = _spec_table(
        [r for code in sorted(by_area) for r in by_area[code]],
        [
            ("area", lambda r: _area(r["province_code"], names)),
            ("as of", lambda r: r["as_of_date"]),
            *PROGRESS_COLUMNS,
        ],
        text=2,
    )
    how = (
        "the solid line is the cumulative net number of people lifted (exits minus returns) on each"
        " as-of date; the dashed line is the year's target and the dotted diagonal the even pace that"
        " reaches it on 31 December, so a line above the diagonal is ahead of pace. The dotted blue"
        " line projects the current run rate to the year end."
    )
    if "00" in by_area:
        out.append(
            _figure(
                "burnup-nation",
                f"Burn-up {year}: nation",
                how,
                chart("00", False),
                table,
                "marts.target_progress (province_code 00 = nation)",
            )
        )
    provinces = [c for c in sorted(by_area) if c != "00"]
    if provinces:
        out.append(
            _figure(
                "burnup-provinces",
                f"Burn-up {year}: provinces",
                how + " Each province has its own vertical scale.",
                '<div class="grid">' + "".join(chart(c, True) for c in provinces) + "</div>",
                table,
                "marts.target_progress",
            )
        )
    return "".join(out) + "</section>"


def _provinces_section(data: dict[str, Any]) -> str:
    names, as_of = data["provinces"], data["meta"]["as_of_date"]
    latest = _nation_first([r for r in data["progress"] if r["as_of_date"] == as_of])
    out = ['<section id="provinces"><h2>Province progress</h2>']
    if not latest:
        out.append('<p class="empty">No target progress on the as-of date.</p>')
        return "".join(out) + "</section>"
    numbers = _spec_table(
        latest, [("area", lambda r: _area(r["province_code"], names)), *PROGRESS_COLUMNS]
    )

    def net_note(r: Row) -> str:
        if not r["target_people"]:
            return f"{_int(r['net_people'])}, no target"
        return f"{_int(r['net_people'])} = {_pct(r['pct_of_target'])}"

    net = BarChart(
        title=f"Net people lifted against the target, as of {as_of}",
        x_label="People (net of returns, year to date)",
        series={"net": ("net people lifted", BLUE)},
        background_label="target",
        bars=[
            Bar(
                _area(r["province_code"], names),
                [(r["net_people"], "net")],
                background=r["target_people"],
                note=net_note(r),
            )
            for r in latest
        ],
    )
    out.append(
        _figure(
            "province-net",
            net.title,
            "each blue bar is an area's net people lifted this year; the grey bar behind it is its"
            " target, so a blue bar that fills the grey one has met the target. The note gives the"
            " share of the target.",
            net.svg("svg-province-net"),
            numbers,
            "marts.target_progress",
        )
    )

    def paper_note(r: Row) -> str:
        share = (
            f" ({_pct(100 * r['paper_exit_people'] / r['lifted_people'])})"
            if r["lifted_people"]
            else ""
        )
        return f"{_int(r['paper_exit_people'])} paper{share}"

    verified = BarChart(
        title=f"Exits by verification, as of {as_of}",
        x_label="People in exits (year to date)",
        series={
            "verified": ("verified exits", GREEN),
            "paper": ("paper exits (a criterion failed)", ORANGE),
        },
        bars=[
            Bar(
                _area(r["province_code"], names),
                [(r["verified_people"], "verified"), (r["paper_exit_people"], "paper")],
                note=paper_note(r),
            )
            for r in latest
        ],
    )
    out.append(
        _figure(
            "province-verified",
            verified.title,
            "the whole bar is the people in exits this year; the green part meets every exit criterion"
            " (income above the line, food and clothing, education, medical care, housing, water), the"
            " orange part is paper exits the verification teams must revisit (marts.exit_audit lists"
            " them with the failed criteria).",
            verified.svg("svg-province-verified"),
            numbers,
            "marts.target_progress, marts.exit_audit",
        )
    )
    return "".join(out) + "</section>"


def _causes_section(data: dict[str, Any]) -> str:
    names = data["provinces"]
    nation = [r for r in data["causes"] if r["province_code"] == "00"]
    out = ['<section id="causes"><h2>Causes of poverty</h2>']
    if not nation:
        out.append('<p class="empty">No registered households.</p>')
        return "".join(out) + "</section>"
    chart = BarChart(
        title="Main cause of poverty, share of registered households (nation)",
        x_label="Share of registered households (%)",
        series={"main": ("households with this main cause", BLUE)},
        bars=[
            Bar(
                r["cause"],
                [(100 * (r["share_of_households"] or 0), "main")],
                note=f"{_frac(r['share_of_households'])}, {_int(r['households'])} households",
            )
            for r in nation
        ],
        integer=False,
    )
    areas = ["00", *sorted({r["province_code"] for r in data["causes"]} - {"00"})]
    by_key = {(r["province_code"], r["cause"]): r for r in data["causes"]}

    def share_in(area: str) -> Callable[[Row], str]:
        def get(r: Row) -> str:
            hit = by_key.get((area, r["cause"]))
            return _frac(hit["share_of_households"]) if hit else "-"

        return get

    matrix = _spec_table(
        nation,
        [("cause", lambda r: r["cause"])]
        + [(f"{_area(a, names)}, % of households", share_in(a)) for a in areas],
    )
    detail = _spec_table(
        data["causes"],
        [
            ("area", lambda r: _area(r["province_code"], names)),
            ("main cause", lambda r: r["cause"]),
            ("households", lambda r: _int(r["households"])),
            ("people", lambda r: _int(r["people"])),
            ("share of households", lambda r: _frac(r["share_of_households"])),
            ("still poor: households", lambda r: _int(r["poor_households"])),
            ("still poor: people", lambda r: _int(r["poor_people"])),
            ("households naming it as another cause", lambda r: _int(r["other_cause_households"])),
        ],
        text=2,
    )
    out.append(
        _figure(
            "causes",
            chart.title,
            "each bar is the share of registered households (poor, lifted or returned; removed ones"
            " left out) whose main cause of poverty is that cause; the shares add up to 100%. The"
            " tables give the shares per province and how often each cause is named as a secondary"
            " cause.",
            chart.svg("svg-causes"),
            matrix + detail,
            "marts.causes",
        )
    )
    return "".join(out) + "</section>"


def _readiness_section(data: dict[str, Any]) -> str:
    names = data["provinces"]
    rows: list[Row] = data["readiness"]
    out = [
        '<section id="readiness"><h2>Village exit readiness</h2>'
        "<p>A village may exit when its poverty incidence (remaining poor people / rural hukou"
        " population) is below 2%, or below 3% in the twelve western provinces.</p>"
    ]
    if not rows:
        out.append('<p class="empty">No villages in this snapshot.</p>')
        return "".join(out) + "</section>"
    labels = {
        f"{_area(r['province_code'], names)} (< {r['threshold'] * 100:.0f}%)": r for r in rows
    }
    chart = BarChart(
        title="Villages ready to exit, by province",
        x_label="Villages",
        series={
            "ready": ("ready (incidence below threshold)", GREEN),
            "not_ready": ("not ready", RED),
            "unknown": ("no rural population on record", GREY),
        },
        bars=[
            Bar(
                label,
                [(r["ready"], "ready"), (r["not_ready"], "not_ready"), (r["unknown"], "unknown")],
                note=f"{_int(r['ready'])} of {_int(r['villages'])} ready",
            )
            for label, r in labels.items()
        ],
    )
    county = {(c["province_code"], c["status"]): c["counties"] for c in data["county_readiness"]}
    numbers = _spec_table(
        rows,
        [
            ("province", lambda r: _area(r["province_code"], names)),
            ("rule", lambda r: "western" if r["western"] else "general"),
            ("threshold", lambda r: _frac(r["threshold"], 0)),
            ("villages", lambda r: _int(r["villages"])),
            ("ready", lambda r: _int(r["ready"])),
            ("not ready", lambda r: _int(r["not_ready"])),
            ("no population", lambda r: _int(r["unknown"])),
            ("poor villages", lambda r: _int(r["poor_villages"])),
            ("poor villages ready", lambda r: _int(r["poor_villages_ready"])),
            ("poor people", lambda r: _int(r["poor_people"])),
            ("rural population", lambda r: _int(r["rural_population"])),
            ("counties ready", lambda r: _int(county.get((r["province_code"], "ready"), 0))),
            ("not ready", lambda r: _int(county.get((r["province_code"], "not_ready"), 0))),
            ("not evaluated", lambda r: _int(county.get((r["province_code"], "not_evaluated"), 0))),
        ],
        text=2,
    )
    out.append(
        _figure(
            "readiness",
            chart.title,
            "each bar counts a province's villages: green ones are below their exit threshold (shown"
            " after the province name), red ones are not, grey ones have no rural population on"
            " record so their incidence is unknown. The table adds the county exit rule.",
            chart.svg("svg-readiness"),
            numbers,
            "marts.village_exit_readiness, marts.county_exit_readiness",
        )
    )

    bins = {(b["province_code"], b["bin"]): b["villages"] for b in data["incidence_bins"]}
    cols = [b[0] for b in INCIDENCE_BINS] + ["unknown"]

    def count(r: Row, j: int) -> int:
        return int(bins.get((r["province_code"], -1 if cols[j] == "unknown" else j), 0))

    top_share = max(
        (count(r, j) / r["villages"] for r in rows for j in range(len(cols))), default=1.0
    )
    cells = {
        (label, col): Cell(
            _shade(count(r, j) / r["villages"] / (top_share or 1)),
            f"{count(r, j):,}",
            f"{label}, incidence {col}: {count(r, j):,} villages",
        )
        for label, r in labels.items()
        for j, col in enumerate(cols)
        if count(r, j)
    }
    # The threshold is the lower edge of a band: the bold line sits on that band's left edge.
    marks = {
        label: next(
            (j for j, (_, lo, _) in enumerate(INCIDENCE_BINS) if abs(lo - r["threshold"]) < 1e-9),
            len(INCIDENCE_BINS),
        )
        for label, r in labels.items()
    }
    heat = _heatmap(
        "Villages by poverty incidence, by province",
        "svg-incidence",
        list(labels),
        cols,
        cells,
        "Poverty incidence of the village (remaining poor people / rural population), %",
        "Province",
        [
            ("darker = larger share of the province's villages", _shade(0.8), "box"),
            ("exit threshold", "#222", "line"),
        ],
        marks,
    )
    numbers = _table(
        ["province", *cols],
        [[label, *(_int(count(r, j)) for j in range(len(cols)))] for label, r in labels.items()],
    )
    out.append(
        _figure(
            "incidence",
            "Villages by poverty incidence, by province",
            "each cell counts the villages of a province whose incidence falls in the column's band;"
            " the bold line is the province's exit threshold, so the villages left of it are ready."
            " Darker cells hold a larger share of the province's villages; unknown: no rural"
            " population on record.",
            heat,
            numbers,
            "marts.village_exit_readiness",
        )
    )
    return "".join(out) + "</section>"


def _of_target(count: Any, target: Any, pct: Any) -> str:
    return f"{_int(count)} of {_int(target)}" + ("" if pct is None else f" = {_pct(pct)}")


def _coverage_section(data: dict[str, Any]) -> str:
    names, as_of = data["provinces"], data["meta"]["as_of_date"]
    rows = _nation_first(data["coverage"])
    out = ['<section id="coverage"><h2>Programme coverage</h2>']
    seed = data["seed_targets"]
    nation = next((r for r in rows if r["province_code"] == "00"), None)
    if nation and seed:
        bits = []
        for metric, column, what in (
            ("ecommerce_pilot_villages", "pilot_villages", "e-commerce pilot villages against the"),
            ("ecommerce_villages_cumulative", "reached_villages", "villages reached against the"),
        ):
            if metric in seed and seed[metric]["target"]:
                t = seed[metric]
                bits.append(
                    f"<b>{_int(nation[column])}</b> {what} {_int(t['target'])} of the"
                    f" {t['year']} target ({_pct(100 * nation[column] / t['target'], 2)})"
                )
        out.append(
            "<p>Against the national reference targets of the seed article (ref.targets): "
            + "; ".join(bits)
            + ". The chart measures each area against the target in force"
            " (marts.effective_targets: a delivered target wins over the reference default).</p>"
        )
    if not rows:
        out.append('<p class="empty">No programme coverage on the as-of date.</p>')
        return "".join(out) + "</section>"
    bars = []
    for r in rows:
        area = _area(r["province_code"], names)
        bars.append(
            Bar(
                f"{area}: pilot",
                [(r["pilot_pct_of_target"] or 0, "pilot")],
                note=_of_target(
                    r["pilot_villages"], r["pilot_villages_target"], r["pilot_pct_of_target"]
                ),
            )
        )
        bars.append(
            Bar(
                f"{area}: reached",
                [(r["reached_pct_of_target"] or 0, "reached")],
                note=_of_target(
                    r["reached_villages"], r["reached_villages_target"], r["reached_pct_of_target"]
                ),
            )
        )
    chart = BarChart(
        title=f"E-commerce villages against their targets, as of {as_of}",
        x_label="Percent of the target in force (%)",
        series={
            "pilot": ("pilot villages", ORANGE),
            "reached": ("villages reached (cumulative)", BLUE),
        },
        bars=bars,
        reference=100.0,
        reference_label="target (100%)",
        integer=False,
    )
    numbers = _spec_table(
        rows,
        [
            ("area", lambda r: _area(r["province_code"], names)),
            ("villages", lambda r: _int(r["villages"])),
            ("poor villages", lambda r: _int(r["poor_villages"])),
            ("with e-commerce station", lambda r: _int(r["villages_with_station"])),
            ("pilot villages", lambda r: _int(r["pilot_villages"])),
            ("pilot target", lambda r: _int(r["pilot_villages_target"])),
            ("pilot target year", lambda r: r["pilot_target_year"] or "-"),
            ("villages reached", lambda r: _int(r["reached_villages"])),
            ("reached target", lambda r: _int(r["reached_villages_target"])),
            ("reached target year", lambda r: r["reached_target_year"] or "-"),
            ("households selling online", lambda r: _int(r["households_selling_online"])),
            ("e-commerce trainings", lambda r: _int(r["ecommerce_trainings"])),
            ("solar PV, kW", lambda r: _num(r["solar_capacity_kw"], 1)),
            ("paper mulberry, mu", lambda r: _num(r["paper_mulberry_mu"], 1)),
        ],
    )
    out.append(
        _figure(
            "coverage",
            chart.title,
            "each bar is the share of a target met: orange for pilot villages (villages with an"
            " e-commerce pilot year), blue for villages ever reached by e-commerce (a service station"
            " or an e-commerce event). The dashed line is 100%; the note gives count and target. An"
            " area without a target has no bar.",
            chart.svg("svg-coverage"),
            numbers,
            "marts.programme_coverage, marts.effective_targets, ref.targets",
        )
    )
    return "".join(out) + "</section>"


def _completeness_figure(data: dict[str, Any]) -> str:
    names = data["provinces"]
    dates: list[dt.date] = data["dates"]
    comp: list[Row] = data["completeness"]
    col_of = {d: d.strftime("%m-%d") for d in dates}
    counties = sorted({c["county_code"] for c in comp})
    cells: dict[tuple[str, str], Cell] = {}
    if len(counties) <= MAX_COUNTY_ROWS:
        rows = counties
        for c in comp:
            if c["delivery_date"] not in col_of:
                continue
            where = f"{c['county_code']} on {c['delivery_date']}"
            if c["status"] == "missing":
                cell = Cell(RED, "0", f"{where}: missing")
            elif c["files_held"]:
                cell = Cell(
                    ORANGE,
                    f"{c['files'] - c['files_held']}/{c['files']}",
                    f"{where}: {c['files_held']} of {c['files']} files held",
                )
            else:
                cell = Cell(GREEN, str(c["files"]), f"{where}: {c['files']} files")
            cells[(c["county_code"], col_of[c["delivery_date"]])] = cell
        y_label = "County"
        how = (
            "one row per county, one column per delivery date (month-day). Green: delivered (number"
            " of files); orange: delivered with files held whole (loaded/delivered); red: missing (a"
            " county that delivered before sent nothing). Blank: not expected yet."
        )
    else:
        tally: dict[tuple[str, dt.date], list[int]] = {}
        for c in comp:
            t = tally.setdefault((c["province_code"], c["delivery_date"]), [0, 0])
            t[0] += 1
            t[1] += c["status"] == "delivered"
        rows = sorted({_area(p, names) for p, _ in tally})
        for (p, d), (expected, delivered) in tally.items():
            if d in col_of:
                share = delivered / expected
                cells[(_area(p, names), col_of[d])] = Cell(
                    GREEN if share == 1 else (ORANGE if share >= 0.9 else RED),
                    f"{100 * share:.0f}",
                    f"{_area(p, names)} on {d}: {delivered} of {expected} counties delivered",
                )
        y_label = "Province"
        how = (
            "one row per province, one column per delivery date (month-day); each cell is the"
            " percent of the province's counties that delivered. Green: all; orange: at least 90%;"
            " red: fewer."
        )
    title = "Completeness: deliveries by county and date"
    heat = _heatmap(
        title,
        "svg-completeness",
        rows,
        [col_of[d] for d in dates],
        cells,
        f"Delivery date, month-day (the latest {len(dates)}, Asia/Shanghai)",
        y_label,
        [("delivered", GREEN, "box"), ("files held", ORANGE, "box"), ("missing", RED, "box")],
    )
    county_rows: list[Row] = data["counties"]
    gaps = [c for c in county_rows if c["missing_days"] or c["files_held"]]
    listed, note = county_rows, ""
    if len(county_rows) > MAX_COUNTY_TABLE:
        listed = gaps
        note = (
            f"<p>{len(county_rows):,} counties: the {len(gaps):,} with a missing date or a held"
            " file are listed.</p>"
        )
    numbers = note + _spec_table(
        listed,
        [
            ("county", lambda c: c["county_code"]),
            ("province", lambda c: _area(c["province_code"], names)),
            ("dates expected", lambda c: _int(c["expected_days"])),
            ("delivered", lambda c: _int(c["delivered_days"])),
            ("missing", lambda c: _int(c["missing_days"])),
            ("completeness", lambda c: _pct(100 * c["delivered_days"] / c["expected_days"])),
            ("files", lambda c: _int(c["files"])),
            ("files held", lambda c: _int(c["files_held"])),
            ("rows received", lambda c: _int(c["rows_received"])),
            ("rows held", lambda c: _int(c["rows_held"])),
        ],
        text=2,
    )
    return _figure(
        "completeness",
        title,
        how,
        heat,
        numbers,
        "marts.data_quality_completeness (the table: every processed delivery date)",
    )


def _quarantine_figure(data: dict[str, Any]) -> str:
    q: list[Row] = data["quarantine"]
    by_reason: dict[tuple[str, str], int] = {}
    for r in q:
        key = (r["reason"], r["outcome"])
        by_reason[key] = by_reason.get(key, 0) + r["records"]
    top = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    numbers = (
        _spec_table(
            q,
            [
                ("outcome", lambda r: r["outcome"]),
                ("reason", lambda r: r["reason"]),
                ("entity", lambda r: r["entity"]),
                ("entries", lambda r: _int(r["records"])),
                ("files", lambda r: _int(r["files"])),
                ("delivery dates", lambda r: _int(r["dates"])),
            ],
            text=3,
            empty="no quarantine entries",
        )
        + f"<p>audit.quarantine holds {data['quarantine_rows']:,} entries.</p>"
    )
    title = "Rows not simply applied, by reason (all delivery dates)"
    if top:
        order = list(OUTCOME_COLOURS)
        outcomes = sorted(
            {o for (_, o), _ in top},
            key=lambda o: (o not in order, order.index(o) if o in order else 0, o),
        )
        chart = BarChart(
            title=title,
            x_label="Quarantine entries (rows, or 1 per unreadable held file)",
            series={o: (o, OUTCOME_COLOURS.get(o, GREY)) for o in outcomes},
            bars=[
                Bar(reason, [(n, outcome)], note=f"{n:,} {outcome}") for (reason, outcome), n in top
            ],
        ).svg("svg-quarantine")
    else:
        chart = (
            '<p class="empty">No row was held, set aside or warned in the delivery dates of this'
            " snapshot: audit.quarantine is empty, so there is nothing to chart.</p>"
        )
    return _figure(
        "quarantine",
        title,
        "each bar counts the quarantine entries with one reason code, coloured by what happened to"
        " the rows: held (not loaded), conflict, stale or duplicate (an older or repeated version),"
        " parked (waiting for its parent) or warned (loaded with a flag). The 25 largest are drawn.",
        chart,
        numbers,
        "marts.data_quality_quarantine (counts of audit.quarantine)",
    )


def _reconciliation_figure(data: dict[str, Any]) -> str:
    rec: list[Row] = data["reconciliation"]
    kinds = (
        ("applied", GREEN),
        ("stale", SKY),
        ("duplicate", BLUE),
        ("parked", GREY),
        ("held", RED),
    )
    chart = BarChart(
        title="Rows received per delivery date, by outcome",
        x_label="Rows received",
        series={k: (k, c) for k, c in kinds},
        bars=[
            Bar(
                r["delivery_date"].isoformat(),
                [(r[k], k) for k, _ in kinds],
                note=f"{r['received']:,} rows, {r['held']:,} held, {r['warned']:,} warned",
            )
            for r in rec
        ],
    )
    numbers = _spec_table(
        rec,
        [
            ("delivery date", lambda r: r["delivery_date"]),
            *((k, lambda r, k=k: _int(r[k])) for k in ("received", *(k for k, _ in kinds))),
            ("warned (of applied)", lambda r: _int(r["warned"])),
        ],
    )
    return _figure(
        "reconciliation",
        chart.title,
        "each bar is one delivery date's rows; every row received is applied, stale, duplicate,"
        " parked or held, so the segments make up the whole bar: nothing is lost. Warned rows are"
        " applied rows that carry a flag.",
        chart.svg("svg-reconciliation") if rec else '<p class="empty">No delivered rows.</p>',
        numbers,
        f"audit.reconciliation (the latest {MAX_HEATMAP_DATES} delivery dates at most)",
    )


def _late(minutes: float | None) -> str:
    if not minutes:
        return "on time"
    if minutes >= 2 * 1440:
        return f"{minutes / 1440:,.0f} days late"
    if minutes >= 120:
        return f"{minutes / 60:,.1f} hours late"
    return f"{minutes:,.0f} minutes late"


def _timeliness(data: dict[str, Any]) -> str:
    rows: list[Row] | None = data["timeliness"]
    if rows is None:
        return ""
    on_time = sum(bool(r["on_time"]) for r in rows)
    return (
        "<h3>Timeliness: loaded by the deadline?</h3>"
        '<p class="how"><b>How to read this:</b> the deadline for delivery date D is 02:00'
        " Asia/Shanghai on D + 1; a date is on time when its first successful load came before it."
        f" {on_time} of {len(rows)} delivery dates were on time. A backfill or a demo replays old"
        " dates, so their loads are late by construction.</p>"
        + _spec_table(
            rows,
            [
                ("delivery date", lambda r: r["delivery_date"]),
                ("deadline (Asia/Shanghai)", lambda r: r["deadline"]),
                ("first loaded (Asia/Shanghai)", lambda r: r["first_loaded"]),
                ("on time", lambda r: _late(r["minutes_late"])),
                ("successful loads", lambda r: _int(r["successful_runs"])),
            ],
            text=4,
        )
        + '<p class="src">Source: marts.data_quality_timeliness (from audit.runs)</p>'
    )


def _quality_section(data: dict[str, Any]) -> str:
    rules = _spec_table(
        data["expectations"],
        [
            ("entity", lambda r: r["entity"]),
            ("rule", lambda r: r["expectation"]),
            ("severity", lambda r: r["severity"]),
            ("rows evaluated", lambda r: _int(r["evaluated"])),
            ("rows failed", lambda r: _int(r["failed"])),
            ("delivery dates with failures", lambda r: _int(r["dates"])),
        ],
        text=3,
        empty="No rule failed on any row.",
    )
    return (
        '<section id="quality"><h2>Data quality</h2>'
        "<p>Completeness (which counties delivered), the rows the pipeline did not simply apply,"
        " and the reconciliation of every delivered row. Reason codes: docs/reason_codes.md.</p>"
        + _completeness_figure(data)
        + _quarantine_figure(data)
        + _reconciliation_figure(data)
        + _timeliness(data)
        + "<h3>Validation rules with failures</h3>"
        '<p class="how">Great Expectations rules that failed on at least one row, all delivery'
        " dates: error rules hold rows, warn rules flag them. Per delivery:"
        " reports/validation_D.html.</p>" + rules + "</section>"
    )


SECTIONS: tuple[Callable[[dict[str, Any]], str], ...] = (
    _progress_section,
    _provinces_section,
    _causes_section,
    _readiness_section,
    _coverage_section,
    _quality_section,
)


def render_page(data: dict[str, Any]) -> str:
    """The page for data read by ``load``."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Poverty registry report as of {_e(data['meta']['as_of_date'])}</title>"
        f"<style>{STYLE}</style></head><body>"
        + _header(data)
        + "<main>"
        + _tiles(data)
        + "".join(section(data) for section in SECTIONS)
        + "</main><footer>Built from the published snapshot analytics.duckdb by"
        " reporting/html.py. PII-free: no names and no resident IDs, only counts by province,"
        " county and date. Tables and columns: docs/data_dictionary.md; queries to go further:"
        " docs/analyst_guide.md. Dates are calendar dates in Asia/Shanghai.</footer>"
        "</body></html>\n"
    )


def render_report(analytics: Path) -> str:
    """The whole page, from the snapshot at ``analytics`` (opened read-only)."""
    con = duckdb.connect(str(analytics), read_only=True)
    try:
        data = load(con)
    finally:
        con.close()
    return render_page(data)
