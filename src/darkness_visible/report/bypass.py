"""E0/E17's words and rows: transparent mode and the bypass suite (computation in analysis.bypass)."""

from __future__ import annotations

import math

import pandas as pd

from darkness_visible.analysis.bypass import (
    PAPER_BASE_PPL,
    PAPER_CUMULATIVE,
    PAPER_LINEAR,
    PAPER_SINGLE_LAYER,
    harness_comparison,
)
from darkness_visible.report.results import ResultRow
from darkness_visible.tracing.harvest import Harvest

#: ``docs/RESULTS.md``: L11 bypass +6.9 % PPL with 55.5 % of tokens bypassed; L7 + L11 +11.8 %.
PAPER_L11_DELTA_PCT = 6.9


PAPER_L11_BYPASSED_PCT = 55.5


PAPER_TEXT_SHARE_PCT = 40.0


PAPER_L7_L11_DELTA_PCT = 11.8

#: E0's transparent mode and routing report (``docs/RESULTS.md``, paper-claims §5): the PPL (+0.00 % against the
#: standard 31.79) and, at the last layer, the share of tokens where HOLDS and where the exception neuron fires.
PAPER_TRANSPARENT_PPL, PAPER_TRANSPARENT_DELTA_PCT = 31.79, 0.00
PAPER_ROUTING_CONSENSUS_PCT, PAPER_ROUTING_EXCEPTION_PCT = 55.5, 11.5


def transparent_rows(H: Harvest, result: dict[str, float], chapter: str = "02_exception_handler") -> list[ResultRow]:
    """``E0.transparent.…`` and ``E0.routing.…`` rows from :func:`transparent_table`, on the harness's corpus."""
    other = harness_comparison(H)
    label, pre = H.label, H.is_pretrained
    return [
        ResultRow(chapter, "E0.transparent.ppl", "PPL in transparent mode (MLP output summed tier by tier)",
                  PAPER_TRANSPARENT_PPL, result["ppl"], None, label, pre, comparison=other,
                  note=f"standard PPL on this run {result['ppl_standard']:.4f}"),
        ResultRow(chapter, "E0.transparent.ppl_delta", "transparent vs standard PPL change",
                  PAPER_TRANSPARENT_DELTA_PCT, result["delta_pct"], None, label, pre, unit="%", comparison=other,
                  note=f"largest |log p change| {result['max_abs_logprob_diff']:.1e}"),
        ResultRow(chapter, "E0.routing.consensus_pct", "routing report: tokens where consensus HOLDS at the last "
                  "layer", PAPER_ROUTING_CONSENSUS_PCT, result["consensus_pct"], None, label, pre, unit="%",
                  comparison=other, note="every position of every window"),
        ResultRow(chapter, "E0.routing.exception_pct", "routing report: tokens where the exception neuron fires "
                  "(GELU > 0.1)", PAPER_ROUTING_EXCEPTION_PCT, result["exception_pct"], None, label, pre, unit="%",
                  comparison=other, note="every position of every window"),
    ]


def suite_prose(suite: pd.DataFrame | None, not_applicable: str = "") -> dict[str, str]:
    """Glue values for the chapter's sentence on the suite: the cumulative pair's change and the linear bypass of
    the last paper layer; the reason instead when the suite was not run."""
    if suite is None:
        why = not_applicable or "not computed"
        return {"e17_cumulative_delta": why, "e17_linear_last": why}
    s = suite.set_index("run")
    pair = " + ".join(f"L{L}" for L in min(PAPER_CUMULATIVE, key=len))
    linear = s.loc[f"linear L{max(PAPER_LINEAR)}"]
    return {"e17_cumulative_delta": f"{s.loc[pair, 'delta_pct']:+.1f} % (PPL {s.loc[pair, 'ppl']:,.2f})",
            "e17_linear_last": f"{linear.ppl:,.0f}"}


def scorecard_rows(H: Harvest, table: pd.DataFrame, chapter: str = "02_exception_handler",
                   suite: pd.DataFrame | None = None, not_applicable: str = "") -> list[ResultRow]:
    """``E17.…`` rows: the L11 HOLDS bypass (the paper's 6.9 %, 55.5 %), the text's 7/7 reading, and, from
    ``suite`` (:func:`suite_table`), L7 + L11, L0 + L7 + L11, the linear bypass and the per-layer table.

    ``suite=None``: those rows say why in their note (``not_applicable``, e.g. :func:`applies`'s reason, else
    "not computed")."""
    t = table.set_index("gate")
    code, text = t.iloc[0], t.iloc[2]  # analysis.bypass.gates' order: HOLDS, CONS-POS all, CONS-ABS all
    other = harness_comparison(H)
    label, pre = H.label, H.is_pretrained
    ci = (float(code.ci_low), float(code.ci_high))
    rows = [
        ResultRow(chapter, "E17.bypass_L11.ppl_delta", "zero the L11 MLP where HOLDS (CONS-POS >= 6/7): PPL change",
                  PAPER_L11_DELTA_PCT, float(code.delta_pct), None, label, pre, ci=ci, unit="%", comparison=other,
                  note="docs/RESULTS.md; window bootstrap, 10,000 resamples, seed 42"),
        ResultRow(chapter, "E17.bypass_L11.bypassed", "tokens bypassed under HOLDS", PAPER_L11_BYPASSED_PCT,
                  float(code.bypassed_pct), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E17.text.abs7_share", "tokens at CONS-ABS 7/7 (the text's '7/7 consensus, 40 %')",
                  PAPER_TEXT_SHARE_PCT, float(text.bypassed_pct), None, label, pre, unit="%", comparison=other),
        ResultRow(chapter, "E17.text.abs7_ppl_delta", "zero the L11 MLP at CONS-ABS 7/7: PPL change (the text's "
                  "reading of the 6.9 %)", PAPER_L11_DELTA_PCT, float(text.delta_pct), None, label, pre,
                  ci=(float(text.ci_low), float(text.ci_high)), unit="%",
                  comparison="different procedure: the 6.9 % was measured under HOLDS, not 7/7 (§7 item 18)"),
    ]
    rows += suite_rows(H, suite, chapter, not_applicable)
    return rows


def suite_rows(H: Harvest, suite: pd.DataFrame | None, chapter: str = "02_exception_handler",
               not_applicable: str = "") -> list[ResultRow]:
    """The rows of :func:`suite_table`'s runs (values ``None``, with the reason, when ``suite`` is ``None``)."""
    other = harness_comparison(H)
    label, pre = H.label, H.is_pretrained
    s = None if suite is None else suite.set_index("run")
    why = not_applicable or "needs the bypass passes (bypass.suite_table); not computed"
    rows: list[ResultRow] = []

    def add(claim: str, description: str, paper: float, run: str, column: str, *, ci: bool = False,
            comparison: str = "", note: str = "") -> None:
        if s is None:
            rows.append(ResultRow(chapter, claim, description, paper, None, None, label, pre,
                                  unit="%" if "pct" in column or "bypassed" in column else "", note=why))
            return
        r = s.loc[run]
        value = r[column][0] if column == "bypassed_pct" else r[column]
        value = float(value) if value is not None and math.isfinite(float(value)) else None
        rows.append(ResultRow(chapter, claim, description, paper, value, None, label, pre,
                              ci=(float(r.ci_low), float(r.ci_high)) if ci else None,
                              unit="%" if column in ("delta_pct", "bypassed_pct") else "",
                              comparison=comparison or other, note=note))

    for layers, ppl in PAPER_CUMULATIVE.items():
        run = " + ".join(f"L{L}" for L in layers)
        tag = "_".join(f"L{L}" for L in layers)
        add(f"E17.bypass_{tag}.ppl", f"PPL with the MLPs of {run} zeroed where their consensus holds", ppl, run, "ppl",
            note=f"standard PPL {PAPER_BASE_PPL} on the harness's array")
        if layers == (7, 11):
            add("E17.bypass_L7_L11.ppl_delta", "zero L7 and L11 MLPs where their consensus holds (the '11.8 %', "
                "L7 + L11 only)", PAPER_L7_L11_DELTA_PCT, run, "delta_pct", ci=True,
                note="gates read in the same pass: L11's sees the bypassed L7")
    for L, ppl in sorted(PAPER_LINEAR.items()):
        add(f"E17.linear_L{L}.ppl", f"PPL with L{L}'s GELU replaced by the identity where HOLDS (linear bypass)",
            ppl, f"linear L{L}", "ppl", note="[UNSPEC] where the linear map applies: here where HOLDS")
    last = max(PAPER_LINEAR)
    add(f"E17.linear_L{last}.every_position.ppl", f"PPL with L{last}'s GELU replaced by the identity everywhere",
        PAPER_LINEAR[last], f"linear L{last}, every position", "ppl",
        comparison="different procedure: the other reading of 'linear bypass' (every position, no gate)")
    for L, (ppl, delta, share) in sorted(PAPER_SINGLE_LAYER.items()):
        add(f"E17.layer{L}.ppl", f"single-layer bypass of L{L}: PPL", ppl, f"L{L}", "ppl")
        add(f"E17.layer{L}.ppl_delta", f"single-layer bypass of L{L}: PPL change", delta, f"L{L}", "delta_pct", ci=True)
        add(f"E17.layer{L}.bypassed", f"single-layer bypass of L{L}: tokens bypassed", share, f"L{L}", "bypassed_pct")
    return rows
