"""Model answers to chapter 04's exercises (checks: :mod:`darkness_visible.exercises.knowledge`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from darkness_visible.analysis import knowledge as kn

#: Exercise 4.2: 7.3 over the exact chance 20 · 27 / 3072.
REFERENCE_ENRICHMENT = 7.3 / (20 * 27 / 3072)


def reference_analytic_ig(subject, prompt: str, target: str, steps: int = kn.PAPER_STEPS) -> np.ndarray:
    """Exercise 4.1: logit IG at the last block from one cached trace and plain autograd, ``[d_mlp]``."""
    from darkness_visible.data.corpus import encode
    from darkness_visible.tracing.harvest import trace_batch

    ids = torch.tensor([encode(subject.tokenizer, prompt, subject.n_ctx)])
    tid = kn.target_id(subject, target)
    with torch.inference_mode():
        traced = trace_batch(subject, ids)
    r, a = traced.resid_mid[0, -1].clone(), traced.act[0, -1].clone()
    w, b = subject.w_out().clone(), subject.b_out().clone()
    x = (torch.arange(steps, dtype=torch.float32)[:, None] / steps * a).requires_grad_(True)
    with torch.enable_grad():
        s = (subject.hf.transformer.ln_f(r + x @ w + b) @ subject.w_u[tid].clone()).sum()
        (grad,) = torch.autograd.grad(s, x)
    return (a * grad.mean(0)).cpu().numpy()


def reference_upper_median(values: Sequence[float]) -> float:
    """Exercise 4.4: the paper's median, ``sorted(values)[n // 2]``."""
    return sorted(values)[len(values) // 2]


def reference_matched_sensitivity(attrs: Sequence[kn.Attribution]) -> dict[int | str, float]:
    """Exercise 4.3: the matched enrichment for 10, 50, 200 neighbours and matched on the activation alone."""
    ratios: dict[int | str, float] = {n: kn.matched_baseline(attrs, n_neighbours=n).ratio for n in (10, 50, 200)}
    flat = [dataclasses.replace(a, mean_grad=np.ones_like(a.mean_grad)) for a in attrs]
    ratios["activation only"] = kn.matched_baseline(flat).ratio
    return ratios
