"""Helpers for the executable chapters: the run's settings, the stand-in banner, glue.

Every chapter starts with :func:`start`, which resolves the model and corpus settings once, shows
what ran (and, on a random-weight model, a warning that the numbers are not GPT-2's), and hands out
the model and the cached harvest lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from darkness_visible.config.settings import model_setting
from darkness_visible.config.sizes import Size, resolve_size
from darkness_visible.data.corpus import CorpusSpec, corpus_spec
from darkness_visible.models.loading import ModelSpec, Subject, load_model
from darkness_visible.tracing.harvest import Harvest, HarvestConfig, harvest

STANDIN_BANNER = (
    "**Numbers on this page come from a random-weight stand-in, not GPT-2.** This build ran on "
    "{model}. It shows that the code runs and is internally consistent; it says nothing about "
    "GPT-2's exception handler. Set `DV_MODEL=openai-community/gpt2` (the default) with the weights "
    "available to reproduce the paper."
)
UNVERIFIED_BANNER = (
    "**Numbers on this page come from {model}, which is not verified as GPT-2 Small.** {how}. Its numbers "
    "sit beside the paper's with the verdict \"other model\"; only `openai-community/gpt2` at the pinned "
    "revision, or a folder whose weight file matches that revision's published checksum, earns a verdict."
)


def _banner_parts(spec: ModelSpec) -> tuple[str, str, str]:
    """``(kind, title, markdown body)`` of the banner for a model: a note for verified GPT-2 Small, a warning
    naming the model otherwise."""
    ident = spec.identity
    if ident.gpt2_small:
        return "note", "Model: GPT-2 Small", f"This page was executed on **{spec.describe()}** ({ident.how})."
    if not spec.is_pretrained:
        return "warning", "Not GPT-2: random-weight stand-in", STANDIN_BANNER.format(model=spec.describe())
    how = ident.how[0].upper() + ident.how[1:]
    return "warning", f"Not verified as GPT-2: {spec.describe()}", UNVERIFIED_BANNER.format(model=spec.describe(),
                                                                                          how=how)


def banner_markdown(spec: ModelSpec, corpus: CorpusSpec | None = None, size: Size | None = None) -> str:
    """MyST markdown for the run banner: a note on verified GPT-2 Small, a warning naming any other model."""
    where = (f" Corpus: {corpus.describe()}." if corpus else "") + (f" Size: {size.describe()}." if size else "")
    kind, _, body = _banner_parts(spec)
    return f":::{{{kind}}}\n{body}{where}\n:::\n"


def banner_html(spec: ModelSpec, corpus: CorpusSpec | None = None, size: Size | None = None) -> str:
    """The banner as HTML with the book theme's admonition classes (and inline fallback styling)."""
    import html
    import re

    where = (f" Corpus: {html.escape(corpus.describe())}." if corpus else "") + (
        f" Size preset: <strong>{html.escape(size.describe())}</strong>." if size else "")
    kind, title, text = _banner_parts(spec)
    colour = "#0071bc" if kind == "note" else "#e3a008"
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))
    body = re.sub(r"`(.+?)`", r"<code>\1</code>", text) + where
    return (
        f'<div class="admonition {kind} dv-banner" style="border-left:4px solid {colour};padding:0.4em 0.8em">'
        f'<p class="admonition-title">{html.escape(title)}</p><p>{body}</p></div>'
    )


@dataclass
class Run:
    """The settings of one chapter's execution, with the model and harvest loaded on first use."""

    spec: ModelSpec
    corpus: CorpusSpec
    size: Size = field(default_factory=resolve_size)
    device: str | None = None
    layer: int | None = None
    _subject: Subject | None = field(default=None, repr=False)
    _harvests: dict[Any, Harvest] = field(default_factory=dict, repr=False)
    _study: Any = field(default=None, repr=False)

    @property
    def subject(self) -> Subject:
        if self._subject is None:
            self._subject = load_model(self.spec, device=self.device)
        return self._subject

    @property
    def pretrained(self) -> bool:
        """True for a trained checkpoint (hub or folder), whether or not it is GPT-2 Small."""
        return self.spec.is_pretrained

    @property
    def gpt2_small(self) -> bool:
        """True only when the model is verified as GPT-2 Small (:mod:`darkness_visible.models.identity`)."""
        return self.spec.is_gpt2_small

    @property
    def study(self):
        """The neurons under study (:class:`darkness_visible.analysis.study.Study`), resolved once per run: the
        paper's lists on verified GPT-2 Small at layer 11, else what discovery finds at the layer under study
        (``DV_LAYER``, default the last block) on this run's corpus."""
        if self._study is None:
            from darkness_visible.analysis.study import resolve

            self._study = resolve(self.subject, self.corpus, self.layer)
        return self._study

    def harvest(self, config: HarvestConfig | None = None, corpus: CorpusSpec | None = None) -> Harvest:
        """The (cached) traced pass over this run's corpus slice; same object on repeated calls.

        ``config=None``: the neurons under study at their layer (:meth:`Study.harvest_config`)."""
        if config is None:
            config = self.study.harvest_config(self.subject)
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
          device: str | None = None, layer: int | None = None, show: bool = True) -> Run:
    """Resolve the model, size preset, corpus and device settings for a chapter and show the banner.

    ``size``: a preset name (``DV_SIZE``; default ``paper``); ``windows`` overrides its window count
    (``DV_WINDOWS``). The size never depends on the model: a stand-in at ``paper`` size runs what GPT-2 would.
    The model is checked first (:func:`darkness_visible.models.loading.check_checkpoint`); the corpus windows are
    ``min(1024, n_ctx)`` tokens long. ``layer``: the layer under study (``DV_LAYER``; default the last block),
    whose neurons :attr:`Run.study` resolves.
    """
    from darkness_visible.models.checks import PAPER_WINDOW
    from darkness_visible.models.loading import check_checkpoint

    spec = ModelSpec.parse(model_setting(model))
    info = check_checkpoint(spec)  # an unusable model stops here, in one line, before any work
    chosen = resolve_size(size, windows)
    # windows of the paper's 1,024 tokens, or the model's context if shorter (None: hub model not cached yet)
    window = PAPER_WINDOW if info is None else info.window
    from darkness_visible.analysis.study import layer_setting

    run = Run(spec, corpus_spec(chosen.windows, window=window), chosen, device, layer_setting(layer))
    if show:
        run.banner()
    _register_magics(run)
    return run


#: What ``%%needs_handler [consensus|paper]`` asks of the run's neurons under study.
NEEDS: dict[str, str] = {
    "": "the sections that need an exception handler",
    "consensus": "the sections that need a consensus",
    "paper": "the sections that compare with the paper's named GPT-2 Small neurons",
}


def needs(run: Run, what: str = "") -> bool:
    """Whether a section needing ``what`` (see :data:`NEEDS`) runs: a handler (``""``), a handler with a
    consensus (``"consensus"``), or the paper's lists themselves (``"paper"``)."""
    study = run.study
    what = what.strip()
    if what not in NEEDS:
        raise ValueError(f"%%needs_handler takes one of {sorted(k for k in NEEDS if k)} or nothing, got {what!r}")
    if what == "paper":
        return study.is_paper
    return study.found and (what != "consensus" or study.has_consensus)


def _register_magics(run: Run) -> None:
    """The ``%%needs_handler`` cell magic: run the cell only when the run's neurons under study have what the
    section needs (:func:`needs`); otherwise the cell is skipped, silently (the chapter's first cell said why,
    in one sentence: :meth:`darkness_visible.analysis.study.Study.missing`). Errors inside the cell still fail it."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None:
        return

    def needs_handler(line: str, cell: str) -> None:
        if not needs(run, line):
            _SKIPPED.append(line.strip())
            return None
        result = shell.run_cell(cell)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise error
        return None

    shell.register_magic_function(needs_handler, "cell", "needs_handler")


def defined(*names: str) -> dict[str, Any]:
    """``{name: value}`` of the chapter kernel's variables ``names``, ``None`` for each one no cell defined (a
    section skipped by ``%%needs_handler``), so that one call can build the chapter's rows from whatever ran."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None  # type: ignore[assignment]
    shell = get_ipython() if get_ipython is not None else None
    space = shell.user_ns if shell is not None else {}
    return {name: space.get(name) for name in names}


#: Names glued so far in this kernel, and whether a ``%%needs_handler`` cell was skipped (see :func:`glue_missing`).
_GLUED: set[str] = set()
_SKIPPED: list[str] = []


#: Set (to "1") in the Sphinx process by ``book/_ext/preflight.py``; the kernels myst-nb starts inherit it.
BOOK_BUILD_ENV = "DV_BOOK_BUILD"


def building_book() -> bool:
    """True inside a Jupyter Book build (``DV_BOOK_BUILD=1``), where ``{glue:text}`` roles show glued values."""
    import os

    return os.environ.get(BOOK_BUILD_ENV, "") == "1"


def glue_text(name: str, value: Any) -> str:
    """The plain form of a glued value shown outside the book: ``name = value`` in markdown."""
    return f"`{name}` = {value}"


def _show_plain(values: dict[str, Any]) -> None:
    """Outside a book build, show glued values as text/markdown (plain Jupyter and Colab render nothing for
    myst-nb's ``application/papermill.record`` outputs, so the prose's names would have no numbers)."""
    if building_book() or not values:
        return
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    if get_ipython() is None:  # a plain script: nothing to show
        return
    display(Markdown("  \n".join(glue_text(k, v) for k, v in values.items())))


def glue(name: str, value: Any, display: bool = False) -> Any:
    """``myst_nb.glue`` when available, and outside a book build also the value as text; returns ``value``.

    In the book the ``{glue:text}`` role puts the value into the prose. A student copy (or any notebook run in
    plain Jupyter or Colab) has no such role, so the value is also displayed under the cell as
    ``name = value`` (markdown), the number this run computed, beside the name the prose shows.
    """
    _GLUED.add(name)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst-nb is in requirements.txt
        _glue = None
    if _glue is not None:
        _glue(name, value, display=display)
    if not display:
        _show_plain({name: value})
    return value


def show_rows(chapter: str, rows: list, run: Run | None = None) -> Any:
    """Save a chapter's scorecard rows (JSON in :func:`settings.results_dir`) and return them as a table.

    Every row is stamped with the identity of the run's model (``run.spec``, or the model setting), its size
    preset and its corpus (``run.size``, ``run.corpus``, or the settings), so only GPT-2 Small's rows at the
    paper's sizes on the paper's corpus can carry a verdict (:mod:`darkness_visible.report.results`).
    """
    import pandas as pd

    from darkness_visible.config.settings import results_dir
    from darkness_visible.report.results import save_rows

    if run is not None:
        spec, size, corpus = run.spec, run.size, run.corpus
    else:
        spec, size = ModelSpec.parse(model_setting(None)), resolve_size()
        corpus = corpus_spec(size.windows)
    path = save_rows(rows, results_dir() / f"{chapter}.json", size=size, spec=spec, corpus=corpus)
    from darkness_visible.report.results import load_rows

    table = pd.DataFrame([r.as_dict() for r in load_rows(path)])
    columns = ["claim", "description", "paper", "value", "ci", "tolerance", "verdict", "consistent_ci",
               "comparison", "scope", "not_applicable", "note"]
    return table[[c for c in columns if c in table.columns]]


def glue_all(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`glue` every ``name: value`` of a section's prose numbers (one call per section); returns ``values``.

    The values are usually the formatted strings of a module's ``*_prose`` function, so the wording of a
    sentence, not only its number, follows the run.
    """
    _GLUED.update(values)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst-nb is in requirements.txt
        _glue = None
    for name, value in values.items():
        if _glue is not None:
            _glue(name, value, display=False)
    _show_plain(values)  # one markdown output for the section, outside a book build
    return values


def glue_figure(name: str, fig: Any) -> None:
    """Glue a matplotlib figure for a ``{glue:figure}`` directive and close it (so it is drawn once).

    The figure is glued *visibly*, so it shows in plain Jupyter; the book hides the cell's own output
    (tag the cell ``remove-output``, and keep tables out of that cell) and shows the figure where the
    directive puts it, numbered and captioned. Returns nothing, so that a cell ending with this call does
    not display the figure a second time. Without myst-nb the figure is left open (the backend shows it).
    """
    _GLUED.add(name)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst-nb is in requirements.txt
        return
    import matplotlib.pyplot as plt

    _glue(name, fig, display=True)
    plt.close(fig)


GLUE_TEXT = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::[^`]*)?`")
GLUE_FIGURE = re.compile(r"\{glue:figure\}\s+([^\s`]+)")
#: What a skipped section's numbers read as in the prose.
NOT_COMPUTED = "(not computed on this model)"


def glue_references(notebook: dict) -> tuple[list[str], list[str]]:
    """``(text keys, figure keys)`` the markdown cells of a notebook (its JSON) refer to, in order."""
    text: list[str] = []
    figures: list[str] = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", []))
            text += [k for k in GLUE_TEXT.findall(source) if k not in text]
            figures += [k for k in GLUE_FIGURE.findall(source) if k not in figures]
    return text, figures


def glue_missing(chapter: str) -> list[str]:
    """After a chapter skipped sections (``%%needs_handler``), glue a placeholder for every number and figure its
    prose refers to that no cell glued, so the book builds (``-W``) on a model without a handler. Does nothing
    when no section was skipped (always on GPT-2 Small). Returns the names given a placeholder."""
    if not _SKIPPED:
        return []
    import json

    from darkness_visible.config.settings import book_root

    root = book_root()
    path = None if root is None else root / "notebooks" / f"{chapter}.ipynb"
    if path is None or not path.is_file():
        return []
    text, figures = glue_references(json.loads(path.read_text()))
    missing = [k for k in text if k not in _GLUED]
    for key in missing:
        glue(key, NOT_COMPUTED)
    missing_figures = [k for k in figures if k not in _GLUED]
    if missing_figures:
        import matplotlib.pyplot as plt

        for key in missing_figures:
            fig, ax = plt.subplots(figsize=(6, 1.2))
            ax.axis("off")
            ax.text(0.5, 0.5, "Not computed on this model: discovery found no exception handler at the layer under "
                    "study.", ha="center", va="center", wrap=True)
            glue_figure(key, fig)
    return missing + missing_figures
