"""Co-firing statistics over boolean firing masks, one kernel each, one argument order: the mask first
(``bool [N tokens, F neurons]``), then which columns, then which rows.

- :func:`cofire_counts`: ``#(column c fires and neuron n fires)``, the joint counts every other statistic uses;
- :func:`jaccard_matrix`: pairwise Jaccard between the columns of a mask (scipy ``pdist``);
- :func:`jaccard_with`: Jaccard of one boolean vector with every column of a mask;
- :func:`fisher_greater`: one-sided Fisher exact p-values of many 2x2 co-firing tables at once;
- :func:`rate_enrichment`: each column's fire rate under a condition over its base rate, ``P(n | c) / P(n)``.

"Enrichment" names three different statistics in the paper, and each has one home and one name here:
the *rate enrichment* ``P(n | c) / P(n)`` (:func:`rate_enrichment`: E10's cross-layer survey, E11's null
model); the *overlap enrichment* of a top-k set over chance (E8's "36.5x",
:func:`darkness_visible.analysis.knowledge.overlap_enrichment`); and the one-sided *Fisher enrichment* test
of firing under a condition (E13, :func:`fisher_greater` through
:func:`darkness_visible.analysis.tiers.fisher_enrichment_table`). The per-token-type ratio of chapter 03 is
:func:`darkness_visible.analysis.consensus.token_enrichment`.
"""

from __future__ import annotations

import numpy as np


def cofire_counts(mask: np.ndarray, columns: np.ndarray, rows: np.ndarray | None = None,
                  chunk: int = 8192) -> np.ndarray:
    """``#(column c fires and neuron n fires)`` over ``rows`` (default all) for each of ``columns``: ``float64 [k, F]``.

    Accumulated over row chunks (float32 matmuls of 0/1 values, exact below 2**24 tokens per chunk).
    """
    B = np.asarray(mask, dtype=bool)
    cols = np.asarray(columns, dtype=np.int64)
    joint = np.zeros((len(cols), B.shape[1]), dtype=np.float64)
    n = B.shape[0] if rows is None else len(rows)
    for lo in range(0, n, chunk):
        part = B[lo:lo + chunk] if rows is None else B[rows[lo:lo + chunk]]
        joint += (part[:, cols].T.astype(np.float32) @ part.astype(np.float32)).astype(np.float64)
    return joint


def jaccard_matrix(fires: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Jaccard similarity between the columns of ``bool [N, k]`` (over ``rows``, a boolean row mask, if given):
    ``[k, k]``, NaN where neither column fires (diagonal included)."""
    from scipy.spatial.distance import pdist, squareform

    X = np.asarray(fires, dtype=bool)
    X = (X if rows is None else X[np.asarray(rows, dtype=bool)]).T
    k = X.shape[0]
    if k < 2:
        return np.ones((k, k))
    sim = 1.0 - squareform(pdist(X, metric="jaccard"))
    empty = ~X.any(1)
    sim[np.ix_(empty, empty)] = np.nan
    np.fill_diagonal(sim, np.where(empty, np.nan, 1.0))
    return sim


def jaccard_with(mask: np.ndarray, column: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Jaccard of ``column`` (``bool [N]``) with each column of ``mask`` (``bool [N, F]``): ``float [F]``
    (``empty`` where neither fires)."""
    e = np.asarray(column, dtype=bool)
    f = np.asarray(mask, dtype=bool)
    joint = f[e].sum(0).astype(np.float64)
    union = e.sum() + f.sum(0) - joint
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, joint / np.where(union > 0, union, 1), empty)


def fisher_greater(joint: np.ndarray, row_counts: np.ndarray, col_counts: np.ndarray, n: int) -> np.ndarray:
    """One-sided (``greater``) Fisher exact p-values for many 2x2 tables at once.

    Table for (i, j): ``[[joint, row - joint], [col - joint, n - row - col + joint]]``. Fisher's one-sided
    test is the hypergeometric upper tail, ``scipy.stats.hypergeom.sf(joint - 1, n, col, row)``, which is
    what ``scipy.stats.fisher_exact(..., alternative="greater")`` computes (the tests check it is).
    Shapes broadcast: ``joint [k, F]``, ``row_counts [k, 1]``, ``col_counts [1, F]``.
    """
    from scipy.stats import hypergeom

    return hypergeom.sf(joint - 1, n, col_counts, row_counts)


def rate_enrichment(mask: np.ndarray, condition: np.ndarray, base_range: tuple[float, float] = (0.01, 1.0),
                    min_condition: int = 0) -> np.ndarray:
    """``P(column fires | condition) / P(column fires)`` for each column of ``bool [N, F]``: ``float64 [F]``.

    A column whose base rate is outside the open interval ``base_range`` gets 1.0 (no evidence either way), and
    every column gets 1.0 when ``condition`` (``bool [N]``) holds on ``min_condition`` tokens or fewer: the
    rules of the paper's E10 (base in (0.01, 0.99), more than 10 exception tokens) and E11 (base > 0.01, more
    than 100 exception tokens) procedures.
    """
    B = np.asarray(mask, dtype=bool)
    c = np.asarray(condition, dtype=bool)
    if c.shape != (B.shape[0],):
        raise ValueError(f"condition has shape {c.shape}; it needs one value per row of the mask ({B.shape[0]})")
    if c.sum() <= min_condition:
        return np.ones(B.shape[1])
    base = B.mean(axis=0)
    ok = (base > base_range[0]) & (base < base_range[1])
    return np.where(ok, B[c].mean(axis=0) / np.where(ok, base, 1.0), 1.0)
