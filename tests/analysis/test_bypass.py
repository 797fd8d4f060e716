"""E17: the HOLDS gate is CONS-POS >= 6/7, and the bypassed perplexity is exact on planted log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from darkness_visible.analysis import bypass
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.report import bypass as bypass_report
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, pack
from darkness_visible.tracing.harvest import Harvest

WINDOW, N_WINDOWS = 64, 30


def planted(split: str = "test", seed: int = 0) -> tuple[Harvest, np.ndarray, np.ndarray]:
    """Planted CONS-POS levels (and CONS-ABS = CONS-POS + 1 where possible), log p = -1 full, -2 without the MLP."""
    rng = np.random.default_rng(seed)
    n = WINDOW * N_WINDOWS
    level_pos = rng.integers(0, 8, n)
    level_abs = np.minimum(level_pos + rng.integers(0, 2, n), 7)
    pos, ab = np.zeros((n, 3072), bool), np.zeros((n, 3072), bool)
    cols = np.array(CONSENSUS)
    for i in range(n):
        pos[i, cols[: level_pos[i]]] = True
        ab[i, cols[: level_abs[i]]] = True
    pos[:, EXCEPTION_NEURON] = level_pos == 0
    ab[:, EXCEPTION_NEURON] = True
    arrays = {f"mask/{FIRE_POS.name}": pack(pos), f"mask/{FIRE_ABS.name}": pack(ab),
              "logprob/full": np.full(n, -1.0, np.float32), "logprob/no_mlp": np.full(n, -2.0, np.float32),
              "input_ids": np.zeros(n, np.int32)}
    meta = {"model": {"describe": "planted", "is_pretrained": False},
            "corpus": {"describe": f"planted {split}", "window": WINDOW, "split": split}, "d_mlp": 3072,
            "config": {"record": []}}
    return Harvest(meta, arrays), level_pos, level_abs


def test_holds_is_six_of_seven_signed():
    H, level_pos, _ = planted()
    assert np.array_equal(bypass.holds(H), level_pos >= 6)
    assert 7 * bypass.HOLDS_FRACTION < 6 <= 7, "0.85 of 7 is 5.95: six neurons are enough, five are not"


def test_bypassed_perplexity_is_exact():
    H, level_pos, level_abs = planted()
    table = bypass.bypass_table(H, n_boot=200).set_index("gate")
    scored = H.within_window
    for gate, planted_gate in ((table.index[0], level_pos >= 6), (table.index[1], level_pos == 7),
                               (table.index[2], level_abs == 7)):
        share = planted_gate[scored].mean()
        row = table.loc[gate]
        assert row.bypassed_pct == pytest.approx(100 * share)
        assert row.ppl_base == pytest.approx(np.e)
        assert row.delta_pct == pytest.approx(100 * (np.exp(share) - 1), rel=1e-6)
        assert row.ci_low <= row.delta_pct <= row.ci_high
    assert (table.n_scored == N_WINDOWS * (WINDOW - 1)).all(), "the harness scores 1,023 of 1,024 positions"


def test_rows_say_what_the_numbers_measure():
    H, *_ = planted("test")
    rows = {r.claim: r for r in bypass_report.scorecard_rows(H, bypass.bypass_table(H, n_boot=100))}
    assert rows["E17.bypass_L11.ppl_delta"].paper == 6.9 and rows["E17.bypass_L11.bypassed"].paper == 55.5
    assert "different corpus" in rows["E17.bypass_L11.ppl_delta"].comparison
    assert "HOLDS" in rows["E17.text.abs7_ppl_delta"].comparison
    suite_claims = {c for c in rows if c.startswith(("E17.bypass_L7", "E17.bypass_L0", "E17.linear", "E17.layer"))}
    assert {"E17.bypass_L7_L11.ppl_delta", "E17.bypass_L7_L11.ppl", "E17.bypass_L0_L7_L11.ppl", "E17.linear_L11.ppl",
            "E17.linear_L10.ppl"} <= suite_claims
    assert {f"E17.layer{L}.{k}" for L in bypass.PAPER_SINGLE_LAYER for k in ("ppl", "ppl_delta", "bypassed")
            } <= suite_claims
    assert all(rows[c].verdict == "not run" and "not computed" in rows[c].note for c in suite_claims)
    assert all(r.value is not None for c, r in rows.items() if c not in suite_claims)
    why = "not applicable: planted"
    assert all(r.note == why for r in bypass_report.suite_rows(H, None, not_applicable=why))


def test_only_the_harness_corpus_is_comparable():
    """DS-C as the harness reads it (200 train windows of 1,024) is comparable; the test split, a train slice of
    another size or window is not."""
    def corpus(split, n, window):
        return Harvest({"corpus": {"split": split, "n_windows": n, "window": window, "describe": "x"}}, {})

    assert bypass.harness_comparison(corpus("train", 200, 1024)) == ""
    for other in (corpus("test", 200, 1024), corpus("train", 4, 1024), corpus("train", 200, 256),
                  corpus("train", 500, 1024)):
        assert bypass.harness_comparison(other).startswith("different corpus")


# -- the traced bypass passes (tiny model: 2 blocks of 256 neurons) ------------------------------------------------

def _tiny_harvest(tiny, tiny_corpus):
    from darkness_visible.tracing.harvest import HarvestConfig, Variant, harvest

    config = HarvestConfig(record=(), tiers=(), variants=(Variant("no_mlp", whole_mlp=True),))
    return harvest(tiny, tiny_corpus, config, cache=False, progress=False)


def _busy_neurons(H, k=3):
    """The ``k`` neurons of the harvest's layer firing (GELU > 0.1) nearest half the time: a gate that varies."""
    rates = H.mask(FIRE_POS).mean(0)
    return tuple(int(n) for n in np.argsort(np.abs(rates - 0.5))[:k])


def test_quorum_matches_the_fraction():
    assert [bypass.quorum(k) for k in (1, 2, 3, 7, 20)] == [1, 2, 3, 6, 17]
    for k in range(1, 30):
        q = bypass.quorum(k)
        assert q / k >= bypass.HOLDS_FRACTION and (q == 0 or (q - 1) / k < bypass.HOLDS_FRACTION)


def test_last_layer_pass_equals_the_harvest(tiny, tiny_corpus):
    """Zeroing the last MLP where HOLDS in a traced pass gives exactly the harvest's gated no_mlp/full mix."""
    H = _tiny_harvest(tiny, tiny_corpus)
    neurons = _busy_neurons(H)
    last = tiny.n_layers - 1
    plan = (bypass.LayerBypass(last, neurons),)
    res = bypass.bypass_logprob(tiny, H["input_ids"], H["target"], plan, tiny_corpus.window)
    gate = bypass.holds(H, neurons)
    assert 0 < gate.mean() < 1, "the planted gate must vary"
    assert np.array_equal(res["gates"][0], gate)
    expected = np.where(gate, H.logprob("no_mlp"), H.logprob("full"))
    np.testing.assert_allclose(res["logprob"], expected, atol=2e-5)


def test_an_earlier_layer_changes_only_the_future(tiny, tiny_corpus):
    """Bypassing an earlier layer leaves every position before a window's first gated one unchanged (causal
    attention) and changes what follows it."""
    H = _tiny_harvest(tiny, tiny_corpus)
    neurons = _busy_neurons(H)
    res = bypass.bypass_logprob(tiny, H["input_ids"], H["target"], (bypass.LayerBypass(0, neurons),),
                                tiny_corpus.window)
    gate = res["gates"][0].reshape(-1, tiny_corpus.window)
    lp = res["logprob"].reshape(-1, tiny_corpus.window)
    full = H.logprob("full").reshape(-1, tiny_corpus.window)
    assert gate.any() and not gate.all()
    for w in range(gate.shape[0]):
        first = int(np.argmax(gate[w])) if gate[w].any() else tiny_corpus.window
        np.testing.assert_allclose(lp[w, :first], full[w, :first], atol=2e-5)  # causal: nothing changed before
        if first < tiny_corpus.window:
            assert not np.allclose(lp[w, first:], full[w, first:], atol=1e-6)


def test_linear_bypass_is_gelu_replaced_by_identity(tiny, tiny_corpus):
    """The linear bypass at every position equals the HF model with its MLP's GELU swapped for the identity."""
    H = _tiny_harvest(tiny, tiny_corpus)
    last = tiny.n_layers - 1
    res = bypass.bypass_logprob(tiny, H["input_ids"], H["target"],
                                (bypass.LayerBypass(last, replace="linear", where="all"),), tiny_corpus.window)
    assert res["gates"][0].all()
    mlp = tiny.hf.transformer.h[last].mlp
    original = mlp.act
    mlp.act = torch.nn.Identity()
    try:
        ids = torch.from_numpy(H["input_ids"].astype(np.int64)).reshape(-1, tiny_corpus.window)
        with torch.inference_mode():
            logits = tiny.hf(ids).logits
    finally:
        mlp.act = original
    lp = logits.log_softmax(-1).gather(-1, torch.from_numpy(H["target"].astype(np.int64)).reshape(ids.shape)[..., None])
    np.testing.assert_allclose(res["logprob"], lp.reshape(-1).numpy(), atol=1e-4)


def test_paper_plan_refuses_another_shape(tiny):
    assert "not applicable" in bypass.applies(tiny)
    with pytest.raises(ValueError, match="not applicable"):
        bypass.paper_plan(tiny, (7, 11))


def test_transparent_mode_is_the_standard_model(tiny, tiny_corpus):
    """Rebuilding the last MLP tier by tier (plus the rest and b_out) leaves the log-probabilities as they were;
    the routing shares are exactly the HOLDS and FIRE-POS means."""
    H = _tiny_harvest(tiny, tiny_corpus)
    neurons = _busy_neurons(H, 5)
    tiers = {"a": neurons[:2], "b": neurons[2:], "empty": ()}
    out = bypass.transparent_table(tiny, H, tiny.n_layers - 1, tiers, neurons[:3], neurons[0])
    assert out["max_abs_logprob_diff"] < 1e-4
    assert out["delta_pct"] == pytest.approx(0.0, abs=1e-3)
    assert out["ppl_standard"] == pytest.approx(np.exp(-H.logprob("full")[H.within_window].astype(float).mean()))
    assert out["consensus_pct"] == pytest.approx(100 * bypass.holds(H, neurons[:3]).mean())
    assert out["exception_pct"] == pytest.approx(100 * H.fires(neurons[0], FIRE_POS).mean())
    rows = {r.claim: r for r in bypass_report.transparent_rows(H, out)}
    assert rows["E0.transparent.ppl_delta"].tolerance == pytest.approx(0.005), "+0.00 % is printed to two decimals"
    assert all("different corpus" in r.comparison for r in rows.values())


def test_decomposition_rebuilds_the_mlp_output(tiny):
    """``decomposed`` of the traced activations equals the traced MLP output; overlapping parts are refused."""
    last = tiny.n_layers - 1
    ids = torch.arange(100, 140)[None]
    with torch.inference_mode(), tiny.model.trace(ids):
        act = tiny.model.transformer.h[last].mlp.act.output.save()
        out = tiny.model.transformer.h[last].mlp.output.save()
    step = bypass.LayerBypass(last, replace="transparent", where="all", parts=((0, 5, 9), (1, 2)))
    torch.testing.assert_close(bypass.decomposed(tiny, act, step), out, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="overlap"):
        bypass.decomposed(tiny, act, bypass.LayerBypass(last, replace="transparent", where="all", parts=((0, 1), (1,))))
