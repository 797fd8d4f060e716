"""Words and scorecard rows of report/controls.py (moved from tests/analysis/test_controls.py)."""

from __future__ import annotations

from darkness_visible.data.corpus import CorpusSpec


def test_controls_prose_and_corpus_note():
    from darkness_visible.analysis import controls
    from darkness_visible.report import controls as controls_report

    null = {"exception_fire_rate": (0.64, 0.02)}
    p = controls_report.null_prose(null, {"exception_fire_rate": 0.688}, 0.113, 3, 49920)
    assert (p["null_exc"], p["null_exc_sd"]) == ("64.0 %", "2.0")
    assert (p["trained_exc"], p["trained_pos"]) == ("68.8 %", "11.3 %")
    assert p["null_vs_trained"] == "not higher than" and p["controls_tokens"] == "49,920"
    assert controls_report.null_prose(null, {"exception_fire_rate": 0.1}, 0.1, 3, 1)["null_vs_trained"] == "higher than"
    claims = {"min_core_jaccard_mean": 0.5, "min_spread": 0.2, "n_null_spread": 0, "jaccard_claim_holds": True,
              "spread_claim_holds": False}
    assert controls_report.sweep_prose(claims)["sweep_claims"] == "do not both hold"
    assert controls_report.sweep_prose({**claims, "spread_claim_holds": True})["sweep_claims"] == "hold"
    assert controls_report.sweep_prose({**claims, "min_spread": float("nan")})["sweep_spread"].startswith("undefined")
    assert controls.corpus_note(CorpusSpec("train", 195, 256, construction="DS-B")) == "This run reads DS-B itself."
    stand_in = CorpusSpec("test", 4, 256)
    assert stand_in.describe() in controls.corpus_note(stand_in)
