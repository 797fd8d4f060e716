"""Words and scorecard rows of report/bypass.py (moved from tests/analysis/test_bypass.py)."""

from __future__ import annotations

import pytest

from darkness_visible.analysis import bypass
from darkness_visible.report import bypass as bypass_report


def test_suite_runs_cover_the_harness_table():
    runs = bypass.suite_runs()
    singles = {layers[0] for layers, rep, where in runs.values() if len(layers) == 1 and rep == "zero"}
    assert singles == set(bypass.PAPER_SINGLE_LAYER)
    assert {layers for layers, rep, _ in runs.values() if len(layers) > 1} == set(bypass.PAPER_CUMULATIVE)
    assert 100 * (bypass.PAPER_CUMULATIVE[(7, 11)] / bypass.PAPER_BASE_PPL - 1) == pytest.approx(
        bypass_report.PAPER_L7_L11_DELTA_PCT, abs=0.05), "35.55 / 31.79 is the paper's +11.8 %"
