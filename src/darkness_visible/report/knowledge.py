"""Chapter 04's words and scorecard rows: the knowledge-neuron critique (computation in analysis.knowledge)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from darkness_visible.analysis.knowledge import (
    MatchedBaseline,
    OverlapEnrichment,
    extraction_summary,
    overlap_enrichment,
)
from darkness_visible.data.neurons import CONSENSUS, ROUTING
from darkness_visible.report.results import ResultRow

#: The chapter id used for scorecard rows and the results file.
CHAPTER = "04_knowledge_neurons"


#: The paper's mean change in the target's probability per knockout, over its 20 prompts (E8, F2.3) [DATA].
PAPER_KNOCKOUT: dict[str, float] = {"top-20": 0.0804, "consensus": -0.0028, "routing": 0.0307, "all heads": -0.0144}


#: The paper's mean number of routing neurons in a prompt's IG top-20 (E8).
PAPER_ROUTING_OVERLAP = 7.3


#: The eight neurons the paper says recur in 16-19 of the 20 prompts (paper-claims E8).
PAPER_RECURRING: tuple[int, ...] = (2, 611, 1611, 2044, 2173, 2460, 2600, 2910)


def scorecard_rows(label: str, pretrained: bool, overlap: pd.DataFrame | None = None,
                   matched: MatchedBaseline | None = None, recurring: pd.DataFrame | None = None,
                   knock: pd.DataFrame | None = None, transplants: pd.DataFrame | None = None,
                   extraction_table: pd.DataFrame | None = None,
                   progressive: dict[str, pd.DataFrame] | None = None, overlap_prob: pd.DataFrame | None = None,
                   hooks: pd.DataFrame | None = None, routing_size: int = len(ROUTING),
                   consensus_size: int = len(CONSENSUS), d_mlp: int = 3072) -> list[ResultRow]:
    """The chapter's scorecard rows from computed tables (any argument may be omitted).

    ``routing_size``, ``consensus_size`` and ``d_mlp`` set the chance rates (the paper's 27, 7 and 3,072 by
    default; the run's own lists and width on another model).

    Paper values from paper-claims E6, E8, E16. IG numbers use the raw-logit target (the paper's code).
    ``knock`` is :func:`knockout_summary`'s table; Δp is after − before (the paper's "+8.0 pp").
    """
    rows: list[ResultRow] = []

    def add(claim: str, description: str, paper: float | None, value: float | None,
            ci: tuple[float, float] | None = None, unit: str = "", note: str = "") -> None:
        rows.append(ResultRow(CHAPTER, claim, description, paper, None if value is None else float(value), None, label,
                              pretrained, ci, unit, note))

    if overlap is not None:
        e = overlap_enrichment(overlap, set_size=routing_size, d_mlp=d_mlp)
        ec = overlap_enrichment(overlap, "consensus", set_size=consensus_size, d_mlp=d_mlp)
        add("E8.ig.routing_overlap", "routing neurons (of 27) in the IG top-20, mean over 20 prompts",
            PAPER_ROUTING_OVERLAP, e.mean_overlap, note="logit target; the paper's .md says '/30'")
        add("E8.ig.consensus_overlap", "consensus neurons (of 7) in the IG top-20, mean", 2.6, ec.mean_overlap)
        add("E8.ig.enrichment_rounded", "routing enrichment over the rounded chance 0.2 (the paper's 36.5x)", 36.5,
            e.ratio_rounded, unit="x")
        add("E8.ig.enrichment_exact", "routing enrichment over the exact chance 20*27/3072 = 0.176",
            PAPER_ROUTING_OVERLAP / e.chance, e.ratio, unit="x",
            note="paper value is 7.3/0.176, implied by its data, not printed")
    if overlap_prob is not None:
        add("E8.ig.routing_overlap_prob", "routing neurons in the IG top-20 with Dai et al.'s probability target",
            None, overlap_enrichment(overlap_prob, set_size=routing_size, d_mlp=d_mlp).mean_overlap,
            note="not computed in the paper (logit target only)")
    if hooks is not None:
        add("E8.ig.hook_jaccard", "Jaccard of top-20 lists, post-GELU (act) vs pre-GELU (c_fc) hook, mean", None,
            hooks["Jaccard"].mean(), note="side note; the paper hooks post-GELU")
    if matched is not None:
        add("E8.ig.enrichment_matched", "routing enrichment over a magnitude-matched baseline", None, matched.ratio,
            unit="x", note=f"not computed in the paper; matched chance {matched.chance:.2f}, "
            f"p = {matched.p_value:.3g}")
    if recurring is not None:
        counts = dict(zip(recurring["neuron"], recurring["prompts"], strict=True))
        n_rec = sum(counts.get(n, 0) >= 16 for n in PAPER_RECURRING)
        add("E8.ig.recurring", "of the paper's 8 recurring neurons, how many are in >= 16 of 20 top-20s", 8, n_rec)
    if knock is not None:
        by = knock.set_index("condition")
        for cond, claim in (("top-20", "top20"), ("consensus", "consensus"), ("routing", "routing"),
                            ("all heads", "heads")):
            paper = PAPER_KNOCKOUT[cond]
            if cond in by.index:
                r = by.loc[cond]
                add(f"E8.knockout.{claim}", f"mean change in target probability, {cond} knocked out", paper,
                    r["mean Δp"], (float(r["ci_low"]), float(r["ci_high"])),
                    note="after - before; bootstrap 95% CI over prompts")
    if transplants is not None:
        add("E8.transplant.clean", "transplants whose top-1 becomes the source fact (of 5)", 0,
            int(transplants["clean"].sum()))
        add("E8.transplant.dest_change", "mean change in destination-target probability", -0.0080,
            transplants["Δ P(destination)"].mean())
    if extraction_table is not None:
        _e6_rows(add, extraction_table)
    if progressive is not None:
        _e16_rows(add, progressive)
    return rows


def _e6_rows(add: Callable[..., None], extraction_table: pd.DataFrame) -> None:
    """E6: where the target ranks after accumulating every neuron's output vector, per method."""
    s = extraction_summary(extraction_table).set_index("method")
    for method, tag in (("context", "context"), ("static", "static")):
        if method in s.index:
            r = s.loc[method]
            paper = {"context": (8, 18, 1905), "static": (0, 0, 4589)}[method]
            add(f"E6.{tag}.top1", f"{method} accumulation (all 3,072, code order): rank 1, of 160", paper[0],
                r["top-1"])
            add(f"E6.{tag}.top10", f"{method} accumulation: top-10, of 160", paper[1], r["top-10"])
            add(f"E6.{tag}.median", f"{method} accumulation: median rank (upper median)", paper[2],
                r["median (upper)"])
    if "base model" in s.index:
        add("E6.base.top1", "base model: target at rank 1, of 160", 49, s.loc["base model", "top-1"])
        add("E6.base.top10", "base model: target in top-10, of 160", 91, s.loc["base model", "top-10"])
    paper_variant = "context (residual, |a|·‖w‖)"
    if paper_variant in s.index:
        add("E6.context_stated.top10", "context, the paper's stated procedure (residual neurons, |a|·‖w‖)", None,
            s.loc[paper_variant, "top-10"], note="the paper's 18/160 came from the code's procedure")


def _e16_rows(add: Callable[..., None], progressive: dict[str, pd.DataFrame]) -> None:
    """E16: the target's rank and probability after each stage of the progressive read-out."""
    docs = {"The capital of France is": (("no MLP", 4), ("+Residual", 5)),
            "In 1969, humans first landed on the": (),
            "The pharmaceutical company Pf": ()}
    for text, checks in docs.items():
        t = progressive.get(text)
        if t is None or "target rank" not in t:
            continue
        for stage, paper_rank in checks:
            add(f"E16.paris.rank.{stage.strip('+').replace(' ', '_').lower()}",
                f"rank of ' Paris' after stage '{stage}'", paper_rank,
                t.set_index("stage").loc[stage, "target rank"])
    t = progressive.get("In 1969, humans first landed on the")
    if t is not None and "target prob" in t:
        add("E16.moon.full_prob", "P(' moon') in the full model, 'In 1969, humans first landed on the'", 0.477,
            t.set_index("stage").loc["+Residual", "target prob"])
    t = progressive.get("The pharmaceutical company Pf")
    if t is not None and "target prob" in t:
        add("E16.pfizer.full_prob", "P('izer') in the full model", 0.999,
            t.set_index("stage").loc["+Residual", "target prob"])


def _pp(x: float) -> str:
    """Percentage points, with significant digits when the change is below 0.01 pp (so that a sign the prose
    names is never printed as "-0.00")."""
    v = 100 * x
    return f"{v:+.2f} pp" if v == 0 or abs(v) >= 0.01 else f"{v:+.2g} pp"


def _direction(x: float, up: str = "raises", down: str = "lowers", flat: str = "leaves unchanged") -> str:
    return up if x > 0 else down if x < 0 else flat


def ig_prose(complete: pd.DataFrame) -> dict[str, str]:
    """Section 1: completeness of the attributions (``complete`` from :func:`completeness_table`)."""
    return {"ig_max_gap": f"{complete['gap'].abs().max():.2g}",
            "ig_max_diff": f"{complete['s(1) - s(0)'].abs().max():.3g}"}


def overlap_prose(routing: OverlapEnrichment, consensus: OverlapEnrichment, routing_prob: OverlapEnrichment,
                  recurring: pd.DataFrame, min_prompts: int = 16) -> dict[str, str]:
    """Section 2: routing and consensus overlap of the top-k lists, and how many of the paper's eight
    recurring neurons recur in at least ``min_prompts`` lists (``recurring`` from :func:`recurring_neurons`).

    ``routing_vs_chance`` is the wording of the comparison with uniform chance ("more than" / "no more than").
    """
    counts = dict(zip(recurring["neuron"], recurring["prompts"], strict=True))
    return {"routing_mean": f"{routing.mean_overlap:.2f}", "consensus_mean": f"{consensus.mean_overlap:.2f}",
            "chance_exact": f"{routing.chance:.4f}", "ratio_exact": f"{routing.ratio:.1f}×",
            "ratio_rounded": f"{routing.ratio_rounded:.1f}×", "routing_mean_prob": f"{routing_prob.mean_overlap:.2f}",
            "routing_vs_chance": "more than" if routing.ratio > 1 else "no more than",
            "paper8_recurring": str(sum(counts.get(n, 0) >= min_prompts for n in PAPER_RECURRING))}


def matched_prose(matched: MatchedBaseline, uniform: OverlapEnrichment, alpha: float = 0.05) -> dict[str, str]:
    """Section 3: the magnitude-matched baseline against uniform chance, with the comparison in words."""
    higher = matched.chance > uniform.chance
    return {"matched_chance": f"{matched.chance:.2f}", "matched_ratio": f"{matched.ratio:.1f}×",
            "matched_p": f"{matched.p_value:.3g}",
            "matched_vs_uniform": "higher than" if higher else "not higher than",
            "matched_shrinks": "shrinks" if higher else "does not shrink",
            "matched_signif": "below" if matched.p_value < alpha else "not below"}


def knockout_prose(summary: pd.DataFrame, paper_top20: float = PAPER_KNOCKOUT["top-20"]) -> dict[str, str]:
    """Section 4: mean Δp of the top-k and all-heads knockouts (``summary`` from :func:`knockout_summary`).

    Wording: ``ko_direction`` ("raises"/"lowers"), ``ko_ci_zero`` ("excludes"/"includes" zero) and
    ``ko_vs_paper`` (same or opposite direction as the paper's +8.0 pp).
    """
    s = summary.set_index("condition")
    top, lo, hi = (float(s.loc["top-20", c]) for c in ("mean Δp", "ci_low", "ci_high"))
    heads_ = float(s.loc["all heads", "mean Δp"])
    return {"ko_top20": _pp(top), "ko_heads": _pp(heads_), "ko_top20_ci": f"[{_pp(lo)[:-3]}, {_pp(hi)}]",
            "ko_rising": f"{s.loc['top-20', 'prompts rising']} of {s.loc['top-20', 'n']}",
            "ko_direction": _direction(top), "ko_heads_direction": _direction(heads_),
            "ko_ci_zero": "excludes" if lo > 0 or hi < 0 else "includes",
            "ko_vs_paper": "the same direction as" if np.sign(top) == np.sign(paper_top20) else "not the direction of"}


def transplant_prose(transplants: pd.DataFrame) -> dict[str, str]:
    """Section 5: clean transplants and the mean change of the destination's probability."""
    clean = int(transplants["clean"].sum())
    return {"tp_clean": f"{clean}/{len(transplants)}", "tp_dest": _pp(transplants["Δ P(destination)"].mean()),
            "tp_vs_paper": "as in the paper" if clean == 0 else "unlike the paper's 0/5"}


def extraction_prose(table: pd.DataFrame) -> dict[str, str]:
    """Section 6: top-10 counts and medians of the accumulations (``table`` from :func:`extraction`)."""
    s = extraction_summary(table).set_index("method")
    n = int(s.loc["context", "n"])
    best = table.groupby(["method", "index"])["rank"].min().unstack("method")
    return {"ext_ctx_top10": f"{s.loc['context', 'top-10']}/{n}",
            "ext_ctx_median": f"{s.loc['context', 'median (upper)']:,.0f}",
            "ext_static_top10": f"{s.loc['static', 'top-10']}/{n}",
            "ext_stated_top10": f"{s.loc['context (residual, |a|·‖w‖)', 'top-10']}/{n}",
            "ext_ctx_any10": f"{int((best['context'] <= 10).sum())}/{n}",
            "ext_static_best": f"{int(best['static'].min()):,}"}


def progressive_prose(progressive: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Section 7: the largest gap between the last stage and the model's own logits."""
    gap = max(t.attrs["max |full stage - model logits|"] for t in progressive.values())
    return {"prog_gap": f"{gap:.1g}"}


def hook_prose(hooks: pd.DataFrame) -> dict[str, str]:
    """Section 8: agreement of the post- and pre-GELU top-k lists (``hooks`` from :func:`hook_comparison`);
    ``hook_n_same``: on how many prompts the two lists are identical ("k of n")."""
    jac = float(hooks["Jaccard"].mean())
    return {"hook_jaccard": f"{jac:.3f}", "hook_routing_pre": f"{hooks['routing (pre-GELU)'].mean():.2f}",
            "hook_n_same": f"{int((hooks['Jaccard'] == 1).sum())} of {len(hooks)}"}
