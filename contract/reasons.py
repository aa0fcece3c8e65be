"""The one catalogue of reason codes.

Every row or file that is not simply applied carries one of these codes: in
``audit.quarantine``, in the run summary, in the docs (``docs/reason_codes.md`` is
generated from this table and a test keeps it in sync) and in the generator's defect
answer key. Codes are stable: rename one only with a migration of the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass

# Outcomes of a delivered row (LANDING_CONTRACT.md, "Meaning of a delivery").
APPLIED = "applied"
WARNED = "warned"
STALE = "stale"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
PARKED = "parked"
HELD = "held"
OUTCOMES = (APPLIED, WARNED, STALE, DUPLICATE, CONFLICT, PARKED, HELD)


@dataclass(frozen=True)
class Reason:
    code: str
    outcome: str  # the outcome a row (or file) with this reason gets
    scope: str  # "file" or "row"
    description: str


_REASONS: tuple[Reason, ...] = (
    # --- whole files -------------------------------------------------------------------
    Reason(
        "file_name_invalid",
        HELD,
        "file",
        "File name does not match <entity>_<source>[...].<csv|xlsx|parquet>.",
    ),
    Reason(
        "path_outside_landing",
        HELD,
        "file",
        "Path leaves the delivery folder (`..`, absolute path or a symlink pointing outside).",
    ),
    Reason("file_empty", HELD, "file", "Zero-byte file."),
    Reason(
        "file_unreadable",
        HELD,
        "file",
        "The file cannot be parsed as its extension says (binary garbage, corrupt xlsx or parquet, undecodable text).",
    ),
    Reason(
        "file_truncated",
        HELD,
        "file",
        "The file ends inside a record (truncated last line or unterminated quote).",
    ),
    Reason(
        "manifest_invalid",
        HELD,
        "file",
        "_manifest.json is not valid JSON of the contract's shape; files it should vouch for are held.",
    ),
    Reason(
        "manifest_checksum_mismatch",
        HELD,
        "file",
        "The file's sha256 differs from the manifest: incomplete or altered delivery.",
    ),
    Reason(
        "manifest_row_count_mismatch",
        HELD,
        "file",
        "The file's data-row count differs from the manifest: incomplete delivery.",
    ),
    Reason(
        "manifest_missing_file",
        HELD,
        "file",
        "The manifest lists a file that is not in the delivery folder.",
    ),
    Reason(
        "header_missing_column",
        HELD,
        "file",
        "A required column of the entity is missing from the header (schema drift).",
    ),
    Reason("header_duplicate_column", HELD, "file", "Two header cells name the same column."),
    Reason(
        "header_unknown_column",
        HELD,
        "file",
        "A header cell names no column of the entity (schema drift).",
    ),
    Reason(
        "file_mostly_invalid",
        HELD,
        "file",
        "More than half of the file's rows fail error-severity rules: the whole file is held.",
    ),
    # --- rows: typing ------------------------------------------------------------------
    Reason("missing_required", HELD, "row", "A required column is empty."),
    Reason(
        "invalid_number",
        HELD,
        "row",
        "A numeric column does not hold a number (or money has more than 2 decimals).",
    ),
    Reason(
        "invalid_bool", HELD, "row", "A boolean column is not one of true/false, 1/0, 是/否, Y/N."
    ),
    Reason(
        "invalid_date",
        HELD,
        "row",
        "A date is not YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an xlsx date.",
    ),
    Reason("invalid_timestamp", HELD, "row", "A timestamp is not ISO 8601."),
    Reason(
        "unknown_code_value",
        HELD,
        "row",
        "An enumerated column holds neither an English code nor a Chinese label of the contract.",
    ),
    Reason(
        "value_out_of_range",
        HELD,
        "row",
        "A number lies outside the contract's range (size 1-20, amounts >= 0, pilot year 2014-2030, ...).",
    ),
    Reason(
        "excel_numeric_id",
        HELD,
        "row",
        "An xlsx resident ID or household id is a number cell (Excel keeps only 15 digits).",
    ),
    # --- rows: identity and codes ------------------------------------------------------
    Reason(
        "id_format_invalid",
        HELD,
        "row",
        "A resident ID is not 17 digits + digit/X (or a 20-character disability number built on one).",
    ),
    Reason(
        "id_check_char_invalid",
        HELD,
        "row",
        "The ISO 7064 MOD 11-2 check character of a resident ID is wrong.",
    ),
    Reason(
        "id_birth_date_mismatch",
        HELD,
        "row",
        "birth_date differs from the date inside the resident ID (or that date is impossible).",
    ),
    Reason(
        "id_sex_mismatch",
        HELD,
        "row",
        "sex differs from the parity of the resident ID's sequence number.",
    ),
    Reason(
        "village_code_invalid",
        HELD,
        "row",
        "A village code is not 12 digits with township 001-599 and village 001-399.",
    ),
    Reason(
        "household_id_invalid",
        HELD,
        "row",
        "A household id is not 16 digits (village code + 4-digit sequence).",
    ),
    Reason(
        "household_village_mismatch",
        HELD,
        "row",
        "village_code differs from the first 12 digits of household_id.",
    ),
    Reason(
        "province_code_invalid",
        HELD,
        "row",
        "A target's province code is neither 00 nor a province of the reference table.",
    ),
    # --- rows: rules -------------------------------------------------------------------
    Reason(
        "per_capita_mismatch",
        HELD,
        "row",
        "per_capita_income_yuan differs from net_income_yuan / household_size by more than 1 yuan.",
    ),
    Reason(
        "other_causes_invalid",
        HELD,
        "row",
        "other_causes has more than two causes, an unknown one, or repeats main_cause.",
    ),
    Reason("date_in_future", HELD, "row", "A date lies after the delivery date."),
    Reason("date_order_invalid", HELD, "row", "status_changed_on is before identified_on."),
    Reason(
        "assistance_target_missing",
        HELD,
        "row",
        "An assistance event names neither a household nor a village.",
    ),
    Reason(
        "household_head_count",
        HELD,
        "row",
        "As of the row's date, the household's members (every applied row before, held rows"
        " left out) do not include exactly one active head.",
    ),
    # --- rows: key semantics -----------------------------------------------------------
    Reason(
        "conflicting_duplicate",
        CONFLICT,
        "row",
        "Same key and updated_at as another row with different content: every such row is held for review.",
    ),
    Reason(
        "person_in_two_households",
        CONFLICT,
        "row",
        "One person delivered in two households within one delivery.",
    ),
    Reason(
        "stale_update",
        STALE,
        "row",
        "updated_at is older than a version of the same key delivered earlier: kept, never applied.",
    ),
    Reason(
        "duplicate_row",
        DUPLICATE,
        "row",
        "Same key, content and updated_at as a row already delivered: counted once.",
    ),
    Reason(
        "parent_missing",
        PARKED,
        "row",
        "The household (for a member) or village (for a household) is not applied on or before"
        " this row's date (absent, held, or itself parked): parked until it is applied.",
    ),
    # --- rows: warnings (loaded, flagged) ----------------------------------------------
    Reason(
        "household_size_mismatch",
        WARNED,
        "row",
        "household_size differs from the household's active members.",
    ),
    Reason(
        "exit_in_identification_year",
        WARNED,
        "row",
        "The household is reported lifted in the year it was identified (a paper exit the exit audit lists).",
    ),
    Reason(
        "return_without_exit",
        WARNED,
        "row",
        "A household is reported returned without an earlier exit.",
    ),
    Reason(
        "income_outlier",
        WARNED,
        "row",
        "Per-capita income is an outlier in its county (modified z-score above 3.5).",
    ),
    Reason(
        "id_other_county",
        WARNED,
        "row",
        "The resident ID's address code is from another county (people keep their ID when they move).",
    ),
    Reason(
        "volume_jump",
        WARNED,
        "file",
        "The county's delivery volume jumps or collapses against its own history.",
    ),
    Reason(
        "late_file",
        WARNED,
        "file",
        "A file appeared in a delivery folder after that date was processed; re-run the date to load it.",
    ),
)

CATALOGUE: dict[str, Reason] = {r.code: r for r in _REASONS}


def reason(code: str) -> Reason:
    """Look a code up, failing loudly on a code that is not in the catalogue."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}: add it to contract/reasons.py") from None


def render_markdown() -> str:
    """docs/reason_codes.md, generated from this catalogue (``make docs`` rewrites it)."""
    lines = [
        "# Reason codes",
        "",
        "Every delivered row or file that is not simply applied carries one of these codes, in",
        "`audit.quarantine` (rows), `audit.files` (files), the run summary and the generator's",
        "defect answer key. Generated from `contract/reasons.py`; do not edit by hand.",
        "",
        "| code | scope | outcome | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.code}` | {r.scope} | {r.outcome} | {r.description} |" for r in _REASONS]
    lines += [
        "",
        "Outcomes: `held` never enters the warehouse; `conflict` rows are held for review;",
        "`stale` and `duplicate` rows are kept and counted, never applied; `parked` rows wait",
        "for their parent and are applied from the day it arrives (`applied_on`); `warned`",
        "rows are applied and flagged. Per file, received = applied + stale + duplicate +",
        "parked + held (conflicts count as held, warned rows as applied).",
        "",
    ]
    return "\n".join(lines)
