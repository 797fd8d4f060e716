"""E17: the efficiency claims, and what the "6.9 %" and "11.8 %" really measure (paper-claims §5, §6 E17, §7.18).

The paper's discussion says "bypassing 7/7 consensus (40 % of tokens) costs only 6.9 % perplexity" and
"zeroing consensus tokens across L7-L11 cumulatively costs 11.8 %". Both numbers come from the
``TransparentGPT2`` bypass mode (``docs/RESULTS.md``):

* the **6.9 %** zeroes the last MLP's output where **HOLDS**: CONS-POS / 7 >= 0.85, i.e. at least **6 of 7**
  consensus neurons with GELU > 0.1 (55.5 % of tokens), not 7/7 under |GELU| > 0.1 (40 %);
* the **11.8 %** is layers 7 and 11 only, not 7-11.

Layer 11 is the last block, so zeroing its MLP at a position changes only that position's logits: the
bypassed model's log-probability is the harvest's ``no_mlp`` variant where the gate is on and ``full``
elsewhere (exact, no second pass). Every other run of the harness's table (single layers 0 and 7-10, the
cumulative L7 + L11 and L0 + L7 + L11, the "linear bypass") changes an earlier block and needs its own
traced pass (:func:`bypass_logprob`): in one nnsight trace, layer by layer in forward order, the gate is
read off that layer's post-GELU activations *in the same pass* (so L11's gate in the L7 + L11 run sees
the bypassed L7), and the layer's MLP output is zeroed, or its GELU replaced by the identity ("linear
bypass", :class:`LayerBypass`), where the gate is on. Perplexity follows the PPL harness: within-window
targets (1,023 per 1,024-token window), on the harness's corpus, DS-C (200 train windows) when the hub
answers (:func:`harness_comparison` says so when not).

The per-layer gate neurons are the predecessor's GPT-2 Small indices (:data:`PAPER_LAYER_CONSENSUS`,
paper-claims §2 "Other layers"); they name neurons of GPT-2 Small's shape only, so :func:`paper_plan` refuses
another shape (:func:`applies`) and the rows of such a model say "not applicable".

[UNSPEC] "Linear bypass (W_out·W_in without GELU)": the spec names the map but not where it is applied. Here
the primary reading replaces the MLP by its linear part, ``(ln_2(x) W_in + b_in) W_out + b_out``, where the
layer's HOLDS gate is on (the bypass mode's gate); the reading "at every position" is computed beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from darkness_visible.analysis.consensus import consensus_level
from darkness_visible.analysis.tiers import perplexity, ppl_ratio_draws, window_nll
from darkness_visible.data.corpus import train_windows_comparison
from darkness_visible.data.neurons import CONSENSUS
from darkness_visible.stats.bootstrap import percentile_ci, resample_weights
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS
from darkness_visible.tracing.harvest import Harvest

#: The bypass gate's threshold on the share of consensus neurons firing (``CONSENSUS_THRESHOLD`` in the code).
HOLDS_FRACTION = 0.85
#: The PPL harness's standard perplexity on its train array (``docs/RESULTS.md``, paper-claims §5).
PAPER_BASE_PPL = 31.79
#: ``TransparentGPT2``'s per-layer consensus neurons (paper-claims §2 "Other layers"): GPT-2 Small indices, from
#: the predecessor. Layer 11's are the paper's seven.
PAPER_LAYER_CONSENSUS: dict[int, tuple[int, ...]] = {0: (800,), 7: (2489,), 8: (1640, 2579, 1374), 9: (1305, 1889),
                                                     10: (1486, 1109, 928), 11: CONSENSUS}
#: The shape those indices belong to: GPT-2 Small's 12 blocks of 3,072 MLP neurons.
PAPER_SHAPE = (12, 3072)
#: Single-layer bypass (paper-claims §5): layer -> (PPL, change in %, tokens bypassed in %).
PAPER_SINGLE_LAYER: dict[int, tuple[float, float, float]] = {
    0: (858.52, 2601.0, 82.6), 7: (32.77, 3.1, 79.6), 8: (32.40, 1.9, 42.7), 9: (32.77, 3.1, 70.8),
    10: (32.38, 1.9, 42.2), 11: (33.99, 6.9, 55.5)}
#: Cumulative bypass (paper-claims §5): layers -> PPL (L7 + L11: 35.55, the "+11.8 %").
PAPER_CUMULATIVE: dict[tuple[int, ...], float] = {(7, 11): 35.55, (0, 7, 11): 928.86}
#: "Linear bypass" (W_out·W_in without GELU): layer -> PPL.
PAPER_LINEAR: dict[int, float] = {11: 19_615.0, 10: 113.0}


def holds(H: Harvest, neurons: tuple[int, ...] = CONSENSUS, fraction: float = HOLDS_FRACTION) -> np.ndarray:
    """The HOLDS gate, ``bool [N]``: at least ``fraction`` of ``neurons`` fire under GELU > 0.1 (6 of 7 at 0.85)."""
    return consensus_level(H, neurons, FIRE_POS) / len(neurons) >= fraction


def gates(H: Harvest, consensus: tuple[int, ...] = CONSENSUS) -> dict[str, np.ndarray]:
    """The gates compared: the code's HOLDS and the paper text's "7/7" under both firing rules, ``bool [N]`` each,
    of the ``consensus`` neurons (the paper's seven, or the run's discovered consensus: ``run.study.consensus``)."""
    k = len(consensus)
    return {f"HOLDS: CONS-POS >= {quorum(k)}/{k} (the code)": holds(H, consensus),
            f"CONS-POS = {k}/{k}": consensus_level(H, consensus, FIRE_POS) == k,
            f"CONS-ABS = {k}/{k} (the text's '7/7, 40 %')": consensus_level(H, consensus, FIRE_ABS) == k}


def gated_window_nll(H: Harvest, gate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window NLL sums and counts ``([W], [W])`` of the model whose last MLP is zeroed where ``gate``."""
    keep = H.within_window
    lp = np.where(np.asarray(gate, dtype=bool), H.logprob("no_mlp"), H.logprob("full")).astype(np.float64)
    n_windows = int(H.window_index.max()) + 1
    sums = np.bincount(H.window_index[keep], weights=-lp[keep], minlength=n_windows)
    counts = np.bincount(H.window_index[keep], minlength=n_windows).astype(np.float64)
    return sums, counts


def bypass_table(H: Harvest, n_boot: int = 10_000, seed: int = 42,
                 consensus: tuple[int, ...] = CONSENSUS) -> pd.DataFrame:
    """Perplexity cost of zeroing the last MLP under each gate of ``consensus`` (:func:`gates`), with a
    window-bootstrap CI (seed 42). The rows are in :func:`gates`' order: HOLDS, CONS-POS all, CONS-ABS all.

    Columns: ``gate, bypassed_pct, ppl_base, ppl, delta_pct, ci_low, ci_high, n_scored``.
    """
    base = window_nll(H, "full")
    weights = resample_weights(np.random.default_rng(seed), len(base[0]), n_boot)
    scored = H.within_window
    out = []
    for name, gate in gates(H, consensus).items():
        other = gated_window_nll(H, gate)
        draws = 100 * (ppl_ratio_draws(base, other, weights) - 1)
        lo, hi = percentile_ci(draws[np.isfinite(draws)])
        ppl_base, ppl = perplexity(*base), perplexity(*other)
        out.append({"gate": name, "bypassed_pct": 100 * float(gate[scored].mean()), "ppl_base": ppl_base, "ppl": ppl,
                    "delta_pct": 100 * (ppl / ppl_base - 1), "ci_low": float(lo), "ci_high": float(hi),
                    "n_scored": int(scored.sum())})
    return pd.DataFrame(out)


def quorum(n_neurons: int, fraction: float = HOLDS_FRACTION) -> int:
    """The fewest firing neurons that make ``count / n_neurons >= fraction``: 6 of 7, 3 of 3, 2 of 2, 1 of 1."""
    return next(c for c in range(n_neurons + 1) if c / n_neurons >= fraction)


@dataclass(frozen=True)
class LayerBypass:
    """One layer's change in ``TransparentGPT2``'s bypass mode (paper-claims §5).

    ``neurons``: the layer's consensus neurons; the gate is on where at least :func:`quorum` of them fire under
    GELU > 0.1 (``where="holds"``), or everywhere (``where="all"``). ``replace="zero"`` zeroes the MLP output
    (bias included) there; ``"linear"`` replaces GELU by the identity there (the "linear bypass");
    ``"transparent"`` replaces the MLP output by its tier decomposition there, ``sum over parts P of
    a[..., P] W_out[P]`` plus the other neurons' share and ``b_out`` (E0's transparent mode: the same maths
    summed tier by tier).
    """

    layer: int
    neurons: tuple[int, ...] = ()
    replace: Literal["zero", "linear", "transparent"] = "zero"
    where: Literal["holds", "all"] = "holds"
    parts: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.replace not in ("zero", "linear", "transparent") or self.where not in ("holds", "all"):
            raise ValueError(f"replace must be zero, linear or transparent and where holds or all, got "
                             f"{self.replace!r}, {self.where!r}")
        if self.where == "holds" and not self.neurons:
            raise ValueError(f"layer {self.layer}: a HOLDS gate needs the layer's consensus neurons")


def applies(subject: Any) -> str:
    """``""`` when the paper's per-layer neuron indices name neurons of ``subject`` (GPT-2 Small's shape: 12 blocks
    of 3,072), else why not (the rows then say "not applicable")."""
    shape = (subject.n_layers, subject.d_mlp)
    if shape == PAPER_SHAPE:
        return ""
    return (f"not applicable: the bypass layers and their neurons are GPT-2 Small's ({PAPER_SHAPE[0]} blocks of "
            f"{PAPER_SHAPE[1]:,}); this model has {shape[0]} of {shape[1]:,}")


def paper_plan(subject: Any, layers: tuple[int, ...], replace: str = "zero", where: str = "holds"
               ) -> tuple[LayerBypass, ...]:
    """The bypass of ``layers`` with the paper's gate neurons (:data:`PAPER_LAYER_CONSENSUS`); refuses a model of
    another shape (:func:`applies`)."""
    why = applies(subject)
    if why:
        raise ValueError(why)
    return tuple(LayerBypass(L, PAPER_LAYER_CONSENSUS[L], replace, where) for L in sorted(layers))  # type: ignore[arg-type]


def _gate(act: torch.Tensor, step: LayerBypass) -> torch.Tensor:
    """``bool [B, T]``: where ``step``'s gate is on, from the layer's post-GELU activations ``[B, T, d_mlp]``."""
    if step.where == "all":
        return torch.ones(act.shape[:-1], dtype=torch.bool, device=act.device)
    count = FIRE_POS(act[..., list(step.neurons)]).sum(-1)
    return count >= quorum(len(step.neurons))


def decomposed(subject: Any, act: torch.Tensor, step: LayerBypass) -> torch.Tensor:
    """The MLP output rebuilt tier by tier from post-GELU ``act [..., d_mlp]``: each part's ``a[..., P] W_out[P]``,
    then the remaining neurons', then ``b_out`` (paper-claims §5 "The decomposition at layer 11")."""
    w, b = subject.w_out(step.layer).to(act.device), subject.b_out(step.layer).to(act.device)
    named = [n for part in step.parts for n in part]
    if len(set(named)) != len(named):
        raise ValueError("the parts of a decomposition must not overlap")
    rest = sorted(set(range(act.shape[-1])) - set(named))
    total = torch.zeros(*act.shape[:-1], w.shape[-1], dtype=act.dtype, device=act.device)
    for part in (*step.parts, tuple(rest)):
        if part:
            total = total + act[..., list(part)] @ w[list(part)]
    return total + b


def trace_bypass(subject: Any, input_ids: torch.Tensor, plan: tuple[LayerBypass, ...]
                 ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One nnsight trace of ``input_ids [B, T]`` with ``plan`` applied: the logits ``[B, T, vocab]`` and each
    step's gate ``bool [B, T]``. Layers are changed in forward order; each gate reads its own layer's
    activations in this pass (after every earlier change)."""
    model = subject.model
    steps = sorted(plan, key=lambda p: p.layer)
    if len({p.layer for p in steps}) != len(steps):
        raise ValueError("one change per layer")
    gates = []
    with torch.inference_mode(), model.trace(input_ids.to(subject.device)):
        for step in steps:
            mlp = model.transformer.h[step.layer].mlp
            pre = mlp.act.input if step.replace == "linear" else None
            act = mlp.act.output
            gate = _gate(act, step)
            gates.append(gate.save())
            if step.replace == "linear":
                mlp.act.output = torch.where(gate[..., None], pre, act)
            elif step.replace == "transparent":
                out = mlp.output
                mlp.output = torch.where(gate[..., None], decomposed(subject, act, step), out)
            else:
                out = mlp.output
                mlp.output = out * (~gate)[..., None].to(out.dtype)
        logits = model.lm_head.output.save()
    return logits, gates


def bypass_logprob(subject: Any, input_ids: np.ndarray, targets: np.ndarray, plan: tuple[LayerBypass, ...],
                   window: int, cache: str | Path | bool | None = False) -> dict[str, np.ndarray]:
    """Log-probability of each target under ``plan``, ``float32 [N]``, and the gates, ``bool [len(plan), N]``
    (in the plan's layer order), over the windows of ``input_ids``/``targets`` (``[N]``, ``N`` a multiple of
    ``window``), one window per trace. ``cache``: as :func:`darkness_visible.io.cache.cached_arrays`."""
    import sys

    from darkness_visible.io.cache import array_digest, cached_arrays, source_digest
    from darkness_visible.tracing.harvest import target_stats

    ids = np.asarray(input_ids).reshape(-1, window)
    tgt = np.asarray(targets).reshape(-1, window)
    steps = tuple(sorted(plan, key=lambda p: p.layer))

    def compute() -> dict[str, np.ndarray]:
        logprob, gates = [], []
        for w in range(ids.shape[0]):
            with torch.inference_mode():
                logits, g = trace_bypass(subject, torch.from_numpy(ids[w:w + 1].astype(np.int64)), steps)
                lp, _, _ = target_stats(logits[0].float(), torch.from_numpy(tgt[w].astype(np.int64)).to(
                    logits.device), inplace=True)
            logprob.append(lp.cpu().numpy().astype(np.float32))
            gates.append(np.stack([x[0].cpu().numpy() for x in g]) if g else np.zeros((0, window), bool))
        return {"logprob": np.concatenate(logprob), "gates": np.concatenate(gates, axis=1)}

    material = {"what": "bypass", "model": subject.spec.key(), "inputs": array_digest(ids, tgt),
                "plan": [asdict(p) for p in steps], "code": source_digest(sys.modules[__name__])}
    return cached_arrays(cache, material, "bypass", compute)


#: The harness's runs beyond the last-layer ones (paper-claims §5): name -> (layers, replacement, gate).
def suite_runs() -> dict[str, tuple[tuple[int, ...], str, str]]:
    runs: dict[str, tuple[tuple[int, ...], str, str]] = {
        f"L{L}": ((L,), "zero", "holds") for L in sorted(PAPER_SINGLE_LAYER)}
    runs.update({" + ".join(f"L{L}" for L in layers): (layers, "zero", "holds") for layers in PAPER_CUMULATIVE})
    runs.update({f"linear L{L}": ((L,), "linear", "holds") for L in sorted(PAPER_LINEAR)})
    last = max(PAPER_LINEAR)
    runs[f"linear L{last}, every position"] = ((last,), "linear", "all")
    return runs


def _paper_ppl(layers: tuple[int, ...], replace: str, where: str) -> float | None:
    if where != "holds":
        return None
    if replace == "linear":
        return PAPER_LINEAR.get(layers[0]) if len(layers) == 1 else None
    if len(layers) == 1:
        return PAPER_SINGLE_LAYER[layers[0]][0]
    return PAPER_CUMULATIVE.get(layers)


def suite_table(subject: Any, H: Harvest, n_boot: int = 10_000, seed: int = 42,
                cache: str | Path | bool | None = False) -> pd.DataFrame:
    """The harness's bypass table on ``H``'s windows (its ``full`` log-probabilities are the base): every run of
    :func:`suite_runs`, one traced pass each, with a window-bootstrap CI of the change (seed 42).

    Columns: ``run, layers, replace, where, bypassed_pct`` (per layer, in layer order), ``ppl_base, ppl,
    delta_pct, ci_low, ci_high, paper_ppl, paper_delta_pct, n_scored``.
    """
    window = int(H.meta["corpus"]["window"])
    base = window_nll(H, "full")
    n_windows = len(base[0])
    weights = resample_weights(np.random.default_rng(seed), n_windows, n_boot)
    keep = H.within_window
    out = []
    for name, (layers, replace, where) in suite_runs().items():
        plan = paper_plan(subject, layers, replace, where)
        res = bypass_logprob(subject, H["input_ids"], H["target"], plan, window, cache)
        lp = res["logprob"].astype(np.float64)
        other = (np.bincount(H.window_index[keep], weights=-lp[keep], minlength=n_windows),
                 np.bincount(H.window_index[keep], minlength=n_windows).astype(np.float64))
        draws = 100 * (ppl_ratio_draws(base, other, weights) - 1)
        lo, hi = percentile_ci(draws[np.isfinite(draws)])
        ppl_base, ppl = perplexity(*base), perplexity(*other)
        paper = _paper_ppl(layers, replace, where)
        out.append({"run": name, "layers": layers, "replace": replace, "where": where,
                    "bypassed_pct": tuple(100 * float(g[keep].mean()) for g in res["gates"]),
                    "ppl_base": ppl_base, "ppl": ppl, "delta_pct": 100 * (ppl / ppl_base - 1),
                    "ci_low": float(lo), "ci_high": float(hi), "paper_ppl": paper,
                    "paper_delta_pct": None if paper is None else 100 * (paper / PAPER_BASE_PPL - 1),
                    "n_scored": int(keep.sum())})
    return pd.DataFrame(out)


def transparent_table(subject: Any, H: Harvest, layer: int, tiers: dict[str, tuple[int, ...]],
                      consensus: tuple[int, ...], indicator: int,
                      cache: str | Path | bool | None = False) -> dict[str, float]:
    """E0's transparent mode on ``H``'s windows: the PPL with the layer's MLP output rebuilt from its tiers
    (:func:`decomposed`, one traced pass), against the standard PPL (``H``'s ``full``), and the routing report's
    shares over every position: HOLDS of ``consensus`` and FIRE-POS of ``indicator``.

    Keys: ``ppl_standard, ppl, delta_pct, max_abs_logprob_diff, consensus_pct, exception_pct, n_positions``."""
    window = int(H.meta["corpus"]["window"])
    plan = (LayerBypass(layer, replace="transparent", where="all", parts=tuple(t for t in tiers.values() if t)),)
    lp = bypass_logprob(subject, H["input_ids"], H["target"], plan, window, cache)["logprob"]
    keep = H.within_window
    ppl_standard = perplexity(*window_nll(H, "full"))
    ppl = float(np.exp(-lp[keep].astype(np.float64).mean()))
    return {"ppl_standard": ppl_standard, "ppl": ppl, "delta_pct": 100 * (ppl / ppl_standard - 1),
            "max_abs_logprob_diff": float(np.abs(lp[keep] - H.logprob("full")[keep]).max()),
            "consensus_pct": 100 * float(holds(H, consensus).mean()),
            "exception_pct": 100 * float(H.fires(indicator, FIRE_POS).mean()), "n_positions": H.n_tokens}


#: The harness's corpus: DS-C's first 200 windows of 1,024 train tokens (paper-claims §5, §4 DS-C).
HARNESS_WINDOWS, HARNESS_WINDOW = 200, 1024


def harness_comparison(H: Harvest) -> str:
    """``""`` on the harness's corpus (the spec's DS-C reconstruction: 200 windows of 1,024 *train* tokens), else
    "different corpus" with what it was."""
    return train_windows_comparison(H.meta["corpus"], HARNESS_WINDOWS, HARNESS_WINDOW,
                                    "the harness's train array (DS-C, 200 x 1,024 train tokens)")
