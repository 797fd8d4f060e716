"""E0: the tiers add up on a real traced pass, and a broken decomposition is caught."""

import torch

from darkness_visible.config.sizes import PRESETS
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.models.loading import ModelSpec
from darkness_visible.report.decomposition import scorecard_rows
from darkness_visible.report.results import stamp
from darkness_visible.tracing.decomposition import check_decomposition
from darkness_visible.tracing.harvest import trace_batch


def test_tiers_add_up_on_a_traced_pass(tiny):
    ids = torch.arange(100, 132).reshape(1, 32)
    with torch.inference_mode():
        traced = trace_batch(tiny, ids)
        check = check_decomposition(traced.act, traced.mlp_out, tiny.w_out(), tiny.b_out(), {"a": (0, 1, 2), "b": (7,)})
    assert check.n_positions == 32
    assert check.max_abs_error < 1e-5 and check.min_cosine > 0.9999999
    gpt2 = ModelSpec.parse("openai-community/gpt2")
    rows = {r.claim: r for r in stamp(scorecard_rows(check, "tiny", False), gpt2, PRESETS["paper"], CorpusSpec())}
    assert rows["E0.max_abs_error"].verdict == "replicated" and rows["E0.min_cosine"].verdict == "replicated"
    other = {r.claim: r for r in stamp(scorecard_rows(check, "tiny", False), ModelSpec.parse("tiny"))}
    assert {r.verdict for r in other.values()} == {"other model"} and other["E0.max_abs_error"].value is not None


def test_activations_that_are_not_the_traced_ones_are_caught(tiny):
    ids = torch.arange(100, 116).reshape(1, 16)
    with torch.inference_mode():
        traced = trace_batch(tiny, ids)
        act = traced.act.clone()
        act[..., 5] += 0.01  # one neuron off by 0.01: the sum no longer reproduces the traced output
        check = check_decomposition(act, traced.mlp_out, tiny.w_out(), tiny.b_out(), {})
    assert check.max_abs_error > 1e-4
    row = stamp(scorecard_rows(check, "tiny", False), ModelSpec.parse("openai-community/gpt2"), PRESETS["paper"],
                 CorpusSpec())[0]
    assert row.verdict == "differs"
