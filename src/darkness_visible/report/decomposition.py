"""Chapter 01's decomposition rows (computation in tracing.decomposition)."""

from __future__ import annotations

from darkness_visible.report.results import ResultRow
from darkness_visible.tracing.decomposition import DecompositionCheck

#: The paper's bound on the element-wise error and its cosine (paper-claims §5).
PAPER_MAX_ERROR = 6e-5


PAPER_COSINE = 0.99999994


def scorecard_rows(check: DecompositionCheck, label: str, pretrained: bool,
                   chapter: str = "01_tracing") -> list[ResultRow]:
    """Rows ``E0.max_abs_error`` (paper: below 6e-5) and ``E0.min_cosine`` (paper: 0.99999994), as bounds."""
    note = f"{check.n_positions} positions; b_out is {100 * check.bias_share:.1f} % of ‖m‖ on average"
    return [
        ResultRow(chapter, "E0.max_abs_error", "max |sum of tiers + b_out − MLP output| (fp32)", PAPER_MAX_ERROR,
                  check.max_abs_error, None, label, pretrained, note=note, relation="<="),
        ResultRow(chapter, "E0.min_cosine", "smallest cosine(sum of tiers + b_out, MLP output) over positions",
                  PAPER_COSINE, check.min_cosine, None, label, pretrained, note=note, relation=">="),
    ]
