"""The replication scorecard: every chapter's computed rows, plus the experiments no chapter ran.

The experiment list follows ``reference/paper-claims.md`` §6 (E1-E18). Rows come only from
:class:`~darkness_visible.results.ResultRow` files that the executed chapters wrote; an experiment
without rows is listed as "not run", so the scorecard never hides a gap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cache import atomic_write
from .results import load_rows


@dataclass(frozen=True)
class Experiment:
    """One experiment of the specification and the chapter that covers it."""

    id: str
    title: str
    chapter: str


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("E1", "Three-tier exception handler: rates, Jaccard, directions, norm shares", "02_exception_handler"),
    Experiment("E2", "Consensus neurons: fire rates, seven dimensions, output cosines", "03_consensus_crossover"),
    Experiment("E3", "Consensus level vs L11-MLP helpfulness (crossover) with bootstrap CIs", "03_consensus_crossover"),
    Experiment("E4", "'Moloch's compulsion': top-1 gains and losses", "03_consensus_crossover"),
    Experiment("E5", "Tier-by-tier ablation perplexity", "02_exception_handler"),
    Experiment("E6", "Knowledge extraction over 160 cloze prompts", "04_knowledge_neurons"),
    Experiment("E7", "Context-dependent knowledge control (12 prompts)", "04_knowledge_neurons"),
    Experiment("E8", "Knowledge neurons are routing neurons: IG, knockout, transplant", "04_knowledge_neurons"),
    Experiment("E9", "Garden-path minimal pairs", "05_garden_path"),
    Experiment("E10", "Cross-layer survey: terminal crystallization", "06_crystallization"),
    Experiment("E11", "Null model: random-init GPT-2", "06_crystallization"),
    Experiment("E12", "Threshold sweep", "06_crystallization"),
    Experiment("E13", "Enrichment with Fisher's exact test", "02_exception_handler"),
    Experiment("E14", "Logit lens vs tuned lens, first lock-in", "06_crystallization"),
    Experiment("E15", "L11H7, the dominant attention head", "06_crystallization"),
    Experiment("E16", "Progressive prediction and demonstrations", "04_knowledge_neurons"),
    Experiment("E17", "Efficiency / bypass claims", "(none)"),
    Experiment("E18", "Claims inherited from the predecessor paper", "(none)"),
)

COLUMNS = ["experiment", "claim", "description", "paper", "value", "ci", "tolerance", "verdict", "chapter", "model",
           "preset", "note"]


def experiment_of(claim: str) -> str:
    """``"E3.level4.mean"`` -> ``"E3"``."""
    return claim.split(".", 1)[0]


def collect(results: Path) -> pd.DataFrame:
    """All rows from ``results/*.json`` plus a "not run" row per experiment without any."""
    records = []
    for path in sorted(Path(results).glob("*.json")):
        if path.name.startswith("scorecard"):
            continue
        for row in load_rows(path):
            records.append({**row.as_dict(), "experiment": experiment_of(row.claim)})
    seen = {r["experiment"] for r in records}
    for exp in EXPERIMENTS:
        if exp.id not in seen:
            records.append({"experiment": exp.id, "claim": exp.id, "description": exp.title, "paper": None,
                            "value": None, "ci": None, "tolerance": None, "verdict": "not run",
                            "chapter": exp.chapter, "model": "", "preset": "",
                            "note": "no chapter computed this experiment"})
    order = {e.id: i for i, e in enumerate(EXPERIMENTS)}
    table = pd.DataFrame(records)
    for col in COLUMNS:
        if col not in table:
            table[col] = None
    table["_order"] = table["experiment"].map(order).fillna(len(order))
    return table.sort_values(["_order", "claim"], kind="stable")[COLUMNS].reset_index(drop=True)


def save(table: pd.DataFrame, results: Path) -> tuple[Path, Path]:
    """Write the machine-readable scorecard (JSON and CSV) next to the chapter files."""
    results = Path(results)
    results.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = results / "scorecard.json", results / "scorecard.csv"
    records = json.dumps(json.loads(table.to_json(orient="records")), indent=1)
    atomic_write(json_path, lambda h: h.write(records.encode()))
    atomic_write(csv_path, lambda h: h.write(table.to_csv(index=False).encode()))
    return json_path, csv_path
