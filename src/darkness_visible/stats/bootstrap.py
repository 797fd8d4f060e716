"""Vectorised percentile bootstraps of group means: token-level (stratified) and sequence-level (ratio).

Two procedures, both general (values, group labels, sequence ids), both returning the per-group table
*and* the bootstrap distribution so that a derived statistic (e.g. the crossover point of a curve of
group means) gets its own interval from the same resamples:

:func:`token_bootstrap`
    What the paper's released code runs (paper-claims §6-E3): for each group separately, draw
    ``n_resamples`` samples of size ``n_g`` with replacement from that group's values, take each sample's
    mean, and report the 2.5 / 97.5 percentiles (numpy's default linear interpolation). Tokens are
    treated as independent, which they are not inside a 1,024-token sequence.
:func:`sequence_bootstrap`
    What the paper's text states: the resampling unit is a whole sequence. Each resample draws the
    sequences with replacement, which is the same as giving sequence ``s`` a weight ``w_s`` (how many times
    it was drawn; the weights of one resample are multinomial with equal probabilities). A group's mean is
    then the ratio estimator ``Σ_s w_s·sum_gs / Σ_s w_s·count_gs``. All resamples of a chunk are one matrix
    product ``W @ sums.T``: no Python loop over resamples.

Both use a ``numpy.random.Generator``; ``seed=None`` draws fresh entropy (the paper's unseeded run).
The draws are made exactly as ``scipy.stats.bootstrap`` makes them (``rng.integers(0, n, (batch, n))``), so
with the same seed and ``chunk == batch`` the distributions agree to float rounding (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["token", "sequence"]

#: Upper bound on index draws held in memory at once (a chunk shrinks for large groups: 160 MB of int64).
MAX_DRAWS = 20_000_000


@dataclass(frozen=True)
class BootstrapConfig:
    """How to bootstrap: unit, number of resamples, confidence, seed, resamples per vectorised chunk.

    ``n_draw``: sequences drawn per resample (sequence bootstrap only); ``None`` = as many as exist.
    """

    kind: Kind = "sequence"
    n_resamples: int = 10_000
    confidence: float = 0.95
    seed: int | None = 42
    chunk: int = 1_000
    n_draw: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("token", "sequence"):
            raise ValueError(f"bootstrap kind must be 'token' or 'sequence', got {self.kind!r}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n_resamples < 1 or self.chunk < 1:
            raise ValueError("n_resamples and chunk must be positive")

    @property
    def describe(self) -> str:
        unit = "whole sequences (ratio estimator)" if self.kind == "sequence" else "tokens within each group"
        seed = "unseeded" if self.seed is None else f"seed {self.seed}"
        return f"{self.kind}-level bootstrap over {unit}, {self.n_resamples:,} resamples, {seed}"


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap of group means.

    ``table``: one row per group (``group, n, n_sequences, mean, lo, hi, significant``);
    ``distribution``: ``float64 [n_resamples, n_groups]`` bootstrap means (NaN where a resample holds no
    token of the group); ``groups``: the group labels in column order; ``config``: how it was made.
    """

    table: pd.DataFrame
    distribution: np.ndarray
    groups: np.ndarray
    config: BootstrapConfig


def percentile_ci(distribution: np.ndarray, confidence: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of a bootstrap distribution along ``axis`` (NaNs ignored, linear interpolation)."""
    alpha = (1.0 - confidence) / 2.0
    with np.errstate(all="ignore"):
        finite = np.isfinite(distribution).any(axis=axis)
        safe = np.where(np.isfinite(distribution), distribution, np.nan)
        if not finite.all():
            safe = np.where(finite, safe, 0.0)
        lo, hi = np.nanquantile(safe, [alpha, 1.0 - alpha], axis=axis)
    return np.where(finite, lo, np.nan), np.where(finite, hi, np.nan)


def _labels(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and the column index of every value."""
    if groups is None:
        return np.array([0]), np.zeros(n, dtype=np.int64)
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
    labels, index = np.unique(groups, return_inverse=True)
    return labels, index


def _finish(values: np.ndarray, index: np.ndarray, labels: np.ndarray, dist: np.ndarray, n_seq: np.ndarray,
            config: BootstrapConfig) -> BootstrapResult:
    counts = np.bincount(index, minlength=len(labels))
    sums = np.bincount(index, weights=values, minlength=len(labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    lo, hi = percentile_ci(dist, config.confidence)
    table = pd.DataFrame({"group": labels, "n": counts, "n_sequences": n_seq, "mean": means, "lo": lo, "hi": hi})
    table["significant"] = (table["lo"] > 0) | (table["hi"] < 0)
    table["nan_resamples"] = np.isnan(dist).sum(axis=0)
    return BootstrapResult(table, dist, labels, config)


def token_bootstrap(values: np.ndarray, groups: np.ndarray | None = None, sequence_ids: np.ndarray | None = None,
                    config: BootstrapConfig | None = None) -> BootstrapResult:
    """Stratified token-level bootstrap of each group's mean (the paper's released code).

    Args:
        values: ``[N]`` the per-token quantity (e.g. ΔP).
        groups: ``[N]`` group labels (e.g. consensus level); ``None`` = one group.
        sequence_ids: ``[N]`` only used to report how many sequences each group spans.
        config: resamples, confidence, seed, chunk (``kind`` is ignored). A chunk is reduced so that it
            holds at most :data:`MAX_DRAWS` draws; below that it equals ``scipy.stats.bootstrap``'s ``batch``.

    Returns a :class:`BootstrapResult` whose distribution is ``[n_resamples, n_groups]``; groups are
    resampled independently, so column ``g`` of row ``r`` is the ``r``-th resample of group ``g``.
    """
    config = config or BootstrapConfig(kind="token")
    values = np.asarray(values, dtype=np.float64)
    labels, index = _labels(groups, values.shape[0])
    rng = np.random.default_rng(config.seed)
    dist = np.full((config.n_resamples, len(labels)), np.nan)
    for g in range(len(labels)):
        sample = values[index == g]
        n = sample.shape[0]
        step = max(1, min(config.chunk, MAX_DRAWS // n))
        for start in range(0, config.n_resamples, step):
            stop = min(start + step, config.n_resamples)
            draws = rng.integers(0, n, (stop - start, n))
            dist[start:stop, g] = sample[draws].mean(axis=-1)
    return _finish(values, index, labels, dist, _span(index, sequence_ids, len(labels)), config)


def _span(index: np.ndarray, sequence_ids: np.ndarray | None, n_groups: int) -> np.ndarray:
    if sequence_ids is None:
        return np.full(n_groups, -1)
    pairs = np.unique(np.stack([index, np.asarray(sequence_ids)]), axis=1)
    return np.bincount(pairs[0], minlength=n_groups)


def sequence_totals(values: np.ndarray, index: np.ndarray, sequence_ids: np.ndarray,
                    n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sequence sums and counts of every group.

    Returns ``(sums [n_groups, S], counts [n_groups, S], sequences [S])`` with ``S`` the distinct ids.
    """
    seqs, seq_index = np.unique(np.asarray(sequence_ids), return_inverse=True)
    cell = index * len(seqs) + seq_index
    size = n_groups * len(seqs)
    sums = np.bincount(cell, weights=values, minlength=size).reshape(n_groups, len(seqs))
    counts = np.bincount(cell, minlength=size).reshape(n_groups, len(seqs)).astype(np.float64)
    return sums, counts, seqs


def resample_weights(rng: np.random.Generator, n_units: int, n_resamples: int, n_draw: int | None = None) -> np.ndarray:
    """How often each unit is drawn in each resample: ``int64 [n_resamples, n_units]``, rows sum to ``n_draw``.

    Each row is a multinomial(``n_draw``, equal probabilities) vector, built from the same
    ``rng.integers(0, n_units, (n_resamples, n_draw))`` draws that ``scipy.stats.bootstrap`` uses.
    """
    n_draw = n_units if n_draw is None else n_draw
    draws = rng.integers(0, n_units, (n_resamples, n_draw))
    offset = np.arange(n_resamples)[:, None] * n_units
    return np.bincount((draws + offset).ravel(), minlength=n_resamples * n_units).reshape(n_resamples, n_units)


def sequence_bootstrap(values: np.ndarray, groups: np.ndarray | None, sequence_ids: np.ndarray,
                       config: BootstrapConfig | None = None) -> BootstrapResult:
    """Sequence-level bootstrap of each group's mean as a ratio estimator (the paper's stated procedure).

    Args:
        values: ``[N]`` per-token quantity.
        groups: ``[N]`` group labels (``None`` = one group).
        sequence_ids: ``[N]`` the resampling unit of each token (e.g. ``H.window_index``).
        config: resamples, confidence, seed, chunk, ``n_draw`` (sequences per resample; default all).

    The same sequence weights serve every group of a resample, so the distribution ``[R, G]`` keeps the
    dependence between groups (needed for a CI on a statistic of several group means).
    """
    config = config or BootstrapConfig(kind="sequence")
    values = np.asarray(values, dtype=np.float64)
    labels, index = _labels(groups, values.shape[0])
    if np.asarray(sequence_ids).shape != values.shape:
        raise ValueError("sequence_ids must have one id per value")
    sums, counts, seqs = sequence_totals(values, index, sequence_ids, len(labels))
    rng = np.random.default_rng(config.seed)
    dist = np.empty((config.n_resamples, len(labels)))
    for start in range(0, config.n_resamples, config.chunk):
        stop = min(start + config.chunk, config.n_resamples)
        w = resample_weights(rng, len(seqs), stop - start, config.n_draw).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist[start:stop] = (w @ sums.T) / (w @ counts.T)
    return _finish(values, index, labels, dist, (counts > 0).sum(axis=1), config)


def bootstrap(values: np.ndarray, groups: np.ndarray | None, sequence_ids: np.ndarray | None,
              config: BootstrapConfig) -> BootstrapResult:
    """Dispatch on ``config.kind``: :func:`token_bootstrap` or :func:`sequence_bootstrap`."""
    if config.kind == "token":
        return token_bootstrap(values, groups, sequence_ids, config)
    if sequence_ids is None:
        raise ValueError("a sequence-level bootstrap needs sequence_ids")
    return sequence_bootstrap(values, groups, sequence_ids, config)


def within_sequence_acf(values: np.ndarray, sequence_ids: np.ndarray, nlags: int = 20,
                        groups: np.ndarray | None = None) -> pd.DataFrame:
    """Autocorrelation of ``values`` inside sequences, averaged over sequences (``statsmodels`` ``acf``).

    If ``groups`` is given, each value's group mean is subtracted first, so what remains is the
    dependence that the group labels do not explain (what a token-level bootstrap ignores). Sequences
    shorter than ``nlags + 2`` or constant are skipped. Returns ``lag, acf, n_sequences`` for lags ``1..nlags``.
    """
    from statsmodels.tsa.stattools import acf

    x = np.asarray(values, dtype=np.float64)
    if groups is not None:
        _, index = _labels(groups, x.shape[0])
        x = x - (np.bincount(index, weights=x) / np.bincount(index))[index]
    seq = np.asarray(sequence_ids)
    order = np.argsort(seq, kind="stable")
    bounds = np.flatnonzero(np.diff(seq[order])) + 1
    curves = []
    for part in np.split(x[order], bounds):
        if part.shape[0] >= nlags + 2 and np.ptp(part) > 0:
            curves.append(acf(part, nlags=nlags, fft=True)[1:])
    mean = np.mean(curves, axis=0) if curves else np.full(nlags, np.nan)
    return pd.DataFrame({"lag": np.arange(1, nlags + 1), "acf": mean, "n_sequences": len(curves)})
