"""What publishing leaves out of the analysts' snapshot or coarsens, declared once.

The internal warehouse keeps the registry as delivered, resident IDs and names included;
``analytics.duckdb`` is published without them. Every table of ``core`` and ``audit`` that
the snapshot holds is declared here with what becomes of its columns on the way: dropped,
keyed (the keyed hash of :mod:`contract.pseudonym` instead of the resident ID), coarsened,
or, for a delimited string of codes, listed (a VARCHAR[], as every list of the snapshot).
A column without a rule is published as the warehouse holds it, so every landing column
marked PII must be dropped or keyed in each table that holds its entity: :func:`check`
fails otherwise. Columns only the snapshot has carry their description here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from contract.landing import CONTRACT, Entity


class Treatment(StrEnum):
    DROP = "drop"
    KEY = "key"
    COARSEN = "coarsen"
    LIST = "list"


@dataclass(frozen=True)
class SnapshotColumn:
    """A column of the snapshot that the warehouse does not have, and its description."""

    name: str
    description: str


@dataclass(frozen=True)
class Rule:
    """What publishing does to one warehouse column; ``into``: the snapshot's columns in
    its stead (none when it is dropped)."""

    column: str
    treatment: Treatment
    into: tuple[SnapshotColumn, ...] = ()


@dataclass(frozen=True)
class PublishedTable:
    """A ``core`` or ``audit`` table as the snapshot holds it (same schema and name).

    With ``current_of``, the snapshot holds it as a view: the current versions
    (``is_current``) of that published history table, with this table's published columns
    in the history's order. Its rules say what those columns are; the history's rules keep
    them free of PII."""

    name: str
    entity: str | None = None  # the landing entity whose columns it holds
    rules: tuple[Rule, ...] = ()
    derived: tuple[SnapshotColumn, ...] = ()  # added, standing for no warehouse column
    current_of: str | None = None  # published as a view of that history's current versions

    @property
    def copied_whole(self) -> bool:
        return not self.rules and not self.derived

    @property
    def snapshot_columns(self) -> tuple[SnapshotColumn, ...]:
        return tuple(c for r in self.rules for c in r.into) + self.derived

    def published_columns(self, warehouse_columns: Iterable[str]) -> set[str]:
        """The columns the published table has, given the warehouse table's."""
        present = set(warehouse_columns)
        ruled = {r.column for r in self.rules}
        if unknown := ruled - present:
            raise ValueError(f"{self.name} has no column {sorted(unknown)} to publish a rule for")
        return (present - ruled) | {c.name for c in self.snapshot_columns}


@dataclass(frozen=True)
class SnapshotTable:
    """A table only the snapshot has, with its description and its columns'."""

    name: str
    description: str
    columns: tuple[SnapshotColumn, ...]


def _head_keyed(description: str) -> tuple[Rule, ...]:
    """The rules of a table of households: the head's resident ID keyed, the name dropped,
    the other causes listed."""
    return (
        Rule("head_id_number", Treatment.KEY, into=(SnapshotColumn("head_key", description),)),
        Rule("head_name", Treatment.DROP),
        Rule(
            "other_causes",
            Treatment.LIST,
            into=(
                SnapshotColumn(
                    "other_causes",
                    "其他致贫原因: the other causes of poverty, a list of up to two cause codes"
                    " (labels: ref.code_labels, column_name other_causes); NULL when none."
                    " Delivered ';'-joined.",
                ),
            ),
        ),
    )


TABLES: tuple[PublishedTable, ...] = (
    # The current versions are views, as in the warehouse: tables of their own would write
    # every village and household a second time (1.2 s of the province's full publish).
    PublishedTable("core.villages", entity="villages", current_of="core.villages_history"),
    PublishedTable(
        "core.households",
        entity="households",
        rules=_head_keyed(
            "Keyed hash (HMAC-SHA256, 32 hex) of the head's resident ID: stable across"
            " snapshots while the secret is kept; not reversible without it."
        ),
        current_of="core.households_history",
    ),
    PublishedTable(
        "core.households_history",
        entity="households",
        rules=_head_keyed("Keyed hash of the head's resident ID (see core.households.head_key)."),
    ),
    PublishedTable("core.villages_history", entity="villages"),
    PublishedTable(
        "core.members",
        entity="members",
        rules=(
            Rule(
                "id_number",
                Treatment.KEY,
                into=(
                    SnapshotColumn(
                        "person_key",
                        "Keyed hash (HMAC-SHA256, 32 hex) of the person's resident ID; the same"
                        " person has the same key in every table and snapshot.",
                    ),
                ),
            ),
            Rule("name", Treatment.DROP),
            Rule(
                "birth_date",
                Treatment.COARSEN,
                into=(
                    SnapshotColumn(
                        "birth_year", "Year of birth (the birth date itself is not published)."
                    ),
                    SnapshotColumn(
                        "age_band",
                        "Age at the snapshot's as-of date: 0-5, 6-15 (compulsory schooling),"
                        " 16-59, 60+.",
                    ),
                ),
            ),
            Rule("file_name", Treatment.DROP),
            Rule("row_number", Treatment.DROP),
        ),
        derived=(
            SnapshotColumn(
                "household_status",
                "Current status of the person's household (core.households.status as of this"
                " snapshot): poor, lifted, returned or removed. Saves a join for questions about"
                " the members of poor households.",
            ),
        ),
    ),
    PublishedTable("core.assistance", entity="assistance"),
    PublishedTable("core.status_events"),
    PublishedTable(
        "core.exit_checks",
        rules=(
            Rule(
                "failed_criteria",
                Treatment.LIST,
                into=(
                    SnapshotColumn(
                        "failed_criteria",
                        "Failed criteria, a list of codes (income_below_line,"
                        " food_clothing_insecure, housing_unsafe, drinking_water_unsafe,"
                        " child_out_of_school, member_uninsured, exit_in_identification_year);"
                        " NULL when verified.",
                    ),
                ),
            ),
        ),
    ),
    PublishedTable("core.targets", entity="targets"),
    PublishedTable("audit.runs"),
    PublishedTable("audit.files"),
    PublishedTable("audit.reconciliation"),
    # Sample keys of failing rows name persons by their resident ID.
    PublishedTable("audit.validation_results", rules=(Rule("sample_keys", Treatment.DROP),)),
    PublishedTable(
        "audit.quarantine",
        rules=(
            Rule(
                "record_key",
                Treatment.KEY,
                into=(
                    SnapshotColumn(
                        "record_key",
                        "Key of the record; for members the person_key (keyed hash), never the"
                        " resident ID.",
                    ),
                ),
            ),
            # A detail may quote a delivered value.
            Rule("detail", Treatment.DROP),
        ),
    ),
)

SCHEMA_VERSION = 3
"""The version of the snapshot's tables and conventions (``meta.snapshot.schema_version``).
A change analysts must adapt their queries to (a column renamed or dropped, a unit changed)
raises it, with an entry in ``docs/analyst_guide.md``, section "Changes"."""

LATEST_VIEWS: tuple[str, ...] = (
    "marts.poverty_stock",
    "marts.programme_coverage",
    "marts.target_progress",
)
"""The marts that hold several as-of dates: the snapshot has a view ``<mart>_latest`` of
each, its rows of the snapshot's as-of date."""

SNAPSHOT = SnapshotTable(
    "meta.snapshot",
    "Grain: one row. What this snapshot holds: as-of delivery date, the delivery dates"
    " included, schema version, code version, the load it holds, publish time and mode.",
    (
        SnapshotColumn(
            "as_of_date", "Latest delivery date (Asia/Shanghai) included in this snapshot."
        ),
        SnapshotColumn(
            "schema_version",
            "Version of the snapshot's tables and conventions; what changed from one version"
            " to the next: docs/analyst_guide.md, section Changes.",
        ),
        SnapshotColumn("deliveries_included", "Every delivery date loaded into this snapshot."),
        SnapshotColumn("code_version", "Version of the pipeline that built it."),
        SnapshotColumn("run_id", "Airflow run that published it."),
        SnapshotColumn("published_at", "When it was published (timestamp with time zone)."),
        SnapshotColumn(
            "loaded_at",
            "When the latest load it holds committed (audit.runs.loaded_at): two snapshots"
            " with the same loaded_at hold the same data.",
        ),
        SnapshotColumn(
            "publish_mode",
            "full (written afresh from the warehouse) or delta (the previous snapshot with"
            " the rows the latest load changed replaced); both hold the same data.",
        ),
        SnapshotColumn(
            "deltas_since_full",
            "Delta publishes since the last full one (0 for a full publish).",
        ),
    ),
)


class UnpublishedPII(ValueError):
    """A PII column of the landing contract that no publication rule drops or keys."""


def check(
    tables: Iterable[PublishedTable] = TABLES, contract: Mapping[str, Entity] = CONTRACT
) -> None:
    """Raise :class:`UnpublishedPII` unless every PII column of the contract is dropped or
    keyed in each published table that holds its entity."""
    missing = []
    for table in tables:
        if table.entity is None:
            continue
        treated = {r.column: r.treatment for r in table.rules}
        missing += [
            f"{table.name}.{c.name}"
            for c in contract[table.entity].columns
            if c.pii and treated.get(c.name) not in (Treatment.DROP, Treatment.KEY)
        ]
    if missing:
        raise UnpublishedPII(
            "PII columns without a rule that drops or keys them (contract/publication.py): "
            + ", ".join(missing)
        )
