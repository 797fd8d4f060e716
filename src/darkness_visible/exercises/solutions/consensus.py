"""Model answers to chapter 03's exercises (checks: :mod:`darkness_visible.exercises.consensus`)."""

from __future__ import annotations

import numpy as np


def reference_levels(acts: np.ndarray) -> np.ndarray:
    """Exercise 3.1: how many of the seven activations satisfy ``|a| > 0.1``."""
    return (np.abs(acts) > 0.1).sum(axis=1)


def reference_sequence_ci(values: np.ndarray, sequence_ids: np.ndarray, n_resamples: int,
                          seed: int) -> tuple[float, float]:
    """Exercise 3.2: 95 % percentile CI of the ratio-estimator mean, resampling whole sequences."""
    s = int(sequence_ids.max()) + 1
    sums = np.bincount(sequence_ids, weights=values, minlength=s)
    counts = np.bincount(sequence_ids, minlength=s)
    draws = np.random.default_rng(seed).integers(0, s, size=(n_resamples, s))
    offset = np.arange(n_resamples)[:, None] * s
    w = np.bincount((draws + offset).ravel(), minlength=n_resamples * s).reshape(n_resamples, s)
    means = (w @ sums) / (w @ counts)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def reference_crossover(means: np.ndarray) -> float:
    """Exercise 3.3: the first turn from > 0 to ≤ 0, interpolated; NaN levels skipped; NaN if none."""
    prev_lv, prev = None, None
    for lv, m in enumerate(means):
        if np.isnan(m):
            continue
        if prev is not None and prev > 0 and m <= 0:
            return float(prev_lv + (lv - prev_lv) * prev / (prev - m))
        prev_lv, prev = lv, m
    return float("nan")
