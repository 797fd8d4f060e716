"""What a new user runs into: a killed harvest, a notebook run twice in one kernel, out-of-range settings, and
chapters on GPT-2 checkpoints of other depths, widths and contexts."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.tracing.harvest import HarvestConfig, harvest

ROOT = Path(__file__).resolve().parents[1]


def test_killed_harvest_leaves_whole_chunks_and_a_rerun_completes(tmp_path, tiny):
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "darkness_visible", "harvest", "--model", "tiny", "--windows", "12",
           "--cache", str(cache), "--quiet", "--batch-size", "1"]
    env = {**os.environ, "DV_CORPUS_SOURCE": "local"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not list(cache.glob("harvest-*/chunk-00001.npz")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    folder = next(cache.glob("harvest-*"))
    assert not (folder / "manifest.json").exists(), "killed before the end: the cache must not claim completeness"
    done = sorted(folder.glob("chunk-*.npz"))
    assert 1 <= len(done) < 3
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    assert (folder / "manifest.json").exists() and not list(folder.glob(".tmp-*"))
    resumed = harvest(tiny, CorpusSpec(n_windows=12, window=128, source="local"), HarvestConfig.for_model(tiny),
                      cache=cache, progress=False)
    clean = harvest(tiny, CorpusSpec(n_windows=12, window=128, source="local"), HarvestConfig.for_model(tiny),
                    cache=False, progress=False)
    for key in clean.arrays:
        assert np.array_equal(resumed[key], clean[key]), key


@pytest.mark.chapter
@pytest.mark.slow
def test_chapter_01_runs_twice_in_one_kernel(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "01_tracing.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and "google.colab" not in c.source]
    nb.cells = code + [nbformat.v4.new_code_cell(c.source) for c in code]
    monkeypatch.setenv("DV_MODEL", "tiny")
    monkeypatch.setenv("DV_WINDOWS", "2")
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


# -- issue 15: settings as spaces, and chapters on other GPT-2 shapes -------------------------------------------




@given(n_windows=st.integers(-100, 100), window=st.integers(-100, 2048))
def test_corpus_sizes_below_one_are_refused(n_windows, window):
    from darkness_visible.errors import SettingError

    if n_windows >= 1 and window >= 1:
        spec = CorpusSpec(n_windows=n_windows, window=window)
        assert spec.n_tokens == n_windows * window
    else:
        with pytest.raises(SettingError, match="at least 1"):
            CorpusSpec(n_windows=n_windows, window=window)


@given(batch=st.integers(-100, 100))
def test_batch_sizes_below_one_are_refused(batch):
    from darkness_visible.errors import SettingError

    if batch >= 1:
        assert HarvestConfig(batch_size=batch).batch_size == batch
    else:
        with pytest.raises(SettingError, match="batch size"):
            HarvestConfig(batch_size=batch)


@settings(max_examples=30)
@given(tokens=st.integers(0, 300), window=st.integers(1, 200), n_windows=st.integers(1, 5))
def test_a_short_corpus_names_a_reachable_fix(tokens, window, n_windows):
    from darkness_visible.data.corpus import windows
    from darkness_visible.errors import CorpusError

    spec = CorpusSpec(n_windows=n_windows, window=window)
    if tokens >= n_windows * window + 1:
        inputs, _ = windows(np.zeros(tokens, dtype=np.int32), spec)
        assert inputs.shape == (n_windows, window)
        return
    with pytest.raises(CorpusError) as info:
        windows(np.zeros(tokens, dtype=np.int32), spec)
    text = str(info.value)
    assert "-1" not in text and "at most 0" not in text
    assert ("at most" in text) is (tokens - 1 >= window)


def test_an_empty_sentence_is_refused_in_one_line(tiny):
    from darkness_visible.analysis.garden_path import trace_sentences
    from darkness_visible.errors import SettingError

    with pytest.raises(SettingError, match="sentence 1 .* has no tokens"):
        trace_sentences(tiny, ["The dog barked.", ""])


def test_a_non_final_layer_with_ablation_variants_fails_before_the_pass(tiny, monkeypatch):
    from darkness_visible.errors import LayerError
    from darkness_visible.tracing import harvest as hv
    from darkness_visible.tracing.harvest import Variant

    monkeypatch.setattr(hv, "trace_batch", lambda *a, **k: pytest.fail("the pass ran"))
    with pytest.raises(LayerError, match="HarvestConfig.for_model"):
        harvest(tiny, CorpusSpec(n_windows=1, window=16, source="local"),
                HarvestConfig(layer=0, variants=(Variant("no_mlp", whole_mlp=True),), record=(), tiers=()),
                cache=False, progress=False)
    config = HarvestConfig.for_model(tiny, layer=0)
    assert [v.name for v in config.variants] == ["lens_prev_block"]


def test_chapters_use_the_models_context_for_windows(save_gpt2):
    from darkness_visible.book import start

    short = save_gpt2(n_positions=64)
    assert start(str(short), 1, show=False).corpus.window == 64
    assert start("standin", 1, show=False).corpus.window == 1024
    assert start("tiny", 1, show=False).corpus.window == 128


def test_controls_windows_fit_a_short_context():
    from darkness_visible.analysis.controls import controls_corpus

    assert controls_corpus(CorpusSpec(n_windows=2, window=64, source="local")).window == 64
    assert controls_corpus(CorpusSpec(n_windows=2, window=1024, source="local")).window == 256


def test_the_sink_head_on_a_model_with_fewer_heads_is_skipped_in_one_line(capsys):
    from darkness_visible.models.loading import load_model
    from darkness_visible.tracing.layers import SINK_HEAD, attention_sink

    eager = load_model("tiny", attn_implementation="eager")  # 4 heads: no head 7
    assert eager.hf.config.n_head <= SINK_HEAD
    stats = attention_sink(eager, CorpusSpec(n_windows=1, window=32, source="local"), progress=False)
    assert np.isnan(stats["sink"]).all() and np.isnan(stats["entropy"]).all()
    assert stats["importance"].shape == (32, eager.hf.config.n_head) and np.isfinite(stats["importance"]).all()
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("skipped: head 7") and "4 heads" in out[0]


@pytest.mark.chapter
@pytest.mark.slow
def test_chapter_06_runs_on_a_four_layer_gpt2_folder(save_gpt2, tmp_path, capsys):
    """Chapter 06 on a 4-layer, 4-head GPT-2 with a 256-token context (named neurons exist: 3,072 wide MLP)."""
    from darkness_visible.cli import main

    folder = save_gpt2(n_layer=4, n_head=4, n_embd=64, n_inner=3072, n_positions=256)
    assert main(["crystallization", "--model", str(folder), "--windows", "2", "--cache", str(tmp_path / "c"),
                 "--build-dir", str(tmp_path / "b")]) == 0
    nb = nbformat.read(tmp_path / "b" / "executed" / "06_crystallization.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert "skipped: head 7" in text
