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
