"""Which path a run's transform and load take: incremental (the components of the
person-household graph that the run's delivery touches, replaced in place) or full (the
reference rebuild of every derived table from staging). docs/architecture.md, "The
incremental night", states the rules; docs/runbook.md says how to force the full path.

The affected set of date D:

- seeds: the households of D's household and member rows as now staged, with every
  household the persons of those member rows were delivered in on any date; the
  households of D's rows as they were loaded before (a re-run replaces D's staging; the
  old rows are known from ``state.row_outcomes``); and every household delivered in a
  village whose first-seen date changes (parked households wait for their village);
- closure: every household of the components, as last loaded, of the seeds. The new
  components of those households are whole: the graph changed only by D's rows; the
  edges D's old rows made lay inside old components, and the edges its new rows make
  join only households of their persons, every one a seed.

The transform recomputes those components from every date's staging, the small entities
whole; the load deletes their rows and inserts the new ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

import settings
from pipeline.context import RunContext
from transforms import build
from warehouse.prior import open_prior

log = logging.getLogger(__name__)

# What derives the warehouse from staging: a change of any file here (code, SQL, suites,
# migrations, reference data) makes the next run take the full path.
DERIVING_PACKAGES = ("contract", "expectations", "transforms", "warehouse")
DERIVING_SUFFIXES = frozenset({".py", ".sql", ".csv", ".json", ".yml", ".yaml"})


def code_hash() -> str:
    """SHA-256 over the path and bytes of every file of :data:`DERIVING_PACKAGES`."""
    digest = hashlib.sha256()
    for package in DERIVING_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {package} not found")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*")):
            if path.suffix not in DERIVING_SUFFIXES or "__pycache__" in path.parts:
                continue
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Plan:
    load_path: str  # full or incremental
    reason: str
    code_hash: str
    scope: build.Scope | None = None

    @property
    def affected_households(self) -> int | None:
        return None if self.scope is None else self.scope.households.height

    def as_dict(self) -> dict:
        return {
            "load_path": self.load_path,
            "reason": self.reason,
            "code_hash": self.code_hash,
            "affected_households": self.affected_households,
        }


def plan(ctx: RunContext) -> Plan:
    """The path of the run of ``ctx`` and, when incremental, its scope."""
    current = code_hash()

    def full(reason: str) -> Plan:
        log.info("transform: full path: %s", reason)
        return Plan("full", reason, current)

    if ctx.full_rebuild:
        return full("asked (DAG param full_rebuild, povdb run --full)")
    if settings.full_rebuild():
        return full("asked (POVDB_FULL_REBUILD)")
    prior = open_prior(ctx.paths.warehouse)
    if prior is None:
        return full("no warehouse with incremental state yet")
    with prior:
        last = prior.last_code_hash()
        if last is None or not prior.has_state():
            return full("no prior state: the last load kept none")
        if last != current:
            return full(
                "the code, SQL, suites, migrations or reference data changed since the last"
                f" load (code hash {last[:12]} -> {current[:12]})"
            )
        dates = (ctx.delivery_date,)
        staging = ctx.paths.staging
        new_first = build.village_first_applied(staging)
        moved = (
            new_first.join(prior.village_first(), on="parent_key", how="full", coalesce=True)
            .filter(~pl.col("first_date").eq_missing(pl.col("first_date_right")))
            .get_column("parent_key")
        )
        seeds = pl.concat(
            [
                build.households_of(staging, dates=dates, villages=moved),
                prior.delivered_on(dates),
            ]
        ).unique()
        households = prior.close(seeds)
        total = prior.households()
    # Early in a backfill of change days the registry may be smaller than the delivery.
    share = households.height / max(total, households.height, 1)
    limit = settings.incremental_max_share()
    if share > limit:
        return full(
            f"the delivery touches {households.height:,} households, {share:.1%} of"
            f" {total:,}: more than POVDB_INCREMENTAL_MAX_SHARE ({limit:.0%})"
        )
    reason = (
        f"{households.height:,} households ({share:.2%}) in the components of"
        f" {seeds.height:,} household(s) delivered, re-delivered or in {moved.len():,}"
        " village(s) whose first date changed"
    )
    log.info("transform: incremental path: %s", reason)
    return Plan("incremental", reason, current, build.Scope(households, dates))
