"""Every exercise check accepts its model answer (:mod:`darkness_visible.exercises.solutions`) and rejects a set
of wrong answers, the mistakes students make; a check that accepts one of them fails this test. The model
answers are not in the modules students import as ``ex``."""

from __future__ import annotations

import dataclasses
import importlib
import re

import numpy as np
import pytest
import torch

from darkness_visible.exercises import consensus, crosslayer, garden_path, knowledge, tiers, tracing
from darkness_visible.exercises.solutions import consensus as s_consensus
from darkness_visible.exercises.solutions import crosslayer as s_crosslayer
from darkness_visible.exercises.solutions import garden_path as s_garden_path
from darkness_visible.exercises.solutions import knowledge as s_knowledge
from darkness_visible.exercises.solutions import tiers as s_tiers
from darkness_visible.exercises.solutions import tracing as s_tracing

CHECK_MODULES = (tracing, tiers, consensus, knowledge, garden_path, crosslayer)
PROMPT, TARGET = "The capital of France is", " Paris"


@pytest.fixture(scope="module")
def tok():
    from darkness_visible.models.loading import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="module")
def attrs():
    from darkness_visible.analysis import knowledge as kn

    rng = np.random.default_rng(0)
    out = []
    for i in range(6):
        act, grad = rng.normal(size=3072).astype(np.float32), rng.normal(size=3072).astype(np.float32)
        out.append(kn.Attribution(f"p{i}", " t", 1, "logit", "act", 4, act, grad, act * grad, np.zeros(5)))
    return out


@pytest.fixture(scope="module")
def hits():
    rng = np.random.default_rng(4)
    return rng.random((300, 13)) < np.linspace(0.05, 0.5, 13)


@pytest.fixture
def env(tiny, tok, attrs, hits):
    return {"tiny": tiny, "tok": tok, "attrs": attrs, "hits": hits}


# ------------------------------------------------------------------ the model answers pass

RIGHT = {
    "check_fires": lambda e: tracing.check_fires(s_tracing.reference_fires),
    "check_without": lambda e: tracing.check_without(s_tracing.reference_without, e["tiny"]),
    "check_decompose": lambda e: tracing.check_decompose(s_tracing.reference_decompose),
    "check_conditional_rates": lambda e: tiers.check_conditional_rates(s_tiers.reference_conditional_rates),
    "check_jaccard": lambda e: tiers.check_jaccard(s_tiers.reference_jaccard),
    "check_ppl_change": lambda e: tiers.check_ppl_change(s_tiers.reference_ppl_change),
    "check_consensus_levels": lambda e: consensus.check_consensus_levels(s_consensus.reference_levels),
    "check_crossover": lambda e: consensus.check_crossover(s_consensus.reference_crossover),
    "check_sequence_bootstrap": lambda e: consensus.check_sequence_bootstrap(s_consensus.reference_sequence_ci),
    "check_enrichment": lambda e: knowledge.check_enrichment(s_knowledge.REFERENCE_ENRICHMENT),
    "check_analytic_ig": lambda e: knowledge.check_analytic_ig(
        e["tiny"], PROMPT, TARGET, s_knowledge.reference_analytic_ig(e["tiny"], PROMPT, TARGET)),
    "check_upper_median": lambda e: knowledge.check_upper_median(s_knowledge.reference_upper_median),
    "check_matched_sensitivity": lambda e: knowledge.check_matched_sensitivity(
        s_knowledge.reference_matched_sensitivity(e["attrs"]), e["attrs"]),
    "check_disambiguation_finder": lambda e: garden_path.check_disambiguation_finder(
        s_garden_path.reference_finder, e["tok"]),
    "check_paired_effect_size": lambda e: garden_path.check_paired_effect_size(s_garden_path.reference_dz),
    "check_min_detectable_d": lambda e: garden_path.check_min_detectable_d(s_garden_path.reference_min_d()),
    "check_new_pairs": lambda e: garden_path.check_new_pairs(list(s_garden_path.REFERENCE_PAIRS), e["tok"]),
    "check_within_jaccard": lambda e: crosslayer.check_within_jaccard(s_crosslayer.reference_within_jaccard),
    "check_first_lockin": lambda e: crosslayer.check_first_lockin(s_crosslayer.reference_first_lockin),
    "check_lost": lambda e: crosslayer.check_lost(s_crosslayer.reference_lost(e["hits"]), e["hits"]),
    "check_negative_band": lambda e: crosslayer.check_negative_band(*s_crosslayer.reference_band(0.1)),
}


# ------------------------------------------------------------------ wrong answers


def _without_minus_bias(subject, mid, act, out, neurons):
    idx = torch.as_tensor(neurons)
    return subject.unembed(mid + out - act[..., idx] @ subject.w_out()[idx] - subject.b_out())


def _decompose_no_bias(act, w_out, b_out, tiers_):
    parts = s_tracing.reference_decompose(act, w_out, b_out, tiers_)
    parts["bias"] = torch.zeros_like(parts["bias"])
    return parts


def _token_level_ci(values, seq, n_resamples, seed):
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (n_resamples, values.size))].mean(axis=1)
    return tuple(np.percentile(means, [2.5, 97.5]))


def _crossover_last(means):
    return s_consensus.reference_crossover(np.asarray(means)[::-1] * -1)


def _finder_from(tokenizer, sentence, start):
    enc = tokenizer(sentence, return_offsets_mapping=True, add_special_tokens=False)
    return next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if a <= start < b)


def _whole(w):
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(w) + r"(?![A-Za-z0-9])")


def _finder_substring_after_anchor(tokenizer, sentence, word, anchor):  # a substring search: forbidden
    return _finder_from(tokenizer, sentence, sentence.find(word, sentence.find(anchor) + len(anchor)))


def _finder_substring_anchor(tokenizer, sentence, word, anchor):  # whole word, but the anchor found as a substring
    return _finder_from(tokenizer, sentence, _whole(word).search(sentence, sentence.find(anchor) + len(anchor)).start())


def _finder_from_start(tokenizer, sentence, word, anchor):  # ignores the anchor
    return _finder_from(tokenizer, sentence, _whole(word).search(sentence).start())


def _finder_last_subtoken(tokenizer, sentence, word, anchor):
    start = _whole(word).search(sentence, _whole(anchor).search(sentence).end()).end() - 1
    return _finder_from(tokenizer, sentence, start)


def _pooled_d(g, c):
    return (g - c).mean() / np.sqrt((g.var(ddof=1) + c.var(ddof=1)) / 2)


def _pairs_swapped(tok):
    p = s_garden_path.REFERENCE_PAIRS
    swapped = dataclasses.replace(p[0], garden=p[0].control, control=p[0].garden, anchor_garden=p[0].anchor_control,
                                  anchor_control=p[0].anchor_garden)
    return garden_path.check_new_pairs([swapped, *p[1:]], tok)


def _pairs_any_words(tok):
    p = s_garden_path.REFERENCE_PAIRS
    odd = dataclasses.replace(p[0], garden="The goat big up the hill stumbled.", control="The goat small up the hill "
                              "stumbled.", anchor_garden="big", anchor_control="small")
    return garden_path.check_new_pairs([odd, *p[1:]], tok)


def _pairs_two_ambiguous(tok):
    p = s_garden_path.REFERENCE_PAIRS
    odd = dataclasses.replace(p[0], control=p[0].control.replace("driven", "dragged"), anchor_control="dragged")
    return garden_path.check_new_pairs([odd, *p[1:]], tok)


WRONG = {
    "check_fires": {
        ">= for >": lambda e: tracing.check_fires(lambda a, t, s: a >= t if s else np.abs(a) >= t),
        "signed rule only": lambda e: tracing.check_fires(lambda a, t, s: a > t),
    },
    "check_without": {
        "subtracts b_out": lambda e: tracing.check_without(_without_minus_bias, e["tiny"]),
        "whole MLP removed": lambda e: tracing.check_without(lambda s, mid, act, out, n: s.unembed(mid), e["tiny"]),
        "nothing removed": lambda e: tracing.check_without(lambda s, mid, act, out, n: s.unembed(mid + out),
                                                           e["tiny"]),
    },
    "check_decompose": {"no bias": lambda e: tracing.check_decompose(_decompose_no_bias)},
    "check_conditional_rates": {
        "over all tokens": lambda e: tiers.check_conditional_rates(lambda f, x: f.mean(0)),
    },
    "check_jaccard": {
        "ignores rows": lambda e: tiers.check_jaccard(lambda f, rows: s_tiers.reference_jaccard(f, None)),
    },
    "check_ppl_change": {
        "mean of ratios": lambda e: tiers.check_ppl_change(
            lambda b, a, s: 100 * (np.mean(np.exp(b[s] - a[s])) - 1)),
        "all positions": lambda e: tiers.check_ppl_change(
            lambda b, a, s: s_tiers.reference_ppl_change(b, a, np.ones_like(s))),
    },
    "check_consensus_levels": {
        "signed": lambda e: consensus.check_consensus_levels(lambda a: (a > 0.1).sum(axis=1)),
        ">=": lambda e: consensus.check_consensus_levels(lambda a: (np.abs(a) >= 0.1).sum(axis=1)),
    },
    "check_crossover": {
        "no interpolation": lambda e: consensus.check_crossover(lambda m: float(np.nanargmax(np.asarray(m) <= 0))),
        "last crossing": lambda e: consensus.check_crossover(_crossover_last),
    },
    "check_sequence_bootstrap": {"token level": lambda e: consensus.check_sequence_bootstrap(_token_level_ci)},
    "check_enrichment": {"rounded chance": lambda e: knowledge.check_enrichment(7.3 / 0.2)},
    "check_analytic_ig": {
        "twice": lambda e: knowledge.check_analytic_ig(
            e["tiny"], PROMPT, TARGET, 2 * s_knowledge.reference_analytic_ig(e["tiny"], PROMPT, TARGET)),
    },
    "check_upper_median": {"np.median": lambda e: knowledge.check_upper_median(lambda v: float(np.median(v)))},
    "check_matched_sensitivity": {
        "activation only = 50": lambda e: knowledge.check_matched_sensitivity(
            {**(r := s_knowledge.reference_matched_sensitivity(e["attrs"])), "activation only": r[50]}, e["attrs"]),
    },
    "check_disambiguation_finder": {
        "substring search after the anchor": lambda e: garden_path.check_disambiguation_finder(
            _finder_substring_after_anchor, e["tok"]),
        "anchor found as a substring": lambda e: garden_path.check_disambiguation_finder(
            _finder_substring_anchor, e["tok"]),
        "search from the start": lambda e: garden_path.check_disambiguation_finder(_finder_from_start, e["tok"]),
        "last sub-token": lambda e: garden_path.check_disambiguation_finder(_finder_last_subtoken, e["tok"]),
    },
    "check_paired_effect_size": {"pooled d": lambda e: garden_path.check_paired_effect_size(_pooled_d)},
    "check_min_detectable_d": {
        "alpha 0.05": lambda e: garden_path.check_min_detectable_d(s_garden_path.reference_min_d(alpha=0.05)),
    },
    "check_new_pairs": {
        "garden and control swapped": lambda e: _pairs_swapped(e["tok"]),
        "any pair of words": lambda e: _pairs_any_words(e["tok"]),
        "two ambiguous verbs": lambda e: _pairs_two_ambiguous(e["tok"]),
        "too few": lambda e: garden_path.check_new_pairs(list(s_garden_path.REFERENCE_PAIRS[:2]), e["tok"]),
    },
    "check_within_jaccard": {
        "over all tokens": lambda e: crosslayer.check_within_jaccard(
            lambda x, f: (f & x[:, None]).sum(0) / (f | x[:, None]).sum(0)),
    },
    "check_first_lockin": {"no -1": lambda e: crosslayer.check_first_lockin(lambda h: h.argmax(axis=1))},
    "check_lost": {
        "a count": lambda e: crosslayer.check_lost(
            s_crosslayer.reference_lost(e["hits"]) * len(e["hits"]), e["hits"]),
        "never predicted": lambda e: crosslayer.check_lost((~e["hits"].any(axis=1)).mean(), e["hits"]),
        "not at the last state": lambda e: crosslayer.check_lost((~e["hits"][:, -1]).mean(), e["hits"]),
    },
    "check_negative_band": {"the GELU minimum": lambda e: crosslayer.check_negative_band(-0.7525, -0.1)},
}


def _all_checks() -> set[str]:
    return {name for module in CHECK_MODULES for name in vars(module) if name.startswith("check_")}


def test_every_check_has_a_model_answer_and_wrong_answers():
    assert set(RIGHT) == _all_checks(), "add the new check's model answer to RIGHT"
    assert set(WRONG) == _all_checks(), "add wrong answers for the new check to WRONG"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_the_model_answer_passes(name, env):
    assert RIGHT[name](env)


@pytest.mark.parametrize(("name", "mistake"), [(n, m) for n in sorted(WRONG) for m in WRONG[n]])
def test_a_wrong_answer_is_rejected(name, mistake, env):
    with pytest.raises(AssertionError):
        WRONG[name][mistake](env)


def test_check_without_leaves_the_model_bias_as_it_was(tiny):
    before = tiny.b_out().clone()
    tracing.check_without(s_tracing.reference_without, tiny)
    assert torch.equal(tiny.b_out(), before)


def test_the_modules_students_import_hold_no_model_answers():
    answers = {"first_lockin", "upper_median", "crossover_point", "decompose", "analytic_ig", "fire_abs_band",
               "conditional_rates", "exception_jaccards", "disambiguation_index"}
    for module in CHECK_MODULES:
        public = {n for n in vars(module) if not n.startswith("_")}
        assert not {n for n in public if n.startswith("reference") or n in answers}, module.__name__
    for name in ("tracing", "tiers", "consensus", "knowledge", "garden_path", "crosslayer"):
        solutions = importlib.import_module(f"darkness_visible.exercises.solutions.{name}")
        assert any(n.startswith(("reference_", "REFERENCE_")) for n in vars(solutions)), name
