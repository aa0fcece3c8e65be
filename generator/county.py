"""One county's registry over the run: the initial registration, then daily changes.

A :class:`County` owns its random stream (seeded by the run seed and the county's
position), so counties are independent and can be generated in any order or in
parallel with the same bytes. State lives in numpy columns (:class:`Table`); a day's
delivery is the set of records that changed that day (:class:`DayChanges`).

Daily flows (per record and day = yearly rate / 365):

* exits: ``reduction / rural poor of the year before`` (``national_poverty.csv``; about a
  fifth of the stock in 2015), of poor or returned households identified in an earlier
  year; a few percent are paper exits that fail one exit criterion;
* new identifications and removals: the 2015-16 look-back (``registry_2014.csv``) spread
  over 2015-2016, 1 % a year otherwise; returns: 3 % of lifted households a year;
* births, deaths and moves of members; income re-assessments; assistance events.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contract.landing import PROGRAMS
from generator.frames import (
    households_frame,
    members_frame,
    typed_schema,
    villages_frame,
)
from generator.geography import CountySpec, pilot_year
from generator.ids import SequenceAllocator
from generator.names import VILLAGE_FIRST, VILLAGE_SECOND
from generator.people import (
    LIFTED_PC,
    POOR_PC,
    YEAR_DAYS,
    ages_at,
    income_cents,
    lines_for,
    new_households,
    new_members,
    per_capita,
    working_hours,
    years_of,
)
from generator.reference import Reference
from generator.tables import (
    ACTIVE,
    CHILD,
    CHILD_IN_LAW,
    DECEASED,
    GRANDCHILD,
    HEAD,
    HEALTHY,
    LEFT,
    LIFTED,
    NO_LABOUR,
    OTHER,
    POOR,
    REMOVED,
    RETURNED,
    SPOUSE,
    Table,
)

EPOCH = dt.date(1970, 1, 1)
PAPER_EXIT_SHARE = 0.04
RETURN_RATE = 0.03
BASE_ADD_RATE = 0.01
BASE_REMOVE_RATE = 0.01
BIRTH_RATE = 0.012
DEATH_RATE = 0.007
MOVE_RATE = 0.015
INCOME_UPDATE_RATE = 0.15
# Households changed a year by flows other than income re-assessments (exits, returns,
# removals, member events), about what the calibrated rates give in the first years.
OTHER_FLOWS = 0.25
HOUSEHOLD_AID_RATE = 0.3
VILLAGE_AID_RATE = 0.4
POOR_VILLAGE_SHARE_OF_HOUSEHOLDS = 0.62
PLATFORMS = ("淘宝", "京东", "邮乐购", "乐村淘", "苏宁易购", "农村淘宝")
_PROGRAM = {p: i for i, (p, _) in enumerate(PROGRAMS)}
# Household programmes and their weights.
_HH_PROGRAMS = (
    ("microcredit", 0.2),
    ("industry", 0.25),
    ("vocational_training", 0.12),
    ("ecommerce_training", 0.08),
    ("education_aid", 0.1),
    ("medical_aid", 0.1),
    ("relocation", 0.03),
    ("employment", 0.1),
    ("other", 0.02),
)
_AMOUNT = {  # yuan range per event
    "microcredit": (10_000, 50_000),
    "industry": (500, 5_000),
    "vocational_training": (300, 2_000),
    "ecommerce_training": (0, 500),
    "education_aid": (500, 3_000),
    "medical_aid": (300, 20_000),
    "relocation": (10_000, 60_000),
    "employment": (200, 2_000),
    "other": (100, 1_000),
    "ecommerce_store": (20_000, 100_000),
    "solar_pv": (0, 0),
    "paper_mulberry": (5_000, 50_000),
}


def day_number(d: dt.date) -> int:
    return (d - EPOCH).days


def date_of(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass
class DayChanges:
    day: int
    villages: np.ndarray
    households: np.ndarray
    members: np.ndarray
    assistance: pl.DataFrame
    extra: dict[str, list[pl.DataFrame]] = field(default_factory=dict)


class County:
    def __init__(
        self,
        spec: CountySpec,
        ref: Reference,
        seed: int,
        start: dt.date,
        change_share: float | None = None,
    ):
        self.spec = spec
        # Income re-assessments are the free flow: a requested daily change share raises
        # their yearly rate by what the other flows do not already change.
        self.income_rate = (
            INCOME_UPDATE_RATE
            if change_share is None
            else max(INCOME_UPDATE_RATE, change_share * YEAR_DAYS - OTHER_FLOWS)
        )
        self.ref = ref
        self.seed = seed
        self.day0 = day_number(start)
        self.rng = np.random.default_rng([seed, 11, spec.index])
        self.addr = int(spec.code)
        self.alloc = SequenceAllocator()
        self.events = 0
        self.vt = Table({})
        self.ht = Table({})
        self.mt = Table({})
        self.v_frozen = np.zeros(0, dtype=bool)
        self._csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ helpers
    def _invalidate(self) -> None:
        self._csr = None

    def members_of(self, hh: np.ndarray) -> np.ndarray:
        """Indices of every member (any status) of the given households."""
        if self._csr is None:
            order = np.argsort(self.mt["hh"], kind="stable")
            counts = np.bincount(self.mt["hh"], minlength=len(self.ht))
            starts = np.r_[0, np.cumsum(counts)[:-1]]
            self._csr = (order, starts, counts)
        order, starts, counts = self._csr
        hh = np.asarray(hh, dtype=np.int64)
        lens = counts[hh]
        if lens.sum() == 0:
            return np.zeros(0, dtype=np.int64)
        offs = np.repeat(starts[hh], lens) + (
            np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        )
        return order[offs]

    def active_counts(self) -> np.ndarray:
        active = self.mt["mstatus"] == ACTIVE
        return np.bincount(self.mt["hh"][active], minlength=len(self.ht))

    def add_households(
        self, villages: np.ndarray, identified: np.ndarray, ref_day: int, updated: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        seqs = self.vt["next_seq"][villages].copy()
        # Several new households in one village: consecutive sequence numbers.
        order = np.argsort(villages, kind="stable")
        sv = villages[order]
        first = np.r_[True, sv[1:] != sv[:-1]] if len(sv) else np.zeros(0, bool)
        grp_start = np.maximum.accumulate(np.where(first, np.arange(len(sv)), 0)) if len(sv) else sv
        rank = np.empty(len(sv), dtype=np.int64)
        rank[order] = np.arange(len(sv)) - grp_start
        seqs = seqs + rank
        np.add.at(self.vt["next_seq"], villages, 1)
        if len(seqs) and seqs.max() >= 9000:
            raise ValueError("a village ran out of household sequence numbers (9000)")
        hh, mem = new_households(
            self.rng,
            self.ref,
            villages=villages,
            seqs=seqs,
            identified=identified,
            ref_day=ref_day,
            income_year=years_of(identified) - 1,
            updated=updated,
            addr=self.addr,
            alloc=self.alloc,
            member_offset=len(self.mt),
        )
        mem["hh"] = mem["hh"] + len(self.ht)
        if len(self.ht):
            h_idx = self.ht.append(hh)
            m_idx = self.mt.append(mem)
        else:
            self.ht = Table(hh)
            self.mt = Table(mem)
            h_idx, m_idx = np.arange(len(self.ht)), np.arange(len(self.mt))
        self._invalidate()
        return h_idx, m_idx

    # ------------------------------------------------------------------ day one
    def initial(self) -> DayChanges:
        rng, spec, day0 = self.rng, self.spec, self.day0
        start = date_of(day0)
        n_v = spec.poor_villages + spec.nonpoor_villages
        per_town = int(np.clip(rng.integers(10, 26), math.ceil(n_v / 499), 199))
        j = np.arange(n_v)
        code = self.addr * 1_000_000 + (101 + j // per_town) * 1000 + (201 + j % per_town)
        poor = np.zeros(n_v, dtype=bool)
        poor[rng.choice(n_v, size=spec.poor_villages, replace=False)] = True
        self.vt = Table(
            {
                "code": code.astype(np.int64),
                "name1": rng.integers(0, len(VILLAGE_FIRST), n_v).astype(np.int16),
                "name2": rng.integers(0, len(VILLAGE_SECOND), n_v).astype(np.int16),
                "poor": poor,
                "population": np.zeros(n_v, dtype=np.int64),
                "collective": np.full(n_v, -1, dtype=np.int64),
                "ecommerce": np.zeros(n_v, dtype=bool),
                "pilot": np.zeros(n_v, dtype=np.int16),
                "solar": np.full(n_v, -1, dtype=np.int64),
                "mulberry": np.full(n_v, -1, dtype=np.int64),
                "updated": np.zeros(n_v, dtype=np.int64),
                "next_seq": np.ones(n_v, dtype=np.int32),
            }
        )
        self.v_frozen = np.zeros(n_v, dtype=bool)

        # Households per village: most in poor villages, the rest spread over the others.
        n_h = spec.households
        weight = rng.lognormal(0.0, 0.5, n_v)
        counts = np.zeros(n_v, dtype=np.int64)
        in_poor = round(n_h * POOR_VILLAGE_SHARE_OF_HOUSEHOLDS) if (~poor).any() else n_h
        counts[poor] = rng.multinomial(in_poor, weight[poor] / weight[poor].sum())
        if (~poor).any():
            counts[~poor] = rng.multinomial(n_h - in_poor, weight[~poor] / weight[~poor].sum())
        village_of = np.repeat(np.arange(n_v), counts)

        # Identification: the registration campaign (April-October of the registry year),
        # plus households identified later, up to the day before the first delivery.
        reg_year = min(2014, start.year - 1)
        lo = day_number(dt.date(reg_year, 4, 1))
        hi = min(day_number(dt.date(reg_year, 10, 31)), day0 - 1)
        identified = rng.integers(lo, hi + 1, n_h)
        later_lo = day_number(dt.date(reg_year + 1, 1, 1))
        if day0 - later_lo > 10:
            share = min(0.3, self._add_rate(start.year) * (day0 - later_lo) / YEAR_DAYS)
            late = rng.random(n_h) < share
            identified[late] = rng.integers(later_lo, day0, int(late.sum()))
        updated = working_hours(rng, rng.integers(identified, day0))
        self.add_households(village_of.astype(np.int64), identified, day0, updated)
        ht = self.ht

        # Exits before the first delivery, at the yearly rates since identification.
        ident_year = years_of(ht["identified"])
        survive = np.ones(n_h)
        for y in range(int(ident_year.min()) + 1, start.year + 1):
            frac = 1.0 if y < start.year else (day0 - day_number(dt.date(y, 1, 1))) / YEAR_DAYS
            survive *= np.where(ident_year < y, 1.0 - self.ref.exit_rate(y) * frac, 1.0)
        exited = np.flatnonzero(rng.random(n_h) < 1.0 - survive)
        if len(exited):
            lo_e = np.array([day_number(dt.date(int(y) + 1, 1, 1)) for y in ident_year[exited]])
            days = rng.integers(lo_e, day0)
            self.exit(exited, days, rng.random(len(exited)) < PAPER_EXIT_SHARE)
            ht["updated"][exited] = working_hours(rng, rng.integers(days, day0))
        # A few households removed as identified by mistake.
        cand = np.flatnonzero((ht["status"] == POOR) & (ht["identified"] + 30 < day0))
        removed = cand[rng.random(len(cand)) < 0.005]
        if len(removed):
            days = rng.integers(ht["identified"][removed] + 30, day0)
            ht["status"][removed] = REMOVED
            ht["changed"][removed] = days
            ht["updated"][removed] = working_hours(rng, rng.integers(days, day0))
        members = np.arange(len(self.mt))
        self.mt["updated"][:] = ht["updated"][self.mt["hh"]]

        self._village_attributes(day0)
        return DayChanges(
            day=day0,
            villages=np.arange(n_v),
            households=np.arange(n_h),
            members=members,
            assistance=self._initial_assistance(day0),
        )

    def _village_attributes(self, day0: int) -> None:
        rng, vt, spec = self.rng, self.vt, self.spec
        n_v = len(vt)
        poor = vt["poor"]
        people = np.bincount(self.ht["village"], weights=self.ht["size"], minlength=n_v)
        incidence = np.where(poor, rng.uniform(0.15, 0.45, n_v), rng.uniform(0.01, 0.08, n_v))
        pop = np.ceil(people / incidence).astype(np.int64)
        pop = np.where(
            people > 0, np.maximum(pop, people.astype(np.int64) + 50), rng.integers(600, 3000, n_v)
        )
        vt["population"] = pop
        coll = (
            np.where(
                poor,
                np.where(rng.random(n_v) < 0.5, 0, rng.integers(1_000, 50_000, n_v)),
                rng.integers(10_000, 500_000, n_v),
            )
            * 100
        )
        vt["collective"] = np.where(rng.random(n_v) < 0.15, -1, coll).astype(np.int64)
        vt["ecommerce"] = rng.random(n_v) < np.where(poor, 0.06, 0.15)
        poor_idx = np.flatnonzero(poor)
        pilots = rng.choice(poor_idx, size=min(spec.pilot_villages, len(poor_idx)), replace=False)
        vt["ecommerce"][pilots] = True
        vt["pilot"][pilots] = pilot_year(self.ref)
        solar = rng.random(n_v) < np.where(poor, 0.05, 0.01)
        vt["solar"] = np.where(solar, rng.integers(600, 3000, n_v), -1).astype(np.int64)
        mul = rng.random(n_v) < np.where(poor, 0.02, 0.002)
        vt["mulberry"] = np.where(mul, rng.integers(500, 20_000, n_v), -1).astype(np.int64)
        vt["updated"] = working_hours(rng, rng.integers(day0 - 300, day0, n_v))

    def _initial_assistance(self, day0: int) -> pl.DataFrame:
        """Events already on record: village stations, solar and mulberry, some household aid."""
        rng, vt, ht = self.rng, self.vt, self.ht
        rows: list[tuple[str, np.ndarray, np.ndarray]] = [
            ("ecommerce_store", np.flatnonzero(vt["ecommerce"]), np.zeros(0, np.int64)),
            ("solar_pv", np.flatnonzero(vt["solar"] >= 0), np.zeros(0, np.int64)),
            ("paper_mulberry", np.flatnonzero(vt["mulberry"] >= 0), np.zeros(0, np.int64)),
        ]
        aided = np.flatnonzero(rng.random(len(ht)) < 0.03)
        frames = [
            self._village_events(p, v, rng.integers(day0 - 300, day0, len(v)), day0)
            for p, v, _ in rows
        ]
        frames.append(
            self._household_events(
                aided,
                np.maximum(ht["identified"][aided], rng.integers(day0 - 300, day0, len(aided))),
                day0,
            )
        )
        return pl.concat(frames)

    # ------------------------------------------------------------------ events
    def event_ids(self, n: int, day: int) -> pl.Series:
        first = self.events
        self.events += n
        ymd = date_of(day).strftime("%Y%m%d")
        return pl.Series(
            [f"BF{self.spec.code}-{ymd}-{k:06d}" for k in range(first, first + n)], dtype=pl.String
        )

    def _amounts(self, programs: list[str], rng: np.random.Generator) -> np.ndarray:
        lo = np.array([_AMOUNT[p][0] for p in programs])
        hi = np.array([_AMOUNT[p][1] for p in programs])
        return (rng.integers(lo, hi + 1) * 100).astype(np.int64)

    def _village_events(
        self, program: str, villages: np.ndarray, dates: np.ndarray, day: int
    ) -> pl.DataFrame:
        n = len(villages)
        rng = self.rng
        if program == "solar_pv":
            amount = self.vt["solar"][villages].clip(0) * 800 * 100  # 8,000 yuan per kW
        else:
            amount = self._amounts([program] * n, rng)
        ecommerce = program.startswith("ecommerce")
        platform = pl.Series(
            [PLATFORMS[k] for k in rng.integers(0, len(PLATFORMS), n)] if ecommerce else [None] * n,
            dtype=pl.String,
        )
        return self._event_frame(
            n,
            day,
            None,
            pl.Series(self.vt["code"][villages]).cast(pl.String),
            [program] * n,
            platform,
            dates,
            amount,
        )

    def _household_events(self, hh: np.ndarray, dates: np.ndarray, day: int) -> pl.DataFrame:
        rng = self.rng
        n = len(hh)
        names = [p for p, _ in _HH_PROGRAMS]
        w = np.array([x for _, x in _HH_PROGRAMS])
        programs = [names[k] for k in rng.choice(len(names), size=n, p=w / w.sum())]
        amount = self._amounts(programs, rng)
        platform = pl.Series(
            [
                PLATFORMS[k] if p.startswith("ecommerce") else None
                for p, k in zip(programs, rng.integers(0, len(PLATFORMS), n), strict=True)
            ],
            dtype=pl.String,
        )
        codes = self.vt["code"][self.ht["village"][hh]].astype(np.int64)
        hid = pl.Series(codes * 10_000 + self.ht["seq"][hh]).cast(pl.String)
        return self._event_frame(
            n, day, hid, pl.Series(codes).cast(pl.String), programs, platform, dates, amount
        )

    def _event_frame(
        self,
        n: int,
        day: int,
        household_id: pl.Series | None,
        village_code: pl.Series,
        programs: list[str],
        platform: pl.Series,
        dates: np.ndarray,
        amount: np.ndarray,
    ) -> pl.DataFrame:
        rng = self.rng
        dates = np.minimum(np.asarray(dates, dtype=np.int64), day)
        updated = working_hours(rng, rng.integers(dates, day + 1))
        frame = pl.DataFrame(
            {
                "event_id": self.event_ids(n, day),
                "household_id": household_id
                if household_id is not None
                else pl.Series([None] * n, dtype=pl.String),
                "village_code": village_code,
                "program": pl.Series(programs, dtype=pl.String),
                "platform": platform,
                "event_date": pl.Series(dates.astype(np.int32)).cast(pl.Date),
                "amount_yuan": pl.Series(amount.astype(np.int64)),
                "updated_at": pl.Series(updated.astype(np.int64)),
                "_pos": pl.Series(np.zeros(n)),
                "_defect": pl.Series([None] * n, dtype=pl.String),
                "_ov_col": pl.Series([None] * n, dtype=pl.String),
                "_ov_val": pl.Series([None] * n, dtype=pl.String),
                "_num": pl.Series([None] * n, dtype=pl.String),
            },
            schema=typed_schema("assistance"),
        )
        return frame

    # ------------------------------------------------------------------ transitions
    def exit(self, hh: np.ndarray, days: np.ndarray, paper: np.ndarray) -> np.ndarray:
        """Lift households out of poverty on ``days``; returns the members that changed.

        A genuine exit meets every criterion (income above the line of the exit year, food,
        housing, water, everyone insured, children 6-15 in school); a paper exit fails one.
        """
        rng, ht, mt = self.rng, self.ht, self.mt
        years = years_of(days)
        lines = lines_for(self.ref, years)
        net, pc = income_cents(rng, ht["size"][hh].astype(np.int64), lines, LIFTED_PC)
        ht["net"][hh], ht["pc"][hh] = net, pc
        ht["income_year"][hh] = years
        ht["food"][hh] = ht["housing"][hh] = ht["water"][hh] = True
        ht["status"][hh] = LIFTED
        ht["changed"][hh] = days
        ht["ever_lifted"][hh] = True

        mem = self.members_of(hh)
        mem = mem[mt["mstatus"][mem] == ACTIVE]
        day_of = dict(zip(hh.tolist(), np.asarray(days).tolist(), strict=True))
        mday = np.array([day_of[h] for h in mt["hh"][mem].tolist()], dtype=np.int64)
        age = ages_at(mt["birth"][mem], mday)
        fix_ins = ~mt["insured"][mem]
        school_age = (age >= 6) & (age <= 15)
        fix_school = school_age & ~mt["in_school"][mem]
        mt["insured"][mem[fix_ins]] = True
        mt["in_school"][mem[fix_school]] = True
        changed = set(mem[fix_ins | fix_school].tolist())

        for h, d in zip(hh[paper].tolist(), np.asarray(days)[paper].tolist(), strict=True):
            kind = int(rng.integers(0, 6))
            own = mem[mt["hh"][mem] == h]
            kids = own[school_age[mt["hh"][mem] == h]]
            if kind == 4 and len(own):
                m = int(rng.choice(own))
                mt["insured"][m] = False
                changed.add(m)
            elif kind == 5 and len(kids):
                m = int(rng.choice(kids))
                mt["in_school"][m] = False
                changed.add(m)
            elif kind in (1, 2, 3):
                ht[("food", "housing", "water")[kind - 1]][h] = False
            else:
                line = self.ref.line(int(years_of(np.array([d]))[0]))
                size = int(ht["size"][h])
                ht["net"][h] = round(rng.uniform(0.7, 0.98) * line * size * 100)
                ht["pc"][h] = per_capita(np.array([ht["net"][h]]), np.array([size]))[0]
        return np.array(sorted(changed), dtype=np.int64)

    def _add_rate(self, year: int) -> float:
        if year in (2015, 2016):
            return (
                self.ref.registry.get("lookback_2015_added_people", 0)
                / self.ref.registry["registered_people"]
                / 2
            )
        return BASE_ADD_RATE

    def _remove_rate(self, year: int) -> float:
        if year in (2015, 2016):
            return (
                self.ref.registry.get("lookback_2015_removed_people", 0)
                / self.ref.registry["registered_people"]
                / 2
            )
        return BASE_REMOVE_RATE

    def step(self, day: int) -> DayChanges:
        """The changes of one delivery day."""
        rng, ht, mt, vt = self.rng, self.ht, self.mt, self.vt
        year = date_of(day).year
        n_h = len(ht)
        busy = ht["frozen"].copy()
        touched: set[int] = set()
        full: set[int] = set()
        changed_members: set[int] = set()

        def pick(mask: np.ndarray, rate: float) -> np.ndarray:
            cand = np.flatnonzero(mask & ~busy)
            k = rng.binomial(len(cand), min(1.0, rate / YEAR_DAYS)) if len(cand) else 0
            chosen = (
                np.sort(rng.choice(cand, size=k, replace=False)) if k else np.zeros(0, np.int64)
            )
            busy[chosen] = True
            touched.update(chosen.tolist())
            return chosen

        status = ht["status"]
        ident_year = years_of(ht["identified"])
        exits = pick(
            np.isin(status, (POOR, RETURNED)) & (ident_year < year), self.ref.exit_rate(year)
        )
        if len(exits):
            fixed = self.exit(
                exits, np.full(len(exits), day), rng.random(len(exits)) < PAPER_EXIT_SHARE
            )
            if len(fixed):
                changed_members.update(fixed.tolist())
                full.update(mt["hh"][fixed].tolist())
        returns = pick(status == LIFTED, RETURN_RATE)
        if len(returns):
            years = np.full(len(returns), year)
            net, pc = income_cents(
                rng, ht["size"][returns].astype(np.int64), lines_for(self.ref, years), POOR_PC
            )
            ht["net"][returns], ht["pc"][returns], ht["income_year"][returns] = net, pc, year
            status[returns] = RETURNED
            ht["changed"][returns] = day
        removals = pick(status == POOR, self._remove_rate(year))
        status[removals] = REMOVED
        ht["changed"][removals] = day

        # Members: births, deaths and moves (one member event per household and day).
        active = mt["mstatus"] == ACTIVE
        n_active = int(active.sum())
        size_now = self.active_counts()
        hh_ok = ~busy[mt["hh"]] & (status[mt["hh"]] != REMOVED)
        age = ages_at(mt["birth"], day)
        births = self._pick_members(
            active & hh_ok & ~mt["male"] & (age >= 20) & (age <= 42) & (size_now[mt["hh"]] < 20),
            n_active,
            BIRTH_RATE,
            busy,
        )
        non_head = active & hh_ok & (mt["relation"] != HEAD) & (size_now[mt["hh"]] >= 2)
        deaths = self._pick_members(
            non_head & ((age >= 60) | (rng.random(len(mt)) < 0.05)), n_active, DEATH_RATE, busy
        )
        moves = self._pick_members(non_head & (age >= 16) & (age <= 45), n_active, MOVE_RATE, busy)
        mt["mstatus"][deaths] = DECEASED
        mt["mstatus"][moves] = LEFT
        for m in (deaths, moves):
            changed_members.update(m.tolist())
            full.update(mt["hh"][m].tolist())
            touched.update(mt["hh"][m].tolist())
        if len(births):
            babies = self._births(births, day)
            changed_members.update(babies.tolist())
            full.update(mt["hh"][babies].tolist())
            touched.update(mt["hh"][babies].tolist())
        sizes = self.active_counts()
        resized = np.flatnonzero(sizes[: len(ht)] != ht["size"])
        if len(resized):
            # A member who dies or leaves takes their share of the income along; a
            # newborn earns nothing.
            old_size = ht["size"][resized].astype(np.int64)
            new_size = sizes[resized].astype(np.int64)
            shrink = new_size < old_size
            ht["net"][resized[shrink]] = np.rint(
                ht["net"][resized[shrink]] * new_size[shrink] / old_size[shrink]
            ).astype(np.int64)
            ht["size"][resized] = new_size
            ht["pc"][resized] = per_capita(ht["net"][resized], new_size)

        # Income re-assessments.
        upd = pick(status != REMOVED, self.income_rate)
        if len(upd):
            years = np.maximum(
                ht["income_year"][upd].astype(np.int64),
                year - 1 if date_of(day).month < 7 else year,
            )
            lifted = status[upd] == LIFTED
            lo_hi_net, lo_hi_pc = income_cents(
                rng, ht["size"][upd].astype(np.int64), lines_for(self.ref, years), POOR_PC
            )
            up_net, up_pc = income_cents(
                rng, ht["size"][upd].astype(np.int64), lines_for(self.ref, years), LIFTED_PC
            )
            ht["net"][upd] = np.where(lifted, up_net, lo_hi_net)
            ht["pc"][upd] = np.where(lifted, up_pc, lo_hi_pc)
            ht["income_year"][upd] = years

        # New identifications (in poor villages three times as often).
        k_new = rng.poisson(n_h * self._add_rate(year) / YEAR_DAYS) if n_h else 0
        new_h = np.zeros(0, dtype=np.int64)
        if k_new:
            w = np.where(vt["poor"], 3.0, 1.0)
            villages = rng.choice(len(vt), size=k_new, p=w / w.sum())
            ts = working_hours(rng, np.full(k_new, day))
            new_h, _ = self.add_households(villages, np.full(k_new, day), day, ts)
            busy = np.r_[busy, np.ones(len(new_h), dtype=bool)]
            touched.update(new_h.tolist())
            full.update(new_h.tolist())

        # Stamp what changed: one export time per household, shared by its members.
        hh_idx = np.array(sorted(touched), dtype=np.int64)
        if len(hh_idx):
            old = set(hh_idx.tolist()) - set(new_h.tolist())
            old_idx = np.array(sorted(old), dtype=np.int64)
            ht["updated"][old_idx] = working_hours(rng, np.full(len(old_idx), day))
        full_idx = np.array(sorted(full), dtype=np.int64)
        mem = self.members_of(full_idx)
        mem = mem[(mt["mstatus"][mem] == ACTIVE) | np.isin(mem, list(changed_members))]
        mt["updated"][mem] = ht["updated"][mt["hh"][mem]]

        villages_changed, assistance = self._daily_assistance(day, busy)
        return DayChanges(
            day=day,
            villages=villages_changed,
            households=hh_idx,
            members=np.sort(mem),
            assistance=assistance,
        )

    def _pick_members(
        self, mask: np.ndarray, n_active: int, rate: float, busy: np.ndarray
    ) -> np.ndarray:
        rng, mt = self.rng, self.mt
        k = rng.binomial(n_active, rate / YEAR_DAYS) if n_active else 0
        cand = np.flatnonzero(mask & ~busy[mt["hh"]])
        if not k or not len(cand):
            return np.zeros(0, dtype=np.int64)
        chosen = rng.choice(cand, size=min(k, len(cand)), replace=False)
        # One event per household.
        _, first = np.unique(mt["hh"][chosen], return_index=True)
        chosen = np.sort(chosen[first])
        busy[mt["hh"][chosen]] = True
        return chosen

    def _births(self, mothers: np.ndarray, day: int) -> np.ndarray:
        rng, mt, ht = self.rng, self.mt, self.ht
        n = len(mothers)
        rel_m = mt["relation"][mothers]
        rel = np.where(
            np.isin(rel_m, (HEAD, SPOUSE)),
            CHILD,
            np.where(np.isin(rel_m, (CHILD, CHILD_IN_LAW)), GRANDCHILD, OTHER),
        )
        hh = mt["hh"][mothers]
        birth = day - rng.integers(0, 30, n)
        male = rng.random(n) < 0.52
        head = ht["head"][hh]
        cols = new_members(
            rng,
            n=n,
            birth_days=birth,
            male=male,
            relation=rel,
            hh=hh,
            surname=mt["surname"][head],
            ref_day=day,
            addr=self.addr,
            alloc=self.alloc,
            updated=np.zeros(n, dtype=np.int64),
        )
        cols["health"][:] = HEALTHY
        cols["labour"][:] = NO_LABOUR
        cols["dis_cat"][:] = 0
        cols["dis_grade"][:] = 0
        idx = self.mt.append(cols)
        self._invalidate()
        return idx

    def _daily_assistance(self, day: int, busy: np.ndarray) -> tuple[np.ndarray, pl.DataFrame]:
        rng, vt, ht = self.rng, self.vt, self.ht
        frames = []
        live = np.flatnonzero((ht["status"] != REMOVED) & ~ht["frozen"])
        k = rng.binomial(len(live), HOUSEHOLD_AID_RATE / YEAR_DAYS) if len(live) else 0
        if k:
            hh = np.sort(rng.choice(live, size=k, replace=False))
            frames.append(self._household_events(hh, day - rng.integers(0, 10, k), day))
        poor_v = np.flatnonzero(vt["poor"] & ~self.v_frozen)
        k = rng.binomial(len(poor_v), VILLAGE_AID_RATE / YEAR_DAYS) if len(poor_v) else 0
        changed: set[int] = set()
        if k:
            villages = np.sort(rng.choice(poor_v, size=k, replace=False))
            programs = rng.choice(
                ["ecommerce_store", "ecommerce_training", "solar_pv", "paper_mulberry", "industry"],
                size=k,
                p=[0.2, 0.3, 0.2, 0.1, 0.2],
            )
            for program in (
                "ecommerce_store",
                "ecommerce_training",
                "solar_pv",
                "paper_mulberry",
                "industry",
            ):
                v = villages[programs == program]
                if not len(v):
                    continue
                if program == "ecommerce_store":
                    v = v[~vt["ecommerce"][v]]
                    vt["ecommerce"][v] = True
                    changed.update(v.tolist())
                elif program == "solar_pv":
                    vt["solar"][v] = vt["solar"][v].clip(0) + rng.integers(600, 3000, len(v))
                    changed.update(v.tolist())
                elif program == "paper_mulberry":
                    vt["mulberry"][v] = vt["mulberry"][v].clip(0) + rng.integers(500, 5000, len(v))
                    changed.update(v.tolist())
                if len(v):
                    frames.append(
                        self._village_events(program, v, day - rng.integers(0, 10, len(v)), day)
                    )
        vi = np.array(sorted(changed), dtype=np.int64)
        vt["updated"][vi] = working_hours(rng, np.full(len(vi), day))
        assistance = (
            pl.concat(frames) if frames else pl.DataFrame(schema=typed_schema("assistance"))
        )
        return vi, assistance

    # ------------------------------------------------------------------ frames
    def frames(self, changes: DayChanges) -> dict[str, pl.DataFrame]:
        frames = {
            "villages": villages_frame(self.vt, changes.villages),
            "households": households_frame(self.ht, self.mt, self.vt, changes.households),
            "members": members_frame(self.mt, self.ht, self.vt, changes.members),
            "assistance": changes.assistance.with_columns(
                _pos=pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.Float64)
            ),
        }
        for entity, extra in changes.extra.items():
            frames[entity] = pl.concat([frames[entity], *extra])
        return frames
