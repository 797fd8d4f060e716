"""Issue 23: chapters 02 and 06 on a model that is not GPT-2 Small give rows computed on the roles discovery found,
all "other model" once stamped, and every claim that names GPT-2 Small's own neurons, layers or heads as "not
applicable" with its reason; none of them ever "replicated" or "differs"."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from darkness_visible.analysis import bypass, tiers
from darkness_visible.analysis.study import DISCOVERED, Study
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.discovery import family
from darkness_visible.discovery.planted import PlantConfig, build_planted, planted_harvest_config
from darkness_visible.lens.lenses import LensResult
from darkness_visible.models.loading import ModelSpec
from darkness_visible.report.results import stamp
from darkness_visible.tracing.firing import FIRE_POS
from darkness_visible.tracing.harvest import harvest

ALLOWED = {"other model", "not applicable"}


@pytest.fixture(scope="module")
def planted():
    model = build_planted(PlantConfig(calibration_windows=4, seed=1))
    H = harvest(model.subject, CorpusSpec("test", 3, 128, "local"), planted_harvest_config(model), cache=False,
                progress=False)
    t = model.truth
    core = (t.indicator,) + tuple(n for n in t.core if n != t.indicator)
    study = Study(t.layer, model.subject.n_layers, model.subject.d_mlp, DISCOVERED, t.indicator, core,
                  t.differentiators, t.specialists, t.differentiators[:3], "planted")
    run = SimpleNamespace(study=study, pretrained=False, spec=model.subject.spec)
    return model, H, run


def chapter02_inputs(model, H, study):
    a = H.recorded(study.indicator)
    exception = tiers.CANONICAL_PATH.mask(a)
    jac = tiers.jaccard_frames(H, exception, FIRE_POS, study.handler)
    jsum = tiers.jaccard_summary(jac, study.tiers, study.jaccard_pairs)
    fw = {m: tiers.function_word_scores(model.subject, study.handler, layer=study.layer, mode=m)
          for m in ("ln_f", "ln_f_no_bias")}
    scores = pd.DataFrame({"role": ["indicator", "core"], "n_true": [1, 5], "n_found": [1, 4], "hits": [0, 0],
                           "precision": [0.0, 0.0], "recall": [0.0, 0.0]})
    return dict(regimes=tiers.regimes(a), rates=tiers.rates_table(H, exception, FIRE_POS, study.tiers), jac=jac,
                jsum=jsum, shares=tiers.norm_shares(H, exception), ablation=tiers.ablation_table(H, n_boot=200),
                simpson=tiers.simpson_table(H, consensus=study.consensus), paper_scores=scores, fw=fw, H_ppl=H,
                bypass_table=bypass.bypass_table(H, n_boot=200, consensus=study.consensus))


def by_claim(rows):
    claims = [r.claim for r in rows]
    assert len(claims) == len(set(claims)), "one row per claim"
    return {r.claim: r for r in rows}


def test_chapter02_rows_on_discovered_roles_are_other_model_or_not_applicable(planted):
    from darkness_visible.report.tiers import exception_handler_rows

    model, H, run = planted
    rows = stamp(exception_handler_rows(run, H, **chapter02_inputs(model, H, run.study)), spec=model.subject.spec)
    by = by_claim(rows)
    assert {r.verdict for r in rows} <= ALLOWED and {r.verdict for r in rows} == ALLOWED
    for claim in ("E5.delta.no_core", "E1.jaccard.core_peak", "E1.share.core", "E17.bypass_L11.ppl_delta",
                  "E1.exception.rate[GELU > 0.1 (FIRE-POS)]", "E1.sign.n2123_toward_function_words"):
        assert by[claim].verdict == "other model" and by[claim].value is not None, claim
    assert f"N{run.study.indicator}" in by["E1.jaccard.core_peak"].description
    for claim in ("E1.cond.N2910", "E1.jaccard.584_2378", "E13.n_significant.corrected", "NEW.discovery.core.recall",
                  "E17.bypass_L7_L11.ppl_delta", "E17.layer7.ppl"):
        assert by[claim].verdict == "not applicable" and by[claim].value is None, claim
        assert by[claim].not_applicable, claim
    assert "L7 + L11" in by["E17.bypass_L7_L11.ppl_delta"].not_applicable
    # the discovered consensus has 3 neurons, so the paper's levels out of 7 have no counterpart
    assert by["E5.core.level7"].verdict == "not applicable"


def test_chapter02_rows_without_a_handler_all_say_why(planted):
    from darkness_visible.report.tiers import exception_handler_rows

    model, H, _ = planted
    nothing = SimpleNamespace(study=Study(1, 2, 256, DISCOVERED, None, model="tiny"), pretrained=False,
                              spec=ModelSpec.parse("tiny"))
    rows = stamp(exception_handler_rows(nothing, H), spec=ModelSpec.parse("tiny"))
    assert rows and {r.verdict for r in rows} == {"not applicable"}
    assert "E1.jaccard.core_min" in by_claim(rows)
    assert all("no exception handler" in r.not_applicable or "GPT-2 Small" in r.not_applicable for r in rows)


def test_chapter06_rows_on_another_shape_are_other_model_or_not_applicable():
    from darkness_visible.report.crosslayer import crystallization_rows

    spec = ModelSpec.parse("tiny")
    run = SimpleNamespace(study=Study(1, 2, 256, DISCOVERED, None, model="tiny"), pretrained=False, spec=spec)
    survey = pd.DataFrame([{"layer": L, "exception_neuron": 7 + L, "exception_fire_rate": 0.1, "max_jaccard": 0.2,
                            "max_enrichment": 1.1, "high_jaccard_count": 0} for L in range(2)])
    rng = np.random.default_rng(0)
    hits = rng.random((40, 3)) < 0.3
    lens_result = LensResult(hits, hits, 2, "tiny", False, hits[:, -1])
    family_table = pd.DataFrame([family.prediction_row("gpt2", "random", 12, []),
                                 family.prediction_row("gpt2", "planted", 12, [11])])
    rows = stamp(crystallization_rows(run, survey=survey, lens_result=lens_result, lens_source="own",
                                      family_table=family_table), spec=spec)
    by = by_claim(rows)
    assert {r.verdict for r in rows} == ALLOWED
    for claim in ("E10.max_jaccard_other_layers", "E14.logit.never", "NEW.depth.gpt2.last_layer_only.planted",
                  "NEW.depth.gpt2.random.layers_with_handler"):
        assert by[claim].verdict == "other model", claim
    for claim in ("E10.L0.exception_neuron", "E10.L11.max_jaccard", "E14.logit.L0", "E15.sink_all",
                  "E11.random.exception_fire_rate", "E12.theta0.1.core_jaccard_mean", "E10.L11.known_max_jaccard"):
        assert by[claim].verdict == "not applicable" and by[claim].not_applicable, claim
    assert "no exception handler" in by["E10.L11.known_max_jaccard"].not_applicable
    assert "GPT-2 Small" in by["E10.L0.exception_neuron"].not_applicable
