"""Checks for the exercises of the knowledge-neurons chapter (``notebooks/04_knowledge_neurons.ipynb``).

Each ``check_*`` takes the learner's answer, compares it with this package's reference computation
and returns a short message; it raises ``AssertionError`` saying what is off when the answer is wrong.
The model answers are in :mod:`darkness_visible.exercises.solutions.knowledge`, not here; pytest feeds them to
the checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch

from darkness_visible.analysis import knowledge as _kn
from darkness_visible.analysis.knowledge import PAPER_STEPS, Attribution
from darkness_visible.data.neurons import ROUTING
from darkness_visible.models.loading import Subject

# --- Exercise 1: exact vs rounded chance -------------------------------------------------------------


def check_enrichment(answer: float, mean_overlap: float = 7.3, k: int = 20, set_size: int = len(ROUTING),
                     d_mlp: int = 3072) -> str:
    """The enrichment of ``mean_overlap`` over the *exact* uniform chance ``k·set_size/d_mlp``."""
    expected = mean_overlap / (k * set_size / d_mlp)
    if abs(answer - expected) > 0.05:
        hint = " (that is the rounded-chance ratio)" if abs(answer - mean_overlap / 0.2) < 0.05 else ""
        raise AssertionError(f"expected {expected:.2f}x, got {answer:.2f}x{hint}: chance is k·|set|/d_mlp exactly")
    return f"correct: {answer:.1f}x over the exact chance {k * set_size / d_mlp:.4f}"


# --- Exercise 2: IG through ln_f, without a second forward ------------------------------------------------


def check_analytic_ig(subject: Subject, prompt: str, target: str, answer: np.ndarray | torch.Tensor,
                      steps: int = PAPER_STEPS) -> str:
    """Your ``[d_mlp]`` logit attributions vs the batched nnsight IG (same steps, left Riemann sum)."""
    ref = _kn.integrated_gradients(subject, prompt, target, _kn.IGConfig(steps=steps, scores=("logit",)))["logit"]
    got = np.asarray(answer.detach() if isinstance(answer, torch.Tensor) else answer, dtype=np.float64)
    if got.shape != ref.attribution.shape:
        raise AssertionError(f"expected shape {ref.attribution.shape}, got {got.shape}")
    scale = float(np.abs(ref.attribution).max()) or 1.0
    err = float(np.abs(got - ref.attribution).max()) / scale
    if err > 1e-3:
        raise AssertionError(f"max deviation {err:.2e} (relative to the largest attribution): check α = k/steps for "
                             "k = 0..steps-1, the b_out term and that you multiply by a*")
    same_top = set(np.argsort(-np.abs(got))[:20]) == set(ref.top(20))
    return f"correct: max relative deviation {err:.1e}; same top-20: {same_top}"


# --- Exercise 3: which median? ----------------------------------------------------------------------------


def check_upper_median(fn: Callable[[Sequence[float]], float]) -> str:
    """Your ``fn(values)`` must return ``sorted(values)[len(values)//2]`` on odd and even inputs."""
    cases = [[5, 1, 3], [4, 1, 3, 2], [1905, 1812, 10, 7, 14960, 2], [7.0]]
    for case in cases:
        expected = _kn.upper_median(case)
        got = fn(case)
        if got != expected:
            raise AssertionError(f"for {case}: expected {expected}, got {got} (np.median gives {np.median(case)})")
    return "correct: the paper's medians are upper medians (1,905), np.median gives 1,858.5 on its data"


# --- Exercise 4.3: how sensitive is the matched baseline? ------------------------------------------------

#: Neighbourhood sizes of the sensitivity exercise, and the key of the activation-only matching.
SENSITIVITY_NEIGHBOURS = (10, 50, 200)
ACTIVATION_ONLY = "activation only"


def _expected_sensitivity(attrs: Sequence[Attribution]) -> dict[int | str, float]:
    """The matched enrichment ratio for each neighbourhood size, and matched on the
    activation alone (attributions whose mean gradient is constant)."""
    ratios: dict[int | str, float] = {n: _kn.matched_baseline(attrs, n_neighbours=n).ratio
                                      for n in SENSITIVITY_NEIGHBOURS}
    flat = [dataclasses.replace(a, mean_grad=np.ones_like(a.mean_grad)) for a in attrs]
    ratios[ACTIVATION_ONLY] = _kn.matched_baseline(flat).ratio
    return ratios


def check_matched_sensitivity(answer: dict[int | str, float], attrs: Sequence[Attribution]) -> str:
    """Your ``{10: r, 50: r, 200: r, "activation only": r}`` against the reference on the same attributions."""
    expected = _expected_sensitivity(attrs)
    if set(answer) != set(expected):
        raise AssertionError(f"expected the keys {sorted(map(str, expected))}, got {sorted(map(str, answer))}")
    for key, value in expected.items():
        if not np.isclose(answer[key], value, equal_nan=True):
            hint = " (set mean_grad to ones to match on the activation alone)" if key == ACTIVATION_ONLY else ""
            raise AssertionError(f"{key}: expected {value:.3f}, got {answer[key]:.3f}{hint}")
    return "correct: " + ", ".join(f"{k}: {v:.2f}x" for k, v in expected.items())
