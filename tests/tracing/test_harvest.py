import numpy as np
import pytest
import torch

from darkness_visible.data.corpus import ContextLengthError, CorpusSpec
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule
from darkness_visible.tracing.harvest import (
    HarvestConfig,
    Variant,
    decompose,
    harvest,
    target_stats,
    trace_batch,
    variant_logits,
)
from darkness_visible.tracing.reference import hooked_batch, logits_with_mlp_neurons_zeroed

IDS = torch.tensor([[464, 3139, 286, 4881, 318, 6342, 13, 383, 3139, 286, 4486, 318],
                    [40, 716, 257, 3303, 13, 632, 318, 257, 922, 1110, 13, 198]])


@pytest.mark.parametrize("layer", [0, 1])
def test_nnsight_trace_equals_plain_pytorch_hooks(tiny, layer):
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS, layer)
        hooked = hooked_batch(tiny, IDS, layer)
    for name in ("resid_mid", "act", "mlp_out", "prev_out", "logits"):
        assert torch.equal(getattr(traced, name), getattr(hooked, name)), name


def test_reunembedding_equals_a_forward_with_the_mlp_zeroed(tiny):
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        shortcut = variant_logits(tiny, traced, Variant("no_mlp", whole_mlp=True), 1)
        forward = logits_with_mlp_neurons_zeroed(tiny, IDS, None)
    assert torch.allclose(shortcut, forward, atol=1e-4)


def test_reunembedding_equals_a_forward_with_neurons_zeroed(tiny):
    group = [3, 17, 100, 255]
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        shortcut = variant_logits(tiny, traced, Variant("g", zero=tuple(group)), 1)
        forward = logits_with_mlp_neurons_zeroed(tiny, IDS, group)
        assert not torch.allclose(forward, traced.logits, atol=1e-4), "zeroing must change something"
    assert torch.allclose(shortcut, forward, atol=1e-4)


@pytest.mark.parametrize("group", [[3], [3, 17, 100, 255], list(range(0, 256, 3))])
def test_rank_update_equals_reunembedding_and_a_real_forward(tiny, group):
    """The O(|S| vocab) shortcut gives the logits of a forward with the neurons zeroed (any |S|)."""
    from darkness_visible.tracing.harvest import RankUpdate

    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        update = RankUpdate(tiny, tuple(group), 1)
        flat = traced.logits.reshape(-1, traced.logits.shape[-1])
        resid = (traced.resid_mid + traced.mlp_out).reshape(-1, traced.resid_mid.shape[-1])
        fast = update.logits(flat.clone(), resid, traced.act.reshape(-1, traced.act.shape[-1]))
        slow = variant_logits(tiny, traced, Variant("g", zero=tuple(group)), 1).reshape(fast.shape)
        forward = logits_with_mlp_neurons_zeroed(tiny, IDS, group).reshape(fast.shape)
    assert not torch.allclose(fast, flat, atol=1e-4), "zeroing must change something"
    assert torch.allclose(fast, slow, atol=1e-4)
    assert torch.allclose(fast, forward, atol=1e-4)


def test_harvest_variants_from_rank_updates_equal_reunembedding(tiny):
    from darkness_visible.tracing.harvest import HarvestConfig, rank_updates, summarise_batch

    config = HarvestConfig(record=(), tiers=(), variants=(Variant("a", zero=(1, 2, 3)), Variant("b", zero=(7,))))
    tgt = torch.randint(0, 50257, IDS.shape, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        fast = summarise_batch(tiny, traced, tgt, config, 1, rank_updates(tiny, config, 1))
        slow = summarise_batch(tiny, traced, tgt, config, 1)
    for name in ("a", "b"):
        assert np.allclose(fast[f"logprob/{name}"], slow[f"logprob/{name}"], atol=1e-4)
        assert np.allclose(fast[f"maxprob/{name}"], slow[f"maxprob/{name}"], atol=1e-5)
        assert (fast[f"top1/{name}"] == slow[f"top1/{name}"]).mean() > 0.99


def test_lens_at_the_previous_block(tiny):
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        lens = variant_logits(tiny, traced, Variant("lens", lens_prev_block=True), 1)
        direct = tiny.hf.lm_head(tiny.hf.transformer.ln_f(hooked_batch(tiny, IDS, 1).prev_out))
    assert torch.allclose(lens, direct)


def test_variants_refuse_a_non_final_layer(tiny):
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS, 0)
        with pytest.raises(ValueError, match="last block"):
            variant_logits(tiny, traced, Variant("no_mlp", whole_mlp=True), 0)


def test_decomposition_sums_to_the_mlp_output(tiny):
    with torch.inference_mode():
        traced = trace_batch(tiny, IDS)
        parts = decompose(traced.act, tiny.w_out(), tiny.b_out(), {"a": (0, 1, 2, 3, 4), "b": tuple(range(5, 15))})
        total = sum(parts.values())
    assert set(parts) == {"a", "b", "residual", "bias"}
    assert float((total - traced.mlp_out).abs().max()) < 1e-4
    cos = torch.nn.functional.cosine_similarity(total.reshape(-1, 64).double(), traced.mlp_out.reshape(-1, 64).double())
    assert float(cos.min()) > 0.9999999
    with pytest.raises(ValueError, match="overlap"):
        decompose(traced.act, tiny.w_out(), tiny.b_out(), {"a": (0, 1), "b": (1, 2)})


def test_target_stats_in_place_give_the_same_numbers_and_only_then_overwrite():
    logits = torch.randn(300, 50, generator=torch.Generator().manual_seed(2))
    targets = torch.randint(0, 50, (300,))
    kept = logits.clone()
    plain = target_stats(logits, targets)
    assert torch.equal(logits, kept), "the default leaves the logits alone (the model's own logits are reused)"
    fused = target_stats(logits, targets, inplace=True)
    for a, b in zip(plain, fused, strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(logits, kept)


def test_target_stats_match_softmax():
    logits = torch.randn(5, 7, 11)
    targets = torch.randint(0, 11, (5, 7))
    lp, arg, mx = target_stats(logits, targets)
    probs = logits.softmax(-1)
    assert torch.allclose(lp.exp(), probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1), atol=1e-6)
    assert torch.equal(arg, probs.argmax(-1))
    assert torch.allclose(mx, probs.max(-1).values, atol=1e-6)


def _tiny_config():
    return HarvestConfig(record=(2, 5), tiers=(("g", (0, 1, 2)),),
                         rules=(FIRE_ABS, FIRE_POS, FiringRule(0.5, True)),
                         variants=(Variant("no_mlp", whole_mlp=True), Variant("no_g", zero=(0, 1, 2))))


def test_harvest_matches_a_plain_forward_token_by_token(tiny, tiny_corpus):
    H = harvest(tiny, tiny_corpus, _tiny_config(), cache=False, progress=False)
    assert H.n_tokens == 3 * 128 and not H.is_pretrained and "NOT GPT-2" in H.label
    ids = torch.from_numpy(H["input_ids"].reshape(3, 128)).long()
    with torch.inference_mode():
        ref = hooked_batch(tiny, ids)
        logp = ref.logits.log_softmax(-1).reshape(-1, 50257)
        zeroed = logits_with_mlp_neurons_zeroed(tiny, ids, None).log_softmax(-1).reshape(-1, 50257)
    target = torch.from_numpy(H["target"]).long()
    assert np.array_equal(H["target"][:-1], H["input_ids"][1:])
    assert np.allclose(H.logprob("full"), logp[torch.arange(384), target].numpy(), atol=1e-4)
    assert np.allclose(H.logprob("no_mlp"), zeroed[torch.arange(384), target].numpy(), atol=1e-4)
    act = ref.act.reshape(-1, 256).numpy()
    assert np.array_equal(H.mask(FIRE_ABS), np.abs(act) > 0.1)
    assert np.array_equal(H.fires([0, 200], "pos>0.5"), act[:, [0, 200]] > 0.5)
    assert np.allclose(H.recorded(5), act[:, 5])
    assert H["tier_norm"].shape == (384, 2) and H.meta["tier_names"] == ["g", "residual"]
    assert H.within_window.sum() == 3 * 127


def test_harvest_errors_name_the_fix(tiny, tiny_corpus):
    H = harvest(tiny, tiny_corpus, _tiny_config(), cache=False, progress=False)
    with pytest.raises(KeyError, match="not recorded"):
        H.recorded(7)
    with pytest.raises(KeyError, match="rules="):
        H.fires(0, "abs>0.25")
    with pytest.raises(IndexError, match="out of range"):
        H.fires(3000, FIRE_ABS)
    with pytest.raises(IndexError, match="256 neurons"):
        harvest(tiny, tiny_corpus, HarvestConfig(), cache=False, progress=False)  # the paper's indices
    with pytest.raises(ContextLengthError, match="context of 128"):
        harvest(tiny, CorpusSpec(n_windows=1, window=256, source="local"), _tiny_config(), cache=False)
    with pytest.raises(IndexError, match="has 2 layers"):
        harvest(tiny, tiny_corpus, HarvestConfig(layer=5, record=(), tiers=(), variants=()), cache=False)


@pytest.mark.slow
def test_standin_parity_on_one_window():
    from darkness_visible.models.loading import load_model

    standin = load_model("standin")
    ids = torch.randint(0, 50257, (1, 256), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        traced = trace_batch(standin, ids)
        hooked = hooked_batch(standin, ids)
        no_core = variant_logits(standin, traced, Variant("c", zero=(2123, 2910, 740, 1611, 2044)), 11)
        forward = logits_with_mlp_neurons_zeroed(standin, ids, [2123, 2910, 740, 1611, 2044])
    assert torch.equal(traced.act, hooked.act) and torch.equal(traced.logits, hooked.logits)
    assert torch.allclose(no_core, forward, atol=1e-3)


def test_a_pass_without_logits_keeps_the_activations_and_stops_early(tiny, tiny_corpus):
    """logits=False stops after layer L's MLP: same masks and activations, no log-probabilities."""
    with_logits = harvest(tiny, tiny_corpus, HarvestConfig(record=(1, 5), tiers=(), variants=()), cache=False,
                          progress=False)
    without = harvest(tiny, tiny_corpus, HarvestConfig(record=(1, 5), tiers=(), variants=(), logits=False),
                      cache=False, progress=False)
    assert np.array_equal(with_logits["acts"], without["acts"])
    for key in (k for k in with_logits.arrays if k.startswith("mask/")):
        assert np.array_equal(with_logits[key], without[key])
    assert "logprob/full" in with_logits.arrays and "logprob/full" not in without.arrays
    with torch.inference_mode():
        assert trace_batch(tiny, IDS, logits=False).logits.numel() == 0
    with pytest.raises(ValueError, match="variants"):
        HarvestConfig(logits=False)


def test_agreement_wording_follows_the_gap():
    import math

    from darkness_visible.report.tracing import agreement_prose
    from darkness_visible.tracing.harvest import agreement_phrase

    assert agreement_phrase(0.0) == "are identical to the bit"
    assert agreement_phrase(3e-6).startswith("agree up to float rounding")
    assert agreement_phrase(0.02).startswith("differ by up to 0.02")
    assert agreement_phrase(math.nan).startswith("differ")
    got = agreement_prose("p", {"act": 0.0, "logits": 0.5})
    assert got == {"p_gap": "0.5", "p_verdict": agreement_phrase(0.5)}
    assert agreement_prose("p", math.nan)["p_verdict"].startswith("differ")


def test_harvest_cache_key_includes_the_firing_rules(tiny, tiny_corpus, tmp_path):
    """Issue 22 mutation: a key without ``rules`` served one harvest's masks to a harvest with other rules."""
    import dataclasses

    base = _tiny_config()
    other = dataclasses.replace(base, rules=(FIRE_ABS,))
    assert base.key() != other.key(), "configs differing only in firing rules must have different keys"
    first = harvest(tiny, tiny_corpus, base, cache=tmp_path, progress=False)
    second = harvest(tiny, tiny_corpus, other, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("harvest-*/manifest.json"))) == 2, "the second harvest reused the first's cache"
    assert np.array_equal(second.mask(FIRE_ABS), first.mask(FIRE_ABS))
    with pytest.raises(KeyError, match="no firing mask"):
        second.mask(FiringRule(0.5, True))
