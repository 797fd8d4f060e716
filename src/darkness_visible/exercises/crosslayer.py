"""Check functions for the exercises of the crystallization chapter.

A learner writes a function (or computes a number) and calls the matching ``check_*`` on it; each check
compares the answer with this package's implementation on fresh random inputs and returns a short message,
raising ``AssertionError`` with a hint when the answer is wrong. The tests run the same checks on the model
answers in :mod:`darkness_visible.exercises.solutions.crosslayer`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from darkness_visible.analysis import crosslayer as _crosslayer
from darkness_visible.lens import lenses as _lenses
from darkness_visible.tracing.firing import gelu_new


def _random_masks(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    exc = rng.random(1000) < 0.15
    fires = rng.random((1000, 8)) < rng.uniform(0.05, 0.95, 8)
    fires[:, 0] |= exc  # one neuron that always fires with the exception neuron
    return exc, fires


def check_within_jaccard(func: Callable[[np.ndarray, np.ndarray], np.ndarray], seed: int = 0) -> str:
    """Exercise 1: ``func(exc [N] bool, fires [N, k] bool) -> [k]``, the Jaccard of the exception neuron with
    each column computed *within the exception tokens only*."""
    exc, fires = _random_masks(seed)
    got = np.asarray(func(exc, fires), dtype=float)
    _, expected = _crosslayer.exception_jaccards(exc, fires)
    assert got.shape == expected.shape, f"expected shape {expected.shape}, got {got.shape}"
    if not np.allclose(got, expected):
        over_all, _ = _crosslayer.exception_jaccards(exc, fires)
        hint = (" You computed the Jaccard over all tokens; restrict both masks to the rows where exc is True."
                if np.allclose(got, over_all) else "")
        raise AssertionError("not the within-exception Jaccard." + hint)
    return ("Correct: within the exception tokens the Jaccard is the conditional fire rate P(n | exc), so a "
            "neuron that always co-fires scores 1.0 even when it fires everywhere else too.")


def check_first_lockin(func: Callable[[np.ndarray], np.ndarray], seed: int = 0) -> str:
    """Exercise 2: ``func(hits [N, S] bool) -> [N] int``, the first state with a hit, -1 for never."""
    rng = np.random.default_rng(seed)
    hits = rng.random((500, 13)) < np.linspace(0.01, 0.4, 13)
    got = np.asarray(func(hits))
    expected = _lenses.first_lockin(hits)
    assert got.shape == expected.shape, f"expected shape {expected.shape}, got {got.shape}"
    if not np.array_equal(got, expected):
        if np.array_equal(got[expected >= 0], expected[expected >= 0]):
            raise AssertionError("right for tokens that lock in, wrong for tokens with no hit: return -1 there.")
        raise AssertionError("not the first hit: np.argmax over a boolean row returns the first True.")
    return "Correct: a token can lose its hit later; lock-in only records the first layer that gets it right."


def _lost_share(hits: np.ndarray) -> float:
    """The share of tokens hit at some state but not at the last one (``hits``: ``bool [N, S]``)."""
    hits = np.asarray(hits, dtype=bool)
    return float((hits.any(axis=1) & ~hits[:, -1]).mean())


def check_lost(lost: float, hits: np.ndarray) -> str:
    """Exercise 2, second part: ``lost``, the share of tokens predicted at some state but not at the last."""
    hits = np.asarray(hits, dtype=bool)
    expected = _lost_share(hits)
    got = float(lost)
    if not np.isclose(got, expected, atol=1e-9):
        n = len(hits)
        hint = (" That is a count; store the share (divide by the number of tokens)." if np.isclose(got, expected * n)
                else " That is the share never predicted at any state." if np.isclose(got, (~hits.any(axis=1)).mean())
                else " That is the share not predicted at the last state (hit earlier or not)."
                if np.isclose(got, (~hits[:, -1]).mean())
                else " Count tokens with a hit at some state (hits.any(axis=1)) and none at the last (~hits[:, -1]).")
        raise AssertionError(f"expected lost = {expected:.4f}, got {got:.4f}.{hint}")
    return f"Correct: {expected:.1%} of the tokens are predicted at some state and lost again by the last one."


def _band(threshold: float) -> tuple[float, float]:
    """The negative pre-activation band where ``|gelu_new(x)| > threshold`` (``threshold`` < 0.17), by brentq."""
    from scipy.optimize import brentq, minimize_scalar

    x_min = minimize_scalar(lambda x: float(gelu_new(np.float64(x))), bounds=(-2, 0), method="bounded").x
    f = lambda x: float(gelu_new(np.float64(x))) + threshold  # noqa: E731
    return float(brentq(f, -10.0, x_min, xtol=1e-12)), float(brentq(f, x_min, 0.0, xtol=1e-12))


def check_negative_band(lo: float, hi: float, threshold: float = 0.1) -> str:
    """Exercise 3: the interval ``lo < x < hi`` of negative pre-activations that FIRE-ABS(θ) counts as firing."""
    exp_lo, exp_hi = _band(threshold)
    if not (abs(lo - exp_lo) < 1e-3 and abs(hi - exp_hi) < 1e-3):
        raise AssertionError(f"not the band: solve |gelu_new(x)| = {threshold} on both sides of GELU's minimum "
                             "at x = -0.7525 (scipy.optimize.brentq).")
    return (f"Correct: {exp_lo:.5f} < x < {exp_hi:.5f}. Under |GELU| > {threshold} a neuron 'fires' on this band "
            "of negative inputs too, which is why N2123 is on for most tokens under FIRE-ABS.")
