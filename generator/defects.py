"""Planted defects and their answer key.

Every planted row carries exactly one defect, so its expected outcome (the ``outcome`` of
its reason in :mod:`contract.reasons`) is unambiguous, and no clean row is disturbed:

* held defects (typing, identity, codes, rules) and conflicts ride on *ghost* records:
  keys that exist only to carry the defect (a household with sequence 9000+, a village
  numbered 101-199, a new person), so refusing them leaves the registry whole;
* stale and duplicate rows repeat a record delivered on an earlier day (or earlier in the
  same file on a one-day run), never one that changes the same day;
* warned defects (size mismatch, paper exit in the identification year, return without an
  exit, ID from another county, income outlier) change a real record, which is then
  frozen so it is never delivered again and cannot be flagged twice;
* moves: a head delivered as head of another household, which has one, of the same or of
  a later county (held, ``household_head_count``: they stay head of their own), and a
  member who moves to a household of a later county (applied, warned ``id_other_county``:
  people keep their ID when they move). A later county is generated after the whole run
  of this one, so the person is handed over (:class:`Mover`) and delivered there on the
  same day; their own household is not delivered that day, nor ever again when they
  leave it, and the household they arrive in is not delivered that day (nor ever again
  when they join it);
* a file never has more than a third of its rows held, so no clean row is caught by the
  "more than half invalid" rule; small change files are padded with clean re-deliveries;
* whole-file defects are extra files of ghost rows beside the county's own files.

Reasons that cannot be planted by a generator are not: ``path_outside_landing`` (a
symlink), ``manifest_invalid`` (holds every file of the day), ``volume_jump`` and
``late_file`` (they depend on the history of runs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contract.idcard import check_char
from contract.landing import CAUSES, CONTRACT
from contract.reasons import CATALOGUE, HELD
from generator.county import County, DayChanges, date_of, day_number
from generator.deliveries import ENTITIES, RunConfig, Writer
from generator.formats import CANONICAL, XLSX, Style, format_frame, style_for
from generator.frames import (
    households_frame,
    members_frame,
    rows_frame,
    villages_frame,
)
from generator.geography import Geography
from generator.ids import SequenceAllocator, id_strings
from generator.names import (
    GIVEN_FEMALE,
    GIVEN_MALE,
    SURNAMES,
    VILLAGE_FIRST,
    VILLAGE_SECOND,
    VILLAGE_SUFFIX,
)
from generator.people import lines_for, per_capita, working_hours
from generator.reference import Reference
from generator.tables import ACTIVE, HEAD, LIFTED, POOR, REMOVED, RETURNED
from generator.writers import to_bytes

Row = dict[str, object]
# Columns of the generator's frames that are not delivered.
HIDDEN = ("_pos", "_defect", "_ov_col", "_ov_val", "_num")


@dataclass(frozen=True)
class Kind:
    code: str
    entities: tuple[str, ...]
    change_day: bool = False  # needs a record delivered on an earlier day
    first_day: bool = False  # only on the first day
    xlsx: bool = False  # only in an xlsx file

    @property
    def held(self) -> bool:
        return CATALOGUE[self.code].outcome == HELD


V, H, M, A = "villages", "households", "members", "assistance"
ROW_KINDS: tuple[Kind, ...] = (
    Kind("missing_required", (V, H, M, A)),
    Kind("invalid_number", (V, A)),
    Kind("invalid_bool", (V, H, M)),
    Kind("invalid_date", (H, A)),
    Kind("invalid_timestamp", (V, H, M, A)),
    Kind("unknown_code_value", (H, M, A)),
    Kind("value_out_of_range", (V, H, A)),
    Kind("excel_numeric_id", (M, H), xlsx=True),
    Kind("id_format_invalid", (M, H)),
    Kind("id_check_char_invalid", (M, H)),
    Kind("id_birth_date_mismatch", (M,)),
    Kind("id_sex_mismatch", (M,)),
    Kind("village_code_invalid", (V, A)),
    Kind("household_id_invalid", (H, A)),
    Kind("household_village_mismatch", (H,)),
    Kind("per_capita_mismatch", (H,)),
    Kind("other_causes_invalid", (H,)),
    Kind("date_in_future", (H, A)),
    Kind("date_order_invalid", (H,)),
    Kind("assistance_target_missing", (A,)),
    Kind("household_head_count", (M,), change_day=True),
    Kind("conflicting_duplicate", (V, H, M, A)),
    Kind("person_in_two_households", (M,)),
    Kind("duplicate_row", (V, H, M, A)),
    Kind("stale_update", (V, H, M, A)),
    Kind("parent_missing", (M, H)),
    Kind("household_size_mismatch", (H,)),
    Kind("exit_in_identification_year", (H,)),
    Kind("return_without_exit", (H,)),
    Kind("id_other_county", (M,)),
    Kind("income_outlier", (H,), first_day=True),
)
KINDS = {k.code: k for k in ROW_KINDS}
# Kinds planted in several ways, the kind's own first; a row of the kind planted beyond
# the plan takes one at random.
VARIANTS = {
    "household_head_count": ("in_household", "move", "move_other_county"),
    "id_other_county": ("new_member", "move_other_county"),
}
# The ways that move a person, planted on every change day.
MOVES = tuple(f"{k}:{v}" for k, vs in VARIANTS.items() for v in vs if v.startswith("move"))
TARGET_KINDS = (
    "province_code_invalid",
    "value_out_of_range",
    "unknown_code_value",
    "missing_required",
)
FILE_KINDS = (
    "file_name_invalid",
    "file_empty",
    "file_unreadable",
    "file_truncated",
    "header_missing_column",
    "header_duplicate_column",
    "header_unknown_column",
    "manifest_checksum_mismatch",
    "manifest_row_count_mismatch",
    "manifest_missing_file",
    "file_mostly_invalid",
)
NOT_PLANTED = ("path_outside_landing", "manifest_invalid", "volume_jump", "late_file")
GHOST_SEQ = 9000  # household sequence numbers of ghost households
GHOST_VILLAGE = 101  # village part of ghost village codes: 101-199


def planted_codes() -> set[str]:
    return {k.code for k in ROW_KINDS} | set(TARGET_KINDS) | set(FILE_KINDS)


def records(frame: pl.DataFrame) -> list[Row]:
    """The rows of a generator frame as dicts of delivered columns."""
    return frame.drop(HIDDEN, strict=False).to_dicts()


@dataclass(frozen=True)
class Mover:
    """A person handed from one county to a later one, delivered there on the same day."""

    row: Row  # their member row as last delivered
    relation: str  # in the household they are delivered into
    code: str  # household_head_count (held: a second head) or id_other_county (applied)


@dataclass
class CountyDefects:
    """What the planter remembers about one county between days."""

    ghost_hh: int = 0
    ghost_villages: set[int] = field(default_factory=set)
    used_h: set[int] = field(default_factory=set)
    used_m: set[int] = field(default_factory=set)
    used_v: set[int] = field(default_factory=set)
    used_events: set[str] = field(default_factory=set)
    sent_events: list[pl.DataFrame] = field(default_factory=list)
    other_alloc: SequenceAllocator = field(default_factory=SequenceAllocator)


class Day:
    """Planting context for one county and one delivery day."""

    def __init__(
        self,
        planter: DefectPlanter,
        county: County,
        d: int,
        changes: DayChanges,
        frames: dict[str, pl.DataFrame],
        styles: dict[str, Style],
    ):
        self.p = planter
        self.county = county
        self.d = d
        self.day = changes.day
        self.changes = changes
        self.frames = frames
        self.styles = styles
        self.rng = np.random.default_rng([planter.cfg.seed, 23, county.spec.index, d])
        self.state = planter.state(county.spec.index)
        self.adds: dict[str, list[pl.DataFrame]] = {e: [] for e in ENTITIES}
        self.mods: dict[str, dict[int, Row]] = {e: {} for e in ENTITIES}
        self.held = dict.fromkeys(ENTITIES, 0)
        self.other = {e: frames[e].height for e in ENTITIES}
        self.today_h = set(changes.households.tolist())
        self.today_v = set(changes.villages.tolist())

    # ------------------------------------------------------------- bookkeeping
    def n_rows(self, entity: str) -> int:
        return self.frames[entity].height + sum(f.height for f in self.adds[entity])

    def room(self, entity: str, held: int) -> bool:
        """Can ``held`` more held rows go into the file and keep it under a third?"""
        return 2 * (self.held[entity] + held) <= self.other[entity]

    def ts(self, n: int = 1) -> np.ndarray:
        day = self.day if self.d > 0 else self.day - 1
        return working_hours(self.rng, np.full(n, day))

    def pos(self, entity: str, after: float | None = None) -> float:
        n = max(self.n_rows(entity), 1)
        lo = -0.5 if after is None else after + 1e-3
        return float(self.rng.uniform(lo, max(lo + 1e-3, n)))

    def add(
        self,
        entity: str,
        rows: list[Row],
        defects: list[str | None],
        *,
        positions: list[float] | None = None,
    ) -> None:
        frame = rows_frame(entity, rows)
        if positions is None:
            positions = [self.pos(entity) for _ in rows]
        frame = frame.with_columns(
            _pos=pl.Series(positions, dtype=pl.Float64),
            _defect=pl.Series(defects, dtype=pl.String),
        )
        self.adds[entity].append(frame)
        for code in defects:
            if code is None:
                self.other[entity] += 1
            elif CATALOGUE[code].outcome == HELD:
                self.held[entity] += 1
            else:
                self.other[entity] += 1

    def add_frame(self, entity: str, frame: pl.DataFrame) -> None:
        """Clean rows (padding, deferred rows)."""
        n = self.n_rows(entity)
        self.adds[entity].append(
            frame.with_columns(_pos=pl.Series(np.arange(n, n + frame.height, dtype=np.float64)))
        )
        self.other[entity] += frame.height

    # ------------------------------------------------------------- state picks
    def free_households(
        self,
        *,
        delivered_today: bool | None = None,
        status: tuple[int, ...] | None = None,
        min_size: int = 1,
    ) -> np.ndarray:
        ht = self.county.ht
        ok = ~ht["frozen"] & (ht["size"] >= min_size)
        if status is not None:
            ok &= np.isin(ht["status"], status)
        idx = np.flatnonzero(ok)
        if self.state.used_h:
            idx = idx[~np.isin(idx, list(self.state.used_h))]
        if delivered_today is True:
            idx = idx[np.isin(idx, self.changes.households)]
        elif delivered_today is False:
            idx = idx[~np.isin(idx, list(self.today_h))]
        return idx

    def pick(self, idx: np.ndarray) -> int | None:
        if not len(idx):
            return None
        return int(idx[self.rng.integers(0, len(idx))])

    def use_household(self, h: int, freeze: bool = False) -> None:
        self.state.used_h.add(h)
        if freeze:
            self.county.ht["frozen"][h] = True

    def any_household(self) -> int:
        """A real household to hang a ghost member on (never one delivered only tomorrow)."""
        idx = np.flatnonzero(~self.county.ht["frozen"])
        return int(idx[self.rng.integers(0, len(idx))]) if len(idx) else 0

    def any_village(self) -> int:
        n = len(self.county.vt)
        idx = np.flatnonzero(~self.county.v_frozen[:n])
        return int(idx[self.rng.integers(0, len(idx))])

    def frame_pos(self, entity: str, index: int) -> int | None:
        arr = {
            "villages": self.changes.villages,
            "households": self.changes.households,
            "members": self.changes.members,
        }[entity]
        i = int(np.searchsorted(arr, index))
        return i if i < len(arr) and arr[i] == index else None

    # ------------------------------------------------------------- ghost records
    def household_id(self, h: int) -> str:
        ht, vt = self.county.ht, self.county.vt
        return str(int(vt["code"][ht["village"][h]]) * 10_000 + int(ht["seq"][h]))

    def ghost_household_id(self, village: int) -> str:
        self.state.ghost_hh += 1
        seq = GHOST_SEQ + self.state.ghost_hh % 1000
        code = int(self.county.vt["code"][village])
        return str(code * 10_000 + seq)

    def ghost_village_code(self) -> int:
        vt = self.county.vt
        for _ in range(1000):
            base = int(vt["code"][self.any_village()]) // 1000 * 1000
            code = base + int(self.rng.integers(GHOST_VILLAGE, 200))
            if code not in self.state.ghost_villages:
                self.state.ghost_villages.add(code)
                return code
        raise RuntimeError("no ghost village code left")

    def person(
        self,
        household_id: str,
        relation: str = "other",
        *,
        adult: bool = True,
        addr: int | None = None,
        alloc: SequenceAllocator | None = None,
    ) -> Row:
        rng = self.rng
        county = self.county
        age = rng.integers(20, 60) if adult else rng.integers(7, 15)
        birth = self.day - int(age * 365.25) - int(rng.integers(0, 365))
        male = bool(rng.random() < 0.5)
        seq = (alloc or county.alloc).allocate(np.array([birth]), np.array([male]))
        id18 = id_strings(np.array([addr or county.addr]), np.array([birth]), seq)[0]
        given = GIVEN_MALE if male else GIVEN_FEMALE
        name = SURNAMES[rng.integers(0, len(SURNAMES))] + "".join(
            given[k] for k in rng.integers(0, len(given), 1 + int(rng.random() < 0.7))
        )
        return {
            "id_number": id18,
            "household_id": household_id,
            "name": name,
            "relation": relation,
            "sex": "male" if male else "female",
            "birth_date": date_of(birth),
            "education": "junior" if adult else "primary",
            "in_school": not adult,
            "health": "healthy",
            "labour": "ordinary" if adult else "none",
            "medical_insured": True,
            "member_status": "active",
            "updated_at": int(self.ts()[0]),
        }

    def moved(self, row: Row, h: int, relation: str) -> Row:
        """A person's member row as delivered today into household ``h``."""
        return {
            **row,
            "household_id": self.household_id(h),
            "relation": relation,
            "updated_at": int(self.ts()[0]),
        }

    def ghost_household(
        self,
        village: int | None = None,
        household_id: str | None = None,
        village_code: str | None = None,
    ) -> Row:
        rng = self.rng
        if village is None:
            village = self.any_village()
        hid = household_id or self.ghost_household_id(village)
        head = self.person(hid, "head")
        size = int(rng.integers(1, 6))
        year = date_of(self.day).year - 1
        line = float(lines_for(self.county.ref, np.array([year]))[0])
        net = round(rng.uniform(0.3, 0.9) * line * size * 100)
        identified = self.day - int(rng.integers(30, 300))
        return {
            "household_id": hid,
            "village_code": village_code or hid[:12],
            "head_id_number": head["id_number"],
            "head_name": head["name"],
            "household_size": size,
            "attribute": "general",
            "main_cause": "funds",
            "other_causes": "skills",
            "net_income_yuan": net,
            "per_capita_income_yuan": int(per_capita(np.array([net]), np.array([size]))[0]),
            "income_year": year,
            "food_clothing_secure": True,
            "housing_safe": True,
            "drinking_water_safe": True,
            "status": "poor",
            "identified_on": date_of(identified),
            "status_changed_on": date_of(identified),
            "sells_online": False,
            "updated_at": int(self.ts()[0]),
        }

    def ghost_village(self, code: int | None = None) -> Row:
        rng = self.rng
        return {
            "village_code": str(code or self.ghost_village_code()),
            "village_name": self.p.village_name(rng),
            "is_poor_village": bool(rng.random() < 0.3),
            "rural_population": int(rng.integers(600, 3000)),
            "collective_income_yuan": int(rng.integers(0, 50_000)) * 100,
            "has_ecommerce_station": False,
            "ecommerce_pilot_year": None,
            "solar_capacity_kw": None,
            "paper_mulberry_mu": None,
            "updated_at": int(self.ts()[0]),
        }

    def ghost_event(self, *, household: bool = True) -> Row:
        rng = self.rng
        county = self.county
        event_id = county.event_ids(1, self.day)[0]
        if household:
            h = self.any_household()
            hid: str | None = self.household_id(h)
            vcode: str | None = hid[:12] if hid else None
            program = "microcredit"
        else:
            hid, vcode, program = None, str(int(county.vt["code"][self.any_village()])), "industry"
        return {
            "event_id": event_id,
            "household_id": hid,
            "village_code": vcode,
            "program": program,
            "platform": None,
            "event_date": date_of(self.day - int(rng.integers(0, 10))),
            "amount_yuan": int(rng.integers(500, 50_000)) * 100,
            "updated_at": int(self.ts()[0]),
        }

    def ghost(self, entity: str) -> Row:
        if entity == V:
            return self.ghost_village()
        if entity == H:
            return self.ghost_household()
        if entity == M:
            h = self.any_household()
            return self.person(
                self.household_id(h), str(self.rng.choice(["other", "sibling", "child"]))
            )
        return self.ghost_event()

    def zh(self, entity: str) -> bool:
        return self.styles[entity].enum_zh

    # ------------------------------------------------------------- padding
    def pad(self, entity: str) -> bool:
        """Re-deliver a clean record (new updated_at) so a small file can take a held row."""
        if self.d == 0:
            return False
        county = self.county
        if entity == A:
            self.add_frame(A, rows_frame(A, [self.ghost_event()]))
            return True
        if entity == V:
            idx = np.flatnonzero(~county.v_frozen[: len(county.vt)])
            idx = idx[~np.isin(idx, list(self.today_v | self.state.used_v))]
            v = self.pick(idx)
            if v is None:
                return False
            county.vt["updated"][v] = int(self.ts()[0])
            self.today_v.add(v)
            self.add_frame(V, villages_frame(county.vt, np.array([v])))
            return True
        h = self.pick(self.free_households(delivered_today=False))
        if h is None:
            return False
        ts = int(self.ts()[0])
        county.ht["updated"][h] = ts
        self.today_h.add(h)
        self.use_household(h)
        self.add_frame(H, households_frame(county.ht, county.mt, county.vt, np.array([h])))
        if entity == M:
            mem = county.members_of(np.array([h]))
            mem = mem[county.mt["mstatus"][mem] == ACTIVE]
            county.mt["updated"][mem] = ts
            self.add_frame(M, members_frame(county.mt, county.ht, county.vt, mem))
        return True

    def make_room(self, entity: str, held: int) -> bool:
        for _ in range(12):
            if self.room(entity, held):
                return True
            if not self.pad(entity):
                return False
        return self.room(entity, held)


class DefectPlanter:
    def __init__(self, cfg: RunConfig, ref: Reference, geo: Geography):
        self.cfg = cfg
        self.ref = ref
        self.geo = geo
        self.rate = cfg.defects
        self._states: dict[int, CountyDefects] = {}
        self.pending: dict[tuple[int, int], dict[str, list[pl.DataFrame]]] = {}
        self.movers: dict[int, list[Mover]] = {}  # by day, for the next county
        self.mandatory = self._assign()

    def state(self, county_index: int) -> CountyDefects:
        if county_index not in self._states:
            self._states = {county_index: CountyDefects()}  # one county at a time
        return self._states[county_index]

    def village_name(self, rng: np.random.Generator) -> str:
        return (
            VILLAGE_FIRST[rng.integers(0, len(VILLAGE_FIRST))]
            + VILLAGE_SECOND[rng.integers(0, len(VILLAGE_SECOND))]
            + VILLAGE_SUFFIX
        )

    # ------------------------------------------------------------- the plan
    def feasible(self, kind: Kind, d: int) -> bool:
        if kind.change_day and d == 0:
            return False
        if kind.first_day and d > 0:
            return False
        return not (kind.xlsx and self.cfg.formats != "mixed")

    def _assign(self) -> dict[tuple[int, int], list[str]]:
        """At least one of every kind: spread over counties, on the first change day when
        the kind needs one; and moves on every change day."""
        counties = self.geo.counties
        out: dict[tuple[int, int], list[str]] = {}
        second = 1 if self.cfg.days > 1 else 0
        for i, kind in enumerate(ROW_KINDS):
            d = second if (kind.change_day or kind.code in ("stale_update", "duplicate_row")) else 0
            if not self.feasible(kind, d):
                continue
            c = i % len(counties)
            if kind.xlsx:
                xl = [
                    s.index
                    for s in counties
                    if any(
                        style_for(s.index, e, self.cfg.seed, self.cfg.formats).family == XLSX
                        for e in kind.entities
                    )
                ]
                if not xl:
                    continue
                c = xl[0]
            own = f"{kind.code}:{VARIANTS[kind.code][0]}" if kind.code in VARIANTS else kind.code
            codes = [own]
            if kind.code == "parent_missing":
                codes = ["parent_missing:orphan"]
                if self.cfg.days > 1:
                    codes.append("parent_missing:next_day")
            if kind.code in ("stale_update", "duplicate_row") and second:
                codes.append(kind.code + ":same_file")
            for code in codes:
                dd = 0 if code.endswith((":same_file", ":next_day")) else d
                out.setdefault((counties[c].index, dd), []).append(code)
        # Moves on every change day, each from another county in turn; a move to another
        # county from one that has a later county to take the person.
        for d in range(1, self.cfg.days):
            for j, code in enumerate(MOVES):
                across = code.endswith(":move_other_county")
                n = len(counties) - 1 if across else len(counties)
                if n:
                    out.setdefault((counties[(d + j) % n].index, d), []).append(code)
        return out

    def later_county(self, county: County) -> bool:
        """Is a county generated after ``county``, to take its movers?"""
        return county.spec.index < self.geo.counties[-1].index

    # ------------------------------------------------------------- per county day
    def before_frames(
        self, county: County, d: int, changes: DayChanges, styles: dict[str, Style]
    ) -> None:
        due = self.pending.pop((county.spec.index, d), {})
        for entity, frames in due.items():
            changes.extra.setdefault(entity, []).extend(frames)

    def plant(
        self,
        county: County,
        d: int,
        changes: DayChanges,
        frames: dict[str, pl.DataFrame],
        styles: dict[str, Style],
    ) -> dict[str, pl.DataFrame]:
        ctx = Day(self, county, d, changes, frames, styles)
        for mover in self.movers.pop(d, []):
            self._arrive(ctx, mover)
        todo = list(self.mandatory.get((county.spec.index, d), []))
        rows = sum(f.height for f in frames.values())
        extra = int(ctx.rng.binomial(rows, self.rate)) if rows else 0
        pool = [k.code for k in ROW_KINDS if self.feasible(k, d)]
        todo += [pool[i] for i in ctx.rng.integers(0, len(pool), extra)]
        for code in todo:
            base, _, variant = code.partition(":")
            self._plant_one(ctx, base, variant)
        # Remember delivered clean events for later stale/duplicate rows.
        if frames[A].height:
            ctx.state.sent_events.append(frames[A].filter(pl.col("_defect").is_null()))
        out = {}
        for entity in ENTITIES:
            frame = frames[entity]
            if ctx.mods[entity]:
                frame = _apply_mods(frame, ctx.mods[entity])
            out[entity] = pl.concat([frame, *ctx.adds[entity]]) if ctx.adds[entity] else frame
        return out

    def _plant_one(self, ctx: Day, code: str, variant: str) -> None:
        kind = KINDS[code]
        entities = list(kind.entities)
        ctx.rng.shuffle(entities)
        for entity in entities:
            if kind.xlsx and ctx.styles[entity].family != XLSX:
                continue
            need = 2 if code in ("conflicting_duplicate", "person_in_two_households") else 1
            if kind.held and not ctx.make_room(entity, need):
                continue
            fn: Callable[[Day, str, str], bool] = getattr(self, "_" + code)
            if fn(ctx, entity, variant):
                return

    # ------------------------------------------------------------- typing
    def _missing_required(self, ctx: Day, entity: str, variant: str) -> bool:
        col = {V: "village_name", H: "head_name", M: "name", A: "program"}[entity]
        ctx.add(
            entity, [{**ctx.ghost(entity), "_ov_col": col, "_ov_val": None}], ["missing_required"]
        )
        return True

    def _invalid_number(self, ctx: Day, entity: str, variant: str) -> bool:
        rng = ctx.rng
        if entity == V:
            col, val = ("rural_population", str(rng.choice(["1200人", "约800", "1.5k", "12O0"])))
        else:
            col, val = ("amount_yuan", str(rng.choice(["500元", "12.345", "1,2", "abc"])))
        ctx.add(entity, [{**ctx.ghost(entity), "_ov_col": col, "_ov_val": val}], ["invalid_number"])
        return True

    def _invalid_bool(self, ctx: Day, entity: str, variant: str) -> bool:
        col = {V: "is_poor_village", H: "housing_safe", M: "in_school"}[entity]
        val = str(ctx.rng.choice(["2", "maybe", "有", "-1"]))
        ctx.add(entity, [{**ctx.ghost(entity), "_ov_col": col, "_ov_val": val}], ["invalid_bool"])
        return True

    def _invalid_date(self, ctx: Day, entity: str, variant: str) -> bool:
        col = "identified_on" if entity == H else "event_date"
        year = date_of(ctx.day).year - 1
        val = str(
            ctx.rng.choice([f"{year}-02-30", f"{year}-13-05", f"{year % 100}.6.1", f"31/{year}/07"])
        )
        ctx.add(entity, [{**ctx.ghost(entity), "_ov_col": col, "_ov_val": val}], ["invalid_date"])
        return True

    def _invalid_timestamp(self, ctx: Day, entity: str, variant: str) -> bool:
        d = date_of(ctx.day)
        val = str(
            ctx.rng.choice(
                [
                    f"{d:%Y-%m-%d} 25:10:00",
                    "yesterday",
                    f"{d:%d/%m/%Y} 10:00",
                    f"{d:%Y-%m-%d}T10:61",
                ]
            )
        )
        ctx.add(
            entity,
            [{**ctx.ghost(entity), "_ov_col": "updated_at", "_ov_val": val}],
            ["invalid_timestamp"],
        )
        return True

    def _unknown_code_value(self, ctx: Day, entity: str, variant: str) -> bool:
        zh = ctx.zh(entity)
        col, val = {
            H: ("main_cause", "因穷" if zh else "poverty"),
            M: ("relation", "表亲" if zh else "cousin"),
            A: ("program", "旅游扶贫" if zh else "tourism"),
        }[entity]
        if entity == M and ctx.rng.random() < 0.5:
            col, val = "health", ("体弱" if zh else "sick")
        ctx.add(
            entity, [{**ctx.ghost(entity), "_ov_col": col, "_ov_val": val}], ["unknown_code_value"]
        )
        return True

    def _value_out_of_range(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost(entity)
        if entity == V:
            if ctx.rng.random() < 0.5:
                row["ecommerce_pilot_year"] = int(ctx.rng.choice([2013, 2031, 2050]))
            else:
                row["rural_population"] = -int(ctx.rng.integers(1, 50))
        elif entity == H:
            size = int(ctx.rng.choice([0, 21, 25]))
            row["household_size"] = size
            if size:
                row["per_capita_income_yuan"] = int(
                    per_capita(np.array([row["net_income_yuan"]]), np.array([size]))[0]
                )
        else:
            row["amount_yuan"] = -int(ctx.rng.integers(1, 500)) * 100
        ctx.add(entity, [row], ["value_out_of_range"])
        return True

    def _excel_numeric_id(self, ctx: Day, entity: str, variant: str) -> bool:
        col = "id_number" if entity == M else "head_id_number"
        for _ in range(20):
            row = ctx.ghost(entity)
            if str(row[col])[-1].isdigit():
                ctx.add(entity, [{**row, "_num": col}], ["excel_numeric_id"])
                return True
        return False

    # ------------------------------------------------------------- identity
    def _id_format_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost(entity)
        col = "id_number" if entity == M else "head_id_number"
        good = str(row[col])
        val = str(
            ctx.rng.choice(
                [good[:17], good[:6] + "A" + good[7:], good + "5", good[:16] + "X" + good[17]]
            )
        )
        ctx.add(entity, [{**row, "_ov_col": col, "_ov_val": val}], ["id_format_invalid"])
        return True

    def _id_check_char_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost(entity)
        col = "id_number" if entity == M else "head_id_number"
        good = str(row[col])
        wrong = [c for c in "0123456789X" if c != good[17]]
        ctx.add(
            entity,
            [{**row, "_ov_col": col, "_ov_val": good[:17] + str(ctx.rng.choice(wrong))}],
            ["id_check_char_invalid"],
        )
        return True

    def _id_birth_date_mismatch(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost(M)
        birth = row["birth_date"]
        assert isinstance(birth, dt.date)
        if ctx.rng.random() < 0.5:
            row["birth_date"] = birth - dt.timedelta(days=int(ctx.rng.integers(1, 400)))
        else:  # a date that does not exist inside the ID (with a right check character)
            f17 = f"{ctx.county.addr}{birth.year}0230{ctx.rng.integers(0, 1000):03d}"
            row["id_number"] = f17 + check_char(f17)
            row["sex"] = "male" if int(f17[16]) % 2 else "female"
        ctx.add(M, [row], ["id_birth_date_mismatch"])
        return True

    def _id_sex_mismatch(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost(M)
        row["sex"] = "female" if row["sex"] == "male" else "male"
        ctx.add(M, [row], ["id_sex_mismatch"])
        return True

    # ------------------------------------------------------------- codes
    def _village_code_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        c = ctx.county.spec.code
        r = ctx.rng
        bad = str(
            r.choice(
                [
                    f"{c}000{r.integers(201, 400)}",
                    f"{c}{r.integers(101, 600)}000",
                    f"{c}{r.integers(101, 600)}{r.integers(400, 1000)}",
                    f"{c}{r.integers(600, 1000)}{r.integers(201, 400)}",
                ]
            )
        )
        if entity == V:
            row = ctx.ghost_village()
            ctx.state.ghost_villages.add(int(bad))
            row["village_code"] = bad
        else:
            row = ctx.ghost_event(household=False)
            row["village_code"] = bad
        ctx.add(entity, [row], ["village_code_invalid"])
        return True

    def _household_id_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        village = ctx.any_village()
        code = str(int(ctx.county.vt["code"][village]))
        bad = code + str(
            ctx.rng.choice(
                [
                    f"{ctx.rng.integers(900, 1000)}",
                    f"9{ctx.rng.integers(0, 10)}A{ctx.rng.integers(0, 10)}",
                ]
            )
        )
        if entity == H:
            row = ctx.ghost_household(village, household_id=bad, village_code=code)
        else:
            row = ctx.ghost_event()
            row["household_id"], row["village_code"] = bad, code
        ctx.add(entity, [row], ["household_id_invalid"])
        return True

    def _household_village_mismatch(self, ctx: Day, entity: str, variant: str) -> bool:
        if len(ctx.county.vt) < 2:
            return False
        a = ctx.any_village()
        b = a
        while b == a:
            b = ctx.any_village()
        row = ctx.ghost_household(a, village_code=str(int(ctx.county.vt["code"][b])))
        ctx.add(H, [row], ["household_village_mismatch"])
        return True

    # ------------------------------------------------------------- rules
    def _per_capita_mismatch(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost_household()
        delta = int(ctx.rng.integers(2, 300)) * 100 * int(ctx.rng.choice([-1, 1]))
        row["per_capita_income_yuan"] = int(row["per_capita_income_yuan"]) + delta  # type: ignore[call-overload]
        ctx.add(H, [row], ["per_capita_mismatch"])
        return True

    def _other_causes_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost_household()
        main = str(row["main_cause"])
        others = [c for c, _ in CAUSES if c != main]
        pick = ctx.rng.choice(len(others), size=3, replace=False)
        row["other_causes"] = str(
            ctx.rng.choice(
                [
                    f"{main};{others[pick[0]]}",
                    ";".join(others[i] for i in pick),
                    f"{others[pick[0]]};bad_luck",
                ]
            )
        )
        ctx.add(H, [row], ["other_causes_invalid"])
        return True

    def _date_in_future(self, ctx: Day, entity: str, variant: str) -> bool:
        ahead = dt.timedelta(days=int(ctx.rng.integers(2, 60)))
        if entity == H:
            row = ctx.ghost_household()
            row["status"] = "removed"
            row["status_changed_on"] = date_of(ctx.day) + ahead
        else:
            row = ctx.ghost_event()
            row["event_date"] = date_of(ctx.day) + ahead
        ctx.add(entity, [row], ["date_in_future"])
        return True

    def _date_order_invalid(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost_household()
        ident = row["identified_on"]
        assert isinstance(ident, dt.date)
        row["status"] = str(ctx.rng.choice(["poor", "removed"]))
        row["status_changed_on"] = ident - dt.timedelta(days=int(ctx.rng.integers(1, 200)))
        ctx.add(H, [row], ["date_order_invalid"])
        return True

    def _assistance_target_missing(self, ctx: Day, entity: str, variant: str) -> bool:
        row = ctx.ghost_event()
        row["household_id"] = row["village_code"] = None
        ctx.add(A, [row], ["assistance_target_missing"])
        return True

    def _household_head_count(self, ctx: Day, entity: str, variant: str) -> bool:
        variant = variant or str(ctx.rng.choice(VARIANTS["household_head_count"]))
        if variant != "in_household":
            return self._move_in_as_head(ctx, other_county=variant == "move_other_county")
        county = ctx.county
        h = ctx.pick(
            ctx.free_households(delivered_today=False, min_size=2, status=(POOR, LIFTED, RETURNED))
        )
        if h is None:
            return False
        mem = county.members_of(np.array([h]))
        mem = mem[county.mt["mstatus"][mem] == ACTIVE]
        if len(mem) < 2:
            return False
        two_heads = ctx.rng.random() < 0.6
        head = int(county.ht["head"][h])
        m = int(ctx.rng.choice(mem[mem != head])) if two_heads else head
        row = members_frame(county.mt, county.ht, county.vt, np.array([m])).to_dicts()[0]
        row["relation"] = "head" if two_heads else "spouse"
        row["updated_at"] = int(ctx.ts()[0])
        ctx.use_household(h, freeze=True)
        ctx.add(M, [row], ["household_head_count"])
        return True

    # ------------------------------------------------------------- moves
    def _move_in_as_head(self, ctx: Day, other_county: bool) -> bool:
        """The head of a household delivered as head of another one, which has its own
        head: held, so they stay head of theirs. Neither household is delivered today."""
        if other_county and not self.later_county(ctx.county):
            return False
        county = ctx.county
        free = ctx.free_households(delivered_today=False)
        h = ctx.pick(free)
        if h is None:
            return False
        head = county.ht["head"][h : h + 1]
        row = records(members_frame(county.mt, county.ht, county.vt, head))[0]
        if other_county:
            ctx.use_household(h)
            self.movers.setdefault(ctx.d, []).append(Mover(row, "head", "household_head_count"))
            return True
        target = ctx.pick(free[free != h])
        if target is None:
            return False
        ctx.use_household(h)
        ctx.use_household(target)
        ctx.add(M, [ctx.moved(row, target, "head")], ["household_head_count"])
        return True

    def _move_to_other_county(self, ctx: Day) -> bool:
        """A member (not the head) who moves to a later county; their household here is
        never delivered again, so the move stays the last word on them."""
        if ctx.d == 0 or not self.later_county(ctx.county):
            return False
        county, mt = ctx.county, ctx.county.mt
        h = ctx.pick(ctx.free_households(delivered_today=False, min_size=2))
        if h is None:
            return False
        mem = county.members_of(np.array([h]))
        mem = mem[(mt["mstatus"][mem] == ACTIVE) & (mt["relation"][mem] != HEAD)]
        if not len(mem):
            return False
        m = int(ctx.rng.choice(mem))
        ctx.use_household(h, freeze=True)
        row = records(members_frame(mt, county.ht, county.vt, np.array([m])))[0]
        self.movers.setdefault(ctx.d, []).append(Mover(row, "other", "id_other_county"))
        return True

    def _arrive(self, ctx: Day, mover: Mover) -> None:
        """A person handed over by an earlier county, delivered into a household here that
        is not delivered today: as its second head (held), or as a member (applied; the
        household is then never delivered again, since this county's registry does not
        count them)."""
        held = CATALOGUE[mover.code].outcome == HELD
        if held and not ctx.make_room(M, 1):
            return
        h = ctx.pick(ctx.free_households(delivered_today=False))
        if h is None:
            return
        ctx.use_household(h, freeze=not held)
        ctx.add(M, [ctx.moved(mover.row, h, mover.relation)], [mover.code])

    # ------------------------------------------------------------- key semantics
    def _conflicting_duplicate(self, ctx: Day, entity: str, variant: str) -> bool:
        a = ctx.ghost(entity)
        b = dict(a)
        if entity == V:
            b["rural_population"] = int(a["rural_population"]) + int(ctx.rng.integers(1, 100))  # type: ignore[call-overload]
        elif entity == H:
            b["sells_online"] = not a["sells_online"]
        elif entity == M:
            b["education"] = "senior" if a["education"] != "senior" else "primary"
        else:
            b["amount_yuan"] = int(a["amount_yuan"]) + 100 * int(ctx.rng.integers(1, 100))  # type: ignore[call-overload]
        ctx.add(entity, [a, b], ["conflicting_duplicate"] * 2)
        return True

    def _person_in_two_households(self, ctx: Day, entity: str, variant: str) -> bool:
        ha, hb = ctx.any_household(), ctx.any_household()
        if ha == hb:
            return False
        a = ctx.person(ctx.household_id(ha), str(ctx.rng.choice(["other", "sibling"])))
        b = {**a, "household_id": ctx.household_id(hb)}
        ctx.add(M, [a, b], ["person_in_two_households"] * 2)
        return True

    def _earlier_record(self, ctx: Day, entity: str) -> pl.DataFrame | None:
        """One record delivered on an earlier day and not changed today, as last delivered."""
        county = ctx.county
        if entity == A:
            sent = [f for f in ctx.state.sent_events if f.height]
            if not sent:
                return None
            f = sent[int(ctx.rng.integers(0, len(sent)))]
            f = f.filter(~pl.col("event_id").is_in(list(ctx.state.used_events)))
            if not f.height:
                return None
            row = f.slice(int(ctx.rng.integers(0, f.height)), 1)
            ctx.state.used_events.add(row["event_id"][0])
            return row
        if entity == V:
            n = len(county.vt)
            idx = np.flatnonzero(~county.v_frozen[:n])
            idx = idx[~np.isin(idx, list(ctx.today_v | ctx.state.used_v))]
            v = ctx.pick(idx)
            if v is None:
                return None
            ctx.state.used_v.add(v)
            return villages_frame(county.vt, np.array([v]))
        h = ctx.pick(ctx.free_households(delivered_today=False))
        if h is None:
            return None
        ctx.use_household(h)
        if entity == H:
            return households_frame(county.ht, county.mt, county.vt, np.array([h]))
        mem = county.members_of(np.array([h]))
        mem = mem[county.mt["relation"][mem] != HEAD]
        if not len(mem):
            return None
        return members_frame(county.mt, county.ht, county.vt, np.array([int(ctx.rng.choice(mem))]))

    def _today_record(self, ctx: Day, entity: str) -> tuple[pl.DataFrame, float] | None:
        """A clean row delivered today (and its position), for same-file stale/duplicate rows."""
        county = ctx.county
        if entity == A:
            frame = ctx.frames[A].filter(
                pl.col("_defect").is_null() & ~pl.col("event_id").is_in(list(ctx.state.used_events))
            )
            if not frame.height:
                return None
            row = frame.slice(int(ctx.rng.integers(0, frame.height)), 1)
            ctx.state.used_events.add(row["event_id"][0])
            return row, float(row["_pos"][0])
        if entity == V:
            idx = ctx.changes.villages
            idx = idx[~np.isin(idx, list(ctx.state.used_v))]
            v = ctx.pick(idx)
            if v is None:
                return None
            ctx.state.used_v.add(v)
            pos = ctx.frame_pos(V, v)
        elif entity == H:
            h = ctx.pick(ctx.free_households(delivered_today=True))
            if h is None:
                return None
            ctx.use_household(h)
            pos = ctx.frame_pos(H, h)
        else:
            mem = ctx.changes.members
            hh = county.mt["hh"][mem]
            ok = (county.mt["relation"][mem] != HEAD) & ~county.ht["frozen"][hh]
            if ctx.state.used_h:
                ok &= ~np.isin(hh, list(ctx.state.used_h))
            m = ctx.pick(mem[ok])
            if m is None:
                return None
            ctx.use_household(int(county.mt["hh"][m]))
            pos = ctx.frame_pos(M, m)
        if pos is None:
            return None
        row = ctx.frames[entity].slice(pos, 1)
        return row, float(row["_pos"][0])

    def _repeat(self, ctx: Day, entity: str, variant: str, code: str) -> bool:
        if ctx.d > 0 and variant != "same_file":
            row = self._earlier_record(ctx, entity)
            if row is None:
                return False
            after = None
        else:
            found = self._today_record(ctx, entity)
            if found is None:
                return False
            row, after = found
        if code == "stale_update":
            older = int(row["updated_at"][0]) - int(ctx.rng.integers(3600, 20 * 86_400))
            change: dict[str, pl.Expr] = {
                V: {
                    "collective_income_yuan": pl.col("collective_income_yuan").fill_null(0) + 100_00
                },
                H: {"sells_online": ~pl.col("sells_online")},
                M: {"medical_insured": ~pl.col("medical_insured")},
                A: {"amount_yuan": pl.col("amount_yuan").fill_null(0) + 100_00},
            }[entity]
            row = row.with_columns(updated_at=pl.lit(older, dtype=pl.Int64), **change)
        pos = ctx.pos(entity, after)
        ctx.add(entity, records(row), [code], positions=[pos])
        return True

    def _duplicate_row(self, ctx: Day, entity: str, variant: str) -> bool:
        return self._repeat(ctx, entity, variant, "duplicate_row")

    def _stale_update(self, ctx: Day, entity: str, variant: str) -> bool:
        return self._repeat(ctx, entity, variant, "stale_update")

    def _parent_missing(self, ctx: Day, entity: str, variant: str) -> bool:
        county = ctx.county
        last = self.cfg.days - 1
        next_day = variant == "next_day" or (
            variant == "" and ctx.d < last and ctx.rng.random() < 0.4
        )
        if next_day and ctx.d >= last:
            return False
        if variant in ("next_day", "orphan"):
            entity = M
        if entity == M and next_day:
            # A new household whose members come today and whose own row comes tomorrow.
            village = ctx.any_village()
            ts = ctx.ts()
            h_idx, m_idx = county.add_households(
                np.array([village]), np.array([ctx.day - 1]), ctx.day, ts
            )
            county.ht["frozen"][h_idx] = True
            frame = members_frame(county.mt, county.ht, county.vt, m_idx)
            ctx.add(
                M,
                records(frame),
                ["parent_missing"] * frame.height,
            )
            self._defer(ctx, H, households_frame(county.ht, county.mt, county.vt, h_idx))
            return True
        if entity == M:
            # An orphan: the head of a household that never arrives.
            hid = ctx.ghost_household_id(ctx.any_village())
            ctx.add(M, [ctx.person(hid, "head")], ["parent_missing"])
            return True
        code = ctx.ghost_village_code()
        if next_day:
            # A household whose village comes tomorrow, with its members.
            row = ctx.ghost_village(code)
            v_idx = county.vt.append(
                {
                    "code": np.array([code]),
                    "name1": np.array([0]),
                    "name2": np.array([0]),
                    "poor": np.array([False]),
                    "population": np.array([row["rural_population"]]),
                    "collective": np.array([-1]),
                    "ecommerce": np.array([False]),
                    "pilot": np.array([0]),
                    "solar": np.array([-1]),
                    "mulberry": np.array([-1]),
                    "updated": ctx.ts(),
                    "next_seq": np.array([1]),
                }
            )
            county.v_frozen = np.r_[county.v_frozen, True]
            h_idx, m_idx = county.add_households(v_idx, np.array([ctx.day - 1]), ctx.day, ctx.ts())
            county.ht["frozen"][h_idx] = True
            frame = households_frame(county.ht, county.mt, county.vt, h_idx)
            ctx.add(
                H,
                records(frame),
                ["parent_missing"],
            )
            self._defer(ctx, V, villages_frame(county.vt, v_idx))
            self._defer(ctx, M, members_frame(county.mt, county.ht, county.vt, m_idx))
            return True
        hid = str(code * 10_000 + GHOST_SEQ)
        ctx.add(
            H, [ctx.ghost_household(household_id=hid, village_code=str(code))], ["parent_missing"]
        )
        return True

    def _defer(self, ctx: Day, entity: str, frame: pl.DataFrame) -> None:
        key = (ctx.county.spec.index, ctx.d + 1)
        self.pending.setdefault(key, {}).setdefault(entity, []).append(frame)

    # ------------------------------------------------------------- warnings
    def _real_household(
        self, ctx: Day, status: tuple[int, ...], ever_lifted: bool | None = None
    ) -> int | None:
        """A real household delivered today (touched and re-delivered if need be)."""
        county = ctx.county
        idx = ctx.free_households(delivered_today=True, status=status)
        if ever_lifted is not None:
            idx = idx[county.ht["ever_lifted"][idx] == ever_lifted]
        h = ctx.pick(idx)
        if h is not None or ctx.d == 0:
            return h
        idx = ctx.free_households(delivered_today=False, status=status)
        if ever_lifted is not None:
            idx = idx[county.ht["ever_lifted"][idx] == ever_lifted]
        h = ctx.pick(idx)
        if h is None:
            return None
        county.ht["updated"][h] = int(ctx.ts()[0])
        ctx.today_h.add(h)
        return h

    def _modify_household(self, ctx: Day, h: int, code: str, changes: Row) -> None:
        county = ctx.county
        pos = ctx.frame_pos(H, h) if h in set(ctx.changes.households.tolist()) else None
        if pos is None:
            row = records(households_frame(county.ht, county.mt, county.vt, np.array([h])))[0]
            ctx.add(H, [{**row, **changes}], [code])
        else:
            ctx.mods[H][pos] = {**changes, "_defect": code}
        ctx.use_household(h, freeze=True)

    def _household_size_mismatch(self, ctx: Day, entity: str, variant: str) -> bool:
        h = self._real_household(ctx, (POOR, LIFTED, RETURNED, REMOVED))
        if h is None:
            return False
        ht = ctx.county.ht
        size = int(ht["size"][h])
        wrong = size + 1 if size < 20 else size - 1
        pc = int(per_capita(np.array([ht["net"][h]]), np.array([wrong]))[0])
        self._modify_household(
            ctx,
            h,
            "household_size_mismatch",
            {"household_size": wrong, "per_capita_income_yuan": pc},
        )
        return True

    def _exit_in_identification_year(self, ctx: Day, entity: str, variant: str) -> bool:
        h = self._real_household(ctx, (POOR,))
        if h is None:
            return False
        ht = ctx.county.ht
        ident = int(ht["identified"][h])
        year = date_of(ident).year
        changed = min(
            max(ident, day_number(dt.date(year, 12, 20))), ctx.day if ctx.d else ctx.day - 1
        )
        if date_of(changed).year != year or changed < ident:
            return False
        ht["status"][h] = LIFTED
        ht["changed"][h] = changed
        self._modify_household(
            ctx,
            h,
            "exit_in_identification_year",
            {"status": "lifted", "status_changed_on": date_of(changed)},
        )
        return True

    def _return_without_exit(self, ctx: Day, entity: str, variant: str) -> bool:
        h = self._real_household(ctx, (POOR,), ever_lifted=False)
        if h is None:
            return False
        ht = ctx.county.ht
        ident = int(ht["identified"][h])
        changed = ctx.day if ctx.d else int(ctx.rng.integers(ident, ctx.day))
        ht["status"][h] = RETURNED
        ht["changed"][h] = changed
        self._modify_household(
            ctx,
            h,
            "return_without_exit",
            {"status": "returned", "status_changed_on": date_of(changed)},
        )
        return True

    def _income_outlier(self, ctx: Day, entity: str, variant: str) -> bool:
        h = self._real_household(ctx, (POOR, LIFTED))
        if h is None:
            return False
        ht = ctx.county.ht
        size = int(ht["size"][h])
        line = float(lines_for(ctx.county.ref, np.array([ht["income_year"][h]]))[0])
        net = round(float(ctx.rng.uniform(10, 16)) * line * size * 100)
        ht["net"][h] = net
        ht["pc"][h] = per_capita(np.array([net]), np.array([size]))[0]
        self._modify_household(
            ctx,
            h,
            "income_outlier",
            {"net_income_yuan": net, "per_capita_income_yuan": int(ht["pc"][h])},
        )
        return True

    def _id_other_county(self, ctx: Day, entity: str, variant: str) -> bool:
        """A member first delivered today whose ID was issued in another county, or one who
        moves to a later county."""
        variant = variant or str(ctx.rng.choice(VARIANTS["id_other_county"]))
        if variant == "move_other_county":
            return self._move_to_other_county(ctx)
        county = ctx.county
        mt = county.mt
        members = ctx.changes.members
        if ctx.d > 0:
            new_h = np.flatnonzero(county.ht["identified"] == ctx.day)
            members = members[np.isin(mt["hh"][members], new_h)]
        cand = members[(mt["relation"][members] != HEAD) & ~county.ht["frozen"][mt["hh"][members]]]
        if ctx.state.used_h:
            cand = cand[~np.isin(mt["hh"][cand], list(ctx.state.used_h))]
        m = ctx.pick(cand)
        if m is None:
            return False
        code = county.spec.code
        other = int(code[:4] + f"{(int(code[4:]) + 60) % 100:02d}")
        seq = ctx.state.other_alloc.allocate(np.array([mt["birth"][m]]), np.array([mt["male"][m]]))
        mt["addr"][m] = other
        mt["seq"][m] = seq[0]
        new_id = id_strings(
            np.array([other]),
            np.array([mt["birth"][m]]),
            seq,
            np.array([mt["dis_cat"][m]]),
            np.array([mt["dis_grade"][m]]),
        )[0]
        pos = ctx.frame_pos(M, m)
        if pos is None:
            return False
        ctx.mods[M][pos] = {"id_number": new_id, "_defect": "id_other_county"}
        ctx.use_household(int(mt["hh"][m]), freeze=True)
        return True

    # ------------------------------------------------------------- targets
    def plant_targets(self, d: int, frame: pl.DataFrame) -> pl.DataFrame:
        if d != 0 or not frame.height:
            return frame
        rng = np.random.default_rng([self.cfg.seed, 29])
        year = int(frame["year"].min())  # type: ignore[arg-type]
        prov = str(frame.filter(pl.col("province_code") != "00")["province_code"][0])
        rows: list[Row] = [
            {
                "year": year,
                "province_code": str(rng.choice(["99", "71", "5"])),
                "metric": "people_lifted",
                "target": 1000,
                "_defect": "province_code_invalid",
            },
        ]
        extra = str(rng.choice(TARGET_KINDS[1:]))
        if 2 * len(rows) + 2 <= frame.height:
            if extra == "value_out_of_range":
                rows.append(
                    {
                        "year": year + 1,
                        "province_code": prov,
                        "metric": "people_lifted",
                        "target": -5,
                        "_defect": extra,
                    }
                )
            elif extra == "unknown_code_value":
                rows.append(
                    {
                        "year": year,
                        "province_code": prov,
                        "metric": "people_helped",
                        "target": 100,
                        "_defect": extra,
                    }
                )
            else:
                rows.append(
                    {
                        "year": year + 2,
                        "province_code": prov,
                        "metric": "people_lifted",
                        "target": None,
                        "_defect": extra,
                    }
                )
        add = rows_frame("targets", rows).with_columns(
            _pos=pl.Series(rng.uniform(0, frame.height, len(rows))),
        )
        return pl.concat([frame, add])

    # ------------------------------------------------------------- whole files
    def file_defects(self, writer: Writer, dates: list[dt.date]) -> None:
        """Extra files of ghost rows, each with one whole-file defect."""
        spec = self.geo.counties[0]
        date = dates[min(1, len(dates) - 1)]
        folder = writer.folder(date)
        rng = np.random.default_rng([self.cfg.seed, 31])
        c = spec.code
        day = day_number(date)

        def events(n: int, household: bool = False) -> pl.DataFrame:
            rows = []
            for k in range(n):
                rows.append(
                    {
                        "event_id": f"BF{c}-{date:%Y%m%d}-9{k:05d}{int(rng.integers(0, 10))}",
                        "household_id": None,
                        "village_code": f"{c}101201",
                        "program": "ecommerce_training",
                        "platform": "淘宝",
                        "event_date": date_of(day - int(rng.integers(0, 5))),
                        "amount_yuan": int(rng.integers(1, 100)) * 100,
                        "updated_at": int(working_hours(rng, np.array([day]))[0]),
                    }
                )
            return rows_frame(A, rows).with_columns(_pos=pl.int_range(pl.len()).cast(pl.Float64))

        def csv_bytes(entity: str, frame: pl.DataFrame, columns: list[str] | None = None) -> bytes:
            formatted = format_frame(entity, frame, CANONICAL)
            return to_bytes(
                entity, formatted, columns or list(CONTRACT[entity].column_names), CANONICAL
            )

        counts = writer.counts[date]
        plain_write = folder.write

        def write(name: str, data: bytes, rows: int, entity: str) -> None:
            plain_write(name, data, rows, entity)
            counts.files += 1
            counts.bytes += len(data)

        def answer(name: str, entity: str, code: str) -> None:
            writer.add_answer(date, name, entity, None, "", code)

        name = f"hh_{c}.csv"
        data = csv_bytes(A, events(2))
        write(name, data, 2, A)
        answer(name, "", "file_name_invalid")

        name = f"assistance_{c}_resend.csv"
        write(name, b"", 0, A)
        answer(name, A, "file_empty")

        name = f"households_{c}_broken.xlsx"
        write(name, b"PK\x03\x04" + rng.bytes(700), 3, H)
        answer(name, H, "file_unreadable")

        name = f"assistance_{c}_retry.csv"
        text = csv_bytes(A, events(3)).decode()
        text += f'BF{c}-{date:%Y%m%d}-999999,,{c}101201,ecommerce_training,"淘宝'
        write(name, text.encode(), 4, A)
        answer(name, A, "file_truncated")

        name = f"villages_{c}_extra.csv"
        vill = rows_frame(
            V,
            [
                {
                    "village_code": f"{c}{101 + k}1{99 - k}",
                    "village_name": self.village_name(rng),
                    "is_poor_village": False,
                    "rural_population": 900 + k,
                    "has_ecommerce_station": False,
                    "updated_at": int(working_hours(rng, np.array([day]))[0]),
                }
                for k in range(2)
            ],
        ).with_columns(_pos=pl.int_range(pl.len()).cast(pl.Float64))
        cols = [col for col in CONTRACT[V].column_names if col != "village_name"]
        write(name, csv_bytes(V, vill, cols), 2, V)
        answer(name, V, "header_missing_column")

        name = f"assistance_{c}_dup.csv"
        frame = format_frame(A, events(2), CANONICAL)
        lines = frame.select(list(CONTRACT[A].column_names)).write_csv().splitlines()
        dup = [line + "," + line.split(",")[6] for line in lines]
        write(name, ("\n".join(dup) + "\n").encode(), 2, A)
        answer(name, A, "header_duplicate_column")

        name = f"assistance_{c}_remark.csv"
        frame = format_frame(A, events(2), CANONICAL).with_columns(remark=pl.lit("补录"))
        data = frame.select([*CONTRACT[A].column_names, "remark"]).write_csv().encode()
        write(name, data, 2, A)
        answer(name, A, "header_unknown_column")

        name = f"assistance_{c}_sum.csv"
        write(name, csv_bytes(A, events(2)), 2, A)
        folder.manifest_override[name] = {"sha256": hashlib.sha256(b"another file").hexdigest()}
        answer(name, A, "manifest_checksum_mismatch")

        name = f"assistance_{c}_count.csv"
        write(name, csv_bytes(A, events(3)), 3, A)
        folder.manifest_override[name] = {"rows": 5}
        answer(name, A, "manifest_row_count_mismatch")

        name = f"assistance_{c}_missing.csv"
        folder.manifest_extra.append(
            {"name": name, "sha256": hashlib.sha256(b"").hexdigest(), "rows": 4}
        )
        answer(name, A, "manifest_missing_file")

        name = f"assistance_{c}_batch.csv"
        frame = events(3)
        frame = frame.with_columns(
            household_id=pl.when(pl.int_range(pl.len()) == 0)
            .then(None)
            .otherwise(pl.col("household_id")),
            village_code=pl.when(pl.int_range(pl.len()) == 0)
            .then(None)
            .otherwise(pl.col("village_code")),
            event_date=pl.when(pl.int_range(pl.len()) == 1)
            .then(pl.lit(date + dt.timedelta(days=30)))
            .otherwise(pl.col("event_date")),
        )
        write(name, csv_bytes(A, frame), 3, A)
        keys = frame["event_id"].to_list()
        for row, code in enumerate(
            ("assistance_target_missing", "date_in_future", "file_mostly_invalid"), start=1
        ):
            writer.add_answer(date, name, A, row, keys[row - 1], code)


def _apply_mods(frame: pl.DataFrame, mods: dict[int, Row]) -> pl.DataFrame:
    """Replace cells of a few rows (by position in the frame)."""
    rows = frame.with_row_index("_i")
    changed = rows.filter(pl.col("_i").is_in(list(mods))).to_dicts()
    for r in changed:
        r.update(mods[int(r["_i"])])
    patch = pl.DataFrame(changed, schema=rows.schema, orient="row")
    return pl.concat([rows.filter(~pl.col("_i").is_in(list(mods))), patch]).sort("_i").drop("_i")


__all__ = [
    "FILE_KINDS",
    "KINDS",
    "NOT_PLANTED",
    "ROW_KINDS",
    "DefectPlanter",
    "planted_codes",
]
