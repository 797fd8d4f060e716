"""A tiny GPT-2 with a PLANTED exception handler: ground truth for the discovery procedures.

Nobody knows the true routing structure of GPT-2, so a procedure that claims to *find* an exception
indicator and its tiers can only be tested where the answer is known. :func:`build_planted` takes a
small random GPT-2 (any depth, any layer) and rewrites the input weights (``c_fc``) of a handful of
neurons in one MLP so that they co-fire at chosen rates, mimicking the paper's three tiers:

``indicator`` (the "N2123" of the planted model)
    fires on a chosen fraction ``exception_rate`` of tokens: those whose MLP input ``x̂ = ln_2(resid_mid)``
    projects onto a secret direction ``u`` above a threshold ``t``.
``core`` (starts with the indicator, like the paper's Core starts with N2123)
    the same direction with slightly *lower* thresholds: each fires on a superset of the indicator's
    tokens, so its fire rate conditional on the exception path is 100 % and it co-fires with the
    indicator almost always.
``differentiators``
    read ``u + v`` for one shared second direction ``v``; thresholds are set so that each fires on a
    chosen fraction (``diff_rates``, 45-80 %) of exception tokens, and the group co-fires strongly.
``specialists``
    read ``u + w_k`` with a private direction ``w_k`` each; each fires on a small fraction
    (``spec_rates``, 12-25 %) of exception tokens and they do not co-fire with each other.

All other neurons keep their random weights, with the planted directions projected out (in the metric of
the input covariance, so they are linearly uncorrelated with the planted features on the calibration
tokens). Thresholds are calibrated on real WikiText tokens run through the model itself, so the stated
rates hold on that text (the measured rates are returned). Because only layer ``L``'s MLP is changed,
the MLP input at ``L`` is the same before and after planting: the calibration is exact.

Use::

    planted = build_planted(n_layers=3, layer=1)      # a middle layer of a 3-layer model
    planted.subject                                     # a Subject, usable with harvest(), like load_model()
    planted.truth.indicator, planted.truth.core         # the ground truth (core[0] == indicator)
    planted.truth.tiers                                 # {"core": ..., "differentiator": ..., "specialist": ...}

The model's :class:`PlantedSpec` has its own name (so harvest caches never mix it with ``tiny``) and says
"NOT GPT-2" in its description, like every random-weight model of the book.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from darkness_visible.data.corpus import CorpusSpec, token_stream, windows
from darkness_visible.models.loading import ModelSpec, Subject, load_tokenizer, random_model
from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, FiringRule, gelu_new


@dataclass(frozen=True)
class PlantedSpec(ModelSpec):
    """The model spec of a planted model: kind ``tiny`` (random weights), a descriptive name."""

    n_layers: int = 2
    layer: int = 1

    def describe(self) -> str:
        return (f"tiny {self.n_layers}-layer model with a handler planted at layer {self.layer} "
                f"(seed {self.seed}); NOT GPT-2")

    def key(self) -> dict[str, object]:
        return {**super().key(), "n_layers": self.n_layers, "planted_layer": self.layer}



@dataclass(frozen=True)
class RandomShapeSpec(ModelSpec):
    """The model spec of a random-weight model of a named shape (e.g. gpt2-medium's), nothing planted."""

    n_layers: int = 12
    shape_of: str = ""

    def describe(self) -> str:
        return f"random weights of {self.shape_of}'s shape ({self.n_layers} layers, seed {self.seed}); NOT GPT-2"

    def key(self) -> dict[str, object]:
        return {**super().key(), "n_layers": self.n_layers, "shape_of": self.shape_of}

@dataclass(frozen=True)
class PlantConfig:
    """What to plant and where.

    ``n_layers``/``layer``: depth of the model and the block whose MLP gets the handler (``None`` = last).
    ``exception_rate``: the indicator's fire rate. ``n_core``: Core size *including* the indicator.
    ``diff_rates`` / ``spec_rates``: each differentiator's / specialist's fire rate among exception tokens.
    ``gain``: slope of the planted pre-activations per unit of projection (large = sharp on/off).
    ``rule``: the firing rule the rates are designed for (the paper's exception path: ``FIRE_POS``).
    ``calibration_windows``: windows of ``n_ctx`` WikiText test tokens used to set the thresholds.
    """

    n_layers: int = 2
    layer: int | None = None
    d_model: int = 64
    d_mlp: int = 256
    n_head: int = 4
    n_ctx: int = 128
    exception_rate: float = 0.12
    n_core: int = 4
    core_margin: float = 0.15
    diff_rates: tuple[float, ...] = (0.8, 0.7, 0.6, 0.5, 0.45)
    spec_rates: tuple[float, ...] = (0.25, 0.18, 0.12)
    gain: float = 25.0
    out_norm: float = 1.0
    rule: FiringRule = FIRE_POS
    calibration_windows: int = 16
    seed: int = 0


@dataclass(frozen=True)
class PlantedHandler:
    """Ground truth of a planted handler.

    ``core`` starts with ``indicator``. ``target_rates``: design rates (``"exception"`` and each neuron's
    conditional rate); ``measured``: on the calibration tokens, per rule name, ``{"exception_rate": ...,
    "cond": {neuron: rate}, "rate": {neuron: rate}}``. ``directions``: the planted input directions
    ``[k, d_model]`` (rows: u, v, w_1..w_S).
    """

    layer: int
    rule: FiringRule
    indicator: int
    core: tuple[int, ...]
    differentiators: tuple[int, ...]
    specialists: tuple[int, ...]
    target_rates: dict[str, float] = field(default_factory=dict)
    measured: dict[str, dict] = field(default_factory=dict)
    directions: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def tiers(self) -> dict[str, tuple[int, ...]]:
        """The three tiers by name, in the shape of :data:`darkness_visible.data.neurons.HANDLER_TIERS`."""
        return {"core": self.core, "differentiator": self.differentiators, "specialist": self.specialists}

    @property
    def handler(self) -> tuple[int, ...]:
        """All planted neurons (Core + Differentiators + Specialists)."""
        return self.core + self.differentiators + self.specialists


@dataclass(frozen=True)
class PlantedModel:
    """A planted model: the :class:`~darkness_visible.models.loading.Subject` and its :class:`PlantedHandler`."""

    subject: Subject
    truth: PlantedHandler
    config: PlantConfig


def gelu_inverse(value: float) -> float:
    """The positive pre-activation ``x`` with ``gelu_new(x) = value`` (``value > 0``), by bisection."""
    from scipy.optimize import brentq

    if value <= 0:
        raise ValueError("gelu_inverse is defined here for positive values only")
    return float(brentq(lambda x: float(gelu_new(np.float64(x))) - value, 0.0, value + 10.0, xtol=1e-12))


def planted_config(cfg: PlantConfig):
    """The ``GPT2Config`` of the model to plant into (real vocabulary, small width)."""
    from transformers import GPT2Config

    return GPT2Config(vocab_size=50257, n_positions=cfg.n_ctx, n_embd=cfg.d_model, n_layer=cfg.n_layers,
                      n_head=cfg.n_head, n_inner=cfg.d_mlp, activation_function="gelu_new", layer_norm_epsilon=1e-5)


def mlp_inputs(subject: Subject, input_ids: torch.Tensor, layer: int) -> torch.Tensor:
    """``ln_2`` output at ``layer`` (the MLP input ``x̂``), one nnsight trace: ``[B*T, d_model]``."""
    with torch.inference_mode():
        with subject.model.trace(input_ids.to(subject.device)):
            xhat = subject.model.transformer.h[layer].ln_2.output.save()
        return xhat.reshape(-1, xhat.shape[-1]).clone()


def calibration_inputs(subject: Subject, n_windows: int, window: int) -> np.ndarray:
    """The first ``n_windows`` windows of the shipped WikiText test stream (DS-A order), ``int64 [n, window]``.

    Only the head of the text is tokenised (enough for the windows), which keeps building fast.
    """
    spec = CorpusSpec("test", n_windows, window, "local")
    stream, _ = token_stream(subject.tokenizer, spec)
    inputs, _ = windows(stream, spec)
    return inputs


def build_planted(config: PlantConfig | None = None, **overrides: object) -> PlantedModel:
    """Build a small GPT-2 with a planted handler (see the module docstring); keyword overrides of
    :class:`PlantConfig` are accepted, e.g. ``build_planted(n_layers=4, layer=2)``.

    Raises ``ValueError`` if the planted neurons do not fit in ``d_mlp`` or the rates are out of (0, 1).
    """
    from nnsight import TransformersModel

    cfg = config or PlantConfig()
    if overrides:
        cfg = PlantConfig(**{**cfg.__dict__, **overrides})
    n_planted = cfg.n_core + len(cfg.diff_rates) + len(cfg.spec_rates)
    n_dirs = 2 + len(cfg.spec_rates)
    if n_planted > cfg.d_mlp or n_dirs > cfg.d_model:
        raise ValueError(f"{n_planted} planted neurons / {n_dirs} directions do not fit in d_mlp={cfg.d_mlp}, "
                         f"d_model={cfg.d_model}")
    rates = (cfg.exception_rate, *cfg.diff_rates, *cfg.spec_rates)
    if not all(0 < r < 1 for r in rates):
        raise ValueError(f"all rates must lie in (0, 1), got {rates}")
    layer = cfg.n_layers - 1 if cfg.layer is None else (cfg.layer + cfg.n_layers if cfg.layer < 0 else cfg.layer)
    if not 0 <= layer < cfg.n_layers:
        raise IndexError(f"layer {cfg.layer} is out of range for a {cfg.n_layers}-layer model")

    module = random_model(planted_config(cfg), cfg.seed)
    import hashlib

    digest = hashlib.sha256(repr(cfg).encode()).hexdigest()[:10]  # every setting, so caches never mix models
    spec = PlantedSpec("tiny", f"planted-{cfg.n_layers}L-at{layer}-d{cfg.d_mlp}-{digest}", None, cfg.seed,
                       n_layers=cfg.n_layers, layer=layer)
    subject = Subject(TransformersModel(module, tokenizer=load_tokenizer()), spec)

    inputs = calibration_inputs(subject, cfg.calibration_windows, cfg.n_ctx)
    xhat = mlp_inputs(subject, torch.from_numpy(inputs), layer).double()  # [N, d_model]

    rng = np.random.default_rng(cfg.seed + 7919)
    directions, _ = np.linalg.qr(rng.standard_normal((cfg.d_model, n_dirs)))
    dirs = torch.from_numpy(directions.T.copy())  # [n_dirs, d_model], orthonormal rows: u, v, w_1..
    plans = _tier_plans(cfg, xhat, dirs)
    picks = rng.permutation(cfg.d_mlp)[:n_planted]
    indices = [int(i) for i in picks]
    mlp = module.transformer.h[layer].mlp
    _write_tiers(mlp, cfg, plans, indices, xhat, dirs, rng)

    n_d = len(cfg.diff_rates)
    core = tuple(indices[: cfg.n_core])
    diffs = tuple(indices[cfg.n_core: cfg.n_core + n_d])
    specs = tuple(indices[cfg.n_core + n_d:])
    target = {"exception": cfg.exception_rate}
    target.update({f"N{n}": 1.0 for n in core})
    target.update({f"N{n}": r for n, r in zip(diffs, cfg.diff_rates, strict=True)})
    target.update({f"N{n}": r for n, r in zip(specs, cfg.spec_rates, strict=True)})
    with torch.inference_mode():
        act = gelu_new(mlp.c_fc(xhat.float()))
    measured = {}
    for rule in (FIRE_POS, FIRE_ABS):
        fires = rule(act).cpu().numpy()
        e = fires[:, core[0]]
        measured[rule.name] = {
            "exception_rate": float(e.mean()),
            "cond": {n: float(fires[e, n].mean()) for n in indices},
            "rate": {n: float(fires[:, n].mean()) for n in indices},
        }
    truth = PlantedHandler(layer, cfg.rule, core[0], core, diffs, specs, target, measured, directions.T.copy())
    return PlantedModel(subject, truth, cfg)


def _tier_plans(cfg: PlantConfig, xhat: torch.Tensor, dirs: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
    """``(input direction, threshold on the projection)`` for every planted neuron, in tier order, the
    thresholds calibrated on ``xhat`` (``dirs``: the orthonormal rows ``u, v, w_1..``)."""
    proj = xhat @ dirs.T  # [N, n_dirs]
    s_u, s_v, s_w = proj[:, 0], proj[:, 1], proj[:, 2:]

    def quantile(values: torch.Tensor, q: float) -> float:
        return float(np.quantile(values.cpu().numpy(), q))

    t_exc = quantile(s_u, 1 - cfg.exception_rate)
    exc = s_u > t_exc
    plans: list[tuple[torch.Tensor, float]] = []
    for j in range(cfg.n_core):
        plans.append((dirs[0], t_exc - cfg.core_margin * j / max(cfg.n_core - 1, 1)))
    for r in cfg.diff_rates:
        plans.append((dirs[0] + dirs[1], quantile((s_u + s_v)[exc], 1 - r)))
    for k, r in enumerate(cfg.spec_rates):
        plans.append((dirs[0] + dirs[2 + k], quantile((s_u + s_w[:, k])[exc], 1 - r)))
    return plans


def _write_tiers(mlp, cfg: PlantConfig, plans: list[tuple[torch.Tensor, float]], indices: list[int],
                 xhat: torch.Tensor, dirs: torch.Tensor, rng: np.random.Generator) -> None:
    """Write the planted neurons into ``mlp`` (random output directions of norm ``out_norm``); background
    neurons lose the planted features in the input-covariance metric."""
    x_theta = gelu_inverse(cfg.rule.threshold)
    n_planted = len(plans)
    with torch.no_grad():
        w_in = mlp.c_fc.weight.double()  # [d_model, d_mlp] (Conv1D layout: column n = neuron n)
        # background neurons: remove the planted features in the input-covariance metric
        centred = xhat - xhat.mean(0)
        cov = centred.T @ centred / len(xhat)
        sigma_dirs = cov @ dirs.T  # [d_model, n_dirs]
        q, _ = torch.linalg.qr(sigma_dirs)
        w_in = w_in - q @ (q.T @ w_in)
        out_dirs = torch.from_numpy(rng.standard_normal((n_planted, cfg.d_model)))
        out_dirs = out_dirs / out_dirs.norm(dim=1, keepdim=True)
        w_out = mlp.c_proj.weight.double()
        for n, (direction, threshold), out in zip(indices, plans, out_dirs, strict=True):
            w_in[:, n] = cfg.gain * direction
            mlp.c_fc.bias[n] = float(x_theta - cfg.gain * threshold)
            w_out[n] = out * cfg.out_norm / cfg.gain
        mlp.c_fc.weight.copy_(w_in.float())
        mlp.c_proj.weight.copy_(w_out.float())


def planted_harvest_config(planted: PlantedModel, **overrides: object):
    """A :class:`~darkness_visible.tracing.harvest.HarvestConfig` that records the planted neurons and tiers
    (with tier ablation variants when the handler sits in the last block, where re-unembedding is exact)."""
    from darkness_visible.tracing.harvest import HarvestConfig, Variant

    t = planted.truth
    last = t.layer == planted.subject.n_layers - 1
    variants: tuple[Variant, ...] = (Variant("no_mlp", whole_mlp=True),)
    if last:
        variants += tuple(Variant(f"no_{name}", zero=members) for name, members in t.tiers.items())
        variants += (Variant("no_handler", zero=t.handler),)
    variants += (Variant("lens_prev_block", lens_prev_block=True),)
    base: dict[str, object] = dict(layer=t.layer, record=t.handler, tiers=tuple(t.tiers.items()),
                                   variants=variants if last else ())
    base.update(overrides)
    return HarvestConfig(**base)


__all__ = ["PlantConfig", "PlantedHandler", "PlantedModel", "PlantedSpec", "build_planted", "calibration_inputs",
           "gelu_inverse", "mlp_inputs", "planted_config", "planted_harvest_config"]
