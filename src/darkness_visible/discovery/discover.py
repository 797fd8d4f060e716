"""Discovering an exception handler in a model nobody has labelled, from firing statistics alone.

What the procedure looks for (the paper's description of layer 11, turned into definitions; firing of the
handler under the signed rule GELU > 0.1, of the consensus under |GELU| > 0.1, as in the paper):

*Core* of a neuron ``i``
    the neurons that fire on at least ``core_level`` (90 %, the paper's definition of the Core) of the
    tokens where ``i`` fires and are associated with ``i`` beyond chance (below). The Core level is the
    paper's definition, not a fitted cut; the report gives the gap the data leave around it (the lowest
    Core rate and the highest rate below it).
*exception indicator* (the rule, after paper-claims §2, E1 and E10)
    The spec defines the tiers *relative to* the indicator: the exception tokens are the tokens where it
    fires (E1 step 2: N2123 > 0.1), the Core fires on 90-100 % of them (E1 step 5; within those tokens the
    Jaccard of the indicator with a neuron *is* that neuron's conditional rate, E1 step 6, so "Jaccard >=
    0.91 within exception tokens" and "conditional rate >= the Core level" are one bound), and the
    Differentiators fire on 35-88 % of them: high, but below the Core's bound (§2's table: N2462 at 87.98 %
    is a Differentiator, N2044 at 91.21 % Core). E10's automatic pick (the neuron most anti-correlated with
    the consensus) is the paper's own cross-layer rule; the spec notes it fails to find N2123 at L11, so it
    is used only as a ranking (depletion, step 3), never as the definition. Turned into a decision:

    1. *valid candidate*: a neuron with a fire rate in ``rate_window`` whose Core holds at least one
       *strongly* associated member (below) and which is the most specific member of its Core (every Core
       member fires at least as often): it can define an exception condition the Core co-fires with.
    2. *nested candidates are not indicators*: a valid candidate ``m`` is nested in a valid candidate ``M``
       of its Core when (a) ``P(m | M)`` is *shown* to lie below the Core level (one-sided Wilson upper
       bound at level ``alpha`` below ``core_level``): ``m`` fires on a strict, smaller subset of ``M``'s
       tokens; and (b) ``M``'s own Core holds every other member of ``m``'s Core: ``m``'s Core is
       ``M`` and ``M``'s Core, so ``m`` adds nothing to ``M``'s condition but specificity. By the
       definition ``m`` is then one of ``M``'s Differentiators or Specialists (it fires on a share of
       ``M``'s tokens below the Core level), not the neuron that defines the condition. Condition (b) is
       what keeps a true indicator whose Core members spill beyond it (a Core member that fires on more
       tokens, and is itself covered by a wider neuron, is a valid candidate the indicator is a subset of;
       but the indicator's other Core members do not cover that member, so the indicator is not nested in
       it). Condition (a) keeps neurons that differ from the Core level only by sampling noise together.
    3. *ranking* of the candidates nested in no other (tie-breaks in this order): the strongest consensus
       *depletion* (the sum of ``-phi`` with the default-ON neurons it significantly depletes: the paper's
       central claim that the handler takes over when the consensus breaks, and E10's anti-correlation
       criterion); then the largest *handler* (the number of neurons associated with it, log odds ratio
       bound above ``assoc_log_odds``: the condition the Differentiators and Specialists are organised
       around); then the strongest Core (sum of its lower bounds); then the lower fire rate and the lower
       index. Candidates that cover each other within sampling error of the Core level (one is in the
       other's Core and the reverse share is not shown below the Core level: a fused group, e.g. neurons
       planted alike) count once, as their most specific member. Without ``|GELU|`` masks the depletion is
       0 for all and the ranking starts at the handler size.
*Differentiators and Specialists*
    the other neurons associated with the indicator, split by whether they co-fire with another such neuron
    **within** the indicator's tokens (the paper: Differentiators come in co-firing pairs, Specialists
    mostly fire alone; their conditional rates overlap, so no rate cut can separate them). Each member's
    strongest within-exception correlation (phi) with another member is clustered by a one-dimensional
    Gaussian mixture (BIC picks the number of components, :func:`mixture_1d`); the component that holds 0,
    the value of a neuron firing independently, are the Specialists. The cut is reported.
*consensus*
    default-ON neurons (``|GELU| > 0.1`` on at least ``consensus_min_rate`` = 75 % of tokens, the paper's
    identification criterion (a)) significantly depleted when the indicator fires.

**Association** of two neurons is measured on their 2 × 2 table by the log odds ratio with the
Haldane-Anscombe correction and Woolf's standard error; a handler member needs the lower end of a
one-sided interval, Bonferroni-corrected over every pair tested, above ``assoc_log_odds`` = 1 (odds ratio
above e). A *strong* Core partner is judged by the log relative risk ``log P(n | i) / P(n | not i)``
instead, whose interval stays tight when the partner never misses (the odds ratio's has a term for that
empty cell and balloons): its lower bound must exceed ``strong_log_rr`` = 1, i.e. the partner fires at
least e times as often when the candidate fires as when it does not (for a partner covering >= 90 % of the
candidate's tokens: on at most a third of the other tokens, so no default-ON neuron qualifies).

**No handler** (``indicator`` None) is the answer when no candidate is valid. The bar comes from a null:
on the random-weight stand-in (GPT-2 Small's shape, all 12 layers) the strongest covering partner of any
neuron has a log relative risk lower bound of at most 0.69 on 4,096 tokens and 0.40 on 32,768 tokens
(point estimates at most 0.98 and 0.51), while every planted Core in the suite has a member above 0.96 on
4,096 tokens (median 2.2). :func:`null_reference` recomputes the null's number. In narrow, wide random layers
(2,048-3,072 neurons reading a 64-wide stream) covering pairs pass that bar on token counts because random
weights fire largely as a function of the current token and its position: such a pair is carried by a few
token types, i.e. a few observations. With ``tokens`` given, the bound is therefore widened by the pair's
cluster-robust design effect over token types and window positions (:class:`Clusters`,
``config.dependence``): the sampling unit is the type, not the token.

**How sure**: the search is repeated on bootstrap resamples of *windows* (the unit within which tokens
are dependent), among a shortlist of the strongest candidates; the indicator's stability is the share of
resamples that pick it (or a neuron interchangeable with it), every other reported neuron's the share of
resamples in which it gets the same role around this indicator. A warning names the competitors when the
indicator wins fewer than ``stable_share`` of the resamples or the runner-up comes within 5 % of its
score. Neurons firing on the same tokens as the indicator (up to ``alike_tolerance`` of their union) are
reported as interchangeable: the data cannot tell them apart.

The statistics are numpy and scipy (``scipy.stats.norm`` for the bounds); the 1-D mixture is a short EM
written here, because neither scipy nor statsmodels has one and scikit-learn is not a dependency.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from darkness_visible.errors import SettingError
from darkness_visible.stats.cofiring import cofire_counts

# ----------------------------------------------------------------------------------------------
# Settings and result
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoverConfig:
    """Every threshold of :func:`discover`, named.

    ``rate_window``: fire rates (signed rule) an indicator may have; ``min_tokens``: and at least this many
    firing tokens. ``alpha``: family-wise error rate of the association bounds (Bonferroni over all pairs
    tested). ``strong_log_rr``: lower bound on the log relative risk of a *strong* Core partner, which a
    valid candidate needs at least one of (set above the random-weight null: module docstring).
    ``assoc_log_odds``: lower bound for any handler member. ``core_level``: the paper's Core definition (a
    Core member fires on at least 90 % of the indicator's tokens). ``sd_floor``: smallest standard deviation
    of a mixture component (for correlations, at least their sampling error ``1/sqrt(n)`` is used).
    ``max_components``: largest mixture tried. ``consensus_min_rate``: ``|GELU| > 0.1`` rate of a default-ON
    neuron (the paper's criterion (a): 75 %). ``n_boot``: window resamples for the stability scores
    (0: none); ``shortlist``: candidates re-examined in each resample; ``stable_share``: share of resamples
    the indicator must win for no warning. ``alike_tolerance``: neurons whose firing differs from the
    indicator's on at most this share of their union are interchangeable with it. ``seed``: of the resamples.
    """

    rate_window: tuple[float, float] = (0.005, 0.5)
    min_tokens: int = 20
    alpha: float = 0.05
    strong_log_rr: float = 1.0
    assoc_log_odds: float = 1.0
    core_level: float = 0.9
    sd_floor: float = 0.02
    max_components: int = 4
    consensus_min_rate: float = 0.75
    n_boot: int = 50
    shortlist: int = 12
    stable_share: float = 0.9
    alike_tolerance: float = 0.01
    seed: int = 0
    dependence: tuple[str, ...] = ("token", "position")

    def __post_init__(self) -> None:
        """Refuse, in one line, a threshold that is not a finite number or a count below its minimum: a NaN
        bound compares false everywhere and would silently report "no handler"."""
        for name in ("alpha", "strong_log_rr", "assoc_log_odds", "core_level", "sd_floor", "consensus_min_rate",
                     "stable_share", "alike_tolerance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SettingError(f"DiscoverConfig.{name} must be a finite number, got {value!r}")
        for name, least in (("min_tokens", 1), ("max_components", 1), ("n_boot", 0), ("shortlist", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SettingError(f"DiscoverConfig.{name} must be a whole number, at least {least}, got {value!r}")
        unknown = [d for d in self.dependence if d not in DEPENDENCE]
        if isinstance(self.dependence, str) or unknown:
            raise SettingError(f"DiscoverConfig.dependence must be a tuple of {', '.join(DEPENDENCE)}, got "
                               f"{self.dependence!r}")
        low, high = self.rate_window
        if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high <= 1):
            raise SettingError(f"DiscoverConfig.rate_window must be two rates 0 <= low < high <= 1, got "
                               f"{self.rate_window!r}")


#: The units of dependence the strong-partner bound can be clustered by (:class:`Clusters`): the token type
#: (``tokens`` given to :func:`discover`) and the position in the window (``windows`` given).
DEPENDENCE: tuple[str, ...] = ("token", "position")

#: The roles a neuron can be given, in the order of the result's fields.
ROLES: tuple[str, ...] = ("indicator", "core", "differentiator", "specialist", "consensus")


class RoleSets:
    """``roles`` and ``handler`` of anything with ``core``, ``differentiators``, ``specialists`` and ``consensus``
    (a discovery's report and a planted model's answer key), the shape :func:`score_roles` reads."""

    core: tuple[int, ...]
    differentiators: tuple[int, ...]
    specialists: tuple[int, ...]
    consensus: tuple[int, ...]

    @property
    def roles(self) -> dict[str, tuple[int, ...]]:
        """Role name -> neurons (``core`` includes the indicator)."""
        return {"core": self.core, "differentiator": self.differentiators, "specialist": self.specialists,
                "consensus": self.consensus}

    @property
    def handler(self) -> tuple[int, ...]:
        return self.core + self.differentiators + self.specialists


@dataclass(frozen=True)
class HandlerKey(RoleSets):
    """The answer key of a planted handler (neuron indices into the planted layer's MLP).

    ``indicators``: the indicator and any neuron planted exactly alike (each is a right answer);
    ``core`` includes them. ``groups``: the Differentiator groups (members sharing a direction).
    """

    layer: int
    indicator: int
    indicators: tuple[int, ...]
    core: tuple[int, ...]
    differentiators: tuple[int, ...]
    specialists: tuple[int, ...]
    consensus: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class HandlerReport(RoleSets):
    """What :func:`discover` found at one layer (``indicator`` is ``None`` when there is no handler).

    ``core`` starts with the indicator. ``interchangeable``: the indicator and the neurons that fire on the
    same tokens. ``stability``: per reported neuron, the share of window resamples that give it the same
    role. ``cuts``: the data-driven cuts (``core``: the lowest conditional rate in the Core and the highest
    outside it; ``specialist``: the co-firing cut). ``candidates``: the valid candidates and their Core
    strength (``pd.DataFrame``); ``members``: per handler member, its statistics and role.
    """

    indicator: int | None
    core: tuple[int, ...] = ()
    differentiators: tuple[int, ...] = ()
    specialists: tuple[int, ...] = ()
    consensus: tuple[int, ...] = ()
    groups: tuple[tuple[int, ...], ...] = ()
    interchangeable: tuple[int, ...] = ()
    stability: dict[int, float] = field(default_factory=dict)
    indicator_share: float = float("nan")
    margin: float = float("nan")
    runner_up: int | None = None
    cuts: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    n_tokens: int = 0
    n_windows: int = 0
    indicator_rate: float = float("nan")
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    members: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @property
    def found(self) -> bool:
        return self.indicator is not None


    def to_json(self) -> dict[str, object]:
        """One JSON-ready object: the keys of the ``discover --json`` command."""
        return {
            "indicator": self.indicator, "core": list(self.core), "differentiators": list(self.differentiators),
            "specialists": list(self.specialists), "consensus": list(self.consensus),
            "stability": {str(k): round(v, 3) for k, v in self.stability.items()},
            "interchangeable": list(self.interchangeable), "groups": [list(g) for g in self.groups],
            "indicator_share": _round(self.indicator_share), "margin": _round(self.margin),
            "runner_up": self.runner_up, "cuts": {k: _round(v) for k, v in self.cuts.items()},
            "warnings": list(self.warnings), "n_tokens": self.n_tokens, "n_windows": self.n_windows,
            "indicator_rate": _round(self.indicator_rate),
        }


    def to_state(self) -> dict[str, object]:
        """Everything in the report, exactly, as JSON-ready values (for the cache); see :meth:`from_state`."""
        def num(value: float | None) -> float | None:
            return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)

        return {
            "indicator": self.indicator, "core": list(self.core), "differentiators": list(self.differentiators),
            "specialists": list(self.specialists), "consensus": list(self.consensus),
            "groups": [list(g) for g in self.groups], "interchangeable": list(self.interchangeable),
            "stability": [[int(k), float(v)] for k, v in self.stability.items()],
            "indicator_share": num(self.indicator_share), "margin": num(self.margin), "runner_up": self.runner_up,
            "cuts": {k: num(v) for k, v in self.cuts.items()}, "warnings": list(self.warnings),
            "n_tokens": self.n_tokens, "n_windows": self.n_windows, "indicator_rate": num(self.indicator_rate),
            "candidates": json.loads(self.candidates.to_json(orient="table", index=False)),
            "members": json.loads(self.members.to_json(orient="table", index=False)),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HandlerReport:
        """The report :meth:`to_state` saved (NaN restored where it stored ``None``)."""
        def num(value: float | None) -> float:
            return float("nan") if value is None else float(value)

        def frame(table: dict[str, Any]) -> pd.DataFrame:
            return pd.read_json(io.StringIO(json.dumps(table)), orient="table") if table["data"] else \
                pd.DataFrame(columns=[f["name"] for f in table["schema"]["fields"]])

        return cls(
            indicator=state["indicator"], core=tuple(state["core"]), differentiators=tuple(state["differentiators"]),
            specialists=tuple(state["specialists"]), consensus=tuple(state["consensus"]),
            groups=tuple(tuple(g) for g in state["groups"]), interchangeable=tuple(state["interchangeable"]),
            stability={int(k): float(v) for k, v in state["stability"]}, indicator_share=num(state["indicator_share"]),
            margin=num(state["margin"]), runner_up=state["runner_up"],
            cuts={k: num(v) for k, v in state["cuts"].items()}, warnings=tuple(state["warnings"]),
            n_tokens=int(state["n_tokens"]), n_windows=int(state["n_windows"]),
            indicator_rate=num(state["indicator_rate"]), candidates=frame(state["candidates"]),
            members=frame(state["members"]))


def _round(value: float, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------


def log_odds_bounds(joint: np.ndarray, n_row: np.ndarray, n_col: np.ndarray, n: float,
                    z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log odds ratios of many 2 × 2 tables and their ``±z`` Woolf bounds: ``(log_or, lower, upper)``.

    Table ``[[joint, n_row - joint], [n_col - joint, n - n_row - n_col + joint]]`` with 0.5 added to every
    cell (Haldane-Anscombe), so empty cells give finite values. Shapes broadcast (e.g. ``joint [k, F]``,
    ``n_row [k, 1]``, ``n_col [1, F]``).
    """
    a = joint + 0.5
    b = n_row - joint + 0.5
    c = n_col - joint + 0.5
    d = n - n_row - n_col + joint + 0.5
    log_or = np.log(a) + np.log(d) - np.log(b) - np.log(c)
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return log_or, log_or - z * se, log_or + z * se


def log_rr_bounds(joint: np.ndarray, n_row: np.ndarray, n_col: np.ndarray, n: float,
                  z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log relative risks ``log P(col | row) / P(col | not row)`` and their ``±z`` bounds: ``(log_rr, lower, upper)``.

    Counts as in :func:`log_odds_bounds`; 0.5 is added to both "col fires" cells and 1 to both row totals,
    and the standard error is the usual delta-method one, ``sqrt(1/a - 1/n_row + 1/c - 1/(n - n_row))``.
    Unlike the odds ratio's, it has no term for the cell "row fires, col does not", so a partner that never
    misses (that cell empty) keeps a tight bound.
    """
    a = joint + 0.5
    c = n_col - joint + 0.5
    rows = n_row + 1.0
    rest = n - n_row + 1.0
    log_rr = np.log(a / rows) - np.log(c / rest)
    se = np.sqrt(np.clip(1 / a - 1 / rows + 1 / c - 1 / rest, 0, None))
    return log_rr, log_rr - z * se, log_rr + z * se


def bonferroni_z(alpha: float, n_tests: int) -> float:
    """One-sided normal quantile for family-wise level ``alpha`` over ``n_tests`` tests (``scipy.stats.norm``)."""
    from scipy.stats import norm

    return float(norm.isf(alpha / max(n_tests, 1)))


@dataclass(frozen=True)
class Mixture:
    """A fitted 1-D Gaussian mixture: weights, means, standard deviations ``[k]``, labels ``[n]``, BIC."""

    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    labels: np.ndarray
    bic: float


def _fit_mixture(x: np.ndarray, k: int, sd_floor: float, n_iter: int = 200) -> Mixture:
    n = len(x)
    means = np.quantile(x, (np.arange(k) + 0.5) / k)  # deterministic start: spread over the data
    sds = np.full(k, max(float(x.std()), sd_floor))
    weights = np.full(k, 1.0 / k)
    loglik = -np.inf
    for _ in range(n_iter):
        dens = weights * np.exp(-0.5 * ((x[:, None] - means) / sds) ** 2) / (sds * np.sqrt(2 * np.pi))
        total = dens.sum(1, keepdims=True)
        total = np.where(total > 0, total, 1e-300)
        resp = dens / total
        new = float(np.log(total).sum())
        nk = resp.sum(0) + 1e-12
        weights = nk / n
        means = (resp * x[:, None]).sum(0) / nk
        sds = np.sqrt((resp * (x[:, None] - means) ** 2).sum(0) / nk)
        sds = np.maximum(sds, sd_floor)
        if abs(new - loglik) < 1e-9:
            break
        loglik = new
    dens = weights * np.exp(-0.5 * ((x[:, None] - means) / sds) ** 2) / (sds * np.sqrt(2 * np.pi))
    loglik = float(np.log(np.maximum(dens.sum(1), 1e-300)).sum())
    labels = dens.argmax(1)
    return Mixture(weights, means, sds, labels, -2 * loglik + (3 * k - 1) * np.log(n))


def mixture_1d(values: np.ndarray, max_components: int = 4, sd_floor: float = 0.02) -> Mixture:
    """The 1-D Gaussian mixture (1..``max_components`` components) with the lowest BIC, fitted by EM.

    Components have their own variance, floored at ``sd_floor``; EM starts from the data's quantiles, so
    the fit is deterministic. A component that ends up empty is dropped from the count.
    """
    x = np.asarray(values, dtype=np.float64)
    best: Mixture | None = None
    for k in range(1, min(max_components, len(np.unique(x))) + 1):
        fit = _fit_mixture(x, k, sd_floor)
        if best is None or fit.bic < best.bic - 1e-9:
            best = fit
    assert best is not None
    return best


def anchored_cluster(values: np.ndarray, anchor: float, max_components: int = 4,
                     sd_floor: float = 0.02) -> tuple[np.ndarray, Mixture]:
    """Which of ``values`` fall in the same mixture component as ``anchor`` (added as one more point).

    Returns ``bool [len(values)]`` and the fit. The anchor is the value a member of the cluster would have
    by definition: 1 for a conditional rate of the indicator itself, 0 for a correlation of a neuron that
    fires independently.
    """
    x = np.append(np.asarray(values, dtype=np.float64), anchor)
    if len(x) == 1:
        return np.zeros(0, dtype=bool), Mixture(np.ones(1), x, np.full(1, sd_floor), np.zeros(1, int), 0.0)
    fit = mixture_1d(x, max_components, sd_floor)
    return fit.labels[:-1] == fit.labels[-1], fit


# ----------------------------------------------------------------------------------------------
# Sufficient statistics: per-window counts, so that a window bootstrap is a weighted sum
# ----------------------------------------------------------------------------------------------


def window_ids(n_tokens: int, windows: np.ndarray | int | None) -> np.ndarray:
    """Window index per token: given (``int [N]``), every ``windows`` tokens (int), or one window (None)."""
    if windows is None:
        return np.zeros(n_tokens, dtype=np.int64)
    if np.isscalar(windows):
        if isinstance(windows, bool) or int(windows) < 1:
            raise SettingError(f"windows must be a window length of at least 1 token, got {windows!r}")
        return np.arange(n_tokens) // int(windows)
    ids = np.asarray(windows)
    if len(ids) != n_tokens:
        raise ValueError(f"window ids have length {len(ids)}, the mask has {n_tokens} tokens")
    return np.unique(ids, return_inverse=True)[1]


def cofire(mask: np.ndarray, rows: np.ndarray, columns: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``#(column c fires and neuron n fires)`` over ``rows`` for each of ``columns``: ``float64 [k, F]``
    (:func:`darkness_visible.stats.cofiring.cofire_counts`, in this module's argument order)."""
    return cofire_counts(mask, columns, rows, chunk)


@dataclass(frozen=True)
class Counts:
    """Counts behind every statistic of the search, summed over (weighted) windows.

    ``n``: tokens; ``fires [F]``: each neuron's firing count; ``joint [k, F]``: co-firing of each of
    ``columns`` (the candidates) with every neuron.
    """

    n: float
    fires: np.ndarray
    columns: np.ndarray
    joint: np.ndarray


def counts(mask: np.ndarray, columns: np.ndarray) -> Counts:
    """:class:`Counts` of a whole mask ``bool [N, F]`` for the candidate ``columns``."""
    B = np.asarray(mask, dtype=bool)
    rows = np.arange(B.shape[0])
    return Counts(float(B.shape[0]), B.sum(0).astype(np.float64), np.asarray(columns, dtype=np.int64),
                  cofire(B, rows, columns))


# ----------------------------------------------------------------------------------------------
# The search
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One candidate indicator: its Core (members, conditional rates, lower bounds), validity and scores.

    ``strength``: the sum of the Core's lower bounds; ``depletion``: how strongly its firing switches off
    the default-ON neurons (sum over them of ``-phi``, 0 without ``|GELU|`` masks); ``handler_size``: how
    many neurons are associated with it (log odds ratio lower bound above ``assoc_log_odds``);
    ``nested_in``: the valid candidate whose tokens it is shown to be a strict subset of (``None``: none).
    """

    neuron: int
    rate: float
    core: tuple[int, ...]
    cond: tuple[float, ...]
    lower: tuple[float, ...]
    valid: bool
    strength: float
    depletion: float = 0.0
    handler_size: int = 0
    nested_in: int | None = None

    @property
    def score(self) -> tuple[float, float, float]:
        return (round(self.depletion, 9), float(self.handler_size), round(self.strength, 9))


def candidate_core(c: Counts, row: int, config: DiscoverConfig, z: float, depletion: float = 0.0,
                   clusters: Clusters | None = None) -> Candidate:
    """The Core of candidate ``c.columns[row]`` (module docstring, step 1) from the counts.

    ``clusters``: the units of dependence (:class:`Clusters`); a strong partner's log relative risk bound is
    then widened by its design effect over them (``None``: tokens are independent)."""
    m = int(c.columns[row])
    n_m = c.joint[row, m]
    joint = c.joint[row]
    log_rr, lower, _ = log_rr_bounds(joint, n_m, c.fires, c.n, z)
    lower[m] = -np.inf
    cond = joint / max(n_m, 1.0)
    strong = (lower > config.strong_log_rr) & (cond >= config.core_level)
    if clusters is not None and strong.any():
        partners = np.flatnonzero(strong)
        lower[partners] = log_rr[partners] - (log_rr[partners] - lower[partners]) * np.sqrt(
            clusters.design_effect(m, partners))
        strong = (lower > config.strong_log_rr) & (cond >= config.core_level)
    core = np.flatnonzero(strong)
    core = core[np.argsort(-cond[core], kind="stable")]
    # the candidate must be the most specific member: every Core member fires at least as often as it does
    valid = len(core) > 0 and bool(np.all(c.fires[core] >= n_m))
    _, lower_or, _ = log_odds_bounds(joint, n_m, c.fires, c.n, z)
    lower_or[m] = -np.inf
    size = int(np.sum(lower_or > config.assoc_log_odds))
    return Candidate(m, float(n_m / c.n), tuple(int(n) for n in core), tuple(float(v) for v in cond[core]),
                     tuple(float(v) for v in lower[core]), valid, float(lower[core].sum()), float(depletion), size)


class Clusters:
    """The units within which tokens are dependent, for the strong-partner bound: one or more labelings of the
    tokens (e.g. the token type, the position in the window), each ``int [N]``.

    A random-weight layer fires largely as a function of the current token (and its position): thousands of
    occurrences of one token type are then nearly one observation, and a covering pair carried by a few
    frequent types looks overwhelming on token counts. :meth:`design_effect` is the ratio of the
    cluster-robust (sandwich) variance of the log relative risk to the independent-token one, the largest over
    the labelings and never below 1; :func:`candidate_core` widens the bound by its square root. Computed on the
    data once per pair and reused in the window resamples.
    """

    def __init__(self, mask: np.ndarray, labelings: list[np.ndarray]) -> None:
        self.mask = mask
        self.labelings = [np.unique(np.asarray(lab), return_inverse=True)[1].reshape(-1) for lab in labelings]
        self._seen: dict[tuple[int, int], float] = {}

    def design_effect(self, m: int, partners: np.ndarray) -> np.ndarray:
        """Design effect of the log relative risk ``log P(n | m) / P(n | not m)`` for each partner ``n``."""
        todo = [int(n) for n in partners if (m, int(n)) not in self._seen]
        if todo:
            x = np.asarray(self.mask[:, m], dtype=bool)
            Y = np.asarray(self.mask[:, todo], dtype=bool)
            for n, deff in zip(todo, self._deff(x, Y), strict=True):
                self._seen[(m, n)] = float(deff)
        return np.array([self._seen[(m, int(n))] for n in partners])

    def _deff(self, x: np.ndarray, Y: np.ndarray) -> np.ndarray:
        N = len(x)
        a = (Y & x[:, None]).sum(0) + 0.5
        c = (Y & ~x[:, None]).sum(0) + 0.5
        rows, rest = x.sum() + 1.0, N - x.sum() + 1.0
        p1, p0 = a / rows, c / rest
        iid = np.clip(1 / a - 1 / rows + 1 / c - 1 / rest, 1e-12, None)
        out = np.ones(Y.shape[1])
        for lab in self.labelings:
            G = int(lab.max()) + 1
            if G < 2:
                continue
            n1_g = np.bincount(lab, weights=x, minlength=G)
            n0_g = np.bincount(lab, weights=~x, minlength=G)
            a_g = np.stack([np.bincount(lab, weights=Y[:, j] & x, minlength=G) for j in range(Y.shape[1])], 1)
            c_g = np.stack([np.bincount(lab, weights=Y[:, j] & ~x, minlength=G) for j in range(Y.shape[1])], 1)
            psi = (a_g - p1 * n1_g[:, None]) / a - (c_g - p0 * n0_g[:, None]) / c
            robust = (psi ** 2).sum(0) * G / (G - 1)
            out = np.maximum(out, robust / iid)
        return out


def share_upper(k: np.ndarray | float, n: np.ndarray | float, z: float) -> np.ndarray:
    """Wilson score upper bound of a proportion ``k / n`` at normal quantile ``z`` (1 when ``n`` is 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        centre = p + z * z / (2 * n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        up = (centre + half) / (1 + z * z / n)
    return np.where(n > 0, np.clip(up, 0.0, 1.0), 1.0)


def search(c: Counts, config: DiscoverConfig, depletion: np.ndarray | None = None,
           clusters: Clusters | None = None) -> tuple[list[Candidate], list[Candidate]]:
    """Steps 1-3 of the module docstring ("The indicator rule"): ``(valid candidates, indicators best first)``.

    A valid candidate ``m`` is *nested* in another valid candidate ``M`` of its Core when ``P(m | M)`` is
    shown to lie below the Core level (the one-sided Wilson upper bound at level ``alpha`` is below
    ``core_level``): ``m`` fires on a strict, smaller subset of ``M``'s tokens, so by the definition it is
    one of ``M``'s Differentiators or Specialists (or a refinement of its Core), never the indicator. The
    candidates nested in no other are ranked by consensus depletion (``depletion [k]``,
    :func:`depletion_scores`), then by handler size, then Core strength; of candidates that cover each
    other at the Core level (a fused group, e.g. neurons planted alike) only the most specific is ranked.
    """
    z = bonferroni_z(config.alpha, len(c.columns) * len(c.fires))
    dep = np.zeros(len(c.columns)) if depletion is None else np.asarray(depletion, dtype=np.float64)
    cands = [candidate_core(c, r, config, z, dep[r], clusters) for r in range(len(c.columns))]
    valid_set = {cd.neuron for cd in cands if cd.valid}
    row_of = {int(m): r for r, m in enumerate(c.columns)}
    z_one = bonferroni_z(config.alpha, 1)

    core_all = {cd.neuron: set(cd.core) for cd in cands if cd.valid}

    def nested_in(cd: Candidate) -> int | None:
        # M in m's Core (covers >= core_level of m's tokens), M valid, P(m | M) shown below core_level, and
        # M's Core holds every other member of m's Core (m adds nothing to M's condition but specificity)
        for big in cd.core:
            if big in valid_set and big != cd.neuron and set(cd.core) - {big} <= core_all[big]:
                both = c.joint[row_of[cd.neuron], big]
                if float(share_upper(both, c.fires[big], z_one)) < config.core_level:
                    return int(big)
        return None

    from dataclasses import replace

    valid = [replace(cd, nested_in=nested_in(cd)) for cd in cands if cd.valid]

    def covers(m: int, n: int) -> bool:
        # n in m's Core, and P(m | n) not shown below the Core level: the same condition within sampling error
        both = c.joint[row_of[m], n]
        return n in core_of[m] and float(share_upper(both, c.fires[n], z_one)) >= config.core_level

    def mutual(m: int, n: int) -> bool:
        return covers(m, n) or covers(n, m)

    core_of = {cd.neuron: set(cd.core) for cd in valid}
    roots = [cd for cd in valid if cd.nested_in is None]
    kept = [cd for cd in roots if not any(o.neuron != cd.neuron and (o.rate, o.neuron) < (cd.rate, cd.neuron)
                                          and mutual(cd.neuron, o.neuron) for o in roots)]
    ranked = sorted(kept, key=lambda cd: (-cd.score[0], -cd.score[1], -cd.score[2], cd.rate, cd.neuron))
    return valid, ranked


def default_on(abs_rates: np.ndarray, config: DiscoverConfig) -> np.ndarray:
    """Neurons firing (``|GELU| > 0.1``) on at least ``consensus_min_rate`` of tokens: ``int [D]``."""
    return np.flatnonzero(np.asarray(abs_rates) >= config.consensus_min_rate)


def phi_from_counts(joint: np.ndarray, n_row: np.ndarray, n_col: np.ndarray, n: float) -> np.ndarray:
    """Phi coefficients (Pearson correlation of two 0/1 variables) from 2 × 2 counts; shapes broadcast.

    0 where either variable is constant.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = (joint * n - n_row * n_col) / np.sqrt(n_row * (n - n_row) * n_col * (n - n_col))
    return np.nan_to_num(phi, nan=0.0, posinf=0.0, neginf=0.0)


def depletion_scores(joint_abs: np.ndarray, n_rows: np.ndarray, abs_fires: np.ndarray, n: float,
                     z: float) -> np.ndarray:
    """Consensus depletion per candidate, ``[k]``: ``sum_d -phi(candidate, d)`` over the default-ON neurons
    ``d`` significantly depleted when the candidate fires (upper bound of the log odds ratio below 0).

    Phi, unlike the odds ratio, grows with how much of the default-ON neurons' silence the candidate's
    firing covers, so a narrow refinement of the indicator scores less than the indicator.
    ``joint_abs [k, D]``: #(candidate fires (signed rule) and d fires (|GELU|)); ``n_rows [k]``: the
    candidates' firing counts; ``abs_fires [D]``: the default-ON neurons' counts.
    """
    if not joint_abs.shape[1]:
        return np.zeros(joint_abs.shape[0])
    rows = np.asarray(n_rows, dtype=np.float64)[:, None]
    cols = np.asarray(abs_fires, dtype=np.float64)[None, :]
    _, _, upper = log_odds_bounds(joint_abs, rows, cols, n, z)
    phi = phi_from_counts(joint_abs, rows, cols, n)
    return np.where(upper < 0, -phi, 0.0).clip(0, None).sum(1)


# ----------------------------------------------------------------------------------------------
# The handler of one indicator
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorStats:
    """Counts that characterise one indicator ``i`` (full data or one resample).

    ``n``: tokens; ``fires [F]`` and ``joint [F]`` (= #(n and i)): signed rule; ``abs_fires`` /
    ``abs_joint [F]``: the same under ``|GELU|`` (``None`` without those masks); ``members``: neurons whose
    within-exception co-firing is counted; ``pairs [m, m]``: #(a and b and i) among them.
    """

    indicator: int
    n: float
    fires: np.ndarray
    joint: np.ndarray
    abs_fires: np.ndarray | None
    abs_joint: np.ndarray | None
    members: np.ndarray
    pairs: np.ndarray


@dataclass(frozen=True)
class Roles:
    """The handler around one indicator: roles, the per-member table and the cuts."""

    core: tuple[int, ...]
    differentiators: tuple[int, ...]
    specialists: tuple[int, ...]
    consensus: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    interchangeable: tuple[int, ...]
    cuts: dict[str, float]
    table: pd.DataFrame

    def role_of(self) -> dict[int, str]:
        out = {n: "core" for n in self.core}
        out.update({n: "differentiator" for n in self.differentiators})
        out.update({n: "specialist" for n in self.specialists})
        out.update({n: "consensus" for n in self.consensus})
        return out


def within_phi(pairs: np.ndarray, n_e: float) -> np.ndarray:
    """Phi coefficients among neurons from their co-firing counts within the exception tokens: ``[m, m]``.

    ``pairs[a, b]`` = #(a and b fire on an exception token), ``pairs[a, a]`` = #(a fires on one); ``n_e``:
    exception tokens. A neuron that fires on none or all of them has phi 0 with everyone.
    """
    P = np.asarray(pairs, dtype=np.float64)
    d = np.diag(P)
    phi = phi_from_counts(P, d[:, None], d[None, :], n_e)
    np.fill_diagonal(phi, 1.0)
    return phi


def characterise(s: IndicatorStats, config: DiscoverConfig) -> Roles:
    """Core, Differentiators, Specialists, consensus and interchangeable neurons of indicator ``s.indicator``.

    See the module docstring for the definitions; the cuts dict holds ``core_level`` (the definition),
    ``core_lowest`` / ``below_core`` (the gap the data leave around it), ``specialist_cut`` (the co-firing
    cut the mixture put between Specialists and Differentiators) and ``assoc_log_odds``.
    """
    i = s.indicator
    F = len(s.fires)
    n_e = s.joint[i]
    z = bonferroni_z(config.alpha, F)
    log_or, lower, _ = log_odds_bounds(s.joint, n_e, s.fires, s.n, z)
    cond = s.joint / max(n_e, 1.0)
    off = (s.fires - s.joint) / max(s.n - n_e, 1.0)
    assoc = lower > config.assoc_log_odds
    assoc[i] = False
    union = s.fires + n_e - s.joint
    alike = np.flatnonzero(union - s.joint <= config.alike_tolerance * np.maximum(union, 1))
    alike = tuple(int(n) for n in sorted(set(alike.tolist()) | {i}))
    core_mask = assoc & (cond >= config.core_level)
    core_mask[list(alike)] = True
    core = [int(n) for n in np.flatnonzero(core_mask) if n != i]
    core = [i] + sorted(core, key=lambda n: (-cond[n], n))
    tiers = [int(n) for n in np.flatnonzero(assoc & ~core_mask)]
    split = _split_tiers(s, tiers, n_e, config)
    consensus = _depleted_consensus(s, n_e, z, core, config)
    roles = {n: "core" for n in core}
    roles.update({n: "differentiator" for n in split.diffs})
    roles.update({n: "specialist" for n in split.specs})
    roles.update({n: "consensus" for n in consensus})
    rows = sorted(roles, key=lambda n: (0 if n == i else ROLES.index(roles[n]), -cond[n], n))
    table = pd.DataFrame({
        "neuron": rows, "role": ["indicator" if n == i else roles[n] for n in rows],
        "cond_rate": [cond[n] for n in rows], "off_rate": [off[n] for n in rows],
        "base_rate": [s.fires[n] / s.n for n in rows], "log_odds": [log_or[n] for n in rows],
        "lower_bound": [lower[n] for n in rows],
        "max_phi_within": [float(split.best[split.have.index(n)]) if n in split.have else np.nan for n in rows],
    })
    below = cond[assoc & ~core_mask]
    cuts = {"core_level": config.core_level,
            "core_lowest": float(min(cond[n] for n in core if n != i)) if len(core) > 1 else np.nan,
            "below_core": float(below.max()) if len(below) else np.nan,
            "specialist_cut": split.cut, "assoc_log_odds": config.assoc_log_odds}
    if split.fit is not None:
        cuts["specialist_components"] = float(len(np.unique(split.fit.labels)))
    return Roles(tuple(core), tuple(sorted(split.diffs)), tuple(sorted(split.specs)), tuple(consensus),
                 split.groups, alike, cuts, table)


@dataclass(frozen=True)
class TierSplit:
    """Differentiators and Specialists of one indicator (:func:`_split_tiers`): the members, their groups,
    the tier members with within-exception counts (``have``), each one's strongest within-exception phi
    (``best``), the mixture fit and the cut it puts between the two."""

    diffs: list[int]
    specs: list[int]
    groups: tuple[tuple[int, ...], ...]
    have: list[int]
    best: np.ndarray
    fit: Mixture | None
    cut: float


def _split_tiers(s: IndicatorStats, tiers: list[int], n_e: float, config: DiscoverConfig) -> TierSplit:
    """Differentiators vs Specialists: each tier member's strongest within-exception correlation with another
    tier member, clustered; the cluster holding 0 (a neuron firing independently) are the Specialists."""
    pos = {int(m): k for k, m in enumerate(s.members)}
    have = [n for n in tiers if n in pos]
    best = np.zeros(len(have))
    partner = np.full(len(have), -1)
    if len(have) >= 2:
        idx = [pos[n] for n in have]
        phi = within_phi(s.pairs[np.ix_(idx, idx)], n_e)
        np.fill_diagonal(phi, -np.inf)
        best = phi.max(1)
        partner = phi.argmax(1)
    # components are at least as wide as the sampling error of a correlation near 0 on n_e tokens
    floor = max(config.sd_floor, 1.0 / np.sqrt(max(n_e, 1.0)))
    spec_mask, fit = anchored_cluster(best, 0.0, config.max_components, floor) if len(have) else \
        (np.zeros(0, bool), None)
    if len(have) == 1:
        spec_mask = np.ones(1, dtype=bool)
    diffs = [n for n, sp in zip(have, spec_mask, strict=True) if not sp]
    specs = [n for n, sp in zip(have, spec_mask, strict=True) if sp] + [n for n in tiers if n not in pos]
    cut_lo = float(best[spec_mask].max()) if spec_mask.any() else np.nan
    cut_hi = float(best[~spec_mask].min()) if (~spec_mask).any() else np.nan
    cut = (cut_lo + cut_hi) / 2 if np.isfinite(cut_lo) and np.isfinite(cut_hi) else \
        (cut_lo if np.isfinite(cut_lo) else cut_hi)
    return TierSplit(diffs, specs, _groups(have, spec_mask, partner, specs), have, best, fit, cut)


def _groups(have: list[int], spec_mask: np.ndarray, partner: np.ndarray,
            specs: list[int]) -> tuple[tuple[int, ...], ...]:
    """Differentiator groups: each Differentiator joined to its strongest within-exception partner (largest
    group first)."""
    groups: list[set[int]] = []
    for k, n in enumerate(have):
        if spec_mask[k]:
            continue
        other = have[int(partner[k])]
        if other in specs:
            groups.append({n})
            continue
        hit = [g for g in groups if n in g or other in g]
        merged = {n, other}.union(*hit) if hit else {n, other}
        groups = [g for g in groups if g not in hit] + [merged]
    return tuple(sorted((tuple(sorted(g)) for g in groups), key=lambda g: (-len(g), g)))


def _depleted_consensus(s: IndicatorStats, n_e: float, z: float, core: list[int],
                        config: DiscoverConfig) -> list[int]:
    """Consensus: default-ON under ``|GELU|`` and significantly depleted when the indicator fires (most
    depleted first); empty without ``|GELU|`` counts."""
    if s.abs_fires is None or s.abs_joint is None:
        return []
    on = default_on(s.abs_fires / s.n, config)
    _, _, upper = log_odds_bounds(s.abs_joint[on], n_e, s.abs_fires[on], s.n, z)
    depleted = on[upper < 0]
    return [int(n) for n in depleted[np.argsort(upper[upper < 0], kind="stable")] if n not in core]


# ----------------------------------------------------------------------------------------------
# The whole procedure, with window-bootstrap stability
# ----------------------------------------------------------------------------------------------


def _per_window(mask: np.ndarray, win: np.ndarray, n_windows: int, columns: np.ndarray,
                targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per window: #(column fires and target fires) ``[W, k, T]`` and each target's count ``[W, T]``."""
    B = np.asarray(mask, dtype=bool)
    T = B if targets is None else B[:, targets]
    joint = np.zeros((n_windows, len(columns), T.shape[1]), dtype=np.float64)
    fires = np.zeros((n_windows, T.shape[1]), dtype=np.float64)
    for w in range(n_windows):
        rows = win == w
        part, tpart = B[rows][:, columns], T[rows]
        joint[w] = part.T.astype(np.float32) @ tpart.astype(np.float32)
        fires[w] = tpart.sum(0)
    return joint, fires


def _pairs_per_window(mask: np.ndarray, win: np.ndarray, n_windows: int, indicator: int,
                      members: np.ndarray) -> np.ndarray:
    """Per window, #(a and b fire on a token where the indicator fires) among ``members``: ``[W, m, m]``."""
    out = np.zeros((n_windows, len(members), len(members)))
    e = np.asarray(mask[:, indicator], dtype=bool)
    for w in range(n_windows):
        X = np.asarray(mask[(win == w) & e][:, members], dtype=np.float32)
        out[w] = X.T @ X
    return out


def discover(pos: np.ndarray, abs_mask: np.ndarray | None = None, windows: np.ndarray | int | None = None,
             config: DiscoverConfig = DiscoverConfig(), *, tokens: np.ndarray | None = None,
             cache: str | Path | bool | None = False) -> HandlerReport:
    """Find the exception handler in one layer's firing masks (see the module docstring).

    ``cache``: ``False`` (the default) computes; ``True`` (the ``DV_CACHE`` folder) or a folder keeps the
    report, keyed by the masks' and windows' contents, the configuration and the source of this module and
    :mod:`darkness_visible.tracing.firing`, so a rebuild reads it back exactly (:meth:`HandlerReport.from_state`).

    Args:
        pos: ``bool [N, F]`` firing under the signed rule (GELU > 0.1), the rule of the paper's exception path.
        abs_mask: ``bool [N, F]`` firing under ``|GELU| > 0.1`` (consensus); ``None``: no consensus is
            reported and competing indicators are ranked by Core strength alone.
        windows: window id per token (``int [N]``), or the window length, for the bootstrap over windows
            (``None``: one window, no stability scores).
        config: every threshold.
        tokens: token id per token (``int [N]``); with it the strong-partner bound treats tokens of one type
            (and, with ``windows``, of one position) as dependent (:class:`Clusters`, ``config.dependence``).

    Returns:
        a :class:`HandlerReport`; its ``indicator`` is ``None`` when no neuron has a Core.
    """
    if cache is not False:
        return _discover_cached(pos, abs_mask, windows, config, cache, tokens)
    B = np.asarray(pos, dtype=bool)
    A = None if abs_mask is None else np.asarray(abs_mask, dtype=bool)
    if A is not None and A.shape != B.shape:
        raise ValueError(f"the two masks differ in shape: {B.shape} vs {A.shape}")
    N = B.shape[0]
    win = window_ids(N, windows)
    W = int(win.max()) + 1 if N else 0
    base = {"n_tokens": N, "n_windows": W}
    found = _search_layer(B, A, config, _clusters(B, win, windows, tokens, config))
    if found is None:
        return HandlerReport(None, warnings=("no neuron fires on a share of tokens inside the rate window",), **base)
    if not found.ranked:
        return HandlerReport(None, candidates=found.table, warnings=(
            f"no handler: no neuron is covered (on >= {config.core_level:.0%} of its tokens) by a more general, "
            f"strongly associated neuron (log relative risk lower bound > {config.strong_log_rr:g})",), **base)
    best = found.ranked[0]
    i = best.neuron
    second = found.ranked[1] if len(found.ranked) > 1 else None
    stats = _indicator_stats(B, A, win, W, i, found, config)
    roles = characterise(stats(np.ones(W)), config)
    stability, share, warns = _bootstrap(B, A, win, W, found, roles, stats, config)
    margin = _margin(best, second)
    if second is not None and np.isfinite(margin) and margin < 0.05:
        warns.append(f"the runner-up N{second.neuron} scores within {margin:.1%} of N{i}")
    if found.fires[i] < 50:
        warns.append(f"the indicator fires on only {int(found.fires[i])} tokens")
    if len(roles.interchangeable) > 1:
        warns.append("interchangeable: " + ", ".join(f"N{n}" for n in roles.interchangeable)
                     + " fire on the same tokens; any of them is the indicator")
    tab = roles.table.copy()
    tab["stability"] = [stability.get(int(n), np.nan) for n in tab.neuron]
    return HandlerReport(i, roles.core, roles.differentiators, roles.specialists, roles.consensus, roles.groups,
                         roles.interchangeable, stability, share, float(margin),
                         None if second is None else second.neuron, roles.cuts, tuple(warns),
                         indicator_rate=float(found.fires[i] / max(N, 1)), candidates=found.table, members=tab,
                         **base)


def _clusters(B: np.ndarray, win: np.ndarray, windows: np.ndarray | int | None, tokens: np.ndarray | None,
              config: DiscoverConfig) -> Clusters | None:
    """The :class:`Clusters` of ``config.dependence`` that the inputs allow (``None``: none)."""
    labelings = []
    if tokens is not None and "token" in config.dependence:
        tok = np.asarray(tokens).reshape(-1)
        if len(tok) != B.shape[0]:
            raise ValueError(f"tokens have length {len(tok)}, the mask has {B.shape[0]} tokens")
        labelings.append(tok)
        if windows is not None and "position" in config.dependence:
            first = np.r_[0, np.flatnonzero(np.diff(win)) + 1]
            labelings.append(np.arange(len(win)) - np.repeat(first, np.diff(np.r_[first, len(win)])))
    return Clusters(B, labelings) if labelings else None


def _discover_cached(pos: np.ndarray, abs_mask: np.ndarray | None, windows: np.ndarray | int | None,
                     config: DiscoverConfig, cache: str | Path | bool | None,
                     tokens: np.ndarray | None = None) -> HandlerReport:
    """:func:`discover` through the cache: the report stored under the masks', windows', configuration's and
    code's digests (a stored state that does not rebuild to itself is recomputed)."""
    import sys
    from dataclasses import asdict

    from darkness_visible.io.cache import array_digest, cached_json, source_digest
    from darkness_visible.stats import cofiring
    from darkness_visible.tracing import firing

    win = windows if windows is None or isinstance(windows, int) else np.asarray(windows)
    material = {"what": "discover", "masks": array_digest(np.asarray(pos, dtype=bool),
                                                         None if abs_mask is None else np.asarray(abs_mask, bool)),
                "windows": win if win is None or isinstance(win, int) else array_digest(win),
                "config": asdict(config), "code": source_digest(sys.modules[__name__], firing, cofiring)}
    if tokens is not None:
        material["tokens"] = array_digest(np.asarray(tokens))
    return HandlerReport.from_state(cached_json(
        cache, material, "discover", lambda: discover(pos, abs_mask, windows, config, tokens=tokens).to_state(),
        valid=lambda state: HandlerReport.from_state(state).to_state() == state))


@dataclass(frozen=True)
class LayerSearch:
    """The search over one layer's candidates (:func:`_search_layer`): the candidates' counts and firing,
    the default-ON neurons ``on``, the depletion bound ``z_dep``, the valid and ranked candidates and their
    table."""

    cand: np.ndarray
    full: Counts
    fires: np.ndarray
    on: np.ndarray
    z_dep: float
    valid: list[Candidate]
    ranked: list[Candidate]
    table: pd.DataFrame
    clusters: Clusters | None = None


def _search_layer(B: np.ndarray, A: np.ndarray | None, config: DiscoverConfig,
                  clusters: Clusters | None = None) -> LayerSearch | None:
    """Candidates (rate window, token floor), their depletion of the default-ON neurons and the search
    (:func:`search`); ``None`` when no neuron fires inside the rate window."""
    N = B.shape[0]
    fires = B.sum(0).astype(np.float64)
    rates = fires / max(N, 1)
    cand = np.flatnonzero((rates >= config.rate_window[0]) & (rates <= config.rate_window[1])
                          & (fires >= config.min_tokens))
    if len(cand) == 0:
        return None
    full = counts(B, cand)
    on = default_on(A.mean(0), config) if A is not None else np.zeros(0, dtype=np.int64)
    z_dep = bonferroni_z(config.alpha, len(cand) * max(len(on), 1))
    if A is not None and len(on):
        joint_abs = cofire_two(B, A, cand, on)
        dep = depletion_scores(joint_abs, full.joint[np.arange(len(cand)), cand], A[:, on].sum(0), N, z_dep)
    else:
        dep = np.zeros(len(cand))
    valid, ranked = search(full, config, dep, clusters)
    table = pd.DataFrame([{"neuron": cd.neuron, "rate": cd.rate, "core": cd.core, "core_size": len(cd.core),
                           "strength": cd.strength, "depletion": cd.depletion, "handler_size": cd.handler_size,
                           "nested_in": -1 if cd.nested_in is None else cd.nested_in,
                           "indicator_candidate": any(r.neuron == cd.neuron for r in ranked)} for cd in valid])
    return LayerSearch(cand, full, fires, on, z_dep, valid, ranked, table, clusters)


def _margin(best: Candidate, second: Candidate | None) -> float:
    """How far the winner leads the runner-up, relative, on the first score that separates them."""
    if second is None:
        return np.nan
    if best.depletion > 0:
        return (best.depletion - second.depletion) / best.depletion
    if best.handler_size != second.handler_size:
        return (best.handler_size - second.handler_size) / max(best.handler_size, 1)
    return (best.strength - second.strength) / max(best.strength, 1e-12)


@dataclass(frozen=True)
class IndicatorCounts:
    """The chosen indicator's counts per window (``n_w [W]``, ``fires_w [W, F]``, ``joint_w [W, F]``, the
    ``|GELU|`` ones, and the within-exception ``pairs_w [W, m, m]`` of ``members``); calling it with window
    weights gives the :class:`IndicatorStats` of that resample (all ones: the data)."""

    indicator: int
    n_w: np.ndarray
    fires_w: np.ndarray
    joint_w: np.ndarray
    abs_fires_w: np.ndarray | None
    abs_joint_w: np.ndarray | None
    members: np.ndarray
    pairs_w: np.ndarray

    def __call__(self, weights: np.ndarray) -> IndicatorStats:
        return IndicatorStats(self.indicator, float(weights @ self.n_w), weights @ self.fires_w,
                              weights @ self.joint_w,
                              None if self.abs_fires_w is None else weights @ self.abs_fires_w,
                              None if self.abs_joint_w is None else weights @ self.abs_joint_w, self.members,
                              np.tensordot(weights, self.pairs_w, axes=1))


def _indicator_stats(B: np.ndarray, A: np.ndarray | None, win: np.ndarray, W: int, i: int, found: LayerSearch,
                     config: DiscoverConfig) -> IndicatorCounts:
    """The :class:`IndicatorCounts` of indicator ``i``: members are the neurons positively associated with it
    (log odds lower bound above 0, Bonferroni over the layer)."""
    N, F = B.shape
    _, lower_i, _ = log_odds_bounds(found.full.joint[list(found.cand).index(i)], found.fires[i], found.fires, N,
                                    bonferroni_z(config.alpha, F))
    members = np.flatnonzero(lower_i > 0)
    members = members[members != i]
    joint_i_w, fires_w = _per_window(B, win, W, np.array([i]))
    n_w = np.bincount(win, minlength=W).astype(np.float64)
    abs_joint_w = abs_fires_w = None
    if A is not None:
        abs_joint_w, abs_fires_w = _per_window(np.concatenate([B[:, [i]], A], 1), win, W, np.array([0]))
        abs_joint_w, abs_fires_w = abs_joint_w[:, 0, 1:], abs_fires_w[:, 1:]
    return IndicatorCounts(i, n_w, fires_w, joint_i_w[:, 0, :], abs_fires_w, abs_joint_w, members,
                           _pairs_per_window(B, win, W, i, members))


def _bootstrap(B: np.ndarray, A: np.ndarray | None, win: np.ndarray, W: int, found: LayerSearch, roles: Roles,
               stats: IndicatorCounts, config: DiscoverConfig) -> tuple[dict[int, float], float, list[str]]:
    """The window bootstrap: the search among the shortlist and the roles around the chosen indicator in each
    resample. Returns ``(stability per reported neuron, the indicator's share, warnings)``."""
    i = found.ranked[0].neuron
    warns: list[str] = []
    if config.n_boot <= 0:
        return {}, np.nan, warns
    if W < 2:
        warns.append("one window only: no stability scores")
        return {}, np.nan, warns
    from darkness_visible.stats.bootstrap import resample_weights

    short = [cd.neuron for cd in sorted(found.valid, key=lambda cd: (-cd.depletion, -cd.strength))]
    short = [n for n in dict.fromkeys([i] + [r.neuron for r in found.ranked] + short)][: max(config.shortlist, 1)]
    short = np.array(short)
    on = found.on
    sj_w, _ = _per_window(B, win, W, short)
    if A is not None and len(on):
        dj_w, dfires_w = _per_window(np.concatenate([B[:, short], A[:, on]], 1), win, W,
                                     np.arange(len(short)), np.arange(len(short), len(short) + len(on)))
    weights = resample_weights(np.random.default_rng(config.seed), W, config.n_boot)
    n_w, fires_w = stats.n_w, stats.fires_w
    agree: dict[int, int] = {}
    winners: dict[int, int] = {}
    mine = roles.role_of()
    wins = 0
    for w in weights.astype(np.float64):
        c = Counts(float(w @ n_w), w @ fires_w, short, np.tensordot(w, sj_w, axes=1))
        d = None
        if A is not None and len(on):
            d = depletion_scores(np.tensordot(w, dj_w, axes=1), c.joint[np.arange(len(short)), short],
                                 w @ dfires_w, c.n, found.z_dep)
        _, rk = search(c, config, d, found.clusters)
        top = rk[0].neuron if rk else -1
        winners[top] = winners.get(top, 0) + 1
        wins += top in roles.interchangeable
        got = characterise(stats(w), config).role_of()
        for n, role in mine.items():
            agree[n] = agree.get(n, 0) + (got.get(n) == role)
    share = wins / config.n_boot
    stability = {n: agree[n] / config.n_boot for n in mine}
    stability[i] = share
    if share < config.stable_share:
        others = sorted(((k, v) for k, v in winners.items() if k not in roles.interchangeable),
                        key=lambda kv: -kv[1])[:3]
        named = ", ".join(("no handler" if k < 0 else f"N{k}") + f" {v / config.n_boot:.0%}" for k, v in others)
        warns.append(f"the indicator is not separated: N{i} wins {share:.0%} of {config.n_boot} window "
                     f"resamples (also chosen: {named})")
    return stability, share, warns


def cofire_two(rows_mask: np.ndarray, cols_mask: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               chunk: int = 8192) -> np.ndarray:
    """``#(rows_mask[:, r] and cols_mask[:, c])`` for ``r`` in ``rows``, ``c`` in ``cols``: ``float64 [k, D]``."""
    out = np.zeros((len(rows), len(cols)))
    for lo in range(0, rows_mask.shape[0], chunk):
        a = np.asarray(rows_mask[lo:lo + chunk][:, rows], dtype=np.float32)
        b = np.asarray(cols_mask[lo:lo + chunk][:, cols], dtype=np.float32)
        out += a.T @ b
    return out


# ----------------------------------------------------------------------------------------------
# Scoring against a key
# ----------------------------------------------------------------------------------------------


def paper_key():
    """The paper's layer-11 lists as a key for :func:`score_roles` (indicator N2123; the Core, Differentiators,
    Specialists and consensus of :mod:`darkness_visible.data.neurons`)."""
    from darkness_visible.data.neurons import (
        CONSENSUS,
        CORE,
        DIFFERENTIATORS,
        EXCEPTION_NEURON,
        PAPER_LAYER,
        SPECIALISTS,
    )

    return HandlerKey(PAPER_LAYER, EXCEPTION_NEURON, (EXCEPTION_NEURON,), CORE, DIFFERENTIATORS, SPECIALISTS,
                      CONSENSUS)


def score_roles(found: HandlerReport, key) -> pd.DataFrame:
    """Precision and recall of each role against a key, extras counted.

    ``key``: anything with ``roles`` (``{"core": ..., "differentiator": ..., "specialist": ...,
    "consensus": ...}``) and ``indicators`` (the right answers for the indicator), e.g. a
    :class:`~darkness_visible.discovery.discover.HandlerKey`. Rows: ``indicator``, each role and ``handler``
    (Core + Differentiators + Specialists, roles ignored); columns ``role, n_true, n_found, hits, extras,
    missed, precision, recall`` (precision is NaN when nothing was found, recall when nothing is true).
    """
    truth = dict(key.roles)
    truth["handler"] = tuple(n for r in ("core", "differentiator", "specialist") for n in truth.get(r, ()))
    got = dict(found.roles)
    got["handler"] = found.handler
    rows = [{"role": "indicator", "n_true": 1, "n_found": int(found.found),
             "hits": int(found.found and (found.indicator in key.indicators
                                          or bool(set(found.interchangeable) & set(key.indicators))))}]
    for role in ("core", "differentiator", "specialist", "consensus", "handler"):
        t, g = set(truth.get(role, ())), set(got.get(role, ()))
        rows.append({"role": role, "n_true": len(t), "n_found": len(g), "hits": len(t & g)})
    table = pd.DataFrame(rows)
    table["extras"] = table.n_found - table.hits
    table["missed"] = table.n_true - table.hits
    with np.errstate(divide="ignore", invalid="ignore"):
        table["precision"] = np.where(table.n_found > 0, table.hits / table.n_found, np.nan)
        table["recall"] = np.where(table.n_true > 0, table.hits / table.n_true, np.nan)
    return table


def null_reference(pos: np.ndarray, config: DiscoverConfig = DiscoverConfig()) -> dict[str, float]:
    """The number behind the "no handler" bar, for any signed-rule mask ``bool [N, F]``.

    Over every candidate (fire rate in the window) and every partner that fires on at least ``core_level``
    of its tokens and at least as often: the largest lower bound of the log relative risk (``max_lower``,
    what :func:`discover` compares with ``strong_log_rr``), that pair's point estimate (``log_rr``) and
    how many such covering pairs exist. On random weights ``max_lower`` stays below the bar; ``-inf`` when
    no partner covers any candidate.
    """
    B = np.asarray(pos, dtype=bool)
    N, F = B.shape
    fires = B.sum(0).astype(np.float64)
    rates = fires / max(N, 1)
    cand = np.flatnonzero((rates >= config.rate_window[0]) & (rates <= config.rate_window[1])
                          & (fires >= config.min_tokens))
    out = {"max_lower": -np.inf, "log_rr": np.nan, "n_covering_pairs": 0.0, "n_candidates": float(len(cand)),
           "bar": config.strong_log_rr}
    if not len(cand):
        return out
    c = counts(B, cand)
    z = bonferroni_z(config.alpha, len(cand) * F)
    for row, m in enumerate(cand):
        joint = c.joint[row]
        log_rr, lower, _ = log_rr_bounds(joint, fires[m], fires, N, z)
        ok = (joint >= config.core_level * fires[m]) & (fires >= fires[m])
        ok[m] = False
        out["n_covering_pairs"] += float(ok.sum())
        if ok.any():
            j = np.flatnonzero(ok)[np.argmax(lower[ok])]
            if lower[j] > out["max_lower"]:
                out["max_lower"], out["log_rr"] = float(lower[j]), float(log_rr[j])
    return out
