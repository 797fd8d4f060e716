import time

import pytest
import torch

from darkness_visible.models import loading as dvm
from darkness_visible.models.identity import GPT2_REVISION
from darkness_visible.models.loading import ModelSpec, ModelUnavailableError, load_model


def test_parse_kinds(tmp_path):
    assert ModelSpec.parse("openai-community/gpt2") == ModelSpec("hub", "openai-community/gpt2", GPT2_REVISION)
    assert ModelSpec.parse("gpt2-medium@abc").revision == "abc"
    assert ModelSpec.parse("standin:3") == ModelSpec("standin", "standin", None, 3)
    assert ModelSpec.parse("tiny").seed == 0
    assert ModelSpec.parse(str(tmp_path)).kind == "local"
    with pytest.raises(ValueError, match="seed"):
        ModelSpec.parse("standin:x")
    assert not ModelSpec.parse("standin").is_pretrained and ModelSpec.parse("gpt2").is_pretrained


def test_tokenizer_is_gpt2s_and_adds_no_bos():
    tok = dvm.load_tokenizer()
    assert tok("The capital of France is", add_special_tokens=False)["input_ids"] == [464, 3139, 286, 4881, 318]
    assert tok("The capital of France is")["input_ids"][0] == 464
    assert len(tok) == 50257


def test_standin_config_is_exactly_gpt2_small():
    cfg = dvm.gpt2_small_config()
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_positions, cfg.vocab_size) == (12, 768, 12, 1024, 50257)
    assert cfg.n_inner is None and cfg.activation_function == "gelu_new"


def test_random_models_are_seeded_eval_and_dropout_free():
    a = dvm.random_model(dvm.tiny_config(), seed=1)
    b = dvm.random_model(dvm.tiny_config(), seed=1)
    c = dvm.random_model(dvm.tiny_config(), seed=2)
    wa, wb, wc = (m.transformer.h[0].mlp.c_fc.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert not a.training and a.config.resid_pdrop == a.config.attn_pdrop == a.config.embd_pdrop == 0.0


def test_subject_accessors(tiny):
    assert (tiny.n_layers, tiny.d_mlp, tiny.n_ctx) == (2, 256, 128)
    assert tiny.w_out().shape == (256, 64) and tiny.b_out().shape == (64,)
    assert tiny.w_u.shape == (50257, 64)
    assert tiny.layer_index(None) == 1 and tiny.layer_index(-2) == 0
    with pytest.raises(IndexError, match="has 2 layers"):
        tiny.layer_index(2)


def test_offline_without_cache_fails_fast_and_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        load_model("openai-community/gpt2")
    assert time.perf_counter() - start < 30
    text = str(info.value)
    assert "download" in text and "DV_MODEL=standin" in text and "NOT GPT-2" in text


def test_wrong_model_id_is_reported_as_such(monkeypatch):
    import transformers

    def not_found(name, **kwargs):
        if kwargs.get("local_files_only"):
            raise OSError("not cached")
        raise OSError(f"{name} is not a local folder and is not a valid model identifier listed on the hub")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", not_found)
    monkeypatch.setattr("darkness_visible.io.hub.reachable", lambda timeout=3.0: True)
    with pytest.raises(ModelUnavailableError, match="not a model on the Hugging Face hub"):
        load_model("openai-community/gtp2")


def test_local_folder_missing_files_and_round_trip(tmp_path, tiny):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match="config.json, model.safetensors"):
        load_model(str(empty))
    saved = tmp_path / "saved"
    tiny.hf.save_pretrained(saved)
    loaded = load_model(str(saved))
    assert loaded.spec.kind == "local" and loaded.spec.is_pretrained
    ids = torch.tensor([[464, 3139, 286, 4881, 318]])
    with torch.inference_mode():
        assert torch.allclose(loaded.hf(ids).logits, tiny.hf(ids).logits)


@pytest.mark.real_weights
def test_real_gpt2_loads_with_the_pinned_revision(gpt2):
    subject = gpt2
    assert (subject.n_layers, subject.d_mlp) == (12, 3072)
    ids = torch.tensor([subject.tokenizer("The capital of France is")["input_ids"]])
    with torch.inference_mode():
        top = subject.hf(ids).logits[0, -1].topk(10).indices.tolist()
    assert subject.tokenizer(" Paris")["input_ids"][0] in top


def test_check_available_without_loading(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    dvm.check_available(ModelSpec.parse("standin"))
    with pytest.raises(ModelUnavailableError, match="DV_MODEL=standin"):
        dvm.check_available(ModelSpec.parse("openai-community/gpt2"))
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        dvm.check_available(ModelSpec.parse(str(tmp_path / "nowhere")))


# -- issue 15 -------------------------------------------------------------------------------------------------


def test_paths_are_told_from_hub_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ("runs/gpt2/final", "runs/gpt2/", "./ckpt", "../ckpt", "~/ckpt", "my model", "a\\b"):
        assert ModelSpec.parse(text).kind == "local", text
    assert ModelSpec.parse("runs/gpt2/final").name == str(tmp_path / "runs" / "gpt2" / "final")
    for text in ("gpt2", "openai-community/gpt2-medium", "distilbert/distilgpt2@main", "org/na.me_1-x"):
        assert ModelSpec.parse(text).kind == "hub", text
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "name").mkdir()
    assert ModelSpec.parse("org/name").kind == "local", "an existing folder wins over the hub id"


def test_a_hub_error_for_a_path_shaped_id_mentions_the_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailableError, match=r"No folder checkpoints/gpt2 exists .*write \./checkpoints/gpt2"):
        load_model("checkpoints/gpt2")


def test_the_setting_parses_back_to_the_spec():
    for text in ("openai-community/gpt2", "gpt2-medium@abc", "standin:3", "tiny"):
        spec = ModelSpec.parse(text)
        assert ModelSpec.parse(spec.setting) == spec


def test_the_key_of_a_checkpoint_is_its_content(save_gpt2, tmp_path):
    import shutil

    a = save_gpt2(seed=0)
    b = tmp_path / "copy"
    shutil.copytree(a, b)
    ka, kb = ModelSpec.parse(str(a)).key(), ModelSpec.parse(str(b)).key()
    assert ka["weights"] == kb["weights"] and ka["name"] != kb["name"]
    load_model("tiny:5").hf.save_pretrained(b)
    assert ModelSpec.parse(str(b)).key()["weights"] != ka["weights"]
    assert load_model(str(b)).spec.weights == ModelSpec.parse(str(b)).key()["weights"]
    assert "weights" not in ModelSpec.parse("tiny").key()
