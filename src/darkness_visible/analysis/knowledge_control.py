"""E7: the 12-prompt context-dependent knowledge control ("Control 4", paper-claims §6 E7, Appendix A.3).

Procedure as the original control script intended it (paper-claims E7):

* the last position's post-GELU activations ``a`` at the last layer (the script applies the tanh GELU to
  ``c_fc``'s output in numpy; that is GPT-2's own ``gelu_new``, i.e. the traced ``mlp.act`` output);
* the "residual" set: all neurons minus the 27 routing neurons, 3,045 of them; **faithful** mode uses the
  script's wrong Differentiator/Specialist lists (paper-claims §2), **corrected** mode the paper's own;
* static contribution ``w_n``, context contribution ``a_n·w_n``; neurons sorted by the contribution's norm
  (static ‖w_n‖, context |a_n|·‖w_n‖), accumulated, and at k in {5, 50, 200, 500, 3045} passed through a
  **manual** LayerNorm ``(v − mean) / (std + 1e-5) · γ + β`` (population std, ε added to the std, not to the
  variance as ``ln_f`` does) and the unembedding; rank = 1 + #(logits > the target's logit).

The chapter shows the model's own ``ln_f`` beside the manual one, so the effect of the ε placement is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from darkness_visible.analysis.knowledge import last_position, target_id
from darkness_visible.data.neurons import (
    CONSENSUS,
    CORE,
    FAITHFUL_CONTROL_DIFFERENTIATORS,
    FAITHFUL_CONTROL_SPECIALISTS,
    ROUTING,
)
from darkness_visible.data.prompts import CONTROL_PROMPTS, ControlPrompt
from darkness_visible.models.loading import Subject

#: The control's checkpoints (number of residual neurons accumulated; 3,045 = all of them).
CONTROL_CHECKPOINTS: tuple[int, ...] = (5, 50, 200, 500, 3045)
#: The script's ε, added to the standard deviation.
MANUAL_LN_EPS = 1e-5
#: The 27 ids the control script removed (its wrong lists; paper-claims §2).
FAITHFUL_ROUTING: tuple[int, ...] = (CORE + FAITHFUL_CONTROL_DIFFERENTIATORS + FAITHFUL_CONTROL_SPECIALISTS
                                     + CONSENSUS)
@dataclass(frozen=True)
class ControlMode:
    """Which 27 neurons are removed to leave the "residual" set: ``faithful`` (the script's lists) or
    ``corrected`` (the paper's)."""

    name: str
    routing: tuple[int, ...]


CONTROL_MODES: tuple[ControlMode, ...] = (ControlMode("faithful", FAITHFUL_ROUTING),
                                          ControlMode("corrected", ROUTING))


def manual_layer_norm(v: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                      eps: float = MANUAL_LN_EPS) -> torch.Tensor:
    """The script's LayerNorm: ``(v − mean) / (std + eps) · γ + β``, population std; ``[..., d] -> [..., d]``."""
    centred = v - v.mean(-1, keepdim=True)
    return centred / (v.std(-1, unbiased=False, keepdim=True) + eps) * gamma + beta


def residual_pool(d_mlp: int, routing: Sequence[int]) -> torch.Tensor:
    """Indices of the neurons outside ``routing`` (indices beyond ``d_mlp`` ignored), ``[n]`` long."""
    keep = torch.ones(d_mlp, dtype=torch.bool)
    keep[[n for n in routing if n < d_mlp]] = False
    return torch.nonzero(keep)[:, 0]


def control_table(subject: Subject, prompts: Sequence[ControlPrompt] = CONTROL_PROMPTS,
                  checkpoints: Sequence[int] = CONTROL_CHECKPOINTS, layer: int | None = None) -> pd.DataFrame:
    """Ranks of each prompt's target under static/context accumulation of the residual set (both modes).

    Returns one row per (prompt, mode, method, k): ``index, prompt, target, model_top1, target_prob, mode,
    n_residual, method, k, rank, rank_model_ln`` (``rank_model_ln``: the same vector through the model's
    ``ln_f``, whose ε sits inside the square root).
    """
    L = subject.layer_index(layer)
    w = subject.w_out(L)
    ln_f = subject.hf.transformer.ln_f
    _, acts, logits = last_position(subject, [p.prompt for p in prompts], L)
    tids = torch.tensor([target_id(subject, " " + p.target) for p in prompts])
    records = []
    with torch.inference_mode():
        probs = torch.softmax(logits.double(), -1)
        top1 = logits.argmax(-1)
        for mode in CONTROL_MODES:
            pool = residual_pool(w.shape[0], mode.routing)
            ks = [min(k, len(pool)) for k in checkpoints]
            for i, (p, a) in enumerate(zip(prompts, acts, strict=True)):
                for method, scale in (("static", torch.ones_like(a)), ("context", a)):
                    contrib = w[pool] * scale[pool, None]
                    order = torch.argsort(contrib.norm(dim=-1), descending=True, stable=True)
                    partial = torch.cumsum(contrib[order], 0)[torch.tensor(ks) - 1]  # [C, d_model]
                    manual = manual_layer_norm(partial, ln_f.weight, ln_f.bias) @ subject.w_u.T
                    model = subject.unembed(partial)
                    for k, lm, lo in zip(checkpoints, manual, model, strict=True):
                        records.append({
                            "index": i, "prompt": p.prompt, "target": p.target,
                            "model_top1": subject.tokenizer.decode([int(top1[i])]),
                            "target_prob": float(probs[i, tids[i]]), "mode": mode.name, "n_residual": len(pool),
                            "method": method, "k": k, "rank": int(1 + (lm > lm[tids[i]]).sum()),
                            "rank_model_ln": int(1 + (lo > lo[tids[i]]).sum())})
    return pd.DataFrame(records)


def control_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per mode and method at the last checkpoint: prompts with the target at rank 1 and in the top 10 (of 12),
    and the median rank, under the manual and the model's LayerNorm."""
    last = table[table.k == table.k.max()]
    return (last.groupby(["mode", "method"], sort=False)
            .agg(n=("rank", "size"), top1=("rank", lambda r: int((r == 1).sum())),
                 top10=("rank", lambda r: int((r <= 10).sum())), median_rank=("rank", "median"),
                 top1_model_ln=("rank_model_ln", lambda r: int((r == 1).sum())))
            .reset_index())


def n_residual(d_mlp: int, mode: str = "faithful") -> int:
    """Size of the residual set in a mode (3,045 on GPT-2 Small in both)."""
    routing = dict((m.name, m.routing) for m in CONTROL_MODES)[mode]
    return int(len(residual_pool(d_mlp, routing)))


__all__ = ["CONTROL_CHECKPOINTS", "CONTROL_MODES", "ControlMode", "control_summary", "control_table",
           "manual_layer_norm", "n_residual", "residual_pool"]
