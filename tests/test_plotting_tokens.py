"""The token heatmap: escaped, one span per token, darker for larger values, a legend with the range."""

from __future__ import annotations

import re

import numpy as np
import pytest

from darkness_visible.plotting.tokens import token_heatmap_html


def _backgrounds(text):
    return [tuple(map(int, m)) for m in re.findall(r"background:rgb\((\d+), (\d+), (\d+)\)", text)]


def test_one_escaped_span_per_token_with_its_value():
    text = token_heatmap_html(["<b>", " &x", "\n"], [0.0, 0.5, 1.0], label="|a_2123|", legend=False)
    assert text.count('class="dv-token"') == 3
    assert "<b>" not in text and "&lt;b&gt;" in text and "&amp;x" in text and "↵" in text
    assert "|a_2123| = 0.500" in text


def test_larger_values_are_darker_and_shared_ranges_compare():
    text = token_heatmap_html(["a", "b", "c"], [0.0, 1.0, 2.0], legend=False)
    brightness = [sum(rgb) for rgb in _backgrounds(text)]
    assert brightness[0] > brightness[1] > brightness[2]
    same = token_heatmap_html(["c"], [2.0], vmin=0.0, vmax=2.0, legend=False)
    assert _backgrounds(same)[0] == _backgrounds(text)[2]
    clipped = token_heatmap_html(["c"], [5.0], vmin=0.0, vmax=2.0, legend=False)
    assert _backgrounds(clipped)[0] == _backgrounds(text)[2]


def test_text_colour_contrasts_with_the_shade():
    text = token_heatmap_html(["light", "dark"], [0.0, 1.0], legend=False)
    inks = re.findall(r"color:(#[0f]{3});white-space", text)
    assert inks == ["#000", "#fff"]


def test_legend_nan_and_length_check():
    text = token_heatmap_html(["a", "b"], [np.nan, 3.0], label="surprisal (bits)", title="x < y")
    assert "surprisal (bits):" in text and ">0<" in text and ">3<" in text and "x &lt; y" in text
    assert len(_backgrounds(text.split('class="dv-token-legend"')[0])) == 1  # the NaN token is unshaded
    with pytest.raises(ValueError, match="one value per token"):
        token_heatmap_html(["a"], [1.0, 2.0])
