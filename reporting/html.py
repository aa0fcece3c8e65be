"""The report analysts and managers open: one self-contained HTML page built from the snapshot.

``render_report(analytics)`` reads the published, PII-free ``analytics.duckdb`` only (never
the internal warehouse) and returns the page: target burn-up for the year of the as-of date,
province progress, causes, village exit readiness, programme coverage and data quality.
The queries are in queries/, the charts come from the chart kit (charts.py) and the page and
its sections are the templates in templates/; this module shapes what each section shows.
Every chart is inline SVG with a title, axis labels and units, a "how to read this" line and
its numbers in a ``<details>`` table. There is no JavaScript, no CDN and no web font, so the
file opens offline and can be mailed as it is. Persons never appear: the page shows counts by
province, county and date, never a household, a person or a village name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
from markupsafe import Markup

from reporting import sql
from reporting.charts import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    SKY,
    Bar,
    BarChart,
    Cell,
    burnup,
    heatmap,
    shade,
)
from reporting.render import Table, render

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

NAV = (
    ("progress", "Target progress"),
    ("provinces", "Provinces"),
    ("causes", "Causes"),
    ("readiness", "Village exit readiness"),
    ("coverage", "Programme coverage"),
    ("quality", "Data quality"),
)


# --- formatting -----------------------------------------------------------------------------


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


# --- reading the snapshot -------------------------------------------------------------------


def load(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the page shows, read from an open snapshot connection (small results only:
    aggregation happens in SQL, so this stays cheap at national scale)."""
    meta = sql.rows(con, "report_meta")[0]
    as_of: dt.date = meta["as_of_date"]
    data: dict[str, Any] = {"meta": meta, "year": as_of.year}
    data["provinces"] = {r["province_code"]: r["name_en"] for r in sql.rows(con, "province_names")}
    data["progress"] = sql.rows(con, "target_progress_year", {"year": as_of.year})
    data["stock"] = sql.rows(con, "poverty_stock_nation", {"as_of_date": as_of})
    data["causes"] = sql.rows(con, "causes")
    data["readiness"] = sql.rows(con, "village_readiness_by_province")
    data["incidence_bins"] = sql.rows(
        con,
        "villages_by_incidence_band",
        {"upper_edges": [hi for _, _, hi in INCIDENCE_BINS if hi != math.inf]},
    )
    data["county_readiness"] = sql.rows(con, "county_readiness_by_province")
    data["coverage"] = sql.rows(con, "programme_coverage", {"as_of_date": as_of})
    data["seed_targets"] = {r["metric"]: r for r in sql.rows(con, "seed_targets")}
    data["dates"] = [
        r["delivery_date"]
        for r in sql.rows(con, "latest_delivery_dates", {"max_dates": MAX_HEATMAP_DATES})
    ][::-1]
    data["counties"] = sql.rows(con, "completeness_by_county")
    since = {"since": data["dates"][0] if data["dates"] else as_of}
    data["completeness"] = sql.rows(con, "completeness_since", since)
    data["quarantine"] = sql.rows(con, "quarantine_by_reason")
    data["quarantine_rows"] = sql.rows(con, "quarantine_entries")[0]["n"]
    data["reconciliation"] = sql.rows(con, "reconciliation_since", since)
    data["expectations"] = sql.rows(con, "failed_expectations")
    # A view in the warehouse, published as a table: snapshots of older code lack it.
    timeliness = {"schema_name": "marts", "table_name": "data_quality_timeliness"}
    data["timeliness"] = (
        sql.rows(con, "timeliness_since", since)
        if sql.rows(con, "table_exists", timeliness)
        else None
    )
    return data


# --- sections -------------------------------------------------------------------------------

Row = dict[str, Any]
Column = tuple[str, Callable[[Row], Any]]
YES_NO = {True: "yes", False: "no", None: "-"}


class Tile(NamedTuple):
    value: str
    label: str
    tone: str  # good, bad or neutral


class Drawn(NamedTuple):
    """A chart ready for a figure: its title and its SVG."""

    title: str
    svg: Markup


def _drawn(chart: BarChart, label_id: str) -> Drawn:
    return Drawn(chart.title, chart.svg(label_id))


def _spec_table(
    rows: Sequence[Row], columns: Sequence[Column], *, text: int = 1, empty: str = "no rows"
) -> Table:
    """A table from (header, getter) columns; the first ``text`` columns are left-aligned."""
    return Table(
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


def _tiles(data: dict[str, Any]) -> list[Tile]:
    as_of = data["meta"]["as_of_date"]
    tiles: list[Tile] = []
    nation = [
        r for r in data["progress"] if r["province_code"] == "00" and r["as_of_date"] == as_of
    ]
    if nation:
        n = nation[0]
        of_target = (
            f", {_frac(n['share_of_target'])} of the target {_int(n['target_people'])}"
            if n["target_people"]
            else " (no target)"
        )
        tiles.append(
            Tile(
                _int(n["net_people"]), f"net people lifted in {data['year']}{of_target}", "neutral"
            )
        )
        if n["projected_year_end"] is not None:
            verdict = "on track" if n["on_track"] else "behind the target"
            tiles.append(
                Tile(
                    _int(n["projected_year_end"]),
                    f"projected by 31 December at the current run rate: {verdict}",
                    "good" if n["on_track"] else "bad",
                )
            )
        if n["lifted_people"]:
            tiles.append(
                Tile(
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
            Tile(
                _int(s["poor_stock_people"]),
                f"people still poor (poor or returned) in {_int(households)} households;"
                f" incidence {_frac(s['incidence'], 2)}",
                "neutral",
            )
        )
    ready = sum(r["ready"] for r in data["readiness"])
    villages = sum(r["villages"] for r in data["readiness"])
    tiles.append(
        Tile(f"{ready:,} of {villages:,}", "villages below their exit threshold", "neutral")
    )
    latest = [c for c in data["completeness"] if c["delivery_date"] == as_of]
    if latest:
        delivered = sum(c["status"] == "delivered" for c in latest)
        tiles.append(
            Tile(
                f"{delivered:,} of {len(latest):,}",
                f"counties delivered on {as_of}",
                "good" if delivered == len(latest) else "bad",
            )
        )
    return tiles


PROGRESS_COLUMNS: tuple[Column, ...] = (
    ("target", lambda r: _int(r["target_people"])),
    ("lifted", lambda r: _int(r["lifted_people"])),
    ("verified", lambda r: _int(r["verified_people"])),
    ("paper exits", lambda r: _int(r["paper_exit_people"])),
    ("returned", lambda r: _int(r["returned_people"])),
    ("net", lambda r: _int(r["net_people"])),
    ("% of target", lambda r: _frac(r["share_of_target"])),
    ("projected 31 Dec", lambda r: _int(r["projected_year_end"])),
    ("on track", lambda r: YES_NO[r["on_track"]]),
)


def _progress(data: dict[str, Any]) -> dict[str, Any] | None:
    """Burn-ups of the nation and of each province, or None without progress this year."""
    year, names = data["year"], data["provinces"]
    by_area: dict[str, list[Row]] = {}
    for r in data["progress"]:
        by_area.setdefault(r["province_code"], []).append(r)
    if not by_area:
        return None

    def chart(code: str, compact: bool) -> Markup:
        rows = by_area[code]
        return burnup(
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

    return {
        "nation": chart("00", False) if "00" in by_area else None,
        "provinces": [chart(c, True) for c in sorted(by_area) if c != "00"],
        "numbers": _spec_table(
            [r for code in sorted(by_area) for r in by_area[code]],
            [
                ("area", lambda r: _area(r["province_code"], names)),
                ("as of", lambda r: r["as_of_date"]),
                *PROGRESS_COLUMNS,
            ],
            text=2,
        ),
    }


def _provinces(data: dict[str, Any]) -> dict[str, Any] | None:
    """Net people lifted against the target and exits by verification, per area on the as-of
    date, or None without progress on that date."""
    names, as_of = data["provinces"], data["meta"]["as_of_date"]
    latest = _nation_first([r for r in data["progress"] if r["as_of_date"] == as_of])
    if not latest:
        return None

    def net_note(r: Row) -> str:
        if not r["target_people"]:
            return f"{_int(r['net_people'])}, no target"
        return f"{_int(r['net_people'])} = {_frac(r['share_of_target'])}"

    def paper_note(r: Row) -> str:
        share = (
            f" ({_pct(100 * r['paper_exit_people'] / r['lifted_people'])})"
            if r["lifted_people"]
            else ""
        )
        return f"{_int(r['paper_exit_people'])} paper{share}"

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
    return {
        "net": _drawn(net, "svg-province-net"),
        "verified": _drawn(verified, "svg-province-verified"),
        "numbers": _spec_table(
            latest, [("area", lambda r: _area(r["province_code"], names)), *PROGRESS_COLUMNS]
        ),
    }


def _causes(data: dict[str, Any]) -> dict[str, Any] | None:
    """The nation's main causes, with the shares per area; None without households."""
    names = data["provinces"]
    nation = [r for r in data["causes"] if r["province_code"] == "00"]
    if not nation:
        return None
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

    return {
        "chart": _drawn(chart, "svg-causes"),
        "by_area": _spec_table(
            nation,
            [("cause", lambda r: r["cause"])]
            + [(f"{_area(a, names)}, % of households", share_in(a)) for a in areas],
        ),
        "detail": _spec_table(
            data["causes"],
            [
                ("area", lambda r: _area(r["province_code"], names)),
                ("main cause", lambda r: r["cause"]),
                ("households", lambda r: _int(r["households"])),
                ("people", lambda r: _int(r["people"])),
                ("share of households", lambda r: _frac(r["share_of_households"])),
                ("still poor: households", lambda r: _int(r["poor_households"])),
                ("still poor: people", lambda r: _int(r["poor_people"])),
                (
                    "households naming it as another cause",
                    lambda r: _int(r["other_cause_households"]),
                ),
            ],
            text=2,
        ),
    }


def _readiness(data: dict[str, Any]) -> dict[str, Any] | None:
    """Villages ready to exit and villages by incidence band, per province; None without
    villages."""
    names = data["provinces"]
    readiness: list[Row] = data["readiness"]
    if not readiness:
        return None
    labels = {
        f"{_area(r['province_code'], names)} (< {r['threshold'] * 100:.0f}%)": r for r in readiness
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
        readiness,
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

    bins = {(b["province_code"], b["bin"]): b["villages"] for b in data["incidence_bins"]}
    cols = [b[0] for b in INCIDENCE_BINS] + ["unknown"]

    def count(r: Row, j: int) -> int:
        return int(bins.get((r["province_code"], -1 if cols[j] == "unknown" else j), 0))

    top_share = max(
        (count(r, j) / r["villages"] for r in readiness for j in range(len(cols))), default=1.0
    )
    cells = {
        (label, col): Cell(
            shade(count(r, j) / r["villages"] / (top_share or 1)),
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
    title = "Villages by poverty incidence, by province"
    heat = heatmap(
        title,
        "svg-incidence",
        list(labels),
        cols,
        cells,
        "Poverty incidence of the village (remaining poor people / rural population), %",
        "Province",
        [
            ("darker = larger share of the province's villages", shade(0.8), "box"),
            ("exit threshold", "#222", "line"),
        ],
        marks,
    )
    return {
        "villages": _drawn(chart, "svg-readiness"),
        "numbers": numbers,
        "incidence": Drawn(title, heat),
        "incidence_numbers": Table(
            ["province", *cols],
            [
                [label, *(_int(count(r, j)) for j in range(len(cols)))]
                for label, r in labels.items()
            ],
            numeric=set(range(1, len(cols) + 1)),
        ),
    }


def _of_target(count: Any, target: Any, share: Any) -> str:
    return f"{_int(count)} of {_int(target)}" + ("" if share is None else f" = {_frac(share)}")


# The seed article's national targets: metric of ref.targets, column of
# marts.programme_coverage, and what the count is.
SEED_TARGETS = (
    ("ecommerce_pilot_villages", "pilot_villages", "e-commerce pilot villages against the"),
    ("ecommerce_villages_cumulative", "reached_villages", "villages reached against the"),
)


def _coverage(data: dict[str, Any]) -> dict[str, Any] | None:
    """E-commerce villages against their targets per area on the as-of date, and the nation
    against the seed article's targets; None without coverage on that date."""
    names, as_of = data["provinces"], data["meta"]["as_of_date"]
    coverage = _nation_first(data["coverage"])
    if not coverage:
        return None
    seed = data["seed_targets"]
    nation = next((r for r in coverage if r["province_code"] == "00"), None)
    against_seed = None
    if nation and seed:
        against_seed = [
            {
                "count": _int(nation[column]),
                "what": what,
                "target": _int(seed[metric]["target"]),
                "year": seed[metric]["year"],
                "share": _pct(100 * nation[column] / seed[metric]["target"], 2),
            }
            for metric, column, what in SEED_TARGETS
            if metric in seed and seed[metric]["target"]
        ]
    bars = []
    for r in coverage:
        area = _area(r["province_code"], names)
        bars.append(
            Bar(
                f"{area}: pilot",
                [(100 * (r["pilot_share_of_target"] or 0), "pilot")],
                note=_of_target(
                    r["pilot_villages"], r["pilot_villages_target"], r["pilot_share_of_target"]
                ),
            )
        )
        bars.append(
            Bar(
                f"{area}: reached",
                [(100 * (r["reached_share_of_target"] or 0), "reached")],
                note=_of_target(
                    r["reached_villages"],
                    r["reached_villages_target"],
                    r["reached_share_of_target"],
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
    return {
        "seed": against_seed,
        "chart": _drawn(chart, "svg-coverage"),
        "numbers": _spec_table(
            coverage,
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
        ),
    }


def _completeness(data: dict[str, Any]) -> dict[str, Any]:
    """Deliveries by county (or by province when there are many counties) and date."""
    names = data["provinces"]
    dates: list[dt.date] = data["dates"]
    comp: list[Row] = data["completeness"]
    col_of = {d: d.strftime("%m-%d") for d in dates}
    counties = sorted({c["county_code"] for c in comp})
    cells: dict[tuple[str, str], Cell] = {}
    by_county = len(counties) <= MAX_COUNTY_ROWS
    if by_county:
        heat_rows = counties
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
    else:
        tally: dict[tuple[str, dt.date], list[int]] = {}
        for c in comp:
            t = tally.setdefault((c["province_code"], c["delivery_date"]), [0, 0])
            t[0] += 1
            t[1] += c["status"] == "delivered"
        heat_rows = sorted({_area(p, names) for p, _ in tally})
        for (p, d), (expected, delivered) in tally.items():
            if d in col_of:
                share = delivered / expected
                cells[(_area(p, names), col_of[d])] = Cell(
                    GREEN if share == 1 else (ORANGE if share >= 0.9 else RED),
                    f"{100 * share:.0f}",
                    f"{_area(p, names)} on {d}: {delivered} of {expected} counties delivered",
                )
    title = "Completeness: deliveries by county and date"
    county_rows: list[Row] = data["counties"]
    capped = len(county_rows) > MAX_COUNTY_TABLE
    listed = (
        [c for c in county_rows if c["missing_days"] or c["files_held"]] if capped else county_rows
    )
    return {
        "title": title,
        "by_county": by_county,
        "svg": heatmap(
            title,
            "svg-completeness",
            heat_rows,
            [col_of[d] for d in dates],
            cells,
            f"Delivery date, month-day (the latest {len(dates)}, Asia/Shanghai)",
            "County" if by_county else "Province",
            [("delivered", GREEN, "box"), ("files held", ORANGE, "box"), ("missing", RED, "box")],
        ),
        "counties": f"{len(county_rows):,}",
        "listed": f"{len(listed):,}" if capped else None,
        "numbers": _spec_table(
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
        ),
    }


def _quarantine(data: dict[str, Any]) -> dict[str, Any]:
    """Quarantine entries by reason and outcome, the 25 largest drawn."""
    q: list[Row] = data["quarantine"]
    by_reason: dict[tuple[str, str], int] = {}
    for r in q:
        key = (r["reason"], r["outcome"])
        by_reason[key] = by_reason.get(key, 0) + r["records"]
    top = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    title = "Rows not simply applied, by reason (all delivery dates)"
    svg = None
    if top:
        order = list(OUTCOME_COLOURS)
        outcomes = sorted(
            {o for (_, o), _ in top},
            key=lambda o: (o not in order, order.index(o) if o in order else 0, o),
        )
        svg = BarChart(
            title=title,
            x_label="Quarantine entries (rows, or 1 per unreadable held file)",
            series={o: (o, OUTCOME_COLOURS.get(o, GREY)) for o in outcomes},
            bars=[
                Bar(reason, [(n, outcome)], note=f"{n:,} {outcome}") for (reason, outcome), n in top
            ],
        ).svg("svg-quarantine")
    return {
        "title": title,
        "svg": svg,
        "entries": f"{data['quarantine_rows']:,}",
        "numbers": _spec_table(
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
        ),
    }


def _reconciliation(data: dict[str, Any]) -> dict[str, Any]:
    """Rows received per recent delivery date, by outcome."""
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
    return {
        "title": chart.title,
        "svg": chart.svg("svg-reconciliation") if rec else None,
        "max_dates": MAX_HEATMAP_DATES,
        "numbers": _spec_table(
            rec,
            [
                ("delivery date", lambda r: r["delivery_date"]),
                *((k, lambda r, k=k: _int(r[k])) for k in ("received", *(k for k, _ in kinds))),
                ("warned (of applied)", lambda r: _int(r["warned"])),
            ],
        ),
    }


def _late(minutes: float | None) -> str:
    if not minutes:
        return "on time"
    if minutes >= 2 * 1440:
        return f"{minutes / 1440:,.0f} days late"
    if minutes >= 120:
        return f"{minutes / 60:,.1f} hours late"
    return f"{minutes:,.0f} minutes late"


def _timeliness(data: dict[str, Any]) -> dict[str, Any] | None:
    """Whether each recent delivery date was loaded by its deadline; None for a snapshot
    without marts.data_quality_timeliness."""
    timeliness: list[Row] | None = data["timeliness"]
    if timeliness is None:
        return None
    return {
        "on_time": sum(bool(r["on_time"]) for r in timeliness),
        "dates": len(timeliness),
        "numbers": _spec_table(
            timeliness,
            [
                ("delivery date", lambda r: r["delivery_date"]),
                ("deadline (Asia/Shanghai)", lambda r: r["deadline"]),
                ("first loaded (Asia/Shanghai)", lambda r: r["first_loaded"]),
                ("on time", lambda r: _late(r["minutes_late"])),
                ("successful loads", lambda r: _int(r["successful_runs"])),
            ],
            text=4,
        ),
    }


def _quality(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "completeness": _completeness(data),
        "quarantine": _quarantine(data),
        "reconciliation": _reconciliation(data),
        "timeliness": _timeliness(data),
        "rules": _spec_table(
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
        ),
    }


def render_page(data: dict[str, Any]) -> str:
    """The page for data read by ``load``."""
    return render(
        "report.html",
        meta=data["meta"],
        year=data["year"],
        nav=NAV,
        tiles=_tiles(data),
        progress=_progress(data),
        provinces=_provinces(data),
        causes=_causes(data),
        readiness=_readiness(data),
        coverage=_coverage(data),
        quality=_quality(data),
    )


def render_report(analytics: Path) -> str:
    """The whole page, from the snapshot at ``analytics`` (opened read-only)."""
    con = duckdb.connect(str(analytics), read_only=True)
    try:
        data = load(con)
    finally:
        con.close()
    return render_page(data)
