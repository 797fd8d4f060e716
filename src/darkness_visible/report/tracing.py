"""Chapter 01's words about firing rates and the nnsight/PyTorch agreement.

The computation is in :mod:`darkness_visible.tracing.firing` and :mod:`darkness_visible.tracing.harvest`.
"""

from __future__ import annotations

import math

import numpy as np

from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule
from darkness_visible.tracing.harvest import ROUNDING_TOLERANCE, agreement_phrase


def rate_prose(post_gelu: np.ndarray, prefix: str, rules: tuple[FiringRule, FiringRule] = (FIRE_ABS, FIRE_POS),
               ) -> dict[str, str]:
    """A neuron's fire rate under two rules, as prose values (one call per section).

    ``post_gelu``: ``[N]`` activations of one neuron. Returns ``{prefix}_abs`` and ``{prefix}_pos`` (percentages of
    ``rules[0]`` and ``rules[1]``) and ``{prefix}_compare``: which rule makes it fire more often, and by what factor
    (so the sentence follows the numbers, whichever way they go).
    """
    a = np.asarray(post_gelu)
    first, second = (float(np.mean(r(a))) for r in rules)
    if first == second:
        compare = "equally often under both rules"
    else:
        more, less = (rules[0], rules[1]) if first > second else (rules[1], rules[0])
        hi, lo = max(first, second), min(first, second)
        compare = (f"{hi / lo:.1f} times as often under {more.description} as under {less.description}" if lo > 0
                   else f"only under {more.description}")
    return {f"{prefix}_abs": f"{100 * first:.1f} %", f"{prefix}_pos": f"{100 * second:.1f} %",
            f"{prefix}_compare": compare}


def agreement_prose(prefix: str, gaps: dict[str, float] | float,
                    tolerance: float = ROUNDING_TOLERANCE) -> dict[str, str]:
    """Prose values for one comparison section: ``{prefix}_gap`` (the largest gap) and ``{prefix}_verdict``.

    ``gaps``: one max absolute difference, or several (e.g. per quantity); the largest decides the wording.
    """
    values = list(gaps.values()) if isinstance(gaps, dict) else [gaps]
    worst = max((float(v) for v in values), key=lambda v: math.inf if math.isnan(v) else v)
    return {f"{prefix}_gap": f"{worst:.2g}", f"{prefix}_verdict": agreement_phrase(worst, tolerance)}
