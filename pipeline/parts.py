"""The parts of a delivery that ingest and validation work on: one entity whole, or, where
an entity's delivery is large (``POVDB_SPLIT_MB``), one province of it.

A part is named ``<entity>`` or ``<entity>.<province>`` (``members.52``); the province is
the first two digits of a file's county code, ``00`` for ``national`` files. Discover
plans the parts (``discover.json``, ``parts``); the DAG maps its ingest and validate tasks
over them, so that any worker can take any part.

Province parts share the entity's staging folders of the date (readers stay as they are)
and each writes and deletes only files it owns, recognisable by name:

- the per-file reader's outputs, ``<file name>.<k>.parquet`` and
  ``<file name>.typing.<k>.parquet`` (the file name carries the county code);
- the batched scan's, ``_batch<PP>_<k>.<part>.parquet`` (``_batch<k>...`` when whole);
- validation's, ``validation.<PP>.parquet`` (``validation.parquet`` when whole).

A part also deletes files no part of the current plan owns (written by an earlier attempt
planned differently), which no other part writes: parts of one date never delete each
other's files, whichever worker runs them and in whatever order.

Every result of a part is per part (``ingest_<entity>.<PP>.json``,
``validate_<entity>.<PP>.json``); :func:`gather` merges them into the entity's own
``ingest_<entity>.json`` and ``validate_<entity>.json`` before the transform, exactly as a
whole entity would have written them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from contract.landing import ENTITIES
from expectations.runner import SAMPLE_KEYS

SEP = "."
NATIONAL = "00"  # the province of a file delivered by the nation (source ``national``)


def name(entity: str, province: str | None = None) -> str:
    return entity if province is None else f"{entity}{SEP}{province}"


def split(part: str) -> tuple[str, str | None]:
    """(entity, province or None) of a part's name; ValueError for anything else."""
    entity, _, province = part.partition(SEP)
    if entity not in ENTITIES or (province and not re.fullmatch(r"\d{2}", province)):
        raise ValueError(
            f"not a part of a delivery: {part!r} (an entity, {', '.join(ENTITIES)},"
            " or an entity and a 2-digit province, such as 'members.52')"
        )
    return entity, province or None


def province_of(source: str) -> str:
    """The province of a file's source: a county code's first two digits, or ``00``."""
    return NATIONAL if source == "national" else source[:2]


def plan(files: Iterable[Mapping[str, Any]], split_bytes: int | None) -> list[str]:
    """The parts of a delivery, from discover's ledger: every entity once, or once per
    province when its pending files weigh more than ``split_bytes`` (None: never) and
    come from more than one province. An entity with no pending file is still a part: its
    (empty) results are what the load reads.

    Heaviest first (by the bytes of their pending files; equal ones in the order of
    ``ENTITIES``, then by province): the DAG maps its ingest and validation over the parts
    in this order, so the longest tasks start first and the last to finish is a short
    one."""
    weighed: list[tuple[int, str]] = []
    for entity in ENTITIES:
        by_province: dict[str, int] = {}
        for f in files:
            if f["entity"] == entity and f["outcome"] == "pending":
                p = province_of(f["source"])
                by_province[p] = by_province.get(p, 0) + (f["size_bytes"] or 0)
        size = sum(by_province.values())
        if split_bytes is None or len(by_province) < 2 or size <= split_bytes:
            weighed.append((size, entity))
        else:
            weighed += [(by_province[p], name(entity, p)) for p in sorted(by_province)]
    # A stable sort: ties keep the order they were planned in.
    return [part for _, part in sorted(weighed, key=lambda sp: -sp[0])]


def provinces(parts: Sequence[str], entity: str) -> list[str]:
    """The provinces ``entity`` is split into in ``parts`` ([] when it is whole), sorted."""
    return sorted(p for e, p in map(split, parts) if e == entity and p is not None)


def owner(file_name: str, entity: str) -> str | None:
    """The province whose part wrote a staging file of ``entity``; None for a file a whole
    entity writes."""
    m = re.match(rf"{re.escape(entity)}_(?:(\d{{2}})\d{{4}}|(national))", file_name)
    if m:
        return m[1] or NATIONAL
    m = re.match(r"_batch(\d{2})_|validation\.(\d{2})\.parquet$", file_name)
    if m:
        return m[1] or m[2]
    return None


def clear(folders: Iterable[Path], entity: str, province: str, planned: Sequence[str]) -> None:
    """Before a province part writes: delete its own files in ``folders``, and the files no
    part of the plan (``planned``: the entity's provinces) owns."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            who = owner(path.name, entity)
            if who == province or who not in planned:
                path.unlink(missing_ok=True)


# --- merging the parts' results ---------------------------------------------------------


def merge_ingested(results: Iterable[list[dict]]) -> list[dict]:
    """The entity's ingest results from its parts', in the ledger's order (by file name)."""
    return sorted((r for part in results for r in part), key=lambda r: r["file_name"])


def merge_validated(entity: str, summaries: Sequence[tuple[str, dict]]) -> dict:
    """The entity's validation summary from its parts' ``(first file name, summary)``: the
    counts add up, and each expectation's sample keys are the first ones in file order, as
    a whole entity's would be (every part's keys are its first ones in its files' order,
    and a part's files are contiguous in name order)."""
    ordered = [s for _, s in sorted(summaries, key=lambda fs: fs[0])]
    results: dict[str, dict] = {}
    for summary in ordered:
        for r in summary["results"]:
            merged = results.setdefault(
                r["expectation"], {**r, "evaluated": 0, "failed": 0, "sample_keys": []}
            )
            merged["evaluated"] += r["evaluated"]
            merged["failed"] += r["failed"]
            keys = merged["sample_keys"]
            for key in r["sample_keys"]:
                if key not in keys and len(keys) < SAMPLE_KEYS:
                    keys.append(key)
    return {
        "entity": entity,
        "rows_in_error": sum(s["rows_in_error"] for s in ordered),
        "rows_warned": sum(s["rows_warned"] for s in ordered),
        "held_files": sorted(
            (h for s in ordered for h in s["held_files"]), key=lambda h: h["file_name"]
        ),
        "results": list(results.values()),
    }
