"""The vectorised bootstraps: equal to scipy.stats.bootstrap, right coverage, honest under autocorrelation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from darkness_visible.stats.bootstrap import (
    BootstrapConfig,
    bootstrap,
    percentile_ci,
    resample_weights,
    sequence_bootstrap,
    sequence_totals,
    token_bootstrap,
)


def _ratio(sums: np.ndarray, counts: np.ndarray, axis: int = -1) -> np.ndarray:
    return sums.sum(axis=axis) / counts.sum(axis=axis)


def test_token_bootstrap_equals_scipy_bootstrap() -> None:
    x = np.random.default_rng(1).exponential(size=60)
    ours = token_bootstrap(x, config=BootstrapConfig(kind="token", n_resamples=3000, chunk=500, seed=7))
    ref = st.bootstrap((x,), np.mean, n_resamples=3000, batch=500, rng=np.random.default_rng(7), method="percentile")
    np.testing.assert_allclose(ours.distribution[:, 0], ref.bootstrap_distribution, rtol=1e-12, atol=0)
    row = ours.table.iloc[0]
    assert row["lo"] == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert row["hi"] == pytest.approx(ref.confidence_interval.high, rel=1e-12)
    assert row["mean"] == pytest.approx(x.mean())


def test_sequence_bootstrap_equals_scipy_paired_ratio_bootstrap() -> None:
    rng = np.random.default_rng(2)
    lengths = rng.integers(1, 25, size=17)
    seq = np.repeat(np.arange(17), lengths)
    values = rng.normal(size=seq.size) + seq * 0.05
    ours = sequence_bootstrap(values, None, seq, BootstrapConfig(n_resamples=2000, chunk=400, seed=11))
    sums, counts, _ = sequence_totals(values, np.zeros(values.size, dtype=np.int64), seq, 1)
    ref = st.bootstrap((sums[0], counts[0]), _ratio, paired=True, vectorized=True, n_resamples=2000, batch=400,
                       rng=np.random.default_rng(11), method="percentile")
    np.testing.assert_allclose(ours.distribution[:, 0], ref.bootstrap_distribution, rtol=1e-10)
    assert ours.table.loc[0, "lo"] == pytest.approx(ref.confidence_interval.low, rel=1e-10)
    assert ours.table.loc[0, "hi"] == pytest.approx(ref.confidence_interval.high, rel=1e-10)


def test_percentile_ci_equals_numpy_percentile() -> None:
    d = np.random.default_rng(3).normal(size=(999, 3))
    lo, hi = percentile_ci(d, 0.9)
    np.testing.assert_allclose(lo, np.percentile(d, 5, axis=0))
    np.testing.assert_allclose(hi, np.percentile(d, 95, axis=0))


def test_resample_weights_are_multinomial_counts() -> None:
    w = resample_weights(np.random.default_rng(0), 10, 20_000)
    assert w.shape == (20_000, 10) and (w >= 0).all()
    assert (w.sum(axis=1) == 10).all()
    # each unit's count is Binomial(10, 1/10): mean 1, variance 0.9
    assert w.mean() == pytest.approx(1.0, abs=0.02)
    assert w.var(axis=0).mean() == pytest.approx(0.9, abs=0.03)
    assert (resample_weights(np.random.default_rng(0), 10, 5, n_draw=25).sum(axis=1) == 25).all()


def test_groups_are_stratified_and_labelled() -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat([3, 0, 7], [200, 300, 100])
    values = np.where(groups == 7, 5.0, 0.0) + rng.normal(size=groups.size)
    seq = np.arange(groups.size) // 50
    res = token_bootstrap(values, groups, seq, BootstrapConfig(kind="token", n_resamples=500))
    assert list(res.groups) == [0, 3, 7]
    assert list(res.table["n"]) == [300, 200, 100]
    assert list(res.table["n_sequences"]) == [6, 4, 2]
    assert res.table.set_index("group").loc[7, "lo"] > 4
    assert (res.table["lo"] < res.table["mean"]).all() and (res.table["mean"] < res.table["hi"]).all()


def test_sequence_bootstrap_marks_resamples_without_the_group() -> None:
    seq = np.repeat(np.arange(20), 10)
    groups = np.where(seq == 0, 1, 0)  # group 1 lives in one sequence only
    values = np.random.default_rng(5).normal(size=seq.size)
    res = sequence_bootstrap(values, groups, seq, BootstrapConfig(n_resamples=2000))
    missing = res.table.set_index("group").loc[1, "nan_resamples"]
    # P(sequence 0 not drawn in 20 draws) = (19/20)^20 ≈ 0.358
    assert missing / 2000 == pytest.approx((19 / 20) ** 20, abs=0.04)
    assert np.isfinite(res.table["lo"]).all()


def test_same_seed_same_result_and_none_is_fresh() -> None:
    x = np.random.default_rng(6).normal(size=100)
    a = token_bootstrap(x, config=BootstrapConfig(kind="token", n_resamples=200, seed=1))
    b = token_bootstrap(x, config=BootstrapConfig(kind="token", n_resamples=200, seed=1))
    c = token_bootstrap(x, config=BootstrapConfig(kind="token", n_resamples=200, seed=None))
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert not np.array_equal(a.distribution, c.distribution)


def test_coverage_of_known_mean_is_about_95_percent() -> None:
    """300 independent samples (n = 80) of a skewed law with mean 1: about 95 % of the CIs cover 1."""
    rng = np.random.default_rng(8)
    reps, n = 300, 80
    values = rng.exponential(1.0, size=(reps, n)).ravel()
    groups = np.repeat(np.arange(reps), n)
    res = token_bootstrap(values, groups, config=BootstrapConfig(kind="token", n_resamples=1000, seed=9))
    covered = ((res.table["lo"] <= 1.0) & (res.table["hi"] >= 1.0)).mean()
    assert 0.90 <= covered <= 0.98, covered


def _ar1(rng: np.random.Generator, n_seq: int, length: int, rho: float) -> np.ndarray:
    e = rng.normal(size=(n_seq, length))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, length):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


def test_sequence_bootstrap_is_honest_on_autocorrelated_data_token_bootstrap_is_not() -> None:
    """AR(1) tokens (ρ = 0.9) inside sequences, true mean 0: the token CI is far too narrow."""
    rng = np.random.default_rng(10)
    reps, n_seq, length, rho = 80, 30, 60, 0.9
    cover = {"token": 0, "sequence": 0}
    ratios = []
    for r in range(reps):
        x = _ar1(rng, n_seq, length, rho).ravel()
        seq = np.repeat(np.arange(n_seq), length)
        widths = {}
        for kind in cover:
            res = bootstrap(x, None, seq, BootstrapConfig(kind=kind, n_resamples=500, seed=r))
            lo, hi = res.table.loc[0, "lo"], res.table.loc[0, "hi"]
            cover[kind] += int(lo <= 0 <= hi)
            widths[kind] = hi - lo
        ratios.append(widths["sequence"] / widths["token"])
    assert cover["sequence"] / reps >= 0.85, cover
    assert cover["token"] / reps <= 0.6, cover
    # the long-run variance inflation of AR(1) is (1 + ρ)/(1 − ρ) = 19; width ratio ≈ √19 ≈ 4.4 (less: finite L)
    assert 2.5 < np.median(ratios) < 5.0, np.median(ratios)


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        BootstrapConfig(kind="window")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BootstrapConfig(confidence=95)
    with pytest.raises(ValueError):
        bootstrap(np.zeros(3), None, None, BootstrapConfig(kind="sequence"))


def test_within_sequence_acf_recovers_ar1_coefficient() -> None:
    from darkness_visible.stats.bootstrap import within_sequence_acf

    rho = 0.7
    x = _ar1(np.random.default_rng(12), 40, 500, rho)
    seq = np.repeat(np.arange(40), 500)
    groups = np.tile([0, 1], x.size // 2)
    shifted = x.ravel() + 3.0 * groups  # a group offset, removed by passing the groups
    out = within_sequence_acf(shifted, seq, nlags=3, groups=groups)
    np.testing.assert_allclose(out["acf"], [rho, rho**2, rho**3], atol=0.04)
    assert (out["n_sequences"] == 40).all()
