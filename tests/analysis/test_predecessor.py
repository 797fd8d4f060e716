"""E18: N2123's rate by CONS-POS level and the 0/7 - 7/7 gradient, on planted firing."""

from __future__ import annotations

import numpy as np
import pytest

from darkness_visible.analysis import predecessor as P
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.tracing.firing import FIRE_POS, pack
from darkness_visible.tracing.harvest import Harvest

P0, P7 = 0.9, 0.05


def planted(seed: int = 0) -> tuple[Harvest, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 8000
    level = rng.integers(0, 8, n)
    mask = np.zeros((n, 3072), bool)
    for i in range(n):
        mask[i, np.array(CONSENSUS)[: level[i]]] = True
    p = np.where(level == 0, P0, np.where(level == 7, P7, 0.3))
    fires = rng.random(n) < p
    mask[:, EXCEPTION_NEURON] = fires
    meta = {"model": {"describe": "planted", "is_pretrained": False},
            "corpus": {"describe": "planted", "window": 100, "split": "test"}, "d_mlp": 3072, "config": {"record": []}}
    return Harvest(meta, {f"mask/{FIRE_POS.name}": pack(mask)}), level, fires


def test_rates_by_level_are_exact_counts():
    H, level, fires = planted()
    table = P.rate_by_level(H).set_index("level")
    assert table["n"].sum() == len(level)
    for lv in range(8):
        assert table.loc[lv, "n2123_rate_pct"] == pytest.approx(100 * fires[level == lv].mean())


def test_gradient_and_its_bootstrap_interval():
    H, level, fires = planted()
    r0, r7 = fires[level == 0].mean(), fires[level == 7].mean()
    pp, (lo, hi) = P.gradient(H, n_resamples=4000)
    assert pp == pytest.approx(100 * (r0 - r7))
    se = 100 * np.sqrt(r0 * (1 - r0) / (level == 0).sum() + r7 * (1 - r7) / (level == 7).sum())
    assert lo < pp < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.15), "the percentile CI matches the binomial SE"


def test_rows_carry_values_and_name_the_corpus():
    H, *_ = planted()
    rows = {r.claim: r for r in P.scorecard_rows(H, n_resamples=500)}
    assert set(rows) == {"E18.n2123_rate", "E18.rate_level0", "E18.rate_level7", "E18.gradient_pp"}
    assert rows["E18.gradient_pp"].paper == 94.3 and rows["E18.gradient_pp"].ci is not None
    assert all(r.value is not None and "different corpus" in r.comparison for r in rows.values())
