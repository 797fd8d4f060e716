"""Words and scorecard rows of report/crosslayer.py (moved from tests/analysis/test_crosslayer.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_survey_known_and_sink_prose_follow_the_numbers():
    import pandas as pd

    from darkness_visible.report import crosslayer as crosslayer_report

    survey = pd.DataFrame({"layer": [0, 1, 2], "exception_neuron": [5, 6, 7], "max_jaccard": [0.2, 0.4, 0.3],
                           "max_jaccard_within": [0.5, 0.6, 0.9], "high_jaccard_count": [0, 1, 2]})
    p = crosslayer_report.survey_prose(survey, 12345)
    assert p["cl_tokens"] == "12,345" and p["cl_auto_last"] == "N7" and p["cl_max_j_other_layer"] == "L1"
    assert (p["cl_last_vs_other"], p["cl_within_last_vs_other"]) == ("not above", "above")
    assert p["cl_pairs_total"] == "3" and p["cl_within_other"] == "0.600"
    known = pd.DataFrame({"which": ["known", "known, the paper's measure"], "max_jaccard_all_tokens": [0.25, 0.1],
                          "max_jaccard_within_exception": [0.5, 0.998], "best_within": ["N1", "N2910"]})
    assert crosslayer_report.known_prose(known) == {
        "known_within": "0.998", "known_best": "N2910", "known_all": "0.250"}
    sink = pd.DataFrame({"sink_share": [0.47, 0.373, 0.454]})
    imp = np.array([1.0, 2.0, 0.5, 0.1, 0.1, 0.1, 0.1, 6.0])
    s = crosslayer_report.sink_prose(sink, imp)
    assert s["top_head"] == "H7" and s["head_ratio"] == "3.00" and s["top_head_vs_paper"] == "as in the paper"
    assert s["sink_exc"] == "47.0 %" and s["sink_exc_vs_high"] == "more"
    s2 = crosslayer_report.sink_prose(sink.iloc[[1, 0, 2]], imp[::-1].copy())
    assert s2["sink_exc_vs_high"] == "not more" and s2["top_head_vs_paper"] == "unlike the paper's H7"


def test_importance_rows_name_the_top_head_and_its_score():
    """E15's "91.5": the top head's importance, its index (paper: H7) and the ratio to the next, from a planted
    importance vector."""
    from darkness_visible.report import crosslayer as crosslayer_report

    survey = pd.DataFrame({"layer": [0], "exception_neuron": [1], "exception_fire_rate": [0.1], "max_jaccard": [0.1],
                           "max_enrichment": [1.0], "high_jaccard_count": [0]})
    importance = np.array([3.0, 12.0, 2.0, 48.0, 1.0])
    rows = {r.claim: r for r in crosslayer_report.scorecard_rows(survey, None, None, importance, "planted", False)}
    assert rows["E15.importance_top"].paper == 91.5 and rows["E15.importance_top"].value == 48.0
    assert rows["E15.importance_top_head"].paper == 7 and rows["E15.importance_top_head"].value == 3
    assert rows["E15.importance_ratio"].value == pytest.approx(4.0)
    assert rows["E15.importance_top"].verdict == "other model"
