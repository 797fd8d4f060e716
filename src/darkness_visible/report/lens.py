"""Chapter 06's lens rows and words: logit and tuned lens (computation in lens.lenses)."""

from __future__ import annotations

from typing import Any

import numpy as np

from darkness_visible.lens.lenses import OWN_LENS, LensResult, arc, lockin_pct, top1_pct

#: The paper's values (paper-claims E14, ``tuned_vs_logit_lens.json``), Emb, L0..L11, in percent.
PAPER_LOGIT_TOP1 = (0.683, 3.000, 3.921, 3.948, 5.043, 5.874, 8.609, 10.764, 17.029, 22.729, 29.522, 34.428, 39.044)


PAPER_TUNED_TOP1 = (3.510, 8.970, 9.683, 10.675, 11.659, 12.564, 16.242, 19.010, 24.602, 29.660, 34.874, 37.288, 39.044)


PAPER_LOGIT_NEVER = 53.469


PAPER_TUNED_NEVER = 53.038


PAPER_ARC = {"scaffold_gain_logit": 1.122, "scaffold_gain_tuned": 1.454, "decision_gain_logit": 5.982,
             "decision_gain_tuned": 5.325, "early_boost_pp": 6.269, "late_boost_pp": 4.544}


OTHER_LENS = f"other lens: {OWN_LENS}"


def scorecard_rows(result: LensResult, label: str | None = None, chapter: str = "06_crystallization",
                   tuned_note: str = "", published_lens: bool = False) -> list:
    """Scorecard rows of E14: top-1 % per state for both lenses, never-lock-in %, the arc summaries.

    ``published_lens``: the tuned lens is the published GPT-2 lens of the ``tuned-lens`` package (the paper's);
    otherwise every row that involves the tuned lens says "other lens" instead of a verdict.
    """
    from darkness_visible.report.results import ResultRow

    other = "" if published_lens else OTHER_LENS

    label = label or result.label
    rows = []
    logit_pct = top1_pct(result.logit)
    tuned_pct = top1_pct(result.tuned) if result.tuned is not None else None
    paper_ok = result.n_layers == 12
    for s, name in enumerate(result.labels):
        rows.append(ResultRow(chapter, f"E14.logit.{name}", f"logit lens top-1 % at {name}",
                              PAPER_LOGIT_TOP1[s] if paper_ok else None, float(logit_pct[s]), None, label,
                              result.is_pretrained, unit="%"))
        if tuned_pct is not None:
            rows.append(ResultRow(chapter, f"E14.tuned.{name}", f"tuned lens top-1 % at {name}",
                                  PAPER_TUNED_TOP1[s] if paper_ok else None, float(tuned_pct[s]), None, label,
                                  result.is_pretrained, unit="%", note=tuned_note, comparison=other))
    rows.append(ResultRow(chapter, "E14.logit.never", "logit lens: tokens never locked in (%)", PAPER_LOGIT_NEVER,
                          lockin_pct(result.logit)[1], None, label, result.is_pretrained, unit="%"))
    if result.tuned is not None:
        rows.append(ResultRow(chapter, "E14.tuned.never", "tuned lens: tokens never locked in (%)",
                              PAPER_TUNED_NEVER, lockin_pct(result.tuned)[1], None, label, result.is_pretrained,
                              unit="%", note=tuned_note, comparison=other))
    for key, value in arc(logit_pct, tuned_pct).items():
        if key == "arc_holds":
            rows.append(ResultRow(chapter, "E14.arc_holds", "tuned decision gain > tuned scaffold gain (1 = yes)",
                                  1.0, float(value), None, label, result.is_pretrained, comparison=other))
            continue
        rows.append(ResultRow(chapter, f"E14.{key}", f"arc: {key} (pp per layer; decision = L6 -> L8)",
                              PAPER_ARC.get(key), float(value), None, label,
                              result.is_pretrained, note=tuned_note if "tuned" in key or "boost" in key else "",
                              comparison=other if "tuned" in key or "boost" in key else ""))
    return rows


def lens_prose(result: LensResult, losses: Any, max_steps: int, arc_summary: dict[str, float | bool]) -> dict[str, str]:
    """The lens section: positions scored, last-state accuracy, never-predicted share (logit lens), the
    translators' training (steps used of ``max_steps``; the mean KL of ``losses`` over the first and the last
    ``kl_window`` steps, at most 25 and at most half the steps, since one step's batch is noisy) and whether
    the three-phase arc ``arc_summary`` (from :func:`arc`) "holds" / "does not hold"."""
    logit_pct = top1_pct(result.logit)
    k = max(1, min(25, len(losses) // 2))
    first, last = float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
    return {"lens_tokens": f"{result.n_tokens:,}", "lens_last": f"{logit_pct[-1]:.2f} %",
            "tuned_steps": str(len(losses)), "tuned_max_steps": str(max_steps), "kl_first": f"{first:.4g}",
            "kl_last": f"{last:.4g}", "kl_window": str(k),
            "arc_holds": "holds" if arc_summary.get("arc_holds") else "does not hold",
            "never_logit": f"{lockin_pct(result.logit)[1]:.1f} %",
            "kl_fell": "fell" if last < first else "did not fall"}
