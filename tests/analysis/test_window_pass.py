"""The shared pass writes exactly what the survey, the attention statistics and the lens would write alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from darkness_visible.analysis import window_pass
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.lens import lenses as lens
from darkness_visible.tracing import layers

BASE = CorpusSpec("test", 3, 128, "local")


def _translators(subject, seed=0):
    t = lens.Translators(subject.n_layers, subject.hf.config.n_embd)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    return t


def _alone(subject, survey, sink, lens_corpus, translators, config, layer, head):
    """The three functions run on their own, without a cache: the reference."""
    masks = layers.layer_masks(subject, survey, cache=False, progress=False)
    stats = layers.attention_sink(subject, sink, layer, head, cache=False, progress=False)
    result = lens.run_lens(subject, lens_corpus, translators, config, cache=False, progress=False)
    return masks, stats, result


def _assert_same(a, b):
    masks_a, stats_a, lens_a = a
    masks_b, stats_b, lens_b = b
    assert masks_a.arrays.keys() == masks_b.arrays.keys()
    for key in masks_a.arrays:
        np.testing.assert_array_equal(masks_a.arrays[key], masks_b.arrays[key])
    assert stats_a.keys() == stats_b.keys()
    for key in stats_a:
        np.testing.assert_array_equal(stats_a[key], stats_b[key])  # bit-identical: the same trace, the same ops
    np.testing.assert_array_equal(lens_a.logit, lens_b.logit)
    np.testing.assert_array_equal(lens_a.tuned, lens_b.tuned)


@pytest.mark.parametrize(("layer", "head", "stride"), [(1, 1, 1), (0, 3, 4)])
def test_one_pass_fills_the_same_caches_the_three_passes_would(tiny, tmp_path, layer, head, stride):
    survey, sink, lens_corpus = replace(BASE, n_windows=2), BASE, BASE
    translators, config = _translators(tiny), lens.LensConfig(stride=stride)
    done = window_pass.fill(tiny, survey=survey, sink=sink, lens_corpus=lens_corpus, translators=translators,
                            lens_config=config, sink_layer=layer, sink_head=head, cache=tmp_path, progress=False)
    assert done == {"survey": 2, "attention": 3, "lens": 3}
    # each function now finds its cache complete: reading it gives the arrays a run on its own computes
    for store in (layers.masks_plan(tiny, survey, cache=tmp_path).store,
                  layers.attention_plan(tiny, sink, layer, head, tmp_path)[1],
                  lens.lens_plan(tiny, lens_corpus, translators, config, tmp_path).store):
        assert store.load_complete() is not None
    cached = (layers.layer_masks(tiny, survey, cache=tmp_path, progress=False),
              layers.attention_sink(tiny, sink, layer, head, cache=tmp_path, progress=False),
              lens.run_lens(tiny, lens_corpus, translators, config, cache=tmp_path, progress=False))
    _assert_same(cached, _alone(tiny, survey, sink, lens_corpus, translators, config, layer, head))
    again = window_pass.fill(tiny, survey=survey, sink=sink, lens_corpus=lens_corpus, translators=translators,
                             lens_config=config, sink_layer=layer, sink_head=head, cache=tmp_path, progress=False)
    assert again == {"survey": 0, "attention": 0, "lens": 0}


def test_a_lost_chunk_is_all_that_is_recomputed(tiny, tmp_path):
    translators = _translators(tiny, seed=1)
    kw = dict(survey=BASE, sink=BASE, lens_corpus=BASE, translators=translators, sink_head=1, cache=tmp_path,
              progress=False)
    window_pass.fill(tiny, **kw)
    store = lens.lens_plan(tiny, BASE, translators, lens.LensConfig(), tmp_path).store
    store.chunk_path(1).unlink()
    with pytest.warns(UserWarning, match="rebuilding only those"):
        assert window_pass.fill(tiny, **kw) == {"survey": 0, "attention": 0, "lens": 1}
    result = lens.run_lens(tiny, BASE, translators, cache=tmp_path, progress=False)
    alone = lens.run_lens(tiny, BASE, translators, cache=False, progress=False)
    np.testing.assert_array_equal(result.tuned, alone.tuned)


def test_a_warm_function_cache_is_left_alone_and_the_others_are_filled(tiny, tmp_path):
    layers.layer_masks(tiny, BASE, cache=tmp_path, progress=False)
    done = window_pass.fill(tiny, survey=BASE, sink=BASE, sink_head=1, cache=tmp_path, progress=False)
    assert done == {"survey": 0, "attention": 3}


def test_only_first_windows_of_one_stream_can_share_a_pass(tiny, tmp_path):
    other = replace(BASE, window=64)  # other windows of the same text: not the same inputs
    with pytest.raises(ValueError, match="not the first"):
        window_pass.fill(tiny, survey=BASE, sink=other, cache=tmp_path, progress=False)


def test_without_a_cache_there_is_nothing_to_fill(tiny):
    assert window_pass.fill(tiny, survey=BASE, cache=False, progress=False) == {}
    assert window_pass.fill(tiny, cache=None, progress=False) == {}
