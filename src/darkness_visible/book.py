"""Helpers for the executable chapters: the run's settings, the stand-in banner, glue.

Every chapter starts with :func:`start`, which resolves the model and corpus settings once, shows
what ran (and, on a random-weight model, a warning that the numbers are not GPT-2's), and hands out
the model and the cached harvest lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .corpus import CorpusSpec, corpus_spec
from .harvest import Harvest, HarvestConfig, harvest
from .model import ModelSpec, Subject, load_model
from .settings import model_setting
from .sizes import Size, resolve_size

STANDIN_BANNER = (
    "**Numbers on this page come from a random-weight stand-in, not GPT-2.** This build ran on "
    "{model}. It shows that the code runs and is internally consistent; it says nothing about "
    "GPT-2's exception handler. Set `DV_MODEL=openai-community/gpt2` (the default) with the weights "
    "available to reproduce the paper."
)


def banner_markdown(spec: ModelSpec, corpus: CorpusSpec | None = None, size: Size | None = None) -> str:
    """MyST markdown for the run banner: a warning on a random-weight model, a note otherwise."""
    where = (f" Corpus: {corpus.describe()}." if corpus else "") + (f" Size: {size.describe()}." if size else "")
    if spec.is_pretrained:
        return f":::{{note}}\nThis page was executed on **{spec.describe()}**.{where}\n:::\n"
    return ":::{warning}\n" + STANDIN_BANNER.format(model=spec.describe()) + where + "\n:::\n"


def banner_html(spec: ModelSpec, corpus: CorpusSpec | None = None, size: Size | None = None) -> str:
    """The banner as HTML with the book theme's admonition classes (and inline fallback styling)."""
    import html
    import re

    where = (f" Corpus: {html.escape(corpus.describe())}." if corpus else "") + (
        f" Size preset: <strong>{html.escape(size.describe())}</strong>." if size else "")
    if spec.is_pretrained:
        kind, title, colour = "note", "Model", "#0071bc"
        body = f"This page was executed on <strong>{html.escape(spec.describe())}</strong>.{where}"
    else:
        kind, title, colour = "warning", "Not GPT-2: random-weight stand-in", "#e3a008"
        text = html.escape(STANDIN_BANNER.format(model=spec.describe()))
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        body = re.sub(r"`(.+?)`", r"<code>\1</code>", text) + where
    return (
        f'<div class="admonition {kind} dv-banner" style="border-left:4px solid {colour};padding:0.4em 0.8em">'
        f'<p class="admonition-title">{title}</p><p>{body}</p></div>'
    )


@dataclass
class Run:
    """The settings of one chapter's execution, with the model and harvest loaded on first use."""

    spec: ModelSpec
    corpus: CorpusSpec
    size: Size = field(default_factory=resolve_size)
    device: str | None = None
    _subject: Subject | None = field(default=None, repr=False)
    _harvests: dict[Any, Harvest] = field(default_factory=dict, repr=False)

    @property
    def subject(self) -> Subject:
        if self._subject is None:
            self._subject = load_model(self.spec, device=self.device)
        return self._subject

    @property
    def pretrained(self) -> bool:
        return self.spec.is_pretrained

    def harvest(self, config: HarvestConfig | None = None, corpus: CorpusSpec | None = None) -> Harvest:
        """The (cached) traced pass over this run's corpus slice; same object on repeated calls."""
        key = (config, corpus or self.corpus)
        if key not in self._harvests:
            self._harvests[key] = harvest(self.subject, corpus or self.corpus, config)
        return self._harvests[key]

    def banner(self) -> Any:
        """Display the banner in a notebook (HTML styled as a book admonition; readable in Jupyter too)."""
        from IPython.display import HTML, display

        display(HTML(banner_html(self.spec, self.corpus, self.size)))

    def first_windows(self, n_windows: int, corpus: CorpusSpec | None = None) -> CorpusSpec:
        """The first ``n_windows`` windows of ``corpus`` (default: this run's corpus).

        E.g. ``run.first_windows(run.size.lens_windows)``.
        """
        from dataclasses import replace

        base = corpus or self.corpus
        return replace(base, n_windows=min(n_windows, base.n_windows))


def start(model: str | None = None, windows: int | None = None, *, size: str | None = None,
          device: str | None = None, show: bool = True) -> Run:
    """Resolve the model, size preset, corpus and device settings for a chapter and show the banner.

    ``size``: a preset name (``DV_SIZE``; default ``paper``); ``windows`` overrides its window count
    (``DV_WINDOWS``). The size never depends on the model: a stand-in at ``paper`` size runs what GPT-2 would.
    The model is checked first (:func:`darkness_visible.checks.check_checkpoint`); the corpus windows are
    ``min(1024, n_ctx)`` tokens long.
    """
    from .checks import PAPER_WINDOW, check_checkpoint

    spec = ModelSpec.parse(model_setting(model))
    info = check_checkpoint(spec)  # an unusable model stops here, in one line, before any work
    chosen = resolve_size(size, windows)
    # windows of the paper's 1,024 tokens, or the model's context if shorter (None: hub model not cached yet)
    window = PAPER_WINDOW if info is None else info.window
    run = Run(spec, corpus_spec(chosen.windows, window=window), chosen, device)
    if show:
        run.banner()
    return run


def glue(name: str, value: Any, display: bool = False) -> Any:
    """``myst_nb.glue`` when available (inside a book build), a no-op elsewhere; returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst-nb is in requirements.txt
        return value
    _glue(name, value, display=display)
    return value


def show_rows(chapter: str, rows: list) -> Any:
    """Save a chapter's scorecard rows (JSON in :func:`settings.results_dir`) and return them as a table."""
    import pandas as pd

    from .results import save_rows
    from .settings import results_dir

    save_rows(rows, results_dir() / f"{chapter}.json", size=resolve_size())
    table = pd.DataFrame([r.as_dict() for r in rows])
    columns = ["claim", "description", "paper", "value", "ci", "tolerance", "verdict", "note"]
    return table[[c for c in columns if c in table.columns]]


def glue_all(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`glue` every ``name: value`` of a section's prose numbers (one call per section); returns ``values``.

    The values are usually the formatted strings of a module's ``*_prose`` function, so the wording of a
    sentence, not only its number, follows the run.
    """
    for name, value in values.items():
        glue(name, value)
    return values


def glue_figure(name: str, fig: Any) -> None:
    """Glue a matplotlib figure for a ``{glue:figure}`` directive and close it (so it is drawn once).

    The figure is glued *visibly*, so it shows in plain Jupyter; the book hides the cell's own output
    (tag the cell ``remove-output``, and keep tables out of that cell) and shows the figure where the
    directive puts it, numbered and captioned. Returns nothing, so that a cell ending with this call does
    not display the figure a second time. Without myst-nb the figure is left open (the backend shows it).
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst-nb is in requirements.txt
        return
    import matplotlib.pyplot as plt

    _glue(name, fig, display=True)
    plt.close(fig)
