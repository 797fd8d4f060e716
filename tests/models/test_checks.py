"""Unusable checkpoints and settings are refused in one line naming the fix, before any heavy work."""

import importlib.util
import os
from pathlib import Path

import pytest

from darkness_visible.cli import main
from darkness_visible.errors import CheckpointError, DVUserError
from darkness_visible.models import checks
from darkness_visible.models.loading import ModelSpec, check_checkpoint, load_model
from darkness_visible.models.preflight import preflight

ROOT = Path(__file__).resolve().parents[2]


def _cli_error(capsys, argv: list[str]) -> str:
    """Run the command line; it must fail with exit status 2 and one line on stderr (no traceback)."""
    capsys.readouterr()  # drop what the test's own set-up printed
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def _never_load(monkeypatch):
    """Make loading a model fail the test: the check must come first."""
    import darkness_visible.models.loading as dvm

    def loads(*args, **kwargs):
        raise AssertionError("the model was loaded before the check")

    monkeypatch.setattr(dvm, "_load_pretrained", loads)


@pytest.fixture
def truncated(save_gpt2):
    folder = save_gpt2()
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


@pytest.mark.parametrize("damage, word", [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b"", "empty"),
    (lambda b: b[:3], "truncated"),
    (lambda b: b[:8] + b"\xff" * 40 + b[48:], "corrupt"),
    (lambda b: (2**40).to_bytes(8, "little") + b[8:], "corrupt"),
])
def test_damaged_safetensors_are_one_line(save_gpt2, damage, word, capsys, monkeypatch, tmp_path):
    folder = save_gpt2()
    weights = folder / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(CheckpointError, match=word):
        load_model(str(folder))
    _never_load(monkeypatch)
    err = _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1", "--cache", str(tmp_path / "c")])
    assert "re-save" in err
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").glob("harvest-*")), "nothing half-written"


def test_invalid_config_json_names_the_line(save_gpt2, capsys):
    folder = save_gpt2()
    (folder / "config.json").write_text('{"model_type": "gpt2", "n_layer": 2,\n  "n_embd": }')
    with pytest.raises(CheckpointError, match=r"not valid JSON \(line 2"):
        load_model(str(folder))
    assert "config.json" in _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1"])


def _save_other(kind: str, folder: Path) -> Path:
    if kind == "bert":
        from transformers import BertConfig, BertForMaskedLM

        model = BertForMaskedLM(BertConfig(vocab_size=50257, hidden_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, intermediate_size=64))
    else:
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(vocab_size=50257, hidden_size=32, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=64))
    model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_other_architectures_are_refused_with_the_supported_families(kind, tmp_path, capsys, monkeypatch):
    folder = _save_other(kind, tmp_path / kind)
    with pytest.raises(CheckpointError, match=f"'{kind}' model") as info:
        load_model(str(folder))
    assert "GPT-2 family" in str(info.value) and "gpt2-medium" in str(info.value)
    _never_load(monkeypatch)
    assert "model_type 'gpt2'" in _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1"])


def test_a_vocabulary_smaller_than_the_tokenizer_is_refused(save_gpt2, capsys):
    folder = save_gpt2(vocab_size=1000)
    with pytest.raises(CheckpointError, match="1,000 tokens, fewer than the GPT-2 tokenizer's 50,257"):
        load_model(str(folder))
    _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1"])


def test_a_usable_folder_passes_and_reports_its_shape(save_gpt2):
    folder = save_gpt2(n_positions=64, n_layer=3)
    info = check_checkpoint(ModelSpec.parse(str(folder)))
    assert (info.n_layers, info.n_ctx, info.window, info.d_mlp) == (3, 64, 64, 64)
    assert check_checkpoint(ModelSpec.parse("standin")).window == 1024


def test_a_window_longer_than_the_context_is_refused_before_loading(save_gpt2, capsys, monkeypatch):
    folder = save_gpt2(n_positions=64)
    _never_load(monkeypatch)
    err = _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1", "--window", "128"])
    assert "--window (at most 64)" in err


def _book_preflight():
    spec = importlib.util.spec_from_file_location("dv_book_preflight", ROOT / "book" / "_ext" / "preflight.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("make, expected", [
    (lambda save_gpt2, tmp: _save_other("bert", tmp / "bert"), "not GPT-2"),
    (lambda save_gpt2, tmp: save_gpt2(vocab_size=1000), "fewer than the GPT-2 tokenizer"),
    ("truncated", "truncated"),
])
def test_the_book_preflight_reads_the_checkpoint(make, expected, save_gpt2, truncated, tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    folder = truncated if make == "truncated" else make(save_gpt2, tmp_path)
    monkeypatch.setenv("DV_MODEL", str(folder))
    with pytest.raises(ExtensionError, match=expected):
        _book_preflight()._check(None)


def test_the_book_preflight_passes_a_usable_folder_and_hands_kernels_absolute_paths(save_gpt2, tmp_path,
                                                                                   monkeypatch):
    folder = save_gpt2()
    monkeypatch.chdir(folder.parent)
    monkeypatch.setenv("DV_MODEL", f"./{folder.name}")
    monkeypatch.setenv("DV_CACHE", "relative-cache")
    _book_preflight()._check(None)
    assert os.environ["DV_MODEL"] == str(folder) and os.environ["DV_CACHE"] == str(folder.parent / "relative-cache")


def test_preflight_refuses_an_unwritable_cache_before_loading(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DVUserError, match="cannot write to the cache folder"):
        preflight("tiny", cache=blocker / "cache")


def test_check_config_accepts_exactly_the_gpt2_family():
    base = {"model_type": "gpt2", "n_layer": 4, "n_embd": 64, "n_head": 4, "n_positions": 256, "vocab_size": 50257}
    assert checks.check_config(base, "x").n_layers == 4
    for bad in ({"model_type": "gpt_neox"}, {"n_layer": 0}, {"n_positions": "long"}, {"vocab_size": 50000}):
        with pytest.raises(CheckpointError):
            checks.check_config({**base, **bad}, "x")


def test_load_errors_of_a_folder_are_checkpoint_errors(save_gpt2, monkeypatch):
    """Whatever transformers raises on a folder's files becomes one line naming the folder and the fix."""
    import transformers

    folder = save_gpt2()

    def broken(*args, **kwargs):
        raise RuntimeError("Error(s) in loading state_dict:\n  size mismatch for ...")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", broken)
    with pytest.raises(CheckpointError, match="size mismatch") as info:
        load_model(str(folder))
    assert str(folder) in str(info.value) and "\n" not in str(info.value)


def _drop_tensor(folder: Path, name: str) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    del tensors[name]
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize("edit, named", [
    (lambda folder: _drop_tensor(folder, "transformer.h.1.mlp.c_fc.weight"), "h.1.mlp.c_fc.weight"),
    (lambda folder: _drop_tensor(folder, "transformer.ln_f.bias"), "ln_f.bias"),
    (lambda folder: (folder / "config.json").write_text(
        (folder / "config.json").read_text().replace('"n_layer": 2', '"n_layer": 3')), "h.2.ln_1.weight"),
])
def test_weights_missing_a_parameter_are_refused_before_loading(save_gpt2, edit, named, capsys, monkeypatch,
                                                                tmp_path):
    """transformers would fill a missing tensor with random values and run: refuse it, naming the tensor."""
    folder = save_gpt2()
    edit(folder)
    with pytest.raises(CheckpointError, match="lack") as caught:
        check_checkpoint(ModelSpec.parse(str(folder)))
    assert named in str(caught.value) and "\n" not in str(caught.value)
    _never_load(monkeypatch)
    err = _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1", "--cache", str(tmp_path / "c")])
    assert named in err and "re-save" in err


def _as_bin(folder, drop: str | None = None) -> None:
    """Rewrite a saved checkpoint as ``pytorch_model.bin`` (the older format), without the tensor ``drop``."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(folder / "model.safetensors")
    if drop is not None:
        del tensors[drop]
    torch.save(tensors, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def test_a_pytorch_bin_missing_a_parameter_is_refused_and_a_whole_one_passes(save_gpt2, capsys, monkeypatch,
                                                                             tmp_path):
    whole = save_gpt2()
    _as_bin(whole)
    assert check_checkpoint(ModelSpec.parse(str(whole))).n_layers == 2
    folder = save_gpt2()
    _as_bin(folder, drop="transformer.h.0.attn.c_proj.weight")
    with pytest.raises(CheckpointError, match="lack") as caught:
        check_checkpoint(ModelSpec.parse(str(folder)))
    assert "h.0.attn.c_proj.weight" in str(caught.value) and "\n" not in str(caught.value)
    _never_load(monkeypatch)
    err = _cli_error(capsys, ["harvest", "--model", str(folder), "--windows", "1", "--cache", str(tmp_path / "c")])
    assert "h.0.attn.c_proj.weight" in err and "re-save" in err


def test_a_pytorch_bin_holding_no_state_dict_is_refused(save_gpt2):
    import torch

    folder = save_gpt2()
    (folder / "model.safetensors").unlink()
    torch.save([torch.zeros(2)], folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="not a state dict"):
        check_checkpoint(ModelSpec.parse(str(folder)))


def test_every_parameter_of_a_saved_gpt2_is_expected(save_gpt2):
    """The expected names are exactly what save_pretrained writes (nothing expected that is never saved)."""
    from safetensors import safe_open

    folder = save_gpt2(n_layer=3)
    with safe_open(folder / "model.safetensors", "pt") as handle:
        stored = {k.removeprefix("transformer.") for k in handle.keys()}
    info = check_checkpoint(ModelSpec.parse(str(folder)))
    assert set(checks.expected_tensors(info)) <= stored
