"""The chapters' figures (chapters 04-06 and discovery): drawn at the content width from the numbers they are
given, and chapter 04's knockout interval is the package's own bootstrap CI, not one seaborn computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkness_visible.analysis import knowledge as kn
from darkness_visible.analysis.garden_path import CONDITIONS, DEFINITIONS, power_curve
from darkness_visible.plotting import WIDTH
from darkness_visible.plotting import crystallization as cl_draw
from darkness_visible.plotting import garden_path as gp_draw
from darkness_visible.plotting import knowledge as kn_draw
from darkness_visible.report import knowledge as knowledge_report

plt = pytest.importorskip("matplotlib.pyplot")


def _knockouts(n: int = 9, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"prompt": [f"p{i}" for i in range(n)], "target": "x", "baseline": rng.uniform(0.1, 0.5, n)})
    for shift, cond in zip((0.08, -0.01, 0.03, -0.02), kn_draw.KNOCKOUT_CONDITIONS, strict=True):
        delta = rng.normal(shift, 0.05, n)
        table[cond] = table["baseline"] + delta
        table[f"Δ {cond}"] = delta
    return table


def test_the_knockout_error_bars_are_the_summarys_bootstrap_ci():
    knock = _knockouts()
    summary = kn.knockout_summary(knock)
    fig = kn_draw.knockout_figure(knock, summary, layer=3, paper=knowledge_report.PAPER_KNOCKOUT)
    try:
        ax = fig.axes[0]
        (bars,) = [c for c in ax.collections if c.__class__.__name__ == "LineCollection"]
        drawn = sorted((float(min(s[:, 1])), float(max(s[:, 1]))) for s in bars.get_segments())
        ci = summary.set_index("condition").loc[list(kn_draw.KNOCKOUT_CONDITIONS)]
        expected = sorted(zip(100 * ci["ci_low"], 100 * ci["ci_high"], strict=True))
        np.testing.assert_allclose(np.array(drawn), np.array(expected), rtol=1e-9)
        # a percentile CI of 9 prompts' means differs from the mean ± anything symmetric in general
        assert any(abs((hi + lo) / 2 - m) > 1e-6 for (lo, hi), m in zip(expected, 100 * ci["mean Δp"], strict=True))
        assert "layer 3" in ax.get_title()
    finally:
        plt.close(fig)


def _crystallization_inputs():
    rng = np.random.default_rng(0)
    n_layers = 4
    survey = pd.DataFrame({"layer": range(n_layers), "max_jaccard": rng.uniform(0, 1, n_layers),
                           "max_jaccard_within": rng.uniform(0, 1, n_layers),
                           "handler_max_jaccard": rng.uniform(0, 1, n_layers),
                           "max_enrichment": rng.uniform(1, 3, n_layers)})
    labels = ["emb"] + [f"L{i}" for i in range(n_layers)]
    lens_frame = pd.DataFrame([{"state": s, "index": i, "lens": lens, "top1_pct": rng.uniform(0, 40),
                                "lockin_pct": rng.uniform(0, 40)} for lens in ("logit", "tuned")
                               for i, s in enumerate(labels)])
    null_rows = [{"seed": s, **{f"exc_at_{c}_consensus": rng.uniform() for c in range(4)}} for s in range(2)]
    trained = {f"exc_at_{c}_consensus": rng.uniform() for c in range(4)}
    sweep = pd.DataFrame({"threshold": [0.05, 0.1, 0.5], "a": [0.9, 0.6, 0.1], "b": [0.8, 0.7, 0.2]}).set_index(
        "threshold")
    return n_layers, survey, labels, lens_frame, null_rows, trained, sweep


def test_every_chapter_figure_is_drawn_at_the_content_width():
    n_layers, survey, labels, lens_frame, null_rows, trained, sweep = _crystallization_inputs()
    knock = _knockouts()
    overlap = pd.DataFrame({"prompt": ["a", "b"], "routing": [3, 5], "consensus": [1, 0]})
    extraction = pd.DataFrame({"final": True, "rank": [1, 20, 300, 4], "category": ["c1", "c1", "c2", "c2"],
                               "method": ["static", "context", "static", "context"]})
    rng = np.random.default_rng(1)
    table = pd.DataFrame([{"pair": p, "condition": c, "definition": d, "surprisal": rng.uniform(0, 10),
                           "n2123": rng.uniform(0, 1)} for p in range(4) for c in CONDITIONS
                          for d in (*DEFINITIONS, "main_verb")])
    figures = [
        kn_draw.overlap_figure(overlap, 0.17, None), kn_draw.knockout_figure(knock, kn.knockout_summary(knock), 2),
        kn_draw.extraction_figure(extraction, 64),
        gp_draw.definitions_figure(table, "surprisal", "bits", "title"),
        gp_draw.reduced_relative_figure(table, "N7", 4), gp_draw.reduced_relative_figure(table, None, 4),
        gp_draw.power_figure(power_curve([10, 20], [0.2, 0.8]), 0.7, 15),
        cl_draw.profile_figure(survey, n_layers), cl_draw.heads_figure(rng.uniform(0, 1, 6), 3),
        cl_draw.lens_figure(lens_frame, labels), cl_draw.null_profile_figure(null_rows, trained, "model", 3, "N7"),
        cl_draw.sweep_figure(sweep, ["a", "b"]),
    ]
    try:
        for fig in figures:
            assert fig.get_size_inches()[0] == pytest.approx(WIDTH)
    finally:
        for fig in figures:
            plt.close(fig)


def test_the_reduced_relatives_draw_no_indicator_panel_without_an_indicator():
    rng = np.random.default_rng(2)
    table = pd.DataFrame([{"pair": p, "condition": c, "definition": "main_verb", "surprisal": rng.uniform(),
                           "n2123": rng.uniform()} for p in range(3) for c in CONDITIONS])
    with_indicator = gp_draw.reduced_relative_figure(table, "N5", 3)
    without = gp_draw.reduced_relative_figure(table, None, 3)
    try:
        assert len(with_indicator.axes) == 2 and len(without.axes) == 1
    finally:
        plt.close(with_indicator)
        plt.close(without)
