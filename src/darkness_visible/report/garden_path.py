"""Chapter 05's words and scorecard rows: the reversed garden-path effect (computation in analysis.garden_path)."""

from __future__ import annotations

import math

import pandas as pd

from darkness_visible.analysis.garden_path import (
    DEFINITIONS,
    METRICS,
    PAPER_WILCOXON,
    GardenPathData,
    PairedComparison,
    PowerAnalysis,
    compare,
    compare_all,
    exact_wilcoxon_p,
    paired_arrays,
    power_analysis,
    which_reproduces,
)
from darkness_visible.report.results import ResultRow

#: What each definition means, for tables.
DEFINITION_LABELS: dict[str, str] = {
    "faithful": "listed word, substring finder (original code)",
    "paper": "listed word, first sub-token by offsets",
    "main_verb": "main-clause verb, first sub-token by offsets",
}


# --------------------------------------------------------------------------------------------- scorecard
def _row(claim: str, description: str, paper: float | None, value: float, data: GardenPathData,
         note: str = "", unit: str = "") -> ResultRow:
    return ResultRow("05_garden_path", claim, description, paper, float(value), None, data.label,
                     data.pretrained, unit=unit, note=note)


def scorecard_rows(data: GardenPathData, table: pd.DataFrame, rr_data: GardenPathData | None = None,
                   rr_table: pd.DataFrame | None = None, indicator: bool = True,
                   consensus: bool = True) -> list[ResultRow]:
    """The chapter's scorecard rows (paper values from paper-claims E9; the JSON's numbers for the faithful
    procedure, the paper's text for the Wilcoxon test and N2123).

    ``indicator``/``consensus``: whether the run traced an indicator and a consensus group (a model where
    discovery found no handler has neither, and gets only the rows that need no neuron: surprisal, the MLP's
    norm, the power of the design)."""
    rows: list[ResultRow] = []
    s = {d: compare(*paired_arrays(table, "surprisal", d), "surprisal") for d in DEFINITIONS}
    # the indicator's and the consensus's rows only where the run has them (a model without a handler has
    # neither column): the surprisal rows need no neuron at all
    n2123 = compare(*paired_arrays(table, "n2123", "faithful"), "n2123") if indicator else None
    cons = compare(*paired_arrays(table, "consensus", "faithful"), "consensus") if consensus else None
    norm = compare(*paired_arrays(table, "mlp_norm", "faithful"), "mlp_norm")
    irreproducible = "paper-claims §7.5: irreproducible from the repo's own data (JSON: W = 45, p = 0.64)"
    family = compare_all(table).set_index(["definition", "metric"])
    for d, note in (("faithful", irreproducible), ("paper", "add8 located correctly (' in', not ' singer')"),
                    ("main_verb", "our definition; paper-claims recon from traces: W = 10, p = 0.0026, +4.0 bits")):
        rows += [
            _row(f"E9.wilcoxon.W.{d}", f"Wilcoxon W, surprisal at disambiguation ({DEFINITION_LABELS[d]})",
                 PAPER_WILCOXON["W"], s[d].wilcoxon_w, data, note),
            _row(f"E9.wilcoxon.p.{d}", f"Wilcoxon p ({DEFINITION_LABELS[d]})", PAPER_WILCOXON["p"],
                 s[d].wilcoxon_p, data, f"Holm-adjusted over the 3 × {len(METRICS)} family: "
                 f"{family.loc[(d, 'surprisal'), 'wilcoxon_p_holm']:.3g}; " + note),
            _row(f"E9.median.{d}", f"median surprisal transitive − intransitive ({DEFINITION_LABELS[d]})",
                 PAPER_WILCOXON["median"], s[d].median_reversal, data, note, "bits"),
            _row(f"E9.reversed_pairs.{d}", f"pairs with transitive > intransitive surprisal ({DEFINITION_LABELS[d]})",
                 10.0, s[d].n_reversed, data, "M: 'in 10 of 15 pairs'; " + note),
        ]
    f = s["faithful"]
    rows += [
        _row("E9.surprisal.mean_intr", "mean surprisal at disambiguation, intransitive (faithful)", 9.5504,
             f.mean_garden, data, "garden_path_surprisal.json", "bits"),
        _row("E9.surprisal.mean_trans", "mean surprisal at disambiguation, transitive (faithful)", 10.3702,
             f.mean_control, data, "garden_path_surprisal.json", "bits"),
        _row("E9.surprisal.t", "paired t(14), surprisal (faithful)", -0.9352, f.t, data),
        _row("E9.surprisal.cohens_d", "the code's 'Cohen's d' (pooled population SD), surprisal", -0.197,
             f.cohens_d_paper, data, f"paired d_z on the same data: {f.d_z:.3f}"),
        _row("E9.mlp_norm.effect", "MLP-output norm effect (I − T)", 4.9716, norm.effect, data),
    ]
    if n2123 is not None:
        rows += [
            _row("E9.n2123.mean_intr", "mean |a_2123| at disambiguation, intransitive", 0.102, n2123.mean_garden,
                 data),
            _row("E9.n2123.mean_trans", "mean |a_2123| at disambiguation, transitive", 0.105, n2123.mean_control,
                 data),
            _row("E9.n2123.t", "paired t(14), N2123", -0.45, n2123.t, data),
            _row("E9.n2123.p", "paired t-test p, N2123", 0.66, n2123.p_t, data),
        ]
    if cons is not None:
        rows += [
            _row("E9.consensus.mean_intr", "mean consensus level (FIRE-ABS), intransitive", 5.5333, cons.mean_garden,
                 data),
            _row("E9.consensus.mean_trans", "mean consensus level (FIRE-ABS), transitive", 5.1333,
                 cons.mean_control, data),
        ]
    pw = power_analysis(len(data.pairs))
    rows.append(ResultRow("05_garden_path", "E9.power.min_d", "smallest d_z with 80 % power, n = 15, α = .05",
                          0.78, pw.min_d, None, "statsmodels TTestPower (independent of the model)", True,
                          note="a property of the design, not of GPT-2", model_free=True))
    if rr_data is not None and rr_table is not None:
        r = compare(*paired_arrays(rr_table, "surprisal", "main_verb"), "surprisal")
        rows.append(_row("E9x.rr.surprisal.effect", "reduced relatives: surprisal at main verb, ambiguous − control",
                         None, r.effect, rr_data, f"Wilcoxon W = {r.wilcoxon_w:g}, p = {r.wilcoxon_p:.3g}; "
                         "not in the paper", "bits"))
        if indicator:
            rn = compare(*paired_arrays(rr_table, "n2123", "main_verb"), "n2123")
            rows.append(_row("E9x.rr.n2123.t", "reduced relatives: paired t, N2123 at main verb", None, rn.t,
                             rr_data, f"p = {rn.p_t:.3g}; not in the paper"))
    return rows


# --------------------------------------------------------------------------------------------- figures
# --------------------------------------------------------------------------------------------- prose
def _signif(p: float, alpha: float = 0.05) -> str:
    return "significant" if math.isfinite(p) and p < alpha else "not significant"


def wilcoxon_prose(surprisal: dict[str, PairedComparison], alpha: float = 0.05) -> dict[str, str]:
    """The reversed-effect section's numbers and wording, per definition ``d`` of ``surprisal``.

    Keys ``gp_W_<d>``, ``gp_p_<d>``, ``gp_median_<d>`` (median T − I in bits) and ``gp_signif_<d>``
    ("significant"/"not significant" at ``alpha``); ``gp_reproduces`` (which procedures give the paper's
    W = 12, p = 0.018); ``gp_exact_15``, ``gp_exact_13`` (scipy's exact p of W = 12 at n = 15 and 13).
    """
    out: dict[str, str] = {}
    for d, s in surprisal.items():
        out |= {f"gp_W_{d}": f"{s.wilcoxon_w:g}", f"gp_p_{d}": f"{s.wilcoxon_p:.3g}",
                f"gp_median_{d}": f"{s.median_reversal:+.2f}", f"gp_signif_{d}": _signif(s.wilcoxon_p, alpha)}
    reproduces = which_reproduces(list(surprisal.values()), list(surprisal))
    out["gp_reproduces"] = ", ".join(reproduces) if reproduces else "none of them"
    out["gp_exact_15"] = f"{exact_wilcoxon_p(12, 15):.4f}"
    out["gp_exact_13"] = f"{exact_wilcoxon_p(12, 13):.4f}"
    return out


def n2123_prose(n2123: PairedComparison, alpha: float = 0.05) -> dict[str, str]:
    """N2123 at the disambiguation token: condition means, paired t, ``d_z`` and whether they differ."""
    return {"gp_n2123_I": f"{n2123.mean_garden:.3f}", "gp_n2123_T": f"{n2123.mean_control:.3f}",
            "gp_n2123_t": f"{n2123.t:.2f}", "gp_n2123_p": f"{n2123.p_t:.2f}", "gp_n2123_dz": f"{n2123.d_z:.2f}",
            "gp_n2123_differs": "differ significantly" if _signif(n2123.p_t, alpha) == "significant"
            else "do not differ significantly"}


def power_prose(pw: PowerAnalysis, paper_min_d: float = 0.78) -> dict[str, str]:
    """The power section: smallest detectable ``d_z``, the power against the observed one, pairs needed,
    and ``gp_min_d_vs_paper`` ("agrees with" / "differs from" the paper's 0.78 at two decimals)."""
    return {"gp_min_d": f"{pw.min_d:.3f}", "gp_power_obs": f"{pw.power_at_observed:.2f}",
            "gp_n_obs": f"{pw.n_for_observed:.0f}" if math.isfinite(pw.n_for_observed) else "n/a",
            "gp_min_d_vs_paper": "agrees with" if round(pw.min_d, 2) == paper_min_d else "differs from"}


def position_prose(table: pd.DataFrame, definition: str = "main_verb", prefix: str = "gp_pos") -> dict[str, str]:
    """How many pairs put the disambiguation token at different absolute positions, and which is later."""
    pos_g, pos_c = paired_arrays(table, "index", definition)
    return {f"{prefix}_differs": str(int((pos_g != pos_c).sum())), f"{prefix}_later_I": str(int((pos_g > pos_c).sum())),
            f"{prefix}_later_T": str(int((pos_g < pos_c).sum())), f"{prefix}_n": str(len(pos_g))}


def reduced_relative_prose(table: pd.DataFrame, alpha: float = 0.05) -> dict[str, str]:
    """Reduced relatives at the main verb: surprisal effect (ambiguous − control), Wilcoxon, its direction
    ("positive, the human-like direction" / "negative, the reversed direction") and position differences."""
    s = compare(*paired_arrays(table, "surprisal", "main_verb"), "surprisal")
    direction = ("positive, the human-like direction" if s.effect > 0 else
                 "negative, the reversed direction" if s.effect < 0 else "zero")
    return {"gp_rr_effect": f"{s.effect:+.2f}", "gp_rr_W": f"{s.wilcoxon_w:g}", "gp_rr_p": f"{s.wilcoxon_p:.3g}",
            "gp_rr_direction": direction, "gp_rr_signif": _signif(s.wilcoxon_p, alpha),
            **position_prose(table, prefix="gp_rr_pos")}
