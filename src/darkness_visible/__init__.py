"""darkness_visible: an executable replication of Balogh (2026), "Darkness Visible: Reading the
Exception Handler of a Language Model" (arXiv 2604.04756), on GPT-2 Small's last MLP, traced with
nnsight.

The package is grouped by concern (lower layers never import higher ones)::

    errors      one-line user errors           config/     settings, size presets, device
    io/         cache, storage, hub            data/       corpus, prompts, stimuli, neuron lists
    models/     loading, identity, checks      tracing/    firing rules, harvest, per-layer passes
    stats/      bootstrap and CIs              discovery/  the discovery procedure, depth sweep, planted models
    lens/       logit and tuned lens           analysis/   one module per chapter (computation)
    plotting/   house style and figures        report/     result rows, tolerances, scorecard
    book        the chapters' run context      exercises/  the exercises' checks;  tools/, cli

The names below are the public API, so a notebook reads ``import darkness_visible as dv`` and
``dv.load_model(...)``, ``dv.harvest(...)``, ``dv.discover(...)``; chapter modules by path
(``from darkness_visible.analysis import tiers``). They are imported on
first use (PEP 562), so ``import darkness_visible`` itself does not load torch or transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> (module, attribute); attribute ``None`` means the module itself.
_API: dict[str, tuple[str, str | None]] = {
    # models and settings
    "load_model": ("darkness_visible.models.loading", "load_model"),
    "ModelSpec": ("darkness_visible.models.loading", "ModelSpec"),
    "Subject": ("darkness_visible.models.loading", "Subject"),
    "identify": ("darkness_visible.models.identity", "identify"),
    "preflight": ("darkness_visible.models.preflight", "preflight"),
    "resolve_size": ("darkness_visible.config.sizes", "resolve_size"),
    "CorpusSpec": ("darkness_visible.data.corpus", "CorpusSpec"),
    "corpus_spec": ("darkness_visible.data.corpus", "corpus_spec"),
    # tracing
    "FiringRule": ("darkness_visible.tracing.firing", "FiringRule"),
    "FIRE_ABS": ("darkness_visible.tracing.firing", "FIRE_ABS"),
    "FIRE_POS": ("darkness_visible.tracing.firing", "FIRE_POS"),
    "harvest": ("darkness_visible.tracing.harvest", "harvest"),
    "HarvestConfig": ("darkness_visible.tracing.harvest", "HarvestConfig"),
    "layer_masks": ("darkness_visible.tracing.layers", "layer_masks"),
    # discovery
    "discover": ("darkness_visible.discovery.discover", "discover"),
    "DiscoverConfig": ("darkness_visible.discovery.discover", "DiscoverConfig"),
    # the paper's neuron lists (GPT-2 Small, layer 11)
    "PAPER_LAYER": ("darkness_visible.data.neurons", "PAPER_LAYER"),
    "EXCEPTION_NEURON": ("darkness_visible.data.neurons", "EXCEPTION_NEURON"),
    "CORE": ("darkness_visible.data.neurons", "CORE"),
    "DIFFERENTIATORS": ("darkness_visible.data.neurons", "DIFFERENTIATORS"),
    "SPECIALISTS": ("darkness_visible.data.neurons", "SPECIALISTS"),
    "CONSENSUS": ("darkness_visible.data.neurons", "CONSENSUS"),
    # the run context of a chapter
    "start": ("darkness_visible.book", "start"),
}
_SUBPACKAGES = ("analysis", "config", "data", "discovery", "exercises", "io", "lens", "models", "plotting",
                "report", "stats", "tools", "tracing", "book", "cli", "errors")

__all__ = sorted([*_API, *_SUBPACKAGES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _API:
        module, attribute = _API[name]
        value = importlib.import_module(module)
        value = value if attribute is None else getattr(value, attribute)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
