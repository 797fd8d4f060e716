"""The exception handler and its three tiers (paper §3-4; paper-claims E1, E5, E13).

Everything is computed from the one traced pass (:func:`darkness_visible.tracing.harvest.harvest`): N2123's two
regimes under the three published "exception path" definitions, conditional fire rates, Jaccard co-firing
(within exception tokens, the paper's population, and over all tokens), output directions read through the
unembedding with and without ``ln_f``'s bias, norm shares, tier ablations with sequence-level bootstrap CIs,
the Core's Simpson split by consensus level, and Fisher enrichment with Bonferroni correction.

Every firing rule is an explicit :class:`~darkness_visible.tracing.firing.FiringRule` argument (``signed`` named);
every neuron list comes from :mod:`darkness_visible.data.neurons` or is passed in (a planted model's truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from darkness_visible.analysis.consensus import consensus_level
from darkness_visible.data.corpus import dsb_comparison
from darkness_visible.data.neurons import (
    CONSENSUS,
    CORE,
    DIFFERENTIATORS,
    EXCEPTION_NEURON,
    FAITHFUL_CONTROL_DIFFERENTIATORS,
    FAITHFUL_CONTROL_SPECIALISTS,
    HANDLER,
    HANDLER_TIERS,
    NAMED_NEURONS,
    SPECIALISTS,
)
from darkness_visible.io import hub
from darkness_visible.stats.bootstrap import resample_weights
from darkness_visible.stats.cofiring import jaccard_matrix
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule

if TYPE_CHECKING:
    from darkness_visible.models.loading import Subject
    from darkness_visible.tracing.harvest import Harvest

# ----------------------------------------------------------------------------------------------
# N2123's regimes and the three "exception path" definitions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExceptionPath:
    """One definition of the exception path on the indicator's post-GELU activation ``a``.

    Either a firing ``rule`` (``a > θ`` if ``rule.signed`` else ``|a| > θ``) or the top ``top_fraction`` of
    tokens ranked by ``a`` (``signed=True``) or ``|a|`` (``signed=False``). ``source`` says who uses it.
    """

    name: str
    rule: FiringRule | None = None
    top_fraction: float | None = None
    signed: bool = True
    source: str = ""

    def mask(self, acts: np.ndarray) -> np.ndarray:
        """``bool [N]``: which tokens are on the exception path."""
        a = np.asarray(acts, dtype=np.float64)
        if self.rule is not None:
            return np.asarray(self.rule(a), dtype=bool)
        if self.top_fraction is None or not 0 < self.top_fraction < 1:
            raise ValueError(f"{self.name}: give a rule or a top_fraction in (0, 1)")
        score = a if self.signed else np.abs(a)
        return score > np.quantile(score, 1 - self.top_fraction)


#: The canonical exception path: signed GELU > 0.1 (reproduces 11.3-11.55 %; paper-claims §3).
CANONICAL_PATH = ExceptionPath("GELU > 0.1 (FIRE-POS)", rule=FIRE_POS, source="predecessor, TransparentGPT2, tiers")


#: The three published definitions of the exception path, canonical first.
EXCEPTION_PATHS: tuple[ExceptionPath, ...] = (
    CANONICAL_PATH,
    ExceptionPath("GELU > 1.0", rule=FiringRule(1.0, signed=True), source="draft M: 'bimodal minimum'"),
    ExceptionPath("top decile of GELU", top_fraction=0.1, signed=True, source="full version F"),
)
#: N2123's "active" regime, |GELU| > 0.1 (the paper's 70.9 %).
ACTIVE_REGIME = FIRE_ABS


def regimes(acts: np.ndarray, paths: tuple[ExceptionPath, ...] = EXCEPTION_PATHS,
            active: FiringRule = ACTIVE_REGIME) -> pd.DataFrame:
    """Fire rates of the indicator (``acts [N]``) under the active rule and each exception-path definition.

    Columns: ``definition, kind, signed, rate_pct, n_tokens, paper_pct``.
    """
    rows = [{"definition": active.description, "kind": "active regime", "signed": active.signed,
             "rate_pct": 100 * float(np.mean(active(np.asarray(acts)))), "paper_pct": 70.9}]
    for path in paths:
        rows.append({"definition": path.name, "kind": "exception path", "signed": path.signed if path.rule is None
                     else path.rule.signed, "rate_pct": 100 * float(path.mask(acts).mean()), "paper_pct": 11.3})
    table = pd.DataFrame(rows)
    table.insert(4, "n_tokens", len(acts))
    return table


# ----------------------------------------------------------------------------------------------
# Conditional fire rates and Jaccard
# ----------------------------------------------------------------------------------------------


def conditional_rates(fires: np.ndarray, exception: np.ndarray) -> np.ndarray:
    """Fire rate of each column of ``bool [N, k]`` among exception tokens (``bool [N]``): ``[k]`` (NaN if none)."""
    e = np.asarray(exception, dtype=bool)
    if not e.any():
        return np.full(np.shape(fires)[1], np.nan)
    return np.asarray(fires, dtype=bool)[e].mean(0)


def tier_of(tiers: dict[str, tuple[int, ...]]) -> dict[int, str]:
    """Neuron -> tier name."""
    return {n: name for name, members in tiers.items() for n in members}


def rates_table(H: Harvest, exception: np.ndarray, rule: FiringRule = FIRE_POS,
                tiers: dict[str, tuple[int, ...]] = HANDLER_TIERS) -> pd.DataFrame:
    """Per handler neuron: tier, overall rate, conditional rate on the exception path, the paper's value (%)."""
    neurons = [n for members in tiers.values() for n in members]
    fires = H.fires(neurons, rule)
    paper = {n.index: n.cond_fire_pct for n in NAMED_NEURONS}
    owner = tier_of(tiers)
    return pd.DataFrame({
        "neuron": [f"N{n}" for n in neurons], "tier": [owner[n] for n in neurons],
        "rate_pct": 100 * fires.mean(0), "cond_pct": 100 * conditional_rates(fires, exception),
        "paper_cond_pct": [paper.get(n) if H.meta["d_mlp"] == 3072 else None for n in neurons],
    })


def jaccard(fires: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Pairwise Jaccard between the columns of ``bool [N, k]`` (restricted to ``rows`` if given): ``[k, k]``."""
    return jaccard_matrix(fires, rows)


def jaccard_frames(H: Harvest, exception: np.ndarray, rule: FiringRule = FIRE_POS,
                   neurons: tuple[int, ...] = HANDLER) -> dict[str, pd.DataFrame]:
    """Jaccard of the handler neurons within exception tokens (the paper's numbers) and over all tokens."""
    fires = H.fires(list(neurons), rule)
    names = [f"N{n}" for n in neurons]
    return {"within exception tokens": pd.DataFrame(jaccard(fires, exception), names, names),
            "all tokens": pd.DataFrame(jaccard(fires), names, names)}


def jaccard_summary(frames: dict[str, pd.DataFrame], tiers: dict[str, tuple[int, ...]] = HANDLER_TIERS,
                    pairs: tuple[tuple[int, int], ...] = ((EXCEPTION_NEURON, 2910), (584, 2378))) -> pd.DataFrame:
    """Within-tier min / max Jaccard and named pairs, for each population (rows) -> tidy table.

    ``tiers``/``pairs``: the paper's by default; the run's are ``study.tiers`` and ``study.jaccard_pairs``. A tier
    of fewer than two neurons has no pair and no row."""
    rows = []
    for population, J in frames.items():
        for name, members in tiers.items():
            labels = [f"N{n}" for n in members]
            if len(labels) < 2:  # a discovered tier of one neuron (or none) has no pair
                continue
            block = J.loc[labels, labels].to_numpy()
            off = block[~np.eye(len(labels), dtype=bool)]
            rows.append({"population": population, "statistic": f"{name} min", "value": float(np.nanmin(off))})
            rows.append({"population": population, "statistic": f"{name} max", "value": float(np.nanmax(off))})
        for a, b in pairs:
            if f"N{a}" in J.index and f"N{b}" in J.index:
                rows.append({"population": population, "statistic": f"N{a}-N{b}",
                             "value": float(J.loc[f"N{a}", f"N{b}"])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Output directions through the unembedding
# ----------------------------------------------------------------------------------------------

#: The function words of the paper's Core claim ("pushes toward the, in, and, a, ,").
FUNCTION_WORDS: tuple[str, ...] = (" the", " in", " and", " a", ",")


def direction_logits(subject: Subject, vectors: torch.Tensor, mode: str = "ln_f") -> torch.Tensor:
    """Vocabulary scores of residual directions ``[k, d_model] -> [k, vocab]``.

    ``mode``: ``"ln_f"`` = ``ln_f(v) · W_U^T`` (the paper's reading, bias β included); ``"ln_f_no_bias"`` = the
    same minus ``β · W_U^T`` (the frequency prior every direction gets); ``"raw"`` = ``v · W_U^T``.
    """
    ln = subject.hf.transformer.ln_f
    w_u = subject.w_u
    with torch.inference_mode():
        v = vectors.to(w_u.dtype)
        if mode == "raw":
            return v @ w_u.T
        normed = ln(v)
        if mode == "ln_f_no_bias":
            normed = normed - ln.bias
        elif mode != "ln_f":
            raise ValueError(f"mode must be 'ln_f', 'ln_f_no_bias' or 'raw', got {mode!r}")
        return normed @ w_u.T


def bias_prior(subject: Subject) -> torch.Tensor:
    """``β · W_U^T``: the logits ``ln_f``'s bias adds to *every* direction, ``[vocab]``."""
    with torch.inference_mode():
        return subject.hf.transformer.ln_f.bias @ subject.w_u.T


def ln_f_bias_norm(subject: Subject) -> float:
    """‖β‖ of the final LayerNorm (0 for a randomly initialised model)."""
    return float(subject.hf.transformer.ln_f.bias.detach().norm())


def token_ids(subject: Subject, words: tuple[str, ...]) -> list[int]:
    """Single-token ids of ``words`` (``ValueError`` if one is not a single token)."""
    ids = []
    for w in words:
        enc = subject.tokenizer(w, add_special_tokens=False)["input_ids"]
        if len(enc) != 1:
            raise ValueError(f"{w!r} is {len(enc)} tokens, not one")
        ids.append(enc[0])
    return ids


def top_tokens(subject: Subject, neurons: tuple[int, ...], layer: int | None = None, mode: str = "ln_f",
               k: int = 6) -> pd.DataFrame:
    """Top promoted / suppressed tokens of each neuron's output direction ``w_n`` read with ``mode``."""
    logits = direction_logits(subject, subject.w_out(layer)[list(neurons)], mode)
    rows = []
    for n, row in zip(neurons, logits, strict=True):
        up = torch.topk(row, k).indices.tolist()
        down = torch.topk(-row, k).indices.tolist()
        rows.append({"neuron": f"N{n}", "mode": mode,
                     "promotes": " | ".join(repr(subject.tokenizer.decode([t])) for t in up),
                     "suppresses": " | ".join(repr(subject.tokenizer.decode([t])) for t in down)})
    return pd.DataFrame(rows)


def function_word_scores(subject: Subject, neurons: tuple[int, ...], layer: int | None = None,
                         mode: str = "ln_f", words: tuple[str, ...] = FUNCTION_WORDS) -> pd.DataFrame:
    """z-score (within the neuron's vocabulary scores) of each function word: ``[neurons × words]``.

    Positive = the direction promotes the word relative to the average token.
    """
    logits = direction_logits(subject, subject.w_out(layer)[list(neurons)], mode).double()
    z = (logits - logits.mean(1, keepdim=True)) / logits.std(1, keepdim=True)
    ids = token_ids(subject, words)
    return pd.DataFrame(z[:, ids].cpu().numpy(), index=[f"N{n}" for n in neurons], columns=[repr(w) for w in words])


# ----------------------------------------------------------------------------------------------
# Norm shares
# ----------------------------------------------------------------------------------------------


def norm_shares(H: Harvest, exception: np.ndarray) -> pd.DataFrame:
    """Each tier's share of the MLP output on exception tokens, three ways (paper-claims E1 step 8, [UNSPEC]).

    ``share_of_norms_pct`` = Σ_t ‖T_tier‖ / Σ_t Σ_tiers ‖T‖ (tiers + residual sum to 100, like 54/23/4/19);
    ``mean_norm_ratio_pct`` = mean_t ‖T_tier‖ / ‖m‖; ``mean_cos`` = mean_t cos(T_tier, m);
    ``projection_pct`` = mean_t ⟨T_tier, m⟩ / ‖m‖² (with b_out's share, sums to 100).
    """
    e = np.asarray(exception, dtype=bool)
    norms = H["tier_norm"][e].astype(np.float64)
    dots = H["tier_dot"][e].astype(np.float64)
    m = H["mlp_norm"][e].astype(np.float64)[:, None]
    names = H.meta["tier_names"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(norms > 0, dots / (norms * m), 0.0)
    paper = {"core": 54.0, "differentiator": 23.0, "specialist": 4.0, "residual": 19.0}
    return pd.DataFrame({
        "tier": names, "share_of_norms_pct": 100 * norms.sum(0) / norms.sum(),
        "mean_norm_ratio_pct": 100 * (norms / m).mean(0), "mean_cos": cos.mean(0),
        "projection_pct": 100 * (dots / m**2).mean(0),
        "paper_pct": [paper.get(n) if H.meta["d_mlp"] == 3072 else None for n in names],
    })


# ----------------------------------------------------------------------------------------------
# Ablation perplexity with a sequence-level bootstrap
# ----------------------------------------------------------------------------------------------

#: Table 3's rows: variant name in the harvest -> (label, paper Δ%, paper CI).
PAPER_ABLATIONS: dict[str, tuple[str, float, tuple[float, float]]] = {
    "no_core": ("Core (5)", 0.2, (0.1, 0.4)),
    "no_differentiator": ("Differentiators (10)", 1.3, (0.9, 1.7)),
    "no_specialist": ("Specialists (5)", -0.3, (-0.6, -0.1)),
    "no_handler": ("all 20", 2.1, (1.6, 2.5)),
}
def window_nll(H: Harvest, variant: str = "full", rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per window: summed NLL and count of scored positions, ``([W], [W])``.

    Scored = ``H.within_window`` (1,023 per 1,024-token window, the PPL harness's 204,600 convention),
    further restricted to ``rows`` (``bool [N]``) if given.
    """
    keep = H.within_window & (True if rows is None else np.asarray(rows, dtype=bool))
    n_windows = int(H.window_index.max()) + 1
    nll = -H.logprob(variant).astype(np.float64)
    sums = np.bincount(H.window_index[keep], weights=nll[keep], minlength=n_windows)
    counts = np.bincount(H.window_index[keep], minlength=n_windows).astype(np.float64)
    return sums, counts


def perplexity(sums: np.ndarray, counts: np.ndarray) -> float:
    """``exp(Σ NLL / Σ count)``."""
    return float(np.exp(np.sum(sums) / np.sum(counts)))


def ppl_ratio_draws(base: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
                    weights: np.ndarray) -> np.ndarray:
    """Bootstrap draws of ``PPL_other / PPL_base`` from per-window NLL sums and counts: ``[n_boot]``.

    ``weights [n_boot, W]``: multinomial window counts from :func:`darkness_visible.stats.bootstrap.resample_weights`;
    the same windows are drawn for both (paired).
    """
    w = weights.astype(np.float64)
    count = w @ base[1]
    other_count = w @ other[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(w @ other[0] / other_count - w @ base[0] / count)


def ablation_table(H: Harvest, variants: tuple[str, ...] | None = None, n_boot: int = 10_000, seed: int = 42,
                   rows: np.ndarray | None = None, level: float = 0.95) -> pd.DataFrame:
    """Perplexity change of each ablation variant with a sequence-level (window) bootstrap percentile CI.

    Columns: ``variant, ablation, ppl_base, ppl, delta_pct, ci_low, ci_high, n_scored, paper_delta_pct``.
    """
    variants = variants or tuple(v for v in PAPER_ABLATIONS if v in H.variants)
    base = window_nll(H, "full", rows)
    weights = resample_weights(np.random.default_rng(seed), len(base[0]), n_boot)
    out = []
    tail = 100 * (1 - level) / 2
    for v in variants:
        other = window_nll(H, v, rows)
        draws = 100 * (ppl_ratio_draws(base, other, weights) - 1)
        draws = draws[np.isfinite(draws)]
        label, paper, _ = PAPER_ABLATIONS.get(v, (v, None, None))
        out.append({"variant": v, "ablation": label, "ppl_base": perplexity(*base), "ppl": perplexity(*other),
                    "delta_pct": 100 * (perplexity(*other) / perplexity(*base) - 1),
                    "ci_low": float(np.percentile(draws, tail)), "ci_high": float(np.percentile(draws, 100 - tail)),
                    "n_scored": int(base[1].sum()), "paper_delta_pct": paper if H.meta["d_mlp"] == 3072 else None})
    return pd.DataFrame(out)


#: The paper's Core ablation by consensus level (``data/core_ablation_summary.md``): level -> (base, ablated, Δ%).
PAPER_CORE_BY_LEVEL: dict[int, tuple[float, float, float]] = {
    0: (11.30, 11.34, 0.3), 1: (7.50, 7.65, 1.9), 2: (8.95, 9.10, 1.6), 3: (10.24, 10.49, 2.4),
    4: (15.90, 16.16, 1.6), 5: (25.07, 25.34, 1.1), 6: (35.28, 35.30, 0.0), 7: (40.48, 40.32, -0.4),
}


def simpson_table(H: Harvest, variant: str = "no_core", rule: FiringRule = FIRE_ABS,
                  consensus: tuple[int, ...] = CONSENSUS) -> pd.DataFrame:
    """Perplexity with and without the ablation per consensus level (scored positions only) and overall.

    Columns: ``level, n_scored, share_pct, ppl_base, ppl_ablated, delta_pct, paper_delta_pct``.
    """
    level = consensus_level(H, consensus, rule)
    rows = []
    total = window_nll(H, "full")[1].sum()
    paper = H.meta["d_mlp"] == 3072 and tuple(consensus) == CONSENSUS
    for k in range(len(consensus) + 1):
        at = level == k
        base, abl = window_nll(H, "full", at), window_nll(H, variant, at)
        n = int(base[1].sum())
        b = perplexity(*base) if n else np.nan
        a = perplexity(*abl) if n else np.nan
        rows.append({"level": f"{k}/{len(consensus)}", "n_scored": n, "share_pct": 100 * n / total,
                     "ppl_base": b, "ppl_ablated": a, "delta_pct": 100 * (a / b - 1) if n else np.nan,
                     "paper_delta_pct": PAPER_CORE_BY_LEVEL[k][2] if paper else None})
    b, a = perplexity(*window_nll(H, "full")), perplexity(*window_nll(H, variant))
    rows.append({"level": "all", "n_scored": int(total), "share_pct": 100.0, "ppl_base": b, "ppl_ablated": a,
                 "delta_pct": 100 * (a / b - 1), "paper_delta_pct": 0.2 if paper else None})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Fisher enrichment (E13)
# ----------------------------------------------------------------------------------------------


def enrichment_lists(mode: str = "corrected") -> list[tuple[int, str]]:
    """The 27 routing ids with tier labels: ``"corrected"`` (the paper's lists) or ``"faithful"`` (the wrong
    Differentiator/Specialist lists of the original control script, paper-claims §2)."""
    if mode == "corrected":
        tiers = {"core": CORE, "differentiator": DIFFERENTIATORS, "specialist": SPECIALISTS, "consensus": CONSENSUS}
    elif mode == "faithful":
        tiers = {"core": CORE, "differentiator": FAITHFUL_CONTROL_DIFFERENTIATORS,
                 "specialist": FAITHFUL_CONTROL_SPECIALISTS, "consensus": CONSENSUS}
    else:
        raise ValueError(f"mode must be 'corrected' or 'faithful', got {mode!r}")
    return [(n, name) for name, members in tiers.items() for n in members]


def fire_counts(H: Harvest, rule: FiringRule, condition: np.ndarray, chunk: int = 16_384) -> tuple[np.ndarray, ...]:
    """Per neuron: tokens firing overall and within ``condition`` (``bool [N]``), chunked over rows: ``([F], [F])``."""
    cond = np.asarray(condition, dtype=bool)
    total = np.zeros(H.meta["d_mlp"], dtype=np.int64)
    inside = np.zeros_like(total)
    for lo in range(0, H.n_tokens, chunk):
        rows = np.arange(lo, min(lo + chunk, H.n_tokens))
        m = H.mask(rule, rows)
        total += m.sum(0)
        inside += m[cond[rows]].sum(0)
    return total, inside


#: P's Table 7 (enrichment ×) and the JSON's values (``enrichment_stats.json``) for the neurons it names.
PAPER_ENRICHMENT: dict[int, tuple[float, float]] = {
    2123: (1.41, 1.4539), 584: (1.33, 1.2342), 2378: (1.30, 1.1728), 737: (1.22, 1.0921),
    611: (1.07, 1.0478), 1602: (1.08, 1.0114),
}
def fisher_enrichment_table(H: Harvest, condition: np.ndarray, rule: FiringRule = FIRE_ABS, mode: str = "corrected",
                     alpha: float = 0.05) -> pd.DataFrame:
    """Fisher's exact test (one-sided, ``greater``) of every neuron's firing under ``condition``, Bonferroni over
    all ``d_mlp`` neurons (statsmodels ``multipletests``); the rows of the 27 listed ids (``mode``) are returned.

    Columns: ``neuron, tier, base_rate, exc_rate, enrichment, p_value, p_bonferroni, significant, a, b, c, d,
    paper_enrichment, json_enrichment``.
    """
    from scipy.stats import fisher_exact
    from statsmodels.stats.multitest import multipletests

    cond = np.asarray(condition, dtype=bool)
    total, inside = fire_counts(H, rule, cond)
    n, n_exc = H.n_tokens, int(cond.sum())
    p = np.array([fisher_exact([[inside[i], n_exc - inside[i]], [total[i] - inside[i],
                                n - n_exc - total[i] + inside[i]]], alternative="greater")[1]
                  for i in range(len(total))])
    reject, p_adj, _, _ = multipletests(p, alpha=alpha, method="bonferroni")
    rows = []
    gpt2 = H.meta["d_mlp"] == 3072
    for i, tier in enrichment_lists(mode):
        base = total[i] / n
        exc = inside[i] / max(n_exc, 1)
        paper = PAPER_ENRICHMENT.get(i, (None, None)) if gpt2 else (None, None)
        rows.append({"neuron": f"N{i}", "tier": tier, "base_rate": base, "exc_rate": exc,
                     "enrichment": exc / base if base > 0 else np.nan, "p_value": p[i], "p_bonferroni": p_adj[i],
                     "significant": bool(reject[i]), "a": int(inside[i]), "b": int(n_exc - inside[i]),
                     "c": int(total[i] - inside[i]), "d": int(n - n_exc - total[i] + inside[i]),
                     "paper_enrichment": paper[0], "json_enrichment": paper[1]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# The whole chapter's analysis and its scorecard rows
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierResults:
    """Every table of the chapter, computed from one harvest (``label``/``pretrained`` from it)."""

    label: str
    pretrained: bool
    regimes: pd.DataFrame
    rates: pd.DataFrame
    jaccard: dict[str, pd.DataFrame]
    jaccard_summary: pd.DataFrame
    shares: pd.DataFrame
    ablation: pd.DataFrame
    simpson: pd.DataFrame
    enrichment: dict[str, pd.DataFrame] = field(default_factory=dict)
    discovery: Any = None
    recovered: int | None = None
    enrichment_corpus: dict[str, Any] | None = None


def enrichment_comparison(corpus: dict[str, Any] | None) -> str:
    """``""`` when E13's harvest read DS-B (its ``meta["corpus"]``), else the "different corpus" note
    (:func:`darkness_visible.data.corpus.dsb_comparison`, the rule E11 and E12 share)."""
    return dsb_comparison(corpus, missing="the chapter's corpus")


def analyse(H: Harvest, exception_rule: FiringRule = FIRE_POS, indicator: int = EXCEPTION_NEURON,
            tiers: dict[str, tuple[int, ...]] = HANDLER_TIERS, consensus: tuple[int, ...] = CONSENSUS,
            n_boot: int = 10_000, seed: int = 42, enrichment: bool = True) -> TierResults:
    """Run every tier analysis on a harvest. ``exception_rule`` defines the exception path (canonical: FIRE-POS)."""
    acts = H.recorded(indicator)
    exception = np.asarray(exception_rule(acts), dtype=bool)
    handler = tuple(n for members in tiers.values() for n in members)
    frames = jaccard_frames(H, exception, exception_rule, handler)
    pairs = ((indicator, tiers["core"][1]),) + (((584, 2378),) if 584 in handler and 2378 in handler else ())
    enrich = {}
    if enrichment and H.meta["d_mlp"] == 3072:
        abs_condition = np.asarray(FIRE_ABS(acts), dtype=bool)
        enrich = {
            "faithful (wrong lists, FIRE-ABS condition)": fisher_enrichment_table(H, abs_condition, FIRE_ABS,
                                                                                  "faithful"),
            "corrected (paper lists, FIRE-ABS condition)": fisher_enrichment_table(H, abs_condition, FIRE_ABS),
        }
    return TierResults(H.label, H.is_pretrained, regimes(acts), rates_table(H, exception, exception_rule, tiers),
                       frames, jaccard_summary(frames, tiers, pairs), norm_shares(H, exception),
                       ablation_table(H, n_boot=n_boot, seed=seed), simpson_table(H, consensus=consensus), enrich)


def train_harvest(run: Any) -> Harvest | None:
    """The same harvest on the WikiText-103 *train* split when the hub is reachable (None otherwise).

    ``run``: the chapter's :class:`darkness_visible.book.Run` (anything with ``harvest(corpus=)`` and ``corpus``).
    """
    from darkness_visible.data.corpus import corpus_spec

    if not hub.reachable():
        return None
    try:
        return run.harvest(corpus=corpus_spec(run.corpus.n_windows, split="train", source="hub"))
    except Exception:  # noqa: BLE001 - any hub failure means "not run"; the chapter says so
        return None


# ----------------------------------------------------------------------------------------------
# Prose values for the chapter: one call per section, wording that follows the numbers
# ----------------------------------------------------------------------------------------------
