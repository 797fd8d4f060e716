"""E18: the claims the paper inherits from its predecessor, read off the harvest (paper-claims §6 E18).

The "94.3 pp" gradient: N2123's fire rate under GELU > 0.1 (FIRE-POS) at CONS-POS 0/7 (94.7 %) minus at 7/7
(0.5 %), on the predecessor's 500K train tokens, with a token-level bootstrap (seed 42) giving [93.8, 94.7].
Here both rates come from the harvest's firing masks, grouped by CONS-POS level, and the difference gets the
same stratified token bootstrap (:func:`darkness_visible.stats.bootstrap.token_bootstrap`).

The corpus is the predecessor's: its first 500,000 train tokens, i.e. 488 windows of 1,024 (499,712 tokens) of
the train array (paper-claims §4 DS-C). DS-C is rebuilt as the spec recommends (DS-A's construction on the
train split), and the predecessor's windows are the first ``Size.predecessor_windows`` of the chapter's DS-C
harvest (:func:`corpus_harvest`, no second pass). Offline the train split is out of reach: the rows then run on
the chapter's own harvest and say "different corpus" (:func:`predecessor_comparison`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from darkness_visible.analysis.consensus import consensus_level, level_counts
from darkness_visible.data.corpus import train_windows_comparison
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.stats.bootstrap import BootstrapConfig, percentile_ci, token_bootstrap
from darkness_visible.tracing.firing import FIRE_POS
from darkness_visible.tracing.harvest import Harvest

#: The predecessor's corpus: the first 500,000 train tokens in windows of 1,024 (488 windows, 499,712 tokens).
PREDECESSOR_WINDOWS, PREDECESSOR_WINDOW = 488, 1024


def head(H: Harvest, n_windows: int) -> Harvest:
    """The first ``n_windows`` windows of ``H`` (all of it if it has fewer), with its corpus metadata saying so."""
    from dataclasses import fields

    from darkness_visible.data.corpus import CorpusSpec

    corpus = H.meta["corpus"]
    n = min(int(n_windows), int(corpus["n_windows"]))
    rows = n * int(corpus["window"])
    spec = CorpusSpec(**{**{f.name: corpus[f.name] for f in fields(CorpusSpec) if f.name in corpus}, "n_windows": n})
    meta = {**H.meta, "corpus": {**corpus, "n_windows": n, "describe": spec.describe()}}
    return Harvest(meta, {k: v[:rows] for k, v in H.arrays.items()})


def corpus_harvest(run: Any, ds_c: Harvest | None = None) -> Harvest | None:
    """The predecessor's corpus: the first ``run.size.predecessor_windows`` windows of DS-C (``ds_c``, else
    :func:`darkness_visible.analysis.consensus.ds_c_harvest`); ``None`` when DS-C is out of reach (offline)."""
    from darkness_visible.analysis.consensus import ds_c_harvest

    ds_c = ds_c if ds_c is not None else ds_c_harvest(run)
    return None if ds_c is None else head(ds_c, run.size.predecessor_windows)


def predecessor_comparison(corpus: dict) -> str:
    """``""`` on the predecessor's corpus (a harvest's ``meta["corpus"]``: 488 windows of 1,024 train tokens),
    else the "different corpus" reason."""
    return train_windows_comparison(corpus, PREDECESSOR_WINDOWS, PREDECESSOR_WINDOW,
                                    "the predecessor's 500K train tokens (DS-C, 488 x 1,024)")


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
