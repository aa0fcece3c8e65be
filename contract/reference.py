"""Reference data kept in the repository (``ref/*.csv``, each with its provenance):
poverty lines, provinces, counties, targets, the 2014 registry and the national series.
The warehouse loads it into the ``ref`` schema; the transform and the generator read it."""

from __future__ import annotations

from pathlib import Path

REF_DIR = Path(__file__).resolve().parent / "ref"
