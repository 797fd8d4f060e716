"""The token heatmap: one escaped box per token, shaded by its value, with a legend."""

from __future__ import annotations

import re

import numpy as np
import pytest

from darkness_visible.plotting.tokens import NEGATIVE, POSITIVE, token_colour, token_heatmap_html


def _backgrounds(text: str) -> list[str]:
    return re.findall(r'class="dv-token" title="[^"]*" style="background:(#[0-9a-f]{6})', text)


def _intensity(colour: str) -> int:
    """Distance from white, summed over channels."""
    return sum(255 - int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_one_box_per_token_in_order_with_values_on_hover():
    tokens = ["The", " cat", " sat", "\n"]
    text = token_heatmap_html(tokens, [0.0, 1.0, -0.5, 2.0], label="N2123")
    assert len(_backgrounds(text)) == 4
    assert text.index(">The<") < text.index("> cat<") < text.index("> sat<")
    assert 'title="N2123 = -0.50"' in text and 'title="N2123 = +2.00"' in text
    assert "↵<br>" in text  # a newline token stays visible
    assert "dv-token-legend" in text and "N2123:" in text


def test_html_in_tokens_and_labels_is_escaped():
    text = token_heatmap_html(["<script>", "&", '"'], [1, 2, 3], label="<b>x</b>", title="a<b")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert "a&lt;b" in text


def test_shade_grows_with_magnitude_and_sign_picks_the_hue():
    values = [0.0, 0.25, 0.5, 1.0]
    shades = [_intensity(c) for c in _backgrounds(token_heatmap_html(list("abcd"), values))]
    assert shades[0] == 0 and shades == sorted(shades) and len(set(shades)) == 4
    assert token_colour(1.0, 1.0) == "#{:02x}{:02x}{:02x}".format(*POSITIVE)
    assert token_colour(-1.0, 1.0) == "#{:02x}{:02x}{:02x}".format(*NEGATIVE)
    assert token_colour(-5.0, 1.0) == token_colour(-1.0, 1.0)  # saturates beyond vmax


def test_vmax_sets_the_scale_and_nan_is_blank():
    half = _backgrounds(token_heatmap_html(["a", "b"], [0.5, np.nan], vmax=1.0))
    full = _backgrounds(token_heatmap_html(["a", "b"], [0.5, np.nan], vmax=0.5))
    assert _intensity(half[0]) < _intensity(full[0])
    assert half[1] == "#ffffff" and 'title="activation = n/a"' in token_heatmap_html(["a"], [np.nan])
    assert _backgrounds(token_heatmap_html(["a"], [0.0]))[0] == "#ffffff"  # all-zero: no division by zero


def test_a_value_per_token_is_required():
    with pytest.raises(ValueError, match="one value per token"):
        token_heatmap_html(["a", "b"], [1.0])


def test_wrap_keeps_every_word_within_the_width():
    from darkness_visible.plotting import wrap

    label = "random-weight stand-in with GPT-2 Small's shape (seed 0); NOT GPT-2; WikiText-103 test, 2 × 1,024"
    lines = wrap(label, 40).splitlines()
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert " ".join(lines) == label


def test_the_legend_can_be_left_off_for_all_but_the_last_of_a_series():
    with_legend = token_heatmap_html(["a", "b"], [0.0, 1.0], label="surprisal", vmax=2.0)
    without = token_heatmap_html(["a", "b"], [0.0, 1.0], label="surprisal", vmax=2.0, legend=False)
    assert "dv-token-legend" in with_legend and "dv-token-legend" not in without
    assert without.count('class="dv-token"') == with_legend.count('class="dv-token"') == 2
