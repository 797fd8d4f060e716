"""Which model, how much corpus, where the cache lives: one setting each.

Precedence for every setting: an explicit argument, then an environment variable, then the book's
``_config.yml`` (key ``replication``), then the default. The default model is the real GPT-2 Small.

==================  ==========================  ===========================================
setting             environment variable        ``_config.yml``
==================  ==========================  ===========================================
model               ``DV_MODEL``                ``replication: {model: ...}``
size preset         ``DV_SIZE``                 ``replication: {size: ...}``  (``paper`` / ``quick``)
corpus windows      ``DV_WINDOWS``              ``replication: {windows: ...}`` (overrides the preset's)
device              ``DV_DEVICE``               ``replication: {device: ...}``  (``auto`` / ``cpu`` / ``cuda``)
corpus source       ``DV_CORPUS_SOURCE``        ``replication: {corpus_source: ...}``
corpus split        ``DV_SPLIT``                ``replication: {split: ...}``
cache folder        ``DV_CACHE``                ``replication: {cache: ...}``
layer under study   ``DV_LAYER``                (none; default the last block; ``--layer`` on a chapter command)
==================  ==========================  ===========================================

The layer's neurons under study are :attr:`darkness_visible.book.Run.study`
(:mod:`darkness_visible.analysis.study`): the paper's lists on GPT-2 Small's last layer, else what discovery finds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "openai-community/gpt2"
#: The paper's crossover corpus: 200 back-to-back 1,024-token windows.
DEFAULT_WINDOWS = 200


def find_book_config(start: Path | None = None) -> Path | None:
    """The nearest ``_config.yml`` at or above ``start`` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "_config.yml"
        if candidate.is_file():
            return candidate
    return None


def book_settings(start: Path | None = None) -> dict[str, Any]:
    """The ``replication`` block of the nearest book ``_config.yml`` (empty if there is none)."""
    path = find_book_config(start)
    if path is None:
        return {}
    import yaml

    from darkness_visible.errors import SettingError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise SettingError(f"{path} is not valid YAML{where} ({problem}): fix that line (a stray tab or colon, an "
                           "unclosed quote or bracket)") from None
    if not isinstance(data, dict):
        raise SettingError(f"{path}: the file must be a YAML mapping (key: value lines), got {type(data).__name__}")
    block = data.get("replication") or {}
    if not isinstance(block, dict):
        raise SettingError(f"{path}: 'replication' must be a mapping, got {type(block).__name__}")
    return block


def setting(name: str, env: str, explicit: Any = None, default: Any = None) -> Any:
    """Resolve one setting: ``explicit`` > ``$env`` > ``_config.yml`` > ``default``."""
    if explicit is not None:
        return explicit
    if os.environ.get(env):
        return os.environ[env]
    value = book_settings().get(name)
    return default if value is None else value


def model_setting(explicit: str | None = None) -> str:
    """The model to run: hub id, local folder, ``standin[:seed]`` or ``tiny[:seed]``."""
    return str(setting("model", "DV_MODEL", explicit, DEFAULT_MODEL))


def cache_dir(explicit: str | Path | None = None) -> Path:
    """Folder for harvest caches (default ``$XDG_CACHE_HOME/darkness-visible``, else ``~/.cache/darkness-visible``).

    A relative path from ``_config.yml`` is read relative to that file's folder (the book root), so the
    chapters (run from ``notebooks/``) and the command line (run from anywhere) share one cache.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # an empty or relative XDG_CACHE_HOME is ignored (the XDG spec), never the working directory
    default = (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "darkness-visible"
    if explicit is None and not os.environ.get("DV_CACHE") and book_settings().get("cache") is not None:
        path = Path(str(book_settings()["cache"])).expanduser()
        config = find_book_config()
        return path if path.is_absolute() or config is None else config.parent / path
    return Path(setting("cache", "DV_CACHE", explicit, default)).expanduser()


def results_dir(explicit: str | Path | None = None) -> Path:
    """Folder where chapters write their scorecard rows (default ``<book root>/_build/results``)."""
    config = find_book_config()
    default = (config.parent if config else Path.cwd()) / "_build" / "results"
    return Path(setting("results", "DV_RESULTS", explicit, default)).expanduser()


def book_root() -> Path | None:
    """The book checkout whose chapters the commands run: the nearest folder at or above the working directory
    holding ``_config.yml`` and ``notebooks/``, else the checkout this package is installed from (editable
    installs), else ``None``."""
    config = find_book_config()
    if config is not None and (config.parent / "notebooks").is_dir():
        return config.parent
    here = Path(__file__).resolve().parents[3]  # src/darkness_visible/config/settings.py -> the checkout
    if (here / "_config.yml").is_file() and (here / "notebooks").is_dir():
        return here
    return None
