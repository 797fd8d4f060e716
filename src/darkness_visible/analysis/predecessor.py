"""E18: the claims the paper inherits from its predecessor, read off the harvest (paper-claims §6 E18).

The "94.3 pp" gradient: N2123's fire rate under GELU > 0.1 (FIRE-POS) at CONS-POS 0/7 (94.7 %) minus at 7/7
(0.5 %), on the predecessor's 500K train tokens, with a token-level bootstrap (seed 42) giving [93.8, 94.7].
Here both rates come from the harvest's firing masks, grouped by CONS-POS level, and the difference gets the
same stratified token bootstrap (:func:`darkness_visible.stats.bootstrap.token_bootstrap`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from darkness_visible.analysis.consensus import consensus_level, level_counts
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.report.results import ResultRow
from darkness_visible.stats.bootstrap import BootstrapConfig, percentile_ci, token_bootstrap
from darkness_visible.tracing.firing import FIRE_POS
from darkness_visible.tracing.harvest import Harvest

#: The predecessor's numbers (paper-claims E18): rates in %, the gradient in pp and its CI, N2123's rate.
PAPER_RATE_LEVEL0 = 94.7
PAPER_RATE_LEVEL7 = 0.5
PAPER_GRADIENT_PP = 94.3
PAPER_GRADIENT_CI = (93.8, 94.7)
PAPER_N2123_RATE = 11.3


def rate_by_level(H: Harvest) -> pd.DataFrame:
    """N2123's FIRE-POS rate per CONS-POS level: columns ``level, n, share, n2123_rate_pct``."""
    levels = consensus_level(H, CONSENSUS, FIRE_POS)
    fires = H.fires(EXCEPTION_NEURON, FIRE_POS)
    table = level_counts(levels)
    hits = np.bincount(levels, weights=fires.astype(np.float64), minlength=len(CONSENSUS) + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["n2123_rate_pct"] = 100 * hits / table["n"].to_numpy()
    return table


def gradient(H: Harvest, n_resamples: int = 10_000, seed: int = 42) -> tuple[float, tuple[float, float]]:
    """Rate at 0/7 minus rate at 7/7 (pp) and its token-level bootstrap 95 % CI; NaN if a level is empty."""
    levels = consensus_level(H, CONSENSUS, FIRE_POS)
    ends = (levels == 0) | (levels == len(CONSENSUS))
    fires = H.fires(EXCEPTION_NEURON, FIRE_POS)[ends].astype(np.float64)
    groups = levels[ends]
    if len(np.unique(groups)) < 2:
        return float("nan"), (float("nan"), float("nan"))
    result = token_bootstrap(fires, groups, config=BootstrapConfig(kind="token", n_resamples=n_resamples, seed=seed))
    diff = 100 * (result.distribution[:, 0] - result.distribution[:, 1])
    lo, hi = percentile_ci(diff)
    means = result.table["mean"].to_numpy()
    return float(100 * (means[0] - means[1])), (float(lo), float(hi))


def scorecard_rows(H: Harvest, chapter: str = "03_consensus_crossover", n_resamples: int = 10_000) -> list[ResultRow]:
    """``E18.…`` rows: N2123's rate, its rate at 0/7 and 7/7, and the gradient with its CI."""
    table = rate_by_level(H).set_index("level")
    pp, ci = gradient(H, n_resamples)
    empty = [f"{lv}/7" for lv in (0, len(CONSENSUS)) if table.loc[lv, "n"] == 0]
    why = f"; no token at {' and '.join(empty)} on this run" if empty else ""
    corpus = H.meta["corpus"]
    other = "" if corpus.get("split") == "train" else (
        f"different corpus: {corpus.get('describe')} vs the predecessor's 500K train tokens")
    label, pre = H.label, H.is_pretrained
    rate = 100 * float(H.fires(EXCEPTION_NEURON, FIRE_POS).mean())

    def value(x: float) -> float | None:
        return None if not np.isfinite(x) else float(x)

    return [
        ResultRow(chapter, "E18.n2123_rate", "N2123 fire rate, GELU > 0.1", PAPER_N2123_RATE, rate, None, label,
                  pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.rate_level0", "N2123 rate at CONS-POS 0/7", PAPER_RATE_LEVEL0,
                  value(table.loc[0, "n2123_rate_pct"]), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.rate_level7", "N2123 rate at CONS-POS 7/7", PAPER_RATE_LEVEL7,
                  value(table.loc[len(CONSENSUS), "n2123_rate_pct"]), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.gradient_pp", "N2123 rate at 0/7 minus at 7/7 (token bootstrap, seed 42)",
                  PAPER_GRADIENT_PP, value(pp), None, label, pre, ci=ci if np.all(np.isfinite(ci)) else None,
                  unit="pp", comparison=other, note=f"paper CI {PAPER_GRADIENT_CI}{why}"),
    ]
