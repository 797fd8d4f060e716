"""Words and scorecard rows of report/consensus.py (moved from tests/analysis/test_consensus.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkness_visible.analysis import consensus as C
from darkness_visible.report import consensus as consensus_report


@pytest.mark.real_weights
def test_gpt2_output_cosines_match_the_paper(gpt2) -> None:
    subject = gpt2
    cos = C.output_cosines(subject.w_out()).to_numpy()
    np.testing.assert_allclose(cos, C.paper_cosines().to_numpy(), atol=0.01)
    values = [C.cosine_with_mean(subject.w_out(), normalise=b) for b in (False, True)]
    assert min(abs(v - consensus_report.PAPER_COS_EXCEPTION_MEAN) for v in values) <= 0.01


def test_width_and_acf_wording_follow_the_numbers() -> None:
    assert C.width_phrase(0.89) == "narrower than" and C.width_phrase(1.8) == "wider than"
    assert C.width_phrase(1.02) == "about as wide as" and C.width_phrase(float("nan")) == "not comparable with"
    acf = pd.DataFrame({"lag": [1, 2], "acf": [-0.03, 0.01], "n_sequences": [200, 200]})
    got = consensus_report.acf_prose(acf, 204_800)
    assert got == {"cc_acf1": "-0.03", "cc_acf_bound": "0.004", "cc_acf_visible": "is not visible"}
    assert consensus_report.acf_prose(acf.assign(acf=[0.3, 0.1]), 204_800)["cc_acf_visible"] == "is visible"
    # within noise
    assert consensus_report.acf_prose(acf.assign(acf=[0.01, 0.0]), 100)["cc_acf_visible"] == "is not visible"
