"""Chapter 06's words and rows for the per-layer survey, known neurons and the attention sink.

The computation is in :mod:`darkness_visible.analysis.crosslayer`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from darkness_visible.analysis.crosslayer import PAPER_E10, spec_high_jaccard
from darkness_visible.tracing.layers import SINK_HEAD

#: The paper's "L11 (known)" column: rate 11.3 %, Jaccard 0.998 (within exception tokens), "2.0×", "4".
PAPER_KNOWN = {"rate": 0.113, "max_jaccard": 0.998, "enrichment": 2.0, "high_jaccard_count": 4}


#: The paper's L11H7 claims (paper-claims E15; no code exists for any of them).
PAPER_SINK = {"sink_all": 0.454, "sink_exception": 0.470, "sink_high_consensus": 0.373,
              "entropy_exception": 3.01, "entropy_high_consensus": 3.51, "importance_ratio": 6.0,
              "importance_top": 91.5}


def scorecard_rows(survey: Any, known: Any | None, sink: Any | None, importance: np.ndarray | None, label: str,
                   pretrained: bool, chapter: str = "06_crystallization") -> list:
    """Scorecard rows of the survey (E10), the like-for-like comparison and the sink (E15)."""
    from darkness_visible.report.results import ResultRow

    rows = []
    for _, r in survey.iterrows():
        L = int(r["layer"])
        if L not in PAPER_E10:
            continue
        p = PAPER_E10[L]
        rows += [
            ResultRow(chapter, f"E10.L{L}.exception_neuron", f"L{L}: automatic exception neuron (index)", p[0],
                      float(r["exception_neuron"]), None, label, pretrained),
            ResultRow(chapter, f"E10.L{L}.exception_rate", f"L{L}: its fire rate (|GELU| > 0.1)", p[1],
                      float(r["exception_fire_rate"]), None, label, pretrained),
            ResultRow(chapter, f"E10.L{L}.max_jaccard", f"L{L}: max Jaccard over all tokens", p[3],
                      float(r["max_jaccard"]), None, label, pretrained),
            ResultRow(chapter, f"E10.L{L}.max_enrichment", f"L{L}: max enrichment", p[4],
                      float(r["max_enrichment"]), None, label, pretrained),
            ResultRow(chapter, f"E10.L{L}.high_jaccard_count", f"L{L}: candidates with J > 0.5", 0.0,
                      float(r["high_jaccard_count"]), None, label, pretrained),
        ]
    others = survey[survey["layer"] < survey["layer"].max()]
    if len(others):
        rows.append(ResultRow(chapter, "E10.max_jaccard_other_layers", "max Jaccard at any layer but the last "
                              "(paper: 0.384)", 0.3839, float(others["max_jaccard"].max()), None, label, pretrained))
    if known is not None:
        paper_row = known[known["which"] == "known, the paper's measure"].iloc[0]
        rows.append(ResultRow(chapter, "E10.L11.known_max_jaccard", "L11 known: max Jaccard within exception "
                              "tokens (GELU > 0.1)", PAPER_KNOWN["max_jaccard"],
                              float(paper_row["max_jaccard_within_exception"]), None, label, pretrained,
                              note="within exception tokens; the other layers' values are over all tokens"))
        rows.append(ResultRow(chapter, "E10.L11.known_high_jaccard", "L11 known: handler neurons above 0.5 within "
                              f"exception tokens (paper '4'; the spec's §2 table gives {spec_high_jaccard()})",
                              PAPER_KNOWN["high_jaccard_count"],
                              float(paper_row["n_above_0.5_within"]), None, label, pretrained,
                              note="J(N2123, n) within exception tokens = n's conditional fire rate (E1 step 6); "
                              "the spec's §7 item 8 says 6, its own §2 table gives 7"))
        known_abs = known[known["which"] == "known"].iloc[0]
        rows.append(ResultRow(chapter, "E10.L11.known_max_jaccard_all", "L11: N2123's max Jaccard over all tokens "
                              "(the automatic measure; no paper value)", None,
                              float(known_abs["max_jaccard_all_tokens"]), None, label, pretrained))
    if sink is not None:
        get = dict(zip(sink["group"], sink["sink_share"], strict=True))
        ent = dict(zip(sink["group"], sink["entropy_bits"], strict=True))
        for key, group in (("sink_all", "all tokens"), ("sink_exception", "exception (GELU > 0.1)"),
                           ("sink_high_consensus", "high consensus (7/7)")):
            rows.append(ResultRow(chapter, f"E15.{key}", f"L11H7 attention to position 0: {group}", PAPER_SINK[key],
                                  get.get(group), None, label, pretrained))
        for key, group in (("entropy_exception", "exception (GELU > 0.1)"),
                           ("entropy_high_consensus", "high consensus (7/7)")):
            rows.append(ResultRow(chapter, f"E15.{key}", f"L11H7 attention entropy (bits): {group}", PAPER_SINK[key],
                                  ent.get(group), None, label, pretrained))
    if importance is not None and len(importance) > 1:
        ordered = np.sort(importance)[::-1]
        rows.append(ResultRow(chapter, "E15.importance_ratio", "importance of the top head / the next head "
                              "(paper: H7, '6×')", PAPER_SINK["importance_ratio"], float(ordered[0] / ordered[1]),
                              None, label, pretrained, note=f"top head: H{int(np.argmax(importance))}"))
        rows.append(ResultRow(chapter, "E15.importance_top", "importance of the top head (paper: H7's 91.5, 'mean "
                              "absolute attention-weighted value norm')", PAPER_SINK["importance_top"],
                              float(ordered[0]), None, label, pretrained,
                              note=f"top head: H{int(np.argmax(importance))}; [UNSPEC] measure: the mean norm of "
                              "the head's output before the heads are summed"))
        rows.append(ResultRow(chapter, "E15.importance_top_head", "index of the most important head (paper: H7)",
                              float(SINK_HEAD), float(np.argmax(importance)), None, label, pretrained))
    return rows


# ---- chapter 06 on any model ----

#: Chapter 06's claims that name GPT-2 Small's own layers, heads or neurons (regex on the claim id -> why): on
#: a model whose neurons under study were discovered they are "not applicable".
PAPER_ONLY_06: dict[str, str] = {
    r"^E10\.L\d+\.(exception_neuron|exception_rate|max_jaccard|max_enrichment|high_jaccard_count)$":
        "the paper's per-layer survey values are GPT-2 Small's layers 0-11 and their neuron indices; this model's "
        "survey is in the chapter's table",
    r"^E15\.(sink_|entropy_|importance_top_head)": "L11H7 is a head of GPT-2 Small's last layer; on this model "
                                                   "the heads are compared by importance only",
    r"^E1[12]\.": "the null model and the threshold sweep read the paper's named neurons, GPT-2 Small's indices, "
                  "on random models of GPT-2 Small's shape",
}
#: The lens claims per residual state (``E14.logit.L3``): GPT-2 Small's 13 states, so not applicable at another
#: depth.
LENS_STATES = r"^E14\.(logit|tuned)\.(Emb|L\d+)$"


def _template_rows_06(label: str, pretrained: bool) -> list:
    """Every claim of chapter 06 with the paper's number and no value."""
    import pandas as pd

    from darkness_visible.lens.lenses import LensResult
    from darkness_visible.report.controls import PAPER_SWEEP, SWEEP_COLUMNS
    from darkness_visible.report.controls import scorecard_rows as controls_rows
    from darkness_visible.report.lens import scorecard_rows as lens_rows

    nan = float("nan")
    survey = pd.DataFrame([{"layer": L, "exception_neuron": nan, "exception_fire_rate": nan, "max_jaccard": nan,
                            "max_enrichment": nan, "high_jaccard_count": nan} for L in PAPER_E10])
    known = pd.DataFrame([{"which": w, "max_jaccard_within_exception": nan, "n_above_0.5_within": nan,
                           "max_jaccard_all_tokens": nan} for w in ("known, the paper's measure", "known")])
    sink = pd.DataFrame({"group": ["all tokens", "exception (GELU > 0.1)", "high consensus (7/7)"],
                         "sink_share": nan, "entropy_bits": nan})
    rows = scorecard_rows(survey, known, sink, np.full(len(PAPER_E10), nan), label, pretrained)
    n = len(PAPER_E10)
    blank = np.zeros((1, n + 1), dtype=bool)
    rows += lens_rows(LensResult(blank, blank, n, label, pretrained, blank[:, 0]), label)
    rows += controls_rows({}, {}, [{"threshold": t, **dict.fromkeys(SWEEP_COLUMNS, nan)} for t in PAPER_SWEEP],
                          label, pretrained, trained_pos_rate=nan)
    return rows


def crystallization_rows(run, *, survey=None, known=None, sink_table=None, importance=None, masks=None,
                         lens_result=None, lens_source="", published=None, trained=None, null_summary=None,
                         sweep=None, Hc=None, trained_pos=None, controls_corpus=None, family_table=None) -> list:
    """Chapter 06's rows from whatever its cells computed (``None``: a section the run skipped), on the run's
    neurons under study.

    On the paper's lists every row as the paper's procedures give them. On any other model: the survey's
    across-layer rows, the like-for-like comparison on the discovered indicator, the heads' importance, the lens
    (its per-state rows only at GPT-2 Small's depth) and the depth prediction, which say "other model" once
    saved; the claims naming GPT-2 Small's own layers, heads or neurons are "not applicable" with the reason
    (:data:`PAPER_ONLY_06`). Where discovery found no handler, the rows that need one say so."""
    from darkness_visible.report.controls import scorecard_rows as controls_rows
    from darkness_visible.report.family import depth_rows
    from darkness_visible.report.lens import scorecard_rows as lens_rows
    from darkness_visible.report.results import not_applicable_rows, paper_only_reason

    study = run.study
    label, pretrained = masks.label if masks is not None else run.spec.describe(), run.pretrained
    rows = scorecard_rows(survey, known, sink_table, importance, label, pretrained) if survey is not None else []
    if lens_result is not None:
        rows += lens_rows(lens_result, tuned_note=lens_source, published_lens=published is not None)
    if trained is not None:
        rows += controls_rows(trained, null_summary, sweep, Hc.label, pretrained, trained_pos_rate=trained_pos,
                              corpus=controls_corpus)
    if family_table is not None:
        rows += depth_rows(family_table, label, pretrained)
    if study.is_paper:
        return rows
    other_depth = lens_result is not None and lens_result.n_layers != len(PAPER_E10)
    table = {**PAPER_ONLY_06, **({LENS_STATES: f"the paper's lens values are per residual state of GPT-2 Small's "
                                               f"{len(PAPER_E10)} layers; this model has {lens_result.n_layers}"}
                                 if other_depth else {})}

    def paper_only(claim: str) -> str:
        return paper_only_reason(claim, table)

    rows = [r for r in rows if not paper_only(r.claim)]
    absent = (f"not computed: discovery found no exception handler at layer {study.layer} of this model, and the "
              "section that computes this claim needs one" if not study.found else "not computed on this model")
    have = {r.claim for r in rows}
    return rows + [not_applicable_rows([r], paper_only(r.claim) or absent)[0]
                   for r in _template_rows_06(label, pretrained) if r.claim not in have]


def survey_prose(survey: Any, n_tokens: int) -> dict[str, str]:
    """The survey section: ``survey`` from :func:`characterize_layers` (one row per layer), ``n_tokens`` read.

    Wording: ``cl_last_vs_other`` ("above" / "not above") compares the last layer's over-all-tokens Jaccard
    with the best other layer's, and ``cl_within_last_vs_other`` does the same within exception tokens.
    """
    last = survey.layer.max()
    others, final = survey[survey.layer < last], survey[survey.layer == last].iloc[0]
    best = others.max_jaccard.idxmax()
    within_other = float(others.max_jaccard_within.max())
    return {"cl_tokens": f"{n_tokens:,}", "cl_auto_last": f"N{int(final.exception_neuron)}",
            "cl_max_j_other": f"{others.max_jaccard.max():.3f}", "cl_max_j_other_layer": f"L{int(others.layer[best])}",
            "cl_max_j_last": f"{final.max_jaccard:.3f}", "cl_within_last": f"{final.max_jaccard_within:.3f}",
            "cl_within_other": f"{within_other:.3f}", "cl_pairs_total": f"{int(survey.high_jaccard_count.sum()):,}",
            "cl_last_vs_other": "above" if final.max_jaccard > others.max_jaccard.max() else "not above",
            "cl_within_last_vs_other": "above" if final.max_jaccard_within > within_other else "not above"}


def known_prose(known: Any) -> dict[str, str]:
    """The like-for-like section: ``known`` from :func:`known_exception_comparison`."""
    paper_row = known[known.which == "known, the paper's measure"].iloc[0]
    return {"known_within": f"{paper_row.max_jaccard_within_exception:.3f}", "known_best": str(paper_row.best_within),
            "known_all": f"{known[known.which == 'known'].iloc[0].max_jaccard_all_tokens:.3f}"}


def sink_prose(sink_table: Any, importance: np.ndarray, head: int = SINK_HEAD) -> dict[str, str]:
    """The attention-sink section: ``sink_table`` from :func:`sink_comparison` (rows: exception, high
    consensus, all tokens), ``importance`` ``[n_heads]`` mean head-output norms.

    Wording: ``sink_exc_vs_high`` ("more" / "not more") and ``top_head_vs_paper`` (whether head ``head`` is
    the most important, as the paper says).
    """
    order = np.argsort(-np.asarray(importance))
    share = sink_table.sink_share.to_numpy()
    return {"sink_exc": f"{100 * share[0]:.1f} %", "sink_high": f"{100 * share[1]:.1f} %",
            "sink_all": f"{100 * share[2]:.1f} %", "top_head": f"H{order[0]}",
            "head_ratio": f"{importance[order[0]] / importance[order[1]]:.2f}",
            "sink_exc_vs_high": "more" if share[0] > share[1] else "not more",
            "top_head_vs_paper": "as in the paper" if order[0] == head else f"unlike the paper's H{head}"}
