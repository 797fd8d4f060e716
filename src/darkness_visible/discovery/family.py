"""The paper's depth prediction, runnable: where does an exception handler appear across the GPT-2 family?

The paper reads its handler at GPT-2 Small's last layer and predicts that "similar structures will crystallize
at the final layer" of deeper GPT-2s (paper-claims E10; Balogh 2026, Discussion). :func:`depth_prediction`
runs this book's one discovery procedure (:func:`darkness_visible.discovery.depth.discover_layers`) at every
layer of each model it is given and states the prediction as a row per model: *a handler at the last layer,
and at no earlier one*.

Models are GPT-2 family members by name (:data:`FAMILY`), with their weights from

- ``"hub"``: the real checkpoints (``openai-community/gpt2`` ... ``gpt2-xl``, ``distilbert/distilgpt2``), which
  need the Hugging Face hub or its cache (offline without a cache: one line naming the fix);
- ``"random"``: random weights of that shape (the null: no handler is expected anywhere);
- ``"planted"``: random weights of that shape with a handler planted at the last layer
  (:func:`darkness_visible.discovery.planted_random.build_random_planted`), which checks that the procedure
  finds a handler where there is one, at any depth.

A local checkpoint folder or any other model setting can be given too (its weights are then what they are).
Only the hub weights answer the paper's question; the other two check the machinery, and say so.
gpt2-xl has 48 layers and 1.5 billion parameters: on a CPU each window takes seconds, so a GPU (``--device
cuda``) is what makes the full family practical.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from darkness_visible.models.loading import Subject

Weights = Literal["hub", "random", "planted"]
WEIGHTS: tuple[Weights, ...] = ("hub", "random", "planted")


@dataclass(frozen=True)
class Member:
    """One GPT-2 family member: its hub id and shape (layers, width, MLP width, heads, context)."""

    hub_id: str
    n_layers: int
    d_model: int
    d_mlp: int
    n_head: int
    n_ctx: int = 1024


#: The GPT-2 family as published on the hub (Radford et al. 2019; distilgpt2: Sanh et al. 2019).
FAMILY: dict[str, Member] = {
    "distilgpt2": Member("distilbert/distilgpt2", 6, 768, 3072, 12),
    "gpt2": Member("openai-community/gpt2", 12, 768, 3072, 12),
    "gpt2-medium": Member("openai-community/gpt2-medium", 24, 1024, 4096, 16),
    "gpt2-large": Member("openai-community/gpt2-large", 36, 1280, 5120, 20),
    "gpt2-xl": Member("openai-community/gpt2-xl", 48, 1600, 6400, 25),
}


def _shape(member: Member, n_ctx: int | None):
    from darkness_visible.discovery.planted_random import Shape

    return Shape(member.n_layers, member.d_model, member.d_mlp, member.n_head, min(member.n_ctx, n_ctx or 10**9))


def family_subject(name: str, weights: Weights = "hub", *, seed: int = 0, n_ctx: int | None = None,
                   device: str | None = None) -> Subject:
    """The model ``name`` (a :data:`FAMILY` name, or any model setting when ``weights="hub"``) with ``weights``.

    ``n_ctx`` caps the context of the random and planted models (their windows are that long; shorter is
    cheaper). Raises :class:`~darkness_visible.errors.SettingError` for an unknown name or weights.
    """
    from darkness_visible.errors import SettingError

    if weights not in WEIGHTS:
        raise SettingError(f"weights={weights!r}: use one of {', '.join(WEIGHTS)}")
    if weights == "hub":
        from darkness_visible.models.loading import load_model

        return load_model(FAMILY[name].hub_id if name in FAMILY else name, device=device)
    if name not in FAMILY:
        raise SettingError(f"{name!r} is not a GPT-2 family name ({', '.join(FAMILY)}); random and planted "
                           "weights need one of those shapes")
    shape = _shape(FAMILY[name], n_ctx)
    if weights == "planted":
        from darkness_visible.discovery.planted_random import build_random_planted

        return build_random_planted(seed, shape=shape, layer=shape.n_layers - 1).subject
    from nnsight import TransformersModel

    from darkness_visible.discovery.planted import RandomShapeSpec
    from darkness_visible.models.loading import Subject, load_tokenizer, random_model

    spec = RandomShapeSpec("tiny", f"random-{name}-shape-ctx{shape.n_ctx}", None, seed, n_layers=shape.n_layers,
                           shape_of=name)
    return Subject(TransformersModel(random_model(shape.config(), seed), tokenizer=load_tokenizer()), spec)


def prediction_row(model: str, weights: str, n_layers: int, handler_layers: Sequence[int]) -> dict[str, object]:
    """The prediction as a row: ``holds`` is True when the only layer with a handler is the last one.

    ``relative_depth`` gives each handler layer as a fraction of the depth (the last layer is 1.0)."""
    last = n_layers - 1
    layers = [int(L) for L in handler_layers]
    if not layers:
        outcome = "no handler at any layer"
    elif layers == [last]:
        outcome = "the last layer only"
    elif last in layers:
        outcome = "the last layer and earlier ones"
    else:
        outcome = "earlier layers only"
    return {"model": model, "weights": weights, "n_layers": n_layers, "handler_layers": layers,
            "relative_depth": [round(L / last, 3) if last else 1.0 for L in layers],
            "outcome": outcome, "holds": layers == [last]}


def depth_prediction(models: Sequence[str] = tuple(FAMILY), weights: Weights = "hub", *, windows: int = 8,
                     window: int = 256, seed: int = 0, device: str | None = None,
                     cache: object = None, progress: bool = False) -> pd.DataFrame:
    """Discovery at every layer of each model, and the paper's prediction checked per model.

    ``windows`` windows of ``window`` tokens of the WikiText-103 test split (the settings' corpus source) feed
    every model. Columns: those of :func:`prediction_row`. The table's ``attrs["results"]`` keeps each model's
    :class:`~darkness_visible.discovery.depth.DepthResult` (its per-layer table).
    """
    import pandas as pd

    from darkness_visible.data.corpus import corpus_spec
    from darkness_visible.discovery.depth import discover_layers

    rows, results = [], {}
    for name in models:
        subject = family_subject(name, weights, seed=seed, n_ctx=window, device=device)
        corpus = corpus_spec(windows, window=min(window, subject.n_ctx))
        result = discover_layers(subject, corpus, cache=cache, progress=progress)
        results[name] = result
        rows.append(prediction_row(name, weights, subject.n_layers, result.layers_with_handler))
        del subject
    table = pd.DataFrame(rows)
    table.attrs["results"] = results
    return table


#: The members the book's depth section runs (chapter 06): the two smallest, which a CPU sweeps in about a minute
#: at the ``quick`` size. The rest of the family is one ``depth`` command away (:func:`command`).
BOOK_MODELS: tuple[str, ...] = ("distilgpt2", "gpt2")


def book_weights(name: str, cached: bool | None = None) -> tuple[Weights, ...]:
    """The weights the book's section runs for family member ``name``: the real checkpoint when it is in the local
    Hugging Face cache (``cached``: default, look; no network is used), else random and planted weights of its
    shape, which check the procedure (no handler expected on random weights, one at the last layer on planted)."""
    if cached is None:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - a dependency of transformers
            cached = False
        else:
            cached = isinstance(try_to_load_from_cache(FAMILY[name].hub_id, "config.json"), str)
    return ("hub",) if cached else ("random", "planted")


def book_corpus(size: Any = None) -> tuple[int, int]:
    """``(windows, window)`` of the book's depth section at ``size`` (a :class:`~darkness_visible.config.sizes.Size`,
    default the settings'): 8 windows of 128 tokens at ``quick`` (about a minute on a CPU for both members),
    the ``depth`` command's 8 x 256 otherwise. Both are far smaller than the paper's survey: the section locates a
    handler, it does not measure one."""
    from darkness_visible.config.sizes import resolve_size

    size = size or resolve_size()
    return (8, 128) if size.name == "quick" else (8, 256)


def book_prediction(size: Any = None, models: Sequence[str] = BOOK_MODELS, *, cached: bool | None = None,
                    seed: int = 0, cache: object = None) -> pd.DataFrame:
    """The book's depth section: :func:`depth_prediction` for each of ``models`` with :func:`book_weights`, on
    :func:`book_corpus` ``(size)``. One row per model and weights (the columns of :func:`prediction_row`);
    ``attrs["results"]`` maps ``(model, weights)`` to each :class:`~darkness_visible.discovery.depth.DepthResult`."""
    import pandas as pd

    windows, window = book_corpus(size)
    tables, results = [], {}
    for name in models:
        for weights in book_weights(name, cached):
            table = depth_prediction((name,), weights, windows=windows, window=window, seed=seed, cache=cache)
            results[(name, weights)] = table.attrs["results"][name]
            tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    table.attrs["results"] = results
    return table


def depth_points(table: pd.DataFrame) -> pd.DataFrame:
    """Every layer of every model of a :func:`book_prediction` table, for the depth figure: ``model, weights,
    n_layers, layer, relative_depth`` (0 = the first block, 1 = the last) and ``status`` ("handler found",
    "downstream of a handler", "no handler")."""
    import pandas as pd

    rows = []
    for (name, weights), result in table.attrs["results"].items():
        t = result.table
        n_layers = len(t)
        for r in t.itertuples():
            own = bool(r.handler) if hasattr(r, "handler") else bool(r.found)
            status = "handler found" if own else "downstream of a handler" if r.found else "no handler"
            rows.append({"model": name, "weights": weights, "n_layers": n_layers, "layer": int(r.layer),
                         "relative_depth": int(r.layer) / (n_layers - 1) if n_layers > 1 else 1.0,
                         "status": status})
    return pd.DataFrame(rows)


def commands_table() -> pd.DataFrame:
    """Every family member with its depth and the command that runs the prediction on its real weights."""
    import pandas as pd

    return pd.DataFrame([{"model": name, "hub id": m.hub_id, "layers": m.n_layers, "MLP width": m.d_mlp,
                          "command": command(name)} for name, m in FAMILY.items()])


def command(name: str, weights: Weights = "hub") -> str:
    """The shell command that runs the depth prediction on family member ``name``."""
    return f"python -m darkness_visible depth --models {name} --weights {weights}"


def add_command(sub: Any) -> None:
    """Register ``depth`` on the CLI's subparsers."""
    p = sub.add_parser(
        "depth", help="the depth prediction: where a handler appears across the GPT-2 family",
        description="Run discovery at every layer of each GPT-2 family model and check the paper's prediction "
                    "(a handler at the last layer, at no earlier one). --weights hub needs the hub or its cache; "
                    "random and planted weights of the same shapes run anywhere and check the procedure.")
    p.add_argument("--models", nargs="+", default=["distilgpt2", "gpt2"], metavar="MODEL",
                   help=f"family names ({', '.join(FAMILY)}) or, with --weights hub, any model setting (default: "
                        "distilgpt2 gpt2; the whole family needs a GPU to be quick)")
    p.add_argument("--weights", choices=WEIGHTS, default="hub",
                   help="hub: the real checkpoints; random: random weights of the shapes; planted: a handler "
                        "planted at the last layer of random weights (default: hub)")
    p.add_argument("--windows", type=int, default=8, help="windows of WikiText-103 test text per model (default 8)")
    p.add_argument("--window", type=int, default=256, help="tokens per window (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random and planted weights (default 0)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--cache", default=None, help="cache folder (default: $DV_CACHE or ~/.cache/darkness-visible)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """``depth``: print the prediction row of each model (and each model's layers with a handler)."""
    import json

    from darkness_visible.errors import SettingError

    for name in ("windows", "window"):
        if getattr(args, name) < 1:
            raise SettingError(f"--{name} {getattr(args, name)}: give a whole number of at least 1")
    table = depth_prediction(args.models, args.weights, windows=args.windows, window=args.window, seed=args.seed,
                             device=args.device, cache=args.cache, progress=not args.json)
    if args.json:
        for row in table.to_dict("records"):
            print(json.dumps(row))
        return 0
    print(table.to_string(index=False))
    note = "" if args.weights == "hub" else f" ({args.weights} weights: this checks the procedure, not GPT-2)"
    print(f"prediction (a handler at the last layer only) holds on {int(table['holds'].sum())} of {len(table)} "
          f"models{note}")
    return 0
