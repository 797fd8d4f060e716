"""Command line: ``python -m darkness_visible <command>``.

``harvest`` runs (or loads) the one traced pass and prints where its cache went; ``download`` fills the
Hugging Face cache with the real GPT-2; ``info`` shows the resolved settings. Chapter analyses register
themselves in :data:`CHAPTERS` as they land.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from darkness_visible import __version__
from darkness_visible.config.settings import book_root
from darkness_visible.errors import ChapterError, DVUserError, SettingError

#: ``name -> (help, function(args) -> exit code)``; filled from the book's notebooks by :func:`chapters`.
CHAPTERS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {}
#: The book's chapter notebooks; their commands exist even where the notebooks cannot be found (they then
#: say where to get them).
KNOWN_CHAPTERS: tuple[str, ...] = ("01_tracing", "02_exception_handler", "03_consensus_crossover",
                                   "04_knowledge_neurons", "05_garden_path", "06_crystallization", "99_scorecard")


def _command_name(stem: str) -> str:
    return stem.split("_", 1)[1].replace("_", "-")


def chapters() -> dict[str, tuple[str, Callable[[argparse.Namespace], int]]]:
    """One command per chapter notebook (``notebooks/NN_name.ipynb`` -> ``name``) of :func:`book_root`."""
    root = book_root()
    found = dict(CHAPTERS)
    paths = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")) if root is not None else []
    for path in paths:
        found[_command_name(path.stem)] = (f"execute chapter {path.stem} headless and save its results",
                                           lambda args, path=path: _run_chapter(args, path))
    for stem in KNOWN_CHAPTERS:
        found.setdefault(_command_name(stem), (f"execute chapter {stem} (needs the book's checkout)",
                                               lambda args, stem=stem: _missing_chapter(stem)))
    return found


def _missing_chapter(stem: str) -> int:
    raise ChapterError(
        f"chapter notebook notebooks/{stem}.ipynb not found: run this command inside the book's checkout "
        "(git clone https://github.com/darkness-visible/darkness-visible, then cd into it)"
    )


def _absolute(value: str | Path | None) -> str | None:
    """A path setting made absolute against the caller's working directory (a kernel runs in ``notebooks/``)."""
    return None if value is None or value == "" else str(Path(value).expanduser().resolve())


@contextlib.contextmanager
def _cache_setting(cache: str | None) -> Iterator[None]:
    """``--cache`` is ``DV_CACHE`` while the command runs: the harvest, the file-hash memo and the download's
    checksum record all go there, none to the default cache folder (restored afterwards, for callers of
    :func:`main` in one process)."""
    if not cache:
        yield
        return
    before = os.environ.get("DV_CACHE")
    os.environ["DV_CACHE"] = _absolute(cache)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DV_CACHE", None)
        else:
            os.environ["DV_CACHE"] = before


def _run_chapter(args: argparse.Namespace, path: Path) -> int:
    from darkness_visible.config.settings import cache_dir, results_dir
    from darkness_visible.models.preflight import preflight
    from darkness_visible.tools.run_notebook import run

    # every check before a kernel starts; relative paths are the caller's, not notebooks/'s
    os.environ.update({k: str(v) for k, v in {"DV_SIZE": args.size, "DV_DEVICE": args.device}.items() if v})
    if getattr(args, "layer", None) is not None:
        os.environ["DV_LAYER"] = str(args.layer)
    _at_least("--windows", args.windows)
    checked = preflight(args.model, windows=args.windows, split=args.split, source=args.corpus_source,
                        cache=_absolute(args.cache or os.environ.get("DV_CACHE")), device=args.device)
    build = Path(_absolute(args.build_dir) or path.parent.parent / "_build")
    results = _absolute(os.environ.get("DV_RESULTS") or None) if args.build_dir is None else str(build / "results")
    _writable(build / "executed", "--build-dir" if args.build_dir else "the build folder",
              "pass --build-dir /a/writable/folder")
    _writable(Path(results or results_dir()), "DV_RESULTS" if args.build_dir is None and results else
              "the scorecard folder", "set DV_RESULTS (or --build-dir) to a writable folder")
    settings = {"DV_MODEL": checked.spec.setting, "DV_WINDOWS": args.windows, "DV_SPLIT": args.split,
                "DV_CORPUS_SOURCE": args.corpus_source, "DV_CACHE": _absolute(args.cache or os.environ.get("DV_CACHE")),
                "DV_RESULTS": results}
    os.environ.update({k: str(v) for k, v in settings.items() if v is not None})
    out = build / "executed" / path.name
    seconds = run(path, save_to=out)  # on a failing cell it raises after saving the notebook there
    print(f"executed {path.name} in {seconds:.0f} s")
    print(f"notebook with outputs: {out}")
    print(f"scorecard rows:        {results_dir()}")
    print(f"harvest cache:         {cache_dir()}")
    return 0


def _writable(folder: Path, what: str, fix: str) -> None:
    """Refuse, before a kernel starts, an output folder that cannot be created or written (a file in the way, a
    read-only file system, no permission)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingError(f"cannot write to {what} {folder} ({reason}): {fix}") from None


def _at_least(flag: str, value: int | None, low: int = 1) -> None:
    """Refuse a numeric option below ``low`` before any work (``--window 0`` must not mean "the context")."""
    if value is not None and value < low:
        raise SettingError(f"{flag} must be at least {low}, got {value}: pass {flag} {low} or more")


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
    parser.add_argument("--split", choices=("test", "train"), default=None, help=(
        "WikiText-103 split (test = the paper's crossover corpus; train needs the hub). Default: $DV_SPLIT, "
        "then _config.yml, then test."))
    parser.add_argument("--corpus-source", choices=("auto", "hub", "local"), default=None, help=(
        "where the corpus comes from: the hub through `datasets`, the copy shipped with the package, or "
        "auto (hub when reachable). Default: $DV_CORPUS_SOURCE, then auto."))
    parser.add_argument("--cache", default=None, help="cache folder (default: $DV_CACHE or ~/.cache/darkness-visible)")


def _harvest(args: argparse.Namespace) -> int:
    from darkness_visible.config.settings import cache_dir
    from darkness_visible.config.sizes import resolve_size
    from darkness_visible.data.corpus import corpus_spec
    from darkness_visible.models.checks import check_layer_arg, default_window
    from darkness_visible.models.loading import load_model
    from darkness_visible.models.preflight import preflight
    from darkness_visible.tracing.harvest import HarvestConfig, harvest

    _at_least("--batch-size", args.batch_size)
    _at_least("--window", args.window)
    _at_least("--windows", args.windows)

    windows = resolve_size(args.size, args.windows).windows
    checked = preflight(args.model, windows=windows, window=args.window, split=args.split,
                        source=args.corpus_source, cache=args.cache, device=args.device)  # before loading
    check_layer_arg(args.layer, checked.info)
    subject = load_model(checked.spec, device=args.device)
    window = default_window(subject.n_ctx) if args.window is None else args.window
    corpus = corpus_spec(windows, split=args.split, window=window, source=args.corpus_source)
    config = HarvestConfig.for_model(subject, layer=args.layer, batch_size=args.batch_size)
    result = harvest(subject, corpus, config, cache=args.cache, progress=not args.quiet)
    print(f"model:  {subject.spec.describe()}")
    print(f"corpus: {corpus.describe()} ({result.meta['corpus']['origin']})")
    print(f"layer:  {result.meta['layer']}; tokens: {result.n_tokens:,}")
    print(f"variants: {', '.join(v.name for v in config.variants) or 'none'}"
          + ("" if result.meta["layer"] == subject.n_layers - 1 else
             " (the re-unembedding variants exist only at the last layer)"))
    print(f"cache:  {cache_dir(args.cache)}")
    if not subject.spec.is_gpt2_small:
        print(f"NOTE: {subject.spec.identity.label}; these numbers are not GPT-2 Small's.")
    return 0


def _download(args: argparse.Namespace) -> int:
    from darkness_visible.models.loading import download

    print(download(args.model or "openai-community/gpt2"))
    return 0


def _info(args: argparse.Namespace) -> int:
    from darkness_visible.config.device import device_setting, resolve_device
    from darkness_visible.config.settings import cache_dir, find_book_config, model_setting
    from darkness_visible.config.sizes import resolve_size
    from darkness_visible.data.corpus import corpus_spec
    from darkness_visible.models.loading import ModelSpec

    spec = ModelSpec.parse(model_setting(args.model))
    size = resolve_size(args.size, args.windows)
    corpus = corpus_spec(size.windows, split=args.split, source=args.corpus_source)
    print(json.dumps({
        "version": __version__, "model": spec.describe(), "pretrained": spec.is_pretrained,
        "gpt2_small": spec.is_gpt2_small, "identity": spec.identity.label,
        "size": size.as_dict(), "device": f"{device_setting(args.device)} -> {resolve_device(args.device)}",
        "corpus": corpus.describe(), "corpus_source": corpus.source, "cache": str(cache_dir(args.cache)),
        "book_config": str(find_book_config()),
    }, indent=1, ensure_ascii=False))
    return 0


def _add_discover(sub) -> None:
    """``discover``: an exception handler at one layer from firing statistics alone (:mod:`.handler_depth`)."""
    from darkness_visible.discovery import family
    from darkness_visible.discovery.depth import add_command

    add_command(sub, _common)
    family.add_command(sub)


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
                   help="tokens per window (default: 1,024 as in the paper, or the model's context if shorter)")
    p.add_argument("--layer", type=int, default=None, help=(
        "layer to record (default: the last, 11 on GPT-2 Small; negative counts from the end). At other layers "
        "only the lens variant is recorded: the ablation variants are exact only at the last layer."))
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default: what fits in half the free memory; 2 at most on a CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_harvest)
    p = sub.add_parser("download", help="download GPT-2 Small into the Hugging Face cache (needs the hub)")
    p.add_argument("--model", default=None, help="hub id (default openai-community/gpt2 at the pinned revision)")
    p.add_argument("--cache", default=None, help="cache folder where the download's checksums are recorded "
                   "(default: $DV_CACHE or ~/.cache/darkness-visible)")
    p.set_defaults(func=_download)
    p = sub.add_parser("info", help="show the resolved settings (model, corpus, cache)")
    _common(p)
    p.set_defaults(func=_info)
    _add_discover(sub)
    for name, (text, func) in chapters().items():
        p = sub.add_parser(name, help=text)
        _common(p)
        p.add_argument("--build-dir", default=None, help=(
            "folder for the executed notebook (executed/) and the scorecard rows (results/); default: the "
            "book's _build/"))
        p.add_argument("--layer", type=int, default=None, help=(
            "the layer under study (default: $DV_LAYER, then the last block; negative counts from the end). Its "
            "neurons are the paper's lists on GPT-2 Small's last layer, else the roles discovery finds there."))
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors the user can fix (:class:`~darkness_visible.errors.DVUserError`) end in a clear
    message naming the fix, not a traceback. Any other exception is a bug and keeps its traceback."""
    try:
        args = build_parser().parse_args(argv)
        with _cache_setting(getattr(args, "cache", None)):
            return int(args.func(args))
    except DVUserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
