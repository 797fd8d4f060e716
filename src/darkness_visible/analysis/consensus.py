"""Consensus levels and the crossover: where the last MLP stops helping (paper §5 and appendix A).

Everything is computed from one :class:`~darkness_visible.tracing.harvest.Harvest` (and, for the output
directions, from the weights alone):

* the consensus level of a token = how many of the seven consensus neurons fire under ``|GELU| > 0.1``
  (CONS-ABS, paper-claims §3), and the token count per level (paper Table 2);
* ΔP = P_full(next token) − P_without-L11-MLP(next token), the "without" read by re-unembedding the
  residual before the MLP in the same pass (the whole MLP output, bias included, removed);
* the mean ΔP per level with 95 % bootstrap CIs by two procedures: the token-level bootstrap the paper's
  code ran (:data:`FAITHFUL`) and the sequence-level bootstrap its text states (:data:`STATED`);
* the crossover point (the level where mean ΔP turns negative, interpolated) with a CI from the same
  resamples;
* "Moloch's compulsion": per level, targets promoted to top-1 by the MLP vs knocked off;
* the "seven dimensions": fire rates, frequency-controlled token enrichment, disagreement counts,
  output-direction cosines (weights only) and the pre-MLP top-1 probability by level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.stats.bootstrap import BootstrapConfig, bootstrap, percentile_ci
from darkness_visible.tracing.firing import FIRE_ABS, FiringRule

if TYPE_CHECKING:

    from darkness_visible.tracing.harvest import Harvest

# --------------------------------------------------------------------------------------------------
# The paper's numbers (paper-claims §6-E2, E3, E4). Neuron-keyed values are in CONSENSUS order.
# --------------------------------------------------------------------------------------------------

#: Table 2 / ``bootstrap_crossover.json``: level -> (n, mean ΔP, CI lo, CI hi), token-level CIs.
PAPER_TABLE: dict[int, tuple[int, float, float, float]] = {
    0: (206, 0.18667, 0.14452, 0.23060),
    1: (913, 0.09366, 0.07877, 0.10886),
    2: (3_051, 0.04464, 0.03884, 0.05063),
    3: (6_283, 0.02970, 0.02609, 0.03334),
    4: (12_617, 0.01383, 0.01121, 0.01637),
    5: (34_155, -0.00439, -0.00578, -0.00302),
    6: (69_625, -0.01444, -0.01528, -0.01359),
    7: (77_950, -0.02013, -0.02086, -0.01939),
}
#: What Figure 1 plots: the older ΔP series of ``consensus_vs_difficulty.md`` (204,600 positions),
#: crossing at 3-4/7, with its "Avg P(L10)" (pre-MLP) and "Avg P(L11)" columns.
PAPER_FIGURE1_DELTA: tuple[float, ...] = (0.145, 0.066, 0.041, 0.013, -0.022, -0.046, -0.058, -0.071)
PAPER_OLD_P_L10: tuple[float, ...] = (0.629, 0.715, 0.700, 0.611, 0.427, 0.336, 0.276, 0.249)
PAPER_OLD_P_L11: tuple[float, ...] = (0.774, 0.781, 0.741, 0.624, 0.405, 0.290, 0.218, 0.178)
#: The paper's "circularity check": pre-MLP top-1 probability 0.249 at 7/7 falling to 0.057 at 0/7.
PAPER_PREMLP_TOP1: dict[int, float] = {7: 0.249, 0: 0.057}
#: Fire rates under |GELU| > 0.1 (``seven_dimensions.md``, "512K"), percent, CONSENSUS order.
PAPER_FIRE_RATES: tuple[float, ...] = (88.4, 84.1, 86.0, 91.4, 81.0, 85.5, 79.2)
#: Upper triangle of the output-direction cosine matrix, row by row, CONSENSUS order.
PAPER_COSINES: tuple[tuple[float, ...], ...] = (
    (0.52, 0.61, 0.62, 0.53, 0.64, 0.13),
    (0.65, 0.64, 0.61, 0.64, 0.01),
    (0.63, 0.65, 0.73, 0.03),
    (0.52, 0.61, 0.10),
    (0.64, -0.09),
    (0.00,),
)
# --------------------------------------------------------------------------------------------------
# Levels and ΔP
# --------------------------------------------------------------------------------------------------


def consensus_level(H: Harvest, neurons: tuple[int, ...] = CONSENSUS, rule: FiringRule = FIRE_ABS) -> np.ndarray:
    """How many of ``neurons`` fire at each token: ``int64 [N]`` in ``0..len(neurons)`` (CONS-ABS by default)."""
    return H.fires(list(neurons), rule).sum(axis=1).astype(np.int64)


def level_counts(levels: np.ndarray, n_neurons: int = len(CONSENSUS)) -> pd.DataFrame:
    """Token count and share per level ``0..n_neurons``: columns ``level, n, share``."""
    counts = np.bincount(np.asarray(levels), minlength=n_neurons + 1)
    return pd.DataFrame({"level": np.arange(n_neurons + 1), "n": counts, "share": counts / max(counts.sum(), 1)})


def delta_p(H: Harvest, baseline: str = "no_mlp") -> np.ndarray:
    """``P_full(target) − P_baseline(target)``, ``float64 [N]``; positive where the layer helps.

    ``baseline="no_mlp"``: the whole last-layer MLP output (bias included) removed (the paper's ΔP);
    ``"lens_prev_block"``: the logit lens at the previous block's output (what Figure 1's older series used).
    """
    return H.prob("full") - H.prob(baseline)


# --------------------------------------------------------------------------------------------------
# Crossover with two bootstrap procedures
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Procedure:
    """A labelled bootstrap procedure for the crossover table."""

    name: Literal["faithful", "stated"]
    label: str
    bootstrap: BootstrapConfig

    def seeded(self, seed: int | None) -> Procedure:
        """The same procedure with another seed (``None`` = fresh entropy, as the paper's code ran)."""
        return replace(self, bootstrap=replace(self.bootstrap, seed=seed))


#: What the released code ran: token-level, stratified by level, 10,000 resamples, no seed.
FAITHFUL = Procedure("faithful", "token-level (paper's code; unseeded there)", BootstrapConfig(kind="token", seed=None))
#: What the paper's text states: sequence-level over the 1,024-token windows, 10,000 resamples, seed 42.
STATED = Procedure("stated", "sequence-level over windows (paper's text; seed 42)", BootstrapConfig(kind="sequence"))


def crossover_point(means: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
    """Where a curve of level means first turns from positive to non-positive, linearly interpolated.

    Args:
        means: ``[L]`` or ``[R, L]`` means per level (NaN = level absent; skipped).
        levels: ``[L]`` the level of each column (default ``0..L-1``).

    Returns ``float64 []`` or ``[R]``: e.g. 4.76 for +0.0138 at 4 and −0.0044 at 5; NaN if no crossing.
    """
    M = np.atleast_2d(np.asarray(means, dtype=np.float64))
    lv = np.arange(M.shape[1], dtype=np.float64) if levels is None else np.asarray(levels, dtype=np.float64)
    point = np.full(M.shape[0], np.nan)
    found = np.zeros(M.shape[0], dtype=bool)
    prev_val = np.full(M.shape[0], np.nan)
    prev_lvl = np.full(M.shape[0], np.nan)
    for k in range(M.shape[1]):
        cur = M[:, k]
        ok = np.isfinite(cur)
        with np.errstate(invalid="ignore"):
            cross = ok & ~found & (prev_val > 0) & (cur <= 0)
        p, c, pl = prev_val[cross], cur[cross], prev_lvl[cross]
        point[cross] = pl + (lv[k] - pl) * p / (p - c)
        found |= cross
        prev_val = np.where(ok, cur, prev_val)
        prev_lvl = np.where(ok, lv[k], prev_lvl)
    return point[0] if np.ndim(means) == 1 else point


@dataclass(frozen=True)
class CrossoverResult:
    """Mean ΔP per level with CIs, and the crossover point with its CI, under one procedure.

    ``table``: ``level, n, n_windows, mean, lo, hi, significant`` for every level ``0..k``;
    ``distribution``: ``[n_resamples, k+1]`` bootstrap means; ``point``: interpolated crossover level;
    ``point_ci``: its percentile CI over resamples that cross; ``no_crossing``: share of resamples
    without a crossing; ``bracket``: ``(k, k+1)`` around the point; ``bracket_share``: share of
    resamples whose crossover lies in the same bracket.
    """

    procedure: Procedure
    table: pd.DataFrame
    distribution: np.ndarray
    point: float
    point_ci: tuple[float, float]
    no_crossing: float
    bracket: tuple[int, int] | None
    bracket_share: float

    @property
    def all_exclude_zero(self) -> bool:
        """True if every populated level's CI excludes 0 (the paper's "all eight CIs exclude zero")."""
        populated = self.table[self.table["n"] > 0]
        return bool(populated["significant"].all()) and len(populated) > 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything but the procedure as plain arrays (for :func:`darkness_visible.io.cache.cached_arrays`)."""
        out = {"distribution": self.distribution, "point": np.float64(self.point),
               "point_ci": np.asarray(self.point_ci, dtype=np.float64), "no_crossing": np.float64(self.no_crossing),
               "bracket": np.asarray(self.bracket if self.bracket is not None else (-1, -1), dtype=np.int64),
               "has_bracket": np.bool_(self.bracket is not None), "bracket_share": np.float64(self.bracket_share),
               "table_columns": np.asarray(list(self.table.columns), dtype=str)}
        out.update({f"table/{name}": self.table[name].to_numpy() for name in self.table.columns})
        return out

    @classmethod
    def from_arrays(cls, procedure: Procedure, arrays: dict[str, np.ndarray]) -> CrossoverResult:
        """The result :meth:`to_arrays` stored, under ``procedure``."""
        table = pd.DataFrame({str(name): arrays[f"table/{name}"] for name in arrays["table_columns"]})
        bracket = tuple(int(b) for b in arrays["bracket"]) if bool(arrays["has_bracket"]) else None
        return cls(procedure, table, np.asarray(arrays["distribution"]), float(arrays["point"]),
                   (float(arrays["point_ci"][0]), float(arrays["point_ci"][1])), float(arrays["no_crossing"]),
                   bracket, float(arrays["bracket_share"]))


def crossover(levels: np.ndarray, values: np.ndarray, windows: np.ndarray, procedure: Procedure = STATED,
              n_neurons: int = len(CONSENSUS), *, cache: str | Path | bool | None = False) -> CrossoverResult:
    """Mean of ``values`` per level with bootstrap CIs and the crossover point, under ``procedure``.

    Args:
        levels: ``int [N]`` consensus level per token.
        values: ``float [N]`` ΔP per token.
        windows: ``int [N]`` window (sequence) index per token, the sequence bootstrap's unit.
        procedure: :data:`FAITHFUL` (token-level) or :data:`STATED` (sequence-level), or a reseeded copy.
        n_neurons: number of consensus neurons (levels run ``0..n_neurons``).
        cache: ``False`` (the default) computes; ``True`` (the ``DV_CACHE`` folder) or a folder keeps a
            *seeded* procedure's result, keyed by the three arrays' contents, the procedure, ``n_neurons``
            and the source of this module and :mod:`darkness_visible.stats.bootstrap`. An unseeded procedure is
            never cached: each run draws afresh, which is its point.
    """
    if cache is not False and procedure.bootstrap.seed is not None:
        import sys
        from dataclasses import asdict

        from darkness_visible.io.cache import array_digest, cached_arrays, source_digest
        from darkness_visible.stats import bootstrap as bootstrap_module

        material = {"what": "crossover", "inputs": array_digest(np.asarray(levels), np.asarray(values),
                                                                np.asarray(windows)),
                    "procedure": asdict(procedure), "n_neurons": n_neurons,
                    "code": source_digest(sys.modules[__name__], bootstrap_module)}
        arrays = cached_arrays(cache, material, "crossover",
                               lambda: crossover(levels, values, windows, procedure, n_neurons).to_arrays())
        return CrossoverResult.from_arrays(procedure, arrays)
    result = bootstrap(values, levels, windows, procedure.bootstrap)
    all_levels = np.arange(n_neurons + 1)
    col = {int(g): i for i, g in enumerate(result.groups)}
    dist = np.full((result.distribution.shape[0], len(all_levels)), np.nan)
    for lv, i in col.items():
        dist[:, lv] = result.distribution[:, i]
    table = pd.DataFrame({"level": all_levels})
    table = table.merge(result.table.rename(columns={"group": "level", "n_sequences": "n_windows"}), on="level",
                        how="left")
    table["n"] = table["n"].fillna(0).astype(int)
    table["n_windows"] = table["n_windows"].fillna(0).astype(int)
    table["significant"] = table["significant"].astype("boolean").fillna(False).astype(bool)
    table = table.drop(columns=["nan_resamples"])
    point = float(crossover_point(table["mean"].to_numpy()))
    points = crossover_point(dist)
    crossed = np.isfinite(points)
    ci = percentile_ci(points[crossed][:, None], procedure.bootstrap.confidence) if crossed.any() else None
    point_ci = (float(ci[0][0]), float(ci[1][0])) if ci is not None else (float("nan"), float("nan"))
    bracket = None if np.isnan(point) else (int(np.floor(point - 1e-12)), int(np.floor(point - 1e-12)) + 1)
    if bracket is not None:
        share = float(np.mean((points > bracket[0]) & (points <= bracket[1])))
    else:
        share = float("nan")
    return CrossoverResult(procedure, table, dist, point, point_ci, float(1 - crossed.mean()), bracket, share)


def compare_procedures(faithful: CrossoverResult, stated: CrossoverResult) -> pd.DataFrame:
    """Side by side per level: mean, both CIs, both widths and how much wider the sequence-level CI is."""
    a, b = faithful.table, stated.table
    out = pd.DataFrame({
        "level": a["level"], "n": a["n"], "n_windows": b["n_windows"], "mean": a["mean"],
        "token lo": a["lo"], "token hi": a["hi"], "sequence lo": b["lo"], "sequence hi": b["hi"],
    })
    out["token width"] = out["token hi"] - out["token lo"]
    out["sequence width"] = out["sequence hi"] - out["sequence lo"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["width ratio"] = out["sequence width"] / out["token width"]
    out["token excludes 0"] = a["significant"]
    out["sequence excludes 0"] = b["significant"]
    return out


def paper_table() -> pd.DataFrame:
    """The paper's Table 2 (``bootstrap_crossover.json``) as a frame: ``level, n, mean, lo, hi``."""
    rows = [(lv, *vals) for lv, vals in PAPER_TABLE.items()]
    return pd.DataFrame(rows, columns=["level", "n", "mean", "lo", "hi"])


# --------------------------------------------------------------------------------------------------
# Moloch's compulsion and the pre-MLP probability by level
# --------------------------------------------------------------------------------------------------


def top1_changes(H: Harvest, levels: np.ndarray, baseline: str = "no_mlp", within_window: bool = True,
                 n_neurons: int = len(CONSENSUS)) -> pd.DataFrame:
    """Per level: targets the layer promotes to top-1 (top-1 with it, not without) and knocks off.

    Columns ``level, n, promoted, lost, net, promoted %, lost %``, plus a final ``"all"`` row.
    ``within_window=True`` keeps the 1,023 positions per window whose target lies in the window (the
    204,600-position convention of the analysis behind the paper's counts).
    """
    keep = H.within_window if within_window else np.ones(H.n_tokens, dtype=bool)
    target = H["target"]
    full = H["top1/full"] == target
    base = H[f"top1/{baseline}"] == target
    promoted = keep & full & ~base
    lost = keep & ~full & base
    lv = np.asarray(levels)
    size = n_neurons + 1
    frame = pd.DataFrame({
        "level": [str(i) for i in range(size)],
        "n": np.bincount(lv[keep], minlength=size),
        "promoted": np.bincount(lv[promoted], minlength=size),
        "lost": np.bincount(lv[lost], minlength=size),
    })
    total = pd.DataFrame({"level": ["all"], "n": [int(keep.sum())], "promoted": [int(promoted.sum())],
                          "lost": [int(lost.sum())]})
    frame = pd.concat([frame, total], ignore_index=True)
    frame["net"] = frame["promoted"] - frame["lost"]
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["promoted %"] = 100 * frame["promoted"] / frame["n"]
        frame["lost %"] = 100 * frame["lost"] / frame["n"]
    return frame


def probability_by_level(H: Harvest, levels: np.ndarray, n_neurons: int = len(CONSENSUS),
                         within_window: bool = True) -> pd.DataFrame:
    """Mean probabilities per level under the full model and both "pre-MLP" baselines.

    ``within_window`` (default): only positions whose target lies in the same window, the 204,600 of the
    paper's Figure 1 and pre-MLP table (``consensus_vs_difficulty.md``), not the crossover's 204,800.

    Columns: ``level, n``; ``top-1 P no_mlp`` / ``top-1 P lens_prev_block`` (the max probability, the
    paper's "pre-MLP top-1 probability"); ``target P full`` / ``target P no_mlp`` / ``target P
    lens_prev_block``; ``ΔP no_mlp`` and ``ΔP lens_prev_block`` (full minus baseline).
    """
    frame = pd.DataFrame({
        "level": np.asarray(levels),
        "top-1 P no_mlp": H["maxprob/no_mlp"].astype(np.float64),
        "top-1 P lens_prev_block": H["maxprob/lens_prev_block"].astype(np.float64),
        "target P full": H.prob("full"),
        "target P no_mlp": H.prob("no_mlp"),
        "target P lens_prev_block": H.prob("lens_prev_block"),
    })
    frame["ΔP no_mlp"] = frame["target P full"] - frame["target P no_mlp"]
    frame["ΔP lens_prev_block"] = frame["target P full"] - frame["target P lens_prev_block"]
    if within_window:
        frame = frame[H.within_window]
    out = frame.groupby("level").mean()
    out.insert(0, "n", frame.groupby("level").size())
    return out.reindex(range(n_neurons + 1)).reset_index()


def is_monotone(values: np.ndarray, increasing: bool = True) -> bool:
    """True if the finite entries never decrease (``increasing``) / never increase."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    d = np.diff(v)
    return bool(np.all(d >= 0) if increasing else np.all(d <= 0))


# --------------------------------------------------------------------------------------------------
# The seven dimensions
# --------------------------------------------------------------------------------------------------


def fire_rates(H: Harvest, neurons: tuple[int, ...] = CONSENSUS, rule: FiringRule = FIRE_ABS) -> pd.DataFrame:
    """Per neuron: fire rate under ``rule`` and mean |activation| (if recorded): ``neuron, fire rate, mean |a|``."""
    rates = H.fires(list(neurons), rule).mean(axis=0)
    record = H.meta["config"]["record"]
    mean_abs = [float(np.abs(H.recorded(n)).mean()) if n in record else np.nan for n in neurons]
    return pd.DataFrame({"neuron": [f"N{n}" for n in neurons], "fire rate": rates, "mean |a|": mean_abs})


def disagreement(H: Harvest, neurons: tuple[int, ...] = CONSENSUS, rule: FiringRule = FIRE_ABS) -> pd.DataFrame:
    """Per neuron: tokens where it is silent while all the others fire, and where it fires while all are silent."""
    mask = H.fires(list(neurons), rule)
    others = mask.sum(axis=1, keepdims=True) - mask
    k = len(neurons) - 1
    return pd.DataFrame({
        "neuron": [f"N{n}" for n in neurons],
        "silent, others all fire": ((~mask) & (others == k)).sum(axis=0),
        "fires, others all silent": (mask & (others == 0)).sum(axis=0),
    })


def token_enrichment(H: Harvest, neuron: int, rule: FiringRule = FIRE_ABS, min_count: int = 20, k: int = 5,
                     decode: Callable[[list[int]], str] | None = None) -> pd.DataFrame:
    """The current-token types on which ``neuron`` fires most and least, controlling for frequency.

    Only types seen at least ``min_count`` times are ranked (a frequency control: rare types have noisy
    rates). Enrichment = P(fires | token = v) / P(fires). For the ``k`` most enriched and ``k`` most
    depleted types, a two-sided Fisher exact test (scipy) of the 2×2 table (v or not × fires or not),
    Bonferroni-corrected over the number of ranked types. ``decode``: ``tokenizer.decode``-like callable.

    Columns: ``side, token_id, token, count, fire rate, enrichment, p, p_bonferroni``.
    """
    from scipy.stats import fisher_exact

    fires = H.fires(neuron, rule)
    ids = H["input_ids"].astype(np.int64)
    count = np.bincount(ids)
    fired = np.bincount(ids, weights=fires.astype(np.float64), minlength=count.shape[0])
    base = fires.mean()
    eligible = np.flatnonzero(count >= min_count)
    if eligible.size == 0 or base == 0:
        return pd.DataFrame(columns=["side", "token_id", "token", "count", "fire rate", "enrichment", "p",
                                     "p_bonferroni"])
    rate = fired[eligible] / count[eligible]
    order = np.argsort(rate, kind="stable")
    picks = [("enriched", i) for i in eligible[order[::-1][:k]]] + [("depleted", i) for i in eligible[order[:k]]]
    rows = []
    total, total_fired = fires.shape[0], int(fires.sum())
    for side, v in picks:
        a, n_v = int(fired[v]), int(count[v])
        table = [[a, n_v - a], [total_fired - a, total - n_v - (total_fired - a)]]
        p = float(fisher_exact(table).pvalue)
        token = decode([int(v)]) if decode is not None else str(v)
        rows.append((side, int(v), token, n_v, a / n_v, (a / n_v) / base, p, min(1.0, p * eligible.size)))
    return pd.DataFrame(rows, columns=["side", "token_id", "token", "count", "fire rate", "enrichment", "p",
                                       "p_bonferroni"])


def output_cosines(w_out: torch.Tensor | np.ndarray, neurons: tuple[int, ...] = CONSENSUS) -> pd.DataFrame:
    """Cosine similarity of the neurons' output vectors (rows of ``W_out [d_mlp, d_model]``), ``[k, k]`` frame."""
    W = np.asarray(w_out.detach().cpu().numpy() if isinstance(w_out, torch.Tensor) else w_out, dtype=np.float64)
    rows = W[list(neurons)]
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    names = [f"N{n}" for n in neurons]
    return pd.DataFrame(unit @ unit.T, index=names, columns=names)


def cosine_with_mean(w_out: torch.Tensor | np.ndarray, neuron: int = EXCEPTION_NEURON,
                     group: tuple[int, ...] = CONSENSUS, normalise: bool = False) -> float:
    """cos(w_neuron, mean of the group's w_n); ``normalise=True`` averages unit-length rows instead."""
    W = np.asarray(w_out.detach().cpu().numpy() if isinstance(w_out, torch.Tensor) else w_out, dtype=np.float64)
    rows = W[list(group)]
    if normalise:
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    mean = rows.mean(axis=0)
    w = W[neuron]
    return float(w @ mean / (np.linalg.norm(w) * np.linalg.norm(mean)))


def paper_cosines(neurons: tuple[int, ...] = CONSENSUS) -> pd.DataFrame:
    """The paper's cosine matrix (``seven_dimensions.md``) as a symmetric frame with unit diagonal."""
    k = len(PAPER_COSINES) + 1
    M = np.eye(k)
    for i, row in enumerate(PAPER_COSINES):
        for j, value in enumerate(row, start=i + 1):
            M[i, j] = M[j, i] = value
    names = [f"N{n}" for n in neurons]
    return pd.DataFrame(M, index=names, columns=names)


# --------------------------------------------------------------------------------------------------
# Comparison tables (paper vs this run)
# --------------------------------------------------------------------------------------------------


def _fmt_ci(lo: float, hi: float) -> str:
    return "n/a" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:+.4g}, {hi:+.4g}]"


def compare_with_paper(faithful: CrossoverResult, stated: CrossoverResult) -> pd.DataFrame:
    """Per level: the paper's n, mean and (token-level) CI next to this run's, with both CI kinds."""
    ref = paper_table().set_index("level")
    f, s = faithful.table.set_index("level"), stated.table.set_index("level")
    rows = []
    for lv in f.index:
        rows.append({
            "level": f"{lv}/7", "paper n": ref.loc[lv, "n"] if lv in ref.index else np.nan, "n": f.loc[lv, "n"],
            "paper mean ΔP": ref.loc[lv, "mean"] if lv in ref.index else np.nan, "mean ΔP": f.loc[lv, "mean"],
            "paper CI (token)": _fmt_ci(ref.loc[lv, "lo"], ref.loc[lv, "hi"]) if lv in ref.index else "n/a",
            "token CI": _fmt_ci(f.loc[lv, "lo"], f.loc[lv, "hi"]),
            "sequence CI": _fmt_ci(s.loc[lv, "lo"], s.loc[lv, "hi"]),
            "windows": s.loc[lv, "n_windows"],
        })
    return pd.DataFrame(rows)


def crossover_summary(results: list[CrossoverResult]) -> pd.DataFrame:
    """One row per procedure: crossover point, its CI, bracket, share of resamples in that bracket / not crossing."""
    rows = []
    for r in results:
        rows.append({
            "procedure": f"{r.procedure.name}: {r.procedure.label}", "bootstrap": r.procedure.bootstrap.describe,
            "crossover": r.point, "CI": _fmt_ci(*r.point_ci),
            "bracket": "none" if r.bracket is None else f"{r.bracket[0]}/7 – {r.bracket[1]}/7",
            "resamples in bracket": r.bracket_share, "resamples without crossing": r.no_crossing,
            "all level CIs exclude 0": r.all_exclude_zero,
        })
    rows.append({"procedure": "paper (Table 2 / text)", "bootstrap": "token-level, unseeded (text: sequence, seed 42)",
                 "crossover": crossover_point(paper_table()["mean"].to_numpy()), "CI": "not given",
                 "bracket": "4/7 – 5/7", "resamples in bracket": np.nan, "resamples without crossing": np.nan,
                 "all level CIs exclude 0": True})
    rows.append({"procedure": "paper Figure 1 (older series)", "bootstrap": "none",
                 "crossover": crossover_point(np.array(PAPER_FIGURE1_DELTA)), "CI": "not given", "bracket": "3/7 – 4/7",
                 "resamples in bracket": np.nan, "resamples without crossing": np.nan,
                 "all level CIs exclude 0": np.nan})
    return pd.DataFrame(rows)


def figure1_table(probs: pd.DataFrame) -> pd.DataFrame:
    """Per level: the two published ΔP series (Figure 1's and Table 2's) next to this run's two baselines."""
    p = probs.set_index("level")
    return pd.DataFrame({
        "level": [f"{lv}/7" for lv in p.index],
        "Figure 1 bars (paper)": PAPER_FIGURE1_DELTA[: len(p)],
        "ΔP vs block-10 lens (this run)": p["ΔP lens_prev_block"].to_numpy(),
        "Table 2 mean (paper)": [PAPER_TABLE[lv][1] for lv in p.index],
        "ΔP vs no L11 MLP (this run)": p["ΔP no_mlp"].to_numpy(),
    })


def premlp_table(probs: pd.DataFrame) -> pd.DataFrame:
    """Per level: the paper's claimed pre-MLP top-1 P, its own data's "Avg P(L10)", and this run's two baselines."""
    p = probs.set_index("level")
    return pd.DataFrame({
        "level": [f"{lv}/7" for lv in p.index], "n": p["n"].to_numpy(),
        "paper's claim": [PAPER_PREMLP_TOP1.get(lv, np.nan) for lv in p.index],
        "paper's data: Avg P(L10)": PAPER_OLD_P_L10[: len(p)],
        "top-1 P, no L11 MLP": p["top-1 P no_mlp"].to_numpy(),
        "top-1 P, lens at block 10": p["top-1 P lens_prev_block"].to_numpy(),
        "target P, lens at block 10": p["target P lens_prev_block"].to_numpy(),
    })


def fire_rate_table(rates: pd.DataFrame) -> pd.DataFrame:
    """This run's fire rates (%) next to the paper's ``seven_dimensions.md`` rates."""
    out = rates.copy()
    out["fire rate %"] = 100 * out.pop("fire rate")
    out.insert(1, "paper %", list(PAPER_FIRE_RATES[: len(out)]))
    return out


def token_enrichment_table(H: Harvest, neurons: tuple[int, ...] = CONSENSUS, k: int = 3, min_count: int = 20,
                     decode: Callable[[list[int]], str] | None = None) -> pd.DataFrame:
    """:func:`token_enrichment` for each neuron, ``k`` enriched and ``k`` depleted types each, one frame."""
    parts = []
    for n in neurons:
        t = token_enrichment(H, n, min_count=min_count, k=k, decode=decode)
        t.insert(0, "neuron", f"N{n}")
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# Scorecard
# --------------------------------------------------------------------------------------------------


#: DS-C (paper-claims §4): 500 windows of 1,024 tokens of the train split, the paper's "512K" characterisation.
DS_C_WINDOWS = 500


def ds_c_harvest(run: Any) -> Harvest | None:
    """E2's corpus, DS-C: ``run.size.consensus_windows`` windows of 1,024 tokens of the *train* split (the spec's
    reconstruction of the paper's "512K" train array), harvested when the hub is reachable; ``None`` otherwise
    (the chapter then uses its own harvest and the E2 corpus rows say "different corpus")."""
    from darkness_visible.data.corpus import corpus_spec, hub_corpus_available

    if not hub_corpus_available(run.corpus.source):
        return None
    try:
        return run.harvest(corpus=corpus_spec(run.size.consensus_windows, split="train", source="hub"))
    except Exception:  # noqa: BLE001 - any hub failure means "not on DS-C"; the rows say so
        return None


@dataclass(frozen=True)
class E2Statistics:
    """E2's corpus statistics: level counts (:func:`level_counts`), consensus fire rates (:func:`fire_rates`)
    and the ``meta["corpus"]`` of the harvest they came from."""

    counts: pd.DataFrame
    rates: pd.DataFrame
    corpus: dict


def e2_statistics(run: Any, H: Harvest, consensus: tuple[int, ...] = CONSENSUS) -> E2Statistics:
    """E2's level shares and fire rates (CONS-ABS) of the ``consensus`` neurons (the run's, e.g.
    ``run.study.consensus``) on DS-C when the hub answers (:func:`ds_c_harvest`), else on ``H``; the rows built
    from them say which (:func:`e2_comparison`)."""
    source = ds_c_harvest(run) or H
    levels = consensus_level(source, consensus, FIRE_ABS)
    return E2Statistics(level_counts(levels, len(consensus)), fire_rates(source, consensus, FIRE_ABS),
                        source.meta["corpus"])


def e2_comparison(corpus: dict) -> str:
    """``""`` when a harvest's corpus (its ``meta["corpus"]``) is DS-C (train split, >= 500 windows of 1,024),
    else the one-line "different corpus" note that keeps E2's corpus rows from a verdict."""
    if corpus.get("split") == "train" and corpus.get("n_windows", 0) >= DS_C_WINDOWS and corpus.get("window") == 1024:
        return ""
    return (f"different corpus: {corpus.get('describe', corpus.get('split'))} vs the paper's 500 x 1,024 train "
            "tokens (DS-C; needs the hub)")


# --------------------------------------------------------------------------------------------------
# Prose values for the chapter: one call per section, wording that follows the numbers
# --------------------------------------------------------------------------------------------------


def fmt(x: float | None, spec: str = ".3g") -> str:
    """A number for the prose (glue), ``"n/a"`` when this run could not compute it."""
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def width_phrase(ratio: float, tolerance: float = 0.05) -> str:
    """"wider than" / "narrower than" / "about as wide as": a sequence-to-token CI width ratio in words."""
    if not np.isfinite(ratio):
        return "not comparable with"
    return "wider than" if ratio > 1 + tolerance else "narrower than" if ratio < 1 - tolerance else "about as wide as"


def unseeded_drift(seeded: CrossoverResult, again: CrossoverResult) -> float:
    """Largest change of any CI endpoint between two runs of one procedure (e.g. seeded and unseeded)."""
    return float((again.table[["lo", "hi"]] - seeded.table[["lo", "hi"]]).abs().max().max())
