"""Households and their members, drawn as whole batches (vectorised, no per-row Python).

Calibration (see tests/unit/test_generator_calibration.py):

* household size: 10 % one-person households, the rest 1 + Poisson, mean = registered
  people / registered households of the 2014 registry (about 3.04), capped at 20;
* illness is the main cause of the registry's share of households (0.424), the other
  causes share the rest; up to two other causes, never repeating the main one;
* per-capita net income of a poor household lies between 25 % and 97 % of its income
  year's poverty line (a few small business losses below zero), of a lifted one between
  102 % and 130 %: a bounded spread, so a clean county has no income outliers;
* ages and relations follow the head's age; children aged 6-15 are mostly in school.
"""

from __future__ import annotations

import numpy as np

from generator.ids import SequenceAllocator
from generator.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES, surname_weights
from generator.reference import Reference
from generator.tables import (
    ACTIVE,
    CHILD,
    CHILD_IN_LAW,
    CHRONIC,
    DAY_SECONDS,
    DIBAO,
    DIBAO_POOR,
    DISABILITY,
    DISABLED,
    GENERAL,
    GRANDCHILD,
    GRANDPARENT,
    HEAD,
    HEALTHY,
    ILLITERATE,
    ILLNESS,
    JUNIOR,
    LOST,
    NO_LABOUR,
    ORDINARY,
    OTHER,
    PARENT,
    POOR,
    PRIMARY,
    SENIOR,
    SERIOUS,
    SIBLING,
    SKILLED,
    SPOUSE,
    TERTIARY,
    WUBAO,
)

SINGLE_SHARE = 0.10
MAX_SIZE = 20
N_CAUSES = 13
# Main-cause shares after illness (funds, skills, labour, disability ... other), in contract order.
_OTHER_CAUSE_WEIGHTS = np.array(
    # illness, disability, education, disaster, land, water, skills, labour, funds,
    # transport, motivation, marriage, other
    [0.0, 0.06, 0.04, 0.03, 0.035, 0.015, 0.12, 0.08, 0.14, 0.02, 0.03, 0.005, 0.01]
)
POOR_PC = (0.25, 0.97)  # per-capita income / line, poor households
LIFTED_PC = (1.02, 1.30)  # per-capita income / line, lifted households
LOSS_SHARE = 0.002
YEAR_DAYS = 365.2425


def mean_household_size(ref: Reference) -> float:
    people = ref.registry.get("registered_people_alt", ref.registry["registered_people"])
    return people / ref.registry["registered_households"]


def draw_sizes(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    lam = (mean - 1.0) / (1.0 - SINGLE_SHARE)
    sizes = 1 + rng.poisson(lam, size=n)
    sizes[rng.random(n) < SINGLE_SHARE] = 1
    return np.minimum(sizes, MAX_SIZE).astype(np.int16)


def cause_probabilities(ref: Reference) -> np.ndarray:
    illness = ref.registry.get("illness_main_cause_share_households", 0.424)
    p = _OTHER_CAUSE_WEIGHTS / _OTHER_CAUSE_WEIGHTS.sum() * (1.0 - illness)
    p[ILLNESS] = illness
    return p


def draw_other_causes(
    rng: np.random.Generator, main: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(main)
    q = p.copy()
    q[ILLNESS] *= 0.6  # illness is mostly the main cause when present
    q = q / q.sum()
    o1 = rng.choice(N_CAUSES, size=n, p=q).astype(np.int8)
    o2 = rng.choice(N_CAUSES, size=n, p=q).astype(np.int8)
    k = rng.random(n)
    o1[(k < 0.35) | (o1 == main)] = -1
    o2[(k < 0.70) | (o2 == main) | (o2 == o1) | (o1 < 0)] = -1
    return o1, o2


def income_cents(
    rng: np.random.Generator,
    sizes: np.ndarray,
    lines: np.ndarray,
    lo_hi: tuple[float, float],
    losses: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Net household income and per-capita income (cents), per-capita = net / size."""
    frac = rng.uniform(lo_hi[0], lo_hi[1], size=len(sizes))
    if losses:
        loss = rng.random(len(sizes)) < LOSS_SHARE
        frac[loss] = rng.uniform(-0.08, -0.001, size=int(loss.sum()))
    net = np.rint(frac * lines * sizes * 100).astype(np.int64)
    return net, per_capita(net, sizes)


def lines_for(ref: Reference, years: np.ndarray) -> np.ndarray:
    """The poverty line of each income year (yuan per person)."""
    table = np.array([ref.line(y) for y in range(1990, 2061)], dtype=np.float64)
    return table[np.clip(np.asarray(years, dtype=np.int64) - 1990, 0, len(table) - 1)]


def per_capita(net: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """net / size rounded half up to the cent (exact integer arithmetic)."""
    s = np.asarray(sizes, dtype=np.int64)
    return np.floor_divide(2 * np.asarray(net, dtype=np.int64) + s, 2 * s)


def draw_names(rng: np.random.Generator, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given-name character indices (second is -1 for one-character names)."""
    n = len(male)
    g1 = np.where(
        male, rng.integers(0, len(GIVEN_MALE), n), rng.integers(0, len(GIVEN_FEMALE), n)
    ).astype(np.int16)
    g2 = np.where(
        male, rng.integers(0, len(GIVEN_MALE), n), rng.integers(0, len(GIVEN_FEMALE), n)
    ).astype(np.int16)
    g2[rng.random(n) < 0.3] = -1
    return g1, g2


def education_for_age(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    n = len(age)
    u = rng.random(n)
    edu = np.full(n, -1, dtype=np.int8)

    def band(mask: np.ndarray, cuts: list[float], codes: list[int]) -> None:
        out = np.full(n, codes[-1], dtype=np.int8)
        for cut, code in zip(reversed(cuts), reversed(codes[:-1]), strict=True):
            out[u < cut] = code
        edu[mask] = out[mask]

    band((age >= 6) & (age <= 11), [1.0], [PRIMARY, PRIMARY])
    band((age >= 12) & (age <= 15), [0.05], [PRIMARY, JUNIOR])
    band((age >= 16) & (age <= 18), [0.05, 0.55], [PRIMARY, JUNIOR, SENIOR])
    band((age >= 19) & (age <= 22), [0.1, 0.55, 0.85], [PRIMARY, JUNIOR, SENIOR, TERTIARY])
    band(
        (age >= 23) & (age <= 45),
        [0.05, 0.35, 0.85, 0.97],
        [ILLITERATE, PRIMARY, JUNIOR, SENIOR, TERTIARY],
    )
    band((age >= 46) & (age <= 60), [0.15, 0.60, 0.93], [ILLITERATE, PRIMARY, JUNIOR, SENIOR])
    band(age > 60, [0.45, 0.87, 0.99], [ILLITERATE, PRIMARY, JUNIOR, SENIOR])
    return edu


def in_school_for_age(rng: np.random.Generator, age: np.ndarray, edu: np.ndarray) -> np.ndarray:
    u = rng.random(len(age))
    school = np.zeros(len(age), dtype=bool)
    school |= (age >= 6) & (age <= 15) & (u < 0.975)
    school |= (age >= 16) & (age <= 18) & (u < 0.5)
    school |= (age >= 19) & (age <= 22) & (edu == TERTIARY) & (u < 0.6)
    return school


def labour_for(rng: np.random.Generator, age: np.ndarray, health: np.ndarray) -> np.ndarray:
    u = rng.random(len(age))
    lab = np.where(u < 0.82, ORDINARY, SKILLED).astype(np.int8)
    lab[(health == CHRONIC) & (u < 0.3)] = LOST
    lab[(health == SERIOUS) | (health == DISABLED)] = LOST
    lab[(age < 16) | (age > 70) | ((age > 64) & (u < 0.6))] = NO_LABOUR
    return lab


def new_members(
    rng: np.random.Generator,
    *,
    n: int,
    birth_days: np.ndarray,
    male: np.ndarray,
    relation: np.ndarray,
    hh: np.ndarray,
    surname: np.ndarray,
    ref_day: int,
    addr: int,
    alloc: SequenceAllocator,
    updated: np.ndarray,
) -> dict[str, np.ndarray]:
    """Member columns for people whose household, relation, sex and birth day are known."""
    age = np.floor((ref_day - birth_days) / YEAR_DAYS).astype(np.int64)
    health = rng.choice(4, size=n, p=[0.80, 0.12, 0.03, 0.05]).astype(np.int8)
    health[(age < 16) & (health != HEALTHY) & (rng.random(n) < 0.7)] = HEALTHY
    edu = education_for_age(rng, age)
    dis = (health == DISABLED) & (rng.random(n) < 0.4)
    g1, g2 = draw_names(rng, male)
    return {
        "hh": hh.astype(np.int64),
        "addr": np.full(n, addr, dtype=np.int32),
        "birth": birth_days.astype(np.int32),
        "seq": alloc.allocate(birth_days, male).astype(np.int16),
        "male": male.astype(bool),
        "dis_cat": np.where(dis, rng.integers(1, 8, n), 0).astype(np.int8),
        "dis_grade": np.where(dis, rng.integers(1, 5, n), 0).astype(np.int8),
        "surname": surname.astype(np.int16),
        "g1": g1,
        "g2": g2,
        "relation": relation.astype(np.int8),
        "education": edu,
        "in_school": in_school_for_age(rng, age, edu),
        "health": health,
        "labour": labour_for(rng, age, health),
        "insured": rng.random(n) < 0.96,
        "mstatus": np.full(n, ACTIVE, dtype=np.int8),
        "updated": updated.astype(np.int64),
    }


def new_households(
    rng: np.random.Generator,
    ref: Reference,
    *,
    villages: np.ndarray,
    seqs: np.ndarray,
    identified: np.ndarray,
    ref_day: int,
    income_year: np.ndarray,
    updated: np.ndarray,
    addr: int,
    alloc: SequenceAllocator,
    member_offset: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A batch of newly identified poor households with their members.

    ``member_offset`` is the index the first new member will get in the county's member
    table (households point at their head by index).
    """
    n = len(villages)
    sizes = draw_sizes(rng, n, mean_household_size(ref))
    single = sizes == 1
    head_age = np.where(
        single,
        rng.triangular(45, 72, 92, size=n),
        np.clip(rng.normal(50, 12, size=n), 24, 85),
    )
    m = int(sizes.sum())
    hh_local = np.repeat(np.arange(n), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(m) - np.repeat(starts, sizes)
    ha = head_age[hh_local]

    u = rng.random(m)
    rel = np.full(m, CHILD, dtype=np.int8)
    rel[pos == 0] = HEAD
    second = pos == 1
    rel[second & (u < 0.82)] = SPOUSE
    rel[second & (u >= 0.82) & (u < 0.94)] = CHILD
    rel[second & (u >= 0.94)] = PARENT
    rest = pos >= 2
    cut = np.cumsum([0.72, 0.10, 0.06, 0.06, 0.01, 0.03, 0.02])
    kinds = np.array(
        [CHILD, GRANDCHILD, CHILD_IN_LAW, PARENT, GRANDPARENT, SIBLING, OTHER], dtype=np.int8
    )
    rel[rest] = kinds[np.searchsorted(cut, u[rest] * cut[-1], side="right").clip(0, 6)]

    v = rng.random(m)
    age = ha.copy()
    age = np.where(rel == SPOUSE, np.clip(ha + rng.normal(-2, 3, m), 18, 95), age)
    age = np.where(rel == CHILD, ha - (20 + 18 * v), age)
    age = np.where(rel == GRANDCHILD, ha - (42 + 20 * v), age)
    age = np.where(rel == CHILD_IN_LAW, ha - (20 + 15 * v), age)
    age = np.where(rel == PARENT, np.minimum(ha + 20 + 12 * v, 99), age)
    age = np.where(rel == GRANDPARENT, np.minimum(ha + 42 + 13 * v, 100), age)
    age = np.where(rel == SIBLING, np.maximum(ha - 10 + 20 * v, 0), age)
    age = np.where(rel == OTHER, 80 * v, age)
    # Too young for the relation drawn: a younger sibling, or a child.
    bad_in_law = (rel == CHILD_IN_LAW) & (age < 18)
    rel[bad_in_law] = CHILD
    bad = ((rel == CHILD) | (rel == GRANDCHILD)) & (age < 0)
    rel[bad] = SIBLING
    age[bad] = np.maximum(ha[bad] - 8 * v[bad], 0)
    bad_gp = (rel == GRANDPARENT) & (ha > 45)
    rel[bad_gp] = PARENT
    age[bad_gp] = np.minimum(ha[bad_gp] + 20 + 10 * v[bad_gp], 99)

    birth = (ref_day - np.floor(age * YEAR_DAYS) - rng.integers(0, 365, m)).astype(np.int64)
    birth = np.minimum(birth, ref_day - 1)

    head_male = np.where(single, rng.random(n) < 0.6, rng.random(n) < 0.86)
    male = rng.random(m) < 0.51
    male[pos == 0] = head_male
    male[rel == SPOUSE] = ~head_male[hh_local[rel == SPOUSE]]

    sw = surname_weights()
    family = rng.choice(len(SURNAMES), size=n, p=sw)
    surname = rng.choice(len(SURNAMES), size=m, p=sw)
    same = (rel == HEAD) | (np.isin(rel, (CHILD, GRANDCHILD, SIBLING)) & (rng.random(m) < 0.9))
    surname[same] = family[hh_local[same]]

    cp = cause_probabilities(ref)
    cause = rng.choice(N_CAUSES, size=n, p=cp).astype(np.int8)
    o1, o2 = draw_other_causes(rng, cause, cp)

    hh_updated = updated
    members = new_members(
        rng,
        n=m,
        birth_days=birth,
        male=male,
        relation=rel,
        hh=hh_local,  # made absolute by the caller
        surname=surname,
        ref_day=ref_day,
        addr=addr,
        alloc=alloc,
        updated=hh_updated[hh_local],
    )
    # Illness households have a chronically or seriously ill adult; disability ones a
    # disabled member (the head or the spouse).
    carrier = starts + np.where((sizes > 1) & (rng.random(n) < 0.4), 1, 0)
    ill = cause == ILLNESS
    members["health"][carrier[ill]] = np.where(
        rng.random(int(ill.sum())) < 0.75, CHRONIC, SERIOUS
    ).astype(np.int8)
    dis = cause == DISABILITY
    members["health"][carrier[dis]] = DISABLED
    members["labour"] = labour_for(rng, np.floor((ref_day - birth) / YEAR_DAYS), members["health"])

    attr = rng.choice(4, size=n, p=[0.55, 0.25, 0.15, 0.05]).astype(np.int8)
    old_single = single & (head_age >= 60)
    attr[old_single & (rng.random(n) < 0.55)] = WUBAO
    assert {GENERAL, DIBAO_POOR, DIBAO, WUBAO} == {0, 1, 2, 3}

    lines = lines_for(ref, income_year)
    net, pc = income_cents(rng, sizes, lines, POOR_PC, losses=True)
    households = {
        "village": villages.astype(np.int32),
        "seq": seqs.astype(np.int32),
        "head": (member_offset + starts).astype(np.int64),
        "size": sizes,
        "attribute": attr,
        "cause": cause,
        "other1": o1,
        "other2": o2,
        "net": net,
        "pc": pc,
        "income_year": np.asarray(income_year, dtype=np.int16),
        "food": rng.random(n) < 0.9,
        "housing": rng.random(n) < 0.78,
        "water": rng.random(n) < 0.82,
        "status": np.full(n, POOR, dtype=np.int8),
        "identified": identified.astype(np.int32),
        "changed": identified.astype(np.int32),
        "online": rng.random(n) < 0.03,
        "updated": hh_updated.astype(np.int64),
        "frozen": np.zeros(n, dtype=bool),
        "ever_lifted": np.zeros(n, dtype=bool),
    }
    return households, members


def working_hours(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Local wall-clock seconds (Asia/Shanghai) during office hours of the given days."""
    return np.asarray(days, dtype=np.int64) * DAY_SECONDS + rng.integers(
        8 * 3600, 18 * 3600, len(days)
    )


def ages_at(birth: np.ndarray, day: int | np.ndarray) -> np.ndarray:
    """Completed years of age on ``day`` (a day or one day per person), from the calendar."""
    b = np.asarray(birth, dtype=np.int64)
    d = np.broadcast_to(np.asarray(day, dtype=np.int64), b.shape)
    by, bmd = _year_monthday(b)
    dy, dmd = _year_monthday(d)
    return dy - by - (bmd > dmd).astype(np.int64)


def _year_monthday(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = days.astype("datetime64[D]")
    y = x.astype("datetime64[Y]")
    m = x.astype("datetime64[M]")
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    dom = (x - m.astype("datetime64[D]")).astype(np.int64) + 1
    return y.astype(np.int64) + 1970, month * 100 + dom


def years_of(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970
    )
