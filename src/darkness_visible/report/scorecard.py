"""The replication scorecard: every chapter's computed rows, plus the experiments no chapter ran.

The experiment list follows ``reference/paper-claims.md`` §6 (E0-E18). Rows come only from
:class:`~darkness_visible.report.results.ResultRow` files that the executed chapters wrote; an experiment
without rows is listed as "not run", so the scorecard never hides a gap. The page opens with
:func:`headline_table` (one line per claim of the paper) and keeps the detail rows, grouped by chapter, behind
it (:func:`details_html`); the verdict rule is :data:`darkness_visible.report.tolerances.VERDICT_RULE`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from darkness_visible.io.cache import atomic_write
from darkness_visible.report.formats import MINUS, SIGNIFICANT, SMALL, _missing, _scientific, format_value  # noqa: F401
from darkness_visible.report.results import VERDICTS, load_rows
from darkness_visible.report.tolerances import VERDICT_RULE_VERSION, decimals, describe_tolerance


#: Significant figures of a number whose precision the paper does not fix (a row without a paper number).
def row_decimals(paper, tolerance=None) -> int | None:
    """The decimals a row's numbers are written with: those the paper printed (``0.838`` -> 3, ``34155`` -> 0),
    or ``None`` (significant figures) without a paper number. A paper number that the book derived from printed
    counts (``3.80987292``: more decimals than the paper ever prints) is written to the precision its tolerance
    says was printed (±0.005: 2 decimals)."""
    if _missing(paper) or not math.isfinite(float(paper)):
        return None
    places = min(decimals(float(paper)), 8)
    if places > 5 and not _missing(tolerance) and float(tolerance) > 0:
        printed = -math.log10(2 * float(tolerance))
        if abs(printed - round(printed)) < 1e-9 and 0 <= round(printed) < places:
            places = round(printed)
    return places


def format_ci(ci, unit: str = "", places: int | None = None) -> str:
    """A 95 % interval as ``[0.0138, 0.0640]`` (:func:`format_value` for each end; the unit once, after it)."""
    if _missing(ci) if not isinstance(ci, (list, tuple)) else len(ci) != 2:
        return ""
    if places is not None and any(c != 0 and abs(c) < 0.5 * 10.0 ** -places for c in ci if math.isfinite(c)):
        small = min(abs(c) for c in ci if c != 0 and math.isfinite(c))
        places = None if small < SMALL else min(max(0, 2 - math.floor(math.log10(small))), 8)
    lo, hi = (format_value(c, places=places, digits=3) for c in ci)
    return f"[{lo}, {hi}]" + (f" {unit}" if unit else "")


@dataclass(frozen=True)
class Experiment:
    """One experiment of the specification and the chapter that covers it."""

    id: str
    title: str
    chapter: str


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("E0", "Tier decomposition adds up to the MLP output", "01_tracing"),
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
    Experiment("E17", "Efficiency / bypass claims", "02_exception_handler"),
    Experiment("E18", "Claims inherited from the predecessor paper", "03_consensus_crossover"),
)


@dataclass(frozen=True)
class Headline:
    """One claim of the paper for the headline table: what it says, its key number, and the row that tests it."""

    experiment: str
    claim: str
    paper: str
    row: str


#: One line per claim of the paper (the headline table), each pointing at the detail row that tests it.
HEADLINES: tuple[Headline, ...] = (
    Headline("E0", "The tier decomposition reproduces the MLP output exactly", "max error < 6×10⁻⁵",
             "E0.max_abs_error"),
    Headline("E1", "N2123 is on for 11.3 % of tokens (the exception path; the spec's DS-A value 11.55 %)", "11.55 %",
             "E1.exception.rate[GELU > 0.1 (FIRE-POS)]"),
    Headline("E1", "N2123 is active (|GELU| > 0.1) on most tokens", "70.9 %", "E1.n2123.active_rate"),
    Headline("E1", "Core is fused: Jaccard N2123-N2910 on exception tokens", "0.998", "E1.jaccard.core_peak"),
    Headline("E1", "Core pairwise Jaccard at least 0.91", "0.91", "E1.jaccard.core_min"),
    Headline("E1", "Suppression pair N584 + N2378 co-fires", "Jaccard 0.889", "E1.jaccard.584_2378"),
    Headline("E1", "Core carries most of the exception-path output", "54 %", "E1.share.core"),
    Headline("E1", "N2123's output pushes toward function words (sign, §7 item 9)", "yes (1)",
             "E1.sign.n2123_toward_function_words"),
    Headline("E2", "Consensus holds fully (7/7) on 40 % of tokens", "40.3 %", "E2.level7.share"),
    Headline("E2", "N2123's output aligns with the consensus mean", "cos 0.838", "E2.cos_exception_mean.raw_rows"),
    Headline("E3", "The L11 MLP helps below consensus 5/7 and hurts above", "crossover 4-5/7", "E3.crossover"),
    Headline("E3", "Mean ΔP at 0/7 (the MLP helps most)", "+0.187", "E3.level0.mean"),
    Headline("E3", "Mean ΔP at 7/7 (the MLP hurts)", "−0.020", "E3.level7.mean"),
    Headline("E3", "All eight level CIs exclude zero", "yes (1)", "E3.all_ci_exclude_zero.token"),
    Headline("E4", "The L11 MLP promotes 8.8 % of targets to top-1", "8.77 %", "E4.all.promoted_pct"),
    Headline("E5", "Ablating all 20 handler neurons costs perplexity", "+2.1 %", "E5.delta.no_handler"),
    Headline("E6", "Context accumulation reaches top-10 for 18 of 160 prompts", "18", "E6.context.top10"),
    Headline("E6", "Static accumulation never reaches top-10", "0", "E6.static.top10"),
    Headline("E7", "12-prompt control: 'zero degrees' -> C at context rank 1 over 3,045 residual neurons", "1",
             "E7.water.context_rank.3045"),
    Headline("E8", "IG top-20 holds 7.3 routing neurons on average", "7.3", "E8.ig.routing_overlap"),
    Headline("E8", "Knocking out the IG top-20 raises target probability", "+0.080", "E8.knockout.top20"),
    Headline("E9", "Garden paths reverse surprisal (Wilcoxon)", "p = 0.018", "E9.wilcoxon.p.faithful"),
    Headline("E9", "The design has 80 % power for d_z ≥ 0.78 (model-free)", "0.78", "E9.power.min_d"),
    Headline("E10", "No layer before L11 has a fused pair (max Jaccard)", "0.384", "E10.max_jaccard_other_layers"),
    Headline("E10", "The automatic survey's L11 exception neuron", "N3066", "E10.L11.exception_neuron"),
    Headline("E11", "A random-init GPT-2's N2123 rate (|GELU| > 0.1)", "64.6 %", "E11.random.exception_fire_rate"),
    Headline("E13", "Routing neurons significant after Bonferroni", "6", "E13.n_significant.corrected"),
    Headline("E14", "Logit-lens top-1 at the last layer", "39.0 %", "E14.logit.L11"),
    Headline("E15", "L11H7 sends 45 % of its attention to position 0", "0.454", "E15.sink_all"),
    Headline("E17", "Bypassing L11 where consensus holds costs 6.9 % perplexity", "+6.9 %", "E17.bypass_L11.ppl_delta"),
    Headline("E18", "N2123's rate falls 94.3 pp from consensus 0/7 to 7/7", "94.3 pp", "E18.gradient_pp"),
)

COLUMNS = ["experiment", "claim", "description", "paper", "value", "ci", "tolerance", "verdict", "consistent_ci",
           "comparison", "scope", "not_applicable", "chapter", "model", "identity", "gpt2_small", "model_free",
           "preset", "corpus", "tolerance_source", "unit", "relation",
           "verdict_rule", "note"]


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
    for record in records:
        record["verdict_rule"] = VERDICT_RULE_VERSION
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


def headline_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of the paper (:data:`HEADLINES`): the claim, the paper's key number, this run's value of
    the row that tests it, and that row's verdict ("not run" when no chapter computed it).

    Columns: ``experiment, claim, paper, this run, verdict, consistent (CI), row``.
    """
    by_claim = table.set_index("claim")
    records = []
    for h in HEADLINES:
        if h.row in by_claim.index:
            r = by_claim.loc[h.row]
            r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
            value = _headline_value(h, r)
            verdict, ci = r["verdict"], r.get("consistent_ci")
        else:
            value, verdict, ci = "", "not run", None
        records.append({"experiment": h.experiment, "claim": h.claim, "paper": h.paper, "this run": value,
                        "verdict": verdict, "consistent (CI)": "" if ci is None or pd.isna(ci) else
                        ("yes" if ci else "no"), "row": h.row})
    return pd.DataFrame(records)


def _text(x) -> str:
    return "" if _missing(x) else str(x)


def _headline_value(h: Headline, r) -> str:
    """This run's value of a headline, written like the paper's number beside it: the row's unit and the paper's
    decimals (:func:`format_value`), a neuron as ``N1303``, a yes/no claim as ``yes (1)``."""
    if _missing(r["value"]):
        return ""
    v = float(r["value"])
    if h.paper.startswith("N") and h.paper[1:].isdigit():
        return f"N{int(v)}"
    if h.paper.startswith(("yes", "no")) and v in (0.0, 1.0):
        return "yes (1)" if v else "no (0)"
    unit, places = _text(r.get("unit")), row_decimals(r["paper"], r.get("tolerance"))
    printed = re.search(r"(\d+(?:\.\d+)?) %$", h.paper)
    if printed and not unit and not _missing(r["paper"]) and abs(100 * float(r["paper"]) - float(printed[1])) < 1e-6:
        # the row holds a fraction (0.646), the paper prints a percentage (64.6 %): write the run's the same way
        return format_value(100 * v, "%", decimals(float(printed[1])))
    return format_value(v, unit, places)


def display_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The detail rows as the scorecard shows them: paper, value and CI by :func:`format_value` with the row's
    unit and the paper's decimals, the tolerance in words
    (:func:`~darkness_visible.report.tolerances.describe_tolerance`)."""
    out = table.copy()
    paper, value, ci, tol = [], [], [], []
    for _, r in table.iterrows():
        unit, places = _text(r.get("unit")), row_decimals(r["paper"], r.get("tolerance"))
        paper.append(format_value(r["paper"], unit, places))
        value.append(format_value(r["value"], unit, places))
        ci.append(format_ci(r.get("ci"), unit, places))
        tol.append(describe_tolerance(r["claim"], None if _missing(r["paper"]) else float(r["paper"]),
                            None if _missing(r["tolerance"]) else float(r["tolerance"]),
                            _text(r.get("tolerance_source")), _text(r.get("relation")) or "=", unit)
                   if r["verdict"] != "not run" or not _missing(r["paper"]) else "")
    out["paper"], out["value"], out["ci"], out["tolerance"] = paper, value, ci, tol
    return out


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Rows per verdict (every verdict of :data:`~darkness_visible.report.results.VERDICTS`, zeros included) and
    ``"total"``; the verdict counts add up to the total."""
    counts = {v: int((table.verdict == v).sum()) for v in VERDICTS}
    unknown = set(table.verdict) - set(VERDICTS)
    if unknown:
        raise ValueError(f"unknown verdicts {sorted(unknown)}: a row was written by an older version; rebuild")
    counts["total"] = int(len(table))
    return counts


def summary_sentence(counts: dict[str, int], what: str = "rows") -> str:
    """``"Of 31 claims: 0 replicated, ..."`` listing every verdict, so the numbers visibly add up."""
    parts = [f"{counts[v]} {v}" for v in VERDICTS]
    return f"Of {counts['total']} {what}: " + ", ".join(parts) + "."


_VERDICT_CLASS = {"replicated": "dv-v-ok", "differs": "dv-v-bad", "other model": "dv-v-other",
                  "not comparable": "dv-v-other", "not applicable": "dv-v-none", "no paper number": "dv-v-none",
                  "not run": "dv-v-none"}


def summary_html(counts: dict[str, int], what: str = "claims of the paper") -> str:
    """The verdict counts as one line of coloured badges (the same colours as the table's verdict cells), for the
    top of the scorecard: ``Of 31 claims of the paper: [0 replicated] [0 differs] ...``. Every verdict is listed,
    zeros included, so the numbers visibly add up to the total; the badges carry the class of their verdict."""
    import html

    badges = "".join(
        f'<span class="dv-count {_VERDICT_CLASS[v]}{" dv-count-zero" if counts[v] == 0 else ""}">'
        f"<strong>{counts[v]}</strong> {html.escape(v)}</span>" for v in VERDICTS)
    return (f'<div class="dv-verdict-counts" role="status"><span class="dv-count-total">Of {counts["total"]} '
            f"{html.escape(what)}:</span> {badges}</div>")


def html_table(frame: pd.DataFrame, columns: list[str]) -> str:
    """A compact HTML table whose second column is the verdict (so it stays visible on a phone); cells escaped."""
    import html

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for _, r in frame.iterrows():
        cells = []
        for c in columns:
            v = r[c]
            text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else (
                format_value(v) if isinstance(v, float) else str(v))
            cls = f' class="{_VERDICT_CLASS.get(text, "")}"' if c == "verdict" else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="dv-scorecard" style="overflow-x:auto"><table class="dv-scorecard-table">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def details_html(table: pd.DataFrame) -> str:
    """Every detail row, grouped by chapter, each group collapsed behind a ``<details>`` with its own counts."""
    import html

    columns = ["claim", "verdict", "paper", "value", "ci", "tolerance", "consistent_ci", "comparison", "scope",
               "not_applicable", "description"]
    parts = []
    for chapter, group in display_rows(table).groupby("chapter", sort=True):
        counts = verdict_counts(group)
        summary = html.escape(f"{chapter}: {summary_sentence(counts)}")
        parts.append(f"<details><summary>{summary}</summary>{html_table(group, columns)}</details>")
    return "".join(parts)
