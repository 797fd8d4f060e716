import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from transformers.activations import NewGELUActivation

from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule, gelu_new, pack, rule, unpack


def test_gelu_new_is_gpt2s_activation():
    x = torch.linspace(-6, 6, 2001)
    assert torch.allclose(gelu_new(x), NewGELUActivation()(x), atol=1e-6)
    assert np.allclose(gelu_new(x.numpy()), NewGELUActivation()(x).numpy(), atol=1e-6)


def test_gelu_minimum_explains_the_negative_firing_band():
    x = torch.linspace(-3, 0, 300001, dtype=torch.float64)
    y = gelu_new(x)
    assert float(y.min()) == pytest.approx(-0.17004, abs=1e-5)
    assert float(x[y.argmin()]) == pytest.approx(-0.75246, abs=1e-4)


@pytest.mark.parametrize(
    "x, abs_fires, pos_fires",
    [(-1.0, True, False), (-1.6, False, False), (-0.2, False, False), (0.17, False, False), (0.18, True, True)],
)
def test_fire_abs_and_pos_intervals_from_the_spec(x, abs_fires, pos_fires):
    a = gelu_new(torch.tensor([x]))
    assert bool(FIRE_ABS(a)) is abs_fires
    assert bool(FIRE_POS(a)) is pos_fires


def test_rules_have_names_and_parse_back():
    assert FIRE_ABS.name == "abs>0.1" and FIRE_POS.name == "pos>0.1"
    assert rule("FIRE-POS") is FIRE_POS
    assert rule("abs>0.25") == FiringRule(0.25, signed=False)
    with pytest.raises(ValueError, match="FIRE-ABS"):
        rule("fires")


def test_pack_round_trip_and_column_unpack():
    rng = np.random.default_rng(0)
    mask = rng.random((50, 301)) < 0.3
    packed = pack(mask)
    assert packed.shape == (50, 38) and packed.dtype == np.uint8
    assert np.array_equal(unpack(packed, 301), mask)
    cols = [0, 7, 8, 150, 300]
    assert np.array_equal(unpack(packed, 301, cols), mask[:, cols])


# -- issue 15: exact names, finite thresholds ------------------------------------------------------------------




FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(threshold=FINITE, signed=st.booleans())
def test_a_rule_name_reads_back_as_the_same_rule(threshold, signed):
    r = FiringRule(threshold, signed)
    assert rule(r.name) == r and rule(r.name).threshold == threshold


@given(a=FINITE, ulps=st.integers(1, 5), b=FINITE)
def test_different_thresholds_never_share_a_name(a, ulps, b):
    near = a
    for _ in range(ulps):  # the hardest case: thresholds a few floats apart
        near = math.nextafter(near, math.inf)
    for other in (near, b):
        if other != a and math.isfinite(other):
            assert FiringRule(a).name != FiringRule(other).name


def test_thresholds_that_differ_past_six_digits_have_two_names():
    assert FiringRule(0.1).name != FiringRule(0.1000001).name


@given(bad=st.sampled_from([math.nan, math.inf, -math.inf]), signed=st.booleans())
def test_non_finite_thresholds_are_refused(bad, signed):
    from darkness_visible.errors import SettingError

    with pytest.raises(SettingError, match="finite"):
        FiringRule(bad, signed)
    with pytest.raises(SettingError, match="finite"):
        rule(f"{'pos' if signed else 'abs'}>{bad}")


def test_rate_prose_says_which_rule_fires_more():
    from darkness_visible.report.tracing import rate_prose

    a = np.array([-0.15, -0.15, -0.15, 0.5, 0.0])  # abs: 4 of 5, pos: 1 of 5
    got = rate_prose(a, "n")
    assert got == {"n_abs": "80.0 %", "n_pos": "20.0 %",
                   "n_compare": "4.0 times as often under |GELU| > 0.1 as under GELU > 0.1"}
    assert rate_prose(np.array([0.5, 0.0]), "n")["n_compare"] == "equally often under both rules"
    assert rate_prose(np.array([-0.15, 0.0]), "n")["n_compare"] == "only under |GELU| > 0.1"
