"""Checks for the exercises of the consensus-and-crossover chapter.

A learner writes a function and passes it to the matching ``check_*``; the check runs it on small
synthetic inputs, compares it with the package's implementation and raises ``AssertionError`` with a
hint when it differs, or returns ``True``. The model answers are in
:mod:`darkness_visible.exercises.solutions.consensus`, not here (pytest runs the checks on them).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from darkness_visible.analysis import consensus as _consensus
from darkness_visible.stats.bootstrap import BootstrapConfig, sequence_bootstrap
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS

# ---------------------------------------------------------------- exercise 1: consensus level


def _expected_levels(acts: np.ndarray) -> np.ndarray:
    """Consensus level from post-GELU activations ``[N, 7]``: how many satisfy ``|a| > 0.1`` (``int [N]``)."""
    return np.asarray(FIRE_ABS(np.asarray(acts))).sum(axis=1)


def _level_inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    acts = rng.uniform(-0.17, 2.0, size=(500, 7))
    acts[:5] = [[-0.15, 0.05, 0.1, 0.1000001, -0.1, -0.1000001, 1.5]] * 5
    return acts


def check_consensus_levels(fn: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Check a learner's ``fn(acts [N, 7]) -> levels [N]`` against CONS-ABS (``|GELU| > 0.1``)."""
    acts = _level_inputs()
    got = np.asarray(fn(acts.copy()))
    want = _expected_levels(acts)
    assert got.shape == want.shape, f"expected one level per token, shape {want.shape}; got {got.shape}"
    if np.array_equal(got, np.asarray(FIRE_POS(acts)).sum(axis=1)) and not np.array_equal(got, want):
        raise AssertionError("you used the signed rule GELU > 0.1 (FIRE-POS); the consensus level uses |GELU| > 0.1: "
                             "a = -0.15 counts as firing")
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{bad.size} of {len(want)} levels differ, e.g. activations {acts[bad[0]].round(4)} "
                           f"should give {want[bad[0]]}, you gave {got[bad[0]]} (the threshold is strict: > 0.1)")
    return True


# ---------------------------------------------------------------- exercise 2: crossover point


def _expected_crossover(means: np.ndarray) -> float:
    """First level where the mean turns from > 0 to ≤ 0, linearly interpolated; NaN levels skipped; NaN if none."""
    return float(_consensus.crossover_point(np.asarray(means, dtype=np.float64)))


def check_crossover(fn: Callable[[np.ndarray], float]) -> bool:
    """Check a learner's ``fn(means [8]) -> crossover level`` on the paper's table and two edge cases."""
    table = np.array([v[1] for v in _consensus.PAPER_TABLE.values()])
    gap = table.copy()
    gap[4] = np.nan
    twice = np.array([0.1, 0.05, -0.01, 0.02, -0.03, -0.04, -0.05, -0.06])
    cases = {"the paper's Table 2 means": table, "a table with level 4 empty (NaN)": gap,
             "a curve that crosses twice (take the first)": twice}
    for name, means in cases.items():
        want, got = _expected_crossover(means), float(fn(means.copy()))
        assert np.isclose(got, want, atol=1e-9), f"on {name} expected {want:.4f}, got {got:.4f}"
    got = float(fn(np.abs(table)))
    assert np.isnan(got), f"a curve that never turns negative has no crossover: return NaN, not {got}"
    return True


# ---------------------------------------------------------------- exercise 3: sequence-level bootstrap


def _expected_sequence_ci(values: np.ndarray, sequence_ids: np.ndarray, n_resamples: int,
                          seed: int) -> tuple[float, float]:
    """95 % percentile CI of the ratio-estimator mean, resampling whole sequences with ``rng.integers``."""
    cfg = BootstrapConfig(kind="sequence", n_resamples=n_resamples, seed=seed, chunk=n_resamples)
    row = sequence_bootstrap(values, None, sequence_ids, cfg).table.iloc[0]
    return float(row["lo"]), float(row["hi"])


def check_sequence_bootstrap(fn: Callable[[np.ndarray, np.ndarray, int, int], tuple[float, float]]) -> bool:
    """Check a learner's ``fn(values [N], sequence_ids [N], n_resamples, seed) -> (lo, hi)``.

    The learner's function must draw ``rng.integers(0, S, size=(n_resamples, S))`` from
    ``numpy.random.default_rng(seed)`` (S = number of sequences, ids ``0..S-1``) so the answer is exact.
    """
    rng = np.random.default_rng(1)
    lengths = rng.integers(5, 40, size=25)
    seq = np.repeat(np.arange(25), lengths)
    level = np.repeat(rng.normal(0, 1, size=25), lengths)  # a per-sequence offset: strong within-sequence correlation
    values = level + rng.normal(0, 0.3, size=seq.size)
    want = _expected_sequence_ci(values, seq, 2000, 5)
    got = tuple(float(v) for v in fn(values.copy(), seq.copy(), 2000, 5))
    token_width = 2 * 1.96 * values.std() / np.sqrt(values.size)
    assert len(got) == 2 and got[0] < got[1], f"return (lo, hi) with lo < hi; got {got}"
    if got[1] - got[0] < 1.5 * token_width:
        raise AssertionError(f"your interval {got} is about as narrow as a token-level one "
                             f"(width ≈ {token_width:.3f}): resample whole sequences, then divide the summed "
                             "values by the summed counts")
    assert np.allclose(got, want, rtol=1e-8), (f"expected {want}, got {got}; weight each sequence by how often it "
                                               "was drawn and take Σ w·sum / Σ w·count per resample, then the "
                                               "2.5 and 97.5 percentiles")
    return True
