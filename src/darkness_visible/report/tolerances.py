"""The tolerance of every scorecard row, from one place: the specification, or the claim's own precision.

A row's verdict is "replicated" when this run's point estimate is within its tolerance of the paper's number
(:mod:`darkness_visible.report.results`). The tolerance is never chosen by a chapter and never tuned to a run:

1. where ``paper-claims.md`` §9 gives an acceptance tolerance for the claim, that one (:data:`SPEC_RULES`,
   each rule quoting the section it comes from);
2. otherwise half a unit in the last digit the paper printed (:func:`precision_tolerance`): "0.838" is
   matched within ±0.0005, "31.79" within ±0.005, a count such as 23,654 exactly.

A row may ask for a tighter tolerance (never a wider one: :class:`ToleranceError`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from darkness_visible.errors import DVUserError

if TYPE_CHECKING:
    import pandas as pd

#: Version of the verdict rule, written into the scorecard's JSON/CSV.
VERDICT_RULE_VERSION = ("3: point estimate within the spec's tolerance; CI shown separately (issue 14); only at the "
                        "paper's size preset and corpus (issue 25)")

VERDICT_RULE = (
    "A row is **replicated** when this run's point estimate lies within the row's tolerance of the paper's "
    "number, and **differs** otherwise. The tolerance is the specification's acceptance tolerance "
    "(paper-claims §9) where it gives one, and otherwise half a unit in the last digit the paper printed. "
    "This run's 95 % interval is shown beside the value and decides only the separate column "
    "**consistent (CI)** (the paper's number lies inside the interval). Only GPT-2 Small at the pinned "
    "revision earns a verdict: any other model's rows say **other model**. A run at another size than the "
    "paper's (the `quick` preset, a `DV_WINDOWS` override) or on another corpus than the paper's DS-A says so in "
    "the column **scope**, and its rows get **not comparable**. A claim that names GPT-2 Small's own neurons or "
    "layers (a paper-specific neuron, the paper's layer pair, a control on the paper's indices) is **not "
    "applicable** on a model whose neurons under study were discovered, and says why. Rows whose own corpus or "
    "procedure differs from the paper's say so in the column **comparison** and get **not comparable** too. "
    "Rows that need no model (a power analysis) are marked **model-free** and keep their verdict."
)


class ToleranceError(DVUserError, ValueError):
    """A row asked for a tolerance wider than the specification's."""


@dataclass(frozen=True)
class ToleranceRule:
    """A §9 acceptance tolerance: claims matching ``pattern`` are accepted within ``absolute`` (or within
    ``relative`` x |paper|, whichever is larger), as ``source`` says."""

    pattern: str
    source: str
    absolute: float = 0.0
    relative: float = 0.0

    def allows(self, paper: float) -> float:
        return max(self.absolute, self.relative * abs(paper))


#: paper-claims.md §9, in its own words. Ranks above 1,000 (F2.2) get ±2, the rest exact.
SPEC_RULES: tuple[ToleranceRule, ...] = (
    ToleranceRule(r"^E0\.max_abs_error$", "§9 F1.1: ‖decomposition − mlp_out‖∞ < 1e-4 (paper's bound 6e-5 + 4e-5)",
                  absolute=4e-5),
    ToleranceRule(r"^E0\.min_cosine$", "§9 F1.1: cosine > 0.9999999 (paper's 0.99999994 − 4e-8)", absolute=4e-8),
    ToleranceRule(r"^E2\.cos\.N\d+\.N\d+$", "§9 F1.2: cosine matrix within ±0.01", absolute=0.01),
    ToleranceRule(r"^E9\.trace\..*surprisal$", "§9 F2.1: per-position surprisal within ±0.01 bits (the aggregate "
                  "means, effects, t, d and p: within rounding)", absolute=0.01),
    ToleranceRule(r"^E9\.trace\..*(n2123_act|mlp_delta_norm)$", "§9 F2.1: per-position n2123_act and "
                  "mlp_delta_norm within ±1e-3 relative", relative=1e-3),
    ToleranceRule(r"^E6\..*prob", "§9 F2.2: base_prob within ±1e-5", absolute=1e-5),
    ToleranceRule(r"^E8\.(ig\.(routing|consensus)_overlap|knockout\.)", "§9 F2.3: IG knockout and overlap averages "
                  "within ±0.005", absolute=0.005),
    ToleranceRule(r"^E3\.level\d\.n$", "§9 F3.1: n per level exact (±0.2 %)", relative=0.002),
    ToleranceRule(r"^E3\.level\d\.mean$", "§9 F3.1 / E3: means within ±0.002", absolute=0.002),
    ToleranceRule(r"^E3\.level\d\.ci_(lo|hi)$", "E3 (§6): CI endpoints within ±0.003 (token-level)",
                  absolute=0.003),
    ToleranceRule(r"^E10\.L\d+\.exception_neuron$", "§9 F3.2: exception neuron index exact"),
    ToleranceRule(r"^E10\.L\d+\.exception_rate$", "§9 F3.2: rates within ±0.002", absolute=0.002),
    ToleranceRule(r"^E11\.trained\.", "§9 F3.3: trained controls within ±0.005", absolute=0.005),
    ToleranceRule(r"^E11\.random\.", "§9 F3.3: random model within ±0.05 (unseeded)", absolute=0.05),
    ToleranceRule(r"^E12\.", "§9 F3.3: threshold sweep within ±0.005", absolute=0.005),
    ToleranceRule(r"^E13\..*contingency", "§9 F3.4: contingency counts exact"),
    ToleranceRule(r"^E14\.(logit|tuned)\.", "§9 F3.5: per-layer percentages within ±0.05 pp", absolute=0.05),
)

#: §9's numbers restated, so a test can check that no rule above is wider than the specification.
SPEC_MAXIMA: dict[str, float] = {
    "F1.1 max error": 4e-5, "F1.1 cosine": 4e-8, "F1.2": 0.01, "F2.1": 0.01, "F2.1 relative": 1e-3,
    "F2.2 prob": 1e-5, "F2.3": 0.005,
    "F3.1 n relative": 0.002, "F3.1 mean": 0.002, "E3 CI": 0.003, "F3.2 index": 0.0, "F3.2 rate": 0.002,
    "F3.3 trained": 0.005, "F3.3 random": 0.05, "F3.3 sweep": 0.005, "F3.4": 0.0, "F3.5": 0.05,
}

#: Paper numbers that the book derives from printed counts (the printed precision is stated here).
PRINTED: tuple[tuple[str, float, str], ...] = (
    (r"^E4\.all\.(promoted|lost)_pct$", 0.005, "the paper prints 8.77 % and 3.81 % (two decimals)"),
    (r"^E3\.level\d\.seq_ci_width$", 1e-5, "difference of two endpoints printed to 5 decimals"),
    (r"^E3\.crossover$", 0.5, "the paper brackets the crossover between 4/7 and 5/7 (midpoint ±0.5)"),
    (r"^E0\.transparent\.ppl_delta$", 0.005, "docs/RESULTS.md prints the transparent-mode change as +0.00 % (two "
     "decimals)"),
    (r"^E17\.(layer\d+|bypass_L[\dL_]+)\.ppl$", 0.005, "docs/RESULTS.md prints the bypass perplexities to two "
     "decimals (32.40, 35.55)"),
    (r"^E8\.transplant\.dest_change$", 5e-5, "the spec prints the mean destination change as −0.0080 (four "
     "decimals; not an F2.3 knockout or overlap average)"),
)

#: Ranks of the 160-prompt extraction above this are accepted within ±2 (§9 F2.2); below it, exact.
RANK_SLACK_ABOVE = 1000


def decimals(x: float) -> int:
    """Digits after the decimal point in the shortest representation of ``x`` (``0.838`` -> 3, ``206`` -> 0)."""
    if not math.isfinite(x):
        raise ValueError(f"not a finite paper value: {x}")
    text = repr(float(x)).lower()
    mantissa, _, exponent = text.partition("e")
    frac = mantissa.partition(".")[2].rstrip("0")
    return max(0, len(frac) - int(exponent or 0))


def precision_tolerance(paper: float) -> float:
    """Half a unit in the last printed digit of ``paper`` (0.838 -> 0.0005; 31.79 -> 0.005; 206 -> 0.5)."""
    return 0.5 * 10.0 ** (-min(decimals(paper), 12))


def allowed(claim: str, paper: float | None) -> tuple[float, str]:
    """The widest tolerance a row may use, and where it comes from (one line)."""
    if paper is None or (isinstance(paper, float) and math.isnan(paper)):
        return 0.0, "no paper number"
    for rule in SPEC_RULES:
        if re.search(rule.pattern, claim):
            return rule.allows(paper), rule.source
    for pattern, tol, why in PRINTED:
        if re.search(pattern, claim):
            return tol, why
    if re.search(r"^E6\..*(rank|median)", claim) and abs(paper) > RANK_SLACK_ABOVE:
        return 2.0, "§9 F2.2: ranks above 1,000 within ±2"
    tol = precision_tolerance(paper)
    if float(paper).is_integer() and decimals(paper) == 0:
        return tol, "an integer: exact (half a unit)"
    return tol, f"half a unit in the last printed digit of {paper:g}"


def check(claim: str, paper: float | None, tolerance: float | None) -> tuple[float, str]:
    """The tolerance a row uses: ``tolerance`` if given and not wider than :func:`allowed`, else the allowed one.

    Raises:
        ToleranceError: if ``tolerance`` is wider than the specification's.
    """
    widest, source = allowed(claim, paper)
    if tolerance is None:
        return widest, source
    if paper is None or (isinstance(paper, float) and math.isnan(paper)):
        return float(tolerance), source  # nothing to compare with: the tolerance is never used
    if tolerance > widest * (1 + 1e-9) + 1e-15:
        raise ToleranceError(f"tolerance {tolerance:g} for {claim} is wider than the specification's {widest:g} "
                             f"({source}): pass tolerance=None to use the specification's")
    return float(tolerance), source if tolerance == widest else f"tighter than {source}"


def rules_table() -> pd.DataFrame:
    """Every tolerance rule for the scorecard page: ``claims, tolerance, source, claim pattern, absolute,
    relative``; ``claims`` is the pattern read aloud (:func:`pattern_words`), ``tolerance`` the rule in words
    (:func:`describe_rule`)."""
    import pandas as pd

    rows = [(r.pattern, r.source, r.absolute, r.relative) for r in SPEC_RULES]
    rows += [(pattern, why, tol, 0.0) for pattern, tol, why in PRINTED]
    rows.append((r"^E6\..*(rank|median)", "§9 F2.2: ranks above 1,000 within ±2", 2.0, 0.0))
    rows.append(("(any other)", "half a unit in the last digit the paper printed", float("nan"), 0.0))
    table = pd.DataFrame(rows, columns=["claim pattern", "source", "absolute", "relative"])
    table.insert(0, "claims", [pattern_words(p) for p in table["claim pattern"]])
    table.insert(1, "tolerance", [describe_rule(a, r, s) for a, r, s in
                                  zip(table.absolute, table.relative, table.source, strict=True)])
    return table


def pattern_words(pattern: str) -> str:
    """A rule's claim pattern as a reader would write it: ``^E2\\.cos\\.N\\d+\\.N\\d+$`` -> ``E2.cos.N#.N#``,
    ``.*`` -> ``…``, ``(a|b)`` -> ``(a or b)``; a pattern without ``$`` matches claims beginning so (``E12.…``)."""
    if not pattern.startswith("^"):
        return pattern
    words = pattern[1:]
    end = words.endswith("$")
    words = words.rstrip("$")
    for regex, text in (("\\d+", "#"), ("\\d", "#"), ("\\.", "."), (".*", "…"), ("|", " or ")):
        words = words.replace(regex, text)
    return words if end or words.endswith("…") else words + "…"


def _plain(x: float) -> str:
    """A tolerance or bound as the shortest number: ``0.01`` -> ``"0.01"``, ``4e-05`` -> ``"4×10⁻⁵"``."""
    from darkness_visible.report.formats import format_value

    return format_value(x, places=min(decimals(x), 8))


def describe_tolerance(claim: str, paper: float | None, tolerance: float | None, source: str = "", relation: str = "=",
             unit: str = "") -> str:
    """A row's tolerance rule in plain words, for the scorecard: ``"within ±0.01 bits"``,
    ``"at least 0.91 (0.905 after rounding)"``, ``"within rounding of the printed 4 decimals (±5×10⁻⁵)"``,
    ``"exactly"``.

    ``source`` is the row's ``tolerance_source`` (which rule gave the tolerance, :func:`check`); without it the
    source is looked up with :func:`allowed`. ``relation`` is the row's: a bound (``"<="``/``">="``) reads
    "at most"/"at least" the paper's number plus/minus the tolerance. ``unit`` is the row's: a tolerance on a
    percentage is in percentage points.
    """
    if paper is None or (isinstance(paper, float) and math.isnan(paper)):
        return "no paper number to compare with"
    if not source or tolerance is None:
        widest, found = allowed(claim, paper)
        tolerance, source = (widest if tolerance is None else tolerance), (source or found)
    tolerance = float(tolerance)
    if relation in ("<=", ">="):
        bound = paper + tolerance if relation == "<=" else paper - tolerance
        word = "at most" if relation == "<=" else "at least"
        u = f" {unit}" if unit else ""
        if tolerance == 0:
            return f"{word} {_plain(paper)}{u}"
        slack = "after rounding" if source.startswith(("half a unit", "an integer")) else "with the §9 slack"
        return f"{word} {_plain(paper)}{u} ({_plain(bound)}{u} {slack})"
    tol_unit = "pp" if unit == "%" else ("bits" if "bits" in source and not unit else unit)
    tighter = source.startswith("tighter than ")
    if tolerance == 0:
        return "exactly"
    points = f" {tol_unit}" if tol_unit else ""
    if source.startswith("an integer"):
        if unit:  # a whole percentage is a printed precision, not a count
            return f"within rounding of the printed whole number (±{_plain(tolerance)}{points})"
        return "exactly (a whole number)"
    if source.startswith("half a unit in the last printed digit"):
        d = decimals(paper)
        return f"within rounding of the printed {d} decimal{'s' if d != 1 else ''} (±{_plain(tolerance)}{points})"
    relative = next((r.relative for r in SPEC_RULES if r.source in source and r.relative), 0.0)
    if relative and not tighter:
        return f"within ±{_plain(100 * relative)} % of the paper's number (±{_plain(tolerance)})"
    if "ranks above" in source:
        return f"within ±{_plain(tolerance)} ranks"
    words = f"within ±{_plain(tolerance)}{' ' + tol_unit if tol_unit else ''}"
    return words + (" (tighter than the specification's)" if tighter else "")


def describe_rule(absolute: float, relative: float, source: str) -> str:
    """A rule of :func:`rules_table` in words: ``"within ±0.002"``, ``"within ±0.2 % of the paper's number"``,
    ``"exactly"``, ``"within rounding of the printed digits"``."""
    if isinstance(absolute, float) and math.isnan(absolute):
        return "within rounding of the printed digits (half a unit in the last one)"
    if relative:
        return f"within ±{_plain(100 * relative)} % of the paper's number"
    if absolute == 0:
        return "exactly"
    if "ranks above" in source:
        return f"within ±{_plain(absolute)} ranks"
    unit = " bits" if "bits" in source else (" pp" if " pp" in source else "")
    return f"within ±{_plain(absolute)}{unit}"
