"""The book's preflight: resolve a run's settings and check, cheaply, that it can run, before any model loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darkness_visible.config.device import resolve_device
from darkness_visible.config.settings import book_settings, model_setting
from darkness_visible.config.sizes import resolve_size
from darkness_visible.data.corpus import corpus_spec
from darkness_visible.errors import SettingError
from darkness_visible.io.cache import cache_folder, ensure_writable
from darkness_visible.models.checks import MIN_CONTEXT, PAPER_WINDOW, CheckpointInfo, check_corpus_source
from darkness_visible.models.loading import ModelSpec, check_checkpoint


@dataclass(frozen=True)
class Preflight:
    """What :func:`preflight` resolved: the model, its shape (``None``: hub model not downloaded yet), the corpus."""

    spec: Any
    info: CheckpointInfo | None
    corpus: Any
    cache: Path | None


def preflight(model: str | None = None, *, windows: int | None = None, window: int | None = None,
              split: str | None = None, source: str | None = None,
              cache: str | Path | bool | None = None, device: str | None = None) -> Preflight:
    """Resolve the run's settings and check, cheaply, that it can run; raise the one-line error otherwise.

    Checks, in order: ``_config.yml`` parses; the size preset and the device (``device``, else ``DV_DEVICE``
    and ``_config.yml``) exist here; the model setting names a model that can be had here and is a
    usable GPT-2 (:func:`check_checkpoint`: configuration, vocabulary, context, weight-file headers); the
    corpus can be read (hub reachable when required); the cache folder is writable. ``window``: the window
    length the run will use (default ``min(1024, n_ctx)``).
    """
    book_settings()  # an invalid _config.yml fails here, with its line
    resolve_size()  # DV_SIZE=huge, size: 3 in _config.yml, a bad DV_WINDOWS
    resolve_device(device)  # --device cuda without CUDA, --device bogus
    spec = ModelSpec.parse(model_setting(model))
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise SettingError(f"window must be a whole number of tokens, at least 1, got {window!r}")
    info = check_checkpoint(spec, min_context=window or MIN_CONTEXT)
    corpus = corpus_spec(windows, split=split, window=window or (info.window if info else PAPER_WINDOW),
                         source=source)
    check_corpus_source(corpus.split, corpus.source)
    folder = cache_folder(cache)
    if folder is not None:
        ensure_writable(folder)
    return Preflight(spec, info, corpus, folder)
