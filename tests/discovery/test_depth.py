"""Discovery on a model: every layer from one pass (a planted layer found, random layers not), the plot,
and the ``discover`` command's text and JSON."""

from __future__ import annotations

import json

import pytest

from darkness_visible.cli import main
from darkness_visible.discovery.depth import describe, discover_layer, discover_layers
from darkness_visible.discovery.discover import DiscoverConfig
from darkness_visible.discovery.planted_random import SMALL_SHAPES, build_random_planted, discovery_corpus
from darkness_visible.plotting.discovery import depth_figure


@pytest.fixture(scope="module")
def planted_last():
    """A 3-layer random GPT-2 with a handler planted (gate on a residual direction) in its last block."""
    return build_random_planted(0, shape=SMALL_SHAPES[1], layer=-1, mechanism="direction")


def test_every_layer_from_one_pass_finds_the_planted_layer_only(planted_last) -> None:
    result = discover_layers(planted_last.subject, discovery_corpus(planted_last), DiscoverConfig(n_boot=10),
                             cache=False)
    t = result.table
    assert list(t.layer) == [0, 1, 2] and not result.is_pretrained
    assert result.layers_with_handler == [planted_last.key.layer]
    row = t.set_index("layer").loc[planted_last.key.layer]
    assert row.indicator in planted_last.key.indicators and row.indicator_share >= 0.9
    assert row.core_size >= 2 and row.n_consensus >= 1
    assert (t.set_index("layer").loc[[0, 1], "core_size"] == 0).all()
    fig = depth_figure(t, result.label)
    assert len(fig.axes) == 2 and result.label in fig.texts[0].get_text()
    assert any("stability needed" in t.get_text() for t in fig.legends[0].get_texts())  # the dashed line


def test_one_layer_run_agrees_with_the_all_layer_pass(planted_last) -> None:
    run = discover_layer(planted_last.subject, discovery_corpus(planted_last), None, DiscoverConfig(n_boot=5),
                         cache=False)
    assert run.layer == planted_last.key.layer and run.report.indicator in planted_last.key.indicators
    text = describe(run)
    assert f"indicator: N{run.report.indicator}" in text and "not GPT-2" in text
    data = run.to_json()
    assert data["layer"] == run.layer and data["indicator"] == run.report.indicator


def test_discover_command_prints_one_json_object(capsys, tmp_path) -> None:
    code = main(["discover", "--model", "tiny", "--windows", "4", "--cache", str(tmp_path), "--json",
                 "--boot", "5"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"indicator", "core", "differentiators", "specialists", "consensus", "stability", "warnings",
            "layer", "model"} <= set(data)
    assert data["layer"] == 1 and (data["indicator"] is None or isinstance(data["indicator"], int))
    assert all(isinstance(data[k], list) for k in ("core", "differentiators", "specialists", "consensus"))


def test_discover_command_text_and_layer_option(capsys, tmp_path) -> None:
    assert main(["discover", "--model", "tiny", "--windows", "2", "--layer", "0", "--cache", str(tmp_path),
                 "--boot", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "layer: 0" in out and ("indicator:" in out or "no handler" in out)


def test_discover_command_all_layers(capsys, tmp_path) -> None:
    assert main(["discover", "--model", "tiny", "--windows", "2", "--all-layers", "--json", "--boot", "0",
                 "--cache", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in data["layers"]] == [0, 1] and data["pretrained"] is False
    assert all("indicator" in r and "core" in r for r in data["layers"])
    assert all("downstream_of" in r for r in data["layers"])  # issue 24: echoes of an earlier handler
    assert main(["discover", "--model", "tiny", "--windows", "2", "--all-layers", "--boot", "0", "--quiet",
                 "--cache", str(tmp_path)]) == 0
    assert "downstream_of" in capsys.readouterr().out


def test_per_layer_reports_are_cached_exactly(planted_last, tmp_path, monkeypatch) -> None:
    import pandas as pd

    from darkness_visible.discovery import depth as handler_depth
    from darkness_visible.discovery.discover import HandlerReport, discover

    corpus, config = discovery_corpus(planted_last), DiscoverConfig(n_boot=10)
    fresh = discover_layers(planted_last.subject, corpus, config, cache=tmp_path)
    assert len(list(tmp_path.glob("discover-*.json"))) == 3  # one report per layer, keyed by its masks

    def refuse(*args, **kwargs):
        raise AssertionError("discovery ran although the cache holds the report")

    monkeypatch.setattr("darkness_visible.discovery.discover.window_ids", refuse)  # the first step of a discovery
    warm = handler_depth.discover_layers(planted_last.subject, corpus, config, cache=tmp_path)
    pd.testing.assert_frame_equal(warm.table, fresh.table)
    found = fresh.reports[planted_last.key.layer]
    again = warm.reports[planted_last.key.layer]
    assert again == found  # every compared field: roles, stability, cuts, warnings, counts
    assert list(again.members.columns) == list(found.members.columns) and len(again.members) == len(found.members)
    with pytest.raises(AssertionError, match="cache holds"):
        handler_depth.discover_layers(planted_last.subject, corpus, DiscoverConfig(n_boot=11), cache=tmp_path)
    # the state round trip is exact on a report computed directly, data frames included
    monkeypatch.undo()
    masks_report = discover(*_masks(planted_last), config)
    back = HandlerReport.from_state(masks_report.to_state())
    assert back == masks_report
    pd.testing.assert_frame_equal(back.candidates, masks_report.candidates, check_dtype=False)
    pd.testing.assert_frame_equal(back.members, masks_report.members, check_dtype=False)


def _masks(planted):
    from darkness_visible.discovery.planted_random import planted_masks

    pos, ab, win = planted_masks(planted)
    return pos, ab, win
