"""Column-oriented state of one county: plain numpy arrays, appended to as records arrive."""

from __future__ import annotations

import numpy as np

# Integer codes of the contract's enumerations (index into contract.landing tuples).
POOR, LIFTED, RETURNED, REMOVED = 0, 1, 2, 3
ACTIVE, LEFT, DECEASED = 0, 1, 2
HEAD, SPOUSE, CHILD, CHILD_IN_LAW, GRANDCHILD, PARENT, GRANDPARENT, SIBLING, OTHER = range(9)
HEALTHY, CHRONIC, SERIOUS, DISABLED = range(4)
ORDINARY, SKILLED, LOST, NO_LABOUR = range(4)
ILLITERATE, PRIMARY, JUNIOR, SENIOR, TERTIARY = range(5)
GENERAL, DIBAO_POOR, DIBAO, WUBAO = range(4)
ILLNESS, DISABILITY = 0, 1  # indices in contract.CAUSES

DAY_SECONDS = 86_400


class Table:
    """A dict of equally long numpy columns."""

    def __init__(self, cols: dict[str, np.ndarray]):
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"ragged columns: { {k: len(v) for k, v in cols.items()} }")
        self.c = cols

    def __len__(self) -> int:
        return len(next(iter(self.c.values()))) if self.c else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.c[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self.c[name] = value

    def append(self, other: dict[str, np.ndarray]) -> np.ndarray:
        """Append rows; returns their indices."""
        start = len(self)
        if set(other) != set(self.c):
            raise ValueError(f"columns differ: {sorted(set(other) ^ set(self.c))}")
        for k, v in other.items():
            self.c[k] = np.concatenate([self.c[k], np.asarray(v, dtype=self.c[k].dtype)])
        return np.arange(start, len(self))
