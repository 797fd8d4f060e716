"""What a new user runs into: a killed harvest, and a notebook run twice in one kernel."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from darkness_visible.corpus import CorpusSpec
from darkness_visible.harvest import HarvestConfig, harvest

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
