"""The suites, one per entity, as versioned Python data (see docs/validation.md).

``SUITES[entity]`` is the suite the runner uses. ``fingerprint(suite)`` hashes what the
suite checks; ``versions.json`` records the fingerprint of every released version, and a
test fails when a suite's rules change without a new ``VERSION`` (or when a released
version's fingerprint is rewritten).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from expectations.rules import Suite
from expectations.suites import assistance, households, members, targets, villages

SUITES: dict[str, Suite] = {
    s.entity: s
    for s in (
        villages.SUITE,
        households.SUITE,
        members.SUITE,
        assistance.SUITE,
        targets.SUITE,
    )
}

VERSIONS_FILE = Path(__file__).with_name("versions.json")


def fingerprint(suite: Suite) -> str:
    canonical = json.dumps(suite.describe(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def recorded_versions() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(VERSIONS_FILE.read_text())
    return data
