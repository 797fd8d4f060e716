"""The benchmark harness's own logic (not timings): interleaving, ratios, names, the FLOP count."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run as bench  # noqa: E402


def test_unknown_benchmark_lists_the_names(capsys):
    assert bench.main(["nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark nonsense" in err and "fullsize" in err and "harvest" in err


def test_variants_are_timed_interleaved():
    calls = []
    times = bench.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3)
    assert calls == ["a", "b"] * 3
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}


def test_round_ratios_are_the_median_of_per_round_ratios():
    ratio, text = bench.round_ratios([1.0, 2.0, 10.0], [2.0, 2.0, 5.0])  # per round: 0.5, 1, 2
    assert ratio == pytest.approx(1.0)
    assert "3 rounds" in text and "0.5-2" in text


def test_flop_count_of_the_paper_build(tmp_path):
    flops, counts = bench.build_flops(tmp_path)  # empty cache: dense lens, full training budget
    per_token = (flops["harvest (forward + 3 unembeddings)"] * 1e12) / 204_800
    assert 0.3e9 < per_token < 0.6e9  # forward ~0.19 GFLOP + three 77 MFLOP unembeddings
    assert flops["lens (24 lens decodings, as run)"] == pytest.approx(flops["lens (24 lens decodings, dense)"])
    assert counts["tuned-lens steps"] == 300
    # chapter 06 traces its 200 windows once for the survey, the attention and the lens: one forward, no more
    harvest_forward = flops["harvest (forward + 3 unembeddings)"] - 3 * 2 * 768 * 50257 * 204_800 / 1e12
    assert flops["chapter 06 shared pass (forward)"] == pytest.approx(harvest_forward)


@pytest.mark.parametrize("text", ["{not json", "[]", "null", '{"results": 3}', '{"machine": {}}'])
def test_a_corrupt_results_file_is_one_line_before_any_benchmark_runs(text, tmp_path, monkeypatch, capsys):
    (tmp_path / "results.json").write_text(text)
    monkeypatch.setattr(bench, "HERE", tmp_path)
    name = next(iter(bench.BENCHMARKS))
    monkeypatch.setitem(bench.BENCHMARKS, name, lambda: pytest.fail("a benchmark ran"))
    capsys.readouterr()
    assert bench.main([name]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "results.json" in err
