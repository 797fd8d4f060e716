"""A second, independent planted construction: held-out ground truth for the discovery procedure.

:mod:`~darkness_visible.discovery.planted` and :mod:`~darkness_visible.discovery.planted_random` share one idea
(thresholds on a gate direction, calibrated on the nnsight trace of the MLP input). This module builds its handlers
by another route, written separately, from the public description of the paper's layer 11 (paper-claims §2, E1):

* **code path**: the MLP input ``x̂ = ln_2(resid_mid)`` at the planted block is read with a plain PyTorch forward
  hook, and every planted direction is drawn in *whitened* coordinates (the eigenbasis of ``x̂``'s covariance
  restricted to its non-null part), so each planted projection has unit variance and the projections are
  uncorrelated on the calibration tokens;
* **noise model**: instead of a private direction per neuron, the planted neurons share a small *nuisance
  subspace* (three whitened directions) and each mixes in its own random combination of it, so the noise is
  correlated *across* planted neurons; the gate's own readout also carries it;
* **roles**: an indicator and a Core that co-fire (Core conditional rates 0.94-1, total rates 1.1-2.5 times the
  indicator's), ten Differentiators in five co-firing pairs (each pair on its own direction) firing on
  decreasing shares of the exception tokens, the top two drawn close to the Core bound (0.78-0.86), five
  Specialists on five other directions (0.14-0.37), and seven consensus neurons default-ON under
  ``|GELU| > 0.1`` (85-95 % of tokens) and silent where the gate is open;
* **where**: at random indices, or at the paper's own indices (§2: N2123, its Core, Differentiators, Specialists
  and consensus, in a 3,072-wide MLP); several MLP widths; the handler in the last block or in a middle block
  with random blocks after it. The planted neurons *write* to the residual stream with a drawn strength (in
  units of the median residual norm), so the random blocks after a middle plant read a changed stream: the
  setting where a discovery can mistake an echo for a handler.

Thresholds are set on windows of the shipped WikiText test stream after the ones a discovery reads
(:func:`alt_corpus`). The answer key is a :class:`~darkness_visible.discovery.discover.HandlerKey`.

Use::

    planted = build_alt_planted(3, where="middle")            # seed 3
    planted.subject, planted.key                               # a Subject, the key (layer, roles)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from darkness_visible.discovery.discover import HandlerKey

Where = Literal["last", "middle"]

#: ``(n_layers, d_model, d_mlp)`` of the models drawn from (several MLP widths; GPT-2's context is not needed).
ALT_SHAPES: tuple[tuple[int, int, int], ...] = ((3, 48, 256), (4, 64, 512), (4, 64, 1024), (5, 64, 2048))
#: The shape used at the paper's indices (the indices need a 3,072-wide MLP).
PAPER_SHAPE: tuple[int, int, int] = (4, 64, 3072)
N_CTX = 128
#: Windows of ``N_CTX`` tokens a discovery reads (4,096 tokens) and the calibration windows after them.
DISCOVERY_WINDOWS = 32
CALIBRATION_WINDOWS = 32


@dataclass(frozen=True)
class AltDraw:
    """Everything one seed decided."""

    seed: int
    shape: tuple[int, int, int]
    layer: int
    paper_indices: bool
    exception_rate: float
    core_cond: tuple[float, ...]
    core_spread: tuple[float, ...]
    diff_cond: tuple[float, ...]
    spec_cond: tuple[float, ...]
    consensus_rate: tuple[float, ...]
    noise: float
    gain: float
    write: float

    def summary(self) -> dict[str, object]:
        n_layers, d_model, d_mlp = self.shape
        return {"seed": self.seed, "shape": f"{n_layers}L-d{d_model}-m{d_mlp}", "layer": self.layer,
                "n_layers": n_layers, "d_mlp": d_mlp, "paper_indices": self.paper_indices,
                "exception_rate": round(self.exception_rate, 4), "top_diff": round(max(self.diff_cond), 3),
                "noise": round(self.noise, 3), "gain": round(self.gain, 2), "write": round(self.write, 2)}


def draw_alt(seed: int, *, where: Where = "middle", paper_indices: bool = False) -> AltDraw:
    """Draw one construction with ``numpy.random.default_rng([seed, 24])``."""
    rng = np.random.default_rng([seed, 24])
    shape = PAPER_SHAPE if paper_indices else ALT_SHAPES[int(rng.integers(len(ALT_SHAPES)))]
    n_layers = shape[0]
    layer = n_layers - 1 if where == "last" else int(rng.integers(1, n_layers - 1))
    top = np.sort(rng.uniform(0.78, 0.86, 2))[::-1]
    rest = np.sort(rng.uniform(0.35, 0.78, 8))[::-1]
    return AltDraw(
        seed=seed, shape=shape, layer=layer, paper_indices=paper_indices,
        exception_rate=float(rng.uniform(0.06, 0.15)),
        core_cond=tuple(float(c) for c in rng.uniform(0.94, 1.0, 4)),
        core_spread=tuple(float(c) for c in rng.uniform(1.1, 2.5, 4)),
        diff_cond=tuple(float(c) for c in np.concatenate([top, rest])),
        spec_cond=tuple(float(c) for c in np.sort(rng.uniform(0.14, 0.37, 5))[::-1]),
        consensus_rate=tuple(float(c) for c in rng.uniform(0.85, 0.95, 7)),
        noise=float(rng.uniform(0.05, 0.35)), gain=float(np.exp(rng.uniform(np.log(6), np.log(30)))),
        write=float(rng.uniform(0.5, 2.0)))


@dataclass(frozen=True)
class AltPlanted:
    """A model with a handler of this construction: the subject, the key and the draw."""

    subject: object
    key: HandlerKey
    draw: AltDraw
    measured: dict[str, object] = field(default_factory=dict, compare=False)


def alt_corpus(n_windows: int = DISCOVERY_WINDOWS):
    """The windows a discovery reads on these models (the first of the shipped test stream)."""
    from darkness_visible.data.corpus import CorpusSpec

    return CorpusSpec("test", n_windows, N_CTX, "local")


def _calibration_ids(tokenizer, skip: int, count: int) -> torch.Tensor:
    from darkness_visible.data.corpus import CorpusSpec, token_stream, windows

    spec = CorpusSpec("test", skip + count, N_CTX, "local")
    stream, _ = token_stream(tokenizer, spec)
    inputs, _ = windows(stream, spec)
    return torch.from_numpy(np.asarray(inputs[skip:], dtype=np.int64))


def _hooked(module, ids: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ln_2 output, ln_2 input)`` at ``layer`` with a forward hook (no nnsight): ``[N, d_model]`` each."""
    got: dict[str, torch.Tensor] = {}

    def hook(_mod, inputs, output):
        got["out"], got["in"] = output.detach(), inputs[0].detach()

    handle = module.transformer.h[layer].ln_2.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            module(ids)
    finally:
        handle.remove()
    d = got["out"].shape[-1]
    return got["out"].reshape(-1, d).double(), got["in"].reshape(-1, d).double()


def paper_roles() -> dict[str, tuple[int, ...]]:
    """The paper's §2 indices by role (the indicator first in ``core``)."""
    from darkness_visible.data.neurons import CONSENSUS, CORE, DIFFERENTIATORS, EXCEPTION_NEURON, SPECIALISTS

    core = (EXCEPTION_NEURON,) + tuple(n for n in CORE if n != EXCEPTION_NEURON)
    return {"core": core, "differentiator": tuple(DIFFERENTIATORS), "specialist": tuple(SPECIALISTS),
            "consensus": tuple(CONSENSUS)}


def build_alt_planted(seed: int | AltDraw, *, where: Where = "middle", paper_indices: bool = False,
                      plant: bool = True) -> AltPlanted:
    """Build the model of :func:`draw_alt` (``plant=False``: the same random model, nothing planted, and an
    empty key: the negative control)."""
    from nnsight import TransformersModel
    from transformers import GPT2Config

    from darkness_visible.discovery.planted import PlantedSpec
    from darkness_visible.models.loading import Subject, load_tokenizer, random_model
    from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS, gelu_new

    draw = seed if isinstance(seed, AltDraw) else draw_alt(seed, where=where, paper_indices=paper_indices)
    n_layers, d_model, d_mlp = draw.shape
    L = draw.layer
    config = GPT2Config(vocab_size=50257, n_positions=N_CTX, n_embd=d_model, n_layer=n_layers, n_head=4,
                        n_inner=d_mlp, activation_function="gelu_new", layer_norm_epsilon=1e-5)
    module = random_model(config, 7000 + draw.seed)
    digest = hashlib.sha256(repr((draw, plant)).encode()).hexdigest()[:10]
    spec = PlantedSpec("tiny", f"alt-planted-{n_layers}L-at{L}-m{d_mlp}-{'p' if plant else 'r'}-{digest}", None,
                       draw.seed, n_layers=n_layers, layer=L)
    tokenizer = load_tokenizer()
    subject = Subject(TransformersModel(module, tokenizer=tokenizer), spec)
    if not plant:
        return AltPlanted(subject, HandlerKey(L, -1, (), (), (), (), ()), draw)

    rng = np.random.default_rng([draw.seed, 25])
    ids = _calibration_ids(tokenizer, DISCOVERY_WINDOWS, CALIBRATION_WINDOWS)
    xhat, resid = _hooked(module, ids, L)
    w = _whitening(xhat)
    n_dirs = 1 + 3 + 5 + 5 + 4 + 7     # gate, nuisance, diff pairs, specialists, core spill, consensus
    if n_dirs > w.rank:
        raise ValueError(f"{n_dirs} planted directions do not fit in a {w.rank}-dimensional MLP input")
    Q, _ = np.linalg.qr(rng.standard_normal((w.rank, n_dirs)))
    Q = torch.from_numpy(Q)
    plans = _alt_plans(draw, Q, w.centred @ w.white, rng)
    if draw.paper_indices:
        roles = paper_roles()
        indices = list(roles["core"] + roles["differentiator"] + roles["specialist"] + roles["consensus"])
    else:
        indices = [int(i) for i in rng.permutation(d_mlp)[: len(plans)]]
    mlp = module.transformer.h[L].mlp
    _write_alt(mlp, plans, indices, w, Q, float(resid.norm(dim=1).median()) * draw.write, draw.gain, rng)

    by_role: dict[str, list[int]] = {}
    for n, (role, *_rest) in zip(indices, plans, strict=True):
        by_role.setdefault(role, []).append(n)
    groups = tuple(tuple(by_role[f"differentiator/{g}"]) for g in range(5))
    core = tuple(by_role["core"])
    key = HandlerKey(L, core[0], (core[0],), core, tuple(n for g in groups for n in g), tuple(by_role["specialist"]),
                     tuple(by_role["consensus"]), groups)
    with torch.inference_mode():
        act = gelu_new(mlp.c_fc(xhat.float()))
    pos, ab = FIRE_POS(act).numpy(), FIRE_ABS(act).numpy()
    e = pos[:, core[0]]
    measured = {"exception_rate": float(e.mean()),
                "cond": {int(n): float(pos[e, n].mean()) for n in indices},
                "consensus_rate": {int(n): float(ab[:, n].mean()) for n in key.consensus}}
    return AltPlanted(subject, key, draw, measured)


@dataclass(frozen=True)
class Whitening:
    """The whitened coordinates of the MLP input: ``white [d_model, r]`` maps centred ``x̂`` to unit-variance,
    uncorrelated coordinates; ``cov``, ``mean`` and ``centred`` are ``x̂``'s."""

    white: torch.Tensor
    cov: torch.Tensor
    mean: torch.Tensor
    centred: torch.Tensor

    @property
    def rank(self) -> int:
        return int(self.white.shape[1])


def _whitening(xhat: torch.Tensor) -> Whitening:
    """The eigenbasis of ``x̂``'s covariance, restricted to its non-null part (ln_2 centres its input)."""
    centred = xhat - xhat.mean(0)
    cov = centred.T @ centred / len(xhat)
    evals, evecs = torch.linalg.eigh(cov)
    keep = evals > evals.max() * 1e-6
    return Whitening(evecs[:, keep] / evals[keep].sqrt(), cov, xhat.mean(0), centred)


def _q(values: torch.Tensor, level: float) -> float:
    return float(np.quantile(values.numpy(), min(max(level, 0.0), 1.0)))


def _alt_plans(draw: AltDraw, Q: torch.Tensor, z: torch.Tensor,
               rng: np.random.Generator) -> list[tuple[str, torch.Tensor, float]]:
    """Every planted neuron as ``(role, whitened read direction, threshold on its projection)``, indicator first;
    ``z``: the whitened calibration tokens ``[N, r]``; ``Q``: the orthonormal planted directions."""
    gate, nuisance = Q[:, 0], Q[:, 1:4]
    pairs, specs, spill, cons = Q[:, 4:9], Q[:, 9:14], Q[:, 14:18], Q[:, 18:25]

    def noisy(direction: torch.Tensor) -> torch.Tensor:
        mix = torch.from_numpy(rng.standard_normal(3))
        v = direction + draw.noise * (nuisance @ (mix / mix.norm()))
        return v / v.norm()

    plans: list[tuple[str, torch.Tensor, float]] = []
    w_ind = noisy(gate)
    s_ind = z @ w_ind
    t_ind = _q(s_ind, 1 - draw.exception_rate)
    exc = s_ind > t_ind
    plans.append(("core", w_ind, t_ind))
    for k, (cond, spread) in enumerate(zip(draw.core_cond, draw.core_spread, strict=True)):
        plans.append(_alt_core(noisy(gate), spill[:, k], cond, draw.exception_rate * spread, z, exc))
    for j, cond in enumerate(draw.diff_cond):
        v = noisy(gate) + 0.6 * pairs[:, j // 2]
        v = v / v.norm()
        plans.append((f"differentiator/{j // 2}", v, _q((z @ v)[exc], 1 - cond)))
    for j, cond in enumerate(draw.spec_cond):
        v = noisy(gate) + float(rng.uniform(0.5, 1.2)) * specs[:, j]
        v = v / v.norm()
        plans.append(("specialist", v, _q((z @ v)[exc], 1 - cond)))
    for j, rate in enumerate(draw.consensus_rate):
        v = -gate + 0.3 * cons[:, j]
        v = v / v.norm()
        plans.append(("consensus", v, _q(z @ v, 1 - rate)))
    return plans


def _alt_core(base: torch.Tensor, spill: torch.Tensor, cond: float, target: float, z: torch.Tensor,
              exc: torch.Tensor) -> tuple[str, torch.Tensor, float]:
    """A Core member: covers ``cond`` of the exception tokens; the spill (up to ``target`` of all tokens) comes
    from a weight on its own spill direction, found by bisection."""
    def member(eta: float):
        v = base + eta * spill
        v = v / v.norm()
        p = z @ v
        t = _q(p[exc], 1 - cond) - 1e-9
        return v, t, float((p > t).double().mean())

    lo, hi = 0.0, 6.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if member(mid)[2] < target else (lo, mid)
    v, t, _ = member(hi)
    return ("core", v, t)


def _write_alt(mlp, plans: list[tuple[str, torch.Tensor, float]], indices: list[int], w: Whitening,
               Q: torch.Tensor, scale: float, gain: float, rng: np.random.Generator) -> None:
    """Write the planted neurons into ``mlp``: read direction and bias from the whitened plan, an output of
    norm ``scale`` shared over them; background neurons uncorrelated with every planted projection."""
    from darkness_visible.discovery.planted import gelu_inverse
    from darkness_visible.tracing.firing import FIRE_POS

    x_theta = gelu_inverse(FIRE_POS.threshold)
    planted_read = w.white @ Q           # [d_model, n_dirs]: the x̂ directions of every planted projection
    with torch.no_grad():
        w_in = mlp.c_fc.weight.double()
        bias = mlp.c_fc.bias.double()
        # background neurons: their pre-activations uncorrelated with every planted projection (whitened metric)
        basis, _ = torch.linalg.qr(w.cov @ planted_read)
        w_in = w_in - basis @ (basis.T @ w_in)
        w_out = mlp.c_proj.weight.double()
        outs = torch.from_numpy(rng.standard_normal((len(plans), w_in.shape[0])))
        outs = outs / outs.norm(dim=1, keepdim=True)
        for n, (_role, v, t), o in zip(indices, plans, outs, strict=True):
            read = w.white @ v               # x̂ direction whose projection (after centring) is z @ v
            w_in[:, n] = gain * read
            # pre = gain (z·v - t) + x_theta, with z = (x̂ - mean) @ white
            bias[n] = x_theta - gain * (t + float(w.mean @ read))
            w_out[n] = o * scale / gain / len(plans) ** 0.5
        mlp.c_fc.weight.copy_(w_in.float())
        mlp.c_fc.bias.copy_(bias.float())
        mlp.c_proj.weight.copy_(w_out.float())


__all__ = ["ALT_SHAPES", "PAPER_SHAPE", "AltDraw", "AltPlanted", "alt_corpus", "build_alt_planted", "draw_alt",
           "paper_roles"]
