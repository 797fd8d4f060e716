"""Every layer in one pass: the firing masks of each block's MLP and the last block's attention statistics.

:func:`trace_layers` runs one nnsight trace per batch that reads ``transformer.h[L].mlp.act.output`` for
L = 0, 1, ..., n-1 (forward order); :func:`layer_masks` keeps only the bit-packed firing masks of each layer
(FIRE-ABS by default), cached on disk like the harvest (:class:`~darkness_visible.io.cache.ChunkCache`, keyed
by model, corpus and rules). :func:`attention_sink` reads, with eager attention, the share of attention a head
sends to position 0 and its entropy, and every head's importance (paper-claims E10, E15). The statistics
computed from these live in :mod:`darkness_visible.analysis.crosslayer`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from darkness_visible.data.corpus import CorpusSpec, token_stream, windows
from darkness_visible.io.cache import chunk_cache, releases_locks
from darkness_visible.models.loading import Subject
from darkness_visible.tracing.firing import FIRE_ABS, FiringRule, pack, unpack
from darkness_visible.tracing.firing import PRESETS as FIRING_PRESETS

#: Windows of the paper's cross-layer survey (DS-A windows 0..99, 102,400 tokens).
PAPER_WINDOWS = 100
#: The head the paper calls the attention sink of the last block ("L11H7", paper-claims E15).
SINK_HEAD = 7


@dataclass(frozen=True)
class CrossLayerConfig:
    """What the all-layer pass keeps: firing masks of every layer under each rule.

    The pass always records the standard rules (FIRE-ABS and FIRE-POS, the paper's two; packed masks cost
    1 bit per neuron and token) besides any others asked for, so the survey (FIRE-ABS) and the handler-depth
    sweep (both) share one cached pass instead of running the 12-layer forward twice.
    """

    rules: tuple[FiringRule, ...] = (FIRE_ABS,)
    batch_size: int = field(default=1, compare=False)


_STREAMS: dict[tuple[Any, ...], tuple[np.ndarray, str, bool]] = {}


def corpus_stream(subject: Subject, corpus: CorpusSpec, *, whole: bool = False) -> tuple[np.ndarray, str]:
    """:func:`darkness_visible.data.corpus.token_stream`, memoised per tokenizer and corpus construction.

    The memo keeps the longest stream tokenised so far; a request for more tokens than it holds (a larger
    slice, or ``whole``) tokenises again. Heads of one text share their tokens, so a longer stream serves
    every smaller slice unchanged.
    """
    tok = subject.tokenizer
    key = (str(getattr(tok, "name_or_path", "")), len(tok), corpus.split, corpus.source, corpus.construction)
    held = _STREAMS.get(key)
    if held is None or not held[2] and (whole or len(held[0]) < corpus.n_tokens + 1):
        _STREAMS.clear()  # keep one stream (about 1 MB per 250K tokens)
        stream, origin = token_stream(tok, corpus, whole=whole)
        _STREAMS[key] = (stream, origin, whole)
    stream, origin, _ = _STREAMS[key]
    return stream, origin


def stream_digest(stream: np.ndarray, corpus: CorpusSpec) -> str:
    """A short hash of the tokens a corpus slice reads (part of every cache key, as in the harvest)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(stream[: corpus.n_tokens + 1]).tobytes()).hexdigest()[:16]


def layer_corpus(base: CorpusSpec) -> CorpusSpec:
    """The survey's corpus: ``base`` capped at the paper's 100 windows."""
    return CorpusSpec(base.split, min(base.n_windows, PAPER_WINDOWS), base.window, base.source)


def trace_layers(subject: Subject, input_ids: torch.Tensor) -> list[torch.Tensor]:
    """One nnsight trace; every layer's post-GELU activations, ``n_layers`` tensors ``[B, T, d_mlp]``."""
    model = subject.model
    saved: list[Any] = []
    input_ids = input_ids.to(subject.device)
    with model.trace(input_ids) as tracer:
        for L in range(subject.n_layers):
            saved.append(model.transformer.h[L].mlp.act.output.save())
        tracer.stop()  # nothing after the last MLP is needed: skip ln_f and the unembedding
    return list(saved)


@dataclass
class LayerMasks:
    """Bit-packed firing masks of every layer: ``arrays["L<l>/<rule>"]`` is ``uint8 [N, ceil(d_mlp/8)]``."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def n_layers(self) -> int:
        return int(self.meta["n_layers"])

    @property
    def d_mlp(self) -> int:
        return int(self.meta["d_mlp"])

    @property
    def n_tokens(self) -> int:
        return int(self.arrays["input_ids"].shape[0])

    @property
    def label(self) -> str:
        return f"{self.meta['model']['describe']}; {self.meta['corpus']['describe']}"

    @property
    def is_pretrained(self) -> bool:
        return bool(self.meta["model"]["is_pretrained"])

    def mask(self, layer: int, rule: FiringRule = FIRE_ABS) -> np.ndarray:
        """All neurons' firing at ``layer``: ``bool [N, d_mlp]``."""
        key = f"L{layer}/{rule.name}"
        if key not in self.arrays:
            raise KeyError(f"no mask {key!r}; this pass kept rules {self.meta['rules']} for {self.n_layers} layers")
        return unpack(self.arrays[key], self.d_mlp)

    def fires(self, layer: int, neurons: list[int] | tuple[int, ...], rule: FiringRule = FIRE_ABS) -> np.ndarray:
        """Some neurons' firing at ``layer``: ``bool [N, k]``."""
        return unpack(self.arrays[f"L{layer}/{rule.name}"], self.d_mlp, list(neurons))


@dataclass
class MasksPlan:
    """Where the all-layer pass over a corpus is cached and what it reads: ``inputs [n_windows, T]``, the
    firing rules ``recorded`` (name -> rule) and the manifest ``meta``; shared by :func:`layer_masks` and
    :func:`darkness_visible.analysis.window_pass.fill`, so both write the same cache."""

    store: Any
    inputs: np.ndarray
    recorded: dict[str, FiringRule]
    meta: dict[str, Any]
    n_chunks: int


def masks_plan(subject: Subject, corpus: CorpusSpec, config: CrossLayerConfig | None = None,
               cache: str | Path | bool | None = None) -> MasksPlan:
    """The cache entry (``None`` store without a cache) and inputs of the all-layer pass over ``corpus``."""
    config = config or CrossLayerConfig()
    stream, origin = corpus_stream(subject, corpus)
    inputs, _ = windows(stream, corpus)
    recorded = dict(sorted({r.name: r for r in (*FIRING_PRESETS.values(), *config.rules)}.items()))
    rules = list(recorded)
    material = {"model": subject.spec.key(), "corpus": asdict(corpus), "rules": rules, "what": "mlp.act all layers",
                "stream_sha": stream_digest(stream, corpus), "chunk_windows": config.batch_size}
    meta = {"model": {**subject.spec.key(), "describe": subject.spec.describe(),
                      "is_pretrained": subject.spec.is_pretrained},
            "corpus": {**asdict(corpus), "describe": corpus.describe(), "origin": origin},
            "n_layers": subject.n_layers, "d_mlp": subject.d_mlp, "rules": rules}
    n_chunks = math.ceil(corpus.n_windows / config.batch_size)
    return MasksPlan(chunk_cache(cache, material, prefix="crosslayer", n_chunks=n_chunks), inputs, recorded, meta,
                     n_chunks)


def masks_chunk(acts: list[torch.Tensor], recorded: dict[str, FiringRule], input_ids: np.ndarray
                ) -> dict[str, np.ndarray]:
    """One chunk of the all-layer pass: each layer's packed mask per rule from its activations
    (``n_layers`` tensors ``[B, T, d_mlp]``), and the chunk's ``input_ids [B*T]``."""
    chunk: dict[str, np.ndarray] = {}
    for L, act in enumerate(acts):
        flat = act.reshape(-1, act.shape[-1])
        for name, rule in recorded.items():
            chunk[f"L{L}/{name}"] = pack(rule(flat).cpu().numpy())
    chunk["input_ids"] = input_ids.reshape(-1).astype(np.int32)
    return chunk


@releases_locks
def layer_masks(subject: Subject, corpus: CorpusSpec, config: CrossLayerConfig | None = None, *,
                cache: str | Path | bool | None = None, progress: bool = True) -> LayerMasks:
    """Run (or load from cache) the all-layer pass over ``corpus`` and keep every layer's firing masks."""
    config = config or CrossLayerConfig()
    plan = masks_plan(subject, corpus, config, cache)
    store, inputs, recorded, meta = plan.store, plan.inputs, plan.recorded, plan.meta
    loaded = store.load_complete() if store is not None else None
    if loaded is not None:
        return LayerMasks(loaded[0], _concat(loaded[1]))
    if store is not None:
        store.prepare()
    from tqdm import tqdm

    chunks = []
    step = config.batch_size
    n_chunks = math.ceil(corpus.n_windows / step)
    for c in tqdm(range(n_chunks), desc="all-layer masks", disable=not progress):
        lo, hi = c * step, min((c + 1) * step, corpus.n_windows)
        if store is not None and store.has_chunk(c):
            chunks.append(store.read_chunk(c))
            continue
        with torch.inference_mode():
            acts = trace_layers(subject, torch.from_numpy(inputs[lo:hi]))
            chunk = masks_chunk(acts, recorded, inputs[lo:hi])
            del acts
        if store is not None:
            store.write_chunk(c, chunk)
        chunks.append(chunk)
    if store is not None:
        store.finalize(n_chunks, meta)
    return LayerMasks(meta, _concat(chunks))


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# -- the attention sink ----------------------------------------------------------------------------------


def trace_attention(subject: Subject, input_ids: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One nnsight trace of an *eager*-attention model: the heads' outputs before ``c_proj`` and the weights.

    Returns ``z [B, T, d_model]`` (``attn.c_proj`` input: heads concatenated) and ``A [B, H, T, T]``.
    """
    if subject.hf.config._attn_implementation != "eager":
        raise ValueError('attention weights need load_model(spec, attn_implementation="eager")')
    model = subject.model
    input_ids = input_ids.to(subject.device)
    with model.trace(input_ids):
        attn = model.transformer.h[layer].attn
        z = attn.c_proj.input.save()
        weights = attn.output[1].save()
    return z, weights


def trace_head_inputs(subject: Subject, input_ids: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One nnsight trace of the model as loaded (no eager attention needed), stopped after layer ``layer``'s
    attention: ``qkv [B, T, 3 d_model]`` (``attn.c_attn`` output) and ``z [B, T, d_model]`` (``c_proj`` input)."""
    model = subject.model
    input_ids = input_ids.to(subject.device)
    with model.trace(input_ids) as tracer:
        attn = model.transformer.h[layer].attn
        qkv = attn.c_attn.output.save()
        z = attn.c_proj.input.save()
        tracer.stop()
    return qkv, z


def head_weights(subject: Subject, qkv: torch.Tensor, layer: int, head: int) -> torch.Tensor:
    """One head's causal attention pattern ``[B, T, T]`` from ``c_attn``'s output, as GPT-2 computes it.

    ``softmax(q_h k_hᵀ · s + causal mask)`` with ``s = 1/sqrt(d_head)`` (and ``1/(layer+1)`` where the config
    scales by the layer index); equal to the eager implementation's weights up to float rounding.
    """
    cfg = subject.hf.config
    d_model, n_head = qkv.shape[-1] // 3, int(cfg.n_head)
    d_head = d_model // n_head
    q, k, _ = qkv.split(d_model, dim=-1)
    qh, kh = (t[..., head * d_head:(head + 1) * d_head].float() for t in (q, k))
    scores = qh @ kh.transpose(-1, -2)
    if getattr(cfg, "scale_attn_weights", True):
        scores = scores / d_head ** 0.5
    if getattr(cfg, "scale_attn_by_inverse_layer_idx", False):
        scores = scores / float(layer + 1)
    T = scores.shape[-1]
    causal = torch.ones(T, T, dtype=torch.bool, device=scores.device).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(-1)


def head_stats(subject: Subject, z: torch.Tensor, weights: torch.Tensor, layer: int, head: int,
               ) -> dict[str, torch.Tensor]:
    """Per query token (flattened ``[B*T]``): the head's attention to position 0 (``sink``), the entropy of
    its attention in bits (``entropy``), and every head's output norm (``importance [B*T, H]``).

    A head's output before summation is ``z_h @ W_O[h]``, with ``W_O[h]`` rows ``64h..64h+63`` of
    ``attn.c_proj.weight`` (Conv1D layout ``[d_model, d_model]``).
    """
    n_head = int(subject.hf.config.n_head)
    d_head = z.shape[-1] // n_head
    w_o = subject.hf.transformer.h[layer].attn.c_proj.weight.detach().reshape(n_head, d_head, -1)
    zh = z.reshape(*z.shape[:-1], n_head, d_head)  # [B, T, H, d_head]
    per_head = torch.einsum("bthd,hdm->bthm", zh, w_o)
    importance = per_head.norm(dim=-1).reshape(-1, n_head)
    if not 0 <= head < n_head:  # a model with fewer heads: no such head, only the importances
        nan = torch.full((importance.shape[0],), float("nan"), device=importance.device)
        return {"sink": nan, "entropy": nan.clone(), "importance": importance}
    a = weights[:, head] if weights.dim() == 4 else weights  # [B, T, T]: all heads' weights, or the head's own
    plogp = torch.where(a > 0, a * torch.log2(a.clamp_min(1e-30)), torch.zeros_like(a))
    return {"sink": a[..., 0].reshape(-1), "entropy": (-plogp.sum(-1)).reshape(-1), "importance": importance}


def attention_plan(subject: Subject, corpus: CorpusSpec, layer: int | None = None, head: int = SINK_HEAD,
                   cache: str | Path | bool | None = None) -> tuple[int, Any, np.ndarray]:
    """The layer index, cache entry (``None`` without a cache) and ``inputs [n_windows, T]`` of
    :func:`attention_sink`; shared with :func:`darkness_visible.analysis.window_pass.fill`. Says once (a printed line)
    when the model has no head ``head``."""
    L = subject.layer_index(layer)
    n_head = int(subject.hf.config.n_head)
    if not 0 <= head < n_head:
        from darkness_visible.models.checks import note_skip

        note_skip(f"head {head} of layer {L} (the paper's L11H7 sink): this model has {n_head} heads per layer, so "
                  "the sink share and entropy are NaN; every head's importance is still measured")
    stream, _ = corpus_stream(subject, corpus)
    inputs, _ = windows(stream, corpus)
    material = {"model": subject.spec.key(), "corpus": asdict(corpus), "layer": L, "head": head,
                "what": "attention head stats", "stream_sha": stream_digest(stream, corpus)}
    return L, chunk_cache(cache, material, prefix="attention", n_chunks=corpus.n_windows), inputs


def attention_chunk(subject: Subject, qkv: torch.Tensor, z: torch.Tensor, layer: int, head: int
                    ) -> dict[str, np.ndarray]:
    """One window's head statistics (:func:`head_stats`) from ``c_attn``'s output ``qkv [1, T, 3 d_model]``
    and ``c_proj``'s input ``z [1, T, d_model]`` at ``layer``, as float32 arrays."""
    n_head = int(subject.hf.config.n_head)
    weights = head_weights(subject, qkv, layer, head) if 0 <= head < n_head else qkv.new_empty(0)
    stats = head_stats(subject, z, weights, layer, head)
    return {name: value.cpu().numpy().astype(np.float32) for name, value in stats.items()}


@releases_locks
def attention_sink(subject: Subject, corpus: CorpusSpec, layer: int | None = None, head: int = SINK_HEAD, *,
                   cache: str | Path | bool | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """Head statistics of ``layer`` over the corpus, one trace per window stopped after that layer's attention.

    The head's pattern is recomputed from ``c_attn``'s output (:func:`head_weights`), so the model needs no
    eager attention and the run skips the later layers and the unembedding; :func:`trace_attention` on an
    eager model gives the same weights (tested). Cached per window like the harvest (key: model, corpus
    slice and its tokens, layer, head).

    A model with ``head`` or fewer heads per layer gets NaN sink and entropy (said in one printed line).

    Returns per token (``N = n_windows × window``, the harvest's token order): ``sink`` and ``entropy`` of
    ``head`` (``float [N]``) and ``importance`` of every head (``float [N, H]``).
    """
    L, store, inputs = attention_plan(subject, corpus, layer, head, cache)
    loaded = store.load_complete() if store is not None else None
    if loaded is not None:
        return _concat(loaded[1])
    if store is not None:
        store.prepare()
    from tqdm import tqdm

    chunks = []
    for k in tqdm(range(corpus.n_windows), desc=f"attention L{L}", disable=not progress):
        if store is not None and store.has_chunk(k):
            chunks.append(store.read_chunk(k))
            continue
        with torch.inference_mode():
            qkv, z = trace_head_inputs(subject, torch.from_numpy(inputs[k: k + 1]), L)
            chunk = attention_chunk(subject, qkv, z, L, head)
        if store is not None:
            store.write_chunk(k, chunk)
        chunks.append(chunk)
    if store is not None:
        store.finalize(corpus.n_windows, {"layer": L, "head": head})
    return _concat(chunks)
