"""Model answers to chapter 06's exercises (checks: :mod:`darkness_visible.exercises.crosslayer`)."""

from __future__ import annotations

import numpy as np


def reference_within_jaccard(exc: np.ndarray, fires: np.ndarray) -> np.ndarray:
    """Exercise 6.1: within the exception rows the Jaccard with ``exc`` is the column's fire rate."""
    return fires[exc].mean(axis=0)


def reference_first_lockin(hits: np.ndarray) -> np.ndarray:
    """Exercise 6.2: the first state with a hit, -1 for never."""
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1)


def reference_lost(hits: np.ndarray) -> float:
    """Exercise 6.2, second part: the share of tokens hit at some state but not at the last."""
    return float((hits.any(axis=1) & ~hits[:, -1]).mean())


def reference_band(threshold: float = 0.1) -> tuple[float, float]:
    """Exercise 6.3: the negative pre-activations where ``|gelu_new(x)| > threshold``, by brentq."""
    from scipy.optimize import brentq

    from darkness_visible.tracing.firing import gelu_new

    g = lambda x: float(gelu_new(np.float64(x))) + threshold  # noqa: E731
    return float(brentq(g, -10, -0.7525, xtol=1e-12)), float(brentq(g, -0.7525, 0, xtol=1e-12))
