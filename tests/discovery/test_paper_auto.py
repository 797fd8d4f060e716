"""Discovery from co-firing alone: exact recovery of planted handlers; statistics equal scipy's / direct loops."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from darkness_visible.discovery.paper_auto import (
    cross_layer_auto,
    point_biserial,
    subsample_rows,
)
from darkness_visible.stats.cofiring import fisher_greater, jaccard_matrix


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
