"""Every cache's key changes when any input it is computed from changes (issue 22).

Each test stops the cached function where it hands its key material to the cache (``cached_json``,
``cached_arrays``, ``chunk_cache`` or the tuned lens's ``cache_folder``) and compares the material of a base
call with that of a call differing in one input, so nothing is computed.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.io import cache as cache_module


class _Stop(Exception):
    def __init__(self, material):
        super().__init__("key captured")
        self.material = json.loads(json.dumps(material, sort_keys=True, default=str))


def _raise(*args, **kwargs):
    material = kwargs.get("material", args[1] if len(args) > 1 else None)
    if material is None:  # cache_folder(setting): the material is the caller's local
        material = sys._getframe(1).f_locals["material"]
    raise _Stop(material)


@pytest.fixture
def key_of(monkeypatch):
    """``key_of(call)``: the key material ``call()`` hands its cache."""
    for name in ("cached_json", "cached_arrays", "chunk_cache"):
        monkeypatch.setattr(cache_module, name, _raise)
    from darkness_visible.lens import lenses
    from darkness_visible.tracing import harvest, layers

    monkeypatch.setattr(harvest, "chunk_cache", _raise)
    monkeypatch.setattr(layers, "chunk_cache", _raise)
    monkeypatch.setattr(lenses, "chunk_cache", _raise)
    monkeypatch.setattr(lenses, "cache_folder", _raise)
    from darkness_visible.analysis import knowledge

    monkeypatch.setattr(knowledge, "cached_arrays", _raise)  # imported by name there

    def capture(call):
        with pytest.raises(_Stop) as stop:
            call()
        return stop.value.material

    return capture


def _bumped(config, skip=()):
    """Copies of a config dataclass, each with one numeric or boolean field changed (those that validate)."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name in skip or not f.compare:
            continue
        if isinstance(value, bool):
            new = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, float):
            new = value * 0.5 + 0.001
        else:
            continue
        try:
            out.append((f.name, dataclasses.replace(config, **{f.name: new})))
        except Exception:  # noqa: BLE001 - a value the config refuses is not an input
            continue
    assert out, f"no field of {type(config).__name__} could be changed"
    return out


# ------------------------------------------------------------------------------------ harvest
@pytest.mark.parametrize("field,value", [
    ("layer", 0), ("rules", ()), ("record", (1,)), ("tiers", ()), ("variants", ()), ("logits", False)])
def test_harvest_config_key_holds_every_field(field, value):
    from darkness_visible.tracing.harvest import HarvestConfig

    base = HarvestConfig()
    changed = dataclasses.replace(base, **({field: value} if field != "logits" else {"logits": False, "variants": ()}))
    assert changed.key() != base.key()
    assert dataclasses.replace(base, batch_size=3).key() == base.key(), "the batch size is no input"


@pytest.mark.parametrize("change", ["n_windows", "window", "layer", "rules"])
def test_harvest_cache_key_holds_corpus_and_config(change, tiny, tiny_corpus, key_of):
    from darkness_visible.tracing.firing import FIRE_ABS
    from darkness_visible.tracing.harvest import HarvestConfig, harvest

    config = HarvestConfig.for_model(tiny)
    base = key_of(lambda: harvest(tiny, tiny_corpus, config, progress=False))
    corpus = tiny_corpus
    if change == "n_windows":
        corpus = dataclasses.replace(corpus, n_windows=2)
    elif change == "window":
        corpus = dataclasses.replace(corpus, window=64)
    elif change == "layer":
        config = HarvestConfig.for_model(tiny, layer=0)
    else:
        config = dataclasses.replace(config, rules=(FIRE_ABS,))
    assert key_of(lambda: harvest(tiny, corpus, config, progress=False)) != base


# ------------------------------------------------------------------------------------ layer masks, attention, lens
@pytest.mark.parametrize("change", ["n_windows", "window", "rules", "batch_size"])
def test_layer_masks_key_holds_every_input(change, tiny, tiny_corpus, key_of):
    from darkness_visible.tracing.firing import FiringRule
    from darkness_visible.tracing.layers import CrossLayerConfig, masks_plan

    config, corpus = CrossLayerConfig(), tiny_corpus
    base = key_of(lambda: masks_plan(tiny, corpus, config))
    if change in ("n_windows", "window"):
        corpus = dataclasses.replace(corpus, **{change: 2 if change == "n_windows" else 64})
    elif change == "rules":
        config = CrossLayerConfig(rules=(FiringRule(0.7, True),))
    else:
        config = CrossLayerConfig(batch_size=2)  # the chunk layout
    assert key_of(lambda: masks_plan(tiny, corpus, config)) != base


@pytest.mark.parametrize("change", ["n_windows", "window", "layer", "head"])
def test_attention_key_holds_every_input(change, tiny, tiny_corpus, key_of):
    from darkness_visible.tracing.layers import attention_plan

    base = key_of(lambda: attention_plan(tiny, tiny_corpus, 1, 0))
    corpus, layer, head = tiny_corpus, 1, 0
    if change in ("n_windows", "window"):
        corpus = dataclasses.replace(corpus, **{change: 2 if change == "n_windows" else 64})
    elif change == "layer":
        layer = 0
    else:
        head = 1
    assert key_of(lambda: attention_plan(tiny, corpus, layer, head)) != base


@pytest.mark.parametrize("change", ["n_windows", "window", "stride", "translators"])
def test_lens_key_holds_every_input(change, tiny, tiny_corpus, key_of):
    import torch

    from darkness_visible.lens.lenses import LensConfig, Translators, lens_plan

    translators = Translators(tiny.n_layers, tiny.hf.config.n_embd)
    base = key_of(lambda: lens_plan(tiny, tiny_corpus, translators, LensConfig()))
    corpus, config, other = tiny_corpus, LensConfig(), translators
    if change in ("n_windows", "window"):
        corpus = dataclasses.replace(corpus, **{change: 2 if change == "n_windows" else 64})
    elif change == "stride":
        config = dataclasses.replace(config, stride=config.stride + 1)
    else:
        other = Translators(tiny.n_layers, tiny.hf.config.n_embd)
        with torch.no_grad():
            next(other.parameters()).add_(1.0)
    assert key_of(lambda: lens_plan(tiny, corpus, other, config)) != base


def test_tuned_lens_key_holds_every_input(tiny, key_of):
    from darkness_visible.lens.lenses import TunedLensConfig, train_tuned_lens

    corpus, config = CorpusSpec(n_windows=3, window=128, source="local"), TunedLensConfig()
    base = key_of(lambda: train_tuned_lens(tiny, corpus, config, progress=False))
    changes = [("n_windows", dataclasses.replace(corpus, n_windows=2), config),
               ("split", dataclasses.replace(corpus, split="train"), config),
               ("construction", dataclasses.replace(corpus, construction="DS-B"), config)]
    changes += [(name, corpus, c) for name, c in _bumped(config)]
    for name, c, cfg in changes:
        assert key_of(lambda c=c, cfg=cfg: train_tuned_lens(tiny, c, cfg, progress=False)) != base, name


# ------------------------------------------------------------------------------------ results computed from arrays
def test_discover_key_holds_every_input(key_of):
    from darkness_visible.discovery.discover import DiscoverConfig, discover

    rng = np.random.default_rng(0)
    pos, abs_mask = rng.random((50, 8)) < 0.3, rng.random((50, 8)) < 0.5
    windows, config = np.repeat(np.arange(5), 10), DiscoverConfig()
    base = key_of(lambda: discover(pos, abs_mask, windows, config, cache=True))
    flipped = pos.copy()
    flipped[0, 0] ^= True
    calls = {"pos": (flipped, abs_mask, windows, config), "abs_mask": (pos, ~abs_mask, windows, config),
             "no abs_mask": (pos, None, windows, config), "windows": (pos, abs_mask, windows[::-1].copy(), config),
             "window length": (pos, abs_mask, 10, config)}
    calls |= {name: (pos, abs_mask, windows, c) for name, c in _bumped(config)}
    for name, args in calls.items():
        assert key_of(lambda args=args: discover(*args, cache=True)) != base, name


def test_crossover_key_holds_the_procedure_and_level_count(key_of):
    from darkness_visible.analysis import consensus as C

    lv, dp, win = np.arange(8) % 4, np.linspace(0.3, -0.3, 8), np.arange(8) // 2
    base = key_of(lambda: C.crossover(lv, dp, win, C.STATED.seeded(0), 3, cache=True))
    for name, args in {"seed": (C.STATED.seeded(1), 3), "procedure": (C.FAITHFUL.seeded(0), 3),
                       "n_neurons": (C.STATED.seeded(0), 4)}.items():
        assert key_of(lambda args=args: C.crossover(lv, dp, win, *args, cache=True)) != base, name


def test_survey_row_key_holds_mask_width_and_config(key_of):
    from types import SimpleNamespace

    from darkness_visible.analysis.crosslayer import SurveyConfig, characterize_layers
    from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS

    config = SurveyConfig()
    mask = np.arange(16, dtype=np.uint8)

    def masks(m=mask, d_mlp=64, pos=mask, window=4):
        return SimpleNamespace(n_layers=1, d_mlp=d_mlp, arrays={f"L0/{FIRE_ABS.name}": m, f"L0/{FIRE_POS.name}": pos},
                               mask=None, meta={"corpus": {"window": window}})

    base = key_of(lambda: characterize_layers(masks(), config, cache=True))
    flipped = mask[::-1].copy()
    assert key_of(lambda: characterize_layers(masks(flipped), config, cache=True)) != base
    assert key_of(lambda: characterize_layers(masks(d_mlp=128), config, cache=True)) != base
    # the discovery columns read the signed rule's mask and the window length too
    assert key_of(lambda: characterize_layers(masks(pos=flipped), config, cache=True)) != base
    assert key_of(lambda: characterize_layers(masks(window=8), config, cache=True)) != base
    for name, c in _bumped(config):
        assert key_of(lambda c=c: characterize_layers(masks(), c, cache=True)) != base, name


# ------------------------------------------------------------------------------------ suites
def test_planted_recovery_key_holds_every_input(key_of):
    from darkness_visible.discovery.discover import DiscoverConfig
    from darkness_visible.discovery.planted_random import PlantRanges, recovery_suite

    base = key_of(lambda: recovery_suite([0]))
    calls = {"seed": dict(seeds=[1]), "n_tokens": dict(seeds=[0], n_tokens=1234), "layer": dict(seeds=[0], layer=0),
             "config": dict(seeds=[0], config=DiscoverConfig())}
    calls |= {f"ranges.{name}": dict(seeds=[0], ranges=r) for name, r in _bumped(PlantRanges())}
    for name, kwargs in calls.items():
        assert key_of(lambda kwargs=kwargs: recovery_suite(**kwargs)) != base, name


def test_null_model_key_holds_every_input(key_of):
    from darkness_visible.analysis.controls import NullModelConfig, null_model
    from darkness_visible.tracing.firing import FiringRule

    corpus, config = CorpusSpec(n_windows=3, window=128, source="local"), NullModelConfig()
    base = key_of(lambda: null_model(corpus, config, progress=False))
    calls = {"corpus": (dataclasses.replace(corpus, n_windows=2), config),
             "seed": (corpus, dataclasses.replace(config, seeds=tuple(s + 100 for s in config.seeds))),
             "rule": (corpus, dataclasses.replace(config, rule=FiringRule(0.7, True)))}
    calls |= {f"controls.{name}": (corpus, dataclasses.replace(config, controls=c))
              for name, c in _bumped(config.controls)}
    for name, args in calls.items():
        assert key_of(lambda args=args: null_model(*args, progress=False)) != base, name


def test_integrated_gradients_key_holds_every_input(tiny, key_of):
    from darkness_visible.analysis.knowledge import IGConfig, attribute_prompts
    from darkness_visible.data.prompts import FactPrompt

    prompts = [FactPrompt("The capital of France is", " Paris")]
    config = IGConfig()
    base = key_of(lambda: attribute_prompts(tiny, prompts, config))
    calls = {"prompt": ([FactPrompt("The capital of Italy is", " Paris")], config),
             "target": ([FactPrompt("The capital of France is", " Rome")], config)}
    calls |= {name: (prompts, c) for name, c in _bumped(config)}
    for name, args in calls.items():
        assert key_of(lambda args=args: attribute_prompts(tiny, *args)) != base, name


def test_depth_sweep_caches_through_discover_with_each_layers_masks(tiny, tiny_corpus, key_of, monkeypatch):
    """The sweep keeps no key of its own: each layer's report is discover()'s cache entry, keyed by that
    layer's masks, the corpus's window length and the config (tested above), so changing any of them
    changes the key; the survey shares these entries."""
    from types import SimpleNamespace

    from darkness_visible.discovery.depth import discover_layers
    from darkness_visible.discovery.discover import DiscoverConfig
    from darkness_visible.tracing import layers

    rng = np.random.default_rng(0)
    masks = {L: rng.random((8, 4)) < 0.5 for L in range(2)}
    monkeypatch.setattr(layers, "layer_masks", lambda *a, **k: SimpleNamespace(
        n_layers=2, label="tiny", is_pretrained=False, mask=lambda L, rule: masks[L]))
    config = DiscoverConfig()
    base = key_of(lambda: discover_layers(tiny, tiny_corpus, config, cache=True))
    assert base["what"] == "discover" and base["windows"] == tiny_corpus.window
    other = dataclasses.replace(tiny_corpus, window=tiny_corpus.window // 2)
    assert key_of(lambda: discover_layers(tiny, other, config, cache=True)) != base
    masks[0] = ~masks[0]
    assert key_of(lambda: discover_layers(tiny, tiny_corpus, config, cache=True))["masks"] != base["masks"]
