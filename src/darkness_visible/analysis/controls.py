"""The paper's controls: the random-init null model and the threshold sweep (paper-claims E11, E12).

**Null model.** Randomly initialised GPT-2 Smalls (HF's default initialisation, one model per seed,
``load_model("standin:SEED")``) are run over the same tokens as the trained model, and the same statistics
are computed under the *same* firing rule: N2123's fire rate, the Core and consensus fire rates, the Core
pairwise Jaccard (mean and minimum over the 10 pairs), N2123's rate by consensus level (its "profile") and
the enrichment of every neuron given N2123. The paper's text compares 64 % (random, ``|GELU| > 0.1``)
with 11.3 % (trained, ``GELU > 0.1``); under one rule the trained rate is 68.8 % (paper-claims §3, E11).
The original run was unseeded; here the null model is a mean and spread over several seeds.

**Threshold sweep.** For θ in {0.01, 0.05, 0.1, 0.25, 0.5, 1.0} and ``|GELU| > θ`` (FIRE-ABS(θ)) for all
neurons, the same statistics plus N2123's rate at consensus 0/7 and 7/7 (consensus counted at the same θ).
All thresholds come from one pass: the harvest records the post-GELU activations of the 27 named neurons
(which include N2123, the Core and the consensus), and each :class:`~darkness_visible.tracing.firing.FiringRule`
is applied to them.

**Corpus.** The paper's controls read DS-B: the first 5,000 rows of the WikiText-103 *train* split joined
with single spaces, 195 windows of 256 tokens (49,920 tokens). :func:`controls_corpus` reads DS-B itself
when the hub is reachable; offline (the train split is not shipped) it uses 256-token windows of the run's
own split, at most 195 of them: same window length and token count as DS-B, different text. The corpus
description (``CorpusSpec.describe``) says which, and chapters must show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from darkness_visible.data.corpus import DSB_WINDOW, DSB_WINDOWS, CorpusSpec, hub_corpus_available
from darkness_visible.data.neurons import CONSENSUS, CORE, EXCEPTION_NEURON, ROUTING
from darkness_visible.models.loading import ModelSpec, Subject, load_model
from darkness_visible.stats.cofiring import jaccard_matrix, rate_enrichment
from darkness_visible.tracing.firing import FIRE_ABS, FiringRule
from darkness_visible.tracing.harvest import Harvest, HarvestConfig, harvest

#: The thresholds of the paper's sweep (paper-claims E12).
SWEEP_THRESHOLDS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class ControlSet:
    """The neurons the controls look at (the original control script uses only these three lists)."""

    exception: int = EXCEPTION_NEURON
    core: tuple[int, ...] = CORE
    consensus: tuple[int, ...] = CONSENSUS

    @property
    def needed(self) -> tuple[int, ...]:
        """Every neuron whose activation the sweep needs, without repeats, in first-seen order."""
        return tuple(dict.fromkeys((self.exception, *self.core, *self.consensus)))


def controls_corpus(base: CorpusSpec, n_windows: int | None = None) -> CorpusSpec:
    """The controls' corpus: DS-B when the hub is reachable, else 256-token windows of ``base``'s split.

    ``n_windows`` 256-token windows (the size preset's ``controls_windows``; DS-B has 195); by default
    ``min(195, 2 × base.n_windows)``. Windows are DS-B's 256 tokens, or ``base.window`` if that is shorter
    (a model with a shorter context).
    """
    n = min(DSB_WINDOWS, 2 * base.n_windows) if n_windows is None else n_windows
    window = min(DSB_WINDOW, base.window)
    if hub_corpus_available(base.source):
        return CorpusSpec("train", n, window, base.source, construction="DS-B")
    return CorpusSpec(base.split, n, window, base.source)


def pairwise_jaccard(fires: np.ndarray) -> np.ndarray:
    """Jaccard of every pair of columns of ``bool [N, k]``, in ``itertools.combinations`` order: ``[k(k-1)/2]``
    (NaN where neither fires)."""
    k = fires.shape[1]
    return jaccard_matrix(fires)[np.triu_indices(k, 1)]


def rate_by_level(exc: np.ndarray, level: np.ndarray, n_levels: int) -> np.ndarray:
    """Mean of ``exc`` among tokens at each level ``0..n_levels`` (NaN where a level is empty): ``[n_levels+1]``."""
    out = np.full(n_levels + 1, np.nan)
    for c in range(n_levels + 1):
        sel = level == c
        if sel.any():
            out[c] = exc[sel].mean()
    return out


def enrichment(exc: np.ndarray, fires_all: np.ndarray, min_base: float = 0.01, min_exc: int = 100) -> np.ndarray:
    """E11's rate enrichment per neuron, P(n fires | exc) / P(n fires), ``[F]``
    (:func:`~darkness_visible.stats.cofiring.rate_enrichment`): 1.0 where the base rate is ``<= min_base``,
    all ones if ``exc`` fires on ``min_exc`` tokens or fewer (the paper's rule). ``fires_all``: ``bool [N, F]``.
    """
    return rate_enrichment(fires_all, exc, (min_base, np.inf), min_condition=min_exc)


def _nan_stat(func, values: np.ndarray) -> float:
    """``func`` over the finite values, NaN (without a warning) if there are none."""
    finite = values[np.isfinite(values)]
    return float(func(finite)) if len(finite) else float("nan")


def control_stats(acts: np.ndarray, neurons: tuple[int, ...], rule: FiringRule, controls: ControlSet | None = None,
                  fires_all: np.ndarray | None = None) -> dict[str, float]:
    """The E11/E12 statistics at one rule from post-GELU activations ``acts [N, k]`` of ``neurons``.

    ``fires_all`` (``bool [N, F]``, optional): every neuron's firing under ``rule``, for the enrichment keys.
    Keys: ``exception_fire_rate``, ``consensus_mean_fire_rate``, ``core_mean_fire_rate``, ``core_jaccard_mean``,
    ``core_jaccard_min``, ``exc_at_<c>_consensus`` for c = 0..7 (NaN if empty), ``anticorrelation_spread``
    (exc@0 - exc@7, NaN if a level is empty) and, with ``fires_all``, ``max_enrichment``,
    ``n_enriched_1.5x``, ``n_enriched_2x``.
    """
    controls = controls or ControlSet()
    col = {n: i for i, n in enumerate(neurons)}
    fires = rule(acts)
    exc = fires[:, col[controls.exception]]
    core = fires[:, [col[n] for n in controls.core]]
    cons = fires[:, [col[n] for n in controls.consensus]]
    level = cons.sum(axis=1)
    pj = pairwise_jaccard(core)
    by_level = rate_by_level(exc, level, len(controls.consensus))
    out = {
        "exception_fire_rate": float(exc.mean()),
        "consensus_mean_fire_rate": float(cons.mean()),
        "core_mean_fire_rate": float(core.mean()),
        "core_jaccard_mean": _nan_stat(np.nanmean, pj),
        "core_jaccard_min": _nan_stat(np.nanmin, pj),
    }
    for c, value in enumerate(by_level):
        out[f"exc_at_{c}_consensus"] = float(value)
    out["anticorrelation_spread"] = float(by_level[0] - by_level[-1])
    if fires_all is not None:
        e = enrichment(exc, fires_all)
        out["max_enrichment"] = float(e.max())
        out["n_enriched_1.5x"] = int((e > 1.5).sum())
        out["n_enriched_2x"] = int((e > 2.0).sum())
    return out


def harvest_acts(H: Harvest, controls: ControlSet | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """The recorded activations of the controls' neurons: ``float32 [N, k]`` and the neuron order."""
    needed = (controls or ControlSet()).needed
    return np.stack([H.recorded(n) for n in needed], axis=1), needed


def model_stats(H: Harvest, rule: FiringRule = FIRE_ABS, controls: ControlSet | None = None) -> dict[str, float]:
    """:func:`control_stats` of a harvest at ``rule``, with enrichment over every neuron if the harvest has
    ``rule``'s masks."""
    acts, needed = harvest_acts(H, controls)
    try:
        fires_all = H.mask(rule)
    except KeyError:
        fires_all = None
    return control_stats(acts, needed, rule, controls, fires_all)


def _numbers(value: object) -> bool:
    """A cached :func:`model_stats` result: a non-empty mapping of statistic names to numbers."""
    return isinstance(value, dict) and bool(value) and "seed" not in value and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value.values())


def threshold_sweep(H: Harvest, thresholds: tuple[float, ...] = SWEEP_THRESHOLDS, signed: bool = False,
                    controls: ControlSet | None = None) -> list[dict[str, float]]:
    """One row of :func:`control_stats` per threshold, from the harvest's recorded activations (one pass)."""
    acts, needed = harvest_acts(H, controls)
    return [{"threshold": t, **control_stats(acts, needed, FiringRule(t, signed), controls)} for t in thresholds]


def controls_config(record: tuple[int, ...] = ROUTING) -> HarvestConfig:
    """Harvest settings for the controls: FIRE-ABS masks of all neurons, the named neurons' activations.

    The controls read activations only, so the pass stops after the last MLP (no unembedding).
    """
    return HarvestConfig(rules=(FIRE_ABS,), record=record, tiers=(), variants=(), logits=False)


@dataclass(frozen=True)
class NullModelConfig:
    """Seeds of the random-init models (``standin:SEED``), the firing rule, the neurons."""

    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    rule: FiringRule = FIRE_ABS
    controls: ControlSet = field(default_factory=ControlSet)


def null_model(corpus: CorpusSpec, config: NullModelConfig | None = None, *, progress: bool = True,
               cache: str | Path | bool | None = None) -> list[dict]:
    """The control statistics of each random-init seed over ``corpus``: one dict per seed (key ``seed``).

    Each seed's statistics are cached (``cache`` as for the harvest: ``None`` = ``DV_CACHE``, ``False`` =
    none), keyed by the seed's model, the corpus, the configuration, the torch and transformers versions
    (they draw the random weights) and the source of the modules that compute them, so a rebuild neither
    builds the random models nor reads their harvests again.
    """
    import sys

    import torch
    import transformers

    from darkness_visible.io.cache import cached_json, source_digest
    from darkness_visible.models import loading as model_module
    from darkness_visible.stats import cofiring
    from darkness_visible.tracing import firing
    from darkness_visible.tracing import harvest as harvest_module

    config = config or NullModelConfig()
    code = source_digest(sys.modules[__name__], harvest_module, firing, cofiring, model_module)
    rows = []
    for seed in config.seeds:
        spec = ModelSpec("standin", "standin", None, seed)

        def compute(spec: ModelSpec = spec) -> dict[str, float]:
            subject = load_model(spec)
            return model_stats(harvest(subject, corpus, controls_config(), progress=progress, cache=cache),
                               config.rule, config.controls)

        material = {"what": "null model stats", "model": spec.key(), "corpus": asdict(corpus),
                    "config": asdict(config), "harvest": asdict(controls_config()), "code": code,
                    "torch": torch.__version__, "transformers": transformers.__version__}
        rows.append({"seed": seed, **cached_json(cache, material, "null", compute, valid=_numbers)})
    return rows


def summarise_seeds(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean and sample SD (ddof=1; 0 for one seed) of every numeric key over seeds."""
    keys = [k for k in rows[0] if k != "seed"]
    out = {}
    for k in keys:
        values = np.array([r[k] for r in rows], dtype=float)
        values = values[~np.isnan(values)]
        if len(values) == 0:
            out[k] = (float("nan"), float("nan"))
        else:
            sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            out[k] = (float(values.mean()), sd)
    return out


def trained_label(subject: Subject) -> str:
    """How a chapter should label the "trained" side: the model itself, with "(stand-in)" when random."""
    described = subject.spec.describe()
    return described if subject.spec.is_pretrained else f"{described} (the stand-in as 'trained')"


#: E11's ``exc_by_consensus``: N2123's FIRE-ABS rate among tokens at each consensus level 0..7 [DATA].
PAPER_NULL_PROFILE: dict[str, tuple[float, ...]] = {
    "random": (0.5, 0.629, 0.634, 0.646, 0.640, 0.647, 0.648, 0.648),
    "trained": (0.977, 0.978, 0.936, 0.819, 0.745, 0.703, 0.693, 0.654),
}
def robustness_claims(sweep: list[dict[str, float]]) -> dict[str, float | bool]:
    """The paper's robustness claims checked on a sweep: "Core Jaccard ≥ 0.45 and spread ≥ 0.11 at all θ".

    Returns the minimum Core Jaccard mean, the minimum Core Jaccard min, the minimum spread (NaN levels
    skipped), how many thresholds have no spread (an empty level), and whether each claim holds.
    """
    jm = np.array([r["core_jaccard_mean"] for r in sweep])
    jmin = np.array([r["core_jaccard_min"] for r in sweep])
    spread = np.array([r["anticorrelation_spread"] for r in sweep])
    min_jm, min_spread = _nan_stat(np.min, jm), _nan_stat(np.min, spread)
    return {
        "min_core_jaccard_mean": min_jm,
        "min_core_jaccard_min": _nan_stat(np.min, jmin),
        "min_spread": min_spread,
        "n_null_spread": int(np.isnan(spread).sum()),
        "jaccard_claim_holds": bool(np.isfinite(jm).all() and min_jm >= 0.45),
        "spread_claim_holds": bool(np.isfinite(spread).all() and min_spread >= 0.11),
    }


def corpus_note(corpus: CorpusSpec) -> str:
    """One sentence for the page: whether the controls read DS-B itself or a stand-in slice (and which)."""
    if corpus.construction == "DS-B":
        return "This run reads DS-B itself."
    return ("The train split needs the hub, which this run could not reach, so the controls here use 256-token "
            "windows of the run's test stream: the same window length and, at the paper size, the same token count "
            f"(49,920), but other text. This run: {corpus.describe()}.")
