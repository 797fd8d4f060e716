"""Figure helpers: the palette and figures at the content width (the token heatmap: test_plotting_tokens.py)."""

import pytest

from darkness_visible.plotting import CONTENT_WIDTH_IN, CYCLE, PALETTE, WIDTH, content_figure, wrap


def test_palette_is_okabe_ito():
    assert len(CYCLE) == 8 and PALETTE["vermillion"] == "#D55E00" and PALETTE["blue"] == "#0072B2"


def test_content_figure_is_as_wide_as_the_column_and_uses_the_palette():
    import matplotlib.pyplot as plt

    fig, ax = content_figure(0.5)
    try:
        assert fig.get_size_inches() == pytest.approx([CONTENT_WIDTH_IN, CONTENT_WIDTH_IN * 0.5])
        (line,) = ax.plot([0, 1])
        assert line.get_color().lower() == CYCLE[0].lower()
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="height_ratio"):
        content_figure(10)


def test_wrap_breaks_long_labels_and_keeps_short_ones():
    assert wrap("short") == "short"
    lines = wrap("word " * 40, width=30).split("\n")
    assert len(lines) > 1 and all(len(line) <= 30 for line in lines)
    assert CONTENT_WIDTH_IN == WIDTH


def test_finish_gives_one_house_style_and_puts_the_legend_below():
    import matplotlib.pyplot as plt

    from darkness_visible.plotting import finish

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="this run")
    label = "a run label " * 12
    assert finish(ax, xlabel="x", ylabel="y", title="What it shows", label=label, legend_ncol=1) is fig
    assert ax.xaxis.label.get_size() == ax.yaxis.label.get_size() == ax.title.get_size() == 10
    assert all(t.get_fontsize() == 9 for t in ax.get_xticklabels())
    title = ax.get_title().split("\n")
    assert title[0] == "What it shows" and len(title) >= 3 and all(len(line) <= 80 for line in title[1:])
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["this run"]
    assert legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).y0 < 0  # below the axes
    plt.close(fig)


def test_finish_leaves_out_an_empty_legend_and_keeps_unset_texts():
    import matplotlib.pyplot as plt

    from darkness_visible.plotting import finish

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("kept")
    finish(ax, title="t")
    assert ax.get_legend() is None and ax.get_xlabel() == "kept" and ax.get_title() == "t"
    plt.close(fig)


def _house_style(fig):
    ax = fig.axes[0]
    assert ax.title.get_size() == 10 and ax.yaxis.label.get_size() == 10
    legend = ax.get_legend()
    assert legend is not None and legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).y0 < 0


def test_the_chapters_single_axes_figures_share_the_house_style():
    """Each figure function that draws one axes goes through ``finish``: same fonts, legend below."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from darkness_visible.plotting import consensus, tiers

    rng = np.random.default_rng(0)
    levels = pd.DataFrame({"level": range(8), "n": rng.integers(10, 100, 8)})
    acf = pd.DataFrame({"lag": range(1, 6), "acf": rng.normal(0, 0.1, 5)})
    simpson = pd.DataFrame({"level": ["0", "1", "all"], "delta_pct": [1.0, -2.0, 0.5],
                            "paper_delta_pct": [1.5, np.nan, 0.4]})
    suite = pd.DataFrame({"core_precision": [1.0, 0.9], "core_recall": [0.8, 1.0]})
    figures = [consensus.plot_level_counts(levels, "run"), consensus.plot_acf(acf, 1000, "run"),
               tiers.histogram_figure(np.abs(rng.normal(0, 1, 500)), "run"), tiers.simpson_figure(simpson, "run"),
               tiers.suite_figure(suite, ["core"])]
    for fig in figures:
        _house_style(fig)
        plt.close(fig)
