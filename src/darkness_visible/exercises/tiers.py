"""Check functions for the exception-handler chapter's exercises.

A learner calls each ``check_*`` on their own function; it raises ``AssertionError`` with a hint when the
answer is wrong and returns ``True`` when it is right. The test suite runs the same checks on the
reference implementation (:mod:`darkness_visible.analysis.tiers`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from darkness_visible.analysis import tiers


def _synthetic_firing(seed: int, n: int = 400, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """An indicator (column 0) and ``k - 1`` neurons that fire more often when it does: ``bool [n, k]``, ``[n]``."""
    rng = np.random.default_rng(seed)
    exception = rng.random(n) < 0.15
    p_in = np.linspace(1.0, 0.2, k)
    p_out = rng.uniform(0.05, 0.6, k)
    p_out[0] = 0.0
    fires = np.where(exception[:, None], rng.random((n, k)) < p_in, rng.random((n, k)) < p_out)
    return fires, exception


def check_conditional_rates(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> bool:
    """Exercise 1: ``fn(fires [N, k], exception [N]) -> [k]``, each neuron's fire rate on exception tokens."""
    for seed in range(4):
        fires, exception = _synthetic_firing(seed)
        want = tiers.conditional_rates(fires, exception)
        got = np.asarray(fn(fires, exception), dtype=float)
        if got.shape != want.shape or not np.allclose(got, want):
            raise AssertionError(
                f"expected {np.round(want, 3)}, got {np.round(got, 3)}. Hint: keep only the rows where the "
                "indicator fires, then average each column; the indicator's own rate must be exactly 1."
            )
    return True


def check_jaccard(fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray]) -> bool:
    """Exercise 2: ``fn(fires [N, k], rows [N] or None) -> [k, k]`` Jaccard, within ``rows`` when given."""
    for seed in range(3):
        fires, exception = _synthetic_firing(seed)
        for rows in (None, exception):
            want = tiers.jaccard(fires, rows)
            got = np.asarray(fn(fires, rows), dtype=float)
            if got.shape != want.shape or not np.allclose(got, want, equal_nan=True):
                where = "over all tokens" if rows is None else "within exception tokens"
                raise AssertionError(
                    f"Jaccard {where} differs from the reference (max |diff| "
                    f"{np.nanmax(np.abs(got - want)) if got.shape == want.shape else 'shape'}). Hint: "
                    "J(i, j) = #(i and j) / #(i or j), counted only over the selected rows."
                )
        # the identity behind the paper's "fusion": within exception tokens, J(indicator, n) = P(n | exception)
        J = np.asarray(fn(fires, exception), dtype=float)
        if not np.allclose(J[0, 1:], tiers.conditional_rates(fires, exception)[1:]):
            raise AssertionError("within exception tokens J(indicator, n) must equal n's conditional fire rate")
    return True


def check_ppl_change(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float]) -> bool:
    """Exercise 3: ``fn(logprob_base [N], logprob_ablated [N], scored [N] bool) -> Δ%`` of perplexity.

    Perplexity is ``exp(mean NLL)`` over the scored positions (a ratio of sums, not a mean of ratios).
    """
    rng = np.random.default_rng(11)
    for _ in range(4):
        n = 300
        base = -rng.exponential(3.0, n)
        ablated = base - rng.normal(0.02, 0.3, n)
        scored = rng.random(n) < 0.9
        want = 100 * (np.exp(-ablated[scored].mean()) / np.exp(-base[scored].mean()) - 1)
        got = float(fn(base, ablated, scored))
        if not np.isclose(got, want, rtol=1e-6, atol=1e-9):
            raise AssertionError(
                f"expected Δ = {want:.4f} %, got {got:.4f} %. Hint: PPL = exp(−mean log-prob) over the scored "
                "positions only; Δ% = 100 · (PPL_ablated / PPL_base − 1)."
            )
    return True
