"""The chapters' map of the forward pass: sites numbered in forward order, reads and changes told apart."""

import pytest

from darkness_visible.plotting import CONTENT_WIDTH_IN, PALETTE
from darkness_visible.plotting.schematic import STAGE_KEYS, Site, forward_pass_figure, ordered


def test_sites_are_numbered_in_the_order_the_pass_reaches_them():
    late, early = Site("lm_head", "read", "logits"), Site("act", "change", "zero N2123")
    same = Site("act", "read", "N2123's activation")
    assert ordered([late, early, same]) == [early, same, late]  # GELU before lm_head; ties keep their order
    assert STAGE_KEYS.index("ln_2") < STAGE_KEYS.index("act") < STAGE_KEYS.index("mlp") < STAGE_KEYS.index("lm_head")


def test_unknown_stage_or_kind_is_refused():
    with pytest.raises(ValueError, match="stage 'gelu'"):
        Site("gelu", "read", "x")
    with pytest.raises(ValueError, match="kind 'write'"):
        Site("act", "write", "x")


def test_figure_marks_and_lists_every_site_at_the_content_width():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    sites = [Site("lm_head", "read", "next-token logits"), Site("act", "change", "zero the handler neurons"),
             Site("act", "read", "N2123 on every token", path="transformer.h[11].mlp.act.output[..., 2123]")]
    fig = forward_pass_figure(sites, layer=11, d_mlp=3072, title="What the chapter reads", label="GPT-2 Small")
    try:
        assert fig.get_size_inches()[0] == pytest.approx(CONTENT_WIDTH_IN)
        ax = fig.axes[0]
        texts = [t.get_text() for t in ax.texts]
        # listed in forward order, each with what it does and its nnsight path
        lines = [t for t in texts if t.startswith(("read:", "change:"))]
        assert lines == ["change: zero the handler neurons", "read: N2123 on every token", "read: next-token logits"]
        assert "transformer.h[11].mlp.act.output[..., 2123]" in texts and "lm_head.output" in texts
        assert "block 11" in texts and "MLP (3,072 neurons)" in texts and "blocks\n0–10" in texts
        # one numbered marker on the chain and one in the list per site, coloured by what it does
        colours = [to_hex(c.get_facecolor()[0]) for c in ax.collections]
        assert colours.count(PALETTE["vermillion"].lower()) == 2 and colours.count(PALETTE["blue"].lower()) == 4
        assert [t for t in texts if t in "123"].count("1") == 2
        assert ax.get_title().startswith("What the chapter reads\nGPT-2 Small")
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="no sites"):
        forward_pass_figure([])
