"""The co-firing kernels against direct set arithmetic and scipy."""

from __future__ import annotations

import numpy as np
import pytest

from darkness_visible.stats.cofiring import cofire_counts, jaccard_matrix, jaccard_with


def test_cofire_counts_equal_direct_counts_over_all_rows_and_a_row_subset():
    rng = np.random.default_rng(0)
    B = rng.random((1000, 12)) < 0.3
    cols = np.array([3, 0, 7])
    want = np.array([[np.sum(B[:, c] & B[:, n]) for n in range(12)] for c in cols])
    assert np.array_equal(cofire_counts(B, cols, chunk=97), want)
    rows = np.flatnonzero(rng.random(1000) < 0.4)
    want_rows = np.array([[np.sum(B[rows, c] & B[rows, n]) for n in range(12)] for c in cols])
    assert np.array_equal(cofire_counts(B, cols, rows, chunk=13), want_rows)


def test_jaccard_with_equals_sets_and_marks_empty_pairs():
    rng = np.random.default_rng(1)
    B = rng.random((300, 6)) < 0.25
    B[:, 4] = False
    e = rng.random(300) < 0.2
    got = jaccard_with(B, e)
    for j in range(6):
        a, b = set(np.flatnonzero(e)), set(np.flatnonzero(B[:, j]))
        assert got[j] == pytest.approx(len(a & b) / len(a | b))
    assert np.isnan(jaccard_with(B, np.zeros(300, bool))[4])
    assert jaccard_with(B, np.zeros(300, bool), empty=0.0)[4] == 0.0


def test_jaccard_matrix_restricted_to_rows_is_the_matrix_of_those_rows():
    rng = np.random.default_rng(2)
    B = rng.random((400, 5)) < 0.4
    rows = rng.random(400) < 0.5
    assert np.array_equal(jaccard_matrix(B, rows), jaccard_matrix(B[rows]), equal_nan=True)
    assert jaccard_matrix(B, rows)[0, 1] == pytest.approx(jaccard_with(B[rows], B[rows, 0])[1])


def test_rate_enrichment_is_the_conditional_over_the_base_rate_with_the_papers_cut_offs():
    import numpy as np
    import pytest

    from darkness_visible.stats.cofiring import rate_enrichment

    mask = np.zeros((10, 3), dtype=bool)
    mask[:4, 0] = True          # base 0.4; fires on 3 of the 4 condition rows below -> 0.75 / 0.4
    mask[:, 1] = True           # base 1.0: outside (0.01, 0.99) -> 1.0; inside (0.01, 1.01) -> 1.0 exactly
    mask[9, 2] = True           # base 0.1, never under the condition -> 0.0
    condition = np.array([0, 1, 2, 5])
    c = np.zeros(10, dtype=bool)
    c[condition] = True
    got = rate_enrichment(mask, c, (0.01, 0.99))
    assert got == pytest.approx([0.75 / 0.4, 1.0, 0.0])
    assert rate_enrichment(mask, c, (0.5, 1.0))[0] == 1.0           # base 0.4 below the window
    assert np.all(rate_enrichment(mask, c, min_condition=4) == 1.0)  # 4 condition rows are not more than 4
    with pytest.raises(ValueError, match="one value per row"):
        rate_enrichment(mask, c[:5])
