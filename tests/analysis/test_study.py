"""The neurons under study (issue 23): one answer per run, the paper's lists only on GPT-2 Small."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from darkness_visible import book
from darkness_visible.analysis import study as S
from darkness_visible.data import neurons
from darkness_visible.discovery.discover import HandlerReport


def test_paper_study_is_the_paper_lists():
    s = S.paper_study()
    assert s.is_paper and s.found and s.layer == neurons.PAPER_LAYER
    assert s.indicator == neurons.EXCEPTION_NEURON and s.handler == neurons.HANDLER and s.routing == neurons.ROUTING
    assert s.tiers == neurons.HANDLER_TIERS
    assert "exception indicator" in s.name(neurons.EXCEPTION_NEURON)


def test_discovered_study_has_no_paper_names():
    report = HandlerReport(indicator=40, core=(40, 7), differentiators=(3, 9), specialists=(), consensus=(1, 2, 5))
    s = S.from_report(report, layer=3, n_layers=4, d_mlp=64, model="planted")
    assert not s.is_paper and s.found and s.core == (40, 7) and s.routing == (40, 7, 3, 9, 1, 2, 5)
    assert s.nonempty_tiers == {"core": (40, 7), "differentiator": (3, 9)}
    assert s.role(9) == "differentiator" and s.name(40) == "N40 (discovered indicator)" and s.name(11) == "N11"
    assert "discovered" in s.describe()


def test_no_handler_says_so_in_one_sentence():
    s = S.from_report(HandlerReport(indicator=None), layer=1, n_layers=2, d_mlp=256, model="tiny")
    assert not s.found and s.routing == () and s.indicator_label == "no indicator"
    sentence = s.describe()
    assert sentence == s.missing() and sentence.count(". ") == 0 and "layer 1 of tiny" in sentence


def test_layer_setting(monkeypatch):
    monkeypatch.delenv("DV_LAYER", raising=False)
    assert S.layer_setting() is None and S.layer_setting(2) == 2
    monkeypatch.setenv("DV_LAYER", "-2")
    assert S.layer_setting() == -2
    monkeypatch.setenv("DV_LAYER", "last")
    with pytest.raises(Exception, match="DV_LAYER"):
        S.layer_setting()


def test_needs():
    found = S.from_report(HandlerReport(indicator=4, core=(4,), consensus=()), 1, 2, 8)
    run = SimpleNamespace(study=found)
    assert book.needs(run) and not book.needs(run, "consensus") and not book.needs(run, "paper")
    assert book.needs(SimpleNamespace(study=S.paper_study()), "paper")
    with pytest.raises(ValueError):
        book.needs(run, "handlers")


def test_glue_references_and_placeholders(monkeypatch):
    nb = {"cells": [{"cell_type": "markdown", "source": ["N is {glue:text}`a` and {glue}`b:.2f`.\n",
                                                         "```{glue:figure} fig-x\n", ":name: x\n```"]},
                    {"cell_type": "code", "source": ["book.glue('c', 1)"]}]}
    assert book.glue_references(nb) == (["a", "b"], ["fig-x"])
    monkeypatch.setattr(book, "_SKIPPED", [])
    assert book.glue_missing("02_exception_handler") == []  # nothing skipped: nothing glued


def test_glue_missing_fills_only_what_was_not_glued(monkeypatch):
    monkeypatch.setattr(book, "_SKIPPED", ["consensus"])
    monkeypatch.setattr(book, "_GLUED", {"rate_abs"})
    monkeypatch.setattr(book, "glue_figure", lambda name, fig: book._GLUED.add(name))
    filled = book.glue_missing("02_exception_handler")
    assert "rate_abs" not in filled and "rate_pos" in filled and "fig-handler-regimes" in filled
