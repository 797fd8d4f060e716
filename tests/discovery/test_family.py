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
