"""The paper's untested prediction, as code: where does legible routing crystallize in another checkpoint?

The paper reads GPT-2 Small's routing program at layer 11, its last block, and argues that legible routing
"crystallizes" at the end of the network (terminal crystallization). It predicts that other GPT-2-family
checkpoints show the same at *their* final layer (gpt2-medium: 24 layers, gpt2-large: 36, distilgpt2: 6)
and does not test it. :func:`locate_crystallization` runs the same automatic procedure at every layer of any
GPT-2-family checkpoint and names the layer where routing is most legible:

1. one nnsight pass records every layer's FIRE-ABS masks (:func:`darkness_visible.tracing.layers.layer_masks`);
2. at each layer the book's discovery procedure (:func:`darkness_visible.discovery.discover.discover`)
   finds an exception indicator and the neurons that co-fire with it (the *handler candidates*), and the
   paper's E10 procedure runs alongside (:func:`darkness_visible.analysis.crosslayer.characterize_layer`);
3. legibility of a layer = the max pairwise Jaccard (over all tokens) among its handler candidates, the
   measure behind the paper's "max 0.384 anywhere but L11's 0.998"; the crystallization layer is the
   layer where it is largest.

The verdict says whether that is the final layer, layer 11, or neither. Run it from the shell::

    python -m darkness_visible.analysis.prediction openai-community/gpt2-medium --windows 100
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from darkness_visible.analysis.crosslayer import SurveyConfig, characterize_layers
from darkness_visible.data.corpus import CorpusSpec, corpus_spec
from darkness_visible.models.loading import Subject, load_model
from darkness_visible.tracing.layers import CrossLayerConfig, layer_corpus, layer_masks

#: The checkpoints the paper's prediction names, with their depths.
PREDICTION_CHECKPOINTS: dict[str, int] = {
    "openai-community/gpt2": 12,
    "distilbert/distilgpt2": 6,
    "openai-community/gpt2-medium": 24,
    "openai-community/gpt2-large": 36,
}
#: The per-layer column that measures legibility.
LEGIBILITY = "handler_max_jaccard"


@dataclass(frozen=True)
class Prediction:
    """Where legible routing crystallizes in one model.

    ``table``: the per-layer survey (``pandas.DataFrame``, see :func:`characterize_layers`); ``layer``: the
    argmax of ``table[LEGIBILITY]``; ``verdict``: ``"final layer"``, ``"layer 11"`` or ``"layer k (neither)"``.
    """

    model: str
    n_layers: int
    layer: int
    verdict: str
    label: str
    is_pretrained: bool
    table: Any = field(repr=False, compare=False)

    @property
    def supports_terminal(self) -> bool:
        """True when routing is most legible at the final layer (the paper's prediction)."""
        return self.layer == self.n_layers - 1


def crystallization_layer(table: Any, column: str = LEGIBILITY) -> int:
    """The layer with the largest legibility (NaN layers skipped; ties: the earliest). ``-1`` if all NaN."""
    values = np.asarray(table[column], dtype=float)
    if not np.isfinite(values).any():
        return -1
    return int(table["layer"].iloc[int(np.nanargmax(values))])


def verdict(layer: int, n_layers: int) -> str:
    """``"final layer"``, ``"layer 11"`` (the paper's layer, when it is not final) or ``"layer k (neither)"``."""
    if layer < 0:
        return "nothing legible at any layer"
    if layer == n_layers - 1:
        return "final layer"
    if layer == 11:
        return "layer 11"
    return f"layer {layer} (neither)"


def locate_crystallization(model: str | Subject, corpus: CorpusSpec | None = None,
                           survey: SurveyConfig | None = None, *, cache: str | Path | bool | None = None,
                           progress: bool = True) -> Prediction:
    """Run the survey at every layer of ``model`` (a checkpoint id / setting or a loaded subject).

    ``corpus``: default the settings' corpus (``DV_WINDOWS``) capped at the survey's 100 windows, with the
    window shortened to the model's context if needed.
    """
    subject = model if isinstance(model, Subject) else load_model(model)
    survey = survey or SurveyConfig()
    base = corpus or layer_corpus(corpus_spec())
    if base.window > subject.n_ctx:
        base = CorpusSpec(base.split, base.n_windows, subject.n_ctx, base.source)
    masks = layer_masks(subject, base, CrossLayerConfig(rules=(survey.rule,)), cache=cache, progress=progress)
    table = characterize_layers(masks, survey, progress=progress)
    layer = crystallization_layer(table)
    return Prediction(subject.spec.describe(), subject.n_layers, layer, verdict(layer, subject.n_layers),
                      masks.label, masks.is_pretrained, table)


def is_cached(model: str) -> bool:
    """True if a hub checkpoint's config is already in the local Hugging Face cache (no network used)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    found = try_to_load_from_cache(model, "config.json")
    return isinstance(found, str)


def command(model: str, windows: int = 100) -> str:
    """The shell command that runs the prediction for ``model``."""
    return f"python -m darkness_visible.analysis.prediction {model} --windows {windows}"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m darkness_visible.analysis.prediction MODEL [--windows N] [--out table.csv]``."""
    parser = argparse.ArgumentParser(prog="python -m darkness_visible.analysis.prediction",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("model", help="checkpoint id (e.g. openai-community/gpt2-medium), folder, 'standin' or 'tiny'")
    parser.add_argument("--windows", type=int, default=100, help="corpus windows (the survey used 100)")
    parser.add_argument("--cache", default=None, help="cache folder (default: DV_CACHE)")
    parser.add_argument("--out", default=None, help="write the per-layer table to this CSV file")
    args = parser.parse_args(argv)
    subject = load_model(args.model)
    corpus = corpus_spec(args.windows, window=min(1024, subject.n_ctx))
    result = locate_crystallization(subject, corpus, cache=args.cache)
    columns = ["layer", "indicator", "indicator_rate", "handler_size", LEGIBILITY, "handler_pairs_above",
               "exception_neuron", "exception_fire_rate", "max_jaccard", "max_jaccard_within"]
    print(result.label)
    print(result.table[columns].to_string(index=False))
    print(f"legible routing crystallizes at layer {result.layer} of {result.n_layers}: {result.verdict}")
    if args.out:
        result.table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
