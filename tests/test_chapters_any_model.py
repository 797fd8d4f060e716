"""Issue 23: the chapters run on any model, so no chapter code cell spells GPT-2 Small's layer, width or a named
neuron's index; the layer and the neurons come from ``run.study`` (:mod:`darkness_visible.analysis.study`).

A literal is allowed only on a line that says it is the paper's value (mentions "paper" or "GPT-2 Small").
The slow test executes every chapter command on the tiny model at the quick size.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from darkness_visible.data import neurons

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
#: GPT-2 Small's last layer and MLP width, and every named neuron's index (N2 is left out: a bare 2 is too
#: common to mean anything). Word boundaries: "N2123", "n2123" or "a_2123" (names) do not match, a bare 2123 does.
FORBIDDEN = sorted({str(neurons.PAPER_LAYER), "3072", "3,072"}
                   | {str(n.index) for n in neurons.NAMED_NEURONS if n.index >= 10}, key=len, reverse=True)
PATTERN = re.compile(r"(?<![\w.,])(" + "|".join(re.escape(f) for f in FORBIDDEN) + r")(?![\w.]|,\d)")
ALLOWED = re.compile(r"paper|GPT-2 Small")  # case-sensitive: PAPER_KNOWN is no excuse


def code_lines(path: Path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            for number, line in enumerate("".join(cell["source"]).splitlines(), 1):
                yield cell.get("id"), number, line


def offending(path: Path) -> list[str]:
    return [f"{path.name} cell {cid} line {n}: {line.strip()}" for cid, n, line in code_lines(path)
            if PATTERN.search(line) and not ALLOWED.search(line)]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 6


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_hard_coded_layer_or_neuron(path):
    found = offending(path)
    assert not found, ("chapter code names GPT-2 Small's layer, width or a neuron index; take it from run.study "
                       "(or say on the line that it is the paper's value):\n" + "\n".join(found))


def test_pattern_catches_the_issue_cases():
    bad = ["block = model.transformer.h[11]", "act[..., 2123]", "assert subject.d_mlp == 3072",
           "shown = (EXCEPTION, 2910, 2)", "title='all 3,072 neurons'"]
    good = ["block = model.transformer.h[L]", "label = 'N2123'", "table['n2123']", "'|a_2123|'",
            "chance = 20 * 27 / 3072   # the paper's value on GPT-2 Small", "x = 1.11", "range(12)"]
    assert all(PATTERN.search(s) for s in bad)
    assert not any(PATTERN.search(s) and not ALLOWED.search(s) for s in good)


def test_chapters_read_the_study():
    for path in CHAPTERS:
        text = path.read_text()
        assert "run.study" in text, f"{path.name} does not resolve the neurons under study"


COMMANDS = ("tracing", "exception-handler", "consensus-crossover", "knowledge-neurons", "garden-path",
            "crystallization")


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_chapter_runs_on_tiny(command, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "DV_SIZE": "quick", "DV_RESULTS": str(tmp_path / "results")}
    done = subprocess.run([sys.executable, "-m", "darkness_visible", command, "--model", "tiny",
                           "--build-dir", str(tmp_path / "build")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
