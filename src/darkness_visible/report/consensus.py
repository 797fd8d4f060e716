"""Chapter 03's words and scorecard rows: the consensus/exception crossover (computation in analysis.consensus)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from darkness_visible.analysis.consensus import (
    PAPER_COSINES,
    PAPER_FIRE_RATES,
    PAPER_PREMLP_TOP1,
    PAPER_TABLE,
    CrossoverResult,
    e2_comparison,
    fmt,
    is_monotone,
    width_phrase,
)
from darkness_visible.report.results import ResultRow

if TYPE_CHECKING:
    from darkness_visible.tracing.harvest import Harvest


#: Chapter id used for scorecard rows and result files.
CHAPTER = "03_consensus_crossover"


#: The paper's table places the crossover "between 4/7 and 5/7" (its Figure 1 says 3-4/7).
PAPER_CROSSOVER_BRACKET: tuple[int, int] = (4, 5)


#: "Moloch's compulsion" at 7/7: targets promoted to top-1 vs knocked off; and over all 204,600 tokens.
PAPER_MOLOCH_LEVEL7: tuple[int, int] = (7_674, 3_530)


PAPER_MOLOCH_TOTAL: tuple[int, int, int] = (17_949, 7_795, 204_600)


#: cos(w_2123, mean of the seven consensus w_n).
PAPER_COS_EXCEPTION_MEAN = 0.838


def scorecard_rows(H: Harvest, faithful: CrossoverResult, stated: CrossoverResult, counts: pd.DataFrame,
                   moloch: pd.DataFrame | None, rates: pd.DataFrame, cosines: pd.DataFrame, cos_mean: dict[bool, float],
                   probs: pd.DataFrame, e2_corpus: dict | None = None) -> list[ResultRow]:
    """The chapter's scorecard rows, built from computed values with the paper's numbers; tolerances come from
    :mod:`darkness_visible.report.tolerances`.

    ``cos_mean`` maps ``normalise`` (False/True) to cos(w_2123, consensus mean). ``e2_corpus``: the
    ``meta["corpus"]`` of the harvest that ``counts``/``rates`` came from (default ``H``'s); unless it is DS-C
    the E2 corpus rows are marked "different corpus" (:func:`e2_comparison`).
    """
    model, pre = H.label, H.is_pretrained

    def row(claim: str, desc: str, paper: float | None, value: float | None, **kw: object) -> ResultRow:
        v = None if value is None else float(value)
        return ResultRow(CHAPTER, claim, desc, paper, v, None, model, pre, **kw)  # type: ignore[arg-type]

    rows: list[ResultRow] = []
    f, s = faithful.table.set_index("level"), stated.table.set_index("level")
    for lv, (n, mean, lo, hi) in PAPER_TABLE.items():
        if lv not in f.index:
            continue
        rows.append(row(f"E3.level{lv}.n", f"tokens at consensus level {lv}/7", n, f.loc[lv, "n"],
                        note="±0.2 % for near-threshold flips"))
        ci_f = (float(f.loc[lv, "lo"]), float(f.loc[lv, "hi"]))
        ci_row = ci_f if np.all(np.isfinite(ci_f)) else None
        rows.append(row(f"E3.level{lv}.mean", f"mean ΔP at {lv}/7 (token-level CI)", mean, f.loc[lv, "mean"],
                        ci=ci_row))
        rows.append(row(f"E3.level{lv}.ci_lo", f"token-level CI low at {lv}/7 (faithful)", lo, ci_f[0]))
        rows.append(row(f"E3.level{lv}.ci_hi", f"token-level CI high at {lv}/7 (faithful)", hi, ci_f[1]))
        rows.append(row(f"E3.level{lv}.seq_ci_width", f"sequence-level CI width at {lv}/7 (stated procedure)",
                        hi - lo, float(s.loc[lv, "hi"] - s.loc[lv, "lo"]),
                        note="the paper calls its CIs sequence-level, but its widths are the token-level ones",
                        comparison="different procedure: sequence-level widths vs the paper's token-level CIs"))
    mid = sum(PAPER_CROSSOVER_BRACKET) / 2
    rows.append(row("E3.crossover", "crossover level (interpolated; paper: between 4/7 and 5/7)", mid,
                    faithful.point, ci=stated.point_ci if np.all(np.isfinite(stated.point_ci)) else None,
                    note="CI from the sequence-level bootstrap"))
    rows.append(row("E3.all_ci_exclude_zero.token", "all level CIs exclude 0, token-level (1 = yes)", 1.0,
                    float(faithful.all_exclude_zero)))
    rows.append(row("E3.all_ci_exclude_zero.sequence", "all level CIs exclude 0, sequence-level (1 = yes)", 1.0,
                    float(stated.all_exclude_zero), note="the paper states this procedure"))
    rows += _e4_rows(row, moloch)
    share = counts.set_index("level")["share"]
    ds_c = e2_comparison(e2_corpus if e2_corpus is not None else H.meta["corpus"])
    rows.append(row("E2.level0.share", "share of tokens at 0/7 (paper's 512K distribution)", 0.1,
                    100 * share.get(0, np.nan), unit="%", note="paper: 512K train tokens (DS-C)", comparison=ds_c))
    rows.append(row("E2.level7.share", "share of tokens at 7/7 (paper's 512K distribution)", 40.3,
                    100 * share.get(7, np.nan), unit="%", note="bootstrap JSON on test: 38.1 %", comparison=ds_c))
    for paper_rate, (_, r) in zip(PAPER_FIRE_RATES, rates.iterrows(), strict=False):
        rows.append(row(f"E2.fire_rate.{r['neuron']}", f"{r['neuron']} fire rate, |GELU| > 0.1", paper_rate,
                        100 * r["fire rate"], unit="%", note="paper: 512K train tokens (DS-C)", comparison=ds_c))
    names = list(cosines.index)
    for i, prow in enumerate(PAPER_COSINES):
        for j, value in enumerate(prow, start=i + 1):
            if j < len(names):
                rows.append(row(f"E2.cos.{names[i]}.{names[j]}", f"cos(w_{names[i][1:]}, w_{names[j][1:]})", value,
                                cosines.iloc[i, j], note="weights only"))
    for norm, value in cos_mean.items():
        rows.append(row(f"E2.cos_exception_mean.{'unit_rows' if norm else 'raw_rows'}",
                        f"cos(w_2123, mean consensus w), rows {'normalised' if norm else 'as they are'}",
                        PAPER_COS_EXCEPTION_MEAN, value, note="normalisation unspecified in the paper"))
    p = probs.set_index("level")
    for lv, paper_value in PAPER_PREMLP_TOP1.items():
        for base in ("no_mlp", "lens_prev_block"):
            rows.append(row(f"E2.premlp_top1.level{lv}.{base}", f"pre-MLP top-1 probability at {lv}/7 ({base})",
                            paper_value, p.loc[lv, f"top-1 P {base}"],
                            note="paper's own data give 0.629 at 0/7 (non-monotone)"))
    return rows


def _e4_rows(row: Callable[..., ResultRow], moloch: pd.DataFrame | None) -> list[ResultRow]:
    """E4: targets promoted to and knocked off top-1 by the last MLP (``moloch``: :func:`top1_changes`; computed on
    the paper's lists only, so ``None`` elsewhere gives no rows)."""
    rows: list[ResultRow] = []
    m = moloch.set_index("level") if moloch is not None else pd.DataFrame()
    if "7" in m.index:
        rows.append(row("E4.level7.promoted", "7/7 targets promoted to top-1 by the L11 MLP", PAPER_MOLOCH_LEVEL7[0],
                        m.loc["7", "promoted"], note="within-window positions"))
        rows.append(row("E4.level7.lost", "7/7 targets knocked off top-1 by the L11 MLP", PAPER_MOLOCH_LEVEL7[1],
                        m.loc["7", "lost"], note="within-window positions"))
    if "all" in m.index:  # E4 (``moloch``) is computed on the paper's lists only
        n_all = float(m.loc["all", "n"])
        rows.append(row("E4.all.promoted_pct", "% of tokens promoted to top-1 (all levels)",
                        100 * PAPER_MOLOCH_TOTAL[0] / PAPER_MOLOCH_TOTAL[2], 100 * m.loc["all", "promoted"] / n_all,
                        unit="%"))
        rows.append(row("E4.all.lost_pct", "% of tokens knocked off top-1 (all levels)",
                        100 * PAPER_MOLOCH_TOTAL[1] / PAPER_MOLOCH_TOTAL[2], 100 * m.loc["all", "lost"] / n_all,
                        unit="%"))
    return rows


def run_prose(H: Harvest) -> dict[str, str]:
    """How much text this run read: ``cc_tokens`` and ``cc_windows``."""
    return {"cc_tokens": f"{H.n_tokens:,}", "cc_windows": f"{H.n_tokens // H.meta['corpus']['window']:,}"}


def level_prose(counts: pd.DataFrame) -> dict[str, str]:
    """Share of tokens at 7/7 and at 0/7 (``counts`` from :func:`level_counts`)."""
    return {"cc_share7": fmt(100 * counts["share"].iloc[-1], ".1f") + " %",
            "cc_share0": fmt(100 * counts["share"].iloc[0], ".2f") + " %"}


def bootstrap_prose(faithful: CrossoverResult, stated: CrossoverResult, side: pd.DataFrame) -> dict[str, str]:
    """The two bootstraps compared (``side`` from :func:`compare_procedures`): the median and range of the width
    ratio and what it means in words (``cc_wider``), how many CIs exclude zero, and mean ΔP at 4/7."""
    ratios = side["width ratio"][np.isfinite(side["width ratio"])]
    median = float(ratios.median()) if len(ratios) else float("nan")
    four = faithful.table.set_index("level")["mean"].get(4, np.nan)
    return {
        "cc_width_ratio_median": fmt(median, ".2g"),
        "cc_width_ratio_range": f"{fmt(ratios.min(), '.2g')}–{fmt(ratios.max(), '.2g')}" if len(ratios) else "n/a",
        "cc_wider": width_phrase(median),
        "cc_all_tok": "yes" if faithful.all_exclude_zero else "no",
        "cc_all_seq": "yes" if stated.all_exclude_zero else "no",
        "cc_n_sig_tok": f"{int(faithful.table['significant'].sum())} of {int((faithful.table['n'] > 0).sum())}",
        "cc_n_sig_seq": f"{int(stated.table['significant'].sum())} of {int((stated.table['n'] > 0).sum())}",
        "cc_level4_mean": fmt(four, "+.4f"),
    }


def acf_prose(acf: pd.DataFrame, n_tokens: int) -> dict[str, str]:
    """The lag-1 autocorrelation of ΔP within windows (``acf`` from ``bootstrap.within_sequence_acf``) and whether
    it is visible above noise: larger than two standard errors of independent noise, ``2 / sqrt(n_tokens)``."""
    lag1 = float(acf["acf"].iloc[0])
    bound = 2 / np.sqrt(max(n_tokens, 1))
    visible = np.isfinite(lag1) and lag1 > bound
    return {"cc_acf1": fmt(lag1, ".2f"), "cc_acf_bound": fmt(bound, ".3f"),
            "cc_acf_visible": "is visible" if visible else "is not visible"}


def crossover_prose(faithful: CrossoverResult, stated: CrossoverResult) -> dict[str, str]:
    """Where the sequence-level curve crosses zero, with both CIs, the bracket and how stable it is."""
    if stated.bracket is None:
        where = "is not found: the curve of level means never turns from positive to non-positive"
    else:
        where = f"lies between {stated.bracket[0]}/7 and {stated.bracket[1]}/7, at {fmt(stated.point, '.2f')}"
    return {"cc_cross_where": where, "cc_cross_point": fmt(stated.point, ".2f"),
            "cc_cross_ci_seq": f"{fmt(stated.point_ci[0], '.2f')}–{fmt(stated.point_ci[1], '.2f')}",
            "cc_cross_ci_tok": f"{fmt(faithful.point_ci[0], '.2f')}–{fmt(faithful.point_ci[1], '.2f')}",
            "cc_bracket": "none" if stated.bracket is None else f"{stated.bracket[0]}/7 and {stated.bracket[1]}/7",
            "cc_bracket_share": fmt(100 * stated.bracket_share, ".0f") + " %",
            "cc_no_cross": fmt(100 * stated.no_crossing, ".1f") + " %"}


def moloch_prose(moloch: pd.DataFrame) -> dict[str, str]:
    """Top-1 promotions and losses at 7/7 and overall (``moloch`` from :func:`top1_changes`), and which is larger
    at 7/7 (``cc_m7_balance``)."""
    m = moloch.set_index("level")
    promoted, lost = int(m.loc["7", "promoted"]), int(m.loc["7", "lost"])
    balance = ("promotes more targets to top-1 than it knocks off" if promoted > lost else
               "knocks off more targets than it promotes to top-1" if lost > promoted else
               "promotes as many targets to top-1 as it knocks off")
    return {"cc_m7_promoted": f"{promoted:,}", "cc_m7_lost": f"{lost:,}", "cc_m7_balance": balance,
            "cc_all_promoted_pct": fmt(m.loc["all", "promoted %"], ".2f") + " %",
            "cc_all_lost_pct": fmt(m.loc["all", "lost %"], ".2f") + " %"}


def cosine_prose(cos: pd.DataFrame, cos_mean: dict[bool, float]) -> dict[str, str]:
    """Ranges of the six content neurons' pairwise cosines and of the last neuron's with them (``cos`` from
    :func:`output_cosines`, last row/column the odd one out), and cos(w_N2123, mean direction) raw and unit."""
    six = cos.iloc[:-1, :-1].to_numpy()[np.triu_indices(len(cos) - 1, 1)]
    last = cos.iloc[-1, :-1].to_numpy()
    return {"cc_cos_six": f"{fmt(six.min(), '.2f')}–{fmt(six.max(), '.2f')}",
            "cc_cos_last": f"{fmt(last.min(), '.2f')}–{fmt(last.max(), '.2f')}",
            "cc_cos_mean_raw": fmt(cos_mean[False], ".3f"), "cc_cos_mean_unit": fmt(cos_mean[True], ".3f")}


def premlp_prose(probs: pd.DataFrame) -> dict[str, str]:
    """Pre-MLP top-1 probability at 0/7 and 7/7 under both baselines (``probs`` from :func:`probability_by_level`)
    and whether the no-MLP one increases monotonically with the level (``cc_premlp_monotone``: "is" / "is not")."""
    p = probs.set_index("level")
    return {"cc_p7_nomlp": fmt(p.loc[7, "top-1 P no_mlp"], ".3g"),
            "cc_p0_nomlp": fmt(p.loc[0, "top-1 P no_mlp"], ".3g"),
            "cc_p7_lens": fmt(p.loc[7, "top-1 P lens_prev_block"], ".3g"),
            "cc_p0_lens": fmt(p.loc[0, "top-1 P lens_prev_block"], ".3g"),
            "cc_premlp_monotone": "is" if is_monotone(p["top-1 P no_mlp"].to_numpy()) else "is not"}
