"""Chapter 02's words and scorecard rows: the exception handler's tiers, ablations and discovery.

The computation is in :mod:`darkness_visible.analysis.tiers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from darkness_visible.analysis.tiers import (
    ACTIVE_REGIME,
    CANONICAL_PATH,
    EXCEPTION_PATHS,
    PAPER_ABLATIONS,
    PAPER_ENRICHMENT,
    TierResults,
    enrichment_comparison,
    ln_f_bias_norm,
    tier_of,
)
from darkness_visible.data.neurons import (
    CONSENSUS,
    CORE,
    EXCEPTION_NEURON,
    HANDLER,
    HANDLER_TIERS,
    NAMED_NEURONS,
    SUPPRESSION_PAIR,
)
from darkness_visible.report import bypass as bypass_report
from darkness_visible.report.results import ResultRow, not_applicable_rows, paper_only_reason

if TYPE_CHECKING:
    from darkness_visible.models.loading import Subject
    from darkness_visible.tracing.harvest import Harvest


CHAPTER = "02_exception_handler"


#: The exception-path rate the paper prints, "11.3 %": the predecessor's FIRE-POS rate on its 500K train tokens
#: (paper-claims §3, E18), not a DS-A number.
PAPER_EXCEPTION_PRINTED_PCT = 11.3


#: The specification's DS-A value for the canonical path: 23,654 exception tokens of 204,800 (paper-claims §3, E1).
PAPER_EXCEPTION_DSA_PCT = 11.55


#: Why the other definitions are not compared with the printed 11.3 % (the specification gives no DS-A value).
PREDECESSOR_RATE_COMPARISON = ("different corpus: the paper's 11.3 % is the predecessor's FIRE-POS rate on its "
                               "500K train tokens; the specification gives no DS-A rate for this definition")


#: The paper's reading (P/F): N2123 and the Core push toward function words (1 = yes); paper-claims §7 item 9.
PAPER_PUSHES_FUNCTION_WORDS = 1.0


def sign_rows(scores: dict[str, pd.DataFrame], label: str, pretrained: bool,
              neurons: tuple[int, ...] = (EXCEPTION_NEURON, 2910)) -> list[ResultRow]:
    """Rows for the output-direction sign conflict (paper-claims §7 item 9, §9 F1.4).

    ``scores``: :func:`function_word_scores` tables by reading mode (``"ln_f"``, the paper's reading with β;
    ``"ln_f_no_bias"``, β removed). Value 1 when the neuron's mean function-word z-score is positive. The
    profiles JSON says N2123 pushes *away* from "the, a, and"; the paper says toward.
    """
    rows = []
    for n in neurons:
        for mode, table in scores.items():
            if f"N{n}" not in table.index:
                continue
            z = float(table.loc[f"N{n}"].mean())
            other = "" if mode == "ln_f" else "different procedure: ln_f's bias β removed (not the paper's reading)"
            suffix = "" if mode == "ln_f" else f".{mode}"
            rows.append(ResultRow(CHAPTER, f"E1.sign.n{n}_toward_function_words{suffix}",
                                  f"N{n}'s output pushes toward ' the', ' in', ' and', ' a', ',' (1 = yes; {mode})",
                                  PAPER_PUSHES_FUNCTION_WORDS, float(z > 0), None, label, pretrained,
                                  comparison=other, note=f"mean z-score {z:+.2f}; profiles JSON: N2123 pushes away "
                                  "(§7 item 9)"))
    return rows


PAPER_BASELINE_PPL = 31.79


#: DS-B's token count (195 windows x 256), the total of every E13 contingency table (paper-claims §9 F3.4).
DSB_TOKENS = 49_920


#: ``enrichment_stats.json`` (what the faithful code, with its wrong lists, produced; paper-claims E13): base rate,
#: exception rate and enrichment of the neurons the spec quotes, and its count of significant ids (P says 6).
JSON_ENRICHMENT: dict[int, tuple[float, float, float]] = {
    2123: (0.6878, 1.0, 1.4539), 584: (0.0394, 0.0486, 1.2342), 2378: (0.0318, 0.0373, 1.1728),
    737: (0.0292, 0.0319, 1.0921), 611: (0.6862, 0.7190, 1.0478), 1602: (0.2042, 0.2065, 1.0114),
}


JSON_N_SIGNIFICANT = 5


def scorecard_rows(results: TierResults, discovery_recovered: int | None = None,
                   train_ablation: pd.DataFrame | None = None,
                   discovery_scores: pd.DataFrame | None = None) -> list[ResultRow]:
    """Scorecard rows (paper value, this run, tolerance) for every number of the chapter.

    ``discovery_scores``: :func:`darkness_visible.discovery.discover.score_roles` of the discovered handler against
    the paper's lists (rows ``NEW.discovery.<role>.precision`` / ``.recall``; not in the paper).
    """
    R = results
    rows: list[ResultRow] = []

    def add(claim: str, description: str, paper: float | None, value: float | None,
            ci: tuple[float, float] | None = None, unit: str = "", note: str = "", comparison: str = "",
            relation: str = "=") -> None:
        v = None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)
        rows.append(ResultRow(CHAPTER, claim, description, paper, v, None, R.label, R.pretrained, ci, unit, note,
                              comparison=comparison, relation=relation))  # type: ignore[arg-type]

    _e1_rows(add, R)
    _e5_rows(add, R, train_ablation)
    _e13_rows(add, R)
    _discovery_rows(add, discovery_recovered, discovery_scores)
    return rows


_Add = Callable[..., None]


#: E5's rows run on the test split; the paper's on its unpublished train array.
TEST_SPLIT_COMPARISON = ("different corpus: WikiText-103 test windows vs the paper's train array (DS-C; the train "
                         "rows need the hub)")


def _e1_rows(add: _Add, R: TierResults) -> None:
    """E1: the indicator's regimes and exception paths, conditional rates, Jaccard, norm shares."""
    reg = R.regimes.set_index("definition")
    add("E1.n2123.active_rate", "N2123 fire rate, |GELU| > 0.1", 70.9, reg.rate_pct.iloc[0], unit="%",
        note="JSON: 68.8 % on 49,920 train tokens")
    notes = [f"canonical reconstruction; the spec's DS-A value {PAPER_EXCEPTION_DSA_PCT} % (23,654 / 204,800), "
             "not the printed 11.3 %", "draft M's definition; repo data give 3.85 %",
             "top decile: 10 % by construction"]
    for (name, row), note in zip(reg.iloc[1:].iterrows(), notes, strict=True):
        canonical = name == CANONICAL_PATH.name
        add(f"E1.exception.rate[{name}]", f"exception path rate, {name}",
            PAPER_EXCEPTION_DSA_PCT if canonical else PAPER_EXCEPTION_PRINTED_PCT, row.rate_pct, unit="%",
            note=note, comparison="" if canonical else PREDECESSOR_RATE_COMPARISON)
    for _, r in R.rates.iterrows():
        add(f"E1.cond.{r.neuron}", f"{r.neuron} ({r.tier}) fire rate on exception tokens", r.paper_cond_pct,
            r.cond_pct, unit="%")
    js = R.jaccard_summary.set_index(["population", "statistic"]).value
    w = "within exception tokens"
    add("E1.jaccard.core_min", "Core pairwise Jaccard, minimum (within exception tokens; the paper: '≥ 0.91')",
        0.91, js.get((w, "core min")), relation=">=", note="a bound: replicated when the minimum is at least 0.91 "
        "(within the printed precision)")
    peak = [k for k in js.index if k[0] == w and k[1].startswith(f"N{EXCEPTION_NEURON}-")]
    if peak:
        add("E1.jaccard.core_peak", "Jaccard N2123-N2910 (within exception tokens)", 0.998, js[peak[0]])
    if (w, "N584-N2378") in js.index:
        add("E1.jaccard.584_2378", "Jaccard N584-N2378 (within exception tokens)", 0.889, js[(w, "N584-N2378")])
        add("E1.jaccard.584_2378.all", "Jaccard N584-N2378 over all tokens (not in the paper)", None,
            js[("all tokens", "N584-N2378")])
    paper_share = {"core": 54.0, "differentiator": 23.0, "specialist": 4.0, "residual": 19.0}
    for _, r in R.shares.iterrows():
        add(f"E1.share.{r.tier}", f"{r.tier} share of exception-path output norm (sum of norms)",
            paper_share.get(r.tier), r.share_of_norms_pct, unit="%", note="definition [UNSPEC]")


def _e5_rows(add: _Add, R: TierResults, train_ablation: pd.DataFrame | None) -> None:
    """E5: ablation perplexities (test split, and train when the hub answered) and the Simpson split."""
    test_split = TEST_SPLIT_COMPARISON
    ab = R.ablation
    if len(ab):
        add("E5.ppl.baseline", "baseline perplexity (WikiText-103 test, within-window targets)", PAPER_BASELINE_PPL,
            ab.ppl_base.iloc[0], note="paper: unpublished train array; this row: test split", comparison=test_split)
    for _, r in ab.iterrows():
        add(f"E5.delta.{r.variant}", f"ablate {r.ablation}: perplexity change", PAPER_ABLATIONS[r.variant][1]
            if r.variant in PAPER_ABLATIONS else None, r.delta_pct, (r.ci_low, r.ci_high), "%",
            "test split; sequence-level bootstrap, 10,000 resamples, seed 42", comparison=test_split)
    if train_ablation is not None and len(train_ablation):
        add("E5.ppl.baseline.train", "baseline perplexity (WikiText-103 train head)", PAPER_BASELINE_PPL,
            train_ablation.ppl_base.iloc[0], note="train split through datasets")
        for _, r in train_ablation.iterrows():
            add(f"E5.delta.{r.variant}.train", f"ablate {r.ablation}: perplexity change (train split)",
                PAPER_ABLATIONS.get(r.variant, (None, None))[1], r.delta_pct, (r.ci_low, r.ci_high), "%")
    simp = R.simpson.set_index("level")
    for level, paper in (("3/7", 2.4), ("7/7", -0.4)):
        if level in simp.index:
            add(f"E5.core.level{level[0]}", f"Core ablation at consensus {level} (CONS-ABS)", paper,
                simp.delta_pct[level], unit="%", note="Simpson split", comparison=test_split)


def _e13_rows(add: _Add, R: TierResults) -> None:
    """E13: Fisher enrichment of the routing ids under the indicator, for each list mode."""
    e13 = enrichment_comparison(R.enrichment_corpus)
    for mode, table in R.enrichment.items():
        tag = "faithful" if mode.startswith("faithful") else "corrected"
        faithful = tag == "faithful"  # the faithful code produced the JSON: its rows compare with the JSON
        for _, r in table[table.paper_enrichment.notna()].iterrows():
            if faithful:
                base, exc, enrich = JSON_ENRICHMENT[int(r.neuron[1:])]
                add(f"E13.enrich.{r.neuron}.faithful", f"enrichment of {r.neuron} under N2123 FIRE-ABS (faithful "
                    "lists; enrichment_stats.json)", enrich, r.enrichment,
                    note=f"P's table: {r.paper_enrichment}", comparison=e13)
                add(f"E13.base_rate.{r.neuron}.faithful", f"P({r.neuron} fires) (enrichment_stats.json)", base,
                    r.base_rate, comparison=e13)
                add(f"E13.exc_rate.{r.neuron}.faithful", f"P({r.neuron} fires | N2123 fires) "
                    "(enrichment_stats.json)", exc, r.exc_rate, comparison=e13)
            else:
                add(f"E13.enrich.{r.neuron}.corrected", f"enrichment of {r.neuron} under N2123 FIRE-ABS (corrected "
                    "lists; P's table)", r.paper_enrichment, r.enrichment, note=f"JSON value {r.json_enrichment}",
                    comparison=e13)
        add(f"E13.n_significant.{tag}", f"routing ids significant after Bonferroni over 3,072 ({tag} lists; "
            f"{'enrichment_stats.json' if faithful else 'P'})", JSON_N_SIGNIFICANT if faithful else 6,
            int(table.significant.sum()), note="P says 6" if faithful else f"JSON: {JSON_N_SIGNIFICANT}",
            comparison=e13)
        totals = (table.a + table.b + table.c + table.d).unique()
        add(f"E13.contingency.total.{tag}", f"tokens in each 2x2 table ({tag} lists; §9 F3.4: DS-B's 49,920)",
            DSB_TOKENS, float(totals[0]) if len(totals) == 1 else float("nan"), comparison=e13,
            note="every table sums to the same count" if len(totals) == 1 else "tables disagree: a bug")


def _discovery_rows(add: _Add, discovery_recovered: int | None, discovery_scores: pd.DataFrame | None) -> None:
    """Rows not in the paper: how much of the paper's lists automatic discovery recovers."""
    if discovery_recovered is not None:
        add("NEW.discovery.recovered", "automatic discovery: paper's 27 routing neurons recovered (not in paper)",
            None, discovery_recovered)
    if discovery_scores is not None:
        for _, r in discovery_scores.iterrows():
            if r.role == "indicator":
                add("NEW.discovery.indicator", "discovered indicator is N2123 (1 = yes; not in paper)", None,
                    float(r.hits))
                continue
            for stat in ("precision", "recall"):
                add(f"NEW.discovery.{r.role}.{stat}", f"discovered {r.role} vs the paper's list: {stat} "
                    f"({int(r.hits)} of {int(r.n_found)} found, {int(r.n_true)} listed; not in paper)", None,
                    r[stat])


# ---- chapter 02 on any model: the rows of the neurons under study, the paper's own as "not applicable" ----

#: Chapter 02's claims that name GPT-2 Small's own neurons or layers: on a model whose neurons under study were
#: discovered they are "not applicable" (regex on the claim id -> why).
PAPER_ONLY_02: dict[str, str] = {
    r"^E1\.cond\.": "the paper's per-neuron conditional rates name GPT-2 Small's 20 handler neurons; this model's "
                    "discovered tiers are in the chapter's table",
    r"^E1\.jaccard\.584_2378": "N584 and N2378 are GPT-2 Small's suppression pair; this model has no named pair",
    r"^E13\.": "the enrichment test runs on the paper's routing lists (GPT-2 Small's indices, faithful and "
               "corrected), which name no neuron of this model",
    r"^NEW\.discovery\.": "scores the discovered roles against the paper's GPT-2 Small lists, which name no "
                          "neuron of this model",
    r"^E17\.(bypass_L7|bypass_L0|linear_|layer\d)": "the bypass suite's layers and gate neurons are GPT-2 Small's "
                                                    "(the paper's layer pair L7 + L11 and the predecessor's "
                                                    "per-layer consensus neurons)",
}


def paper_template(label: str, pretrained: bool) -> TierResults:
    """Chapter 02's tables in the paper's shape with no values: the claims its rows compare (ids and paper
    numbers), used to write the rows that are not applicable on another model."""
    nan = float("nan")
    names = [ACTIVE_REGIME.description] + [p.name for p in EXCEPTION_PATHS]
    regimes_t = pd.DataFrame({"definition": names, "rate_pct": nan})
    owner = tier_of(HANDLER_TIERS)
    cond = {n.index: n.cond_fire_pct for n in NAMED_NEURONS}
    rates_t = pd.DataFrame([{"neuron": f"N{n}", "tier": owner[n], "cond_pct": nan, "paper_cond_pct": cond.get(n)}
                            for n in HANDLER])
    w, a = "within exception tokens", "all tokens"
    stats = [(w, "core min"), (w, f"N{EXCEPTION_NEURON}-N{CORE[1]}"),
             (w, "N{}-N{}".format(*SUPPRESSION_PAIR)), (a, "N{}-N{}".format(*SUPPRESSION_PAIR))]
    jsum_t = pd.DataFrame([{"population": p, "statistic": s, "value": nan} for p, s in stats])
    shares_t = pd.DataFrame({"tier": ["core", "differentiator", "specialist", "residual"],
                             "share_of_norms_pct": nan})
    ablation_t = pd.DataFrame([{"variant": v, "ablation": lab, "ppl_base": nan, "delta_pct": nan, "ci_low": nan,
                                "ci_high": nan} for v, (lab, _, _) in PAPER_ABLATIONS.items()])
    simpson_t = pd.DataFrame({"level": [f"{k}/{len(CONSENSUS)}" for k in range(len(CONSENSUS) + 1)],
                              "delta_pct": nan})
    enrich = pd.DataFrame([{"neuron": f"N{n}", "paper_enrichment": p, "json_enrichment": j, "enrichment": nan,
                            "base_rate": nan, "exc_rate": nan, "significant": False, "a": 0, "b": 0, "c": 0,
                            "d": 0} for n, (p, j) in PAPER_ENRICHMENT.items()])
    return TierResults(label, pretrained, regimes_t, rates_t, {}, jsum_t, shares_t, ablation_t, simpson_t,
                       {"faithful lists": enrich, "corrected lists": enrich})


def _template_rows_02(H, label: str, pretrained: bool) -> list[ResultRow]:
    """Every claim of chapter 02 with the paper's number and no value (:func:`paper_template`)."""
    nan = float("nan")
    rows = scorecard_rows(paper_template(label, pretrained))
    blank = pd.DataFrame(nan, index=[f"N{EXCEPTION_NEURON}", f"N{CORE[1]}"], columns=["z"])
    rows += sign_rows({"ln_f": blank, "ln_f_no_bias": blank}, label, pretrained)
    gates = pd.DataFrame({"gate": ["HOLDS", "CONS-POS", "CONS-ABS"], "bypassed_pct": nan, "delta_pct": nan,
                          "ci_low": nan, "ci_high": nan})
    rows += bypass_report.scorecard_rows(H, gates, not_applicable="not computed")
    keys = ("ppl", "ppl_standard", "delta_pct", "max_abs_logprob_diff", "consensus_pct", "exception_pct")
    rows += bypass_report.transparent_rows(H, dict.fromkeys(keys, nan))
    return rows


def _pair_rows(study, jsum, fw, label: str, pretrained: bool) -> list[ResultRow]:
    """The paper's N2123-N2910 rows (the Core's peak Jaccard, the output-direction signs) on the discovered
    indicator and its first Core partner, under the paper's claim ids."""
    if not study.jaccard_pairs:
        return []
    a, b = study.jaccard_pairs[0]
    rows = []
    if jsum is not None:
        js = jsum.set_index(["population", "statistic"]).value
        value = js.get(("within exception tokens", f"N{a}-N{b}"))
        rows.append(ResultRow(CHAPTER, "E1.jaccard.core_peak", f"Jaccard of the discovered indicator N{a} and its "
                              f"Core partner N{b} (within exception tokens; the paper's N{EXCEPTION_NEURON}-"
                              f"N{CORE[1]})", 0.998, None if value is None else float(value), None, label,
                              pretrained))
    if fw is not None:
        for mine, theirs in ((a, EXCEPTION_NEURON), (b, CORE[1])):
            for r in sign_rows(fw, label, pretrained, neurons=(mine,)):
                rows.append(replace(r, claim=r.claim.replace(f".n{mine}_", f".n{theirs}_"),
                                    note=f"{r.note}; this model's discovered N{mine} in the role of the paper's "
                                         f"N{theirs}"))
    return rows


def exception_handler_rows(run, H, *, regimes=None, rates=None, jac=None, jsum=None, shares=None, ablation=None,
                           simpson=None, enrichment=None, Hc=None, train_ablation=None, paper_scores=None, fw=None,
                           H_ppl=None, bypass_table=None, bypass_suite=None, why_not=None,
                           transparent=None) -> list[ResultRow]:
    """Chapter 02's rows from whatever its cells computed (``None``: a section the run skipped), on the run's
    neurons under study (``run.study``).

    On the paper's lists (GPT-2 Small, or the stand-in of its shape) every row as the paper's procedures give
    them. On any other model: the rows of the procedures that run on the discovered roles (the indicator's
    rates, the tiers' Jaccard, norm shares and ablations, the last-layer bypass, the transparent mode), which
    say "other model" once saved, and every claim naming GPT-2 Small's own neurons or layers as "not
    applicable" with the reason (:data:`PAPER_ONLY_02`). Where discovery found no handler every claim is "not
    applicable" and says so."""
    study = run.study
    label, pretrained = H.label, H.is_pretrained
    if study.is_paper:
        results = TierResults(label, pretrained, regimes, rates, jac, jsum, shares, ablation, simpson,
                              {f"{m} lists": t for m, t in enrichment.items()}, enrichment_corpus=Hc.meta["corpus"])
        rows = scorecard_rows(results, None, train_ablation, discovery_scores=paper_scores)
        rows += sign_rows(fw, label, pretrained)
        rows += bypass_report.scorecard_rows(H_ppl, bypass_table, suite=bypass_suite, not_applicable=why_not or "")
        return rows + bypass_report.transparent_rows(H_ppl, transparent)
    computed: list[ResultRow] = []
    if study.found:
        results = TierResults(label, pretrained, regimes, rates, jac, jsum, shares, ablation, simpson, {})
        computed = scorecard_rows(results, None, train_ablation) + _pair_rows(study, jsum, fw, label, pretrained)
        if bypass_table is not None:
            computed += bypass_report.scorecard_rows(H_ppl, bypass_table)
        if transparent is not None:
            computed += bypass_report.transparent_rows(H_ppl, transparent)
        computed = [r for r in computed if not paper_only_reason(r.claim, PAPER_ONLY_02)]
        absent = (f"this model's discovered roles (indicator N{study.indicator}, {len(study.core)} Core, "
                  f"{len(study.differentiators)} Differentiators, {len(study.specialists)} Specialists, "
                  f"{len(study.consensus)} consensus) have no counterpart of this claim")
    else:
        absent = (f"not computed: discovery found no exception handler at layer {study.layer} of this model, and "
                  "this claim needs one")
    template = _template_rows_02(H, label, pretrained)
    if paper_scores is not None:  # the discovered roles scored against the paper's lists: shown, not a row
        _discovery_rows(lambda claim, description, paper, value, **_: template.append(
            ResultRow(CHAPTER, claim, description, paper, value, None, label, pretrained)), None, paper_scores)
    have = {r.claim for r in computed}
    rest = [not_applicable_rows([r], paper_only_reason(r.claim, PAPER_ONLY_02) or absent)[0]
            for r in template if r.claim not in have]
    return computed + rest


def _num(x: Any, spec: str) -> str:
    """``x`` formatted with ``spec``, or ``"n/a"`` when it is missing or not finite."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(value, spec) if np.isfinite(value) else "n/a"


def _compare(a: float, b: float, tol: float,
             words: tuple[str, str, str] = ("higher", "lower", "about the same")) -> str:
    """``words[0]`` if ``a > b + tol``, ``words[1]`` if ``a < b - tol``, else ``words[2]`` (NaN: "not comparable")."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return "not comparable"
    return words[0] if a > b + tol else words[1] if a < b - tol else words[2]


def regime_prose(regimes_table: pd.DataFrame, exception: np.ndarray) -> dict[str, str]:
    """Rates of N2123's regimes (rows of :func:`regimes`: active, GELU > 0.1, GELU > 1.0, ...) and the path size."""
    rate = regimes_table.rate_pct.to_numpy()
    return {"rate_abs": f"{_num(rate[0], '.1f')} %", "rate_pos": f"{_num(rate[1], '.1f')} %",
            "rate_gt1": f"{_num(rate[2], '.2f')} %", "n_exception": f"{int(np.sum(exception)):,}"}


def jaccard_prose(summary: pd.DataFrame) -> dict[str, str]:
    """The two named pairs' Jaccard within exception tokens and over all tokens (:func:`jaccard_summary`), and
    whether each is lower or higher over all tokens (``j_peak_change``, ``j_pair_change``)."""
    js = summary.set_index(["population", "statistic"]).value
    out: dict[str, str] = {}
    for key, pair in (("peak", f"N{EXCEPTION_NEURON}-N2910"), ("pair", "N584-N2378")):
        within = float(js.get(("within exception tokens", pair), np.nan))
        overall = float(js.get(("all tokens", pair), np.nan))
        out[f"j_{key}_within"], out[f"j_{key}_all"] = _num(within, ".3f"), _num(overall, ".3f")
        out[f"j_{key}_change"] = _compare(overall, within, 0.005)
    return out


def direction_prose(subject: Subject, scores: dict[str, pd.DataFrame], cosines: pd.DataFrame) -> dict[str, str]:
    """Numbers of the output-direction section: ‖β‖ of ``ln_f`` and what it implies for the two readings, the
    bias-free function-word z-scores of N2123 and N2910 (``scores`` from :func:`function_word_scores` per mode)
    and where they point, and cos(w_N2123, w_N2910) with the direction it means."""
    beta = ln_f_bias_norm(subject)
    plain = scores["ln_f_no_bias"]
    out = {"beta_norm": _num(beta, ".3f"),
           "beta_note": ("β = 0 here, so the two readings below coincide and the list above is arbitrary" if beta == 0
                         else "β is not zero here, so the two readings below differ by the same vector for every "
                              "neuron")}
    for n in (EXCEPTION_NEURON, 2910):
        z = float(plain.loc[f"N{n}"].mean()) if f"N{n}" in plain.index else np.nan
        out[f"fw_{n}"] = _num(z, "+.2f")
        out[f"fw_{n}_direction"] = _compare(z, 0.0, 0.0, ("toward", "away from", "neither toward nor away from"))
    c = float(cosines.loc[f"N{EXCEPTION_NEURON}", "N2910"])
    out["cos_2123_2910"] = _num(c, "+.3f")
    out["cos_direction"] = _compare(c, 0.0, 0.1, ("in similar directions", "in opposite directions",
                                                   "in nearly orthogonal directions"))
    return out


def share_prose(shares: pd.DataFrame) -> dict[str, str]:
    """Each tier's share of the summed tier norms on exception tokens (``share_<tier>``) and the largest tier."""
    out = {f"share_{r.tier}": f"{_num(r.share_of_norms_pct, '.1f')} %" for r in shares.itertuples()}
    out["share_largest"] = str(shares.loc[shares.share_of_norms_pct.idxmax(), "tier"]) if len(shares) else "n/a"
    return out


def ablation_prose(ablation: pd.DataFrame, H: Harvest, trained: pd.DataFrame | None) -> dict[str, str]:
    """Baseline perplexity, corpus, each ablation's change with its CI (``abl_<variant>``), how many CIs exclude 0,
    and whether the train-split repeat ran."""
    out = {"ppl_base": _num(ablation.ppl_base.iloc[0] if len(ablation) else np.nan, ".2f"),
           "corpus_origin": str(H.meta["corpus"].get("origin", "not recorded")),
           "train_status": "run on the train split" if trained is not None else "not run (hub unreachable)"}
    for r in ablation.itertuples():
        out[f"abl_{r.variant}"] = f"{_num(r.delta_pct, '+.2f')} % [{_num(r.ci_low, '+.2f')}, {_num(r.ci_high, '+.2f')}]"
    excludes = int(((ablation.ci_low > 0) | (ablation.ci_high < 0)).sum())
    out["abl_n_exclude"] = f"{excludes} of {len(ablation)}"
    return out


def simpson_prose(table: pd.DataFrame, low: str = "3/7", high: str = "7/7") -> dict[str, str]:
    """The ablation's perplexity change overall, at a low and a high consensus level (:func:`simpson_table`), and
    whether the two levels' changes have opposite signs (the paper's Simpson's paradox) on this run."""
    d = table.set_index("level").delta_pct
    lo, hi = float(d.get(low, np.nan)), float(d.get(high, np.nan))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        flip = "cannot be told (a level has no tokens on this run)"
    elif lo * hi < 0:
        flip = "have opposite signs, as the paper reports"
    else:
        flip = "have the same sign, unlike the paper's +2.4 % and −0.4 %"
    return {"simpson_all": f"{_num(d.get('all', np.nan), '+.2f')} %", "simpson_low": f"{_num(lo, '+.2f')} %",
            "simpson_high": f"{_num(hi, '+.2f')} %", "simpson_flip": flip}


def enrichment_prose(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Significant neurons after Bonferroni under each list mode (``n_sig_<mode>``)."""
    return {f"n_sig_{mode}": str(int(t.significant.sum())) for mode, t in tables.items()}


def toy_prose(toy: Any, found: Any, scores: pd.DataFrame) -> dict[str, str]:
    """One planted model (:func:`darkness_visible.discovery.planted_random.build_random_planted`): its shape,
    layer and gate, and what the discovery named (``found``: a
    :class:`darkness_visible.discovery.discover.Discovery`; ``scores``:
    :func:`darkness_visible.discovery.discover.score_roles`)."""
    hit = bool(scores.set_index("role").hits.get("indicator", 0))
    return {"toy_model": f"{toy.draw.shape.n_layers}-layer, {toy.draw.shape.d_mlp}-neuron",
            "toy_layer": str(toy.key.layer), "toy_mechanism": toy.draw.mechanism.replace("_", " "),
            "toy_found": ("no handler" if not found.found else "the planted indicator" if hit
                          else f"N{found.indicator}, not the planted indicator"),
            "toy_share": _num(found.indicator_share, ".0%") if found.found else "n/a"}


def recovery_suite_prose(suite: pd.DataFrame, bar: float = 0.2) -> dict[str, str]:
    """The planted-model suite (:func:`darkness_visible.discovery.planted_random.recovery_suite`): counts, failure
    rate and whether it is within ``bar``, indicator and handler recovery."""
    n = len(suite)
    fail = 1 - float(suite.passed.mean()) if n else np.nan
    return {"suite_n": str(n), "suite_pass": str(int(suite.passed.sum())), "suite_fail": _num(fail, ".0%"),
            "suite_vs_bar": ("within" if np.isfinite(fail) and fail <= bar else "above") + f" the {bar:.0%} bar",
            "suite_indicator": _num(suite.indicator_ok.mean(), ".0%"), "suite_found": str(int(suite.found.sum())),
            "suite_core_p": _num(suite.core_precision.mean(), ".2f"),
            "suite_core_r": _num(suite.core_recall.mean(), ".2f"),
            "suite_handler_p": _num(suite.handler_precision.mean(), ".2f")}


def discovery_null_prose(reference: dict[str, Any], found: Any, label: str) -> dict[str, str]:
    """The random-weight null: the strongest covering partner's bound against the bar, and the answer."""
    lower, bar = float(reference["max_lower"]), float(reference["bar"])
    return {"null_lower": _num(lower, ".2f"), "null_bar": f"{bar:g}",
            "null_vs_bar": _compare(lower, bar, 0.0, ("above", "below", "at")),
            "null_answer": "no handler" if not found.found else f"N{found.indicator} (a false positive)",
            "null_label": label}


def discovery_prose(found: Any, scores: pd.DataFrame, auto_indicator: int) -> dict[str, str]:
    """The discovery on this run's last layer against the paper's lists, and the paper's automatic choice."""
    s = scores.set_index("role")
    return {"disc_answer": "no handler" if not found.found else (
                f"N{found.indicator} (fires on {found.indicator_rate:.1%} of tokens, chosen in "
                f"{found.indicator_share:.0%} of window resamples, a Core of {len(found.core)})"),
            "disc_core_recall": _num(s.recall.get("core", np.nan), ".2f"),
            "disc_handler_precision": "none found" if not found.found else _num(s.precision.get("handler"), ".2f"),
            "auto_indicator": f"N{auto_indicator}"}
