"""Words and scorecard rows of report/tiers.py (moved from tests/analysis/test_tiers.py)."""

from __future__ import annotations

import pandas as pd

from darkness_visible.analysis import tiers
from darkness_visible.data.neurons import EXCEPTION_NEURON
from darkness_visible.report import tiers as tiers_report


def test_jaccard_prose_says_lower_or_higher() -> None:
    def summary(within: float, overall: float) -> pd.DataFrame:
        rows = [("within exception tokens", f"N{EXCEPTION_NEURON}-N2910", within),
                ("all tokens", f"N{EXCEPTION_NEURON}-N2910", overall)]
        return pd.DataFrame(rows, columns=["population", "statistic", "value"])

    assert tiers_report.jaccard_prose(summary(0.998, 0.4))["j_peak_change"] == "lower"
    assert tiers_report.jaccard_prose(summary(0.3, 0.6))["j_peak_change"] == "higher"
    assert tiers_report.jaccard_prose(summary(0.5, 0.501))["j_peak_change"] == "about the same"
    assert tiers_report.jaccard_prose(summary(0.5, 0.4))["j_pair_within"] == "n/a"  # a pair the table lacks


def test_direction_prose_follows_signs(tiny) -> None:
    names = [f"N{EXCEPTION_NEURON}", "N2910"]
    scores = {"ln_f": pd.DataFrame([[1.0], [1.0]], names), "ln_f_no_bias": pd.DataFrame([[-0.5], [0.7]], names)}
    for c, words in ((-0.4, "in opposite directions"), (0.5, "in similar directions"), (0.02, "nearly orthogonal")):
        cos = pd.DataFrame([[1.0, c], [c, 1.0]], names, names)
        got = tiers_report.direction_prose(tiny, scores, cos)
        assert words in got["cos_direction"] and got["cos_2123_2910"] == f"{c:+.3f}"
    assert got["fw_2123_direction"] == "away from" and got["fw_2910_direction"] == "toward"
    assert got["beta_norm"] == f"{tiers.ln_f_bias_norm(tiny):.3f}"
    assert ("coincide" in got["beta_note"]) == (tiers.ln_f_bias_norm(tiny) == 0)


def test_suite_and_null_prose() -> None:
    suite = pd.DataFrame({"passed": [True, True, False, True, True], "indicator_ok": [1, 1, 0, 1, 1],
                          "found": [True] * 5, "core_precision": [1.0] * 5, "core_recall": [0.8] * 5,
                          "handler_precision": [0.5] * 5})
    got = tiers_report.recovery_suite_prose(suite)
    assert got["suite_fail"] == "20%" and got["suite_vs_bar"].startswith("within")
    above = tiers_report.recovery_suite_prose(suite.assign(passed=[True, False, False, True, True]))
    assert above["suite_vs_bar"].startswith("above")

    class Found:
        found, indicator = False, None

    assert tiers_report.discovery_null_prose({"max_lower": 0.4, "bar": 1.0}, Found(), "x")["null_vs_bar"] == "below"
    assert tiers_report.discovery_null_prose({"max_lower": 1.4, "bar": 1.0}, Found(), "x")["null_vs_bar"] == "above"
    Found.found, Found.indicator = True, 7
    found = tiers_report.discovery_null_prose({"max_lower": 1.4, "bar": 1.0}, Found(), "x")
    assert "false positive" in found["null_answer"]


def test_sign_rows_read_the_function_word_scores(tiny) -> None:
    scores = {m: tiers.function_word_scores(tiny, (0, 5), mode=m) for m in ("ln_f", "ln_f_no_bias")}
    rows = tiers_report.sign_rows(scores, "tiny", False, neurons=(0, 5))
    assert [r.claim for r in rows] == ["E1.sign.n0_toward_function_words", "E1.sign.n0_toward_function_words"
                                       ".ln_f_no_bias", "E1.sign.n5_toward_function_words",
                                       "E1.sign.n5_toward_function_words.ln_f_no_bias"]
    for r in rows:
        mode = "ln_f_no_bias" if r.claim.endswith("no_bias") else "ln_f"
        z = scores[mode].loc[f"N{r.claim.split('.')[2].split('_')[0][1:]}"].mean()
        assert r.value == float(z > 0) and r.paper == 1.0
    assert rows[1].comparison.startswith("different procedure") and rows[0].comparison == ""
