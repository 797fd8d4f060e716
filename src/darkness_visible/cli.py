"""Command line: ``python -m darkness_visible <command>``.

``harvest`` runs (or loads) the one traced pass and prints where its cache went; ``download`` fills the
Hugging Face cache with the real GPT-2; ``info`` shows the resolved settings. Chapter analyses register
themselves in :data:`CHAPTERS` as they land.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from . import __version__

#: ``name -> (help, function(args) -> exit code)``; filled from the book's notebooks by :func:`chapters`.
CHAPTERS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {}


def chapters() -> dict[str, tuple[str, Callable[[argparse.Namespace], int]]]:
    """One command per chapter notebook of the book this is run from (``notebooks/NN_name.ipynb`` -> ``name``)."""
    from .settings import find_book_config

    config = find_book_config()
    found = dict(CHAPTERS)
    if config is None:
        return found
    for path in sorted((config.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        name = path.stem.split("_", 1)[1].replace("_", "-")
        found[name] = (f"execute chapter {path.stem} headless and save its results",
                       lambda args, path=path: _run_chapter(args, path))
    return found


def _run_chapter(args: argparse.Namespace, path) -> int:
    import os

    from .model import ModelSpec, check_available
    from .settings import cache_dir, find_book_config, model_setting, results_dir
    from .tools.run_notebook import run

    check_available(ModelSpec.parse(model_setting(args.model)))  # fail before starting a kernel
    settings = {"DV_MODEL": args.model, "DV_WINDOWS": args.windows, "DV_CORPUS_SOURCE": args.corpus_source,
                "DV_CACHE": args.cache, "DV_SIZE": args.size, "DV_DEVICE": args.device}
    os.environ.update({k: str(v) for k, v in settings.items() if v is not None})
    out = find_book_config().parent / "_build" / "executed" / path.name
    seconds = run(path, save_to=out)  # on a failing cell it raises after saving the notebook there
    print(f"executed {path.name} in {seconds:.0f} s")
    print(f"notebook with outputs: {out}")
    print(f"scorecard rows:        {results_dir()}")
    print(f"harvest cache:         {cache_dir(args.cache)}")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help=(
        "model to run: a hub id (default openai-community/gpt2 at the pinned revision; id@rev for another), "
        "a local checkpoint folder, 'standin[:SEED]' (random weights, GPT-2 Small's shape: NOT GPT-2) or "
        "'tiny[:SEED]'. Default: $DV_MODEL, then _config.yml, then openai-community/gpt2."))
    parser.add_argument("--size", default=None, choices=("paper", "quick"), help=(
        "how much each chapter computes: 'paper' (every size the paper uses: 200 windows, the full lens, 5 null "
        "seeds, ...) or 'quick' (CI and first looks). Default: $DV_SIZE, then _config.yml, then paper."))
    parser.add_argument("--windows", type=int, default=None, help=(
        "override the preset's number of 1,024-token windows (the paper: 200). Default: $DV_WINDOWS, then "
        "_config.yml, then the size preset's."))
    parser.add_argument("--device", default=None, help=(
        "where the model runs: auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps. Default: "
        "$DV_DEVICE, then _config.yml, then auto."))
    parser.add_argument("--split", choices=("test", "train"), default="test", help=(
        "WikiText-103 split (test = the paper's crossover corpus; train needs the hub)."))
    parser.add_argument("--corpus-source", choices=("auto", "hub", "local"), default=None, help=(
        "where the corpus comes from: the hub through `datasets`, the copy shipped with the package, or "
        "auto (hub when reachable). Default: $DV_CORPUS_SOURCE, then auto."))
    parser.add_argument("--cache", default=None, help="cache folder (default: $DV_CACHE or ~/.cache/darkness-visible)")


def _harvest(args: argparse.Namespace) -> int:
    from .corpus import corpus_spec
    from .harvest import HarvestConfig, harvest
    from .model import load_model
    from .settings import cache_dir
    from .sizes import resolve_size

    subject = load_model(args.model, device=args.device)
    corpus = corpus_spec(resolve_size(args.size, args.windows).windows, split=args.split,
                         window=args.window or subject.n_ctx, source=args.corpus_source)
    config = HarvestConfig.for_model(subject, layer=args.layer, batch_size=args.batch_size)
    result = harvest(subject, corpus, config, cache=args.cache, progress=not args.quiet)
    print(f"model:  {subject.spec.describe()}")
    print(f"corpus: {corpus.describe()} ({result.meta['corpus']['origin']})")
    print(f"layer:  {result.meta['layer']}; tokens: {result.n_tokens:,}")
    print(f"cache:  {cache_dir(args.cache)}")
    if not subject.spec.is_pretrained:
        print("NOTE: random-weight model; these numbers are not GPT-2's.")
    return 0


def _download(args: argparse.Namespace) -> int:
    from .model import download

    print(download(args.model or "openai-community/gpt2"))
    return 0


def _info(args: argparse.Namespace) -> int:
    from .corpus import corpus_spec
    from .device import device_setting, resolve_device
    from .model import ModelSpec
    from .settings import cache_dir, find_book_config, model_setting
    from .sizes import resolve_size

    spec = ModelSpec.parse(model_setting(args.model))
    size = resolve_size(args.size, args.windows)
    corpus = corpus_spec(size.windows, split=args.split, source=args.corpus_source)
    print(json.dumps({
        "version": __version__, "model": spec.describe(), "pretrained": spec.is_pretrained,
        "size": size.as_dict(), "device": f"{device_setting(args.device)} -> {resolve_device(args.device)}",
        "corpus": corpus.describe(), "corpus_source": corpus.source, "cache": str(cache_dir(args.cache)),
        "book_config": str(find_book_config()),
    }, indent=1, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m darkness_visible",
        description="Replicate 'Darkness Visible' (Balogh 2026) on GPT-2 Small's last MLP, traced with nnsight.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("harvest", help="run (or load from cache) the one traced pass over the corpus",
                       description="Run the one nnsight pass that every chapter uses and cache it on disk.")
    _common(p)
    p.add_argument("--window", type=int, default=None,
                   help="tokens per window (default: the model's context, 1,024 on GPT-2 as in the paper)")
    p.add_argument("--layer", type=int, default=None, help="layer to record (default: the last, 11 on GPT-2 Small)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default: what fits in half the free memory; 2 at most on a CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_harvest)
    p = sub.add_parser("download", help="download GPT-2 Small into the Hugging Face cache (needs the hub)")
    p.add_argument("--model", default=None, help="hub id (default openai-community/gpt2 at the pinned revision)")
    p.set_defaults(func=_download)
    p = sub.add_parser("info", help="show the resolved settings (model, corpus, cache)")
    _common(p)
    p.set_defaults(func=_info)
    for name, (text, func) in chapters().items():
        p = sub.add_parser(name, help=text)
        _common(p)
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors the user can fix end in one clear line, not a traceback."""
    from .cache import CorruptCacheError
    from .corpus import ContextLengthError
    from .device import DeviceUnavailableError
    from .model import ModelUnavailableError
    from .tools.run_notebook import NotebookFailed

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ModelUnavailableError, ContextLengthError, CorruptCacheError, DeviceUnavailableError, NotebookFailed,
             IndexError, ValueError,
            FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
