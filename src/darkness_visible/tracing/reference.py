"""Plain-PyTorch references that the nnsight results are checked against.

Nothing here is used by the analyses: these functions exist so that tests and chapter 01 can show that
the nnsight trace returns exactly what ordinary forward hooks (and an ordinary forward with the MLP
zeroed) return.
"""

from __future__ import annotations

import torch

from darkness_visible.models.loading import Subject
from darkness_visible.tracing.harvest import TracedBatch


def hooked_batch(subject: Subject, input_ids: torch.Tensor, layer: int | None = None) -> TracedBatch:
    """The same quantities as :func:`darkness_visible.tracing.harvest.trace_batch`, from forward hooks."""
    L = subject.layer_index(layer)
    hf = subject.hf
    got: dict[str, torch.Tensor] = {}
    block = hf.transformer.h[L]
    prev_module = hf.transformer.h[L - 1] if L > 0 else hf.transformer.drop

    def keep(name: str, take_input: bool = False):
        def hook(module, args, output):
            value = args[0] if take_input else output
            got[name] = (value[0] if isinstance(value, tuple) else value).detach().clone()

        return hook

    handles = [
        prev_module.register_forward_hook(keep("prev")),
        block.ln_2.register_forward_hook(keep("mid", take_input=True)),
        block.mlp.act.register_forward_hook(keep("act")),
        block.mlp.register_forward_hook(keep("out")),
    ]
    try:
        logits = hf(input_ids).logits.detach()
    finally:
        for handle in handles:
            handle.remove()
    return TracedBatch(got["mid"], got["act"], got["out"], got["prev"], logits)


def logits_with_mlp_neurons_zeroed(subject: Subject, input_ids: torch.Tensor, neurons: list[int] | None,
                                   layer: int | None = None) -> torch.Tensor:
    """Logits of a real forward pass with some MLP neurons (``None``: the whole MLP output) set to 0."""
    L = subject.layer_index(layer)
    block = subject.hf.transformer.h[L]
    if neurons is None:
        handle = block.mlp.register_forward_hook(lambda m, a, out: torch.zeros_like(out))
    else:
        idx = torch.as_tensor(neurons, dtype=torch.long)

        def zero(module, args, out):
            out = out.clone()
            out[..., idx] = 0.0
            return out

        handle = block.mlp.act.register_forward_hook(zero)
    try:
        return subject.hf(input_ids).logits.detach()
    finally:
        handle.remove()
