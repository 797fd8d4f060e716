"""The garden-path experiment (paper-claims E9): surprisal, consensus and N2123 at disambiguation.

Per sentence (no BOS, one nnsight trace per batch of sentences, :func:`trace_sentences`):

* ``surprisal[i] = -log2(max(p, 1e-10))`` with ``p = softmax(logits[i-1])[ids[i]]`` (0 at ``i = 0``);
* ``consensus[i]`` = how many of the 7 consensus neurons fire at position ``i`` under a firing rule
  (FIRE-ABS, ``|GELU| > 0.1``, as the paper's code); ``n2123[i] = |a_2123|`` at ``i``;
* ``mlp_norm[i]`` = ``||m_i||`` (the paper's "MLP delta", ``b_out`` included);
* ``dp_token[i] = P(ids[i]) - P_noMLP(ids[i])``: what the last MLP adds to the probability of token ``i``
  itself (read at ``i - 1``, the same logits as the surprisal); ``dp_next[i]`` the same for token ``i + 1``
  read at ``i`` (the crossover's convention, paired with the consensus level at ``i``). "No MLP" is the
  whole-MLP zero ablation (bias included) by re-unembedding the pre-MLP residual (paper-claims §1).

The disambiguation position is the first sub-token of the disambiguating word, found by character
offsets after the subordinate verb (:func:`disambiguation_index`). The original code's substring finder
is reproduced as :func:`faithful_index` (it sends add8's ``"in"`` to ``" singer"``). Three definitions:
``"faithful"`` (listed word, substring finder: the paper's JSON), ``"paper"`` (listed word, offsets) and
``"main_verb"`` (main-clause verb, offsets). Statistics come from scipy and statsmodels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from darkness_visible.data.neurons import CONSENSUS, EXCEPTION_NEURON
from darkness_visible.data.stimuli import GardenPathPair
from darkness_visible.errors import ContextLengthError, SettingError
from darkness_visible.tracing.firing import FIRE_ABS, FiringRule
from darkness_visible.tracing.harvest import Variant, trace_batch, variant_logits

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from darkness_visible.models.loading import Subject

Condition = Literal["garden", "control"]
Definition = Literal["faithful", "paper", "main_verb"]
CONDITIONS: tuple[Condition, ...] = ("garden", "control")
DEFINITIONS: tuple[Definition, ...] = ("faithful", "paper", "main_verb")
#: The per-token measures read at the disambiguation token.
METRICS: tuple[str, ...] = ("surprisal", "consensus", "n2123", "mlp_norm", "dp_token", "dp_next")


# --------------------------------------------------------------------------------------------- finding words
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])")


def word_start(text: str, word: str, after: str | None = None) -> int:
    """Character offset of the first whole-word occurrence of ``word`` after the word ``after``.

    ``after`` (e.g. the subordinate verb) is itself matched as a whole word, first occurrence; ``None``
    searches from the start. Raises ``ValueError`` when either word is missing.
    """
    begin = 0
    if after is not None:
        anchor = _word_pattern(after).search(text)
        if anchor is None:
            raise ValueError(f"anchor word {after!r} not found in {text!r}")
        begin = anchor.end()
    found = _word_pattern(word).search(text, begin)
    if found is None:
        raise ValueError(f"word {word!r} not found as a whole word after {after!r} in {text!r}")
    return found.start()


def token_at_char(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the token whose character span covers ``char`` (``offsets`` as from the tokenizer).

    A GPT-2 token may or may not include its leading space in its span; either way the first token whose
    span ends after ``char`` and starts at or before it is the word's first sub-token.
    """
    for i, (start, end) in enumerate(offsets):
        if start <= char < end:
            return i
    raise ValueError(f"no token covers character {char}")


def encode_with_offsets(tokenizer: PreTrainedTokenizerBase, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids (no special tokens, no BOS) and their character spans."""
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def disambiguation_index(tokenizer: PreTrainedTokenizerBase, text: str, word: str, after: str | None = None) -> int:
    """Token index of the first sub-token of ``word`` (whole word, after ``after``), by character offsets."""
    _, offsets = encode_with_offsets(tokenizer, text)
    return token_at_char(offsets, word_start(text, word, after))


def faithful_substring_index(tokens: Sequence[str], word: str) -> int | None:
    """The original code's finder: first ``i`` where ``word`` is a substring of ``tokens[:i+1]`` joined
    and was not a substring of ``tokens[:i]`` joined. ``tokens`` are decoded strings. ``None`` if absent.
    """
    text = ""
    for i, token in enumerate(tokens):
        before, text = text, text + token
        if word in text and word not in before:
            return i
    return None


def faithful_index(tokenizer: PreTrainedTokenizerBase, text: str, word: str) -> int:
    """:func:`faithful_substring_index` on the decoded tokens of ``text`` (bug included); raises if absent."""
    ids, _ = encode_with_offsets(tokenizer, text)
    found = faithful_substring_index([tokenizer.decode([i]) for i in ids], word)
    if found is None:
        raise ValueError(f"{word!r} does not occur in {text!r}")
    return found


def locate(tokenizer: PreTrainedTokenizerBase, pair: GardenPathPair, condition: Condition,
           definition: Definition) -> int:
    """Disambiguation token index of one sentence of a pair under a definition."""
    text = pair.sentence(condition)
    if definition == "faithful":
        return faithful_index(tokenizer, text, pair.paper_word)
    return disambiguation_index(tokenizer, text, pair.word(definition), pair.anchor(condition))


# --------------------------------------------------------------------------------------------- the trace
@dataclass(frozen=True)
class GardenPathConfig:
    """What is read per token. ``layer=None``: the last block (needed for the no-MLP read-off)."""

    layer: int | None = None
    consensus: tuple[int, ...] = CONSENSUS
    exception: int | None = EXCEPTION_NEURON
    rule: FiringRule = FIRE_ABS
    batch_size: int = 16
    min_prob: float = 1e-10

    @classmethod
    def for_model(cls, subject: Subject, **overrides: object) -> GardenPathConfig:
        """The paper's neurons on GPT-2-shaped models; on the tiny test model, stand-in indices 0..7."""
        if subject.d_mlp >= 3072:
            return cls(**overrides)  # type: ignore[arg-type]
        base: dict[str, object] = {"consensus": tuple(range(7)), "exception": 7}
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]

    @classmethod
    def for_study(cls, study: Any, **overrides: object) -> GardenPathConfig:
        """The run's neurons under study (:class:`darkness_visible.analysis.study.Study`): its indicator and
        consensus (``exception=None`` and no consensus when discovery found no handler: the indicator's measures
        are then NaN and the consensus level 0)."""
        base: dict[str, object] = {"consensus": tuple(study.consensus), "exception": study.indicator}
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SentenceTrace:
    """Per-token measures of one sentence, each ``[T]`` (numpy)."""

    text: str
    ids: np.ndarray  # int64
    tokens: tuple[str, ...]
    surprisal: np.ndarray  # bits; 0 at position 0
    consensus: np.ndarray  # int, 0..len(consensus)
    n2123: np.ndarray  # |a_exception|
    n2123_fires: np.ndarray  # bool, rule applied to a_exception
    mlp_norm: np.ndarray  # ||m_i||
    p_full: np.ndarray  # P(ids[i] | ids[:i]); nan at 0
    p_no_mlp: np.ndarray  # the same without the last MLP; nan at 0
    dp_token: np.ndarray  # p_full - p_no_mlp
    dp_next: np.ndarray  # dp_token shifted: the MLP's effect on token i+1, read at i; nan at T-1


def trace_sentences(subject: Subject, sentences: Sequence[str], config: GardenPathConfig | None = None
                    ) -> list[SentenceTrace]:
    """One nnsight trace per batch of sentences (right-padded; causal attention keeps pads invisible).

    Returns one :class:`SentenceTrace` per sentence, in order.
    """
    config = config or GardenPathConfig.for_model(subject)
    layer = subject.layer_index(config.layer)
    if layer != subject.n_layers - 1:
        raise ValueError("the no-MLP read-off by re-unembedding needs the last block; use layer=None")
    tok = subject.tokenizer
    encoded = [encode_with_offsets(tok, s)[0] for s in sentences]
    for i, ids in enumerate(encoded):
        if not ids:
            raise SettingError(f"sentence {i} ({sentences[i]!r}) has no tokens: remove it or give it some text")
        if len(ids) > subject.n_ctx:
            raise ContextLengthError(f"sentence {i} is {len(ids):,} tokens, longer than the model's context of "
                                     f"{subject.n_ctx:,}: shorten it")
    pad = int(tok.eos_token_id)
    cons = torch.as_tensor(config.consensus, dtype=torch.long, device=subject.device)
    no_mlp = Variant("no_mlp", whole_mlp=True)
    out: list[SentenceTrace] = []
    for lo in range(0, len(sentences), config.batch_size):
        chunk = encoded[lo: lo + config.batch_size]
        width = max(len(ids) for ids in chunk)
        batch = torch.full((len(chunk), width), pad, dtype=torch.long)
        for b, ids in enumerate(chunk):
            batch[b, : len(ids)] = torch.as_tensor(ids)
        with torch.inference_mode():
            traced = trace_batch(subject, batch, layer)
            logp_full = traced.logits.log_softmax(-1)
            logp_none = variant_logits(subject, traced, no_mlp, layer).log_softmax(-1)
            act = traced.act
            fires = config.rule(act[..., cons]).sum(-1)
            # no indicator (no handler found): its measures are NaN, never a stand-in neuron's
            a_exc = (act[..., config.exception] if config.exception is not None
                     else torch.full(act.shape[:-1], float("nan"), device=act.device))
            norm = traced.mlp_out.norm(dim=-1)
            for b, ids in enumerate(chunk):
                T = len(ids)
                target = torch.as_tensor(ids[1:], dtype=torch.long, device=subject.device)
                lp = logp_full[b, : T - 1].gather(-1, target[:, None])[:, 0]
                lp0 = logp_none[b, : T - 1].gather(-1, target[:, None])[:, 0]
                p = np.concatenate([[np.nan], lp.exp().double().cpu().numpy()])
                p0 = np.concatenate([[np.nan], lp0.exp().double().cpu().numpy()])
                surprisal = np.zeros(T)
                surprisal[1:] = -np.log2(np.maximum(p[1:], config.min_prob))
                dp = p - p0
                out.append(SentenceTrace(
                    text=sentences[lo + b], ids=np.asarray(ids, dtype=np.int64),
                    tokens=tuple(tok.decode([i]) for i in ids), surprisal=surprisal,
                    consensus=fires[b, :T].cpu().numpy().astype(np.int64),
                    n2123=a_exc[b, :T].abs().double().cpu().numpy(),
                    n2123_fires=(config.rule(a_exc[b, :T]).cpu().numpy().astype(bool) if config.exception is not None
                                 else np.zeros(T, dtype=bool)),
                    mlp_norm=norm[b, :T].double().cpu().numpy(), p_full=p, p_no_mlp=p0, dp_token=dp,
                    dp_next=np.concatenate([dp[1:], [np.nan]]),
                ))
    return out


@dataclass(frozen=True)
class GardenPathData:
    """Traces of every sentence of some pairs: ``traces[(pair_id, condition)]``, plus the model label."""

    pairs: tuple[GardenPathPair, ...]
    traces: dict[tuple[str, str], SentenceTrace]
    label: str
    pretrained: bool


def stimulus_label(subject: Subject, pairs: Sequence[GardenPathPair]) -> str:
    """Model and stimuli in one line (the garden-path analogue of ``Harvest.label``)."""
    families = sorted({p.family for p in pairs})
    return f"{subject.spec.describe()}; {len(pairs)} garden-path pairs ({', '.join(families)})"


def measure(subject: Subject, pairs: Sequence[GardenPathPair], config: GardenPathConfig | None = None
            ) -> GardenPathData:
    """Trace both sentences of every pair (one nnsight trace per batch)."""
    sentences = [p.sentence(c) for p in pairs for c in CONDITIONS]
    traces = trace_sentences(subject, sentences, config)
    keys = [(p.id, c) for p in pairs for c in CONDITIONS]
    return GardenPathData(tuple(pairs), dict(zip(keys, traces, strict=True)), stimulus_label(subject, pairs),
                          subject.spec.is_pretrained)


def disambiguation_table(data: GardenPathData, tokenizer: PreTrainedTokenizerBase,
                         definitions: Sequence[Definition] = DEFINITIONS) -> pd.DataFrame:
    """Long table: one row per pair × condition × definition with the measures at the located token.

    Columns: ``pair, family, condition, definition, word, index, token, n_tokens`` and :data:`METRICS`
    plus ``n2123_fires``. ``index`` is also the absolute position (no BOS).
    """
    rows = []
    for pair in data.pairs:
        for condition in CONDITIONS:
            tr = data.traces[(pair.id, condition)]
            for definition in definitions:
                i = locate(tokenizer, pair, condition, definition)
                word = pair.paper_word if definition == "faithful" else pair.word(definition)
                row = {"pair": pair.id, "family": pair.family, "condition": condition, "definition": definition,
                       "word": word, "index": i, "token": tr.tokens[i], "n_tokens": len(tr.ids),
                       "n2123_fires": bool(tr.n2123_fires[i])}
                row.update({m: float(getattr(tr, m)[i]) for m in METRICS})
                rows.append(row)
    return pd.DataFrame(rows)


def paired_arrays(table: pd.DataFrame, metric: str, definition: str) -> tuple[np.ndarray, np.ndarray]:
    """``(garden, control)`` values of a metric under a definition, aligned by pair, each ``[n_pairs]``."""
    sub = table[table.definition == definition]
    wide = sub.pivot(index="pair", columns="condition", values=metric)
    order = list(dict.fromkeys(sub.pair))
    wide = wide.loc[order]
    return wide["garden"].to_numpy(float), wide["control"].to_numpy(float)


# --------------------------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class PairedComparison:
    """Paired statistics of ``garden`` vs ``control`` (effect = garden − control, the paper's I − T).

    ``cohens_d_paper`` is the original code's effect / sqrt((var_I + var_T) / 2) with population variances
    (not a paired effect size); ``d_z`` = mean(diff) / sd(diff, ddof=1) is the paired one. ``wilcoxon_w`` is
    scipy's two-sided statistic (min of the signed-rank sums, zero differences dropped, "wilcox");
    ``wilcoxon_p_zsplit`` keeps zeros with the "zsplit" rule. ``median_reversal`` = median(control − garden),
    the paper's "median +3.1 bits"; ``n_reversed`` = pairs with control > garden.
    """

    metric: str
    n: int
    mean_garden: float
    mean_control: float
    effect: float
    cohens_d_paper: float
    d_z: float
    t: float
    p_t: float
    wilcoxon_w: float
    wilcoxon_p: float
    wilcoxon_p_zsplit: float
    median_reversal: float
    n_reversed: int
    n_zero: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _wilcoxon(diff: np.ndarray, zero_method: str) -> tuple[float, float]:
    from scipy import stats

    if np.count_nonzero(diff) == 0:
        return math.nan, math.nan
    res = stats.wilcoxon(diff, zero_method=zero_method)
    return float(res.statistic), float(res.pvalue)


def compare(garden: np.ndarray, control: np.ndarray, metric: str = "") -> PairedComparison:
    """Paired comparison of two ``[n]`` arrays with scipy (``ttest_rel``, ``wilcoxon``)."""
    from scipy import stats

    g, c = np.asarray(garden, float), np.asarray(control, float)
    if g.shape != c.shape or g.ndim != 1:
        raise ValueError(f"need two 1-D arrays of equal length, got {g.shape} and {c.shape}")
    diff = g - c
    pooled = math.sqrt((g.var() + c.var()) / 2)
    sd = diff.std(ddof=1)
    if np.ptp(diff) == 0:
        t, p = math.nan, math.nan
    else:
        res = stats.ttest_rel(g, c)
        t, p = float(res.statistic), float(res.pvalue)
    w, pw = _wilcoxon(diff, "wilcox")
    _, pz = _wilcoxon(diff, "zsplit")
    return PairedComparison(
        metric=metric, n=len(g), mean_garden=float(g.mean()), mean_control=float(c.mean()),
        effect=float(diff.mean()), cohens_d_paper=float(diff.mean() / pooled) if pooled > 0 else math.nan,
        d_z=float(diff.mean() / sd) if sd > 0 else math.nan, t=t, p_t=p, wilcoxon_w=w, wilcoxon_p=pw,
        wilcoxon_p_zsplit=pz, median_reversal=float(np.median(-diff)), n_reversed=int((diff < 0).sum()),
        n_zero=int((diff == 0).sum()),
    )


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (``statsmodels.stats.multitest.multipletests``) over the finite entries of a
    family; NaN entries (a test that could not run) stay NaN and do not count towards the family size."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def compare_all(table: pd.DataFrame, definitions: Sequence[str] = DEFINITIONS,
                metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """:func:`compare` for every definition × metric, one row each, with Holm-adjusted p-values.

    The definitions × metrics (3 × 6 in the chapter) are one family of tests: ``p_t_holm`` and
    ``wilcoxon_p_holm`` correct the paired t-tests and the Wilcoxon tests for it (each test type separately,
    :func:`holm`), beside the raw ``p_t`` and ``wilcoxon_p``.
    """
    rows = []
    for definition in definitions:
        for metric in metrics:
            g, c = paired_arrays(table, metric, definition)
            rows.append({"definition": definition, **compare(g, c, metric).as_dict()})
    out = pd.DataFrame(rows)
    out["p_t_holm"] = holm(out["p_t"])
    out["wilcoxon_p_holm"] = holm(out["wilcoxon_p"])
    return out


def fire_rates(table: pd.DataFrame, definition: str) -> dict[str, float]:
    """Fraction of pairs whose disambiguation token has N2123 firing, per condition."""
    sub = table[table.definition == definition]
    return {c: float(sub[sub.condition == c].n2123_fires.mean()) for c in CONDITIONS}


#: The paper's reversed-effect test (P/F/M): Wilcoxon W = 12, p = 0.018, median (T − I) +3.1 bits.
PAPER_WILCOXON = {"W": 12.0, "p": 0.018, "median": 3.1}


def which_reproduces(comparisons: Sequence[PairedComparison], names: Sequence[str], w_tol: float = 0.0,
                     p_tol: float = 0.005) -> list[str]:
    """Names of the surprisal comparisons that give the paper's W = 12 (± ``w_tol``) and p = 0.018 (± ``p_tol``)."""
    return [n for n, c in zip(names, comparisons, strict=True)
            if abs(c.wilcoxon_w - PAPER_WILCOXON["W"]) <= w_tol and abs(c.wilcoxon_p - PAPER_WILCOXON["p"]) <= p_tol]


def exact_wilcoxon_p(w: int, n: int) -> float:
    """Exact two-sided p of signed-rank statistic ``w`` for ``n`` non-zero, untied differences.

    Builds differences ``±1..±n`` whose negative ranks sum to ``w`` and asks scipy's exact test, so
    the number is scipy's, not a re-derivation. Shows that W = 12 gives p = 0.018 only near n = 13.
    """
    from scipy import stats

    if not 0 <= w <= n * (n + 1) // 4:
        raise ValueError(f"w = {w} must be between 0 and n(n+1)/4 = {n * (n + 1) / 4} (the smaller rank sum)")
    signs, left = np.ones(n), int(w)
    for rank in range(n, 0, -1):
        if rank <= left:
            signs[rank - 1], left = -1.0, left - rank
    diffs = signs * np.arange(1, n + 1)
    return float(stats.wilcoxon(diffs, method="exact").pvalue)


@dataclass(frozen=True)
class PowerAnalysis:
    """Power of a two-sided paired t-test (statsmodels ``TTestPower``)."""

    n: int
    alpha: float
    power: float
    min_d: float  # smallest d_z detected with the given power at n
    observed_d: float
    power_at_observed: float
    n_for_observed: float  # pairs needed to detect the observed d_z with the given power


def power_analysis(n: int = 15, alpha: float = 0.05, power: float = 0.8, observed_d: float = math.nan
                   ) -> PowerAnalysis:
    """What effect size ``n`` pairs detect (the paper's "powered for d ≥ 0.78"), and the observed d_z's power."""
    from statsmodels.stats.power import TTestPower

    tp = TTestPower()
    min_d = float(tp.solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="two-sided"))
    if math.isfinite(observed_d) and observed_d != 0:
        d = abs(observed_d)
        p_obs = float(tp.power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided"))
        n_obs = float(tp.solve_power(effect_size=d, nobs=None, alpha=alpha, power=power, alternative="two-sided"))
    else:
        p_obs, n_obs = math.nan, math.nan
    return PowerAnalysis(n, alpha, power, min_d, float(observed_d), p_obs, n_obs)


def power_curve(ns: Sequence[int], ds: Sequence[float], alpha: float = 0.05) -> pd.DataFrame:
    """Power of the paired t-test for each ``n`` × ``d`` (statsmodels), long format."""
    from statsmodels.stats.power import TTestPower

    tp = TTestPower()
    return pd.DataFrame([{"n": n, "d": d, "power": float(tp.power(effect_size=d, nobs=n, alpha=alpha))}
                         for n in ns for d in ds])


@dataclass(frozen=True)
class PositionCheck:
    """Does the disambiguation token sit at different absolute positions, and does it matter?

    Paired regression ``diff_metric = b0 + b1 · diff_position`` (statsmodels OLS; with two conditions it
    equals a long regression with pair fixed effects, condition and position): ``adjusted_effect`` = b0 is
    the condition effect at equal positions. ``identifiable`` is False when the position difference does
    not vary across pairs (then b0 and b1 cannot be separated; if it is always 0 there is no confound and
    b0 is the raw mean difference). ``same_position_*``: Wilcoxon on the pairs with equal positions only.
    """

    n: int
    n_position_differs: int
    mean_position_garden: float
    mean_position_control: float
    identifiable: bool
    adjusted_effect: float
    adjusted_p: float
    slope: float
    slope_p: float
    same_position_n: int
    same_position_w: float
    same_position_p: float


def position_check(diff_metric: np.ndarray, position_garden: np.ndarray, position_control: np.ndarray
                   ) -> PositionCheck:
    """Control a paired difference (garden − control) for the difference in absolute token position."""
    import statsmodels.api as sm

    y = np.asarray(diff_metric, float)
    pg, pc = np.asarray(position_garden, float), np.asarray(position_control, float)
    dpos = pg - pc
    same = dpos == 0
    if np.ptp(dpos) > 0:
        fit = sm.OLS(y, sm.add_constant(dpos)).fit()
        b0, b1 = float(fit.params[0]), float(fit.params[1])
        p0, p1 = float(fit.pvalues[0]), float(fit.pvalues[1])
        identifiable = True
    elif np.all(same):
        fit = sm.OLS(y, np.ones((len(y), 1))).fit()
        b0, p0, b1, p1 = float(fit.params[0]), float(fit.pvalues[0]), math.nan, math.nan
        identifiable = True
    else:
        b0, p0, b1, p1, identifiable = math.nan, math.nan, math.nan, math.nan, False
    w, pw = _wilcoxon(y[same], "wilcox") if same.sum() > 0 else (math.nan, math.nan)
    return PositionCheck(len(y), int((~same).sum()), float(pg.mean()), float(pc.mean()), identifiable,
                         b0, p0, b1, p1, int(same.sum()), w, pw)


def position_check_table(table: pd.DataFrame, metric: str, definition: str) -> PositionCheck:
    """:func:`position_check` of a metric under a definition, positions from the same table."""
    g, c = paired_arrays(table, metric, definition)
    pg, pc = paired_arrays(table, "index", definition)
    return position_check(g - c, pg, pc)


def position_table(table: pd.DataFrame, definitions: Sequence[str]) -> pd.DataFrame:
    """Per definition and metric (surprisal, n2123): the raw paired effect next to the effect at equal
    position (:func:`position_check_table`) and the Wilcoxon test on equal-position pairs; one row each."""
    out = []
    for d in definitions:
        for metric in ("surprisal", "n2123"):
            pc = position_check_table(table, metric, d)
            raw = compare(*paired_arrays(table, metric, d))
            out.append({"definition": d, "metric": metric, "pairs at different positions": pc.n_position_differs,
                        "mean position I": pc.mean_position_garden, "mean position T": pc.mean_position_control,
                        "raw effect (I − T)": raw.effect, "raw p (t)": raw.p_t,
                        "effect at equal position": pc.adjusted_effect, "its p": pc.adjusted_p,
                        "slope per token": pc.slope, "slope p": pc.slope_p,
                        "W (equal-position pairs)": pc.same_position_w, "p": pc.same_position_p,
                        "n equal": pc.same_position_n})
    return pd.DataFrame(out)
