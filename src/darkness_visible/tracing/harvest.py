"""One nnsight pass over the corpus that every chapter draws on.

For each batch of windows a single ``model.trace`` reads, at the chosen layer L (default: the last):
the residual stream entering the MLP (``h[L].ln_2.input``), the post-GELU activations
(``h[L].mlp.act.output``), the MLP output (``h[L].mlp.output``), the previous block's output, and the
logits. Because the last block's MLP output reaches the logits only through ``ln_f`` and the
unembedding, every "without" variant (no MLP, no tier, no neuron set) is the unembedding of a modified
residual, computed from the same pass, never by a second forward (paper-claims §1, "exact shortcut").

Per token it keeps only what the chapters need: firing masks of all neurons under each rule
(bit-packed), the activations of the recorded neurons, the target's log-probability / top-1 / max
probability under each variant, and the norms of each tier's share of the MLP output.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from darkness_visible import __version__
from darkness_visible.config.device import batch_windows
from darkness_visible.data.corpus import CorpusSpec, corpus_spec, token_stream, windows
from darkness_visible.data.neurons import HANDLER, HANDLER_TIERS, ROUTING, check_indices
from darkness_visible.errors import LayerError, SettingError
from darkness_visible.io.cache import CorruptCacheError, chunk_cache, releases_locks
from darkness_visible.io.storage import build_arrays, open_arrays
from darkness_visible.models.loading import Subject, load_model, output_tensor
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule, pack, unpack


@dataclass(frozen=True)
class Variant:
    """A counterfactual read off the same pass.

    ``zero``: neurons whose activations are set to 0 (``b_out`` kept, the paper's neuron knockout);
    ``whole_mlp``: the MLP output, bias included, replaced by 0 (the crossover's ablation);
    ``lens_prev_block``: the logit lens at the previous block's output (skips attention *and* MLP of L).
    """

    name: str
    zero: tuple[int, ...] = ()
    whole_mlp: bool = False
    lens_prev_block: bool = False


#: The variants the chapters use on GPT-2 Small: no L11 MLP, each tier ablated, all 20, block-10 lens.
PAPER_VARIANTS: tuple[Variant, ...] = (
    Variant("no_mlp", whole_mlp=True),
    Variant("no_core", zero=HANDLER_TIERS["core"]),
    Variant("no_differentiator", zero=HANDLER_TIERS["differentiator"]),
    Variant("no_specialist", zero=HANDLER_TIERS["specialist"]),
    Variant("no_handler", zero=HANDLER),
    Variant("lens_prev_block", lens_prev_block=True),
)


@dataclass(frozen=True)
class HarvestConfig:
    """What one harvest records. Everything here except ``batch_size`` is part of the cache key.

    ``batch_size``: windows per forward pass; ``None`` chooses from the free memory of the model's device
    (:func:`darkness_visible.config.device.batch_windows`). ``logits=False`` stops the forward pass after layer
    L's MLP (no unembedding, no log-probabilities; for passes that need only activations, e.g. the controls).
    """

    layer: int | None = None
    rules: tuple[FiringRule, ...] = (FIRE_ABS, FIRE_POS)
    record: tuple[int, ...] = ROUTING
    tiers: tuple[tuple[str, tuple[int, ...]], ...] = tuple(HANDLER_TIERS.items())
    variants: tuple[Variant, ...] = PAPER_VARIANTS
    logits: bool = True
    batch_size: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        from numbers import Integral

        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, Integral) or self.batch_size < 1):
            raise SettingError(f"batch size must be a whole number of windows, at least 1, got {self.batch_size!r}: "
                               "use e.g. --batch-size 2 (batch_size=2), or leave it unset to size it from memory")
        if self.layer is not None and (isinstance(self.layer, bool) or not isinstance(self.layer, Integral)):
            raise SettingError(f"layer must be a whole number or None (the last), got {self.layer!r}")
        if self.layer is not None:
            object.__setattr__(self, "layer", int(self.layer))  # JSON-able in the cache key
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", int(self.batch_size))
        if not self.logits and self.variants:
            raise SettingError("variants are read off the logits: use logits=True, or variants=()")

    def key(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("batch_size")
        if data["logits"]:  # the default: keys of caches written before the switch existed stay valid
            data.pop("logits")
        return data

    @classmethod
    def for_model(cls, subject: Subject, **overrides: Any) -> HarvestConfig:
        """The paper's settings for GPT-2-shaped models; on smaller models, no named neurons.

        At a ``layer`` other than the last, the default variants are cut to those defined there (the lens):
        the others are computed by re-unembedding, exact only at the last block (:func:`check_variants`).
        """
        base: dict[str, Any] = {} if subject.d_mlp >= 3072 else dict(
            record=(), tiers=(), variants=(Variant("no_mlp", whole_mlp=True),
                                           Variant("lens_prev_block", lens_prev_block=True)))
        base.update(overrides)
        if "variants" not in overrides and subject.layer_index(base.get("layer")) != subject.n_layers - 1:
            base["variants"] = tuple(v for v in base.get("variants", PAPER_VARIANTS) if v.lens_prev_block)
        return cls(**base)


def check_variants(subject: Subject, variants: tuple[Variant, ...], layer: int) -> None:
    """Raise :class:`~darkness_visible.errors.LayerError` (before any forward pass) if a variant is not
    defined at ``layer``: all but the lens are re-unembeddings, exact only at the last block."""
    last = subject.n_layers - 1
    bad = [v.name for v in variants if not v.lens_prev_block and layer != last]
    if bad:
        raise LayerError(
            f"variant(s) {', '.join(bad)} are computed by re-unembedding, exact only at the last block (layer "
            f"{last}), not layer {layer}: use HarvestConfig.for_model(subject, layer={layer}), which keeps only "
            "the lens variant there, or variants=()"
        )


@dataclass(frozen=True)
class TracedBatch:
    """What one nnsight trace returns for a batch ``[B, T]`` (all fp32 torch tensors)."""

    resid_mid: torch.Tensor  # [B, T, d_model] input of ln_2 at layer L
    act: torch.Tensor  # [B, T, d_mlp] post-GELU activations at layer L
    mlp_out: torch.Tensor  # [B, T, d_model] MLP output at layer L, b_out included
    prev_out: torch.Tensor  # [B, T, d_model] output of block L-1 (embeddings if L = 0)
    logits: torch.Tensor  # [B, T, vocab]


def trace_batch(subject: Subject, input_ids: torch.Tensor, layer: int | None = None, *,
                logits: bool = True) -> TracedBatch:
    """Run one nnsight trace over ``input_ids [B, T]`` and return the layer-L quantities.

    Modules are read in forward order (nnsight 0.8 raises ``OutOfOrderError`` otherwise). With
    ``logits=False`` the run stops after layer L's MLP (``tracer.stop()``) and ``logits`` is empty.
    """
    L = subject.layer_index(layer)
    if input_ids.shape[-1] > subject.n_ctx:
        from darkness_visible.data.corpus import ContextLengthError

        raise ContextLengthError(f"batch is {input_ids.shape[-1]} tokens long; the model's context is {subject.n_ctx}")
    model = subject.model
    input_ids = input_ids.to(subject.device)
    with model.trace(input_ids) as tracer:
        prev = (model.transformer.h[L - 1].output if L > 0 else model.transformer.drop.output).save()
        block = model.transformer.h[L]
        mid = block.ln_2.input.save()
        act = block.mlp.act.output.save()
        out = block.mlp.output.save()
        if logits:
            final = model.lm_head.output.save()
        else:
            tracer.stop()
    return TracedBatch(mid, act, out, output_tensor(prev), final if logits else torch.empty(0))


#: Rows of logits reduced at a time: 64 x 50,257 floats stay in a 32 MB cache (about 1.8x faster).
STATS_ROWS = 64


def _stats(logits: torch.Tensor, targets: torch.Tensor, inplace: bool = False
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    top, arg = logits.max(dim=-1)
    target = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    shifted = logits.sub_(top.unsqueeze(-1)) if inplace else logits - top.unsqueeze(-1)
    lse = top + shifted.exp_().sum(-1).log_()
    return target - lse, arg, torch.exp(top - lse)


def target_stats(logits: torch.Tensor, targets: torch.Tensor, *, inplace: bool = False
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probability of ``targets``, the argmax token, and the max probability; each shaped like ``targets``.

    ``logits [..., vocab]``; reduced :data:`STATS_ROWS` positions at a time so each block stays in cache.
    ``inplace=True`` lets the reduction overwrite ``logits`` (for a temporary: one vocab-sized pass fewer).
    """
    flat, tgt = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    parts = [_stats(flat[i:i + STATS_ROWS], tgt[i:i + STATS_ROWS], inplace)
             for i in range(0, flat.shape[0], STATS_ROWS)]
    return _join(parts, targets.shape)


def _join(parts: list[tuple[torch.Tensor, ...]], shape: torch.Size) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logprob, arg, top = (torch.cat(p).reshape(shape) for p in zip(*parts, strict=True))
    return logprob, arg, top


def variant_residual(subject: Subject, batch: TracedBatch, variant: Variant, layer: int) -> torch.Tensor:
    """The final residual of a variant, ``[..., d_model]``: what ``ln_f`` and the unembedding read.

    Exact only at the last block (re-unembedding), except ``lens_prev_block``, which is a lens by definition.
    """
    if variant.lens_prev_block:
        return batch.prev_out
    if layer != subject.n_layers - 1:
        raise LayerError(
            f"variant {variant.name!r} is computed by re-unembedding, which is exact only at the last "
            f"block (layer {subject.n_layers - 1}); harvest layer {layer} without variants (variants=())."
        )
    if variant.whole_mlp:
        return batch.resid_mid
    idx = torch.as_tensor(variant.zero, dtype=torch.long)
    return batch.resid_mid + batch.mlp_out - batch.act[..., idx] @ subject.w_out(layer)[idx]


def variant_logits(subject: Subject, batch: TracedBatch, variant: Variant, layer: int) -> torch.Tensor:
    """Logits of a variant by re-unembedding the modified final residual (last layer only)."""
    return subject.unembed(variant_residual(subject, batch, variant, layer))


def variant_stats(subject: Subject, batch: TracedBatch, variant: Variant, layer: int,
                  targets: torch.Tensor, update: RankUpdate | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`target_stats` of a variant, unembedding a block of positions at a time (never all logits).

    With ``update`` (a :class:`RankUpdate` for ``variant.zero``), the logits are read off the model's own
    logits by a rank-|S| update instead of a new 768 × vocab product (same numbers up to float rounding).
    """
    tgt = targets.reshape(-1).to(batch.logits.device)
    rows = 4 * STATS_ROWS  # both paths make a fresh [rows, vocab] block, reduced in place
    if update is not None:
        logits = batch.logits.reshape(-1, batch.logits.shape[-1])
        resid = (batch.resid_mid + batch.mlp_out).reshape(-1, batch.resid_mid.shape[-1])
        act = batch.act.reshape(-1, batch.act.shape[-1])
        parts = [target_stats(update.logits(logits[i:i + rows], resid[i:i + rows], act[i:i + rows]), tgt[i:i + rows],
                              inplace=True) for i in range(0, len(tgt), rows)]
        return _join(parts, targets.shape)
    resid = variant_residual(subject, batch, variant, layer).reshape(-1, batch.resid_mid.shape[-1])
    parts = [target_stats(subject.unembed(resid[i:i + rows]), tgt[i:i + rows], inplace=True)
             for i in range(0, len(tgt), rows)]
    return _join(parts, targets.shape)


class RankUpdate:
    """Logits with a neuron set ``S`` zeroed at the last MLP, from the full logits in O(|S| · vocab) per token.

    Zeroing ``S`` subtracts ``d = a_S @ W_out[S]`` from the final residual ``x``. ``ln_f`` centres and
    rescales, so with ``c(·)`` the centring, ``σ(x) = sqrt(mean(c(x)²) + ε)``, gain ``g`` and bias ``b``::

        z'(x - d) = σ(x)/σ(x - d) · (z(x) - u) - (a_S @ V_S) / σ(x - d) + u,
        V_S = W_U (g ⊙ c(w_s)) for s in S  ([|S|, vocab], precomputed),  u = lm_head(b).

    ``z(x)`` are the model's own logits from the trace; only ``σ(x - d)`` needs the 768-wide residual. With
    ``r = σ(x)/σ(x - d)`` the terms that are not ``r · z(x)`` are one small product, ``[a_S / σ(x - d), 1 - r]
    @ [-V_S; u]``, so the whole update is that product and one fused multiply-add over the vocabulary.
    """

    def __init__(self, subject: Subject, neurons: tuple[int, ...], layer: int) -> None:
        ln_f, w_u = subject.hf.transformer.ln_f, subject.w_u
        self.idx = torch.as_tensor(neurons, dtype=torch.long, device=w_u.device)
        w = subject.w_out(layer)[self.idx]  # [|S|, d_model]
        self.w = w
        self.eps = float(ln_f.eps)
        self.v = (ln_f.weight.detach() * (w - w.mean(-1, keepdim=True))) @ w_u.T  # [|S|, vocab]
        self.u = subject.hf.lm_head(ln_f.bias.detach())  # [vocab]
        self.vu = torch.cat([-self.v, self.u[None]])  # [|S| + 1, vocab]

    def _sigma(self, x: torch.Tensor) -> torch.Tensor:
        return (x.var(-1, unbiased=False, keepdim=True) + self.eps).sqrt()

    def logits(self, full: torch.Tensor, resid: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """Variant logits ``[M, vocab]`` from the full logits ``[M, vocab]``, final residual and activations."""
        a = act[:, self.idx]
        sigma_v = self._sigma(resid - a @ self.w)
        ratio = self._sigma(resid) / sigma_v  # [M, 1]
        coef = torch.cat([a / sigma_v, 1 - ratio], dim=1)  # [M, |S| + 1]
        return torch.addcmul(coef @ self.vu, full, ratio)  # r z + (1 - r) u - (a_S / σ') V_S


def decompose(act: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor,
              tiers: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Split an MLP output into tier outputs: ``T_S = a[..., S] @ W_out[S]``, ``[..., d_model]`` each.

    Returns the named tiers plus ``"residual"`` (every other neuron) and ``"bias"`` (``b_out``), which
    sum exactly (up to float rounding) to ``act @ w_out + b_out``. Tiers must not overlap.
    """
    used = [i for members in tiers.values() for i in members]
    if len(set(used)) != len(used):
        raise ValueError("tiers overlap; a decomposition needs disjoint neuron sets")
    parts = {}
    for name, members in tiers.items():
        idx = torch.as_tensor(members, dtype=torch.long)
        parts[name] = act[..., idx] @ w_out[idx]
    rest = torch.ones(act.shape[-1], dtype=torch.bool)
    rest[torch.as_tensor(used, dtype=torch.long)] = False
    parts["residual"] = act[..., rest] @ w_out[rest]
    parts["bias"] = b_out.expand_as(parts["residual"])
    return parts


def summarise_batch(subject: Subject, batch: TracedBatch, targets: torch.Tensor, config: HarvestConfig,
                    layer: int, updates: dict[str, RankUpdate] | None = None) -> dict[str, np.ndarray]:
    """Per-token arrays (flattened over ``[B, T]``) for one traced batch, reduced on the device.

    ``updates``: :class:`RankUpdate` per zero-variant name (see :func:`rank_updates`); variants without one
    are re-unembedded.
    """
    updates = updates or {}
    out: dict[str, np.ndarray] = {}
    act = batch.act.reshape(-1, batch.act.shape[-1])
    for rule in config.rules:
        out[f"mask/{rule.name}"] = pack(rule(act).cpu().numpy())
    out["acts"] = act[:, list(config.record)].cpu().numpy().astype(np.float32)
    results = {"full": target_stats(batch.logits, targets.to(batch.logits.device))} if config.logits else {}
    for v in config.variants:
        results[v.name] = variant_stats(subject, batch, v, layer, targets, updates.get(v.name))
    for name, (lp, arg, mx) in results.items():
        out[f"logprob/{name}"] = lp.reshape(-1).cpu().numpy().astype(np.float32)
        out[f"top1/{name}"] = arg.reshape(-1).cpu().numpy().astype(np.int32)
        out[f"maxprob/{name}"] = mx.reshape(-1).cpu().numpy().astype(np.float32)
    mlp = batch.mlp_out.reshape(-1, batch.mlp_out.shape[-1])
    out["mlp_norm"] = mlp.norm(dim=-1).cpu().numpy()
    if config.tiers:
        parts = decompose(act, subject.w_out(layer), subject.b_out(layer), dict(config.tiers))
        names_t = [n for n, _ in config.tiers] + ["residual"]
        out["tier_norm"] = torch.stack([parts[n].norm(dim=-1) for n in names_t], -1).cpu().numpy()
        out["tier_dot"] = torch.stack([(parts[n] * mlp).sum(-1) for n in names_t], -1).cpu().numpy()
    return out


def rank_updates(subject: Subject, config: HarvestConfig, layer: int) -> dict[str, RankUpdate]:
    """A :class:`RankUpdate` for every zero-variant of ``config`` (exact only at the last layer; else none)."""
    if layer != subject.n_layers - 1:
        return {}
    return {v.name: RankUpdate(subject, v.zero, layer) for v in config.variants
            if v.zero and not v.whole_mlp and not v.lens_prev_block}


@dataclass
class Harvest:
    """The per-token results of one harvest (numpy arrays) and where they came from.

    ``N`` = windows × window length; token ``i`` is position ``i % window`` of window ``i // window``.
    """

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def n_tokens(self) -> int:
        return int(self.arrays["input_ids"].shape[0])

    @property
    def is_pretrained(self) -> bool:
        """False when the numbers come from a random-weight model (stand-in or tiny)."""
        return bool(self.meta["model"]["is_pretrained"])

    @property
    def label(self) -> str:
        """Model and corpus in one line, for captions and result files."""
        return f"{self.meta['model']['describe']}; {self.meta['corpus']['describe']}"

    @property
    def window_index(self) -> np.ndarray:
        return np.arange(self.n_tokens) // self.meta["corpus"]["window"]

    @property
    def position(self) -> np.ndarray:
        return np.arange(self.n_tokens) % self.meta["corpus"]["window"]

    @property
    def within_window(self) -> np.ndarray:
        """True where the target lies in the same window (the lens / perplexity convention: 1,023 per window)."""
        return self.position < self.meta["corpus"]["window"] - 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def recorded(self, neuron: int) -> np.ndarray:
        """Post-GELU activation of a recorded neuron, ``float32 [N]``."""
        record = self.meta["config"]["record"]
        if neuron not in record:
            raise KeyError(f"N{neuron} was not recorded in this harvest (recorded: {record})")
        return self.arrays["acts"][:, record.index(neuron)]

    def _packed(self, rule: FiringRule | str) -> np.ndarray:
        from darkness_visible.tracing.firing import rule as as_rule

        name = as_rule(rule).name
        key = f"mask/{name}"
        if key not in self.arrays:
            have = [k.split("/", 1)[1] for k in self.arrays if k.startswith("mask/")]
            raise KeyError(f"no firing mask for rule {name!r} in this harvest (have {have}); harvest with rules=...")
        return self.arrays[key]

    def fires(self, neurons: int | list[int] | tuple[int, ...], rule: FiringRule | str) -> np.ndarray:
        """Firing of some neurons: ``bool [N]`` for one index, ``bool [N, k]`` for a list."""
        cols = [neurons] if isinstance(neurons, int) else list(neurons)
        check_indices(cols, self.meta["d_mlp"])
        mask = unpack(self._packed(rule), self.meta["d_mlp"], cols)
        return mask[:, 0] if isinstance(neurons, int) else mask

    def mask(self, rule: FiringRule | str, rows: np.ndarray | None = None) -> np.ndarray:
        """All neurons' firing, ``bool [N, d_mlp]`` (or the selected rows)."""
        packed = self._packed(rule)
        return unpack(packed if rows is None else packed[rows], self.meta["d_mlp"])

    def logprob(self, variant: str = "full") -> np.ndarray:
        """Natural-log probability of each target, ``float32 [N]``, under a variant."""
        return self.arrays[f"logprob/{variant}"]

    def prob(self, variant: str = "full") -> np.ndarray:
        return np.exp(self.logprob(variant).astype(np.float64))

    @cached_property
    def variants(self) -> list[str]:
        return [k.split("/", 1)[1] for k in self.arrays if k.startswith("logprob/")]


def _meta(subject: Subject, corpus: CorpusSpec, config: HarvestConfig, layer: int, origin: str) -> dict[str, Any]:
    return {
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {**subject.spec.key(), "describe": subject.spec.describe(),
                  "is_pretrained": subject.spec.is_pretrained},
        "corpus": {**asdict(corpus), "describe": corpus.describe(), "origin": origin},
        "layer": layer,
        "d_mlp": subject.d_mlp,
        "config": json_ready({**config.key(), "layer": layer}),
        "tier_names": [n for n, _ in config.tiers] + (["residual"] if config.tiers else []),
    }


def json_ready(value: Any) -> Any:
    """Tuples to lists, recursively, so metadata compares equal after a JSON round trip."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


#: Windows per cache chunk (fixed so that the batch size does not change the cache).
CHUNK_WINDOWS = 4


def _check_inputs(subject: Subject, corpus: CorpusSpec, config: HarvestConfig, layer: int) -> None:
    """Refuse a harvest that cannot run on this model (variants, neuron indices, window length), in one line."""
    check_variants(subject, config.variants, layer)
    check_indices(list(config.record), subject.d_mlp, "recorded neuron")
    for v in config.variants:
        check_indices(list(v.zero), subject.d_mlp, f"variant {v.name!r} neuron")
    for name, members in config.tiers:
        check_indices(list(members), subject.d_mlp, f"tier {name!r} neuron")
    if corpus.window > subject.n_ctx:
        from darkness_visible.data.corpus import ContextLengthError

        raise ContextLengthError(
            f"corpus windows of {corpus.window} tokens exceed the model's context of {subject.n_ctx}; "
            f"use window={subject.n_ctx} or less"
        )


def _read_back(store: Any, n_tokens: int) -> Harvest | None:
    """The cached harvest if the entry is complete and whole, else ``None`` (after taking the writer's lock and
    repairing what failed: the caller then computes the missing chunks)."""
    if store.complete:
        try:
            return Harvest(*open_arrays(store, n_tokens))
        except CorruptCacheError:
            pass  # prepare() below repairs what failed, under the writer's lock
    store.prepare()
    if store.complete:  # another process finished this entry while we waited for its lock
        try:
            return Harvest(*open_arrays(store, n_tokens))
        except CorruptCacheError:
            pass  # rebuilt by the caller from the (healed) chunks
    return None


def _trace_chunks(subject: Subject, inputs: np.ndarray, targets: np.ndarray, config: HarvestConfig, layer: int,
                  store: Any, n_chunks: int, progress: bool) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
    """Trace every chunk of windows not on disk yet; each chunk goes to ``store`` (or, without a cache, into the
    returned list). Returns the in-memory chunks and the throughput record."""
    import time

    from tqdm import tqdm

    n_windows, window = inputs.shape
    batch_size = config.batch_size or batch_windows(subject.device, bytes_per_window(subject, window))
    bar = tqdm(total=n_windows, desc=f"harvest layer {layer}", unit="window", disable=not progress)
    chunks: list[dict[str, np.ndarray]] = []
    started, computed = time.perf_counter(), 0
    with torch.inference_mode():
        updates = rank_updates(subject, config, layer)
    for c in range(n_chunks):
        lo, hi = c * CHUNK_WINDOWS, min((c + 1) * CHUNK_WINDOWS, n_windows)
        if store is not None and store.has_chunk(c):  # resumed: the chunk is on disk already
            bar.update(hi - lo)
            continue
        parts = []
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            ids = torch.from_numpy(inputs[start:stop])
            with torch.inference_mode():
                traced = trace_batch(subject, ids, layer, logits=config.logits)
                parts.append(summarise_batch(subject, traced, torch.from_numpy(targets[start:stop]), config, layer,
                                             updates))
            bar.update(stop - start)
            computed += (stop - start) * window
        chunk = _concat(parts)
        chunk["input_ids"] = inputs[lo:hi].reshape(-1).astype(np.int32)
        chunk["target"] = targets[lo:hi].reshape(-1).astype(np.int32)
        if store is not None:  # on disk, not in memory: results never accumulate in RAM
            store.write_chunk(c, chunk)
        else:
            chunks.append(chunk)
    bar.close()
    seconds = time.perf_counter() - started
    throughput = {"tokens_computed": computed, "seconds": round(seconds, 2),
                  "tokens_per_s": round(computed / seconds, 1) if computed else None,
                  "device": str(subject.device), "batch_windows": batch_size}
    return chunks, throughput


@releases_locks
def harvest(subject: Subject | None = None, corpus: CorpusSpec | None = None, config: HarvestConfig | None = None,
            *, cache: str | Path | bool | None = None, progress: bool = True) -> Harvest:
    """Run (or load from cache) the one traced pass over a corpus slice.

    Args:
        subject: the model (default: :func:`load_model` with the model setting).
        corpus: the slice (default: :func:`corpus_spec`, i.e. ``DV_WINDOWS`` windows of the test split).
        config: what to record (default: the paper's settings for this model's size).
        cache: folder for the cache, ``False`` for none, ``None`` for the setting (``DV_CACHE``).
        progress: show a tqdm bar.
    """
    subject = subject or load_model()
    corpus = corpus or corpus_spec()
    config = config or HarvestConfig.for_model(subject)
    layer = subject.layer_index(config.layer)
    _check_inputs(subject, corpus, config, layer)
    stream, origin = token_stream(subject.tokenizer, corpus)
    inputs, targets = windows(stream, corpus)
    # the layer normalised (None, -1 and 11 are one layer on GPT-2 Small, so one cache)
    material = {"model": subject.spec.key(), "corpus": asdict(corpus),
                "config": json_ready({**config.key(), "layer": layer}),
                "layer": layer, "stream_sha": _digest(stream[: corpus.n_tokens + 1])}
    n_chunks = math.ceil(corpus.n_windows / CHUNK_WINDOWS)
    store = chunk_cache(cache, material, n_chunks=n_chunks)
    if store is not None and (cached := _read_back(store, corpus.n_tokens)) is not None:
        return cached
    meta = _meta(subject, corpus, config, layer, origin)
    chunks, meta["throughput"] = _trace_chunks(subject, inputs, targets, config, layer, store, n_chunks, progress)
    if store is None:
        return Harvest(meta, _concat(chunks))
    build_arrays(store, n_chunks, corpus.n_tokens)  # still this entry's writer: consolidate, then publish
    store.finalize(n_chunks, meta)
    return Harvest(*open_arrays(store, corpus.n_tokens))


def bytes_per_window(subject: Subject, window: int) -> int:
    """Rough working memory of one window in the traced pass: logits plus variant temporaries, activations."""
    vocab = int(subject.hf.config.vocab_size)
    return window * 4 * (4 * vocab + 4 * subject.d_mlp + 8 * int(subject.hf.config.n_embd))


def _digest(array: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: Largest difference two routes to the same fp32 logits may show and still count as float rounding.
ROUNDING_TOLERANCE = 1e-4


def agreement_phrase(gap: float, tolerance: float = ROUNDING_TOLERANCE) -> str:
    """How two computations of one quantity compare, for prose: ``gap`` is their max absolute difference.

    ``0`` -> "are identical to the bit"; ``<= tolerance`` -> "agree up to float rounding (...)"; larger or NaN ->
    "differ by up to ..., more than float rounding", so a sentence never claims agreement the page does not show.
    """
    if gap == 0:
        return "are identical to the bit"
    if math.isfinite(gap) and gap <= tolerance:
        return f"agree up to float rounding (largest difference {gap:.1e})"
    return f"differ by up to {gap:.3g}, more than float rounding ({tolerance:g}) explains"
