import numpy as np
import pytest
import torch

from darkness_visible.exercises import tracing as ex


def test_reference_answers_pass(tiny):
    assert ex.check_fires(ex.reference_fires)
    assert ex.check_without(ex.reference_without, tiny)
    assert ex.check_decompose(ex.reference_decompose)


def test_common_mistakes_are_caught(tiny):
    with pytest.raises(AssertionError, match="negative band"):
        ex.check_fires(lambda a, t, s: a > t)  # ignores the |.| rule
    with pytest.raises(AssertionError, match="whole MLP"):
        ex.check_without(lambda subject, mid, act, out, n: subject.unembed(mid), tiny)
    with pytest.raises(AssertionError, match="ln_f"):
        ex.check_without(lambda subject, mid, act, out, n: subject.hf.lm_head(
            mid + out - act[..., n] @ subject.w_out()[n]), tiny)

    def no_bias(act, w_out, b_out, tiers):
        parts = ex.reference_decompose(act, w_out, b_out, tiers)
        parts["bias"] = torch.zeros_like(parts["bias"])
        return parts

    with pytest.raises(AssertionError, match="add up"):
        ex.check_decompose(no_bias)
    assert np.asarray(ex.reference_fires(np.array([-0.15]), 0.1, False))[0]
