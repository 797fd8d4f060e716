"""Words and scorecard rows of report/knowledge.py (moved from tests/analysis/test_knowledge.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from darkness_visible.analysis import knowledge as kn
from darkness_visible.report import knowledge as knowledge_report


def test_prose_wording_follows_the_numbers():
    high = kn.OverlapEnrichment(7.3, 20, 27, 3072)
    low = kn.OverlapEnrichment(0.1, 20, 27, 3072)
    rec = pd.DataFrame({"neuron": [2, 611, 5], "prompts": [16, 15, 20], "tier": ["-"] * 3})
    p = knowledge_report.overlap_prose(high, low, low, rec)
    assert p["routing_vs_chance"] == "more than" and p["ratio_exact"] == "41.5×" and p["chance_exact"] == "0.1758"
    assert p["paper8_recurring"] == "1"  # N2 reaches 16, N611 does not, N5 is not one of the eight
    assert knowledge_report.overlap_prose(low, low, low, rec)["routing_vs_chance"] == "no more than"

    def summary(top, lo, hi, heads):
        return pd.DataFrame({"condition": ["top-20", "all heads"], "mean Δp": [top, heads], "ci_low": [lo, heads],
                             "ci_high": [hi, heads], "prompts rising": [3, 0], "n": [20, 20]})
    up = knowledge_report.knockout_prose(summary(0.08, 0.02, 0.12, -0.014))
    assert (up["ko_direction"], up["ko_ci_zero"], up["ko_vs_paper"]) == ("raises", "excludes", "the same direction as")
    assert up["ko_top20"] == "+8.00 pp" and up["ko_heads_direction"] == "lowers" and up["ko_rising"] == "3 of 20"
    down = knowledge_report.knockout_prose(summary(-0.01, -0.03, 0.01, 0.0))
    assert (down["ko_direction"], down["ko_ci_zero"], down["ko_vs_paper"]) == ("lowers", "includes",
                                                                               "not the direction of")
    assert down["ko_heads_direction"] == "leaves unchanged"

    tp = pd.DataFrame({"clean": [False, True], "Δ P(destination)": [-0.01, -0.03]})
    assert knowledge_report.transplant_prose(tp) == {"tp_clean": "1/2", "tp_dest": "-2.00 pp",
                                       "tp_vs_paper": "unlike the paper's 0/5"}
    same = pd.DataFrame({"Jaccard": [1.0, 1.0], "routing (pre-GELU)": [2, 3]})
    assert knowledge_report.hook_prose(same)["hook_n_same"] == "2 of 2"
    mixed = knowledge_report.hook_prose(same.assign(Jaccard=[1.0, 0.9995]))
    assert mixed["hook_n_same"] == "1 of 2" and mixed["hook_jaccard"] == "1.000"  # rounds to 1, yet one differs
    tiny_change = knowledge_report.knockout_prose(summary(-2e-8, -5e-8, 1e-8, 0.0))
    assert tiny_change["ko_top20"] == "-2e-06 pp" and tiny_change["ko_direction"] == "lowers"


def test_matched_prose_compares_with_uniform_chance():
    uniform = kn.OverlapEnrichment(2.0, 20, 27, 3072)  # chance 0.176
    mb = kn.MatchedBaseline(np.array([1.0, 1.0]), np.array([0.5, 3.0]), 2.0, 50)
    p = knowledge_report.matched_prose(mb, uniform)
    assert p["matched_chance"] == "1.00" and p["matched_ratio"] == "2.0×"
    assert (p["matched_vs_uniform"], p["matched_shrinks"]) == ("higher than", "shrinks")
    assert p["matched_p"] == f"{mb.p_value:.3g}" and p["matched_signif"] == "not below"  # p = 2/3
    lower = kn.MatchedBaseline(np.array([0.1]), np.zeros(99), 2.0, 50)
    assert knowledge_report.matched_prose(lower, uniform)["matched_shrinks"] == "does not shrink"
    assert knowledge_report.matched_prose(lower, uniform)["matched_signif"] == "below"


def test_ig_extraction_and_progressive_prose():
    complete = pd.DataFrame({"gap": [1e-4, -3e-3], "s(1) - s(0)": [0.5, -2.0]})
    assert knowledge_report.ig_prose(complete) == {"ig_max_gap": "0.003", "ig_max_diff": "2"}
    # two prompts; "context" reaches the top 10 for prompt 0 only at an intermediate checkpoint
    rows = []
    for method, ranks in {"static": [(50, 40), (9000, 70)], "context": [(5, 30), (200, 1500)],
                          "context (residual, |a|·‖w‖)": [(3, 8), (40, 2)]}.items():
        for index, (mid, last) in enumerate(ranks):
            rows += [{"index": index, "method": method, "k": 10, "final": False, "rank": mid, "base_rank": 1},
                     {"index": index, "method": method, "k": 3072, "final": True, "rank": last, "base_rank": 1}]
    p = knowledge_report.extraction_prose(pd.DataFrame(rows))
    assert p["ext_ctx_top10"] == "0/2" and p["ext_ctx_any10"] == "1/2" and p["ext_stated_top10"] == "2/2"
    assert p["ext_static_top10"] == "0/2" and p["ext_static_best"] == "40" and p["ext_ctx_median"] == "1,500"
    a, b = pd.DataFrame(), pd.DataFrame()
    a.attrs["max |full stage - model logits|"], b.attrs["max |full stage - model logits|"] = 1e-6, 3e-5
    assert knowledge_report.progressive_prose({"x": a, "y": b}) == {"prog_gap": "3e-05"}
