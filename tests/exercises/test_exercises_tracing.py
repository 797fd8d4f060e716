import numpy as np
import pytest
import torch

from darkness_visible.exercises import tracing as ex
from darkness_visible.exercises.solutions import tracing as answers


def test_reference_answers_pass(tiny):
    assert ex.check_fires(answers.reference_fires)
    assert ex.check_without(answers.reference_without, tiny)
    assert ex.check_decompose(answers.reference_decompose)


def test_common_mistakes_are_caught(tiny):
    with pytest.raises(AssertionError, match="negative band"):
        ex.check_fires(lambda a, t, s: a > t)  # ignores the |.| rule
    with pytest.raises(AssertionError, match="whole MLP"):
        ex.check_without(lambda subject, mid, act, out, n: subject.unembed(mid), tiny)
    with pytest.raises(AssertionError, match="ln_f"):
        ex.check_without(lambda subject, mid, act, out, n: subject.hf.lm_head(
            mid + out - act[..., n] @ subject.w_out()[n]), tiny)

    def no_bias(act, w_out, b_out, tiers):
        parts = answers.reference_decompose(act, w_out, b_out, tiers)
        parts["bias"] = torch.zeros_like(parts["bias"])
        return parts

    with pytest.raises(AssertionError, match="add up"):
        ex.check_decompose(no_bias)
    assert np.asarray(answers.reference_fires(np.array([-0.15]), 0.1, False))[0]
