"""A chapter's map of GPT-2's forward pass: where in the model it reads and where it intervenes, in forward order.

:func:`forward_pass_figure` draws the pass as a chain of modules (the blocks before the one under study folded
into one box, that block's attention, ``ln_2`` and MLP in full, then ``ln_f`` and the unembedding) and marks each
:class:`Site` of a chapter on it: a read (``.save()``) in blue, an intervention (an assignment to a module's
output) in vermillion, numbered in the order the forward pass reaches them, which is the order an nnsight
``with model.trace(...)`` block must ask for them. The sites are listed under the chain with the nnsight path of
each. The figure is drawn at the content width in the house style (:func:`darkness_visible.plotting.finish`).

Drawing only: what a chapter reads is the chapter's to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from darkness_visible.plotting import PALETTE, content_figure, finish

#: The modules of the chain, in forward order: ``(key, box label, nnsight path)``; ``{L}`` is the block under
#: study, ``{P}`` the one before it.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("tokens", "tokens", "input_ids"),
    ("blocks", "blocks\n0–{P}", "transformer.h[0..{P}]"),
    ("attn", "attn", "transformer.h[{L}].attn.output"),
    ("ln_2", "ln_2", "transformer.h[{L}].ln_2.output"),
    ("c_fc", "c_fc", "transformer.h[{L}].mlp.c_fc.output"),
    ("act", "GELU", "transformer.h[{L}].mlp.act.output"),
    ("mlp", "c_proj", "transformer.h[{L}].mlp.output"),
    ("ln_f", "ln_f", "transformer.ln_f.output"),
    ("lm_head", "lm_head", "lm_head.output"),
)
STAGE_KEYS = tuple(key for key, _, _ in STAGES)
#: What a site does, and its colour.
KINDS: dict[str, str] = {"read": PALETTE["blue"], "change": PALETTE["vermillion"]}


@dataclass(frozen=True)
class Site:
    """One place a chapter touches the pass: ``stage`` (a key of :data:`STAGES`), ``kind`` ("read" or
    "change") and what it is, in a few words (``what``); ``path`` overrides the stage's nnsight path."""

    stage: str
    kind: str
    what: str
    path: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGE_KEYS:
            raise ValueError(f"stage {self.stage!r}: use one of {', '.join(STAGE_KEYS)}")
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: use 'read' or 'change'")


def ordered(sites: Sequence[Site]) -> list[Site]:
    """The sites in the order the forward pass reaches them (stable for sites on the same module)."""
    return sorted(sites, key=lambda s: STAGE_KEYS.index(s.stage))


def forward_pass_figure(sites: Sequence[Site], *, layer: int = 11, d_mlp: int = 3072, title: str | None = None,
                        label: str | None = None) -> Any:
    """The forward pass with ``sites`` marked and listed, numbered in forward order; returns the figure.

    ``layer``: the block under study (drawn in full; blocks before it are one box); ``d_mlp``: its MLP's width,
    for the MLP's bracket; ``title`` and ``label`` (the run) go over the chain, as in every chapter figure.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    sites = ordered(sites)
    if not sites:
        raise ValueError("no sites: a map of the pass marks at least one read or intervention")
    n_lines = len(sites)
    fig, ax = content_figure(0.26 + 0.04 * n_lines)
    ax.set_xlim(-0.2, len(STAGES) + 0.9)
    ax.set_ylim(-0.55 * n_lines + 0.05, 2.85)
    ax.axis("off")
    fmt = {"L": layer, "P": max(layer - 1, 0)}
    box_w, box_h, y0 = 0.78, 0.8, 1.0
    centres = {}
    for i, (key, text, _) in enumerate(STAGES):
        x = i + 0.5
        centres[key] = x
        if key == "blocks" and layer == 0:
            text = "(none)"
        in_mlp = key in ("c_fc", "act", "mlp")
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y0), box_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor="#eef3f8" if in_mlp else "#f4f4f4", edgecolor="#555555", lw=0.9))
        ax.text(x, y0 + box_h / 2, text.format(**fmt), ha="center", va="center", fontsize=8.5)
        if i:
            ax.add_patch(FancyArrowPatch((x - 1 + box_w / 2, y0 + box_h / 2), (x - box_w / 2, y0 + box_h / 2),
                                         arrowstyle="-|>", mutation_scale=8, color="#555555", lw=0.9))
    end = len(STAGES) + 0.5
    ax.add_patch(FancyArrowPatch((end - 1 + box_w / 2, y0 + box_h / 2), (end - 0.25, y0 + box_h / 2),
                                 arrowstyle="-|>", mutation_scale=8, color="#555555", lw=0.9))
    ax.text(end - 0.2, y0 + box_h / 2, "next-token\nprobabilities", ha="left", va="center", fontsize=8)
    # brackets: block L (attn .. c_proj, with the residual adds) and its MLP
    for first, last, text, y in (("attn", "mlp", f"block {layer}", y0 + box_h + 0.55),
                                 ("c_fc", "mlp", f"MLP ({d_mlp:,} neurons)", y0 + box_h + 0.15)):
        xa, xb = centres[first] - box_w / 2, centres[last] + box_w / 2
        ax.plot([xa, xa, xb, xb], [y - 0.08, y, y, y - 0.08], color="#555555", lw=0.8)
        ax.text((xa + xb) / 2, y + 0.04, text, ha="center", va="bottom", fontsize=8.5)
    # the sites: numbered markers under their module, one line each below the chain
    on_stage = {key: sum(s.stage == key for s in sites) for key in STAGE_KEYS}
    per_stage: dict[str, int] = {}
    for n, site in enumerate(sites, start=1):
        colour = KINDS[site.kind]
        k = per_stage.get(site.stage, 0)
        per_stage[site.stage] = k + 1
        mx, my = centres[site.stage] + (k - (on_stage[site.stage] - 1) / 2) * 0.3, y0 - 0.3
        ax.plot([centres[site.stage], mx], [y0, my + 0.14], color=colour, lw=0.9)
        ax.scatter([mx], [my], s=130, color=colour, zorder=3)
        ax.text(mx, my, str(n), ha="center", va="center", fontsize=7.5, color="white", fontweight="bold", zorder=4)
        path = (site.path or dict((k_, p) for k_, _, p in STAGES)[site.stage]).format(**fmt)
        ly = -0.1 - 0.55 * (n - 1)
        ax.scatter([0.05], [ly], s=110, color=colour, zorder=3)
        ax.text(0.05, ly, str(n), ha="center", va="center", fontsize=7, color="white", fontweight="bold", zorder=4)
        ax.text(0.35, ly, f"{site.kind}: {site.what}", ha="left", va="center", fontsize=8.5)
        ax.text(len(STAGES) + 0.9, ly, path, ha="right", va="center", fontsize=7.5, family="monospace",
                color="#333333")
    fig.set_layout_engine(None)  # finish() lays the figure out (tight), as for every chapter figure
    return finish(ax, title=title, label=label, legend=False)
