"""Model answers to chapter 02's exercises (checks: :mod:`darkness_visible.exercises.tiers`)."""

from __future__ import annotations

import numpy as np


def reference_conditional_rates(fires: np.ndarray, exception: np.ndarray) -> np.ndarray:
    """Exercise 2.1: each column's fire rate on the exception rows."""
    return fires[exception].mean(0)


def reference_jaccard(fires: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Exercise 2.2: Jaccard between all columns, over ``rows`` when given."""
    x = (fires if rows is None else fires[rows]).astype(float)
    inter = x.T @ x
    count = x.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (count[:, None] + count[None, :] - inter)


def reference_ppl_change(base: np.ndarray, ablated: np.ndarray, scored: np.ndarray) -> float:
    """Exercise 2.3: Δ% of perplexity over the scored positions."""
    return float(100 * (np.exp(-ablated[scored].mean()) / np.exp(-base[scored].mean()) - 1))
