"""Shared fixtures: the tiny model, a tiny corpus slice, an isolated cache and settings."""

from __future__ import annotations

import pytest

from darkness_visible.corpus import CorpusSpec
from darkness_visible.model import load_model


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path_factory):
    """Tests never read the developer's DV_* variables or write to their cache."""
    for name in ("DV_MODEL", "DV_WINDOWS", "DV_SIZE", "DV_DEVICE", "DV_CORPUS_SOURCE", "DV_RESULTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DV_CACHE", str(tmp_path_factory.mktemp("dv-cache")))
    monkeypatch.setenv("DV_CORPUS_SOURCE", "local")


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
    from darkness_visible.model import ModelUnavailableError

    try:
        return load_model("openai-community/gpt2")
    except ModelUnavailableError as error:
        pytest.skip(f"GPT-2 Small's weights are not available here: {str(error).splitlines()[0]}")
