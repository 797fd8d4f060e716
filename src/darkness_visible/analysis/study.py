"""The neurons under study: one answer per run to "which layer, which handler neurons?".

On GPT-2 Small (verified by :mod:`darkness_visible.models.identity`) at the paper's layer these are the paper's
named lists (:mod:`darkness_visible.data.neurons`). On any other model, or another layer, they are the roles that
:func:`darkness_visible.discovery.discover.discover` finds in that layer's firing statistics, on the run's
corpus. The paper's names (N2123 "the switch", ...) are shown only where they apply.

Every chapter asks :meth:`darkness_visible.book.Run.study` once and reads the layer, the width and the neuron
lists from the answer, so nothing in a chapter spells a layer or a neuron index. Where discovery finds no
handler, :attr:`Study.found` is ``False`` and :meth:`Study.missing` is the one sentence a chapter shows before
skipping the sections that need one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from darkness_visible.data import neurons as paper
from darkness_visible.errors import SettingError

#: Where the lists came from. ``STANDIN``: the paper's indices on the random-weight stand-in (GPT-2 Small's
#: exact shape), so a stand-in build runs every procedure exactly as GPT-2 would; its numbers are not GPT-2's.
PAPER, DISCOVERED, STANDIN = "paper", "discovered", "paper indices on the stand-in"


def layer_setting(explicit: int | None = None) -> int | None:
    """The layer under study: ``explicit``, else ``DV_LAYER``, else ``None`` (the last block)."""
    if explicit is not None:
        return int(explicit)
    value = os.environ.get("DV_LAYER", "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise SettingError(f"DV_LAYER must be a whole number (negative counts from the end), got {value!r}") from None


@dataclass(frozen=True)
class Study:
    """The layer and the handler's neurons a run studies (indices into that layer's MLP).

    ``source``: :data:`PAPER` (GPT-2 Small's named lists) or :data:`DISCOVERED`. ``indicator`` is ``None`` when
    discovery found no handler (then every list is empty). ``report``: the discovery's full report, if any.
    """

    layer: int
    n_layers: int
    d_mlp: int
    source: str
    indicator: int | None
    core: tuple[int, ...] = ()
    differentiators: tuple[int, ...] = ()
    specialists: tuple[int, ...] = ()
    consensus: tuple[int, ...] = ()
    model: str = ""
    report: Any = field(default=None, compare=False, repr=False)

    # -- what it is -------------------------------------------------------------------------------------------
    @property
    def is_paper(self) -> bool:
        """True when these are the paper's lists (verified GPT-2 Small at layer 11, or the stand-in of its shape)."""
        return self.source in (PAPER, STANDIN)

    @property
    def found(self) -> bool:
        """True when there is a handler to study."""
        return self.indicator is not None

    @property
    def has_consensus(self) -> bool:
        return bool(self.consensus)

    @property
    def is_last(self) -> bool:
        return self.layer == self.n_layers - 1

    @property
    def handler(self) -> tuple[int, ...]:
        """Core + Differentiators + Specialists (the paper's 20 on GPT-2 Small)."""
        return self.core + self.differentiators + self.specialists

    @property
    def routing(self) -> tuple[int, ...]:
        """The handler and the consensus (the paper's 27 routing neurons on GPT-2 Small)."""
        return self.handler + self.consensus

    @property
    def tiers(self) -> dict[str, tuple[int, ...]]:
        """The three handler tiers by name (the shape of :data:`~darkness_visible.data.neurons.HANDLER_TIERS`);
        a tier discovery left empty is an empty tuple."""
        return {"core": self.core, "differentiator": self.differentiators, "specialist": self.specialists}

    @property
    def nonempty_tiers(self) -> dict[str, tuple[int, ...]]:
        return {k: v for k, v in self.tiers.items() if v}

    @property
    def jaccard_pairs(self) -> tuple[tuple[int, int], ...]:
        """The neuron pairs chapter 02 reads the Jaccard of: the paper's N2123-N2910 and N584-N2378 on its lists,
        else the indicator and its first Core partner (none when the Core is the indicator alone)."""
        if self.is_paper:
            return ((paper.EXCEPTION_NEURON, paper.CORE[1]), paper.SUPPRESSION_PAIR)
        return ((self.indicator, self.core[1]),) if self.found and len(self.core) > 1 else ()

    # -- names ------------------------------------------------------------------------------------------------
    @staticmethod
    def label(index: int) -> str:
        """``"N2123"`` style label."""
        return f"N{int(index)}"

    def role(self, index: int) -> str:
        """``indicator``, ``core``, ``differentiator``, ``specialist``, ``consensus`` or ``other``."""
        if index == self.indicator:
            return "indicator"
        for name, members in (*self.tiers.items(), ("consensus", self.consensus)):
            if index in members:
                return name
        return "other"

    def name(self, index: int) -> str:
        """The label with the paper's role name where it applies (GPT-2 Small), else the discovered role."""
        if self.is_paper:
            try:
                return f"{self.label(index)} ({paper.neuron(index).role})"
            except KeyError:
                return self.label(index)
        role = self.role(index)
        return self.label(index) if role == "other" else f"{self.label(index)} (discovered {role})"

    @property
    def indicator_label(self) -> str:
        return self.label(self.indicator) if self.found else "no indicator"

    def describe(self) -> str:
        """One sentence: which layer, where the lists come from, how many in each role."""
        where = f"layer {self.layer} of {self.n_layers} (MLP width {self.d_mlp:,})"
        if self.source == STANDIN:
            return (f"Neurons under study: the paper's GPT-2 Small indices at {where}, used on the random-weight "
                    "stand-in so that every procedure runs exactly as it would on GPT-2 Small; nothing was "
                    f"discovered there, and its numbers are not GPT-2's (indicator index {self.indicator}, "
                    f"{len(self.core)} Core, {len(self.differentiators)} Differentiators, {len(self.specialists)} "
                    f"Specialists, {len(self.consensus)} consensus).")
        if self.is_paper:
            return (f"Neurons under study: the paper's named lists at {where}: indicator {self.indicator_label}, "
                    f"{len(self.core)} Core, {len(self.differentiators)} Differentiators, {len(self.specialists)} "
                    f"Specialists, {len(self.consensus)} consensus neurons.")
        if not self.found:
            return self.missing()
        return (f"Neurons under study: discovered from this run's firing statistics at {where}: indicator "
                f"{self.indicator_label}, {len(self.core)} Core, {len(self.differentiators)} Differentiators, "
                f"{len(self.specialists)} Specialists, {len(self.consensus)} consensus neurons (the paper's "
                "GPT-2 Small indices do not apply to this model).")

    def missing(self, what: str = "the sections that need a handler") -> str:
        """The one sentence a chapter shows when there is no handler."""
        return (f"Discovery found no exception handler at layer {self.layer} of {self.model or 'this model'}, "
                f"so {what} are skipped; everything else on this page still runs.")

    def markdown(self) -> Any:
        """:meth:`describe` as a displayable Markdown object (for a chapter's first cell)."""
        from IPython.display import Markdown

        return Markdown(f"**{self.describe()}**")

    def show(self) -> None:
        from IPython.display import display

        display(self.markdown())

    # -- what to record ---------------------------------------------------------------------------------------
    def variants(self) -> tuple:
        """The harvest's counterfactuals for these neurons (the paper's set, renamed to nothing)."""
        from darkness_visible.tracing.harvest import PAPER_VARIANTS, Variant

        if self.is_paper:
            return PAPER_VARIANTS
        return (Variant("no_mlp", whole_mlp=True), Variant("no_core", zero=self.core),
                Variant("no_differentiator", zero=self.differentiators),
                Variant("no_specialist", zero=self.specialists), Variant("no_handler", zero=self.handler),
                Variant("lens_prev_block", lens_prev_block=True))

    def harvest_config(self, subject, **overrides: Any):
        """The :class:`~darkness_visible.tracing.harvest.HarvestConfig` recording these neurons at this layer.

        On GPT-2 Small at the paper's layer this is exactly ``HarvestConfig.for_model(subject)`` (same cache key).
        """
        from darkness_visible.tracing.harvest import HarvestConfig

        if self.is_paper and self.is_last:
            return HarvestConfig.for_model(subject, **overrides)
        base: dict[str, Any] = dict(layer=self.layer, record=self.routing,
                                    tiers=tuple(self.nonempty_tiers.items()),
                                    variants=self.variants() if self.found else
                                    (self.variants()[0], self.variants()[-1]))
        base.update(overrides)
        if "variants" not in overrides and not self.is_last:
            base["variants"] = tuple(v for v in base["variants"] if v.lens_prev_block)
        return HarvestConfig(**base)

    def paper_only(self, value: Any, other: Any = None) -> Any:
        """``value`` (a paper number) on GPT-2 Small, ``other`` elsewhere."""
        return value if self.is_paper else other


def paper_study(n_layers: int = 12, d_mlp: int = 3072, model: str = "GPT-2 Small", source: str = PAPER) -> Study:
    """The paper's lists at layer 11 (``source``: :data:`PAPER` or, on the stand-in, :data:`STANDIN`)."""
    return Study(paper.PAPER_LAYER, n_layers, d_mlp, source, paper.EXCEPTION_NEURON, paper.CORE,
                 paper.DIFFERENTIATORS, paper.SPECIALISTS, paper.CONSENSUS, model)


def from_report(report, layer: int, n_layers: int, d_mlp: int, model: str = "") -> Study:
    """A :class:`Study` of a discovery's :class:`~darkness_visible.discovery.discover.HandlerReport`."""
    if report is None or report.indicator is None:
        return Study(layer, n_layers, d_mlp, DISCOVERED, None, model=model, report=report)
    core = tuple(int(i) for i in report.core)
    if core[:1] != (int(report.indicator),):
        core = (int(report.indicator),) + tuple(i for i in core if i != report.indicator)
    return Study(layer, n_layers, d_mlp, DISCOVERED, int(report.indicator), core,
                 tuple(int(i) for i in report.differentiators), tuple(int(i) for i in report.specialists),
                 tuple(int(i) for i in report.consensus), model, report)


def resolve(subject, corpus=None, layer: int | None = None, *, cache: Any = None) -> Study:
    """The neurons under study for ``subject`` at ``layer`` (default: ``DV_LAYER``, else the last block).

    Verified GPT-2 Small at the paper's layer: :func:`paper_study`. The random-weight stand-in (GPT-2 Small's
    exact shape) at that layer: the paper's indices too, marked :data:`STANDIN`, because its purpose is to run
    every procedure GPT-2 would. Anything else: discovery on ``corpus``
    (:func:`darkness_visible.discovery.depth.discover_layer`, one cached firing-only pass at that layer).
    """
    L = subject.layer_index(layer_setting(layer))
    name = subject.spec.describe()
    if subject.spec.is_gpt2_small and L == paper.PAPER_LAYER:
        return paper_study(subject.n_layers, subject.d_mlp, name)
    if subject.spec.kind == "standin" and L == paper.PAPER_LAYER and subject.d_mlp == paper.PAPER_WIDTH:
        return paper_study(subject.n_layers, subject.d_mlp, name, STANDIN)
    from darkness_visible.discovery.depth import discover_layer

    found = discover_layer(subject, corpus, L, cache=cache)
    return from_report(found.report, L, subject.n_layers, subject.d_mlp, name)
