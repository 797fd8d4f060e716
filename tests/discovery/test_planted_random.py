"""Randomised planted handlers: the draws respect their ranges, the built models carry the drawn structure,
and the discovery recovers them at the rate the chapter states; on random weights it says "no handler"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkness_visible.discovery.discover import DiscoverConfig, discover, score_roles
from darkness_visible.discovery.planted_random import (
    GPT2_SMALL_SHAPE,
    ISSUE_RANGES,
    SMALL_SHAPES,
    PlantRanges,
    build_random_planted,
    draw_plant,
    failure_rate,
    planted_masks,
    recovery_suite,
    token_class,
)

#: Seeds of the suite the tests run (never used while the procedure was designed).
SUITE_SEEDS = range(1000, 1020)
#: Largest share of failed seeds the suite may have; the chapter reports the measured rate.
MAX_FAILURE_RATE = 0.2


def test_draws_are_reproducible_and_inside_their_ranges() -> None:
    r = PlantRanges()
    for seed in range(60):
        d = draw_plant(seed)
        assert d == draw_plant(seed)
        assert d.shape in SMALL_SHAPES and 0 <= d.layer < d.shape.n_layers
        assert r.exception_rate[0] <= d.exception_rate <= r.exception_rate[1]
        assert all(r.core_cond[0] <= c <= r.core_cond[1] for c in d.core_cond)
        assert all(r.core_spread[0] <= c <= r.core_spread[1] for c in d.core_spread)
        assert r.n_core[0] <= 1 + d.alike + len(d.core_cond) <= r.n_core[1]
        assert all(r.diff_group_size[0] <= len(g) <= r.diff_group_size[1] for g in d.diff_groups)
        assert all(r.tier_cond[0] <= c <= r.tier_cond[1] for g in d.diff_groups for c in g)
        assert all(r.tier_cond[0] <= c <= r.tier_cond[1] for c in d.spec_cond)
        assert r.gain[0] <= d.gain <= r.gain[1] and r.n_consensus[0] <= len(d.consensus) <= r.n_consensus[1]
    mechanisms = {draw_plant(s).mechanism for s in range(60)}
    assert mechanisms == {"direction", "token_class"}
    # fixing the shape changes nothing else that was drawn
    fixed = draw_plant(3, shape=GPT2_SMALL_SHAPE, layer=-1)
    assert fixed.shape == GPT2_SMALL_SHAPE and fixed.layer == 11
    assert fixed.core_cond == draw_plant(3).core_cond and fixed.mechanism == draw_plant(3).mechanism


def test_token_class_covers_about_the_rate() -> None:
    rng = np.random.default_rng(0)
    ids = rng.zipf(1.3, 20_000) % 5000
    types, share = token_class(ids, 0.1, rng)
    assert 0.097 <= share <= 0.1
    assert share == pytest.approx(np.isin(ids, types).mean())


@pytest.mark.parametrize("mechanism", ["direction", "token_class"])
def test_built_model_carries_the_drawn_structure(mechanism: str) -> None:
    planted = build_random_planted(5, mechanism=mechanism)
    key, draw, m = planted.key, planted.draw, planted.measured
    roles = [key.core, key.differentiators, key.specialists, key.consensus]
    everyone = [n for r in roles for n in r]
    assert len(set(everyone)) == len(everyone) and all(0 <= n < draw.shape.d_mlp for n in everyone)
    assert key.core[0] == key.indicator and set(key.indicators) <= set(key.core)
    assert len(key.indicators) == 1 + draw.alike
    cond = {n: v["cond"] for n, v in m["neurons"].items()}
    rate = {n: v["rate"] for n, v in m["neurons"].items()}
    # on the calibration tokens the design rates hold (quantile thresholds: to a token or two)
    assert all(cond[n] >= 0.95 - 1e-3 for n in key.core)
    for n, c in zip(key.core[len(key.indicators):], draw.core_cond, strict=True):
        assert cond[n] == pytest.approx(c, abs=0.02)
    for n, c in zip(key.specialists, draw.spec_cond, strict=True):
        assert cond[n] == pytest.approx(c, abs=0.02)
    flat = [c for g in draw.diff_groups for c in g]
    for n, c in zip(key.differentiators, flat, strict=True):
        assert cond[n] == pytest.approx(c, abs=0.02)
    for n, spread in zip(key.core[len(key.indicators):], draw.core_spread, strict=True):
        assert rate[n] > rate[key.indicator] * 1.1 and rate[n] <= rate[key.indicator] * spread * 1.1 + 0.01
    # consensus: default-ON under |GELU| and silenced on the exception path
    for n, (target, _) in zip(key.consensus, draw.consensus, strict=True):
        assert rate[n] >= target - 0.01 and cond[n] < rate[n] - 0.1
    # on the discovery tokens (other windows, the real harvest) the copy fires exactly like the indicator
    pos, ab, win = planted_masks(planted)
    assert pos.shape == (4096, draw.shape.d_mlp) and win.max() == 4096 // draw.shape.n_ctx - 1
    for n in key.indicators:
        assert np.array_equal(pos[:, n], pos[:, key.indicator])
    assert 0.02 < pos[:, key.indicator].mean() < 0.3
    if mechanism == "token_class":
        assert m["class_types"] > 0 and m["class_share"] <= draw.exception_rate


@pytest.fixture(scope="module")
def suite():
    return recovery_suite(SUITE_SEEDS, config=DiscoverConfig(n_boot=10))


def test_suite_recovers_the_planted_handler_at_the_stated_rate(suite) -> None:
    assert len(suite) == len(SUITE_SEEDS) and set(suite.mechanism) == {"direction", "token_class"}
    rate = failure_rate(suite)
    failed = suite.loc[~suite.passed, ["seed", "mechanism", "indicator", "core_precision", "core_recall"]]
    assert rate <= MAX_FAILURE_RATE, f"failure rate {rate:.0%}:\n{failed}"
    assert rate == pytest.approx(1 - ((suite.indicator_ok) & (suite.core_precision >= 0.9)
                                      & (suite.core_recall >= 0.9)).mean())


def test_suite_never_names_a_background_neuron(suite) -> None:
    """Whatever the indicator, it and its Core are planted neurons, and the consensus group is the planted one."""
    assert suite.found.all()
    assert (suite.handler_precision >= 0.9).all()
    assert (suite.consensus_precision.fillna(1.0) >= 0.9).all()
    assert suite.handler_recall.mean() >= 0.9


@pytest.mark.slow
def test_wider_sweep_and_both_mechanisms() -> None:
    table = recovery_suite(range(1020, 1060), config=DiscoverConfig(n_boot=10))
    assert failure_rate(table) <= MAX_FAILURE_RATE
    for mechanism, part in table.groupby("mechanism"):
        assert failure_rate(part) <= 0.3, mechanism


@pytest.mark.slow
def test_the_issue_construction_on_gpt2_small_shape() -> None:
    """The issue's handler: GPT-2 Small's shape, last layer, indicator on 11 %, Core >= 0.95, tiers to 0.88,
    seven consensus neurons near 0.9 (|GELU|), on 4,096 tokens."""
    planted = build_random_planted(16, ISSUE_RANGES, shape=GPT2_SMALL_SHAPE, layer=-1, mechanism="direction")
    pos, ab, win = planted_masks(planted)
    assert pos.shape == (4096, 3072) and len(planted.key.consensus) == 7
    assert 0.05 < pos[:, planted.key.indicator].mean() < 0.25  # designed at 11 % on the calibration windows
    found = discover(pos, ab, win, DiscoverConfig(n_boot=20))
    score = score_roles(found, planted.key).set_index("role")
    assert score.loc["indicator", "hits"] == 1
    assert score.loc["core", "precision"] >= 0.9 and score.loc["core", "recall"] >= 0.9
    assert score.loc["consensus", "recall"] >= 0.9


@pytest.mark.slow
def test_random_standin_has_no_handler() -> None:
    """The negative control: GPT-2 Small's shape with random weights, last layer, 4,096 tokens."""
    from darkness_visible.data.corpus import CorpusSpec
    from darkness_visible.discovery.depth import discover_layer

    run = discover_layer("standin", CorpusSpec("test", 4, 1024, "local"), config=DiscoverConfig(n_boot=10),
                         cache=False)
    assert run.layer == 11 and not run.is_pretrained
    assert run.report.indicator is None and run.to_json()["indicator"] is None


def test_the_suite_is_cached_per_seed_and_by_its_settings(tmp_path, monkeypatch):
    import darkness_visible.discovery.planted_random as pr

    config = DiscoverConfig(n_boot=10)
    fresh = recovery_suite([3, 4], config=config, cache=tmp_path)
    assert len(list(tmp_path.glob("planted-*.json"))) == 2

    def refuse(*args, **kwargs):
        raise AssertionError("a planted model was built although the cache holds its row")

    monkeypatch.setattr(pr, "recover", refuse)
    warm = recovery_suite([4, 3], config=config, cache=tmp_path)  # order and subset do not matter
    pd.testing.assert_frame_equal(warm.iloc[::-1].reset_index(drop=True), fresh)
    for changed in ({"config": DiscoverConfig(n_boot=11)}, {"n_tokens": 2048}, {"mechanism": "token_class"}):
        with pytest.raises(AssertionError, match="cache holds"):
            recovery_suite([3], cache=tmp_path, **{"config": config, **changed})
    with pytest.raises(AssertionError, match="cache holds"):
        recovery_suite([5], config=config, cache=tmp_path)
