"""Planted handlers built by a *randomised* construction: ground truth the discovery was not tuned to.

:mod:`darkness_visible.discovery.planted` plants one handler by one recipe. A discovery procedure that recovers it
may only have learnt the recipe. Here every choice is drawn from a range by a seed (:func:`draw_plant`):

* the model: one of several small GPT-2 shapes (:data:`SMALL_SHAPES`, or GPT-2 Small's own shape,
  :data:`GPT2_SMALL_SHAPE`) with random weights, and the layer (any block);
* the **mechanism** of the exception gate:

  ``"direction"``
      the indicator fires when the MLP input ``x̂ = ln_2(resid_mid)`` projects onto a random direction
      ``u`` above a threshold (as in :mod:`~darkness_visible.discovery.planted`);
  ``"token_class"``
      a random class of token types (as many types as it takes to cover the exception rate in the text)
      gets a fresh direction ``e`` added to its embedding rows, and the indicator reads ``e`` at layer ``L``:
      it fires on the class's tokens, through the layers in between (with whatever the random attention
      mixes in);

* the rates: the indicator's signed-rule rate (5-20 %), each Core member's conditional rate
  ``P(n fires | indicator fires)`` in ``[0.95, 1]`` (so its Jaccard with the indicator within the
  indicator's tokens is at least 0.95) and its total rate, 1.2-3 times the indicator's (the extra tokens
  chosen by a private direction, so Core members spill independently and the indicator stays the most
  specific member of its Core), Differentiators (in groups of two to four that share a second direction)
  and Specialists (each with a private direction) with conditional rates in ``[0.14, 0.8]`` (the issue's
  example goes to 0.88: :data:`ISSUE_RANGES`; at 4,096 tokens and a 5 % indicator a planted 0.88 and a Core
  member at 0.95 are not two binomial standard errors apart, so the key would not be identifiable);
* the sizes of the groups, the gate gains (soft to sharp), private noise mixed into each planted neuron's
  input direction, and, with some probability, an exact copy of the indicator ("planted alike": either one
  is a right answer, and :class:`HandlerKey` lists both);
* a **consensus** group of default-ON neurons firing on 85-95 % of tokens under ``|GELU| > 0.1``, each
  pushed down along the gate direction, so they are anti-correlated with the indicator.

The neurons are placed at random indices. Background neurons keep their random weights with the planted
directions projected out in the input-covariance metric. Thresholds are calibrated on windows of the
shipped WikiText test stream that come **after** the windows a discovery reads (:func:`discovery_corpus`),
so the rates a discovery sees are the design rates up to sampling noise, not by construction.

Use::

    planted = build_random_planted(7)                     # seed 7: shape, layer, mechanism, rates, indices
    planted.subject                                       # a Subject, like load_model()
    planted.key.roles                                     # {"core": ..., "differentiator": ..., ...}
    H = harvest(planted.subject, discovery_corpus(planted), ...)
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from darkness_visible.data.corpus import CorpusSpec, token_stream, windows
from darkness_visible.discovery.discover import HandlerKey
from darkness_visible.discovery.planted import PlantedSpec, gelu_inverse, mlp_inputs
from darkness_visible.models.loading import Subject, load_tokenizer, random_model
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, gelu_new

Mechanism = Literal["direction", "token_class"]
MECHANISMS: tuple[Mechanism, ...] = ("direction", "token_class")


@dataclass(frozen=True)
class Shape:
    """A GPT-2 shape: depth, width, MLP width, heads and context."""

    n_layers: int
    d_model: int
    d_mlp: int
    n_head: int
    n_ctx: int

    def config(self):
        """The ``GPT2Config`` of this shape (real vocabulary, tanh GELU as GPT-2)."""
        from transformers import GPT2Config

        return GPT2Config(vocab_size=50257, n_positions=self.n_ctx, n_embd=self.d_model, n_layer=self.n_layers,
                          n_head=self.n_head, n_inner=self.d_mlp, activation_function="gelu_new",
                          layer_norm_epsilon=1e-5)


#: Small shapes that build and run in about a second on one CPU core (depth 2-6, width 64-128).
SMALL_SHAPES: tuple[Shape, ...] = (
    Shape(2, 64, 256, 4, 128),
    Shape(3, 64, 512, 4, 128),
    Shape(4, 96, 384, 4, 128),
    Shape(2, 128, 512, 4, 128),
    Shape(6, 64, 256, 4, 128),
)
#: GPT-2 Small's shape (12 layers, 768 wide, 3,072 MLP neurons, 1,024 context), random weights.
GPT2_SMALL_SHAPE = Shape(12, 768, 3072, 12, 1024)


@dataclass(frozen=True)
class PlantRanges:
    """The ranges every draw of :func:`draw_plant` comes from (integers inclusive; floats uniform).

    ``core_spread``: a Core member's fire rate over the indicator's. ``gain`` is drawn log-uniformly (slope
    of a planted pre-activation per unit of projection: 4 is a soft gate, 40 a sharp one). ``noise``:
    weight of a private random direction mixed into each planted input direction. ``tier_strength``: weight
    of a Differentiator group's / Specialist's own direction relative to the gate direction.
    ``class_strength``: the token-class embedding offset in units of the median residual norm at the
    planted layer. ``alike_prob``: probability of planting an exact copy of the
    indicator.
    """

    exception_rate: tuple[float, float] = (0.05, 0.2)
    n_core: tuple[int, int] = (2, 6)
    core_cond: tuple[float, float] = (0.95, 1.0)
    core_spread: tuple[float, float] = (1.2, 3.0)
    n_diff_groups: tuple[int, int] = (1, 3)
    diff_group_size: tuple[int, int] = (2, 4)
    n_spec: tuple[int, int] = (1, 5)
    tier_cond: tuple[float, float] = (0.14, 0.8)
    tier_strength: tuple[float, float] = (0.5, 1.5)
    n_consensus: tuple[int, int] = (5, 9)
    consensus_rate: tuple[float, float] = (0.85, 0.95)
    consensus_anti: tuple[float, float] = (0.5, 2.0)
    gain: tuple[float, float] = (4.0, 40.0)
    noise: tuple[float, float] = (0.0, 0.4)
    class_strength: tuple[float, float] = (0.7, 1.5)
    alike_prob: float = 0.3


@dataclass(frozen=True)
class PlantDraw:
    """Everything one seed decided (reported with every result, so a failure can be rebuilt).

    ``core_cond``: conditional rates of the Core members other than the indicator (and its copy);
    ``core_spread``: their fire rates over the indicator's;
    ``diff_groups``: per group, its members' conditional rates; ``spec_cond``: the Specialists';
    ``consensus``: per consensus neuron ``(|GELU| rate, anti-correlation weight)``.
    """

    seed: int
    shape: Shape
    layer: int
    mechanism: Mechanism
    exception_rate: float
    core_cond: tuple[float, ...]
    core_spread: tuple[float, ...]
    diff_groups: tuple[tuple[float, ...], ...]
    spec_cond: tuple[float, ...]
    consensus: tuple[tuple[float, float], ...]
    gain: float
    noise: float
    tier_strength: float
    class_strength: float
    alike: bool

    @property
    def n_planted(self) -> int:
        return (1 + int(self.alike) + len(self.core_cond) + sum(len(g) for g in self.diff_groups)
                + len(self.spec_cond) + len(self.consensus))

    def summary(self) -> dict[str, object]:
        """A flat, JSON-ready row: shape, layer, mechanism and the sizes and rates drawn."""
        return {"seed": self.seed, "shape": f"{self.shape.n_layers}L-d{self.shape.d_model}-m{self.shape.d_mlp}",
                "layer": self.layer, "mechanism": self.mechanism, "exception_rate": round(self.exception_rate, 4),
                "n_core": 1 + int(self.alike) + len(self.core_cond),
                "n_diff": sum(len(g) for g in self.diff_groups), "n_diff_groups": len(self.diff_groups),
                "n_spec": len(self.spec_cond), "n_consensus": len(self.consensus), "gain": round(self.gain, 2),
                "noise": round(self.noise, 3), "alike": self.alike}


def draw_plant(seed: int, ranges: PlantRanges = PlantRanges(), *, shape: Shape | None = None,
               mechanism: Mechanism | None = None, layer: int | None = None) -> PlantDraw:
    """Draw one construction from ``ranges`` with ``numpy.random.default_rng(seed)``.

    ``shape`` / ``mechanism`` / ``layer`` (negative counts from the end) fix that choice instead of drawing
    it; the other draws do not depend on them, so fixing one changes nothing else.
    """
    rng = np.random.default_rng([seed, 16])

    def integer(bounds: tuple[int, int]) -> int:
        return int(rng.integers(bounds[0], bounds[1] + 1))

    def uniform(bounds: tuple[float, float], size: int | None = None):
        return rng.uniform(bounds[0], bounds[1], size)

    drawn_shape = SMALL_SHAPES[int(rng.integers(len(SMALL_SHAPES)))]
    drawn_mechanism = MECHANISMS[int(rng.integers(len(MECHANISMS)))]
    layer_fraction = float(rng.random())
    rate = float(uniform(ranges.exception_rate))
    alike = bool(rng.random() < ranges.alike_prob)
    n_core_total = integer(ranges.n_core)
    n_core = max(n_core_total - 1 - int(alike), 0)
    core = tuple(float(c) for c in uniform(ranges.core_cond, n_core))
    spread = tuple(float(c) for c in uniform(ranges.core_spread, n_core))
    groups = tuple(tuple(float(c) for c in uniform(ranges.tier_cond, integer(ranges.diff_group_size)))
                   for _ in range(integer(ranges.n_diff_groups)))
    specs = tuple(float(c) for c in uniform(ranges.tier_cond, integer(ranges.n_spec)))
    n_cons = integer(ranges.n_consensus)
    consensus = tuple((float(r), float(a)) for r, a in zip(uniform(ranges.consensus_rate, n_cons),
                                                           uniform(ranges.consensus_anti, n_cons), strict=True))
    gain = float(np.exp(uniform((np.log(ranges.gain[0]), np.log(ranges.gain[1])))))
    noise = float(uniform(ranges.noise))
    strength = float(uniform(ranges.tier_strength))
    class_strength = float(uniform(ranges.class_strength))
    shape = shape or drawn_shape
    if layer is None:
        layer = min(int(layer_fraction * shape.n_layers), shape.n_layers - 1)
    elif layer < 0:
        layer += shape.n_layers
    if not 0 <= layer < shape.n_layers:
        raise IndexError(f"layer {layer} is out of range for a {shape.n_layers}-layer model")
    return PlantDraw(seed, shape, layer, mechanism or drawn_mechanism, rate, core, spread, groups, specs, consensus,
                     gain, noise, strength, class_strength, alike)


@dataclass(frozen=True)
class RandomPlanted:
    """A model with a randomly constructed planted handler.

    ``measured``: on the calibration tokens, per planted neuron ``{"role", "target", "cond", "rate"}``
    (conditional rate on the indicator's tokens and overall rate, signed rule; the consensus neurons'
    ``rate`` is under ``|GELU| > 0.1``), plus ``"exception_rate"``.
    """

    subject: Subject
    key: HandlerKey
    draw: PlantDraw
    measured: dict[str, object] = field(default_factory=dict, compare=False)


#: Tokens a discovery reads on a planted model (the issue's 4,096) and the calibration tokens after them.
DISCOVERY_TOKENS = 4096


def discovery_corpus(planted: RandomPlanted | Shape, n_tokens: int = DISCOVERY_TOKENS) -> CorpusSpec:
    """The first ``n_tokens`` of the shipped test stream, in windows of the model's context (``CorpusSpec``)."""
    shape = planted if isinstance(planted, Shape) else planted.draw.shape
    return CorpusSpec("test", max(1, n_tokens // shape.n_ctx), shape.n_ctx, "local")


def calibration_windows(tokenizer, shape: Shape, skip: int, count: int) -> np.ndarray:
    """Windows ``skip .. skip + count - 1`` of the shipped test stream: ``int64 [count, n_ctx]``."""
    spec = CorpusSpec("test", skip + count, shape.n_ctx, "local")
    stream, _ = token_stream(tokenizer, spec)
    inputs, _ = windows(stream, spec)
    return inputs[skip:]


def resid_inputs(subject: Subject, input_ids: torch.Tensor, layer: int) -> torch.Tensor:
    """The residual stream entering ``ln_2`` at ``layer``, one nnsight trace: ``[B*T, d_model]``."""
    with torch.inference_mode():
        with subject.model.trace(input_ids.to(subject.device)):
            resid = subject.model.transformer.h[layer].ln_2.input.save()
        return resid.reshape(-1, resid.shape[-1]).cpu().clone()


def token_class(input_ids: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A random class of token types covering about ``rate`` of ``input_ids``: (type ids, covered share).

    Types are visited in random order and added while the class stays at or below ``rate`` (a type that
    would overshoot is skipped), so one very frequent type cannot take the class far past the rate.
    """
    types, counts = np.unique(input_ids, return_counts=True)
    share = counts / counts.sum()
    chosen, total = [], 0.0
    for j in rng.permutation(len(types)):
        if total + share[j] <= rate:
            chosen.append(types[j])
            total += share[j]
        if total >= 0.97 * rate:
            break
    return np.asarray(sorted(chosen), dtype=np.int64), float(total)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm()


def build_random_planted(seed: int | PlantDraw, ranges: PlantRanges = PlantRanges(), *, shape: Shape | None = None,
                         mechanism: Mechanism | None = None, layer: int | None = None,
                         calibration_tokens: int = DISCOVERY_TOKENS) -> RandomPlanted:
    """Build the model of :func:`draw_plant` ``(seed, ranges, shape=, mechanism=, layer=)`` (or of a given draw).

    Calibration reads ``calibration_tokens`` tokens of the test stream *after* the
    :func:`discovery_corpus` windows. Raises ``ValueError`` if the planted neurons or directions do not fit
    the shape.
    """
    draw = seed if isinstance(seed, PlantDraw) else draw_plant(seed, ranges, shape=shape, mechanism=mechanism,
                                                                layer=layer)
    shp, L = draw.shape, draw.layer
    n_dirs = (2 + len(draw.core_cond) + len(draw.diff_groups)
              + sum(len(g) for g in draw.diff_groups) + 2 * len(draw.spec_cond) + len(draw.consensus))
    if draw.n_planted > shp.d_mlp or n_dirs > shp.d_model:
        raise ValueError(f"{draw.n_planted} planted neurons / {n_dirs} directions do not fit in d_mlp={shp.d_mlp}, "
                         f"d_model={shp.d_model}")
    rng = np.random.default_rng([draw.seed, 17])
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    module, subject, inputs = _random_subject(draw, calibration_tokens)
    ids = torch.from_numpy(inputs)
    measured: dict[str, object] = {}
    gate = _gate_direction(draw, module, subject, inputs, ids, rng, gen, measured)
    xhat = mlp_inputs(subject, ids, L).cpu().double()  # [N, d_model], after any embedding change
    # orthonormal directions: the gate first, then fresh ones for every private / group direction
    extra = torch.randn(shp.d_model, n_dirs - 1, generator=gen, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.cat([gate[:, None], extra], 1))
    q = q * torch.sign(q[:, :1].T @ gate[:, None]).squeeze()  # keep the gate's sign on column 0
    rate = draw.exception_rate if draw.mechanism == "direction" else measured["class_share"]
    plans = _plans(draw, gate, q, xhat, float(rate))
    indices = [int(i) for i in rng.permutation(shp.d_mlp)[: len(plans)]]
    mlp = module.transformer.h[L].mlp
    _write_plans(mlp, plans, indices, xhat, q, draw.gain, gen)
    key = _key(L, plans, indices, len(draw.diff_groups))
    with torch.inference_mode():
        act = gelu_new(mlp.c_fc(xhat.float()))
    pos, ab = FIRE_POS(act).numpy(), FIRE_ABS(act).numpy()
    e = pos[:, key.indicator]
    measured["exception_rate"] = float(e.mean())
    measured["neurons"] = {
        n: {"role": role.split("/")[0], "target": target, "cond": float(pos[e, n].mean()),
            "rate": float((ab if role == "consensus" else pos)[:, n].mean())}
        for n, (role, _, _, target) in zip(indices, plans, strict=True)}
    return RandomPlanted(subject, key, draw, measured)


#: One planted neuron: ``(role, input direction, threshold on its projection, target rate)``.
Plan = tuple[str, torch.Tensor, float, float]


def _random_subject(draw: PlantDraw, calibration_tokens: int):
    """``(module, subject, calibration input ids int64 [W, n_ctx])`` of the draw's random model, before planting."""
    from nnsight import TransformersModel

    shp, L = draw.shape, draw.layer
    module = random_model(shp.config(), draw.seed)
    digest = hashlib.sha256(repr(draw).encode()).hexdigest()[:10]
    spec = PlantedSpec("tiny", f"random-planted-{shp.n_layers}L-at{L}-m{shp.d_mlp}-{draw.mechanism}-{digest}", None,
                       draw.seed, n_layers=shp.n_layers, layer=L)
    subject = Subject(TransformersModel(module, tokenizer=load_tokenizer()), spec)
    skip = discovery_corpus(shp).n_windows
    count = max(1, calibration_tokens // shp.n_ctx)
    return module, subject, calibration_windows(subject.tokenizer, shp, skip, count)


def _gate_direction(draw: PlantDraw, module, subject: Subject, inputs: np.ndarray, ids: torch.Tensor,
                    rng: np.random.Generator, gen: torch.Generator, measured: dict[str, object]) -> torch.Tensor:
    """The gate direction ``[d_model]``: a random one, or (``token_class``) a fresh zero-mean direction added to
    a random class of token types' embeddings (``measured`` gets the class's size and share)."""
    d = draw.shape.d_model
    if draw.mechanism != "token_class":
        return _unit(torch.randn(d, generator=gen, dtype=torch.float64))
    classes, covered = token_class(inputs, draw.exception_rate, rng)
    count = len(inputs)
    resid = resid_inputs(subject, ids[: max(1, count // 4)], draw.layer).double()
    e = torch.randn(d, generator=gen, dtype=torch.float64)
    e = _unit(e - e.mean())  # zero-mean across dimensions: ln_2's centring keeps it
    alpha = draw.class_strength * float(resid.norm(dim=1).median())
    with torch.no_grad():
        wte = module.transformer.wte.weight
        wte[torch.from_numpy(classes)] += (alpha * e).float()
    measured.update(class_types=len(classes), class_share=covered)
    return e


def _quantile(values: torch.Tensor, level: float) -> float:
    return float(np.quantile(values.numpy(), min(max(level, 0.0), 1.0)))


def _plans(draw: PlantDraw, gate: torch.Tensor, q: torch.Tensor, xhat: torch.Tensor, rate: float) -> list[Plan]:
    """Every planted neuron's :data:`Plan`, thresholds calibrated on ``xhat`` (indicator first)."""
    dirs = iter(q.T[1:])
    # the indicator: the gate with a little private noise
    w_ind = _unit(gate + draw.noise * next(dirs) * 0.5)
    s = xhat @ w_ind
    t_ind = _quantile(s, 1 - rate)
    exc = s > t_ind
    plans: list[Plan] = [("indicator", w_ind, t_ind, float(rate))]
    if draw.alike:
        plans.append(("alike", w_ind, t_ind, 1.0))

    def within(w: torch.Tensor, cond: float) -> float:
        # threshold under which ``cond`` of the exception tokens lie above (a hair below the minimum at 1.0)
        p = (xhat @ w)[exc]
        return _quantile(p, 1 - cond) - 1e-9 * float(p.std())

    for c, spread in zip(draw.core_cond, draw.core_spread, strict=True):
        plans.append(_core_plan(gate, next(dirs), c, min(float(rate) * spread, 0.95), xhat, within))
    for g, rates in enumerate(draw.diff_groups):
        v = next(dirs)
        for c in rates:
            w = _unit(gate + draw.tier_strength * v + 0.5 * draw.noise * next(dirs))
            plans.append((f"differentiator/{g}", w, within(w, c), c))
    for c in draw.spec_cond:
        w = _unit(gate + draw.tier_strength * next(dirs) + 0.5 * draw.noise * next(dirs))
        plans.append(("specialist", w, within(w, c), c))
    for r, anti in draw.consensus:
        w = _unit(next(dirs) - anti * gate)
        plans.append(("consensus", w, _quantile(xhat @ w, 1 - r), r))
    return plans


def _core_plan(gate: torch.Tensor, z: torch.Tensor, c: float, target: float, xhat: torch.Tensor, within) -> Plan:
    """A Core member covering ``c`` of the indicator's tokens and firing on ``target`` of all tokens, the extra
    ones chosen by its own private direction ``z`` (so the Core members spill independently and none of them
    is covered by the others): bisection on the weight of that direction."""
    def plan(eta: float) -> tuple[torch.Tensor, float, float]:
        w = _unit(gate + eta * z)
        t = within(w, c)
        return w, t, float(((xhat @ w) > t).double().mean())

    lo, hi = 0.0, 8.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if plan(mid)[2] < target else (lo, mid)
    w, t, _ = plan(hi)
    return ("core", w, t, c)


def _write_plans(mlp, plans: list[Plan], indices: list[int], xhat: torch.Tensor, q: torch.Tensor, gain: float,
                 gen: torch.Generator) -> None:
    """Write the planted neurons into ``mlp`` (input direction, bias, random output direction); background
    neurons lose every linear read of a planted direction (projected out in the input-covariance metric)."""
    x_theta = gelu_inverse(FIRE_POS.threshold)
    with torch.no_grad():
        w_in = mlp.c_fc.weight.double()  # [d_model, d_mlp], column n = neuron n
        centred = xhat - xhat.mean(0)
        cov = centred.T @ centred / len(xhat)
        basis, _ = torch.linalg.qr(cov @ q)  # q spans every planted input direction
        w_in = w_in - basis @ (basis.T @ w_in)  # background neurons: no linear read of any planted direction
        w_out = mlp.c_proj.weight.double()
        bias = mlp.c_fc.bias.double()
        out = torch.randn(len(plans), xhat.shape[1], generator=gen, dtype=torch.float64)
        out = out / out.norm(dim=1, keepdim=True)
        for n, (_, w, t, _), o in zip(indices, plans, out, strict=True):
            w_in[:, n] = gain * w
            bias[n] = x_theta - gain * t
            w_out[n] = o / gain
        mlp.c_fc.weight.copy_(w_in.float())
        mlp.c_fc.bias.copy_(bias.float())
        mlp.c_proj.weight.copy_(w_out.float())


def _key(layer: int, plans: list[Plan], indices: list[int], n_groups: int) -> HandlerKey:
    """The answer key of the planted neurons (the indicator and its copy both right answers)."""
    by_role: dict[str, list[int]] = {}
    for n, (role, *_rest) in zip(indices, plans, strict=True):
        by_role.setdefault(role, []).append(n)
    ind = by_role["indicator"][0]
    alike_set = (ind, *by_role.get("alike", []))
    groups = tuple(tuple(by_role[f"differentiator/{g}"]) for g in range(n_groups))
    return HandlerKey(layer, ind, alike_set, alike_set + tuple(by_role.get("core", [])),
                      tuple(n for grp in groups for n in grp), tuple(by_role.get("specialist", [])),
                      tuple(by_role["consensus"]), groups)


def key_json(key: HandlerKey) -> dict[str, object]:
    """The key as plain lists (for result files)."""
    return {k: [list(g) for g in v] if k == "groups" else (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(key).items()}




# ----------------------------------------------------------------------------------------------
# The recovery suite: discovery on many planted models, scored against their keys
# ----------------------------------------------------------------------------------------------

#: The construction the issue describes, on GPT-2 Small's shape: an indicator on 11 % of tokens, a Core at
#: >= 0.95 within its tokens, Differentiators and Specialists at 0.14-0.88, seven consensus neurons near 0.9.
ISSUE_RANGES = PlantRanges(exception_rate=(0.11, 0.11), tier_cond=(0.14, 0.88), n_consensus=(7, 7),
                           consensus_rate=(0.88, 0.92))
#: The seeds chapter 02 reports its failure rate on (never used while the procedure was designed).
CHAPTER_SEEDS: tuple[int, ...] = tuple(range(2000, 2024))
#: What a seed must achieve to count as recovered (the issue's bar).
MIN_CORE_PRECISION = 0.9
MIN_CORE_RECALL = 0.9


def planted_masks(planted: RandomPlanted, n_tokens: int = DISCOVERY_TOKENS, *,
                  cache: str | bool | None = False, tokens: bool = False) -> tuple[np.ndarray, ...]:
    """Firing masks of the planted layer on the discovery tokens, from the book's harvest pass:
    ``(signed rule bool [N, F], |GELU| bool [N, F], window id int [N])`` (and the token ids ``int [N]`` with
    ``tokens=True``)."""
    from darkness_visible.tracing.harvest import HarvestConfig, harvest

    H = harvest(planted.subject, discovery_corpus(planted, n_tokens),
                HarvestConfig(layer=planted.key.layer, rules=(FIRE_ABS, FIRE_POS), record=(), tiers=(), variants=()),
                cache=cache, progress=False)
    out = (H.mask(FIRE_POS), H.mask(FIRE_ABS), H.window_index)
    return (*out, np.asarray(H.arrays["input_ids"])) if tokens else out


def recover(planted: RandomPlanted, n_tokens: int = DISCOVERY_TOKENS, config=None) -> dict[str, object]:
    """Discovery on one planted model, scored: one flat row (the draw, the answer, precision/recall per role,
    ``passed`` = indicator found and Core precision and recall at least 0.9)."""
    import time

    from darkness_visible.discovery.discover import DiscoverConfig, discover, score_roles

    start = time.perf_counter()
    pos, ab, win, ids = planted_masks(planted, n_tokens, tokens=True)
    report = discover(pos, ab, win, config or DiscoverConfig(), tokens=ids)
    score = score_roles(report, planted.key).set_index("role")
    row: dict[str, object] = {**planted.draw.summary(), "n_tokens": int(pos.shape[0]),
                              "measured_rate": float(pos[:, planted.key.indicator].mean()),
                              "found": report.found, "indicator": report.indicator,
                              "indicator_ok": bool(score.loc["indicator", "hits"]),
                              "indicator_share": report.indicator_share, "n_warnings": len(report.warnings)}
    for role in ("core", "differentiator", "specialist", "consensus", "handler"):
        row[f"{role}_precision"] = float(score.loc[role, "precision"])
        row[f"{role}_recall"] = float(score.loc[role, "recall"])
        row[f"{role}_extras"] = int(score.loc[role, "extras"])
    row["passed"] = bool(row["indicator_ok"] and row["core_precision"] >= MIN_CORE_PRECISION
                         and row["core_recall"] >= MIN_CORE_RECALL)
    row["seconds"] = time.perf_counter() - start
    return row


def recovery_suite(seeds, ranges: PlantRanges = PlantRanges(), *, shape: Shape | None = None,
                   mechanism: Mechanism | None = None, layer: int | None = None,
                   n_tokens: int = DISCOVERY_TOKENS, config=None, progress: bool = False,
                   cache: str | Path | bool | None = None):
    """:func:`recover` on a freshly built planted model for every seed: a ``pandas.DataFrame``, one row per
    seed (``seconds``: building and recovery, when the row was computed).

    Each seed's row is cached (``cache`` as for the harvest: ``None`` = ``DV_CACHE``, ``False`` = none), keyed
    by everything it depends on: the seed, the ranges, the fixed choices, the token count, the discovery
    configuration and the source of the modules that plant and discover, so that editing the procedure
    recomputes it. A warm rebuild of chapter 02 thus reads the suite instead of building 24 models again.
    """
    import time

    import pandas as pd
    from tqdm import tqdm

    from darkness_visible.discovery import discover, planted
    from darkness_visible.io.cache import cached_json, source_digest
    from darkness_visible.tracing import firing, harvest

    code = source_digest(discover, firing, harvest, planted, sys.modules[__name__])
    fixed = {"ranges": asdict(ranges), "shape": None if shape is None else asdict(shape), "mechanism": mechanism,
             "layer": layer, "n_tokens": n_tokens, "config": None if config is None else asdict(config), "code": code}
    rows = []
    for seed in tqdm(list(seeds), desc="planted suite", disable=not progress):
        def compute(seed: int = int(seed)) -> dict[str, object]:
            start = time.perf_counter()
            row = recover(build_random_planted(seed, ranges, shape=shape, mechanism=mechanism, layer=layer),
                          n_tokens, config)
            row["seconds"] = time.perf_counter() - start
            return row

        rows.append(cached_json(cache, {"what": "planted recovery", "seed": int(seed), **fixed}, "planted", compute))
    return pd.DataFrame(rows)


def failure_rate(table) -> float:
    """Share of the suite's seeds that did not pass (indicator not found, or Core precision or recall < 0.9)."""
    return float(1.0 - table["passed"].mean()) if len(table) else float("nan")


__all__ = ["CHAPTER_SEEDS", "GPT2_SMALL_SHAPE", "ISSUE_RANGES", "MECHANISMS", "SMALL_SHAPES", "HandlerKey",
           "PlantDraw", "PlantRanges", "RandomPlanted", "Shape", "build_random_planted", "calibration_windows",
           "discovery_corpus", "draw_plant", "failure_rate", "key_json", "planted_masks", "recover",
           "recovery_suite", "token_class"]
