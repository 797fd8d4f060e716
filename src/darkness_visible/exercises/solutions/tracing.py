"""Model answers to chapter 01's exercises (checks: :mod:`darkness_visible.exercises.tracing`)."""

from __future__ import annotations

import numpy as np
import torch


def reference_fires(a: np.ndarray, threshold: float, signed: bool) -> np.ndarray:
    """Exercise 1.3: ``a > θ`` if signed else ``|a| > θ`` (strict)."""
    a = np.asarray(a)
    return a > threshold if signed else np.abs(a) > threshold


def reference_without(subject, resid_mid: torch.Tensor, act: torch.Tensor, mlp_out: torch.Tensor,
                      neurons: list[int]) -> torch.Tensor:
    """Exercise 1.1: ``unembed(resid_mid + mlp_out - a[S] @ W_out[S])``; the bias stays."""
    idx = torch.as_tensor(neurons)
    return subject.unembed(resid_mid + mlp_out - act[..., idx] @ subject.w_out()[idx])


def reference_decompose(act: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor,
                        tiers: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Exercise 1.2: one output per tier, ``"residual"`` (every other neuron) and ``"bias"``."""
    parts, used = {}, []
    for name, members in tiers.items():
        idx = torch.as_tensor(members)
        parts[name] = act[..., idx] @ w_out[idx]
        used += list(members)
    rest = torch.ones(act.shape[-1], dtype=torch.bool)
    rest[used] = False
    parts["residual"] = act[..., rest] @ w_out[rest]
    parts["bias"] = b_out.expand_as(parts["residual"])
    return parts
