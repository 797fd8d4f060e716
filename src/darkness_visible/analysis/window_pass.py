"""One traced pass over the test windows for everything chapter 06 reads from them.

The all-layer survey (:func:`layers.layer_masks`), the L11H7 attention statistics
(:func:`layers.attention_sink`) and the lens (:func:`lens.run_lens`) each read the same windows from
the start of the test stream, and each can run on its own, one trace per window. Run one after the other
that is three forward passes over up to 200 windows. :func:`fill` traces each window once instead,
reading every module the three need in forward order:

    embeddings -> for each block i: [i = sink layer] attn.c_attn.output, attn.c_proj.input
                                    -> mlp.act.output -> block output

and stops after the last block (the lens unembeds the states itself), then writes each window's share into
*the same cache entries* the three functions use, computed by the same per-window code
(:func:`layers.masks_chunk`, :func:`layers.attention_chunk`, :func:`lens.lens_chunk`). The
functions then find their caches complete and only read them; their results are the same arrays as a
separate run's (tested). Without a cache there is nothing to share, and :func:`fill` does nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.io.cache import cache_folder, releases_locks
from darkness_visible.lens import lenses as lens
from darkness_visible.models.loading import Subject, output_tensor
from darkness_visible.tracing import layers


@dataclass
class _Part:
    """One consumer of the pass: its cache entry, its inputs and which of its windows still need computing."""

    name: str
    store: Any
    inputs: np.ndarray
    todo: set[int] = field(default_factory=set)


@releases_locks
def fill(subject: Subject, *, survey: CorpusSpec | None = None, sink: CorpusSpec | None = None,
         lens_corpus: CorpusSpec | None = None, translators: lens.Translators | None = None,
         lens_config: lens.LensConfig | None = None, sink_layer: int | None = None,
         sink_head: int = layers.SINK_HEAD, masks_config: layers.CrossLayerConfig | None = None,
         cache: str | Path | bool | None = None, progress: bool = True) -> dict[str, int]:
    """Fill the caches of the survey (over ``survey``), the attention statistics (``sink``) and the lens
    (``lens_corpus``, decoded with ``translators``) in one nnsight trace per window.

    Each corpus must be a slice of the same stream's first windows (as ``run.first_windows`` gives); a part
    left ``None`` is not computed. Arguments match :func:`layers.layer_masks`,
    :func:`layers.attention_sink` and :func:`lens.run_lens`, so those calls afterwards read what this
    wrote. Parts whose cache is already complete are skipped, and so are windows already written (a killed
    run resumes). Returns the number of windows computed per part (0 everywhere on a warm cache).
    """
    masks_config = masks_config or layers.CrossLayerConfig()
    lens_config = lens_config or lens.LensConfig()
    if cache_folder(cache) is None:
        return {}
    if masks_config.batch_size != 1:
        raise ValueError("the shared pass traces one window at a time; use CrossLayerConfig(batch_size=1)")
    parts: list[_Part] = []
    mplan = lplan = None
    L = subject.layer_index(sink_layer)
    if survey is not None:
        mplan = layers.masks_plan(subject, survey, masks_config, cache)
        parts.append(_Part("survey", mplan.store, mplan.inputs))
    if sink is not None:
        L, store, inputs = layers.attention_plan(subject, sink, sink_layer, sink_head, cache)
        parts.append(_Part("attention", store, inputs))
    if lens_corpus is not None:
        lplan = lens.lens_plan(subject, lens_corpus, translators, lens_config, cache)
        parts.append(_Part("lens", lplan.store, lplan.inputs))
    longest = max(parts, key=lambda p: len(p.inputs), default=None)
    if longest is None:
        return {}
    for part in parts:  # every part reads the same first windows of one stream
        n = len(part.inputs)
        if not np.array_equal(part.inputs, longest.inputs[:n]):
            raise ValueError(f"the {part.name} corpus is not the first {n} windows of the {longest.name} corpus; "
                             "run its function on its own instead")
        if part.store.load_complete() is not None:
            continue
        part.store.prepare()
        part.todo = {k for k in range(n) if not part.store.has_chunk(k)}
    done = {part.name: len(part.todo) for part in parts}
    windows = sorted(set().union(*(part.todo for part in parts)))
    counts: dict[str, int] = {}
    started = time.perf_counter()
    from tqdm import tqdm

    for k in tqdm(windows, desc="one pass: " + ", ".join(p.name for p in parts if p.todo), disable=not progress):
        _trace_window(subject, k, parts, longest.inputs, L, sink_head, mplan, lplan, translators, counts)
    _finalize(parts, mplan, lplan, L, sink_head, counts, time.perf_counter() - started)
    return done


def _trace_window(subject: Subject, k: int, parts: list[_Part], inputs: np.ndarray, L: int, sink_head: int,
                  mplan: Any, lplan: Any, translators: Any, counts: dict[str, int]) -> None:
    """Trace window ``k`` once, reading in forward order what the parts that still need it read, and write each
    part's chunk for that window."""
    model = subject.model
    want = {part.name for part in parts if k in part.todo}
    ids = torch.from_numpy(inputs[k: k + 1]).to(subject.device)
    last = subject.n_layers - 1 if want & {"survey", "lens"} else L
    saved: dict[str, Any] = {"acts": [], "states": []}
    with torch.inference_mode():
        with model.trace(ids) as tracer:
            if "lens" in want:
                saved["states"].append(model.transformer.drop.output.save())
            for i in range(last + 1):
                block = model.transformer.h[i]
                if "attention" in want and i == L:
                    saved["qkv"] = block.attn.c_attn.output.save()
                    saved["z"] = block.attn.c_proj.input.save()
                if "survey" in want:
                    saved["acts"].append(block.mlp.act.output.save())
                if "lens" in want:
                    saved["states"].append(block.output.save())
            tracer.stop()
        for part in parts:
            if part.name not in want:
                continue
            if part.name == "survey":
                chunk = layers.masks_chunk(saved["acts"], mplan.recorded, mplan.inputs[k: k + 1])
            elif part.name == "attention":
                chunk = layers.attention_chunk(subject, saved["qkv"], saved["z"], L, sink_head)
            else:
                states = [output_tensor(s) for s in saved["states"]]
                chunk = lens.lens_chunk(subject, states, lplan.targets[k], lplan.keep, translators, counts)
            part.store.write_chunk(k, chunk)


def _finalize(parts: list[_Part], mplan: Any, lplan: Any, L: int, sink_head: int, counts: dict[str, int],
              seconds: float) -> None:
    """Publish every part whose entry this pass completed, with the metadata its own function writes."""
    for part in parts:
        if part.store.complete:
            continue
        if part.name == "survey":
            part.store.finalize(mplan.n_chunks, mplan.meta)
        elif part.name == "attention":
            part.store.finalize(len(part.inputs), {"layer": L, "head": sink_head})
        elif part.name == "lens":
            part.store.finalize(len(part.inputs), {"origin": lplan.origin, "shared_pass": True,
                                                   "seconds": round(seconds, 2), **counts})
