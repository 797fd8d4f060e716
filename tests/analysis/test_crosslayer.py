"""The all-layer pass, the like-for-like Jaccards, the attention-sink statistics, and the prediction on
tiny models with a planted handler (final layer, and a middle layer as the negative control)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.spatial.distance import jaccard as scipy_jaccard
from scipy.stats import entropy

from darkness_visible.analysis.crosslayer import exception_jaccards, jaccard_profile
from darkness_visible.analysis.prediction import crystallization_layer, locate_crystallization, verdict
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.discovery.planted import build_planted
from darkness_visible.models.loading import load_model
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule
from darkness_visible.tracing.layers import (
    CrossLayerConfig,
    corpus_stream,
    head_stats,
    layer_masks,
    trace_attention,
    trace_layers,
)

CORPUS = CorpusSpec("test", 3, 128, "local")


def test_trace_layers_equals_forward_hooks(tiny):
    ids = torch.from_numpy(corpus_stream(tiny, CORPUS)[0][:64].astype(np.int64))[None]
    got: dict[int, torch.Tensor] = {}
    handles = [tiny.hf.transformer.h[L].mlp.act.register_forward_hook(
        lambda m, a, out, L=L: got.__setitem__(L, out.detach().clone())) for L in range(tiny.n_layers)]
    try:
        tiny.hf(ids)
    finally:
        for h in handles:
            h.remove()
    with torch.inference_mode():
        acts = trace_layers(tiny, ids)
    assert len(acts) == tiny.n_layers
    for L in range(tiny.n_layers):
        assert torch.equal(acts[L], got[L])


def test_layer_masks_match_rules_and_cache(tiny, tmp_path):
    config = CrossLayerConfig(rules=(FIRE_ABS, FIRE_POS))
    fresh = layer_masks(tiny, CORPUS, config, cache=tmp_path, progress=False)
    again = layer_masks(tiny, CORPUS, config, cache=tmp_path, progress=False)
    assert fresh.n_tokens == CORPUS.n_tokens
    stream = corpus_stream(tiny, CORPUS)[0]
    ids = torch.from_numpy(stream[: CORPUS.n_tokens].astype(np.int64)).reshape(CORPUS.n_windows, CORPUS.window)
    with torch.inference_mode():
        acts = trace_layers(tiny, ids)
    for L in range(tiny.n_layers):
        flat = acts[L].reshape(-1, tiny.d_mlp).numpy()
        for rule in config.rules:
            assert np.array_equal(fresh.mask(L, rule), rule(flat))
            assert np.array_equal(again.mask(L, rule), fresh.mask(L, rule))
    assert np.array_equal(fresh.fires(1, [3, 7], FIRE_POS), fresh.mask(1, FIRE_POS)[:, [3, 7]])


def test_the_survey_and_the_depth_sweep_share_one_pass(tiny, tmp_path, monkeypatch):
    from darkness_visible.tracing import layers

    survey = layer_masks(tiny, CORPUS, CrossLayerConfig(), cache=tmp_path, progress=False)  # FIRE-ABS only

    def refuse(*args, **kwargs):
        raise AssertionError("a second all-layer pass ran")

    monkeypatch.setattr(layers, "trace_layers", refuse)
    for rules in ((FIRE_POS, FIRE_ABS), (FIRE_ABS, FIRE_POS), (FIRE_POS,)):
        both = layer_masks(tiny, CORPUS, CrossLayerConfig(rules=rules), cache=tmp_path, progress=False)
        assert np.array_equal(both.mask(1, FIRE_ABS), survey.mask(1, FIRE_ABS))
        assert np.array_equal(both.mask(1, FIRE_POS), survey.mask(1, FIRE_POS))
    assert len(list(tmp_path.glob("crosslayer-*/"))) == 1
    other = FiringRule(0.5, signed=False)  # a rule outside the standard pair is a pass of its own
    with pytest.raises(AssertionError, match="second all-layer pass"):
        layer_masks(tiny, CORPUS, CrossLayerConfig(rules=(other,)), cache=tmp_path, progress=False)


def test_exception_jaccards_equal_scipy_and_conditional_rate():
    rng = np.random.default_rng(0)
    exc = rng.random(500) < 0.3
    fires = rng.random((500, 6)) < np.linspace(0.1, 0.9, 6)
    fires[:, 0] = exc | (rng.random(500) < 0.05)  # a near-copy
    over_all, within = exception_jaccards(exc, fires)
    for j in range(6):
        assert over_all[j] == pytest.approx(1 - scipy_jaccard(exc, fires[:, j]))
        assert within[j] == pytest.approx(fires[exc, j].mean())
        assert within[j] == pytest.approx(1 - scipy_jaccard(exc[exc], fires[exc, j]))
    prof = jaccard_profile(np.column_stack([exc, fires]), 0, k=6)
    assert prof["argmax_within"] == 1 and prof["max_jaccard_within"] == pytest.approx(1.0)


def test_head_stats_equal_plain_attention():
    eager = load_model("tiny", attn_implementation="eager")
    ids = torch.from_numpy(corpus_stream(eager, CORPUS)[0][:40].astype(np.int64))[None]
    L = eager.n_layers - 1
    with torch.inference_mode():
        weights = eager.hf(ids, output_attentions=True).attentions[-1]
        z, a = trace_attention(eager, ids, L)
        stats = head_stats(eager, z, a, L, head=2)
        attn_out = eager.hf.transformer.h[L].attn.c_proj(z)
        w_o = eager.hf.transformer.h[L].attn.c_proj.weight
        recombined = z @ w_o + eager.hf.transformer.h[L].attn.c_proj.bias
    assert torch.allclose(a, weights, atol=1e-6)
    assert torch.allclose(stats["sink"], weights[0, 2, :, 0], atol=1e-6)
    expected = [entropy(weights[0, 2, t, : t + 1].numpy(), base=2) for t in range(ids.shape[1])]
    assert np.allclose(stats["entropy"].numpy(), expected, atol=1e-4)
    # the per-head split is the layout c_proj uses: heads concatenated, then projected
    assert stats["importance"].shape == (ids.shape[1], a.shape[1])
    assert torch.allclose(recombined, attn_out, atol=1e-5)
    d_head = z.shape[-1] // a.shape[1]
    with torch.inference_mode():
        head0 = z[0, :, :d_head] @ w_o[:d_head]
    assert torch.allclose(stats["importance"][:, 0], head0.norm(dim=-1), atol=1e-5)


@pytest.mark.parametrize("head", [0, 3])
def test_head_weights_from_qkv_equal_eager_attention(tiny, head):
    """The sdpa model's c_attn output gives the eager implementation's pattern; the sink pass needs no eager load."""
    from darkness_visible.tracing.layers import attention_sink, head_weights, trace_head_inputs

    eager = load_model("tiny", attn_implementation="eager")
    ids = torch.from_numpy(corpus_stream(tiny, CORPUS)[0][:40].astype(np.int64))[None]
    L = tiny.n_layers - 1
    with torch.inference_mode():
        want = eager.hf(ids, output_attentions=True).attentions[-1][:, head]
        qkv, z = trace_head_inputs(tiny, ids, L)
        got = head_weights(tiny, qkv, L, head)
        z_eager, a_eager = trace_attention(eager, ids, L)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(z, z_eager, atol=1e-5)
    corpus = CorpusSpec("test", 2, 64, "local")
    fast = attention_sink(tiny, corpus, head=head, progress=False)
    with torch.inference_mode():
        inputs = torch.from_numpy(corpus_stream(tiny, corpus)[0][:128].astype(np.int64)).reshape(2, 64)
        ref = [head_stats(eager, *trace_attention(eager, inputs[k:k + 1], L), L, head) for k in range(2)]
    assert np.allclose(fast["sink"], np.concatenate([r["sink"].numpy() for r in ref]), atol=1e-6)
    assert np.allclose(fast["entropy"], np.concatenate([r["entropy"].numpy() for r in ref]), atol=1e-4)
    assert np.allclose(fast["importance"], np.concatenate([r["importance"].numpy() for r in ref]), atol=1e-5)


def test_attention_needs_eager(tiny):
    with pytest.raises(ValueError, match="eager"):
        trace_attention(tiny, torch.zeros(1, 4, dtype=torch.long), 1)


PLANT_CORPUS = CorpusSpec("test", 6, 128, "local")


@pytest.mark.parametrize("n_layers", [
    2,
    4])
def test_handler_planted_at_final_layer_is_found_there(n_layers):
    planted = build_planted(n_layers=n_layers, layer=None, calibration_windows=8)
    result = locate_crystallization(planted.subject, PLANT_CORPUS, cache=False, progress=False)
    assert result.layer == n_layers - 1
    assert result.verdict == "final layer" and result.supports_terminal
    row = result.table.set_index("layer").loc[n_layers - 1]
    assert row["indicator"] in planted.truth.core


def test_handler_planted_in_the_middle_is_found_there_not_at_the_end():
    planted = build_planted(n_layers=4, layer=1, calibration_windows=8)
    result = locate_crystallization(planted.subject, PLANT_CORPUS, cache=False, progress=False)
    assert result.layer == 1
    assert not result.supports_terminal
    assert result.verdict == "layer 1 (neither)"


def test_crystallization_layer_and_verdict():
    import pandas as pd

    table = pd.DataFrame({"layer": [0, 1, 2], "handler_max_jaccard": [0.2, np.nan, 0.9]})
    assert crystallization_layer(table) == 2
    assert crystallization_layer(table.assign(handler_max_jaccard=np.nan)) == -1
    assert verdict(11, 12) == "final layer" and verdict(11, 24) == "layer 11" and verdict(3, 6) == "layer 3 (neither)"


def test_exercise_checks_accept_the_reference_and_reject_wrong_answers():
    from darkness_visible.exercises.crosslayer import (
        check_first_lockin,
        check_negative_band,
        check_within_jaccard,
    )
    from darkness_visible.exercises.solutions.crosslayer import reference_band as fire_abs_band
    from darkness_visible.lens.lenses import first_lockin
    from darkness_visible.tracing.firing import gelu_new

    assert "Correct" in check_within_jaccard(lambda e, f: exception_jaccards(e, f)[1])
    with pytest.raises(AssertionError, match="over all tokens"):
        check_within_jaccard(lambda e, f: exception_jaccards(e, f)[0])
    assert "Correct" in check_first_lockin(first_lockin)
    with pytest.raises(AssertionError, match="-1"):
        check_first_lockin(lambda h: h.argmax(1))
    lo, hi = fire_abs_band(0.1)
    assert abs(gelu_new(np.float64(lo))) == pytest.approx(0.1) and abs(gelu_new(np.float64(hi))) == pytest.approx(0.1)
    assert "Correct" in check_negative_band(lo, hi)
    with pytest.raises(AssertionError):
        check_negative_band(-0.75, -0.1)


def test_prediction_command_line_runs_on_a_model_id(tmp_path, capsys):
    from darkness_visible.analysis.prediction import command, main

    out_csv = tmp_path / "table.csv"
    assert main(["tiny", "--windows", "2", "--cache", str(tmp_path), "--out", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert "crystallizes" in printed and "NOT GPT-2" in printed
    import pandas as pd

    table = pd.read_csv(out_csv)
    assert list(table["layer"]) == [0, 1]
    expected = "python -m darkness_visible.analysis.prediction distilbert/distilgpt2 --windows 100"
    assert command("distilbert/distilgpt2", 100) == expected


def test_the_survey_rows_are_cached_by_their_masks(tiny, tmp_path, monkeypatch):
    import darkness_visible.analysis.crosslayer as module

    masks = layer_masks(tiny, CorpusSpec("test", 2, 128, "local"), cache=False, progress=False)
    fresh = module.characterize_layers(masks)
    first = module.characterize_layers(masks, cache=tmp_path)
    assert len(list(tmp_path.glob("survey-*.json"))) == masks.n_layers

    def refuse(*args, **kwargs):
        raise AssertionError("cached rows must not be computed again")

    monkeypatch.setattr(module, "characterize_layer", refuse)
    again = module.characterize_layers(masks, cache=tmp_path)
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(again, fresh, check_dtype=False)  # JSON's ints and floats, same values
    assert isinstance(again.loc[0, "consensus_neurons"], tuple)


