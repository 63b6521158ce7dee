"""SQL's three-valued logic on integer arrays: NO = 0, UNKNOWN = 1, YES = 2.

With that order Kleene's AND is the minimum, OR the maximum and NOT is ``2 - x``, the same truth
tables as SQL's AND, OR and NOT over TRUE / NULL / FALSE. A comparison with an unknown operand is
UNKNOWN (``compare``); ``coalesce`` is SQL's ``COALESCE(x, default)``.
"""

from __future__ import annotations

import numpy as np

NO, UNKNOWN, YES = 0, 1, 2


def t_and(*xs: np.ndarray) -> np.ndarray:
    out = xs[0]
    for x in xs[1:]:
        out = np.minimum(out, x)
    return out


def t_or(*xs: np.ndarray) -> np.ndarray:
    out = xs[0]
    for x in xs[1:]:
        out = np.maximum(out, x)
    return out


def t_not(x: np.ndarray) -> np.ndarray:
    return 2 - x


def compare(result: np.ndarray, known: np.ndarray | bool = True) -> np.ndarray:
    """A boolean comparison, UNKNOWN where an operand is unknown."""
    return np.where(known, np.where(result, YES, NO), UNKNOWN).astype(np.int32)


def coalesce(x: np.ndarray, default: bool) -> np.ndarray:
    """Tri-state to bool, the unknowns taking ``default``."""
    return (x == YES) | ((x == UNKNOWN) & default)


def yes(x: np.ndarray) -> np.ndarray:
    return x == YES
