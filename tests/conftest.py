"""Shared fixtures: the tiny model, a tiny corpus slice, an isolated cache and settings."""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.models.loading import load_model

# hypothesis keeps no example database and its other files in a temporary folder, not in the checkout
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="dv-hypothesis-"))
settings.register_profile("darkness-visible", database=None)
settings.load_profile("darkness-visible")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path_factory):
    """Tests never read the developer's DV_* variables, write to their cache or into the checkout's _build/."""
    for name in ("DV_MODEL", "DV_WINDOWS", "DV_SIZE", "DV_DEVICE", "DV_CORPUS_SOURCE", "DV_RESULTS", "DV_SPLIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DV_CACHE", str(tmp_path_factory.mktemp("dv-cache")))
    monkeypatch.setenv("DV_RESULTS", str(tmp_path_factory.mktemp("dv-results")))
    monkeypatch.setenv("DV_CORPUS_SOURCE", "local")
    from darkness_visible.io import cache

    monkeypatch.setattr(cache, "_CHOSEN", [])  # the cache folder a test chose does not outlive it


@pytest.fixture(scope="session")
def tiny():
    """The 2-layer, 256-neuron test model (seed 0) wrapped in nnsight."""
    return load_model("tiny")


@pytest.fixture(scope="session")
def tiny_corpus() -> CorpusSpec:
    """Three 128-token windows of the shipped WikiText-103 test split."""
    return CorpusSpec(n_windows=3, window=128, source="local")


@pytest.fixture(scope="session")
def gpt2():
    """The real GPT-2 Small (pinned revision), loaded once; the test is skipped, with the reason, without it."""
    from darkness_visible.models.loading import ModelUnavailableError

    try:
        return load_model("openai-community/gpt2")
    except ModelUnavailableError as error:
        pytest.skip(f"GPT-2 Small's weights are not available here: {str(error).splitlines()[0]}")


@pytest.fixture(scope="session")
def save_gpt2(tmp_path_factory):
    """``save_gpt2(**config) -> folder``: a random GPT-2 checkpoint (tiny by default) saved with
    ``save_pretrained`` into a fresh temporary folder; keyword arguments override ``GPT2Config`` fields."""
    from transformers import GPT2Config

    from darkness_visible.models.loading import random_model

    def save(seed: int = 0, **overrides):
        base = dict(vocab_size=50257, n_positions=128, n_embd=32, n_layer=2, n_head=2, n_inner=64,
                    activation_function="gelu_new")
        folder = tmp_path_factory.mktemp("ckpt")
        random_model(GPT2Config(**{**base, **overrides}), seed).save_pretrained(folder)
        return folder

    return save
