"""Words and scorecard rows of report/lens.py (moved from tests/lens/test_lenses.py)."""

from __future__ import annotations

import numpy as np


def test_lens_prose_reports_training_and_the_arc():
    from darkness_visible.lens import lenses as lens
    from darkness_visible.report import lens as lens_report

    hits = np.array([[0, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 1]], bool)
    result = lens.LensResult(hits, hits, 2, "x", False, hits[:, -1])
    p = lens_report.lens_prose(result, [2.0, 1.5, 1.0], 10, {"arc_holds": False})
    window = lens_report.lens_prose(result, [3.0, 1.0] + [0.5] * 60 + [0.2, 0.1], 300, {})
    assert (window["kl_window"], window["kl_first"], window["kl_last"]) == ("25", f"{(4 + 23 * 0.5) / 25:.4g}",
                                                                           f"{(23 * 0.5 + 0.3) / 25:.4g}")
    assert p["lens_tokens"] == "4" and p["lens_last"] == "75.00 %" and p["never_logit"] == "25.0 %"
    assert (p["tuned_steps"], p["tuned_max_steps"], p["kl_first"], p["kl_last"]) == ("3", "10", "2", "1")
    assert p["arc_holds"] == "does not hold" and p["kl_fell"] == "fell"
    assert lens_report.lens_prose(result, [1.0, 1.0], 10, {"arc_holds": True})["arc_holds"] == "holds"
