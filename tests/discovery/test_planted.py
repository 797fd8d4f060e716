"""The planted handler: the requested structure is really in the weights, at any layer and depth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.discovery.planted import PlantConfig, build_planted, gelu_inverse, planted_harvest_config
from darkness_visible.tracing.firing import FIRE_POS, gelu_new
from darkness_visible.tracing.harvest import harvest


@pytest.fixture(scope="module")
def planted_last():
    return build_planted(PlantConfig(calibration_windows=8))


@pytest.fixture(scope="module")
def planted_middle():
    return build_planted(PlantConfig(n_layers=3, layer=1, calibration_windows=8, seed=3))


def test_gelu_inverse_matches_the_spec_table() -> None:
    assert gelu_inverse(0.1) == pytest.approx(0.17554, abs=1e-5)
    assert gelu_inverse(1.0) == pytest.approx(1.14463, abs=1e-5)
    x = gelu_inverse(0.37)
    assert float(gelu_new(np.float64(x))) == pytest.approx(0.37, abs=1e-10)


@pytest.mark.parametrize("which", ["planted_last", "planted_middle"])
def test_planted_rates_are_the_requested_ones(which: str, request) -> None:
    planted = request.getfixturevalue(which)
    cfg, truth = planted.config, planted.truth
    m = truth.measured[FIRE_POS.name]
    assert m["exception_rate"] == pytest.approx(cfg.exception_rate, abs=0.005)
    for n in truth.core:
        assert m["cond"][n] == 1.0
    for n, r in zip(truth.differentiators, cfg.diff_rates, strict=True):
        assert m["cond"][n] == pytest.approx(r, abs=0.02)
    for n, r in zip(truth.specialists, cfg.spec_rates, strict=True):
        assert m["cond"][n] == pytest.approx(r, abs=0.02)
    assert truth.core[0] == truth.indicator
    assert len(set(truth.handler)) == len(truth.handler)
    assert all(0 <= n < cfg.d_mlp for n in truth.handler)
    assert "NOT GPT-2" in planted.subject.spec.describe()


def test_harvest_of_the_planted_model_sees_the_planted_rates(planted_middle) -> None:
    """The rates measured by the real nnsight harvest on the calibration windows equal the ground truth's."""
    truth = planted_middle.truth
    H = harvest(planted_middle.subject, CorpusSpec("test", 8, 128, "local"), planted_harvest_config(planted_middle),
                cache=False, progress=False)
    assert H.meta["layer"] == truth.layer == 1
    fires = H.fires(list(truth.handler), FIRE_POS)
    e = fires[:, 0]
    m = truth.measured[FIRE_POS.name]
    assert e.mean() == pytest.approx(m["exception_rate"], abs=1e-9)
    for j, n in enumerate(truth.handler):
        assert fires[e, j].mean() == pytest.approx(m["cond"][n], abs=1e-9)


def test_background_neurons_are_not_planted(planted_last) -> None:
    """Unplanted neurons carry no linear trace of the planted directions (in the input-covariance metric)."""
    mlp = planted_last.subject.hf.transformer.h[planted_last.truth.layer].mlp
    w = mlp.c_fc.weight.detach().double()
    planted = set(planted_last.truth.handler)
    background = [n for n in range(w.shape[1]) if n not in planted]
    dirs = torch.from_numpy(planted_last.truth.directions)
    overlap = (dirs @ w[:, background]).abs().max()
    planted_overlap = (dirs[0] @ w[:, planted_last.truth.indicator]).abs()
    assert overlap < 0.1 * planted_overlap


def test_building_is_deterministic_and_validates() -> None:
    a = build_planted(PlantConfig(calibration_windows=2, seed=5))
    b = build_planted(PlantConfig(calibration_windows=2, seed=5))
    assert a.truth.tiers == b.truth.tiers
    assert torch.equal(a.subject.hf.transformer.h[1].mlp.c_fc.weight, b.subject.hf.transformer.h[1].mlp.c_fc.weight)
    with pytest.raises(ValueError, match="rates"):
        build_planted(PlantConfig(calibration_windows=2, diff_rates=(1.5,)))
    with pytest.raises(IndexError):
        build_planted(PlantConfig(calibration_windows=2, layer=5))
