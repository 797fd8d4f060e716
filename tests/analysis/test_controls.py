"""Null-model and threshold-sweep statistics against direct computations (tiny model, synthetic arrays)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jaccard as scipy_jaccard

from darkness_visible.analysis.controls import (
    SWEEP_THRESHOLDS,
    ControlSet,
    control_stats,
    controls_corpus,
    enrichment,
    model_stats,
    pairwise_jaccard,
    rate_by_level,
    robustness_claims,
    summarise_seeds,
    threshold_sweep,
)
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.report.controls import scorecard_rows
from darkness_visible.tracing.firing import FIRE_ABS, FiringRule
from darkness_visible.tracing.harvest import HarvestConfig, harvest

CORPUS = CorpusSpec("test", 4, 128, "local")


@pytest.fixture(scope="module")
def tiny_setup(tiny):
    subject = tiny
    probe = harvest(subject, CORPUS, HarvestConfig(rules=(FIRE_ABS,), record=(), tiers=(), variants=()),
                    cache=False, progress=False)
    order = np.argsort(-probe.mask(FIRE_ABS).mean(0), kind="stable")
    controls = ControlSet(exception=int(order[7]), core=tuple(int(n) for n in order[7:12]),
                          consensus=tuple(int(n) for n in order[:7]))
    rules = tuple(FiringRule(t) for t in SWEEP_THRESHOLDS)
    H = harvest(subject, CORPUS, HarvestConfig(rules=rules, record=controls.needed, tiers=(), variants=()),
                cache=False, progress=False)
    assert H.fires(controls.exception, FiringRule(0.1)).any()  # the sweep is not all-empty
    return controls, H


def _direct(H, rule, controls):
    """The sweep's statistics straight from the harvest's in-trace masks at that rule, with loops."""
    exc = H.fires(controls.exception, rule)
    core = H.fires(list(controls.core), rule)
    level = H.fires(list(controls.consensus), rule).sum(1)
    jac = [1 - scipy_jaccard(core[:, i], core[:, j]) if (core[:, i] | core[:, j]).any() else np.nan
           for i, j in itertools.combinations(range(core.shape[1]), 2)]
    at = {c: exc[level == c].mean() if (level == c).any() else np.nan for c in (0, 7)}
    finite = [j for j in jac if not np.isnan(j)]  # a pair that never fires has no Jaccard
    return {"exception_fire_rate": exc.mean(), "core_jaccard_mean": np.mean(finite) if finite else np.nan,
            "core_jaccard_min": np.min(finite) if finite else np.nan,
            "consensus_mean_fire_rate": H.fires(list(controls.consensus), rule).mean(),
            "exc_at_0_consensus": at[0], "exc_at_7_consensus": at[7]}


def test_threshold_sweep_equals_direct_computation(tiny_setup):
    controls, H = tiny_setup
    sweep = threshold_sweep(H, controls=controls)
    assert [r["threshold"] for r in sweep] == list(SWEEP_THRESHOLDS)
    for row in sweep:
        direct = _direct(H, FiringRule(row["threshold"]), controls)
        for key, value in direct.items():
            if np.isnan(value):
                assert np.isnan(row[key]), key
            else:
                assert row[key] == pytest.approx(value), (row["threshold"], key)
    rates = [r["exception_fire_rate"] for r in sweep]
    assert rates == sorted(rates, reverse=True) or np.allclose(rates, rates[0])  # FIRE-ABS(θ) shrinks with θ


def test_model_stats_enrichment_uses_every_neuron(tiny_setup):
    controls, H = tiny_setup
    out = model_stats(H, FiringRule(0.1), controls)
    mask = H.mask(FiringRule(0.1))
    exc = mask[:, controls.exception]
    assert exc.sum() > 100  # otherwise the paper's rule sets every enrichment to 1
    expected = []
    for n in range(mask.shape[1]):
        base = mask[:, n].mean()
        expected.append(mask[exc, n].mean() / base if base > 0.01 else 1.0)
    assert out["max_enrichment"] == pytest.approx(max(expected))
    assert out["n_enriched_1.5x"] == sum(e > 1.5 for e in expected)


def test_small_statistics_equal_references():
    rng = np.random.default_rng(3)
    fires = rng.random((300, 4)) < [0.2, 0.5, 0.7, 0.9]
    pj = pairwise_jaccard(fires)
    ref = [1 - scipy_jaccard(fires[:, i], fires[:, j]) for i, j in itertools.combinations(range(4), 2)]
    assert np.allclose(pj, ref)
    level = rng.integers(0, 3, 300)
    by = rate_by_level(fires[:, 0], level, 3)
    assert np.isnan(by[3]) and by[1] == pytest.approx(fires[level == 1, 0].mean())
    assert np.all(enrichment(fires[:, 0], fires, min_exc=1000) == 1.0)


def test_control_stats_keys_and_spread():
    rng = np.random.default_rng(4)
    acts = rng.normal(0, 0.5, (2000, 13)).astype(np.float32)
    controls = ControlSet(exception=0, core=(0, 1, 2, 3, 4), consensus=(5, 6, 7, 8, 9, 10, 11))
    out = control_stats(acts, tuple(range(13)), FIRE_ABS, controls)
    assert out["anticorrelation_spread"] == pytest.approx(out["exc_at_0_consensus"] - out["exc_at_7_consensus"]) \
        or np.isnan(out["anticorrelation_spread"])
    assert out["exception_fire_rate"] == pytest.approx(np.mean(np.abs(acts[:, 0]) > 0.1))


def test_summarise_seeds_equals_scipy():
    rows = [{"seed": s, "a": v, "b": np.nan if s == 2 else v * 2} for s, v in zip((1, 2, 3), (0.6, 0.65, 0.7),
                                                                                  strict=True)]
    out = summarise_seeds(rows)
    assert out["a"][0] == pytest.approx(0.65) and out["a"][1] == pytest.approx(stats.tstd([0.6, 0.65, 0.7]))
    assert out["b"][0] == pytest.approx(1.3)


def test_robustness_claims_and_rows():
    sweep = [{"threshold": t, "core_jaccard_mean": 0.5 + t / 10, "core_jaccard_min": 0.3,
              "anticorrelation_spread": np.nan if t == 0.01 else 0.2, "exception_fire_rate": 0.5,
              "consensus_mean_fire_rate": 0.6, "exc_at_0_consensus": np.nan, "exc_at_7_consensus": 0.5}
             for t in SWEEP_THRESHOLDS]
    claims = robustness_claims(sweep)
    assert claims["n_null_spread"] == 1 and not claims["spread_claim_holds"] and claims["jaccard_claim_holds"]
    rows = scorecard_rows({"exception_fire_rate": 0.7}, {"exception_fire_rate": (0.6, 0.01)}, sweep, "x", False)
    assert all(r.verdict in ("other model", "not run", "no paper number") for r in rows)
    assert controls_corpus(CorpusSpec("test", 200, 1024, "local")).n_tokens == 195 * 256


def test_null_model_statistics_are_cached_per_seed(tmp_path, monkeypatch):
    import darkness_visible.analysis.controls as module

    corpus = CorpusSpec("test", 1, 32, "local")
    config = module.NullModelConfig(seeds=(1, 2))
    first = module.null_model(corpus, config, progress=False, cache=tmp_path)
    assert [r["seed"] for r in first] == [1, 2] and first[0] != first[1]
    assert len(list(tmp_path.glob("null-*.json"))) == 2

    def refuse(*args, **kwargs):
        raise AssertionError("cached seeds must not build their random models again")

    monkeypatch.setattr(module, "load_model", refuse)
    assert module.null_model(corpus, config, progress=False, cache=tmp_path) == first
    monkeypatch.undo()
    alone = module.null_model(corpus, module.NullModelConfig(seeds=(2,)), progress=False, cache=False)
    assert alone[0].keys() == first[1].keys()
    for key, value in alone[0].items():
        assert value == pytest.approx(first[1][key], nan_ok=True)


def _gpt2_rows(corpus, **kw):
    """The controls' rows as GPT-2 Small at the paper's size would stamp them."""
    from darkness_visible.config.sizes import PRESETS
    from darkness_visible.models.loading import ModelSpec
    from darkness_visible.report.results import stamp

    sweep = [{"threshold": t, "core_jaccard_mean": 0.86, "core_jaccard_min": 0.68, "anticorrelation_spread": 0.32,
              "exception_fire_rate": 0.6878, "consensus_mean_fire_rate": 0.8573, "exc_at_0_consensus": 0.98,
              "exc_at_7_consensus": 0.65} for t in SWEEP_THRESHOLDS]
    trained = {"exception_fire_rate": 0.6878, "core_jaccard_mean": 0.8615}
    rows = scorecard_rows(trained, {"exception_fire_rate": (0.6456, 0.01)}, sweep, "gpt2", True, corpus=corpus, **kw)
    return stamp(rows, ModelSpec.parse("openai-community/gpt2"), PRESETS["paper"], CorpusSpec())


def test_e11_e12_on_the_offline_fallback_are_not_comparable(monkeypatch):
    """Issue 25: offline, the controls read 195 x 256 windows of the test split instead of DS-B; every E11 and
    E12 row then says "not comparable" and why (the rule E13 uses, :func:`dsb_comparison`)."""
    from darkness_visible.analysis import controls
    from darkness_visible.analysis.tiers import enrichment_comparison

    monkeypatch.setattr(controls, "hub_corpus_available", lambda source: False)
    fallback = controls_corpus(CorpusSpec("test", 200, 1024, "local"), 195)
    assert fallback.construction == "DS-A" and fallback.n_tokens == 195 * 256
    rows = [r for r in _gpt2_rows(fallback) if r.claim.startswith(("E11.", "E12."))]
    compared = [r for r in rows if r.verdict not in ("not run", "no paper number")]
    assert len(compared) > 30 and {r.verdict for r in compared} == {"not comparable"}
    assert all(r.comparison.startswith("different corpus") and "vs DS-B" in r.comparison for r in rows)
    assert rows[0].comparison == enrichment_comparison(dict(vars(fallback), describe=fallback.describe())), \
        "E11-E13 share one rule"


def test_e11_e12_on_ds_b_get_a_verdict_and_a_missing_corpus_does_not():
    dsb = CorpusSpec("train", 195, 256, "hub", construction="DS-B")
    rows = {r.claim: r for r in _gpt2_rows(dsb)}
    assert rows["E11.trained.exception_fire_rate"].verdict == "replicated"
    assert rows["E12.theta0.1.exception_fire_rate"].verdict == "replicated"
    small = {r.claim: r for r in _gpt2_rows(CorpusSpec("train", 8, 256, "hub", construction="DS-B"))}
    assert small["E11.trained.exception_fire_rate"].verdict == "not comparable", "8 x 256 is not DS-B"
    unknown = {r.claim: r for r in _gpt2_rows(None)}
    assert unknown["E11.trained.exception_fire_rate"].verdict == "not comparable"


def test_the_text_s_11_3_percent_is_not_compared_on_ds_b():
    """Issue 25: the paper's "11.3 % trained" is the predecessor's FIRE-POS rate on 500K train tokens."""
    dsb = CorpusSpec("train", 195, 256, "hub", construction="DS-B")
    row = {r.claim: r for r in _gpt2_rows(dsb, trained_pos_rate=0.113)}["E11.text.trained_exception_pos"]
    assert row.verdict == "not comparable" and "predecessor" in row.comparison
