"""E18: N2123's rate by CONS-POS level and the 0/7 - 7/7 gradient, on planted firing."""

from __future__ import annotations

import numpy as np
import pytest

from darkness_visible.analysis import predecessor as P
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.report import predecessor as predecessor_report
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
    rows = {r.claim: r for r in predecessor_report.scorecard_rows(H, n_resamples=500)}
    assert set(rows) == {"E18.n2123_rate", "E18.rate_level0", "E18.rate_level7", "E18.gradient_pp"}
    assert rows["E18.gradient_pp"].paper == 94.3 and rows["E18.gradient_pp"].ci is not None
    assert all(r.value is not None and "different corpus" in r.comparison for r in rows.values())


def _with_corpus(H, **corpus):
    return Harvest({**H.meta, "corpus": {**H.meta["corpus"], **corpus}}, H.arrays)


def test_only_the_predecessors_corpus_is_comparable():
    """488 windows of 1,024 train tokens (the predecessor's 500K) are comparable; the test split, or DS-C at E2's
    500 windows or at the quick size, are not."""
    H, *_ = planted()
    ok = _with_corpus(H, split="train", n_windows=488, window=1024, describe="train 488")
    assert all(r.comparison == "" for r in predecessor_report.scorecard_rows(ok, n_resamples=100))
    for other in ({"split": "test", "n_windows": 488, "window": 1024}, {"split": "train", "n_windows": 500,
                  "window": 1024}, {"split": "train", "n_windows": 4, "window": 1024}):
        assert P.predecessor_comparison({**other, "describe": "x"}).startswith("different corpus")


def test_head_keeps_the_first_windows_exactly():
    H, level, fires = planted()
    H = _with_corpus(H, split="train", n_windows=80, window=100, source="local", construction="DS-A")
    H = Harvest(H.meta, {**H.arrays, "input_ids": np.arange(H.meta["corpus"]["n_windows"] * 100)})
    first = P.head(H, 30)
    assert first.n_tokens == 3000 and first.meta["corpus"]["n_windows"] == 30
    assert "30 × 100" in first.meta["corpus"]["describe"]
    np.testing.assert_array_equal(first.fires(EXCEPTION_NEURON, FIRE_POS), fires[:3000])
    assert P.head(H, 500).n_tokens == H.n_tokens, "never more windows than the harvest has"


def test_corpus_harvest_is_the_head_of_ds_c_and_none_offline():
    from types import SimpleNamespace

    from darkness_visible.config.sizes import PRESETS

    assert PRESETS["paper"].predecessor_windows * 1024 == 499_712 and PRESETS["paper"].predecessor_windows == \
        P.PREDECESSOR_WINDOWS
    assert PRESETS["paper"].predecessor_windows <= PRESETS["paper"].consensus_windows, "a prefix of E2's DS-C"
    H, *_ = planted()
    H = _with_corpus(H, split="train", n_windows=80, window=100, source="hub", construction="DS-A")
    H = Harvest(H.meta, {**H.arrays, "input_ids": np.zeros(8000, np.int32)})
    run = SimpleNamespace(size=SimpleNamespace(predecessor_windows=20), corpus=SimpleNamespace(source="local"))
    assert P.corpus_harvest(run, H).n_tokens == 2000
    assert P.corpus_harvest(run) is None, "a local-only run never reaches the train split"
