"""Checks for the exercises of chapter 01 (tracing the last MLP).

A learner writes a function and passes it to the matching ``check_*``: the check runs it on inputs it
builds itself, compares the result with the package's implementation, and raises ``AssertionError`` with a
hint, or returns ``True``. The ``reference_*`` functions are model answers; pytest runs the checks on them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from darkness_visible.models.loading import Subject, load_model
from darkness_visible.tracing.firing import FiringRule, gelu_new
from darkness_visible.tracing.harvest import Variant, decompose, trace_batch, variant_logits

# ---------------------------------------------------------------- exercise 1: a firing rule


def reference_fires(a: np.ndarray, threshold: float, signed: bool) -> np.ndarray:
    """``a > θ`` if signed else ``|a| > θ`` (post-GELU values in, booleans out)."""
    return np.asarray(FiringRule(threshold, signed)(np.asarray(a)))


def check_fires(fn: Callable[[np.ndarray, float, bool], np.ndarray]) -> bool:
    """Check ``fn(a, threshold, signed) -> bool array`` on GELU outputs spanning the negative band."""
    a = np.asarray(gelu_new(np.linspace(-3, 3, 601)))
    for threshold in (0.05, 0.1, 0.25):
        for signed in (False, True):
            got = np.asarray(fn(a.copy(), threshold, signed), dtype=bool)
            want = reference_fires(a, threshold, signed)
            if not np.array_equal(got, want):
                i = int(np.flatnonzero(got != want)[0])
                hint = " (GELU dips to -0.17: with |a| the negative band can fire)" if a[i] < 0 else ""
                raise AssertionError(f"threshold={threshold}, signed={signed}: at a={a[i]:.4f} you said {got[i]}, "
                                     f"expected {want[i]}{hint}")
    return True


# ---------------------------------------------------------------- exercise 2: re-unembedding


def reference_without(subject: Subject, resid_mid: torch.Tensor, act: torch.Tensor, mlp_out: torch.Tensor,
                      neurons: list[int]) -> torch.Tensor:
    """Logits of the last layer with ``neurons`` zeroed: ``unembed(resid_mid + mlp_out - a[S] @ W_out[S])``."""
    idx = torch.as_tensor(neurons)
    return subject.unembed(resid_mid + mlp_out - act[..., idx] @ subject.w_out()[idx])


def check_without(fn: Callable[..., torch.Tensor], subject: Subject | None = None) -> bool:
    """Check ``fn(subject, resid_mid, act, mlp_out, neurons) -> logits`` against the harvest's variant."""
    subject = subject or load_model("tiny")
    ids = torch.tensor([subject.tokenizer("The capital of France is Paris. The capital of Italy is")["input_ids"]])
    neurons = [1, 5, 42]
    with torch.inference_mode():
        traced = trace_batch(subject, ids)
        got = fn(subject, traced.resid_mid, traced.act, traced.mlp_out, neurons)
        want = variant_logits(subject, traced, Variant("x", zero=tuple(neurons)), subject.n_layers - 1)
        if torch.allclose(got, traced.logits, atol=1e-5):
            raise AssertionError("your logits equal the full model's: the neurons' contribution was not removed")
        if torch.allclose(got, subject.unembed(traced.resid_mid), atol=1e-4):
            raise AssertionError("you removed the whole MLP output; remove only the chosen neurons' a_n * w_n")
        gap = float((got - want).abs().max())
    assert gap < 1e-4, f"max |difference| from the reference is {gap:.3g}; did you apply ln_f before the unembedding?"
    return True


# ---------------------------------------------------------------- exercise 3: the decomposition


def reference_decompose(act: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor,
                        tiers: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Tier outputs plus ``"residual"`` and ``"bias"`` (the package's :func:`decompose`)."""
    return decompose(act, w_out, b_out, {k: tuple(v) for k, v in tiers.items()})


def check_decompose(fn: Callable[..., dict[str, torch.Tensor]]) -> bool:
    """Check ``fn(act, w_out, b_out, tiers) -> {name: [..., d_model]}`` on random tensors."""
    g = torch.Generator().manual_seed(0)
    act, w_out, b_out = torch.randn(3, 5, 40, generator=g), torch.randn(40, 8, generator=g), torch.randn(8, generator=g)
    tiers = {"core": [0, 3], "diff": [7, 8, 9]}
    got = fn(act, w_out, b_out, tiers)
    want = reference_decompose(act, w_out, b_out, tiers)
    missing = set(want) - set(got)
    assert not missing, f"missing parts: {sorted(missing)} (the residual tier and the bias complete the sum)"
    total = sum(got[k] for k in want)
    assert torch.allclose(total, act @ w_out + b_out, atol=1e-4), "your parts do not add up to the MLP output"
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-5), f"part {k!r} differs from a[..., S] @ W_out[S]"
    return True
