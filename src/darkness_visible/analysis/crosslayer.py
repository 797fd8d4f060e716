"""Terminal crystallization: the same characterization at every layer from one pass (paper-claims E10, E15).

**One pass, every layer.** :func:`trace_layers` runs one nnsight trace per batch that reads
``transformer.h[L].mlp.act.output`` for L = 0, 1, ..., n-1 (forward order); :func:`layer_masks` keeps only
the bit-packed firing masks of each layer (FIRE-ABS by default), cached on disk like the harvest
(:class:`~darkness_visible.io.cache.ChunkCache`, keyed by model, corpus and rules). The original ran one full
pass per layer; the masks are the same.

**Per layer** :func:`characterize_layers` applies the automatic procedure of the paper's cross-layer
survey (E10 steps 2-6: top-7 consensus candidates, the exception neuron as the most anti-correlated
neuron with fire rate in [0.02, 0.98], max Jaccard and enrichment over the 200 most frequent neurons, the
count above 0.5) through :mod:`darkness_visible.discovery.paper_auto`, and adds the *like-for-like* measure the paper's
"0.998" needs: the same candidates' Jaccard computed **within the exception neuron's tokens** (which equals
their conditional fire rate). At the last layer :func:`known_exception_comparison` puts side by side the
automatic neuron (N3066 in the paper's data) and the known N2123, over all tokens and within exception
tokens, under both firing rules.

**L11H7** (:func:`attention_sink`): with eager attention, the share of attention that head 7 of the last
block sends to position 0 (there is no BOS token: position 0 of a window), its entropy in bits, for exception
tokens (FIRE-POS of N2123) vs high-consensus tokens (all 7 consensus neurons under FIRE-ABS), and every
head's importance (mean norm of its output before the heads are summed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule
from darkness_visible.tracing.layers import (
    LayerMasks,
)

# -- like-for-like Jaccards ------------------------------------------------------------------------------


def exception_jaccards(exc: np.ndarray, fires: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard of ``exc`` (``bool [N]``) with each column of ``fires`` (``bool [N, k]``), two ways.

    Returns ``(over_all_tokens, within_exception)``, each ``float [k]``. Within the exception tokens the
    exception neuron is always on, so the Jaccard there is the column's conditional fire rate
    ``P(n | exc)``: the paper's "L11 (known) 0.998" measure. NaN where undefined.
    """
    exc = np.asarray(exc, dtype=bool)
    f = np.asarray(fires, dtype=bool)
    both = (f & exc[:, None]).sum(axis=0).astype(float)
    union = (f | exc[:, None]).sum(axis=0).astype(float)
    n_exc = float(exc.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        over_all = np.where(union > 0, both / np.where(union > 0, union, 1), np.nan)
        within = both / n_exc if n_exc else np.full(f.shape[1], np.nan)
    return over_all, within


def top_candidates(fire_rate: np.ndarray, exclude: int | None, k: int = 200) -> np.ndarray:
    """The ``k`` neurons with the highest fire rate (``exclude`` left out), highest first: ``int [k]``."""
    order = np.argsort(-fire_rate, kind="stable")
    if exclude is not None:
        order = order[order != exclude]
    return order[:k]


def jaccard_profile(mask: np.ndarray, exception: int, k: int = 200, threshold: float = 0.5) -> dict[str, float]:
    """Both Jaccards of ``exception`` with the top-``k`` candidates of ``mask`` (``bool [N, F]``).

    Keys: ``max_jaccard_all``, ``n_above_all`` (over all tokens), ``max_jaccard_within``, ``n_above_within``
    (within the exception neuron's tokens), ``argmax_within`` (the candidate with the largest within-Jaccard).
    """
    rate = mask.mean(axis=0)
    cand = top_candidates(rate, exception, k)
    over_all, within = exception_jaccards(mask[:, exception], mask[:, cand])
    best = int(cand[np.nanargmax(within)]) if np.isfinite(within).any() else -1
    return {
        "max_jaccard_all": float(np.nanmax(over_all)) if np.isfinite(over_all).any() else float("nan"),
        "n_above_all": int(np.nansum(over_all > threshold)),
        "max_jaccard_within": float(np.nanmax(within)) if np.isfinite(within).any() else float("nan"),
        "n_above_within": int(np.nansum(within > threshold)),
        "argmax_within": best,
    }


# -- the per-layer characterization ----------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyConfig:
    """Settings of the per-layer characterization (every threshold named).

    ``rule``: the firing rule of the masks (the survey's FIRE-ABS); ``n_candidates``: E10's 200 most active
    neurons; ``high_jaccard``: the 0.5 cut of "pairs above 0.5"; ``discovery``: run the book's handler
    discovery (:func:`darkness_visible.discovery.discover.discover`, the one procedure the depth sweep also
    runs) as well as the paper's E10 procedure.
    """

    rule: FiringRule = FIRE_ABS
    n_candidates: int = 200
    high_jaccard: float = 0.5
    discovery: bool = True


def handler_pairs(mask: np.ndarray, handler: tuple[int, ...], threshold: float = 0.5) -> tuple[float, int]:
    """Max pairwise Jaccard (over all tokens) among ``handler``'s neurons and the number of pairs above
    ``threshold``; ``mask`` is ``bool [N, F]``. ``(nan, 0)`` for fewer than two neurons."""
    from darkness_visible.stats.cofiring import jaccard_matrix

    if len(handler) < 2:
        return float("nan"), 0
    sim = jaccard_matrix(mask[:, list(handler)])
    upper = sim[np.triu_indices(len(handler), 1)]
    if not np.isfinite(upper).any():
        return float("nan"), 0
    return float(np.nanmax(upper)), int(np.nansum(upper > threshold))


def characterize_layer(mask: np.ndarray, config: SurveyConfig | None = None, report: Any = None) -> dict[str, Any]:
    """One layer's row of the survey from its firing mask ``bool [N, F]``.

    E10 (the paper's automatic procedure, :func:`darkness_visible.discovery.paper_auto.cross_layer_auto`):
    ``exception_neuron``, ``exception_fire_rate``, ``exception_corr``, ``max_jaccard`` (over all tokens),
    ``high_jaccard_count``, ``max_enrichment``, ``consensus_mean_rate``, ``consensus_neurons``.
    Like-for-like with the paper's "0.998": ``max_jaccard_within`` and ``n_above_within`` (same neuron and
    candidates, Jaccard within its exception tokens). With ``report`` (the layer's
    :class:`~darkness_visible.discovery.discover.HandlerReport`): the book's discovered
    ``indicator`` (-1 where it found no handler), its fire rate, handler size, and the max pairwise Jaccard /
    pairs above 0.5 among the handler candidates (``handler_max_jaccard``, ``handler_pairs_above``), the
    legibility measure of :mod:`darkness_visible.analysis.prediction`.
    """
    from darkness_visible.discovery.paper_auto import cross_layer_auto

    config = config or SurveyConfig()
    auto = cross_layer_auto(mask, n_candidates=config.n_candidates, high_jaccard=config.high_jaccard)
    prof = jaccard_profile(mask, auto.exception_neuron, config.n_candidates, config.high_jaccard)
    row: dict[str, Any] = {
        "exception_neuron": auto.exception_neuron, "exception_fire_rate": auto.exception_fire_rate,
        "exception_corr": auto.exception_corr, "max_jaccard": auto.max_jaccard,
        "high_jaccard_count": auto.high_jaccard_count, "max_enrichment": auto.max_enrichment,
        "consensus_mean_rate": auto.consensus_mean_rate, "consensus_neurons": auto.consensus_neurons,
        "max_jaccard_within": prof["max_jaccard_within"], "n_above_within": prof["n_above_within"],
    }
    if report is not None and report.indicator is not None:
        mx, n_above = handler_pairs(mask, report.handler, config.high_jaccard)
        row.update(indicator=int(report.indicator), indicator_rate=float(mask[:, report.indicator].mean()),
                   handler_size=len(report.handler), core=tuple(report.core), handler_max_jaccard=mx,
                   handler_pairs_above=n_above)
    elif report is not None:  # no handler at this layer: nothing legible
        row.update(indicator=-1, indicator_rate=float("nan"), handler_size=0, core=(),
                   handler_max_jaccard=float("nan"), handler_pairs_above=0)
    return row


def characterize_layers(masks: LayerMasks, config: SurveyConfig | None = None, *, progress: bool = False,
                        cache: str | Path | bool | None = False) -> Any:
    """:func:`characterize_layer` at every layer: a ``pandas.DataFrame`` with one row per layer.

    ``cache``: ``False`` (the default) computes; ``True`` (the ``DV_CACHE`` folder) or a folder keeps each
    layer's row, keyed by that layer's packed mask (its contents), the configuration and the source of the
    modules that compute it, so a rebuild reads the rows back (tuples as tuples, NaN as NaN).
    """
    import sys

    import pandas as pd
    from tqdm import tqdm

    from darkness_visible.discovery import discover as discover_module
    from darkness_visible.discovery import paper_auto
    from darkness_visible.io.cache import array_digest, cached_json, source_digest

    config = config or SurveyConfig()
    code = source_digest(sys.modules[__name__], paper_auto, discover_module) if cache is not False else ""
    window = int(masks.meta["corpus"]["window"])
    rows = []
    for L in tqdm(range(masks.n_layers), desc="survey", disable=not progress):
        def compute(L: int = L) -> dict[str, Any]:
            report = None
            if config.discovery:  # the one discovery procedure, cached by the masks' contents like the sweep's
                report = discover_module.discover(masks.mask(L, FIRE_POS), masks.mask(L, FIRE_ABS), window,
                                                  cache=cache)
            return characterize_layer(masks.mask(L, config.rule), config, report)

        if cache is False:
            row = compute()
        else:
            material = {"what": "survey row", "mask": array_digest(masks.arrays[f"L{L}/{config.rule.name}"]),
                        "d_mlp": masks.d_mlp, "config": asdict(config), "code": code}
            if config.discovery:  # the discovery reads both rules' masks and the window length
                material.update(pos=array_digest(masks.arrays[f"L{L}/{FIRE_POS.name}"]),
                                abs=array_digest(masks.arrays[f"L{L}/{FIRE_ABS.name}"]), window=window)
            row = {k: tuple(v) if isinstance(v, list) else v
                   for k, v in cached_json(cache, material, "survey", compute,
                                             valid=lambda v: isinstance(v, dict) and bool(v)).items()}
        rows.append({"layer": L, **row})
    return pd.DataFrame(rows)


def known_exception_comparison(masks: LayerMasks, H: Any, exception: int, auto_neuron: int,
                               handler: tuple[int, ...], n_candidates: int = 200) -> Any:
    """Like-for-like at the last layer: the paper's "L11 (known) 0.998" against the automatic column.

    Rows: the automatic neuron and the known ``exception`` neuron, each with its Jaccard to the top
    ``n_candidates`` neurons over all tokens and within its exception tokens (FIRE-ABS, from ``masks``);
    and the paper's own measure: within FIRE-POS exception tokens of ``exception``, the conditional fire rate
    (FIRE-POS) of the named ``handler`` neurons (from the harvest ``H``). Returns a ``pandas.DataFrame``.
    """
    import pandas as pd

    L = masks.n_layers - 1
    mask = masks.mask(L, FIRE_ABS)
    rows = []
    for name, n in (("automatic (E10)", auto_neuron), ("known", exception)):
        prof = jaccard_profile(mask, n, n_candidates)
        rows.append({"neuron": f"N{n}", "which": name, "rule": FIRE_ABS.description,
                     "rate": float(mask[:, n].mean()), "candidates": f"top {n_candidates} by fire rate",
                     "max_jaccard_all_tokens": prof["max_jaccard_all"], "n_above_0.5_all": prof["n_above_all"],
                     "max_jaccard_within_exception": prof["max_jaccard_within"],
                     "n_above_0.5_within": prof["n_above_within"], "best_within": f"N{prof['argmax_within']}"})
    others = [n for n in handler if n != exception]
    exc = H.fires(exception, FIRE_POS)
    over_all, within = exception_jaccards(exc, H.fires(others, FIRE_POS))
    best = int(np.nanargmax(within))
    rows.append({"neuron": f"N{exception}", "which": "known, the paper's measure", "rule": FIRE_POS.description,
                 "rate": float(exc.mean()), "candidates": f"the {len(others)} other named handler neurons",
                 "max_jaccard_all_tokens": float(np.nanmax(over_all)),
                 "n_above_0.5_all": int(np.nansum(over_all > 0.5)),
                 "max_jaccard_within_exception": float(within[best]),
                 "n_above_0.5_within": int(np.nansum(within > 0.5)),
                 "best_within": f"N{others[best]}"})
    return pd.DataFrame(rows)


def sink_comparison(stats: dict[str, np.ndarray], groups: dict[str, np.ndarray]) -> Any:
    """A ``pandas.DataFrame``: per token group (boolean ``[N]`` masks), the mean sink share and entropy,
    with a Mann-Whitney U test of the first two groups' sink shares (scipy)."""
    import pandas as pd
    from scipy import stats as st

    rows = []
    for name, sel in groups.items():
        rows.append({"group": name, "tokens": int(sel.sum()), "sink_share": float(stats["sink"][sel].mean())
                     if sel.any() else float("nan"),
                     "entropy_bits": float(stats["entropy"][sel].mean()) if sel.any() else float("nan")})
    table = pd.DataFrame(rows)
    names = list(groups)
    a, b = (stats["sink"][groups[n]] for n in names[:2])
    if len(a) and len(b):
        table.attrs["mannwhitney_p"] = float(st.mannwhitneyu(a, b).pvalue)
    return table


# -- the paper's values and the scorecard ----------------------------------------------------------------

#: ``all_layers_structure.json`` per layer: exception neuron, fire rate, correlation, max Jaccard, enrichment,
#: spread (paper-claims E10).
PAPER_E10: dict[int, tuple[int, float, float, float, float, float]] = {
    0: (2637, 0.0609, -0.2117, 0.0643, 1.060, -0.0488),
    1: (2814, 0.0799, -0.317, 0.092, 1.162, -0.0301),
    2: (2670, 0.1511, -0.3549, 0.1571, 1.076, -0.0593),
    3: (2108, 0.0719, -0.1359, 0.0827, 1.167, -0.0455),
    4: (2656, 0.1404, -0.1116, 0.1598, 1.161, -0.1222),
    5: (628, 0.1206, -0.1763, 0.1302, 1.109, -0.0785),
    6: (162, 0.1496, -0.2025, 0.179, 1.213, -0.0974),
    7: (1364, 0.3573, -0.2395, 0.3574, 1.062, -0.2456),
    8: (841, 0.2446, -0.1475, 0.2558, 1.093, -0.1803),
    9: (2139, 0.3117, -0.1664, 0.3131, 1.073, -0.2352),
    10: (1624, 0.3852, -0.1731, 0.3839, 1.049, -0.325),
    11: (3066, 0.1088, -0.2265, 0.1234, 1.145, -0.0806),
}
def paper_comparison(survey: Any) -> Any:
    """The survey next to the paper's E10 table (layers 0-11 only): a ``pandas.DataFrame``."""
    import pandas as pd

    rows = []
    for _, r in survey.iterrows():
        paper = PAPER_E10.get(int(r["layer"]))
        rows.append({"layer": int(r["layer"]),
                     "exception (paper)": f"N{paper[0]}" if paper else "",
                     "exception (run)": f"N{r['exception_neuron']}",
                     "rate (paper)": paper[1] if paper else np.nan, "rate (run)": r["exception_fire_rate"],
                     "max J all (paper)": paper[3] if paper else np.nan, "max J all (run)": r["max_jaccard"],
                     "max J within (run)": r["max_jaccard_within"],
                     "enrichment (paper)": paper[4] if paper else np.nan, "enrichment (run)": r["max_enrichment"],
                     "pairs > 0.5 (run)": r["high_jaccard_count"]})
    return pd.DataFrame(rows)


def spec_high_jaccard(threshold: float = 0.5) -> int:
    """Handler neurons whose Jaccard with N2123 within exception tokens exceeds ``threshold`` by the spec's §2
    table: that Jaccard equals the neuron's conditional fire rate (paper-claims E1 step 6), so 7 at 0.5."""
    from darkness_visible.data.neurons import EXCEPTION_NEURON, NAMED_NEURONS

    return sum(1 for n in NAMED_NEURONS if n.index != EXCEPTION_NEURON and n.cond_fire_pct is not None
               and n.cond_fire_pct / 100 > threshold)


# -- prose: the chapter's numbers and wording, one call per section ---------------------------------------
