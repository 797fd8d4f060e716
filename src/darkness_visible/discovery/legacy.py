"""Finding an exception indicator and its tiers from co-firing statistics alone.

Two procedures, both taking only a boolean firing mask ``B [N tokens, F neurons]`` (no neuron list):

:func:`cross_layer_auto`
    The paper's own automatic procedure of the cross-layer survey (paper-claims E10, steps 2-6):
    top-7 fire-rate "consensus" candidates, the exception neuron as the most negatively correlated
    neuron with their count, Jaccard and enrichment against the 200 most active neurons, and the
    exception rate by consensus level. On GPT-2's layer 11 it picks N3066, not N2123.

:func:`discover_handler`
    The book's first procedure (not in the paper), kept for the cross-layer legibility measure of
    :mod:`darkness_visible.analysis.crosslayer`; the book's discovery is now :func:`darkness_visible.discovery.discover.discover`
    (a Core at the paper's 90 % level, a null-calibrated "no handler", stability over window resamples,
    precision and recall per role), which this one is not: on a handler planted by another construction it
    named a random neuron, and its fixed 35 % cut cannot separate tiers whose rates overlap. In two steps.
    (1) The hub: for each candidate ``i`` (fire
    rate in ``rate_window``) find the neurons ``n`` significantly over-represented when ``i`` fires
    (one-sided Fisher test = hypergeometric tail, Bonferroni over all tested pairs, and enrichment
    ``P(n | i) / P(n) >= min_enrichment``) and score ``i`` by the sum of its all-token Jaccard with them:
    the densest co-firing cluster wins. (2) The indicator: among the hub and the neurons fused with it
    (all-token Jaccard >= ``fuse_jaccard``), the member whose firing implies the others' (the most
    specific one, as N2123 is for the Core: every Core neuron fires when it does). Its associated neurons
    are split into tiers by their fire rate conditional on the indicator, as the paper describes its tiers
    (Core >= 90 %, Differentiators >= 35 %, Specialists below), and grouped by average-linkage
    clustering of their within-exception Jaccard distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from darkness_visible.stats.cofiring import cofire_counts, fisher_greater, jaccard_matrix, jaccard_with


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
    max_enrichment = 1.0
    if e.sum() > min_exception_tokens:
        base = rates[candidates]
        keep = (base > enrichment_base[0]) & (base < enrichment_base[1])
        if keep.any():
            enrich = (inter[keep] / e.sum()) / base[keep]
            max_enrichment = max(1.0, float(enrich.max()))
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


@dataclass(frozen=True)
class DiscoveryConfig:
    """Parameters of :func:`discover_handler` (every threshold is named here, none is hidden).

    ``rate_window``: fire rates allowed for an indicator candidate. ``alpha``: family-wise error rate,
    Bonferroni over all (candidate, neuron) pairs tested. ``min_enrichment``: ``P(n | i) / P(n)`` needed to
    call neuron ``n`` associated. ``core_min`` / ``diff_min``: conditional-rate cuts of the tiers (the
    paper's Core 90-100 %, Differentiators 35-88 %). ``min_cond``: associated neurons below this are ignored.
    ``fuse_jaccard``: all-token Jaccard with the best hub above which a neuron belongs to the fused Core, among
    which the indicator is the most specific member (:func:`most_specific`). ``group_jaccard``: neurons
    whose within-exception Jaccard distance is below ``1 - group_jaccard`` (average linkage) form one group.
    """

    rate_window: tuple[float, float] = (0.01, 0.5)
    alpha: float = 0.05
    min_enrichment: float = 1.5
    core_min: float = 0.9
    diff_min: float = 0.35
    min_cond: float = 0.05
    group_jaccard: float = 0.3
    fuse_jaccard: float = 0.5


@dataclass(frozen=True)
class Discovery:
    """What :func:`discover_handler` found.

    ``scores``: the indicator score of every candidate (``pd.Series`` indexed by neuron, descending);
    ``members``: per associated neuron its conditional rate, enrichment, p-value and tier (``pd.DataFrame``);
    ``groups``: co-firing groups among the associated neurons (tuples of neuron indices).
    """

    indicator: int
    core: tuple[int, ...]
    differentiators: tuple[int, ...]
    specialists: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    scores: pd.Series = field(compare=False, repr=False)
    members: pd.DataFrame = field(compare=False, repr=False)

    @property
    def tiers(self) -> dict[str, tuple[int, ...]]:
        return {"core": self.core, "differentiator": self.differentiators, "specialist": self.specialists}

    @property
    def handler(self) -> tuple[int, ...]:
        return self.core + self.differentiators + self.specialists


def subsample_rows(n_tokens: int, max_tokens: int | None) -> np.ndarray:
    """Evenly spaced row indices, at most ``max_tokens`` of ``n_tokens`` (all rows if ``None`` or enough)."""
    if max_tokens is None or n_tokens <= max_tokens:
        return np.arange(n_tokens)
    return np.linspace(0, n_tokens - 1, max_tokens).round().astype(np.int64)


def indicator_scores(mask: np.ndarray, config: DiscoveryConfig = DiscoveryConfig()) -> pd.Series:
    """Hub score of every candidate neuron of ``bool [N, F]``: sum of Jaccard(i, n) (all tokens) over associated ``n``.

    Returns a ``pd.Series`` (index: neuron, descending score; name ``"score"``).
    """
    from statsmodels.stats.multitest import multipletests

    B = np.asarray(mask, dtype=bool)
    N, F = B.shape
    rates = B.mean(0)
    cand = np.flatnonzero((rates >= config.rate_window[0]) & (rates <= config.rate_window[1]))
    if len(cand) == 0:
        return pd.Series(dtype=float, name="score")
    joint = cofire_counts(B, cand)  # [k, F] co-firing counts
    row = joint[np.arange(len(cand)), cand][:, None]  # [k, 1]
    col = B.sum(0)[None, :].astype(np.float64)  # [1, F]
    cond = joint / row
    with np.errstate(divide="ignore", invalid="ignore"):
        enrich = np.where(rates[None, :] > 0, cond / rates[None, :], 0.0)
    # Fisher p-values only where the effect could qualify; every pair still counts in the Bonferroni family
    p = np.ones_like(cond)
    test = (enrich >= config.min_enrichment) & (cond >= config.min_cond)
    test[np.arange(len(cand)), cand] = False  # a neuron is not associated with itself
    i, j = np.nonzero(test)
    p[i, j] = fisher_greater(joint[i, j], row[i, 0], col[0, j], N)
    reject = multipletests(p.ravel(), alpha=config.alpha, method="bonferroni")[0].reshape(p.shape)
    assoc = reject & (enrich >= config.min_enrichment) & (cond >= config.min_cond)
    jac = joint / (row + col - joint)
    score = (jac * assoc).sum(1)
    return pd.Series(score, index=cand, name="score").sort_values(ascending=False, kind="stable")


def most_specific(mask: np.ndarray, neurons: list[int] | tuple[int, ...]) -> int:
    """Among ``neurons`` (columns of ``bool [N, F]``), the one whose firing best implies the others'.

    Returns ``argmax_m sum_{n != m} P(n | m)`` (ties: the lower fire rate, then the lower index): the member of
    a fused group whose tokens are (nearly) a subset of every other member's, as N2123 is for the Core.
    """
    cols = np.asarray(neurons, dtype=np.int64)
    X = _as_float(np.asarray(mask, dtype=bool)[:, cols])
    joint = X.T @ X
    counts = np.diag(joint).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(counts[:, None] > 0, joint / counts[:, None], 0.0)
    np.fill_diagonal(cond, 0.0)
    implied = cond.sum(1)
    order = np.lexsort((cols, counts, -np.round(implied, 9)))
    return int(cols[order[0]])


def discover_handler(mask: np.ndarray, config: DiscoveryConfig = DiscoveryConfig(),
                     indicator: int | None = None) -> Discovery:
    """Find an exception indicator and its tiers in ``bool [N, F]`` from co-firing alone.

    ``indicator``: skip the search and characterise this neuron's handler instead (the search's scores are
    then empty). See the module docstring for the procedure.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from statsmodels.stats.multitest import multipletests

    B = np.asarray(mask, dtype=bool)
    N, F = B.shape
    scores = indicator_scores(B, config) if indicator is None else pd.Series(dtype=float, name="score")
    if indicator is None:
        if scores.empty or scores.iloc[0] <= 0:
            raise ValueError("no neuron in the rate window has any significantly co-firing partner; "
                             "widen rate_window or lower min_enrichment")
        hub = int(scores.index[0])
        fused = [hub] + [int(n) for n in np.flatnonzero(jaccard_with(B, B[:, hub], empty=0.0) >= config.fuse_jaccard) if n != hub]
        indicator = most_specific(B, fused)
    e = B[:, indicator]
    n_e = int(e.sum())
    rates = B.mean(0)
    joint = B[e].sum(0).astype(np.float64)
    cond = joint / max(n_e, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        enrich = np.where(rates > 0, cond / rates, 0.0)
    p = fisher_greater(joint, n_e, B.sum(0), N)
    p[indicator] = 1.0
    reject = multipletests(p, alpha=config.alpha, method="bonferroni")[0]
    assoc = reject & (enrich >= config.min_enrichment) & (cond >= config.min_cond)
    assoc[indicator] = True
    members = np.flatnonzero(assoc)
    members = members[np.argsort(-cond[members], kind="stable")]
    tier = np.where(cond[members] >= config.core_min, "core",
                    np.where(cond[members] >= config.diff_min, "differentiator", "specialist"))
    table = pd.DataFrame({"neuron": members, "cond_rate": cond[members], "base_rate": rates[members],
                          "enrichment": enrich[members], "p_value": p[members], "tier": tier})
    table.loc[table.neuron == indicator, ["p_value", "tier"]] = [0.0, "core"]
    groups: tuple[tuple[int, ...], ...] = ()
    others = [int(n) for n in members if n != indicator]
    if len(others) >= 2:
        sim = jaccard_matrix(B[e][:, others])
        dist = 1.0 - np.nan_to_num(sim, nan=0.0)
        np.fill_diagonal(dist, 0.0)
        labels = fcluster(linkage(squareform(dist, checks=False), method="average"),
                          t=1.0 - config.group_jaccard, criterion="distance")
        groups = tuple(sorted((tuple(sorted(n for n, lab in zip(others, labels, strict=True) if lab == g))
                               for g in np.unique(labels)), key=lambda t: (-len(t), t)))
    elif others:
        groups = ((others[0],),)
    pick = {name: tuple(int(n) for n in table.neuron[table.tier == name]) for name in ("core", "differentiator",
                                                                                       "specialist")}
    core = (indicator,) + tuple(n for n in pick["core"] if n != indicator)
    return Discovery(indicator, core, pick["differentiator"], pick["specialist"], groups, scores,
                     table.reset_index(drop=True))


def recovery_table(found: dict[str, tuple[int, ...]], truth: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """Per tier: how many of the true neurons were found (in any tier / in the right tier), and extras.

    Returns columns ``tier, true, found_any_tier, found_same_tier, extra`` (one row per truth tier, plus
    ``"all"``).
    """
    found_all = {n for v in found.values() for n in v}
    truth_all = {n for v in truth.values() for n in v}
    rows = []
    for name, members in truth.items():
        same = set(found.get(name, ())) & set(members)
        rows.append({"tier": name, "true": len(members), "found_any_tier": len(set(members) & found_all),
                     "found_same_tier": len(same), "extra": len(set(found.get(name, ())) - set(members))})
    rows.append({"tier": "all", "true": len(truth_all), "found_any_tier": len(truth_all & found_all),
                 "found_same_tier": sum(r["found_same_tier"] for r in rows), "extra": len(found_all - truth_all)})
    return pd.DataFrame(rows)


def paper_recovery(found: Discovery) -> tuple[int, pd.DataFrame]:
    """How many of the paper's 27 routing neurons a discovery found (any tier), and the per-tier table."""
    from darkness_visible.data.neurons import CONSENSUS, HANDLER_TIERS, ROUTING

    truth = {**HANDLER_TIERS, "consensus": CONSENSUS}
    found_all = set(found.handler)
    return len(found_all & set(ROUTING)), recovery_table(found.tiers, truth)


def recovered_exactly(found: Discovery, truth: dict[str, tuple[int, ...]]) -> bool:
    """True when every tier of ``found`` holds exactly the neurons of the same tier in ``truth`` (order ignored)."""
    return all(set(found.tiers.get(name, ())) == set(members) for name, members in truth.items()) and \
        set(found.handler) == {n for members in truth.values() for n in members}
