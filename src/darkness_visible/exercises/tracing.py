"""Checks for the exercises of chapter 01 (tracing the last MLP).

A learner writes a function and passes it to the matching ``check_*``: the check runs it on inputs it
builds itself, compares the result with the package's implementation, and raises ``AssertionError`` with a
hint, or returns ``True``. The model answers are in :mod:`darkness_visible.exercises.solutions.tracing` (not
here, so a student's ``ex`` holds no answers); pytest runs the checks on them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from darkness_visible.models.loading import Subject, load_model
from darkness_visible.tracing import harvest as _harvest
from darkness_visible.tracing.firing import FiringRule, gelu_new

# ---------------------------------------------------------------- exercise 1: a firing rule


def check_fires(fn: Callable[[np.ndarray, float, bool], np.ndarray]) -> bool:
    """Check ``fn(a, threshold, signed) -> bool array`` on GELU outputs spanning the negative band."""
    grid = np.asarray(gelu_new(np.linspace(-3, 3, 601)))
    for threshold in (0.05, 0.1, 0.25):
        a = np.concatenate([grid, [threshold, -threshold]])  # the boundary: "fires" is strict, > not >=
        for signed in (False, True):
            got = np.asarray(fn(a.copy(), threshold, signed), dtype=bool)
            want = np.asarray(FiringRule(threshold, signed)(a))
            if not np.array_equal(got, want):
                i = int(np.flatnonzero(got != want)[0])
                hint = (" (the rule is strict: a value equal to the threshold does not fire)" if abs(a[i]) == threshold
                        else " (GELU dips to -0.17: with |a| the negative band can fire)" if a[i] < 0 else "")
                raise AssertionError(f"threshold={threshold}, signed={signed}: at a={a[i]:.4f} you said {got[i]}, "
                                     f"expected {want[i]}{hint}")
    return True


# ---------------------------------------------------------------- exercise 2: re-unembedding


def check_without(fn: Callable[..., torch.Tensor], subject: Subject | None = None) -> bool:
    """Check ``fn(subject, resid_mid, act, mlp_out, neurons) -> logits`` against the harvest's variant.

    The check runs with a nonzero output bias ``b_out`` on the last block (the test models have ``b_out = 0``,
    where an answer that wrongly removes the bias too would pass), then restores the model's own bias.
    """
    subject = subject or load_model("tiny")
    ids = torch.tensor([subject.tokenizer("The capital of France is Paris. The capital of Italy is")["input_ids"]])
    neurons = [1, 5, 42]
    bias = subject.hf.transformer.h[subject.layer_index(None)].mlp.c_proj.bias
    saved = bias.detach().clone()
    try:
        with torch.no_grad():
            bias.add_(torch.randn(bias.shape, generator=torch.Generator().manual_seed(3)).to(bias) * 0.5)
        with torch.inference_mode():
            traced = _harvest.trace_batch(subject, ids)
            got = fn(subject, traced.resid_mid, traced.act, traced.mlp_out, neurons)
            variant = _harvest.Variant("x", zero=tuple(neurons))
            want = _harvest.variant_logits(subject, traced, variant, subject.n_layers - 1)
            if torch.allclose(got, traced.logits, atol=1e-5):
                raise AssertionError("your logits equal the full model's: the neurons' contribution was not removed")
            if torch.allclose(got, subject.unembed(traced.resid_mid), atol=1e-4):
                raise AssertionError("you removed the whole MLP output; remove only the chosen neurons' a_n * w_n")
            idx = torch.as_tensor(neurons)
            no_bias = subject.unembed(traced.resid_mid + traced.mlp_out - traced.act[..., idx]
                                      @ subject.w_out()[idx] - subject.b_out())
            if torch.allclose(got, no_bias, atol=1e-4):
                raise AssertionError("you also removed the bias b_out: zeroing neurons leaves the MLP's bias in place")
            gap = float((got - want).abs().max())
    finally:
        with torch.no_grad():
            bias.copy_(saved)
    assert gap < 1e-4, f"max |difference| from the reference is {gap:.3g}; did you apply ln_f before the unembedding?"
    return True


# ---------------------------------------------------------------- exercise 3: the decomposition


def check_decompose(fn: Callable[..., dict[str, torch.Tensor]]) -> bool:
    """Check ``fn(act, w_out, b_out, tiers) -> {name: [..., d_model]}`` on random tensors."""
    g = torch.Generator().manual_seed(0)
    act, w_out, b_out = torch.randn(3, 5, 40, generator=g), torch.randn(40, 8, generator=g), torch.randn(8, generator=g)
    tiers = {"core": [0, 3], "diff": [7, 8, 9]}
    got = fn(act, w_out, b_out, tiers)
    want = _harvest.decompose(act, w_out, b_out, {k: tuple(v) for k, v in tiers.items()})
    missing = set(want) - set(got)
    assert not missing, f"missing parts: {sorted(missing)} (the residual tier and the bias complete the sum)"
    total = sum(got[k] for k in want)
    assert torch.allclose(total, act @ w_out + b_out, atol=1e-4), "your parts do not add up to the MLP output"
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-5), f"part {k!r} differs from a[..., S] @ W_out[S]"
    return True
