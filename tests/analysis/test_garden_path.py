"""Garden-path chapter: stimuli, disambiguation finders, the traced measures, and the statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from darkness_visible.analysis import garden_path as gp
from darkness_visible.data.stimuli import PAPER_PAIRS, REDUCED_RELATIVE_PAIRS, GardenPathPair
from darkness_visible.exercises import garden_path as ex
from darkness_visible.models.loading import load_model, load_tokenizer
from darkness_visible.report import garden_path as garden_path_report
from darkness_visible.tracing.firing import FiringRule, gelu_new
from darkness_visible.tracing.reference import logits_with_mlp_neurons_zeroed

# paper-claims Appendix A.2: GPT-2 BPE segmentation of the 15 pairs (garden = I, control = T) and the
# position the original code used in each condition. Data from the spec, not model results.
SEGMENTATION = {
    "vgp1": ("After| the| dog| struggled| the| vet| took| off| the| muzzle|.",
             "After| the| dog| scratched| the| vet| took| off| the| muzzle|."),
    "vgp2": ("After| the| child| sne|ez|ed| the| doctor| prescribed| a| course| of| medicine|.",
             "After| the| child| visited| the| doctor| prescribed| a| course| of| medicine|."),
    "add2": ("While| the| cat| pur|red| the| owner| sitting| nearby| stro|ked| its| fur|.",
             "While| the| cat| bit| the| owner| sitting| nearby| stro|ked| its| fur|."),
    "add8": ("While| the| singer| performed| the| audience| in| the| theater| applauded| loudly|.",
             "While| the| singer| impressed| the| audience| in| the| theater| applauded| loudly|."),
    "add9": ("After| the| soldier| marched| the| commander| at| the| base| issued| new| orders|.",
             "After| the| soldier| disob|eyed| the| commander| at| the| base| issued| new| orders|."),
}
FAITHFUL_POSITIONS = {
    "vgp1": (6, 6), "vgp2": (8, 6), "vgp3": (7, 6), "vgp4": (6, 6), "vgp5": (6, 6), "add1": (6, 6),
    "add2": (7, 6), "add3": (7, 6), "add4": (7, 6), "add5": (6, 6), "add6": (7, 6), "add7": (6, 6),
    "add8": (2, 2), "add9": (6, 7), "add10": (7, 6),
}
BY_ID = {p.id: p for p in PAPER_PAIRS + REDUCED_RELATIVE_PAIRS}


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny")


def _tokens(tok, text):
    ids, _ = gp.encode_with_offsets(tok, text)
    return [tok.decode([i]) for i in ids]


# ------------------------------------------------------------------------------------------------ stimuli
def test_paper_pairs_are_the_fifteen_of_appendix_a2(tok):
    assert [p.id for p in PAPER_PAIRS] == [f"vgp{i}" for i in range(1, 6)] + [f"add{i}" for i in range(1, 11)]
    for pid, (garden, control) in SEGMENTATION.items():
        assert "|".join(_tokens(tok, BY_ID[pid].garden)) == garden
        assert "|".join(_tokens(tok, BY_ID[pid].control)) == control


def test_reduced_relatives_are_minimal_pairs(tok):
    assert len(REDUCED_RELATIVE_PAIRS) >= 15
    assert ex.check_new_pairs(tuple(
        GardenPathPair(p.id + "_copy", p.family, p.garden, p.control, p.anchor_garden, p.anchor_control,
                       p.paper_word, p.main_verb, p.noun_phrase, p.source) for p in REDUCED_RELATIVE_PAIRS), tok)
    for p in REDUCED_RELATIVE_PAIRS:
        assert p.garden.endswith(".") and p.garden != p.control
        assert not p.anchor_control.endswith("ed")  # an "-en"/irregular participle: no past-tense reading
        assert p.family == "reduced_relative" and p.paper_word == p.main_verb


def test_check_new_pairs_rejects_bad_pairs(tok):
    good = GardenPathPair("x1", "reduced_relative", "The cat chased home slept.", "The cat driven home slept.",
                          "chased", "driven", "slept", "slept", "The cat", "test")
    bad_words = GardenPathPair("x2", "reduced_relative", "The cat chased home slept.", "The big cat driven home slept.",
                               "chased", "driven", "slept", "slept", "The cat", "test")
    no_verb = GardenPathPair("x3", "reduced_relative", "The cat chased home slept.", "The cat driven home slept.",
                             "chased", "driven", "snored", "snored", "The cat", "test")
    assert ex.check_new_pairs([good], tok, minimum=1)
    for bad in (bad_words, no_verb):
        with pytest.raises(AssertionError):
            ex.check_new_pairs([bad], tok, minimum=1)
    with pytest.raises(AssertionError, match="already used"):
        ex.check_new_pairs([good, good], tok, minimum=1)


# ------------------------------------------------------------------------------------------------ finders
def test_faithful_finder_reproduces_the_original_positions_bug_included(tok):
    for pid, (pos_g, pos_c) in FAITHFUL_POSITIONS.items():
        p = BY_ID[pid]
        assert gp.locate(tok, p, "garden", "faithful") == pos_g, pid
        assert gp.locate(tok, p, "control", "faithful") == pos_c, pid
    add8 = BY_ID["add8"]
    assert _tokens(tok, add8.garden)[2] == " singer"  # the bug: "in" inside " singer"


def test_corrected_finder_on_tricky_tokenizations(tok):
    add8, add2, vgp2, add9 = BY_ID["add8"], BY_ID["add2"], BY_ID["vgp2"], BY_ID["add9"]
    assert [gp.locate(tok, add8, c, "paper") for c in gp.CONDITIONS] == [6, 6]  # the real " in"
    # main verb split in two sub-tokens: the first one (" stro") is the disambiguation token
    i = gp.locate(tok, add2, "garden", "main_verb")
    assert _tokens(tok, add2.garden)[i] == " stro" and i == 9
    assert gp.locate(tok, add2, "control", "main_verb") == 8  # "bit" is one token, "pur|red" two
    # a three-token subordinate verb shifts the index; offsets follow it
    assert gp.locate(tok, vgp2, "garden", "main_verb") == 8 and gp.locate(tok, vgp2, "control", "main_verb") == 6
    assert gp.locate(tok, add9, "control", "paper") == 7
    # multi-token main verbs: the faithful finder lands on the last sub-token, ours on the first
    rr3 = BY_ID["rr3"]
    assert _tokens(tok, rr3.garden)[gp.locate(tok, rr3, "garden", "main_verb")] == " f"
    assert gp.faithful_index(tok, rr3.garden, "fainted") == gp.locate(tok, rr3, "garden", "main_verb") + 1


def test_word_start_whole_words_and_anchor():
    text = "The dog the dog chased ran."
    assert gp.word_start(text, "dog", "the") == 12
    assert gp.word_start(text, "dog") == 4
    assert gp.word_start("While the singer performed the audience in", "in", "performed") == 40
    with pytest.raises(ValueError):
        gp.word_start("The singer sang.", "in")  # only a substring, never a word
    with pytest.raises(ValueError):
        gp.word_start("The singer sang.", "sang", "danced")


def test_token_at_char_with_and_without_leading_space_in_spans():
    assert gp.token_at_char([(0, 3), (3, 7), (7, 11)], 4) == 1  # spans include the space
    assert gp.token_at_char([(0, 3), (4, 7), (8, 11)], 4) == 1  # spans trimmed
    with pytest.raises(ValueError):
        gp.token_at_char([(0, 3)], 5)


def test_faithful_substring_finder_semantics():
    assert gp.faithful_substring_index(["While", " the", " singer", " in"], "in") == 2
    assert gp.faithful_substring_index([" a", " b"], "zz") is None


def test_exercise_finder_check(tok):
    assert ex.check_disambiguation_finder(gp.disambiguation_index, tok)

    def naive(tokenizer, sentence, word, anchor):
        return gp.faithful_index(tokenizer, sentence, word)

    with pytest.raises(AssertionError):
        ex.check_disambiguation_finder(naive, tok)


# ------------------------------------------------------------------------------------------------ traces
def test_surprisal_equals_minus_log2_softmax_of_a_plain_forward(tiny):
    sentences = [BY_ID["vgp2"].garden, BY_ID["vgp1"].control, "Short one."]  # different lengths: padding
    traces = gp.trace_sentences(tiny, sentences, gp.GardenPathConfig.for_model(tiny, batch_size=2))
    for text, tr in zip(sentences, traces, strict=True):
        ids = torch.as_tensor(tr.ids)[None]
        with torch.inference_mode():
            probs = torch.softmax(tiny.hf(ids).logits[0].double(), -1)
        p = probs[:-1].gather(-1, ids[0, 1:, None])[:, 0].numpy()
        assert tr.text == text and tr.surprisal[0] == 0.0
        np.testing.assert_allclose(tr.surprisal[1:], -np.log2(p), atol=1e-4)
        np.testing.assert_allclose(tr.p_full[1:], p, rtol=1e-4)


def test_consensus_n2123_and_mlp_delta_match_plain_pytorch(tiny):
    cfg = gp.GardenPathConfig.for_model(tiny)
    text = BY_ID["add2"].garden
    (tr,) = gp.trace_sentences(tiny, [text], cfg)
    ids = torch.as_tensor(tr.ids)[None]
    got = {}
    block = tiny.hf.transformer.h[-1]
    handle = block.mlp.act.register_forward_hook(lambda m, a, o: got.__setitem__("act", o.detach().clone()))
    try:
        with torch.inference_mode():
            full = tiny.hf(ids).logits[0].softmax(-1)
    finally:
        handle.remove()
    act = got["act"][0]
    np.testing.assert_array_equal(tr.consensus, (act[:, list(cfg.consensus)].abs() > 0.1).sum(-1).numpy())
    np.testing.assert_allclose(tr.n2123, act[:, cfg.exception].abs().numpy(), rtol=1e-5, atol=1e-6)
    with torch.inference_mode():
        none = logits_with_mlp_neurons_zeroed(tiny, ids, None)[0].softmax(-1)
    target = ids[0, 1:, None]
    dp = (full[:-1].gather(-1, target) - none[:-1].gather(-1, target))[:, 0].numpy()
    np.testing.assert_allclose(tr.dp_token[1:], dp, atol=1e-6)
    np.testing.assert_allclose(tr.dp_next[:-1], dp, atol=1e-6)
    assert math.isnan(tr.dp_next[-1]) and math.isnan(tr.dp_token[0])


def test_table_reads_the_located_token(tiny, tok):
    data = gp.measure(tiny, PAPER_PAIRS[:3], gp.GardenPathConfig.for_model(tiny))
    table = gp.disambiguation_table(data, tok)
    assert len(table) == 3 * 2 * 3
    row = table[(table.pair == "vgp2") & (table.condition == "garden") & (table.definition == "main_verb")].iloc[0]
    tr = data.traces[("vgp2", "garden")]
    assert row["index"] == 8 and row["token"] == " prescribed"
    assert row["surprisal"] == tr.surprisal[8] and row["n2123"] == tr.n2123[8]
    g, c = gp.paired_arrays(table, "surprisal", "paper")
    assert g.shape == c.shape == (3,)


# ------------------------------------------------------------------------------------------------ statistics
def _arrays(seed=1, n=15):
    rng = np.random.default_rng(seed)
    g = rng.normal(9.5, 3, n)
    return g, g + rng.normal(0.8, 2, n)


def test_compare_equals_scipy():
    g, c = _arrays()
    r = gp.compare(g, c)
    t = stats.ttest_rel(g, c)
    w = stats.wilcoxon(g - c)
    assert r.t == pytest.approx(t.statistic) and r.p_t == pytest.approx(t.pvalue)
    assert r.wilcoxon_w == pytest.approx(w.statistic) and r.wilcoxon_p == pytest.approx(w.pvalue)
    assert r.wilcoxon_p_zsplit == pytest.approx(stats.wilcoxon(g - c, zero_method="zsplit").pvalue)
    d = g - c
    assert r.d_z == pytest.approx(d.mean() / d.std(ddof=1))
    assert r.cohens_d_paper == pytest.approx(d.mean() / np.sqrt((g.var() + c.var()) / 2))
    assert r.median_reversal == pytest.approx(np.median(c - g)) and r.n_reversed == int((c > g).sum())
    # t = d_z * sqrt(n): the paired t-test is a one-sample test on the differences
    assert r.t == pytest.approx(r.d_z * np.sqrt(len(g)))


def test_compare_with_a_zero_difference_drops_it_like_scipy():
    g, c = _arrays(2)
    c[4] = g[4]
    r = gp.compare(g, c)
    assert r.n_zero == 1 and r.wilcoxon_w == pytest.approx(stats.wilcoxon(g - c).statistic)
    assert math.isnan(gp.compare(g, g.copy()).wilcoxon_w)


def test_exact_wilcoxon_p_shows_w12_needs_n13():
    assert gp.exact_wilcoxon_p(12, 15) == pytest.approx(0.0043, abs=1e-4)
    assert gp.exact_wilcoxon_p(12, 13) == pytest.approx(0.0171, abs=1e-4)
    rng = np.random.default_rng(0)
    d = rng.permutation(np.arange(1, 11)) * rng.choice([-1, 1], 10)
    res = stats.wilcoxon(d, method="exact")
    assert gp.exact_wilcoxon_p(int(res.statistic), 10) == pytest.approx(res.pvalue)


def test_power_analysis_equals_statsmodels():
    from statsmodels.stats.power import TTestPower

    pw = gp.power_analysis(15, observed_d=0.3)
    assert pw.min_d == pytest.approx(TTestPower().solve_power(None, nobs=15, alpha=0.05, power=0.8))
    assert 0.775 < pw.min_d < 0.785  # the paper's "powered for d >= 0.78"
    assert pw.power_at_observed == pytest.approx(TTestPower().power(0.3, 15, 0.05))
    assert TTestPower().power(0.3, pw.n_for_observed, 0.05) == pytest.approx(0.8, abs=1e-4)
    curve = gp.power_curve([15, 30], [0.5, 0.78])
    assert curve.query("n == 15 and d == 0.78").power.iloc[0] == pytest.approx(0.8, abs=0.01)
    assert ex.check_min_detectable_d(gp.power_analysis(15, 0.01).min_d)
    with pytest.raises(AssertionError):
        ex.check_min_detectable_d(0.78)  # that is alpha = .05, not .01


def test_position_check_recovers_a_planted_position_effect():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 40
    pg = rng.integers(5, 10, n).astype(float)
    pc = pg - rng.integers(0, 3, n)
    diff = 0.9 * (pg - pc) + rng.normal(0, 0.1, n)  # the whole "effect" is position
    check = gp.position_check(diff, pg, pc)
    assert check.identifiable and abs(check.adjusted_effect) < 0.1 and check.slope == pytest.approx(0.9, abs=0.1)
    fit = sm.OLS(diff, sm.add_constant(pg - pc)).fit()
    assert check.adjusted_effect == pytest.approx(fit.params[0]) and check.slope_p == pytest.approx(fit.pvalues[1])
    same = pg == pc
    assert check.same_position_n == same.sum()
    assert check.same_position_w == pytest.approx(stats.wilcoxon(diff[same]).statistic)
    raw = stats.ttest_1samp(diff, 0)
    assert raw.pvalue < 1e-6  # uncontrolled, the planted position effect looks like a condition effect


def test_position_check_without_position_differences_is_the_one_sample_test():
    rng = np.random.default_rng(4)
    diff = rng.normal(0.5, 1, 15)
    pos = np.full(15, 6.0)
    check = gp.position_check(diff, pos, pos)
    assert check.n_position_differs == 0 and math.isnan(check.slope)
    assert check.adjusted_effect == pytest.approx(diff.mean())
    assert check.adjusted_p == pytest.approx(stats.ttest_1samp(diff, 0).pvalue)
    assert not gp.position_check(diff, pos + 1, pos).identifiable


def test_exercise_effect_size_check():
    assert ex.check_paired_effect_size(lambda g, c: gp.compare(g, c).d_z)
    with pytest.raises(AssertionError, match="pooled"):
        ex.check_paired_effect_size(lambda g, c: gp.compare(g, c).cohens_d_paper)


def test_scorecard_rows_and_which_reproduces(tiny, tok):
    data = gp.measure(tiny, PAPER_PAIRS, gp.GardenPathConfig.for_model(tiny))
    table = gp.disambiguation_table(data, tok)
    rr = gp.measure(tiny, REDUCED_RELATIVE_PAIRS, gp.GardenPathConfig.for_model(tiny))
    rr_table = gp.disambiguation_table(rr, tok, ("main_verb",))
    rows = garden_path_report.scorecard_rows(data, table, rr, rr_table)
    by = {r.claim: r for r in rows}
    assert by["E9.wilcoxon.W.faithful"].paper == 12 and by["E9.n2123.t"].paper == -0.45
    assert by["E9.wilcoxon.W.paper"].value == gp.compare(*gp.paired_arrays(table, "surprisal", "paper")).wilcoxon_w
    assert {r.verdict for r in rows if r.claim != "E9.power.min_d"} <= {"other model", "no paper number"}
    assert by["E9.power.min_d"].verdict == "replicated" and by["E9.power.min_d"].model_free
    family = gp.compare_all(table)
    assert len(family) == len(gp.DEFINITIONS) * len(gp.METRICS)
    finite = family.wilcoxon_p.notna()
    assert (family.wilcoxon_p_holm[finite] >= family.wilcoxon_p[finite] - 1e-15).all()
    assert "Holm-adjusted over the 3 × 6 family" in by["E9.wilcoxon.p.faithful"].note
    fake = gp.compare(*_arrays())
    planted = gp.PairedComparison(**{**fake.as_dict(), "wilcoxon_w": 12.0, "wilcoxon_p": 0.018})
    assert gp.which_reproduces([fake, planted], ["a", "b"]) == ["b"]


@pytest.mark.real_weights
def test_faithful_means_match_the_papers_json(gpt2):
    subject = gpt2
    data = gp.measure(subject, PAPER_PAIRS)
    table = gp.disambiguation_table(data, subject.tokenizer, ("faithful",))
    s = gp.compare(*gp.paired_arrays(table, "surprisal", "faithful"))
    n = gp.compare(*gp.paired_arrays(table, "n2123", "faithful"))
    assert s.mean_garden == pytest.approx(9.5504, abs=0.01) and s.mean_control == pytest.approx(10.3702, abs=0.01)
    assert s.wilcoxon_w == 45 and n.t == pytest.approx(-0.4458, abs=0.01)


def test_planted_activations_are_read_with_fire_abs(tok):
    """Plant constant activations in the tiny model's last MLP: consensus level and |a| come out exactly."""
    model = load_model("tiny")
    cfg = gp.GardenPathConfig.for_model(model)
    mlp = model.hf.transformer.h[-1].mlp
    planted = {n: 2.0 for n in cfg.consensus[:4]} | {n: 0.0 for n in cfg.consensus[4:]}
    planted[cfg.exception] = -0.75  # GELU(-0.75) = -0.170: fires under |GELU| > 0.1, not under GELU > 0.1
    with torch.no_grad():
        for n, bias in planted.items():
            mlp.c_fc.weight[:, n] = 0.0
            mlp.c_fc.bias[n] = bias
    data = gp.measure(model, PAPER_PAIRS[:4], cfg)
    table = gp.disambiguation_table(data, tok)
    assert (table.consensus == 4).all()
    np.testing.assert_allclose(table.n2123, abs(float(gelu_new(torch.tensor(-0.75)))), rtol=1e-5)
    assert table.n2123_fires.all()
    pos = gp.GardenPathConfig.for_model(model, rule=FiringRule(0.1, signed=True))
    (tr,) = gp.trace_sentences(model, [PAPER_PAIRS[0].garden], pos)
    assert not tr.n2123_fires.any() and (tr.consensus == 4).all()


@pytest.mark.slow
def test_standin_runs_with_the_papers_neuron_indices(tok):
    standin = load_model("standin")
    data = gp.measure(standin, PAPER_PAIRS[:4])
    table = gp.disambiguation_table(data, tok)
    assert table.consensus.between(0, 7).all() and (table.n2123 >= 0).all()
    assert "NOT GPT-2" in data.label and not data.pretrained


# --- prose: numbers and wording glued into the chapter ------------------------------------------------------


def _long_table(garden, control, metric="surprisal", definition="main_verb"):
    import pandas as pd

    rows = [{"pair": f"p{i}", "definition": definition, "condition": c, metric: v, "index": v}
            for i, (g, t) in enumerate(zip(garden, control, strict=True)) for c, v in (("garden", g), ("control", t))]
    return pd.DataFrame(rows)


def test_prose_wording_follows_the_statistics():
    g, c = _arrays()
    reversed_ = gp.compare(g, c + 3.0)  # control far more surprising: reversed and significant
    null = gp.compare(g, g + np.random.default_rng(5).normal(0, 2, len(g)))
    p = garden_path_report.wilcoxon_prose({"faithful": null, "main_verb": reversed_})
    assert p["gp_signif_main_verb"] == "significant" and p["gp_W_main_verb"] == f"{reversed_.wilcoxon_w:g}"
    assert float(p["gp_median_main_verb"]) > 0 and p["gp_reproduces"] == "none of them"
    assert p["gp_exact_13"] == f"{gp.exact_wilcoxon_p(12, 13):.4f}"
    assert garden_path_report.n2123_prose(reversed_)["gp_n2123_differs"] == "differ significantly"
    assert garden_path_report.n2123_prose(null)["gp_n2123_differs"] == ("differ significantly" if null.p_t < 0.05
                                                         else "do not differ significantly")
    pw = gp.power_analysis(15, observed_d=0.1)
    assert garden_path_report.power_prose(pw)["gp_min_d_vs_paper"] == "agrees with"
    assert garden_path_report.power_prose(gp.power_analysis(40))["gp_min_d_vs_paper"] == "differs from"
    assert garden_path_report.power_prose(gp.power_analysis(15))["gp_n_obs"] == "n/a"


def test_position_and_reduced_relative_prose():
    pos = garden_path_report.position_prose(_long_table([3, 5, 7, 9], [3, 4, 8, 9]))
    assert pos == {"gp_pos_differs": "2", "gp_pos_later_I": "1", "gp_pos_later_T": "1", "gp_pos_n": "4"}
    up = garden_path_report.reduced_relative_prose(_long_table([9.0, 8, 7, 9, 10, 11], [1.0, 2, 2, 3, 1, 2]))
    assert up["gp_rr_direction"].startswith("positive") and up["gp_rr_effect"].startswith("+")
    assert up["gp_rr_pos_differs"] == "6"
    down = garden_path_report.reduced_relative_prose(_long_table([1.0, 2, 2, 3, 1, 2], [9.0, 8, 7, 9, 10, 11]))
    assert down["gp_rr_direction"].startswith("negative")


def test_position_table_puts_the_raw_effect_beside_the_position_adjusted_one():
    t = _long_table([3.0, 5, 7, 9, 4], [3.0, 4, 8, 9, 6])
    t["n2123"] = t["surprisal"] * 2
    rows = gp.position_table(t, ("main_verb",)).set_index("metric")
    raw = gp.compare(*gp.paired_arrays(t, "surprisal", "main_verb"))
    assert rows.loc["surprisal", "raw effect (I − T)"] == pytest.approx(raw.effect)
    assert rows.loc["n2123", "raw effect (I − T)"] == pytest.approx(2 * raw.effect)
    pc = gp.position_check_table(t, "surprisal", "main_verb")
    assert rows.loc["surprisal", "pairs at different positions"] == pc.n_position_differs == 3


def test_holm_matches_the_textbook_values_and_skips_nan():
    adjusted = gp.holm([0.01, 0.04, 0.03, np.nan])
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(adjusted[3])


def test_compare_all_wilcoxon_column_is_holm_adjusted(monkeypatch):
    """Issue 22 mutation: ``wilcoxon_p_holm`` equal to the raw ``wilcoxon_p`` passed every test."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    shifts = {(d, m): 0.1 * (i + 1) for i, (d, m) in enumerate((d, m) for d in gp.DEFINITIONS for m in gp.METRICS)}

    def paired(table, metric, definition):  # 15 pairs, garden above control by a growing shift
        control = rng.normal(0, 1, size=15)
        return control + shifts[(definition, metric)] + rng.normal(0, 0.5, size=15), control

    monkeypatch.setattr(gp, "paired_arrays", paired)
    family = gp.compare_all(None)
    raw = family["wilcoxon_p"].to_numpy()
    assert np.isfinite(raw).all()
    np.testing.assert_allclose(family["wilcoxon_p_holm"], multipletests(raw, method="holm")[1])
    assert not np.allclose(family["wilcoxon_p_holm"], raw), "on this family Holm changes the p-values"
    np.testing.assert_allclose(family["p_t_holm"], multipletests(family["p_t"].to_numpy(), method="holm")[1])
