""""Knowledge neurons" at layer 11, reproduced and stress-tested (paper §5.2 and apps. B-C).

Balogh (2026) runs a Dai et al. (2022)-style integrated-gradients (IG) attribution on GPT-2 Small's last
MLP and finds that the top-attributed neurons are largely the routing neurons of the exception handler;
zeroing them *raises* the target's probability; transplanting them moves no fact; and the raw output
weights of the layer's neurons do not spell out facts (paper-claims §6 E6, E8, E16). This module
computes all of it from nnsight traces:

* :func:`integrated_gradients`: IG over the post-GELU activations (or the pre-activations, for the
  hook-point side note) from a zero baseline, a left Riemann sum over ``steps`` values of α, **batched
  in one nnsight trace with gradients**: the batch holds one α-scaled copy of the prompt per step (plus
  α = 1 for the completeness check), the hooked module's output is replaced by ``α·a*`` per row, and one
  backward pass gives every row's gradient. Targets: the raw logit (the paper's code) and the
  probability (Dai et al.), in the same trace. :func:`integrated_gradients_loop` is the per-step
  reference.
* :func:`overlap_table`, :func:`enrichment`, :func:`recurring_neurons`, :func:`matched_baseline`:
  overlap with the 27 routing / 7 consensus neurons against uniform and magnitude-matched chance.
* :func:`knockout`: target probability with neuron sets zeroed and with attention heads removed
  (one trace per prompt, one batch row per condition); :func:`bootstrap_ci` over prompts.
* :func:`transplant`: the country-capital activation transplant.
* :func:`extraction`: the 160-prompt static / context accumulation, in the code's and the paper's
  stated variants.
* :func:`progressive_prediction`: the tier-by-tier walk-through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from darkness_visible.data.corpus import encode
from darkness_visible.data.neurons import (
    CONSENSUS,
    HANDLER_TIERS,
    ROUTING,
    check_indices,
    neuron,
)
from darkness_visible.data.prompts import ExtractionPrompt, FactPrompt, TransplantPair
from darkness_visible.io.cache import cached_arrays
from darkness_visible.models.loading import Subject
from darkness_visible.tracing.harvest import decompose, trace_batch

Score = Literal["logit", "prob"]
Hook = Literal["act", "c_fc"]

#: The paper's IG settings: 50 steps, top 20 (paper-claims §0 item 8).
PAPER_STEPS = 50
PAPER_TOP_K = 20
#: The rounded chance rate the paper divided by to get "36.5x" (paper-claims E8, discrepancy 15).
PAPER_ROUNDED_CHANCE = 0.2
#: The knowledge-extraction checkpoints (number of neurons accumulated; the last means "all").
CHECKPOINTS: tuple[int, ...] = (10, 25, 50, 100, 250, 500, 1000, 1500, 2000, 2500, 3072)


# --------------------------------------------------------------------------------------------------
# Integrated gradients
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IGConfig:
    """Integrated-gradients settings. ``scores``: which target scores to attribute (one trace for all);
    ``hook``: ``"act"`` scales the post-GELU activations (the paper), ``"c_fc"`` the pre-activations
    (EleutherAI's knowledge-neurons package for GPT-2); ``layer``: ``None`` = the last block."""

    steps: int = PAPER_STEPS
    top_k: int = PAPER_TOP_K
    scores: tuple[Score, ...] = ("logit", "prob")
    hook: Hook = "act"
    layer: int | None = None


@dataclass(frozen=True)
class Attribution:
    """IG of one prompt for one score. Arrays are numpy ``[d_mlp]`` except ``path`` ``[steps + 1]``.

    ``activation``: the hooked quantity at the last position (``a*``); ``mean_grad``: the Riemann mean of
    the score's gradient over α = k/steps, k = 0..steps-1; ``attribution = activation * mean_grad``;
    ``path``: the score at α = 0, 1/steps, ..., (steps-1)/steps and finally α = 1.
    """

    prompt: str
    target: str
    target_id: int
    score: Score
    hook: Hook
    steps: int
    activation: np.ndarray
    mean_grad: np.ndarray
    attribution: np.ndarray
    path: np.ndarray

    @property
    def s0(self) -> float:
        """Score at the zero baseline (α = 0)."""
        return float(self.path[0])

    @property
    def s1(self) -> float:
        """Score of the clean model (α = 1)."""
        return float(self.path[-1])

    @property
    def completeness_gap(self) -> float:
        """``Σ attribution − (s(1) − s(0))``: the Riemann error (0 for an exact integral)."""
        return float(self.attribution.sum(dtype=np.float64) - (self.s1 - self.s0))

    def top(self, k: int = PAPER_TOP_K) -> tuple[int, ...]:
        """The ``k`` neurons with the largest |attribution|, in descending order."""
        order = np.argsort(-np.abs(self.attribution), kind="stable")
        return tuple(int(i) for i in order[:k])


def target_id(subject: Subject, text: str) -> int:
    """The first BPE token of ``text`` (the paper's target convention; pass the leading space)."""
    return encode(subject.tokenizer, text, subject.n_ctx)[0]


@contextlib.contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """Switch off ``requires_grad`` of all parameters (restored on exit): gradients flow only to the
    leaf we create, nothing accumulates in ``.grad`` of the weights."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _ig_trace(subject: Subject, ids: list[int], tid: int, alphas: torch.Tensor, scores: Sequence[Score],
              hook: Hook, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One nnsight trace over ``len(scores) × len(alphas)`` α-scaled copies of the prompt.

    Row ``g·A + j`` has the hooked output replaced by ``alphas[j] · x*`` (a leaf requiring grad) and is
    scored with ``scores[g]`` at the last position. Returns ``x*`` ``[T, d_mlp]``, the scores
    ``[G·A]`` and the gradients at the last position ``[G·A, d_mlp]``.
    """
    model = subject.model
    n_alpha = len(alphas)
    alpha = alphas.to(torch.float32).to(subject.device).repeat(len(scores))
    # At the last block everything after the MLP is position-wise and GPT-2 reshapes with a free batch
    # dimension, so one copy of the prompt runs through layers 0..L and the α-scaled rows are created at
    # the hook (broadcast against the residual). Elsewhere, the batch holds one copy per α.
    expand = layer == subject.n_layers - 1
    batch = torch.tensor([ids], dtype=torch.long, device=subject.device).repeat(1 if expand else len(alpha), 1)
    with _frozen(subject.hf), torch.enable_grad(), model.trace(batch, logits_to_keep=1):
        mlp = model.transformer.h[layer].mlp
        module = mlp.act if hook == "act" else mlp.c_fc
        clean = module.output
        x_star = clean[0].detach().save()
        scaled = (clean[:1].detach() * alpha[:, None, None]).requires_grad_(True)
        module.output = scaled
        last = model.lm_head.output[:, -1, :]
        parts = []
        for g, score in enumerate(scores):
            rows = last[g * n_alpha:(g + 1) * n_alpha]
            parts.append(rows[:, tid] if score == "logit" else torch.softmax(rows, dim=-1)[:, tid])
        values = torch.cat(parts)
        saved_values = values.detach().save()
        with values.sum().backward():
            grads = scaled.grad[:, -1, :].save()
    return x_star, saved_values, grads


def _alphas(steps: int) -> torch.Tensor:
    """α = k/steps for k = 0..steps-1 (the left Riemann sum), then α = 1 for the clean score."""
    return torch.cat([torch.arange(steps, dtype=torch.float32) / steps, torch.ones(1)])


def _package(prompt: str, target: str, tid: int, config: IGConfig, x_star: torch.Tensor, values: torch.Tensor,
             grads: torch.Tensor) -> dict[Score, Attribution]:
    out: dict[Score, Attribution] = {}
    a = config.steps + 1
    act = x_star[-1].double().cpu().numpy()
    for g, score in enumerate(config.scores):
        grad = grads[g * a:(g + 1) * a][: config.steps].double().mean(0).cpu().numpy()
        out[score] = Attribution(prompt, target, tid, score, config.hook, config.steps, act.astype(np.float32),
                                 grad.astype(np.float32), (act * grad).astype(np.float32),
                                 values[g * a:(g + 1) * a].double().cpu().numpy())
    return out


def integrated_gradients(subject: Subject, prompt: str, target: str,
                         config: IGConfig = IGConfig()) -> dict[Score, Attribution]:
    """IG of the last position's target score w.r.t. layer-L MLP neurons, batched in ONE traced pass.

    The hooked module's output (every position, as in the paper's code) is scaled by α from a zero
    baseline; attribution_n = x*_n · (1/steps) Σ_k ∂s/∂x_n (α_k x*) at the last position. ``target``
    is the text whose first token is scored (include the leading space).

    Returns one :class:`Attribution` per score in ``config.scores``.
    """
    layer = subject.layer_index(config.layer)
    ids = encode(subject.tokenizer, prompt, subject.n_ctx)
    tid = target_id(subject, target)
    x_star, values, grads = _ig_trace(subject, ids, tid, _alphas(config.steps), config.scores, config.hook, layer)
    return _package(prompt, target, tid, config, x_star, values, grads)


def integrated_gradients_loop(subject: Subject, prompt: str, target: str,
                              config: IGConfig = IGConfig()) -> dict[Score, Attribution]:
    """The same IG as :func:`integrated_gradients`, one traced forward+backward per α (the reference)."""
    layer = subject.layer_index(config.layer)
    ids = encode(subject.tokenizer, prompt, subject.n_ctx)
    tid = target_id(subject, target)
    values, grads, x_star = [], [], None
    for score in config.scores:
        for alpha in _alphas(config.steps):
            x, v, g = _ig_trace(subject, ids, tid, alpha.reshape(1), (score,), config.hook, layer)
            x_star = x
            values.append(v)
            grads.append(g)
    return _package(prompt, target, tid, config, x_star, torch.cat(values), torch.cat(grads))


def attribute_prompts(subject: Subject, prompts: Sequence[FactPrompt], config: IGConfig = IGConfig(),
                      cache: str | Path | bool | None = None) -> dict[Score, list[Attribution]]:
    """:func:`integrated_gradients` for every prompt (one trace each); per score, a list in prompt order.

    The attributions are cached (``cache`` as for the harvest: ``None`` = ``DV_CACHE``, ``False`` = none),
    keyed by the model (weights by content), the prompts and ``config``, so a warm rebuild of chapter 04
    reads them instead of running 20 × 2 × 51 forward-and-backward rows again.
    """
    layer = subject.layer_index(config.layer)
    material = {"model": subject.spec.key(), "layer": layer, "config": asdict(config),
                "prompts": [[p.prompt, p.target] for p in prompts], "what": "integrated gradients"}

    def compute() -> dict[str, np.ndarray]:
        runs = [integrated_gradients(subject, p.prompt, p.target, config) for p in prompts]
        arrays = {"target_id": np.array([next(iter(r.values())).target_id for r in runs], dtype=np.int64)}
        for score in config.scores:
            for field in ("activation", "mean_grad", "attribution", "path"):
                arrays[f"{score}.{field}"] = np.stack([getattr(r[score], field) for r in runs])
        return arrays

    arrays = cached_arrays(cache, material, "ig", compute) if prompts else {}
    return {score: [Attribution(p.prompt, p.target, int(arrays["target_id"][i]), score, config.hook, config.steps,
                                *(arrays[f"{score}.{field}"][i] for field in ("activation", "mean_grad",
                                                                                "attribution", "path")))
                    for i, p in enumerate(prompts)]
            for score in config.scores}


def completeness_table(attrs: Sequence[Attribution]) -> pd.DataFrame:
    """Per prompt: Σ attribution, s(1) − s(0) and their gap (the left-Riemann error)."""
    return pd.DataFrame({
        "prompt": [a.prompt for a in attrs],
        "sum of attributions": [float(a.attribution.sum(dtype=np.float64)) for a in attrs],
        "s(1) - s(0)": [a.s1 - a.s0 for a in attrs],
        "gap": [a.completeness_gap for a in attrs],
    })


# --------------------------------------------------------------------------------------------------
# Overlap with the routing circuit
# --------------------------------------------------------------------------------------------------


def overlap_table(attrs: Sequence[Attribution], k: int = PAPER_TOP_K, routing: Sequence[int] = ROUTING,
                  consensus: Sequence[int] = CONSENSUS) -> pd.DataFrame:
    """Per prompt: how many of the top-``k`` are routing / consensus neurons, and which.

    Columns: ``prompt, target, routing, consensus, residual`` (= k − routing), ``routing_neurons``.
    """
    rows = []
    for a in attrs:
        top = a.top(k)
        hit = [n for n in top if n in set(routing)]
        rows.append({"prompt": a.prompt, "target": a.target, "routing": len(hit),
                     "consensus": len(set(top) & set(consensus)), "residual": k - len(hit),
                     "routing_neurons": " ".join(f"N{n}" for n in hit)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class OverlapEnrichment:
    """Mean overlap of a top-k list with a neuron set, against uniform chance ``k·|set|/d_mlp``."""

    mean_overlap: float
    k: int
    set_size: int
    d_mlp: int
    rounded_chance: float = PAPER_ROUNDED_CHANCE

    @property
    def chance(self) -> float:
        """Exact expected overlap of ``k`` neurons drawn uniformly: ``k·|set|/d_mlp``."""
        return self.k * self.set_size / self.d_mlp

    @property
    def ratio(self) -> float:
        """Enrichment over the exact chance rate."""
        return self.mean_overlap / self.chance

    @property
    def ratio_rounded(self) -> float:
        """Enrichment over the paper's rounded chance rate (0.2): how "36.5×" was computed."""
        return self.mean_overlap / self.rounded_chance


def overlap_enrichment(table: pd.DataFrame, column: str = "routing", k: int = PAPER_TOP_K, set_size: int = len(ROUTING),
               d_mlp: int = 3072) -> OverlapEnrichment:
    """:class:`OverlapEnrichment` of ``table[column]`` (from :func:`overlap_table`) over uniform chance."""
    return OverlapEnrichment(float(table[column].mean()), k, set_size, d_mlp)


def recurring_neurons(attrs: Sequence[Attribution], k: int = PAPER_TOP_K) -> pd.DataFrame:
    """How many prompts have each neuron in their top-``k``; columns ``neuron, prompts, tier``,
    most frequent first (tier ``"-"`` for unnamed neurons)."""
    counts: dict[int, int] = {}
    for a in attrs:
        for n in a.top(k):
            counts[n] = counts.get(n, 0) + 1
    rows = []
    for n, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        try:
            tier = neuron(n).tier
        except KeyError:
            tier = "-"
        rows.append({"neuron": n, "prompts": c, "tier": tier})
    return pd.DataFrame(rows, columns=["neuron", "prompts", "tier"])


@dataclass(frozen=True)
class MatchedBaseline:
    """Routing overlap expected of neurons matched to each top-k neuron in |a*| and |gradient|.

    ``expected``: ``[P]`` expected member count per prompt; ``draws``: ``[n_draws]`` the mean over prompts
    of one random matched draw each; ``observed``: the mean observed overlap.
    """

    expected: np.ndarray
    draws: np.ndarray
    observed: float
    n_neighbours: int

    @property
    def chance(self) -> float:
        """Mean expected overlap of the matched neurons (the matched chance rate)."""
        return float(self.expected.mean())

    @property
    def ratio(self) -> float:
        """Observed mean overlap over matched chance."""
        return self.observed / self.chance if self.chance > 0 else float("inf")

    @property
    def p_value(self) -> float:
        """Share of matched draws whose mean overlap reaches the observed one (one-sided, +1 smoothed)."""
        return float((1 + np.sum(self.draws >= self.observed)) / (1 + len(self.draws)))


def matched_baseline(attrs: Sequence[Attribution], k: int = PAPER_TOP_K, members: Sequence[int] = ROUTING,
                     n_neighbours: int = 50, n_draws: int = 2000, seed: int = 0) -> MatchedBaseline:
    """Enrichment against neurons of matched magnitude rather than uniform ones.

    The top-k by |attribution| are the neurons with large |a*|·|mean gradient|; if routing neurons are
    simply the loudest neurons, uniform chance overstates the enrichment. For each prompt every neuron is
    placed at its percentile ranks of |a*| and |mean gradient| (within the prompt); each top-k neuron is
    matched to its ``n_neighbours`` nearest non-top-k neurons in that plane. The expected overlap is
    the sum over top-k neurons of the member share among their neighbours; a draw picks one neighbour
    per top-k neuron uniformly. (Choice of this book: the paper says a matched baseline "would be lower"
    but does not define it.)
    """
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    expected, draw_counts, observed = [], [], []
    for a in attrs:
        d = a.attribution.shape[0]
        is_member = np.zeros(d, dtype=bool)
        is_member[list(members)] = True
        plane = np.stack([rankdata(np.abs(a.activation)), rankdata(np.abs(a.mean_grad))], 1) / d
        top = np.array(a.top(k))
        rest = np.setdiff1d(np.arange(d), top)
        dist = ((plane[top, None, :] - plane[None, rest, :]) ** 2).sum(-1)  # [k, d - k]
        near = rest[np.argsort(dist, axis=1, kind="stable")[:, :n_neighbours]]  # [k, n_neighbours]
        expected.append(is_member[near].mean(1).sum())
        pick = near[np.arange(len(top))[None, :], rng.integers(0, near.shape[1], size=(n_draws, len(top)))]
        draw_counts.append(is_member[pick].sum(1))
        observed.append(is_member[top].sum())
    return MatchedBaseline(np.array(expected), np.mean(draw_counts, axis=0), float(np.mean(observed)), n_neighbours)


# --------------------------------------------------------------------------------------------------
# Knockout and transplant
# --------------------------------------------------------------------------------------------------

#: A knockout condition: a tuple of neurons to zero, or ``("heads", h1, h2, ...)`` for attention heads.
Condition = tuple


def heads(*indices: int) -> Condition:
    """A knockout condition removing attention heads of the layer (``heads(*range(12))`` = all 12)."""
    return ("heads", *indices)


def knockout(subject: Subject, prompt: str, target: str, conditions: dict[str, Condition],
             layer: int | None = None) -> dict[str, float]:
    """Target probability at the last position, clean (``"baseline"``) and under each condition.

    One nnsight trace; row 0 is clean and row i the i-th condition. Neuron sets are zeroed in the
    post-GELU activations at every position (equivalent to zeroing rows of ``mlp.c_proj.weight``;
    ``b_out`` kept). Heads are removed by zeroing their 64 input features of ``attn.c_proj`` (equivalent
    to zeroing rows ``[64h, 64h+64)`` of ``attn.c_proj.weight``; with all heads the attention output is
    the ``c_proj`` bias).
    """
    L = subject.layer_index(layer)
    ids = encode(subject.tokenizer, prompt, subject.n_ctx)
    tid = target_id(subject, target)
    names = list(conditions)
    cfg = subject.hf.config
    head_dim = cfg.n_embd // cfg.n_head
    head_rows = [(i + 1, c[1:]) for i, c in enumerate(conditions.values()) if c and c[0] == "heads"]
    neuron_rows = [(i + 1, list(c)) for i, c in enumerate(conditions.values()) if not (c and c[0] == "heads")]
    for _, idx in neuron_rows:
        check_indices(idx, subject.d_mlp)
    batch = torch.tensor([ids], dtype=torch.long, device=subject.device).repeat(len(names) + 1, 1)
    model = subject.model
    with torch.no_grad(), model.trace(batch, logits_to_keep=1):
        block = model.transformer.h[L]
        if head_rows:
            z = block.attn.c_proj.input
            for row, hs in head_rows:
                for h in hs:
                    z[row, :, h * head_dim:(h + 1) * head_dim] = 0.0
        if neuron_rows:
            act = block.mlp.act.output
            for row, idx in neuron_rows:
                if idx:
                    act[row, :, idx] = 0.0
        probs = torch.softmax(model.lm_head.output[:, -1, :], dim=-1)[:, tid].save()
    values = probs.tolist()
    return {"baseline": values[0], **{n: values[i + 1] for i, n in enumerate(names)}}


def knockout_table(subject: Subject, attrs: Sequence[Attribution], k: int = PAPER_TOP_K,
                   layer: int | None = None, routing: Sequence[int] = ROUTING,
                   consensus: Sequence[int] = CONSENSUS) -> pd.DataFrame:
    """The paper's four knockouts for each attributed prompt: its own top-k, the consensus (the paper's 7), the
    routing neurons (the paper's 27; pass a run's :class:`~darkness_visible.analysis.study.Study` lists on
    another model), and all attention heads of the layer.

    Columns: ``prompt, target, baseline`` and, per condition, the probability after knockout and
    ``Δ <condition>`` = after − baseline (positive = the probability *rose*; the paper's "+8.0 pp").
    """
    n_head = subject.hf.config.n_head
    rows = []
    for a in attrs:
        conds = {"top-20": a.top(k), "consensus": tuple(consensus), "routing": tuple(routing),
                 "all heads": heads(*range(n_head))}
        p = knockout(subject, a.prompt, a.target, conds, layer)
        row = {"prompt": a.prompt, "target": a.target, "baseline": p["baseline"]}
        for name in conds:
            row[name] = p[name]
            row[f"Δ {name}"] = p[name] - p["baseline"]
        rows.append(row)
    return pd.DataFrame(rows)


def bootstrap_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over the given units (prompts), via ``scipy.stats.bootstrap``."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=np.float64)
    kwargs = dict(confidence_level=confidence, n_resamples=n_resamples, method="percentile")
    try:
        res = bootstrap((data,), np.mean, rng=np.random.default_rng(seed), **kwargs)
    except TypeError:  # scipy < 1.15 names the generator ``random_state``
        res = bootstrap((data,), np.mean, random_state=np.random.default_rng(seed), **kwargs)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def knockout_summary(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Mean Δp per condition with a bootstrap CI over prompts, the paper's mean relative drop
    (``(baseline − after)/max(baseline, 1e-8)``) and how many prompts rose; plus the paired
    difference top-20 − all heads."""
    rows = []
    conds = [c[2:] for c in table.columns if c.startswith("Δ ")]
    for c in conds:
        d = table[f"Δ {c}"].to_numpy()
        rel = ((table["baseline"] - table[c]) / table["baseline"].clip(lower=1e-8)).to_numpy()
        lo, hi = bootstrap_ci(d, seed=seed)
        rows.append({"condition": c, "mean Δp": d.mean(), "ci_low": lo, "ci_high": hi,
                     "mean relative drop": rel.mean(), "prompts rising": int((d > 0).sum()), "n": len(d)})
    if {"top-20", "all heads"} <= set(conds):
        d = (table["Δ top-20"] - table["Δ all heads"]).to_numpy()
        lo, hi = bootstrap_ci(d, seed=seed)
        rows.append({"condition": "top-20 minus all heads (paired)", "mean Δp": d.mean(), "ci_low": lo,
                     "ci_high": hi, "mean relative drop": np.nan, "prompts rising": int((d > 0).sum()),
                     "n": len(d)})
    return pd.DataFrame(rows)


def transplant(subject: Subject, pair: TransplantPair, source: Attribution, k: int = PAPER_TOP_K,
               layer: int | None = None) -> dict[str, object]:
    """Copy the source's top-k activations (last position) into the destination's last position.

    One trace with two rows of the destination prompt (clean, transplanted). Returns the source- and
    destination-target probabilities before and after, the top-1 token after, and ``clean`` = the top-1
    after (stripped) equals the source target (stripped).
    """
    if source.hook != "act":
        raise ValueError("transplant copies post-GELU activations: pass an attribution computed with hook='act'")
    L = subject.layer_index(layer)
    ids = encode(subject.tokenizer, pair.destination.prompt, subject.n_ctx)
    src_id, dst_id = target_id(subject, pair.source.target), target_id(subject, pair.destination.target)
    top = list(source.top(k))
    values = torch.as_tensor(source.activation[top], dtype=torch.float32, device=subject.device)
    batch = torch.tensor([ids], dtype=torch.long, device=subject.device).repeat(2, 1)
    model = subject.model
    with torch.no_grad(), model.trace(batch, logits_to_keep=1):
        act = model.transformer.h[L].mlp.act.output
        act[1, -1, top] = values
        logits = model.lm_head.output[:, -1, :].save()
    probs = torch.softmax(logits, dim=-1)
    top1 = subject.tokenizer.decode([int(probs[1].argmax())])
    return {
        "source": pair.source.prompt, "destination": pair.destination.prompt,
        "source target": pair.source.target, "destination target": pair.destination.target,
        "P(source) before": float(probs[0, src_id]), "P(source) after": float(probs[1, src_id]),
        "P(destination) before": float(probs[0, dst_id]), "P(destination) after": float(probs[1, dst_id]),
        "Δ P(source)": float(probs[1, src_id] - probs[0, src_id]),
        "Δ P(destination)": float(probs[1, dst_id] - probs[0, dst_id]),
        "top-1 after": top1, "clean": top1.strip() == pair.source.target.strip(),
    }


# --------------------------------------------------------------------------------------------------
# Knowledge extraction (160 prompts)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionMethod:
    """How the layer's neuron vectors are accumulated before ``ln_f`` and the unembedding.

    ``weighted``: add ``a_n·w_n`` (context) or ``w_n`` (static); ``order``: ``"norm"`` (‖w_n‖),
    ``"abs_act"`` (|a_n|, the code) or ``"abs_act_norm"`` (|a_n|·‖w_n‖, the paper's text);
    ``residual_only``: accumulate only neurons outside the 27 routing neurons (the paper's text) rather
    than all of them (the code).
    """

    name: str
    weighted: bool
    order: Literal["norm", "abs_act", "abs_act_norm"]
    residual_only: bool = False


#: The code's two passes (all neurons; static by ‖w‖, context by |a|) and the paper's stated variants
#: (residual neurons only; context by |a|·‖w‖).
EXTRACTION_METHODS: tuple[ExtractionMethod, ...] = (
    ExtractionMethod("static", weighted=False, order="norm"),
    ExtractionMethod("context", weighted=True, order="abs_act"),
    ExtractionMethod("static (residual)", weighted=False, order="norm", residual_only=True),
    ExtractionMethod("context (residual, |a|·‖w‖)", weighted=True, order="abs_act_norm", residual_only=True),
)


def _rank(logits: torch.Tensor, tid: int) -> torch.Tensor:
    """1 + number of tokens with a strictly larger logit, per row of ``[..., vocab]``."""
    return 1 + (logits > logits[..., tid : tid + 1]).sum(-1)


def last_position(subject: Subject, texts: Sequence[str], layer: int | None = None,
                  batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``resid_mid`` ``[N, d_model]``, post-GELU activations ``[N, d_mlp]`` and logits ``[N, vocab]`` at
    each text's last token.

    Texts are right-padded into batches of ``batch_size`` (one nnsight trace per batch). With causal
    attention a token never sees later positions, so the padding changes nothing at the positions read
    (the pad id is irrelevant; ``<|endoftext|>`` is used). No BOS is added.
    """
    L = subject.layer_index(layer)
    encoded = [encode(subject.tokenizer, t, subject.n_ctx) for t in texts]
    pad = subject.tokenizer.eos_token_id or 0
    mids, acts, logits = [], [], []
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            width = max(len(ids) for ids in chunk)
            batch = torch.tensor([ids + [pad] * (width - len(ids)) for ids in chunk], device=subject.device)
            traced = trace_batch(subject, batch, L)
            last = torch.tensor([len(ids) - 1 for ids in chunk], device=subject.device)
            rows = torch.arange(len(chunk))
            mids.append(traced.resid_mid[rows, last])
            acts.append(traced.act[rows, last])
            logits.append(traced.logits[rows, last])
    return torch.cat(mids), torch.cat(acts), torch.cat(logits)


def _unembed_ranks(subject: Subject, vectors: torch.Tensor, targets: torch.Tensor,
                   chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank and probability of ``targets[i]`` under ``ln_f(vectors[i]) @ W_U.T``; ``[M, d] -> [M], [M]``.

    Done in large chunks (a few big matrix products instead of many skinny ones)."""
    ranks, probs = [], []
    for start in range(0, len(vectors), chunk):
        logits = subject.unembed(vectors[start:start + chunk])
        t = targets[start:start + chunk, None]
        own = logits.gather(-1, t)
        ranks.append(1 + (logits > own).sum(-1))
        probs.append(torch.exp(own[:, 0] - torch.logsumexp(logits, -1)))
    return torch.cat(ranks), torch.cat(probs)


def extraction(subject: Subject, prompts: Sequence[ExtractionPrompt],
               methods: Sequence[ExtractionMethod] = EXTRACTION_METHODS,
               checkpoints: Sequence[int] = CHECKPOINTS, layer: int | None = None,
               routing: Sequence[int] = ROUTING, batch_size: int = 32) -> pd.DataFrame:
    """Static / context accumulation ranks of each prompt's target (paper-claims E6), forward only.

    For each prompt: a clean trace (prompts batched, see :func:`last_position`) gives the last
    position's ``a`` and logits (``base_rank``). For each method the chosen neurons are sorted and
    accumulated, and at each checkpoint ``ln_f(v) @ W_U.T`` ranks the target (no residual stream, no
    ``b_out``). A checkpoint larger than the set means "all of it".

    Returns a long table: ``index, prompt, target, category, base_rank, base_prob, method, k, rank, prob``.
    """
    L = subject.layer_index(layer)
    w = subject.w_out(L)
    norms = w.norm(dim=-1)
    d = w.shape[0]
    keep_residual = torch.ones(d, dtype=torch.bool)
    keep_residual[[n for n in routing if n < d]] = False
    _, acts, finals = last_position(subject, [p.prompt for p in prompts], L, batch_size)
    tids = torch.tensor([target_id(subject, p.target_text) for p in prompts])
    with torch.inference_mode():
        own = finals.gather(-1, tids[:, None])
        base_rank = 1 + (finals > own).sum(-1)
        base_prob = torch.exp(own[:, 0] - torch.logsumexp(finals, -1))
        tables = []
        for m in methods:
            pool = torch.nonzero(keep_residual if m.residual_only else torch.ones(d, dtype=torch.bool))[:, 0]
            # the whole pool is always a checkpoint ("final"): on a model wider than the paper's 3,072 too
            ks = sorted({min(k, len(pool)) for k in checkpoints} | {len(pool)})
            at = torch.tensor(ks) - 1
            shared = not m.weighted and m.order == "norm"  # static: the same vector for every prompt
            partial = []
            for a in acts[:1] if shared else acts:
                key = {"norm": norms, "abs_act": a.abs(), "abs_act_norm": a.abs() * norms}[m.order][pool]
                order = pool[torch.argsort(key, descending=True, stable=True)]
                contrib = w[order] * (a[order, None] if m.weighted else 1.0)
                partial.append(torch.cumsum(contrib, 0)[at])
            if shared:  # unembed the checkpoints once, rank every prompt's target on them
                logits = subject.unembed(partial[0])  # [C, vocab]
                own = logits[:, tids]  # [C, N]
                ranks = (1 + (logits[:, None, :] > own[:, :, None]).sum(-1)).T.reshape(-1)
                probs = torch.exp(own - torch.logsumexp(logits, -1, keepdim=True)).T.reshape(-1)
            else:
                stack = torch.stack(partial).reshape(-1, w.shape[1])
                ranks, probs = _unembed_ranks(subject, stack, tids.repeat_interleave(len(ks)))
            tables.append(pd.DataFrame({
                "index": np.repeat(np.arange(len(prompts)), len(ks)), "method": m.name,
                "k": np.tile(ks, len(prompts)), "final": np.tile(np.array(ks) == len(pool), len(prompts)),
                "rank": ranks.cpu().numpy(), "prob": np.round(probs.double().cpu().numpy(), 6)}))
    meta = pd.DataFrame({"index": np.arange(len(prompts)), "prompt": [p.prompt for p in prompts],
                         "target": [p.target for p in prompts], "category": [p.category for p in prompts],
                         "base_rank": base_rank.cpu().numpy(), "base_prob": base_prob.double().cpu().numpy()})
    out = meta.merge(pd.concat(tables, ignore_index=True), on="index")
    return out[["index", "prompt", "target", "category", "base_rank", "base_prob", "method", "k", "final", "rank",
                "prob"]]


def upper_median(values: Sequence[float] | np.ndarray) -> float:
    """The paper's median: ``sorted(values)[n // 2]`` (for even n the upper of the two middle values)."""
    data = np.sort(np.asarray(values))
    return float(data[len(data) // 2])


def extraction_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method (at all neurons) plus the base model: top-1/10/100/1000 counts and both medians."""
    final = table[table["final"]]
    groups = {"base model": final.drop_duplicates("index")["base_rank"]}
    for name, part in final.groupby("method", sort=False):
        groups[name] = part["rank"]
    rows = []
    for name, r in groups.items():
        r = r.to_numpy()
        rows.append({"method": name, "n": len(r), "top-1": int((r <= 1).sum()), "top-10": int((r <= 10).sum()),
                     "top-100": int((r <= 100).sum()), "top-1000": int((r <= 1000).sum()),
                     "median (upper)": upper_median(r), "median (np.median)": float(np.median(r))})
    return pd.DataFrame(rows)


#: The paper's per-category context results at 3,072 neurons (paper-claims E6): n, top-10, upper median.
PAPER_CATEGORIES: dict[str, tuple[int, int, int]] = {
    "geo_capital": (15, 0, 14960), "geo_location": (10, 0, 2481), "sci_chem": (10, 1, 1133),
    "sci_phys": (10, 4, 131), "sci_bio": (10, 0, 4082), "sci_astro": (10, 1, 1965), "hist_people": (15, 1, 1812),
    "hist_events": (10, 4, 19), "lang_lit": (10, 0, 3583), "tech": (10, 3, 1186), "lang_country": (10, 1, 27124),
    "animals": (10, 1, 1621), "food": (10, 0, 9006), "math": (10, 1, 627), "music": (10, 1, 681),
}


def category_table(table: pd.DataFrame, method: str = "context") -> pd.DataFrame:
    """Per category, at all neurons: n, top-10 count and both medians of ``method``, with the paper's."""
    final = table[table["final"] & (table["method"] == method)]
    rows = []
    for cat, part in final.groupby("category", sort=False):
        r = part["rank"].to_numpy()
        paper = PAPER_CATEGORIES.get(cat, (np.nan, np.nan, np.nan))
        rows.append({"category": cat, "n": len(r), "top-10": int((r <= 10).sum()), "median (upper)": upper_median(r),
                     "median (np.median)": float(np.median(r)), "paper top-10": paper[1],
                     "paper median (upper)": paper[2]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Progressive prediction
# --------------------------------------------------------------------------------------------------

#: The five stages of the walk-through, in order.
STAGES: tuple[str, ...] = ("no MLP", "+Core (+b_out)", "+Differentiators", "+Specialists", "+Residual")


def progressive_predictions(subject: Subject, texts: Sequence[str], targets: Sequence[str | None] | None = None,
                            top: int = 5, layer: int | None = None,
                            tiers: dict[str, Sequence[int]] | None = None) -> dict[str, pd.DataFrame]:
    """Logits at each text's last position as the tiers of the last MLP are added (paper-claims E16).

    ``tiers``: ``core``, ``differentiator`` and ``specialist`` lists (default: the paper's; pass a run's
    ``study.tiers`` on another model).

    Stages: ``resid_mid``; + T_core + b_out; + T_diff; + T_spec; + T_residual (the 3,052 other neurons,
    consensus included), which is the full model. Each stage is ``ln_f(·) @ W_U.T``; the texts share
    right-padded traces (:func:`last_position`). Returns, per text, one row per stage with the top
    tokens and probabilities and, where a target is given, its rank and probability; the table's
    ``attrs`` hold the largest gap between the last stage and the model's own logits.
    """
    L = subject.layer_index(layer)
    if L != subject.n_layers - 1:
        raise ValueError("progressive prediction re-unembeds the residual: it is exact only at the last block")
    tiers = {k: tuple(v) for k, v in (tiers or HANDLER_TIERS).items()}
    for tier_members in tiers.values():
        check_indices(tier_members, subject.d_mlp)
    targets = list(targets) if targets is not None else [None] * len(texts)
    mids, acts, finals = last_position(subject, texts, L)
    out: dict[str, pd.DataFrame] = {}
    with torch.inference_mode():
        parts = decompose(acts, subject.w_out(L), subject.b_out(L),
                          {name: tiers[name] for name in ("core", "differentiator", "specialist")})
        stages = [mids, mids + parts["core"] + parts["bias"]]
        for name in ("differentiator", "specialist", "residual"):
            stages.append(stages[-1] + parts[name])
        for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
            logits = subject.unembed(torch.stack([st[i] for st in stages]))
            probs = torch.softmax(logits, -1)
            tid = target_id(subject, target) if target is not None else None
            rows = []
            for name, lg, pr in zip(STAGES, logits, probs, strict=True):
                best = torch.topk(pr, top)
                row = {"stage": name, "top tokens": " | ".join(
                    f"{subject.tokenizer.decode([int(t)])!r} {100 * float(q):.1f}%"
                    for q, t in zip(best.values, best.indices, strict=True))}
                if tid is not None:
                    row["target rank"] = int(_rank(lg, tid))
                    row["target prob"] = float(pr[tid])
                rows.append(row)
            table = pd.DataFrame(rows)
            table.attrs["max |full stage - model logits|"] = float((logits[-1] - finals[i]).abs().max())
            out[text] = table
    return out


def progressive_prediction(subject: Subject, text: str, target: str | None = None, top: int = 5,
                           layer: int | None = None) -> pd.DataFrame:
    """:func:`progressive_predictions` for one text."""
    return progressive_predictions(subject, [text], [target], top, layer)[text]


# --------------------------------------------------------------------------------------------------
# Hook points and scorecard
# --------------------------------------------------------------------------------------------------


def hook_comparison(post: Sequence[Attribution], pre: Sequence[Attribution], k: int = PAPER_TOP_K,
                    routing: Sequence[int] = ROUTING) -> pd.DataFrame:
    """Per prompt: top-k agreement between IG on post-GELU ``act`` and on pre-GELU ``c_fc`` outputs.

    Columns: ``prompt``, ``Jaccard`` of the two top-k sets, routing overlap of each.
    """
    rows = []
    for a, b in zip(post, pre, strict=True):
        sa, sb = set(a.top(k)), set(b.top(k))
        rows.append({"prompt": a.prompt, "Jaccard": len(sa & sb) / len(sa | sb),
                     "routing (post-GELU)": len(sa & set(routing)), "routing (pre-GELU)": len(sb & set(routing))})
    return pd.DataFrame(rows)


def label(subject: Subject) -> str:
    """Caption label: the model and the data (the paper's hand-written prompts, no corpus)."""
    return f"{subject.spec.describe()}; hand-written prompts (paper App. A)"


# --------------------------------------------------------------------------------------------------
# Prose: the chapter's numbers as formatted strings, one call per section (glued by book.glue_all)
# --------------------------------------------------------------------------------------------------
