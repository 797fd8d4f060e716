"""Size presets: one setting decides how much every chapter computes, and every size-dependent cache is keyed by it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from darkness_visible import book
from darkness_visible.config import sizes
from darkness_visible.data.corpus import CorpusSpec, token_stream
from darkness_visible.lens.lenses import LensConfig, run_lens
from darkness_visible.tracing import layers
from darkness_visible.tracing.harvest import HarvestConfig, harvest

ROOT = Path(__file__).resolve().parents[2]


def test_paper_preset_is_every_size_of_the_specification():
    """paper-claims §4: 200 DS-A windows, the survey on 0..99, the lens on 204,600 positions, DS-B 195 x 256."""
    paper = sizes.PRESETS["paper"]
    assert paper.windows * 1024 == 204_800
    assert paper.survey_windows * 1024 == 102_400
    assert paper.lens_windows * (1024 - 1) // paper.lens_stride == 204_600
    assert paper.sink_windows == 200
    assert paper.controls_windows * 256 == 49_920
    assert len(paper.null_seeds) == 5 and paper.bootstrap == 10_000
    assert paper.is_paper and not sizes.PRESETS["quick"].is_paper
    quick = sizes.PRESETS["quick"]
    for name in ("windows", "survey_windows", "lens_windows", "sink_windows", "controls_windows", "lens_max_steps"):
        assert getattr(quick, name) < getattr(paper, name), name


def test_size_setting_precedence_and_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sizes.size_setting() == "paper"  # the default
    (tmp_path / "_config.yml").write_text("replication:\n  size: quick\n")
    assert sizes.size_setting() == "quick"
    monkeypatch.setenv("DV_SIZE", "paper")
    assert sizes.size_setting() == "paper"
    assert sizes.size_setting("quick") == "quick"
    monkeypatch.setenv("DV_SIZE", "huge")
    with pytest.raises(ValueError, match="paper, quick"):
        sizes.size_setting()


def test_windows_override_caps_the_derived_slices(monkeypatch):
    monkeypatch.setenv("DV_WINDOWS", "50")
    size = sizes.resolve_size("paper")
    assert (size.windows, size.survey_windows, size.lens_windows, size.sink_windows) == (50, 50, 50, 50)
    assert not size.is_paper and "smaller than the paper" in size.describe()
    assert sizes.resolve_size("paper", windows=120).survey_windows == 100
    monkeypatch.delenv("DV_WINDOWS")
    assert sizes.resolve_size("paper") == sizes.PRESETS["paper"]


@pytest.mark.parametrize("model", ["standin", "tiny", "checkpoint folder"])
@pytest.mark.parametrize("preset", ["paper", "quick"])
def test_a_run_size_never_depends_on_the_model(model, preset, save_gpt2):
    if model == "checkpoint folder":  # a real-checkpoint code path ("pretrained"), random weights
        model = str(save_gpt2(n_positions=1024))
    run = book.start(model, size=preset, show=False)
    assert run.size == sizes.PRESETS[preset]
    assert run.corpus.n_windows == sizes.PRESETS[preset].windows
    assert run.first_windows(run.size.lens_windows).n_windows == min(run.size.lens_windows, run.corpus.n_windows)


def _code_cells(name: str) -> str:
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_each_chapter_takes_its_sizes_from_the_preset():
    """No chapter sizes its work by whether the model is pretrained, or by literal window counts."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = _code_cells(path.name)
        assert not re.search(r"\bFULL\b", code), path.name
        for line in code.splitlines():  # "pretrained" may label a run, never size it
            if "pretrained" in line:
                assert not re.search(r"windows|seeds|steps|stride|Config\(", line), (path.name, line)
        # literal budgets (a 64-token demonstration window in chapter 01 is an example, not a size)
        assert not re.search(r"first_windows\([^)]*\d|seeds\s*=\s*\(|steps\s*=\s*\d|stride\s*=\s*\d", code), path.name
    code = _code_cells("06_crystallization.ipynb")
    for field in ("survey_windows", "sink_windows", "lens_windows", "lens_stride", "controls_windows", "null_seeds"):
        assert f"SIZE.{field}" in code, field
    assert "TunedLensConfig.for_size(SIZE)" in code


@pytest.mark.parametrize("order", [(2, 5), (5, 2)])
def test_the_stream_memo_serves_two_sizes_in_either_order(tiny, order):
    """The bug of chapter 06: a stream tokenised for a small slice was reused for a larger one."""
    layers._STREAMS.clear()
    for n in order:
        spec = CorpusSpec("test", n, 128, "local")
        stream, _ = layers.corpus_stream(tiny, spec)
        assert len(stream) >= spec.n_tokens + 1
        fresh, _ = token_stream(tiny.tokenizer, spec)
        assert np.array_equal(stream[: spec.n_tokens + 1], fresh[: spec.n_tokens + 1])
    whole, _ = layers.corpus_stream(tiny, CorpusSpec("test", 1, 128, "local"), whole=True)
    assert len(whole) > 250_000  # the whole test split (286K tokens), whatever was asked before


@pytest.mark.parametrize("order", [(2, 3), (3, 2)])
def test_size_dependent_caches_in_one_process_in_either_order(tiny, order, tmp_path):
    """Harvest, lens and attention caches at two sizes: each answer equals an uncached run of its own size."""
    layers._STREAMS.clear()
    config = HarvestConfig.for_model(tiny)
    for n in order:
        spec = CorpusSpec("test", n, 64, "local")
        H = harvest(tiny, spec, config, cache=tmp_path, progress=False)
        ref = harvest(tiny, spec, config, cache=False, progress=False)
        assert H.n_tokens == n * 64
        assert np.array_equal(H["logprob/full"], ref["logprob/full"])
        lens = run_lens(tiny, spec, None, LensConfig(stride=4), cache=tmp_path, progress=False)
        lens_ref = run_lens(tiny, spec, None, LensConfig(stride=4), cache=False, progress=False)
        assert np.array_equal(lens.logit, lens_ref.logit) and lens.n_tokens == n * 16
        sink = layers.attention_sink(tiny, spec, head=0, cache=tmp_path, progress=False)
        sink_ref = layers.attention_sink(tiny, spec, head=0, cache=False, progress=False)
        assert len(sink["sink"]) == n * 64 and np.array_equal(sink["sink"], sink_ref["sink"])
