"""The depth prediction across the GPT-2 family: the prediction row, the family's shapes, the command's errors."""

from __future__ import annotations

import pytest

from darkness_visible.cli import main
from darkness_visible.discovery import family


@pytest.mark.parametrize("layers, outcome, holds", [
    ([11], "the last layer only", True),
    ([], "no handler at any layer", False),
    ([5, 11], "the last layer and earlier ones", False),
    ([5], "earlier layers only", False),
])
def test_the_prediction_holds_only_for_a_handler_at_the_last_layer_alone(layers, outcome, holds):
    row = family.prediction_row("gpt2", "hub", 12, layers)
    assert row["outcome"] == outcome and row["holds"] is holds
    assert row["relative_depth"] == [round(L / 11, 3) for L in layers]


def test_the_family_has_the_published_shapes():
    """Depths and widths as the hub's config.json files give them (n_layer, n_embd, 4 x n_embd, n_head)."""
    shapes = {name: (m.n_layers, m.d_model, m.d_mlp, m.n_head) for name, m in family.FAMILY.items()}
    assert shapes == {"distilgpt2": (6, 768, 3072, 12), "gpt2": (12, 768, 3072, 12),
                      "gpt2-medium": (24, 1024, 4096, 16), "gpt2-large": (36, 1280, 5120, 20),
                      "gpt2-xl": (48, 1600, 6400, 25)}
    assert all(m.d_mlp == 4 * m.d_model and m.d_model % m.n_head == 0 for m in family.FAMILY.values())


def test_a_random_model_of_a_family_shape_is_labelled_as_such():
    subject = family.family_subject("distilgpt2", "random", n_ctx=64)
    assert subject.n_layers == 6 and subject.d_mlp == 3072 and subject.n_ctx == 64
    assert "distilgpt2's shape" in subject.spec.describe() and "NOT GPT-2" in subject.spec.describe()
    assert not subject.spec.is_pretrained


@pytest.mark.parametrize("argv, says", [
    (["depth", "--models", "gpt3", "--weights", "random"], "not a GPT-2 family name"),
    (["depth", "--weights", "random", "--windows", "0"], "--windows 0"),
])
def test_the_depth_command_refuses_bad_input_in_one_line(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and says in err and "\n" not in err


def test_the_depth_command_offline_without_a_cache_names_the_fix(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert main(["depth", "--models", "gpt2-medium", "--weights", "hub", "--cache", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "gpt2-medium" in err


def test_the_book_section_runs_random_and_planted_weights_without_the_checkpoints():
    assert family.book_weights("gpt2", cached=False) == ("random", "planted")
    assert family.book_weights("gpt2", cached=True) == ("hub",)
    from darkness_visible.config.sizes import PRESETS

    windows, window = family.book_corpus(PRESETS["quick"])
    assert windows * window <= 2048  # the section stays about a minute on a CPU at the quick size
    assert set(family.BOOK_MODELS) <= set(family.FAMILY)
    table = family.commands_table()
    assert list(table.model) == list(family.FAMILY) and table.command.str.contains("--weights hub").all()


def test_the_depth_rows_state_the_prediction_and_mark_the_procedure_checks():
    import pandas as pd

    from darkness_visible.report.family import depth_prose, depth_rows

    table = pd.DataFrame([family.prediction_row("gpt2", "random", 12, []),
                          family.prediction_row("gpt2", "planted", 12, [11]),
                          family.prediction_row("distilgpt2", "hub", 6, [2, 5])])
    rows = {r.claim: r for r in depth_rows(table, "m", False)}
    assert rows["NEW.depth.gpt2.random.layers_with_handler"].value == 0.0
    assert rows["NEW.depth.gpt2.last_layer_only.planted"].value == 1.0
    assert rows["NEW.depth.distilgpt2.last_layer_only"].value == 0.0
    assert rows["NEW.depth.distilgpt2.last_layer_only"].paper == 1.0
    assert all(r.comparison for r in rows.values() if "hub" not in r.description and "real" not in r.description)
    assert {r.verdict for r in rows.values()} == {"other model"}
    prose = depth_prose(table)
    assert prose["fam_hub"] == "0 of 1" and prose["fam_planted"] == "1 of 1" and prose["fam_random"] == "no layer"


def test_the_depth_points_place_every_layer_at_its_relative_depth_and_the_figure_draws_them():
    import matplotlib.pyplot as plt
    import pandas as pd

    from darkness_visible.plotting.discovery import family_figure

    class Result:
        def __init__(self, n_layers, handler):
            self.table = pd.DataFrame({"layer": range(n_layers), "found": [L in handler for L in range(n_layers)],
                                       "handler": [L in handler for L in range(n_layers)]})

    table = pd.DataFrame([family.prediction_row("distilgpt2", "planted", 6, [5]),
                          family.prediction_row("gpt2", "random", 12, [])])
    table.attrs["results"] = {("distilgpt2", "planted"): Result(6, {5}), ("gpt2", "random"): Result(12, set())}
    points = family.depth_points(table)
    assert len(points) == 18 and points.relative_depth.max() == 1.0 and points.relative_depth.min() == 0.0
    found = points[points.status == "handler found"]
    assert list(zip(found.model, found.layer, strict=True)) == [("distilgpt2", 5)]
    fig = family_figure(points)
    try:
        assert len(fig.axes) == 1
    finally:
        plt.close(fig)
