"""What "a neuron fires" means, made explicit.

The paper mixes two rules (paper-claims §3): ``|GELU(x)| > θ`` (FIRE-ABS: consensus counting, the
crossover, garden path, controls, cross-layer) and signed ``GELU(x) > θ`` (FIRE-POS: the exception path,
the tiers, the predecessor paper). Both are a :class:`FiringRule`; no function here hides a threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from darkness_visible.errors import SettingError


@dataclass(frozen=True)
class FiringRule:
    """A firing rule: ``GELU > threshold`` if ``signed`` else ``|GELU| > threshold``."""

    threshold: float = 0.1
    signed: bool = False

    def __post_init__(self) -> None:
        try:
            value = float(self.threshold)
        except (TypeError, ValueError):
            raise SettingError(f"firing threshold must be a number, got {self.threshold!r}") from None
        if not math.isfinite(value):
            raise SettingError(f"firing threshold must be a finite number, got {value!r}: use e.g. 0.1 "
                               "(a NaN or infinite threshold would silently make no neuron fire)")
        object.__setattr__(self, "threshold", value)

    @property
    def name(self) -> str:
        """Exact, stable name, e.g. ``"abs>0.1"`` or ``"pos>0.1"``; used as a cache and column key.

        The threshold is written with ``repr``, the shortest text that reads back as the same float, so two
        different thresholds never share a name (``:g`` would merge those that differ past 6 digits).
        """
        return f"{'pos' if self.signed else 'abs'}>{self.threshold!r}"

    @property
    def description(self) -> str:
        """Human-readable rule for figure captions."""
        return f"GELU > {self.threshold:g}" if self.signed else f"|GELU| > {self.threshold:g}"

    def __call__(self, post_gelu: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """Boolean mask of the same shape as ``post_gelu`` (post-activation values)."""
        if self.signed:
            return post_gelu > self.threshold
        return abs(post_gelu) > self.threshold


#: ``|GELU| > 0.1``: consensus counting, crossover, garden path, controls, cross-layer survey.
FIRE_ABS = FiringRule(0.1, signed=False)
#: ``GELU > 0.1``: the exception path (N2123's 11.3 %), tier statistics, the predecessor paper.
FIRE_POS = FiringRule(0.1, signed=True)
#: Named presets, as the paper-claims document names them.
PRESETS: dict[str, FiringRule] = {"FIRE-ABS": FIRE_ABS, "FIRE-POS": FIRE_POS}


def rule(spec: str | FiringRule) -> FiringRule:
    """A rule from a preset name (``"FIRE-ABS"``), a rule name (``"pos>0.1"``) or a rule."""
    if isinstance(spec, FiringRule):
        return spec
    if spec in PRESETS:
        return PRESETS[spec]
    try:
        kind, value = spec.split(">")
        if kind not in ("abs", "pos"):
            raise ValueError
        threshold = float(value)
    except ValueError:
        raise SettingError(
            f"unknown firing rule {spec!r}: use one of {sorted(PRESETS)} or 'abs>θ' / 'pos>θ'"
        ) from None
    return FiringRule(threshold, signed=kind == "pos")


def gelu_new(x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """GPT-2's tanh-approximate GELU, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    lib = torch if isinstance(x, torch.Tensor) else np
    return 0.5 * x * (1.0 + lib.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def pack(mask: np.ndarray) -> np.ndarray:
    """Bit-pack a boolean ``[N, F]`` mask along the last axis into ``[N, ceil(F/8)]`` uint8."""
    return np.packbits(np.asarray(mask, dtype=bool), axis=-1)


def unpack(packed: np.ndarray, n_neurons: int, columns: list[int] | tuple[int, ...] | None = None) -> np.ndarray:
    """Inverse of :func:`pack`: boolean ``[N, n_neurons]`` (or ``[N, len(columns)]``)."""
    if columns is None:
        return np.unpackbits(packed, axis=-1, count=n_neurons).astype(bool)
    cols = np.asarray(columns, dtype=np.int64)
    byte = packed[:, cols // 8]
    return ((byte >> (7 - (cols % 8)).astype(np.uint8)) & 1).astype(bool)
