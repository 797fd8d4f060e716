"""E18's rows: the predecessor's rates on its own corpus (computation in analysis.predecessor)."""

from __future__ import annotations

import numpy as np

from darkness_visible.analysis.predecessor import gradient, predecessor_comparison, rate_by_level
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.report.results import ResultRow
from darkness_visible.tracing.firing import FIRE_POS
from darkness_visible.tracing.harvest import Harvest

#: The predecessor's numbers (paper-claims E18): rates in %, the gradient in pp and its CI, N2123's rate.
PAPER_RATE_LEVEL0 = 94.7


PAPER_RATE_LEVEL7 = 0.5


PAPER_GRADIENT_PP = 94.3


PAPER_GRADIENT_CI = (93.8, 94.7)


PAPER_N2123_RATE = 11.3


def scorecard_rows(H: Harvest, chapter: str = "03_consensus_crossover", n_resamples: int = 10_000) -> list[ResultRow]:
    """``E18.…`` rows: N2123's rate, its rate at 0/7 and 7/7, and the gradient with its CI."""
    table = rate_by_level(H).set_index("level")
    pp, ci = gradient(H, n_resamples)
    empty = [f"{lv}/7" for lv in (0, len(CONSENSUS)) if table.loc[lv, "n"] == 0]
    why = f"; no token at {' and '.join(empty)} on this run" if empty else ""
    other = predecessor_comparison(H.meta["corpus"])
    label, pre = H.label, H.is_pretrained
    rate = 100 * float(H.fires(EXCEPTION_NEURON, FIRE_POS).mean())

    def value(x: float) -> float | None:
        return None if not np.isfinite(x) else float(x)

    return [
        ResultRow(chapter, "E18.n2123_rate", "N2123 fire rate, GELU > 0.1", PAPER_N2123_RATE, rate, None, label,
                  pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.rate_level0", "N2123 rate at CONS-POS 0/7", PAPER_RATE_LEVEL0,
                  value(table.loc[0, "n2123_rate_pct"]), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.rate_level7", "N2123 rate at CONS-POS 7/7", PAPER_RATE_LEVEL7,
                  value(table.loc[len(CONSENSUS), "n2123_rate_pct"]), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E18.gradient_pp", "N2123 rate at 0/7 minus at 7/7 (token bootstrap, seed 42)",
                  PAPER_GRADIENT_PP, value(pp), None, label, pre, ci=ci if np.all(np.isfinite(ci)) else None,
                  unit="pp", comparison=other, note=f"paper CI {PAPER_GRADIENT_CI}{why}"),
    ]
