"""E11/E12's words and rows: the untrained-model null and the threshold sweep (computation in analysis.controls)."""

from __future__ import annotations

import numpy as np

from darkness_visible.data.corpus import CorpusSpec, dsb_comparison
from darkness_visible.report.results import ResultRow

#: Paper values (paper-claims E11, ``null_model.json``; E12, ``threshold_sweep.json``).
PAPER_NULL = {
    "random": {"exception_fire_rate": 0.6456, "consensus_mean_fire_rate": 0.7165, "core_mean_fire_rate": 0.7019,
               "core_jaccard_mean": 0.5289, "core_jaccard_min": 0.4513, "max_enrichment": 1.5491,
               "n_enriched_1.5x": 1},
    "trained": {"exception_fire_rate": 0.6878, "consensus_mean_fire_rate": 0.8573, "core_mean_fire_rate": 0.9297,
                "core_jaccard_mean": 0.8615, "core_jaccard_min": 0.6783, "max_enrichment": 1.4539,
                "n_enriched_1.5x": 0},
}


PAPER_TEXT_TRAINED_EXCEPTION = 0.113  # the paper's "11.3 % trained": FIRE-POS, another definition


PAPER_SWEEP = {
    0.01: (0.9910, 0.9821, 0.9949, 0.9890, None, 0.9911, None),
    0.05: (0.8883, 0.9265, 0.9479, 0.8807, 1.0, 0.8881, 0.1119),
    0.1: (0.6878, 0.8573, 0.8615, 0.6783, 0.9773, 0.6538, 0.3235),
    0.25: (0.0697, 0.6669, 0.5962, 0.0609, 0.8095, 0.00064, 0.8089),
    0.5: (0.0542, 0.5040, 0.5581, 0.0440, 0.5583, 0.0, 0.5583),
    1.0: (0.0385, 0.2247, 0.4451, 0.0273, 0.1448, 0.0, 0.1448),
}


SWEEP_COLUMNS = ("exception_fire_rate", "consensus_mean_fire_rate", "core_jaccard_mean", "core_jaccard_min",
                 "exc_at_0_consensus", "exc_at_7_consensus", "anticorrelation_spread")


#: Why the paper's "11.3 % trained" is not this row's paper number (issue 25): it is the predecessor's FIRE-POS
#: rate on its 500K train tokens (paper-claims §3, E18), and the specification gives no FIRE-POS rate on DS-B.
TEXT_TRAINED_COMPARISON = ("different corpus: the paper's 11.3 % is the predecessor's FIRE-POS rate on its 500K "
                           "train tokens; the specification gives no FIRE-POS rate on DS-B")


def scorecard_rows(trained: dict[str, float], null_summary: dict[str, tuple[float, float]],
                   sweep: list[dict[str, float]], label: str, pretrained: bool, chapter: str = "06_crystallization",
                   trained_pos_rate: float | None = None,
                   corpus: CorpusSpec | dict | None = None) -> list[ResultRow]:
    """Scorecard rows of the controls: null model (mean over seeds), trained under the same rule, the sweep.

    ``corpus``: the controls' corpus (:func:`controls_corpus`, or the harvest's ``meta["corpus"]``). The paper ran
    E11 and E12 on DS-B; on any other corpus (the offline fallback to 256-token windows of the test split, a
    smaller slice, or a corpus not given) every row is "not comparable" (:func:`~darkness_visible.data.corpus.
    dsb_comparison`, the rule E13 uses).
    """
    other = dsb_comparison(corpus)
    rows = []
    for key in ("exception_fire_rate", "core_jaccard_mean", "core_jaccard_min", "consensus_mean_fire_rate",
                "max_enrichment"):
        rows.append(ResultRow(chapter, f"E11.trained.{key}", f"trained model, {key} (|GELU| > 0.1)",
                              PAPER_NULL["trained"][key], trained.get(key), None, label, pretrained,
                              comparison=other))
        mean, sd = null_summary.get(key, (float("nan"), float("nan")))
        rows.append(ResultRow(chapter, f"E11.random.{key}", f"random-init models, {key}: mean over seeds",
                              PAPER_NULL["random"][key], mean, None, label, pretrained, comparison=other,
                              note=f"SD over seeds {sd:.4f}; the original run was unseeded (one model)"))
    if trained_pos_rate is not None:
        rows.append(ResultRow(chapter, "E11.text.trained_exception_pos", "trained N2123 rate under GELU > 0.1 "
                              "(the paper text's '11.3 %', another definition)", PAPER_TEXT_TRAINED_EXCEPTION,
                              trained_pos_rate, None, label, pretrained, comparison=TEXT_TRAINED_COMPARISON))
    for r in sweep:
        paper = PAPER_SWEEP.get(r["threshold"])
        for i, key in enumerate(SWEEP_COLUMNS):
            pv = paper[i] if paper else None
            value = r[key]
            rows.append(ResultRow(chapter, f"E12.theta{r['threshold']:g}.{key}", f"sweep θ = {r['threshold']:g}: {key}",
                                  pv, None if np.isnan(value) else value, None, label, pretrained, comparison=other,
                                  note="paper: null (empty level)" if paper and pv is None else ""))
    return rows


def null_prose(null_summary: dict[str, tuple[float, float]], trained: dict[str, float], trained_pos: float,
               n_seeds: int, n_tokens: int) -> dict[str, str]:
    """The null-model section: N2123's fire rate over random seeds (mean, SD) and on the trained side under
    |GELU| > 0.1 and GELU > 0.1, with ``null_vs_trained`` ("higher than" / "not higher than")."""
    null_exc = null_summary["exception_fire_rate"][0]
    return {"null_exc": f"{100 * null_exc:.1f} %", "null_exc_sd": f"{100 * null_summary['exception_fire_rate'][1]:.1f}",
            "trained_exc": f"{100 * trained['exception_fire_rate']:.1f} %", "trained_pos": f"{100 * trained_pos:.1f} %",
            "n_seeds": str(n_seeds), "controls_tokens": f"{n_tokens:,}",
            "null_vs_trained": "higher than" if null_exc > trained["exception_fire_rate"] else "not higher than"}


def sweep_prose(claims: dict[str, float | bool]) -> dict[str, str]:
    """The threshold-sweep section from :func:`robustness_claims`; ``sweep_claims`` says whether both hold."""
    both = claims["jaccard_claim_holds"] and claims["spread_claim_holds"]
    spread = float(claims["min_spread"])
    return {"sweep_jmin": f"{claims['min_core_jaccard_mean']:.3f}",
            "sweep_spread": f"{spread:.3f}" if np.isfinite(spread) else "undefined (a level is empty at every θ)",
            "sweep_null": str(claims["n_null_spread"]), "sweep_claims": "hold" if both else "do not both hold"}
