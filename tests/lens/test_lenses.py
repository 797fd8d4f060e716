"""Logit lens, tuned lens, first lock-in and the arc, on the tiny model and synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.lens.lenses import (
    ArcSpec,
    LensConfig,
    Translators,
    TunedLensConfig,
    arc,
    first_lockin,
    held_out_agreement,
    kl_to_final,
    lens_hits,
    lockin_pct,
    run_lens,
    top1_pct,
    trace_states,
    train_tuned_lens,
)
from darkness_visible.tracing.layers import corpus_stream

CORPUS = CorpusSpec("test", 2, 128, "local")


def _ids(subject, n=64):
    return torch.from_numpy(corpus_stream(subject, CORPUS)[0][:n].astype(np.int64))[None]


def test_states_equal_hidden_states_and_last_state_gives_the_logits(tiny):
    ids = _ids(tiny)
    with torch.inference_mode():
        out = tiny.hf(ids, output_hidden_states=True)
        states = trace_states(tiny, ids)
        assert len(states) == tiny.n_layers + 1
        for s in range(tiny.n_layers):  # HF's last hidden state has ln_f applied; ours does not
            assert torch.allclose(states[s], out.hidden_states[s], atol=1e-6)
        assert torch.allclose(tiny.unembed(states[-1]), out.logits, atol=1e-5)


def test_logit_lens_at_last_layer_equals_model_accuracy(tiny):
    ids = _ids(tiny, 100)
    with torch.inference_mode():
        logits = tiny.hf(ids).logits[0]
        states = [s[0] for s in trace_states(tiny, ids)]
    own = logits.argmax(-1)
    # targets: the model's own prediction on every third position, another token elsewhere
    targets = torch.where(torch.arange(100) % 3 == 0, own, (own + 1) % logits.shape[-1])
    with torch.inference_mode():
        logit, tuned = lens_hits(tiny, states, targets, Translators(tiny.n_layers, tiny.hf.config.n_embd))
    model_accuracy = 100 * (logits.argmax(-1) == targets).float().mean().item()
    assert top1_pct(logit.numpy())[-1] == pytest.approx(model_accuracy)
    assert model_accuracy > 0
    # zero-initialised translators are the identity: the tuned lens equals the logit lens before training
    assert torch.equal(tuned, logit)


def test_run_lens_matches_direct_hits_and_caches(tiny, tmp_path):
    result = run_lens(tiny, CORPUS, None, LensConfig(stride=2), cache=tmp_path, progress=False)
    again = run_lens(tiny, CORPUS, None, LensConfig(stride=2), cache=tmp_path, progress=False)
    assert np.array_equal(result.logit, again.logit)
    keep = np.arange(0, CORPUS.window - 1, 2)
    assert result.n_tokens == CORPUS.n_windows * len(keep)
    stream = corpus_stream(tiny, CORPUS)[0].astype(np.int64)
    ids = torch.from_numpy(stream[: CORPUS.window])[None]
    with torch.inference_mode():
        own = tiny.hf(ids).logits[0].argmax(-1).numpy()
    targets = stream[1: CORPUS.window + 1]
    assert np.array_equal(result.model_top1[: len(keep)], (own == targets)[keep])


def test_first_lockin_and_shares_equal_a_loop():
    rng = np.random.default_rng(1)
    hits = rng.random((400, 5)) < np.array([0.02, 0.05, 0.1, 0.2, 0.3])
    first = first_lockin(hits)
    for i in range(len(hits)):
        where = np.flatnonzero(hits[i])
        assert first[i] == (where[0] if len(where) else -1)
    shares, never = lockin_pct(hits)
    assert shares.sum() + never == pytest.approx(100.0)
    assert never == pytest.approx(100 * np.mean(~hits.any(1)))


def test_arc_uses_the_spec_index_conventions():
    logit = np.linspace(0, 36, 13)
    tuned = logit + np.r_[np.full(5, 6.0), np.full(8, 4.0)]
    out = arc(logit, tuned, ArcSpec())
    assert out["scaffold_gain_logit"] == pytest.approx((logit[6] - logit[1]) / 5)
    assert out["decision_gain_tuned"] == pytest.approx((tuned[9] - tuned[7]) / 2)
    assert out["early_boost_pp"] == pytest.approx(np.mean((tuned - logit)[1:5]))
    assert out["late_boost_pp"] == pytest.approx(np.mean((tuned - logit)[8:13]))
    assert ArcSpec.for_layers(12) == ArcSpec()


def test_kl_to_final_is_zero_for_identical_and_positive_otherwise():
    a = torch.randn(8, 50)
    assert kl_to_final(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert kl_to_final(a, torch.randn(8, 50)).item() > 0


def test_training_the_translators_lowers_the_kl(tiny, tmp_path):
    config = TunedLensConfig(steps=12, tokens_per_step=64, lr=1e-2, train_windows=2, window=128, init="identity")
    translators, losses = train_tuned_lens(tiny, CORPUS, config, cache=tmp_path, progress=False)
    assert losses[-1] < losses[0]
    cached, cached_losses = train_tuned_lens(tiny, CORPUS, config, cache=tmp_path, progress=False)
    assert cached_losses == losses
    for a, b in zip(translators.parameters(), cached.parameters(), strict=True):
        assert torch.equal(a, b)
    saved = next(tmp_path.glob("tuned-lens-*.pt"))
    assert not list(tmp_path.glob(".tmp-*")), "the translators are written atomically"
    saved.write_bytes(saved.read_bytes()[:100])  # a half-written file from a killed run
    with pytest.warns(UserWarning, match="retraining"):
        _, retrained = train_tuned_lens(tiny, CORPUS, config, cache=tmp_path, progress=False)
    assert retrained == losses


def test_settled_is_early_stopping_with_patience():
    config = TunedLensConfig(agree_tol=0.001, patience=2)
    assert not config.settled([0.5, 0.5])  # the start and one check: too few
    assert config.settled([0.5, 0.5004, 0.5009])  # two checks, neither beats 0.5 by more than 0.1 pp
    assert config.settled([0.54, 0.535, 0.539])  # worse than the start twice: stop
    assert not config.settled([0.5, 0.5004, 0.5011])  # the last check is an improvement
    assert not config.settled([0.35, 0.41, 0.44, 0.46, 0.47])  # still climbing (an identity start)
    assert TunedLensConfig(patience=3).settled([0.5, 0.5, 0.5]) is False
    with pytest.raises(ValueError, match="init"):
        TunedLensConfig(init="zeros")
    with pytest.raises(ValueError, match="patience"):
        TunedLensConfig(patience=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_least_squares_init_recovers_a_planted_affine_map(tiny, seed):
    """When the final state is an exact affine function of every earlier state, the initial lens is exact."""
    from darkness_visible.lens.lenses import least_squares_init

    gen = torch.Generator().manual_seed(seed)
    n_states, d = tiny.n_layers, tiny.hf.config.n_embd
    rows = 4 * (d + 1)
    final = torch.randn(rows, d, generator=gen)
    states = torch.empty(rows, n_states + 1, d)
    states[:, n_states] = final
    maps = []
    for s in range(n_states):  # h_s = (h_final - c_s) @ inv(M_s).T, so h_final = h_s @ M_s.T + c_s exactly
        m = torch.eye(d) + 0.5 * torch.randn(d, d, generator=gen) / d**0.5  # well conditioned
        c = torch.randn(d, generator=gen)
        states[:, s] = torch.linalg.solve(m, (final - c).T).T
        maps.append((m, c))
    translators = Translators(n_states, d)
    least_squares_init(translators, states)
    held = states[: rows // 2]
    with torch.no_grad():
        for s in range(n_states):
            assert torch.allclose(translators(held[:, s], s), held[:, n_states], atol=1e-3)
            m, c = maps[s]
            assert torch.allclose(translators.layers[s].weight + torch.eye(d), m, atol=1e-3)
            assert torch.allclose(translators.layers[s].bias, c, atol=1e-3)
    final_top = tiny.unembed(held[:, n_states]).argmax(-1)
    assert held_out_agreement(tiny, translators, held, final_top) == 1.0
    with pytest.raises(ValueError, match="final"):
        least_squares_init(translators, states[:, 1:])


def test_least_squares_init_is_unique_with_fewer_rows_than_dimensions(tiny):
    from darkness_visible.lens.lenses import least_squares_init

    n_states, d = tiny.n_layers, tiny.hf.config.n_embd
    states = torch.randn(d // 2, n_states + 1, d, generator=torch.Generator().manual_seed(3))
    translators = Translators(n_states, d)
    least_squares_init(translators, states)
    assert all(torch.isfinite(p).all() for p in translators.parameters())


def test_held_out_agreement_counts_top1_matches(tiny):
    n_states, d = tiny.n_layers, tiny.hf.config.n_embd
    held = torch.randn(40, n_states + 1, d)
    final_top = tiny.unembed(held[:, n_states]).argmax(-1)
    identity = Translators(n_states, d)  # zero-initialised: the logit lens
    logit = np.mean([(tiny.unembed(held[:, s]).argmax(-1) == final_top).float().mean() for s in range(n_states)])
    assert held_out_agreement(tiny, identity, held, final_top) == pytest.approx(float(logit))
    held_same = held.clone()
    held_same[:, :n_states] = held[:, n_states:n_states + 1]  # every state already is the final state
    assert held_out_agreement(tiny, identity, held_same, final_top) == 1.0


def test_training_stops_when_its_decisions_settle(tiny, tmp_path):
    # a learning rate of 0 never changes the lens: its held-out agreement is flat from the start, so
    # training stops at the second check after the start (patience 2), long before the step budget,
    # while the loss rule cannot fire
    config = TunedLensConfig(steps=400, tokens_per_step=16, lr=0.0, train_windows=2, window=128, check_every=5,
                             converge_window=1000)
    _, losses = train_tuned_lens(tiny, CORPUS, config, cache=tmp_path, progress=False)
    assert len(losses) == 10
    saved = torch.load(next(tmp_path.glob("tuned-lens-*.pt")), weights_only=True)
    assert len(saved["agreement"]) == 3 and len(set(saved["agreement"])) == 1


def test_the_least_squares_start_is_closer_to_the_model_than_the_identity(tiny, tmp_path):
    """On held-out positions the least-squares start agrees with the model at least as often as the logit lens."""
    kw = dict(steps=1, tokens_per_step=16, lr=0.0, train_windows=2, window=128)
    train_tuned_lens(tiny, CORPUS, TunedLensConfig(**kw, init="identity"), cache=tmp_path / "a", progress=False)
    train_tuned_lens(tiny, CORPUS, TunedLensConfig(**kw), cache=tmp_path / "b", progress=False)
    start = [torch.load(next((tmp_path / k).glob("tuned-lens-*.pt")), weights_only=True)["agreement"][0]
             for k in ("a", "b")]
    assert start[1] >= start[0]


@pytest.mark.real_weights
def test_logit_lens_on_gpt2_ends_at_the_model_and_improves_with_depth(gpt2):
    corpus = CorpusSpec("test", 1, 1024, "local")
    result = run_lens(gpt2, corpus, None, LensConfig(stride=4), cache=False, progress=False)
    pct = top1_pct(result.logit)
    stream = corpus_stream(gpt2, corpus)[0].astype(np.int64)
    with torch.inference_mode():
        own = gpt2.hf(torch.from_numpy(stream[:1024])[None]).logits[0].argmax(-1).numpy()
    keep = np.arange(0, 1023, 4)
    assert pct[-1] == pytest.approx(100 * np.mean((own == stream[1:1025])[keep]))
    assert pct[-1] > pct[1]  # the last block predicts better than the first (the paper: 39.0 % vs 3.0 %)


def _brute_hits(subject, h, targets):
    return subject.unembed(h).argmax(-1) == targets


@pytest.mark.parametrize("k", [1, 4, 16])
def test_pruned_top1_hits_equal_the_full_argmax(tiny, k):
    """Settling misses by candidate tokens never changes a hit: exact equality with the full product."""
    from darkness_visible.lens.lenses import top1_hits

    ids = _ids(tiny, 128)
    with torch.inference_mode():
        states = trace_states(tiny, ids)
        final = tiny.unembed(states[-1][0])
        cands = final.topk(k, dim=-1).indices
        gen = torch.Generator().manual_seed(0)
        # targets mixing the model's own predictions (hits) with random tokens (misses)
        targets = torch.where(torch.rand(128, generator=gen) < 0.5, final.argmax(-1),
                              torch.randint(0, final.shape[-1], (128,), generator=gen))
        for h in states:
            want = _brute_hits(tiny, h[0], targets)
            got = top1_hits(tiny, h[0], targets, cands)
            assert torch.equal(got, want)
            assert torch.equal(top1_hits(tiny, h[0], targets, None), want)
        assert bool(_brute_hits(tiny, states[-1][0], targets).any()), "the check must include hits"


def test_lens_hits_pruned_equal_brute_force_with_translators(tiny):
    ids = _ids(tiny, 96)
    translators = Translators(tiny.n_layers, tiny.hf.config.n_embd)
    with torch.no_grad():
        for layer in translators.layers:
            layer.weight.normal_(0, 0.05)
    with torch.inference_mode():
        states = [s[0] for s in trace_states(tiny, ids)]
        targets = torch.from_numpy(corpus_stream(tiny, CORPUS)[0][1:97].astype(np.int64))
        logit, tuned = lens_hits(tiny, states, targets, translators)
        want_logit = torch.stack([_brute_hits(tiny, h, targets) for h in states], -1)
        want_tuned = torch.stack([_brute_hits(tiny, translators(h, s), targets) for s, h in enumerate(states)], -1)
    assert torch.equal(logit, want_logit)
    assert torch.equal(tuned, want_tuned)


def test_package_translators_are_copied_exactly(tiny) -> None:
    import torch

    from darkness_visible.lens import lenses as L

    d = tiny.hf.config.n_embd
    theirs = [torch.nn.Linear(d, d) for _ in range(tiny.n_layers + 1)]  # what tuned-lens's layer_translators hold
    mine = L.translators_from_layers(theirs)
    h = torch.randn(5, d)
    for s, layer in enumerate(theirs):
        assert torch.allclose(mine(h, s), h + layer(h))
    assert torch.equal(mine(h, len(theirs)), h), "the final state is the identity"


def test_without_gpt2_the_published_lens_is_not_used(tiny) -> None:
    from darkness_visible.lens import lenses as L

    translators, why = L.published_translators(tiny)
    assert translators is None and why.startswith(L.OWN_LENS) and "not" in why
