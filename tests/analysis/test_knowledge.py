"""Tests of the knowledge-neurons chapter: IG completeness and batching, knockout equivalences,
transplant, extraction arithmetic, the baselines, the prompt data and the exercise checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.stats import bootstrap

from darkness_visible.analysis import knowledge as kn
from darkness_visible.data import prompts
from darkness_visible.data.neurons import CONSENSUS, ROUTING
from darkness_visible.exercises import knowledge as ex
from darkness_visible.exercises.solutions import knowledge as answers
from darkness_visible.models.loading import load_model
from darkness_visible.tracing.reference import logits_with_mlp_neurons_zeroed

PROMPT, TARGET = "The capital of France is", " Paris"


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny")


def _ids(subject, text):
    return torch.tensor([subject.tokenizer.encode(text, add_special_tokens=False)])


# --- integrated gradients -----------------------------------------------------------------------------------


def test_ig_completeness_and_riemann_error_shrinks(tiny):
    gaps = {}
    for steps in (4, 16, 64):
        attrs = kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=steps))
        gaps[steps] = {s: a.completeness_gap for s, a in attrs.items()}
        for a in attrs.values():
            assert a.path.shape == (steps + 1,)
    a = attrs["logit"]  # 64 steps
    diff = a.s1 - a.s0
    assert abs(diff) > 1e-4  # a non-trivial integral
    assert abs(a.completeness_gap) < 0.05 * abs(diff)
    for score in ("logit", "prob"):
        assert abs(gaps[64][score]) < abs(gaps[16][score]) < abs(gaps[4][score])
        # the left-Riemann error is O(1/steps): four times the steps, roughly a quarter of the error
        assert abs(gaps[64][score]) < 0.4 * abs(gaps[16][score])


def test_ig_endpoints_equal_plain_forwards(tiny):
    a = kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=4))["logit"]
    ids, tid = _ids(tiny, PROMPT), kn.target_id(tiny, TARGET)
    with torch.no_grad():
        clean = tiny.hf(ids).logits[0, -1, tid]
    zeroed = logits_with_mlp_neurons_zeroed(tiny, ids, list(range(tiny.d_mlp)))[0, -1, tid]
    assert a.s1 == pytest.approx(float(clean), abs=1e-5)
    assert a.s0 == pytest.approx(float(zeroed), abs=1e-5)


def test_batched_ig_equals_per_step_loop(tiny):
    config = kn.IGConfig(steps=3)
    batched = kn.integrated_gradients(tiny, PROMPT, TARGET, config)
    looped = kn.integrated_gradients_loop(tiny, PROMPT, TARGET, config)
    for score in config.scores:
        b, l = batched[score], looped[score]
        scale = np.abs(b.attribution).max()
        assert scale > 0
        np.testing.assert_allclose(b.attribution, l.attribution, atol=1e-5 * scale, rtol=0)
        np.testing.assert_allclose(b.path, l.path, rtol=1e-5, atol=1e-9)
        assert b.top(10) == l.top(10)


def test_ig_leaves_weights_untouched(tiny):
    kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=3))
    params = list(tiny.hf.parameters())
    assert all(p.grad is None for p in params)
    assert all(p.requires_grad for p in params)


def test_pre_gelu_hook_has_the_same_endpoints(tiny):
    post = kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=8, scores=("logit",)))["logit"]
    pre = kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=8, scores=("logit",), hook="c_fc"))["logit"]
    # GELU(0) = 0: both baselines are the zero activation; the paths differ, the endpoints do not
    assert pre.s0 == pytest.approx(post.s0, abs=1e-5)
    assert pre.s1 == pytest.approx(post.s1, abs=1e-5)
    assert not np.allclose(pre.attribution, post.attribution)


# --- knockout and transplant --------------------------------------------------------------------------------


def _prob_with_rows_zeroed(subject, neurons=(), heads=()):
    hf = copy.deepcopy(subject.hf)
    block = hf.transformer.h[-1]
    head_dim = hf.config.n_embd // hf.config.n_head
    with torch.no_grad():
        block.mlp.c_proj.weight[list(neurons)] = 0.0
        for h in heads:
            block.attn.c_proj.weight[h * head_dim:(h + 1) * head_dim] = 0.0
        logits = hf(_ids(subject, PROMPT)).logits[0, -1]
    return float(torch.softmax(logits, -1)[kn.target_id(subject, TARGET)])


def test_knockout_mask_equals_zeroing_c_proj_rows(tiny):
    n_head = tiny.hf.config.n_head
    conds = {"n": (3, 17, 200), "some heads": kn.heads(0, 2), "all heads": kn.heads(*range(n_head))}
    got = kn.knockout(tiny, PROMPT, TARGET, conds)
    assert got["baseline"] == pytest.approx(_prob_with_rows_zeroed(tiny), rel=1e-5)
    assert got["n"] == pytest.approx(_prob_with_rows_zeroed(tiny, neurons=(3, 17, 200)), rel=1e-5)
    assert got["some heads"] == pytest.approx(_prob_with_rows_zeroed(tiny, heads=(0, 2)), rel=1e-5)
    assert got["all heads"] == pytest.approx(_prob_with_rows_zeroed(tiny, heads=range(n_head)), rel=1e-5)
    assert got["n"] != pytest.approx(got["baseline"], rel=1e-7)


def test_transplant_of_a_prompt_into_itself_changes_nothing(tiny):
    fact = prompts.FactPrompt(PROMPT, TARGET)
    attr = kn.integrated_gradients(tiny, PROMPT, TARGET, kn.IGConfig(steps=4))["logit"]
    out = kn.transplant(tiny, prompts.TransplantPair(fact, fact), attr)
    assert out["P(source) after"] == pytest.approx(out["P(source) before"], rel=1e-5)
    other = prompts.TransplantPair(fact, prompts.FactPrompt("The capital of Germany is", " Berlin"))
    moved = kn.transplant(tiny, other, attr)
    assert moved["Δ P(destination)"] != 0.0


def test_bootstrap_ci_is_scipys():
    values = np.random.default_rng(1).normal(0.05, 0.1, size=20)
    ours = kn.bootstrap_ci(values, seed=3)
    ref = bootstrap((values,), np.mean, n_resamples=10_000, method="percentile", rng=np.random.default_rng(3))
    assert ours == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert ours[0] < values.mean() < ours[1]


# --- overlap, enrichment, matched baseline ------------------------------------------------------------------


def _fake(attribution, activation=None, grad=None, prompt="p"):
    d = len(attribution)
    act = np.ones(d, np.float32) if activation is None else activation
    g = attribution / act if grad is None else grad
    return kn.Attribution(prompt, " t", 0, "logit", "act", 50, act, g.astype(np.float32),
                          np.asarray(attribution, np.float32), np.zeros(51))


def test_overlap_enrichment_and_recurrence_on_planted_tops():
    d = 3072
    attrs = []
    for i in range(4):
        x = np.zeros(d)
        x[list(ROUTING[:5])] = 10.0 + np.arange(5)
        x[[100 + i, 200 + i]] = -20.0
        x[np.arange(300, 313)] = 1.0
        attrs.append(_fake(x, prompt=f"p{i}"))
    table = kn.overlap_table(attrs)
    assert (table["routing"] == 5).all() and (table["residual"] == 15).all()
    assert (table["consensus"] == len(set(ROUTING[:5]) & set(CONSENSUS))).all()
    e = kn.overlap_enrichment(table)
    assert e.chance == pytest.approx(20 * 27 / 3072)
    assert e.ratio_rounded == pytest.approx(5 / 0.2)
    assert kn.OverlapEnrichment(7.3, 20, 27, 3072).ratio == pytest.approx(41.5, abs=0.05)
    rec = kn.recurring_neurons(attrs).set_index("neuron")
    assert rec.loc[ROUTING[0], "prompts"] == 4 and rec.loc[100, "prompts"] == 1


def test_matched_baseline_removes_magnitude_driven_enrichment():
    rng = np.random.default_rng(0)
    d, members = 3072, list(ROUTING)
    loud, quiet = [], []
    for _ in range(5):
        act = rng.uniform(0.01, 1.0, d)
        grad = rng.uniform(0.01, 1.0, d)
        loud_act, loud_grad = act.copy(), grad.copy()
        # planted: members are simply the loudest neurons, and so are 200 non-members around them
        big = np.concatenate([members, rng.choice(np.setdiff1d(np.arange(d), members), 200, replace=False)])
        loud_act[big] *= 10
        loud_grad[big] *= 10
        loud.append(_fake(loud_act * loud_grad, loud_act, loud_grad))
        # planted: members get large attribution through the gradient only, without matching neighbours
        q_grad = grad.copy()
        q_grad[members] = 50.0
        quiet.append(_fake(act * q_grad, act, q_grad))
    mb_loud = kn.matched_baseline(loud, n_draws=200)
    mb_quiet = kn.matched_baseline(quiet, n_draws=200)
    uniform = kn.OverlapEnrichment(mb_loud.observed, 20, 27, d)
    assert mb_loud.ratio < 0.3 * uniform.ratio  # matched chance explains most of the uniform enrichment
    assert mb_quiet.ratio > mb_loud.ratio
    assert mb_loud.draws.shape == (200,)


# --- extraction and progressive prediction ------------------------------------------------------------------


def test_rank_counts_strictly_larger_logits():
    logits = torch.tensor([[0.5, 2.0, 0.5, 3.0, -1.0]])
    assert kn._rank(logits, 0).tolist() == [3]
    assert kn._rank(logits, 3).tolist() == [1]


def test_extraction_final_checkpoint_is_order_free_and_base_rank_matches_forward(tiny):
    few = prompts.EXTRACTION_PROMPTS[:3]
    methods = (kn.ExtractionMethod("ctx |a|", True, "abs_act"), kn.ExtractionMethod("ctx |a|w", True, "abs_act_norm"),
               kn.ExtractionMethod("static", False, "norm"))
    table = kn.extraction(tiny, few, methods, checkpoints=(5, 50, 10_000), routing=())
    final = table[table["final"]].pivot(index="index", columns="method", values="rank")
    assert (final["ctx |a|"] == final["ctx |a|w"]).all()  # both are ln_f(m - b_out)
    assert set(table["k"]) == {5, 50, tiny.d_mlp}
    for i, p in enumerate(few):
        ids, tid = _ids(tiny, p.prompt), kn.target_id(tiny, " " + p.target)
        with torch.no_grad():
            logits = tiny.hf(ids).logits[0, -1]
        assert table[table["index"] == i]["base_rank"].iloc[0] == int(1 + (logits > logits[tid]).sum())
        with torch.no_grad():
            static = tiny.unembed(tiny.w_out().sum(0))  # all neurons: ln_f(sum of w_n), the same for every prompt
        got = table[(table["index"] == i) & (table["method"] == "static") & table["final"]]["rank"].iloc[0]
        assert got == int(1 + (static > static[tid]).sum())


def test_upper_median_and_summary():
    assert kn.upper_median([4, 1, 3, 2]) == 3
    assert kn.upper_median([5, 1, 3]) == np.median([5, 1, 3])


def test_progressive_prediction_needs_gpt2_indices(tiny):
    with pytest.raises(IndexError):
        kn.progressive_prediction(tiny, PROMPT, TARGET)


@pytest.mark.slow
def test_progressive_prediction_final_stage_is_the_model():
    standin = load_model("standin")
    table = kn.progressive_prediction(standin, PROMPT, TARGET)
    assert list(table["stage"]) == list(kn.STAGES)
    assert table.attrs["max |full stage - model logits|"] < 1e-3


@pytest.mark.real_weights
def test_extraction_ranks_match_the_papers_data_on_gpt2(gpt2):
    few = prompts.EXTRACTION_PROMPTS[:10]
    table = kn.extraction(gpt2, few, kn.EXTRACTION_METHODS[:2])
    final = table[table["final"]].pivot(index="index", columns="method", values="rank")
    base = table.drop_duplicates("index").set_index("index")["base_rank"]
    for i, p in enumerate(few):  # paper-claims §9 F2.2: exact, +-2 allowed above rank 1000 for BLAS ties
        for got, want in ((base[i], p.paper_base_rank), (final.loc[i, "static"], p.paper_static_rank),
                          (final.loc[i, "context"], p.paper_context_rank)):
            assert abs(got - want) <= (2 if want > 1000 else 0), (p.prompt, got, want)


# --- data and exercises -------------------------------------------------------------------------------------


def test_prompt_sets_are_the_papers():
    assert len(prompts.FACT_PROMPTS) == 20 and all(p.target.startswith(" ") for p in prompts.FACT_PROMPTS)
    assert len(prompts.EXTRACTION_PROMPTS) == 160 and len(prompts.CATEGORIES) == 15
    assert len(prompts.TRANSPLANT_PAIRS) == 5
    assert set(prompts.CATEGORIES) == set(kn.PAPER_CATEGORIES)
    counts = {c: sum(p.category == c for p in prompts.EXTRACTION_PROMPTS) for c in prompts.CATEGORIES}
    assert all(counts[c] == kn.PAPER_CATEGORIES[c][0] for c in counts)


def test_exercise_checks_accept_the_reference_and_reject_wrong_answers(tiny):
    assert "correct" in ex.check_enrichment(7.3 / (20 * 27 / 3072))
    with pytest.raises(AssertionError):
        ex.check_enrichment(36.5)
    assert "correct" in ex.check_upper_median(answers.reference_upper_median)
    with pytest.raises(AssertionError):
        ex.check_upper_median(lambda v: float(np.median(v)))
    answer = answers.reference_analytic_ig(tiny, PROMPT, TARGET)
    assert "correct" in ex.check_analytic_ig(tiny, PROMPT, TARGET, answer)
    with pytest.raises(AssertionError):
        ex.check_analytic_ig(tiny, PROMPT, TARGET, 2 * answer)


def test_attributions_are_cached_by_model_prompts_and_config(tiny, tmp_path, monkeypatch):
    facts = prompts.FACT_PROMPTS[:2]
    config = kn.IGConfig(steps=3)
    fresh = kn.attribute_prompts(tiny, facts, config, cache=tmp_path)
    direct = kn.integrated_gradients(tiny, facts[1].prompt, facts[1].target, config)

    def refuse(*args, **kwargs):
        raise AssertionError("integrated gradients ran although the cache holds them")

    monkeypatch.setattr(kn, "integrated_gradients", refuse)
    warm = kn.attribute_prompts(tiny, facts, config, cache=tmp_path)
    for score in config.scores:
        for a, b in zip(fresh[score], warm[score], strict=True):
            assert (a.prompt, a.target, a.target_id, a.score, a.hook, a.steps) == \
                   (b.prompt, b.target, b.target_id, b.score, b.hook, b.steps)
            for field in ("activation", "mean_grad", "attribution", "path"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        np.testing.assert_allclose(warm[score][1].attribution, direct[score].attribution, rtol=1e-6, atol=1e-9)
    for changed in (kn.IGConfig(steps=4), kn.IGConfig(steps=3, hook="c_fc")):  # another config: computed
        with pytest.raises(AssertionError, match="cache holds"):
            kn.attribute_prompts(tiny, facts, changed, cache=tmp_path)
    with pytest.raises(AssertionError, match="cache holds"):
        kn.attribute_prompts(tiny, prompts.FACT_PROMPTS[1:3], config, cache=tmp_path)


# --- prose: the numbers and the wording glued into the chapter ---------------------------------------------


def test_matched_sensitivity_check_accepts_the_reference_and_names_a_wrong_entry():
    rng = np.random.default_rng(0)
    attrs = []
    for i in range(6):
        act, grad = rng.normal(size=3072).astype(np.float32), rng.normal(size=3072).astype(np.float32)
        attrs.append(kn.Attribution(f"p{i}", " t", 1, "logit", "act", 4, act, grad, act * grad, np.zeros(5)))
    answer = answers.reference_matched_sensitivity(attrs)
    assert set(answer) == {10, 50, 200, ex.ACTIVATION_ONLY}
    assert "correct" in ex.check_matched_sensitivity(answer, attrs)
    with pytest.raises(AssertionError, match="activation only"):
        ex.check_matched_sensitivity({**answer, ex.ACTIVATION_ONLY: answer[50]}, attrs)
    with pytest.raises(AssertionError, match="keys"):
        ex.check_matched_sensitivity({10: answer[10]}, attrs)
