"""E17: the HOLDS gate is CONS-POS >= 6/7, and the bypassed perplexity is exact on planted log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from darkness_visible.analysis import bypass
from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
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
    rows = {r.claim: r for r in bypass.scorecard_rows(H, bypass.bypass_table(H, n_boot=100))}
    assert rows["E17.bypass_L11.ppl_delta"].paper == 6.9 and rows["E17.bypass_L11.bypassed"].paper == 55.5
    assert "different corpus" in rows["E17.bypass_L11.ppl_delta"].comparison
    assert "HOLDS" in rows["E17.text.abs7_ppl_delta"].comparison
    assert rows["E17.bypass_L7_L11.ppl_delta"].verdict == "not run"
    assert all(r.value is not None for c, r in rows.items() if c != "E17.bypass_L7_L11.ppl_delta")
    H_train, *_ = planted("train")
    train_rows = {r.claim: r for r in bypass.scorecard_rows(H_train, bypass.bypass_table(H_train, n_boot=100))}
    assert train_rows["E17.bypass_L11.ppl_delta"].comparison == ""
