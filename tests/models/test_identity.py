"""Only GPT-2 Small at the pinned revision is identified as GPT-2; every other model is named and refused."""

import hashlib

import pytest

from darkness_visible.errors import CheckpointError
from darkness_visible.models import identity
from darkness_visible.models.identity import GPT2_REVISION
from darkness_visible.models.loading import ModelSpec


def test_hub_id_at_the_pinned_revision_is_gpt2_small():
    ident = ModelSpec.parse("openai-community/gpt2").identity
    assert ident.gpt2_small and GPT2_REVISION[:7] in ident.how


@pytest.mark.parametrize("setting, why", [("openai-community/gpt2@main", "not the pinned"),
                                           ("gpt2-medium", "is not openai-community/gpt2"),
                                           ("standin", "random weights"), ("tiny:3", "random weights")])
def test_everything_else_is_not_verified(setting, why):
    spec = ModelSpec.parse(setting)
    assert not spec.is_gpt2_small and why in spec.identity.how
    assert "not verified as GPT-2" in spec.identity.label


def test_a_gpt2_shaped_folder_with_other_weights_is_not_gpt2(save_gpt2):
    folder = save_gpt2()  # a real, loadable checkpoint whose weights are random
    ident = ModelSpec.parse(str(folder)).identity
    assert not ident.gpt2_small and "match no published or recorded checksum" in ident.how


def test_a_folder_matching_the_published_checksum_is_gpt2(tmp_path, monkeypatch):
    weights = b"pretend these are GPT-2's weights"
    (tmp_path / "model.safetensors").write_bytes(weights)
    digest = hashlib.sha256(weights).hexdigest()
    monkeypatch.setitem(identity.PUBLISHED_SHA256, "model.safetensors", (digest, len(weights)))
    assert identity.folder_matches(tmp_path)[0]
    monkeypatch.setitem(identity.PUBLISHED_SHA256, "model.safetensors", ("0" * 64, len(weights)))
    assert not identity.folder_matches(tmp_path)[0], "same size, another hash: refused"


def test_download_records_checksums_that_then_identify_a_copy(tmp_path):
    fetched, copy, record = tmp_path / "snapshot", tmp_path / "copy", tmp_path / "record.json"
    fetched.mkdir(), copy.mkdir()
    (fetched / "pytorch_model.bin").write_bytes(b"pinned bin file")
    (copy / "pytorch_model.bin").write_bytes(b"pinned bin file")
    assert not identity.folder_matches(copy, record)[0], "nothing recorded yet"
    assert identity.record_download(fetched, "deadbeef", record) == {}, "another revision records nothing"
    found = identity.record_download(fetched, GPT2_REVISION, record)
    assert found == {"pytorch_model.bin": hashlib.sha256(b"pinned bin file").hexdigest()}
    assert identity.folder_matches(copy, record)[0]
    (copy / "pytorch_model.bin").write_bytes(b"edited")
    assert not identity.folder_matches(copy, record)[0]


def test_download_refuses_a_safetensors_file_that_is_not_the_pinned_one(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not gpt2")
    with pytest.raises(CheckpointError, match="does not match the published checksum"):
        identity.record_download(tmp_path, GPT2_REVISION, tmp_path / "record.json")


def _fake_snapshot(tmp_path, monkeypatch, weights: bytes):
    """A Hugging Face cache holding ``openai-community/gpt2`` at the pinned revision with ``weights``."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    snap = cache / "models--openai-community--gpt2" / "snapshots" / GPT2_REVISION
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (snap / "model.safetensors").write_bytes(weights)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return snap


def test_a_cached_snapshot_at_the_pinned_revision_with_other_weights_is_not_gpt2(tmp_path, monkeypatch):
    """Issue 25: the pinned revision's folder in the HF cache is checked against the published SHA-256."""
    snap = _fake_snapshot(tmp_path, monkeypatch, b"other weights in the pinned revision's folder")
    spec = ModelSpec.parse("openai-community/gpt2")
    assert identity.hub_snapshot(spec) == snap
    ident = spec.identity
    assert not ident.gpt2_small and "holds other weights" in ident.how and "not verified as GPT-2" in ident.label


def test_a_cached_snapshot_matching_the_published_checksum_is_gpt2_and_hashed_once(tmp_path, monkeypatch):
    from darkness_visible.io import cache

    weights = b"pretend these are GPT-2's weights"
    _fake_snapshot(tmp_path, monkeypatch, weights)
    monkeypatch.setitem(identity.PUBLISHED_SHA256, "model.safetensors",
                        (hashlib.sha256(weights).hexdigest(), len(weights)))
    calls = []
    real = cache._sha256
    monkeypatch.setattr(cache, "_sha256", lambda path: calls.append(path) or real(path))
    spec = ModelSpec.parse("openai-community/gpt2")
    assert spec.identity.gpt2_small and "cached snapshot" in spec.identity.how
    assert spec.identity.gpt2_small and len(calls) == 1, "hashed once, then remembered"
    cache._DIGESTS.clear()
    assert spec.identity.gpt2_small and len(calls) == 1, "remembered in the cache folder by size and mtime"
