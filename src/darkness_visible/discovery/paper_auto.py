"""The paper's own automatic procedure of the cross-layer survey (paper-claims E10, steps 2-6).

:func:`cross_layer_auto` takes only a boolean firing mask ``B [N tokens, F neurons]`` (no neuron list):
top-7 fire-rate "consensus" candidates, the exception neuron as the most negatively correlated neuron with
their count, Jaccard and enrichment against the 200 most active neurons, and the exception rate by
consensus level. On GPT-2's layer 11 it picks N3066, not N2123. This is the paper's procedure, reproduced
to compare with its table; the book's discovery of a handler is :func:`darkness_visible.discovery.discover.discover`,
the one procedure every chapter uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from darkness_visible.stats.cofiring import rate_enrichment


def _as_float(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# The paper's automatic cross-layer procedure (E10 steps 2-6)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoLayer:
    """Result of :func:`cross_layer_auto` for one layer (unrounded; :meth:`rounded` mimics the JSON)."""

    exception_neuron: int
    exception_fire_rate: float
    exception_corr: float
    max_jaccard: float
    high_jaccard_count: int
    max_enrichment: float
    consensus_neurons: tuple[int, ...]
    consensus_mean_rate: float
    anticorr_spread: float
    rate_by_level: tuple[float, ...] = field(default=(), compare=False)

    def rounded(self) -> dict[str, object]:
        """The fields rounded as in ``all_layers_structure.json`` (rates, corr, Jaccard: 4; enrichment: 3)."""
        return {
            "exception_neuron": self.exception_neuron,
            "exception_fire_rate": round(self.exception_fire_rate, 4),
            "exception_corr": round(self.exception_corr, 4),
            "max_jaccard": round(self.max_jaccard, 4),
            "high_jaccard_count": self.high_jaccard_count,
            "max_enrichment": round(self.max_enrichment, 3),
            "consensus_mean_rate": round(self.consensus_mean_rate, 4),
            "anticorr_spread": round(self.anticorr_spread, 4),
            "consensus_neurons": list(self.consensus_neurons),
        }


def point_biserial(mask: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of a boolean ``[N, F]`` mask with a score ``[N]``; ``[F]``.

    Constant columns give NaN (as ``np.corrcoef`` would). Vectorised; tested against ``scipy.stats.pearsonr``.
    """
    B = np.asarray(mask, dtype=bool)
    y = np.asarray(score, dtype=np.float64)
    n = len(y)
    mx = B.sum(0) / n
    my = y.mean()
    cov = np.zeros(B.shape[1])
    for lo in range(0, n, 8192):  # row chunks keep a [N, F] float copy out of memory
        cov += (y[lo:lo + 8192] - my) @ B[lo:lo + 8192].astype(np.float64)
    cov /= n
    sx = np.sqrt(mx * (1 - mx))  # a 0/1 column's population standard deviation
    sy = y.std()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((sx > 0) & (sy > 0), cov / (sx * sy), np.nan)


def cross_layer_auto(mask: np.ndarray, *, n_consensus: int = 7, rate_window: tuple[float, float] = (0.02, 0.98),
                     n_candidates: int = 200, high_jaccard: float = 0.5, min_exception_tokens: int = 10,
                     enrichment_base: tuple[float, float] = (0.01, 0.99)) -> AutoLayer:
    """The paper's automatic exception-neuron finder on one layer's firing mask ``bool [N, F]`` (E10 steps 2-6).

    Steps: (2) consensus candidates = the ``n_consensus`` highest fire rates, ascending, and their row count;
    (3) exception neuron = among neurons with ``lo < rate < hi``, the most negative Pearson correlation with
    that count (only negative ones qualify; none -> neuron 0; ties -> lowest index); (4) Jaccard over all
    tokens with the ``n_candidates`` most active neurons other than the exception neuron [UNSPEC: the top
    ``n_candidates`` are taken first, then the exception neuron removed if among them]; (5) max enrichment
    ``P(n | exc) / P(n)`` over those candidates with base rate in ``enrichment_base`` (start 1.0; only if the
    exception neuron fires on more than ``min_exception_tokens`` tokens); (6) exception rate by level, spread
    = rate(level 0) - rate(level ``n_consensus``), a missing level counting as 0.
    """
    B = np.asarray(mask, dtype=bool)
    rates = B.mean(0)
    order = np.argsort(rates, kind="stable")
    consensus = order[-n_consensus:]
    count = B[:, consensus].sum(1)
    corr = point_biserial(B, count)
    lo, hi = rate_window
    eligible = (rates > lo) & (rates < hi) & np.isfinite(corr) & (corr < 0)
    if eligible.any():
        exc = int(np.argmin(np.where(eligible, corr, np.inf)))
        exc_corr = float(corr[exc])
    else:
        exc, exc_corr = 0, 0.0
    e = B[:, exc]
    candidates = [int(n) for n in order[-n_candidates:] if n != exc]
    cand = B[:, candidates]
    inter = (cand & e[:, None]).sum(0)
    union = (cand | e[:, None]).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
    max_enrichment = max(1.0, float(rate_enrichment(cand, e, enrichment_base, min_exception_tokens).max(initial=1.0)))
    by_level = []
    for level in range(n_consensus + 1):
        at = count == level
        by_level.append(float(e[at].mean()) if at.any() else 0.0)
    return AutoLayer(exc, float(rates[exc]), exc_corr, float(jac.max()) if len(jac) else 0.0,
                     int((jac > high_jaccard).sum()), max_enrichment, tuple(int(n) for n in consensus),
                     float(rates[consensus].mean()), by_level[0] - by_level[-1], tuple(by_level))


# ----------------------------------------------------------------------------------------------
# This book's discovery procedure
# ----------------------------------------------------------------------------------------------


def subsample_rows(n_tokens: int, max_tokens: int | None) -> np.ndarray:
    """Evenly spaced row indices, at most ``max_tokens`` of ``n_tokens`` (all rows if ``None`` or enough)."""
    if max_tokens is None or n_tokens <= max_tokens:
        return np.arange(n_tokens)
    return np.linspace(0, n_tokens - 1, max_tokens).round().astype(np.int64)
