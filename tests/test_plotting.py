"""Figure helpers: the palette, figures at the content width, and the token heatmap's HTML."""

import re

import numpy as np
import pytest

from darkness_visible.plotting import CONTENT_WIDTH_IN, CYCLE, PALETTE, content_figure, token_heatmap_html

SHADE = re.compile(r'<span title="[^"]*" style="background:(#[0-9a-f]{6})')
INK = re.compile(r'<span title="[^"]*" style="background:#[0-9a-f]{6};color:(#[0-9a-f]{6})')


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


def test_heatmap_escapes_text_shades_by_value_and_has_a_legend():
    out = token_heatmap_html(["<b>", " cat", "&"], np.array([0.0, 0.5, 1.0]), label="N2123")
    assert "&lt;b&gt;" in out and "&amp;" in out and "<b>" not in out
    backgrounds = SHADE.findall(out)
    assert backgrounds[0] == "#ffffff" and backgrounds[-1] == "#0072b2" and backgrounds[1] not in backgrounds[::2]
    assert INK.findall(out) == ["#000000", "#000000", "#ffffff"]  # white text on the darkest shade
    assert 'title="N2123 = 0.500"' in out and "linear-gradient" in out


def test_heatmap_diverges_around_zero_when_values_have_both_signs():
    out = token_heatmap_html(["a", "b", "c"], [-1.0, 0.0, 1.0])
    assert SHADE.findall(out) == ["#0072b2", "#ffffff", "#d55e00"]


@pytest.mark.parametrize(("tokens", "values", "message"), [
    (["a", "b"], [1.0], "2 tokens but 1 values"),
    ([], [], "no tokens"),
    (["a"], [np.nan], "NaN"),
])
def test_heatmap_bad_input_says_what_to_fix(tokens, values, message):
    with pytest.raises(ValueError, match=message):
        token_heatmap_html(tokens, values)
