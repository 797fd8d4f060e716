"""Discovery from co-firing alone: exact recovery of planted handlers; statistics equal scipy's / direct loops."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.discovery.legacy import (
    DiscoveryConfig,
    cross_layer_auto,
    discover_handler,
    most_specific,
    point_biserial,
    recovery_table,
    subsample_rows,
)
from darkness_visible.discovery.planted import PlantConfig, build_planted, planted_harvest_config
from darkness_visible.stats.cofiring import fisher_greater, jaccard_matrix
from darkness_visible.tracing.firing import FIRE_POS
from darkness_visible.tracing.harvest import harvest


@pytest.mark.parametrize(("n_layers", "layer", "seed"), [(2, 1, 0), (4, 2, 2)])
def test_discovery_recovers_exactly_the_planted_handler(n_layers: int, layer: int, seed: int) -> None:
    planted = build_planted(PlantConfig(n_layers=n_layers, layer=layer, calibration_windows=6, seed=seed))
    H = harvest(planted.subject, CorpusSpec("test", 6, 128, "local"), planted_harvest_config(planted),
                cache=False, progress=False)
    found = discover_handler(H.mask(FIRE_POS))
    truth = planted.truth
    assert found.indicator == truth.indicator
    assert set(found.core) == set(truth.core)
    assert set(found.differentiators) == set(truth.differentiators)
    assert set(found.specialists) == set(truth.specialists)
    table = recovery_table(found.tiers, truth.tiers).set_index("tier")
    assert table.loc["all", "found_same_tier"] == len(truth.handler)
    assert table.loc["all", "extra"] == 0
    # the specialists have private directions: none of them shares a co-firing group with another
    for group in found.groups:
        assert len(set(group) & set(truth.specialists)) <= 1


def test_discovery_finds_nothing_in_independent_noise() -> None:
    rng = np.random.default_rng(0)
    noise = rng.random((3000, 60)) < rng.uniform(0.05, 0.4, 60)
    with pytest.raises(ValueError, match="no neuron"):
        discover_handler(noise)


def test_given_indicator_tiers_follow_conditional_rates() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    e = rng.random(n) < 0.1
    cols = [e]
    for p_in in (0.97, 0.6, 0.2):  # core, differentiator, specialist
        cols.append(np.where(e, rng.random(n) < p_in, rng.random(n) < 0.01))
    cols += [rng.random(n) < 0.3 for _ in range(10)]
    B = np.stack(cols, 1)
    found = discover_handler(B, DiscoveryConfig(), indicator=0)
    assert found.core == (0, 1) and found.differentiators == (2,) and found.specialists == (3,)
    row = found.members.set_index("neuron").loc[2]
    assert row.cond_rate == pytest.approx(B[e, 2].mean())
    assert row.enrichment == pytest.approx(B[e, 2].mean() / B[:, 2].mean())


def test_pairwise_fisher_equals_scipy_fisher_exact() -> None:
    rng = np.random.default_rng(1)
    for _ in range(25):
        n = int(rng.integers(20, 300))
        row, col = int(rng.integers(1, n)), int(rng.integers(1, n))
        joint = int(rng.integers(max(0, row + col - n), min(row, col) + 1))
        table = [[joint, row - joint], [col - joint, n - row - col + joint]]
        want = st.fisher_exact(table, alternative="greater")[1]
        assert fisher_greater(np.array(joint), row, col, n) == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_point_biserial_equals_pearsonr() -> None:
    rng = np.random.default_rng(2)
    B = rng.random((500, 8)) < rng.uniform(0.1, 0.9, 8)
    y = rng.integers(0, 8, 500)
    got = point_biserial(B, y)
    for j in range(8):
        assert got[j] == pytest.approx(st.pearsonr(B[:, j].astype(float), y)[0], abs=1e-12)
    B[:, 3] = True
    assert np.isnan(point_biserial(B, y)[3])


def test_jaccard_matrix_equals_direct_sets() -> None:
    rng = np.random.default_rng(4)
    B = rng.random((200, 5)) < 0.3
    J = jaccard_matrix(B)
    for i in range(5):
        for j in range(5):
            a, b = set(np.flatnonzero(B[:, i])), set(np.flatnonzero(B[:, j]))
            assert J[i, j] == pytest.approx(len(a & b) / len(a | b))
    B[:, 2] = False
    assert np.isnan(jaccard_matrix(B)[2, 2])


def test_most_specific_is_the_nested_innermost() -> None:
    rng = np.random.default_rng(5)
    s = rng.normal(size=1000)
    B = np.stack([s > 0.5, s > 1.2, s > 0.9, s > 0.0], 1)
    assert most_specific(B, [0, 1, 2, 3]) == 1


def _direct_cross_layer(B: np.ndarray) -> dict:
    """The E10 steps written as plain loops, for comparison."""
    N, F = B.shape
    rates = B.mean(0)
    order = np.argsort(rates, kind="stable")
    cons = order[-7:]
    count = B[:, cons].sum(1)
    best, best_c = 0, 0.0
    for n in range(F):
        if 0.02 < rates[n] < 0.98:
            c = st.pearsonr(B[:, n].astype(float), count)[0]
            if c < best_c:
                best, best_c = n, c
    cands = [n for n in order[-200:] if n != best]
    jac = []
    enr = 1.0
    e = B[:, best]
    for n in cands:
        inter = np.sum(e & B[:, n])
        jac.append(inter / np.sum(e | B[:, n]))
        if e.sum() > 10 and 0.01 < rates[n] < 0.99:
            enr = max(enr, (inter / e.sum()) / rates[n])
    r0 = e[count == 0].mean() if (count == 0).any() else 0.0
    r7 = e[count == 7].mean() if (count == 7).any() else 0.0
    return {"exc": best, "corr": best_c, "maxj": max(jac), "enr": enr, "spread": r0 - r7, "cons": tuple(cons)}


def test_cross_layer_auto_equals_direct_loops() -> None:
    rng = np.random.default_rng(6)
    N, F = 2000, 260
    B = rng.random((N, F)) < rng.uniform(0.03, 0.6, F)
    B[:, :7] = rng.random((N, 7)) < 0.93  # a default-ON quorum
    quiet = B[:, :7].sum(1) < 6
    B[:, 100] = np.where(quiet, rng.random(N) < 0.7, rng.random(N) < 0.05)  # fires when the quorum is broken
    got = cross_layer_auto(B)
    want = _direct_cross_layer(B)
    assert got.exception_neuron == want["exc"] == 100
    assert got.exception_corr == pytest.approx(want["corr"], abs=1e-10)
    assert got.max_jaccard == pytest.approx(want["maxj"])
    assert got.max_enrichment == pytest.approx(want["enr"])
    assert got.anticorr_spread == pytest.approx(want["spread"])
    assert got.consensus_neurons == tuple(int(c) for c in want["cons"])
    assert got.rounded()["max_jaccard"] == round(want["maxj"], 4)


def test_subsample_rows() -> None:
    assert len(subsample_rows(10, None)) == 10
    rows = subsample_rows(1000, 100)
    assert len(rows) == 100 and rows[0] == 0 and rows[-1] == 999 and np.all(np.diff(rows) > 0)
