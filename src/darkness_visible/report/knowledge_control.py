"""E14's rows: the knowledge-neuron control (computation in analysis.knowledge_control)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from darkness_visible.analysis.knowledge_control import control_summary
from darkness_visible.data.prompts import CONTROL_PROMPTS, ControlPrompt
from darkness_visible.report.results import ResultRow

CHAPTER = "04_knowledge_neurons"


def scorecard_rows(table: pd.DataFrame, label: str, pretrained: bool,
                   prompts: Sequence[ControlPrompt] = CONTROL_PROMPTS, chapter: str = CHAPTER) -> list[ResultRow]:
    """``E7.…`` rows: P(target) and top-1 per prompt against the JSON, the one rank the data pins down
    ("Water freezes at zero degrees" -> C at context rank 1, faithful mode), and the summary counts."""
    rows: list[ResultRow] = []
    base = table.drop_duplicates("index").set_index("index")
    for i, p in enumerate(prompts):
        rows.append(ResultRow(chapter, f"E7.base_prob.{i + 1}", f"P({p.target!r}) after {p.prompt!r}", p.json_prob,
                              float(base.loc[i, "target_prob"]), None, label, pretrained, note="knowledge_test.json"))
    same = sum(base.loc[i, "model_top1"] == p.json_top1 for i, p in enumerate(prompts))
    rows.append(ResultRow(chapter, "E7.base_top1_as_json", "prompts whose model top-1 is the JSON's (of 12)",
                          float(len(prompts)), float(same), None, label, pretrained))
    water = table[(table.prompt == "Water freezes at zero degrees") & (table["mode"] == "faithful")
                  & (table.method == "context")]
    for _, r in water.iterrows():
        rows.append(ResultRow(chapter, f"E7.water.context_rank.{r.k}", f"'zero degrees' -> C: context rank at k = "
                              f"{r.k} (faithful lists, manual LN)", 1.0, float(r["rank"]), None, label, pretrained,
                              note="the JSON gives rank 1 at every checkpoint"))
    for _, r in control_summary(table).iterrows():
        rows.append(ResultRow(chapter, f"E7.{r['mode']}.{r.method}_top1_at_all",
                              f"{r.method} accumulation of all {int(table.n_residual.max())} residual neurons: "
                              f"targets at rank 1, of 12 ({r['mode']} lists)", None, float(r.top1), None, label,
                              pretrained, note="the paper reports no summary for this control"))
    return rows
