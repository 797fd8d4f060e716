"""The paper's named layer-11 neurons, in one place.

Every chapter takes its neuron lists from here; nothing else in the package spells an index.
Indices are into the 3,072 MLP neurons of GPT-2 Small's last block (Balogh 2026, tables "tiers" and
"consensus"; ``reference/paper-claims.md`` §2). ``cond_fire_pct`` is the paper's data value: the
neuron's fire rate among the 23,654 exception tokens (FIRE-POS of N2123), ``None`` where the paper
gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["core", "differentiator", "specialist", "consensus"]

#: The paper's layer (GPT-2 Small's last block, 0-based).
PAPER_LAYER = 11
#: The exception indicator ("the switch"); also a Core member.
EXCEPTION_NEURON = 2123
#: The width of GPT-2 Small's MLP (the paper's neuron indices are into it).
PAPER_WIDTH = 3072


@dataclass(frozen=True)
class Neuron:
    """One named neuron: index, tier, the paper's role label and conditional fire rate."""

    index: int
    tier: Tier
    role: str
    cond_fire_pct: float | None = None

    @property
    def label(self) -> str:
        """``"N2123"`` style name used in tables and plots."""
        return f"N{self.index}"


#: The 27 named routing neurons, tier by tier, in the original code's order.
NAMED_NEURONS: tuple[Neuron, ...] = (
    Neuron(2123, "core", "exception indicator ('the switch')", 100.00),
    Neuron(2910, "core", "vocabulary reset (the, in, and, a)", 99.77),
    Neuron(740, "core", "punctuation / novelty", 98.47),
    Neuron(1611, "core", "vocabulary redistribution", 94.12),
    Neuron(2044, "core", "vocabulary redistribution", 91.21),
    Neuron(2462, "differentiator", "lower-threshold vocabulary reset", 87.98),
    Neuron(2173, "differentiator", "vocabulary reset", 75.04),
    Neuron(1602, "differentiator", "subword / rare token", 53.81),
    Neuron(1800, "differentiator", "vocabulary reset", 45.92),
    Neuron(2379, "differentiator", "morphology", 43.69),
    Neuron(1715, "differentiator", "multi-token word continuation", 42.03),
    Neuron(611, "differentiator", "suppression (anti-boost common words)", 40.20),
    Neuron(3066, "differentiator", "punctuation correction", 37.51),
    Neuron(584, "differentiator", "suppression pair with N2378", 37.34),
    Neuron(2378, "differentiator", "suppression pair with N584", 35.86),
    Neuron(2921, "specialist", "section boundary", 36.78),
    Neuron(2709, "specialist", "section boundary + vocabulary", 35.80),
    Neuron(971, "specialist", "section boundary", 34.15),
    Neuron(2679, "specialist", "formatting / special characters", 21.21),
    Neuron(737, "specialist", "paragraph ('\\n\\n') specialist", 14.06),
    Neuron(2, "consensus", "default-ON quorum member"),
    Neuron(2361, "consensus", "default-ON quorum member"),
    Neuron(2460, "consensus", "default-ON quorum member"),
    Neuron(2928, "consensus", "default-ON quorum member"),
    Neuron(1831, "consensus", "default-ON quorum member"),
    Neuron(1245, "consensus", "default-ON quorum member"),
    Neuron(2600, "consensus", "default-ON quorum member (orthogonal output)"),
)


def tier(name: Tier) -> tuple[int, ...]:
    """Indices of one tier, in the paper's order."""
    return tuple(n.index for n in NAMED_NEURONS if n.tier == name)


CORE: tuple[int, ...] = tier("core")
DIFFERENTIATORS: tuple[int, ...] = tier("differentiator")
SPECIALISTS: tuple[int, ...] = tier("specialist")
CONSENSUS: tuple[int, ...] = tier("consensus")
#: The 20 exception-handler neurons (Core + Differentiators + Specialists).
HANDLER: tuple[int, ...] = CORE + DIFFERENTIATORS + SPECIALISTS
#: All 27 named routing neurons ("ALL_ROUTING" in the paper's code; its prints say "30").
ROUTING: tuple[int, ...] = HANDLER + CONSENSUS
#: The three exception-handler tiers, by name, for decompositions and ablations.
HANDLER_TIERS: dict[str, tuple[int, ...]] = {
    "core": CORE,
    "differentiator": DIFFERENTIATORS,
    "specialist": SPECIALISTS,
}

#: The paper's suppression pair of Differentiators (Jaccard 0.889 within exception tokens, paper-claims E1).
SUPPRESSION_PAIR: tuple[int, int] = (584, 2378)

#: The *wrong* Differentiator / Specialist lists of the original control script
#: (``src/null_model_controls.py``; paper-claims §2). Only for the "faithful" mode that reproduces
#: ``enrichment_stats.json``; never for an analysis the book stands behind.
FAITHFUL_CONTROL_DIFFERENTIATORS: tuple[int, ...] = (584, 2378, 611, 2173, 1602, 1715, 935, 2856, 1427, 377)
FAITHFUL_CONTROL_SPECIALISTS: tuple[int, ...] = (737, 1375, 1037, 1994, 1224)

#: Predecessor constants for other layers (used only by the paper's bypass mode).
OTHER_LAYER_EXCEPTION: dict[int, int] = {0: 2053, 7: 1990, 8: 589, 9: 1999, 10: 1858, 11: EXCEPTION_NEURON}
OTHER_LAYER_CONSENSUS: dict[int, tuple[int, ...]] = {
    0: (800,),
    7: (2489,),
    8: (1640, 2579, 1374),
    9: (1305, 1889),
    10: (1486, 1109, 928),
    11: CONSENSUS,
}

_BY_INDEX = {n.index: n for n in NAMED_NEURONS}


def neuron(index: int) -> Neuron:
    """The named neuron with this index; ``KeyError`` with the known names otherwise."""
    try:
        return _BY_INDEX[index]
    except KeyError:
        raise KeyError(
            f"N{index} is not one of the paper's 27 named neurons; known: "
            + ", ".join(n.label for n in NAMED_NEURONS)
        ) from None


def check_indices(indices: tuple[int, ...] | list[int], d_mlp: int, what: str = "neuron") -> None:
    """Raise :class:`~darkness_visible.errors.NeuronIndexError` (an ``IndexError``) naming the fix if any index
    is outside ``[0, d_mlp)``."""
    from darkness_visible.errors import NeuronIndexError

    bad = [i for i in indices if not 0 <= int(i) < d_mlp]
    if bad:
        raise NeuronIndexError(
            f"{what} index {bad[0]} is out of range: this model's MLP has {d_mlp} neurons "
            f"(valid 0..{d_mlp - 1}). The paper's indices refer to GPT-2 Small (3,072 neurons); "
            "on a smaller model pass your own neuron lists."
        )
