"""Where the model runs: CUDA, Apple MPS or the CPU, chosen once, and how many windows fit in a batch.

``DV_DEVICE`` (``--device``, ``replication: {device: ...}`` in ``_config.yml``) takes ``auto`` (default:
CUDA if present, else MPS, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. Every pass keeps its
per-token reductions on the device and moves only the reduced arrays (masks, scalars per token) to the
CPU. Results do not depend on the device beyond float rounding.
"""

from __future__ import annotations

import torch

from darkness_visible.config.settings import setting
from darkness_visible.errors import DVUserError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceUnavailableError(DVUserError, RuntimeError):
    """The requested device does not exist on this machine."""


def device_setting(explicit: str | None = None) -> str:
    """The device setting as written: ``explicit`` > ``$DV_DEVICE`` > ``_config.yml`` > ``auto``."""
    return str(setting("device", "DV_DEVICE", explicit, "auto")).strip().lower()


def resolve_device(explicit: str | torch.device | None = None) -> torch.device:
    """The ``torch.device`` to use; ``auto`` picks CUDA, then MPS, then the CPU.

    Raises:
        DeviceUnavailableError: naming the fix, when e.g. ``cuda`` is asked for on a machine without it.
    """
    if isinstance(explicit, torch.device):
        return explicit
    name = device_setting(explicit)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise DeviceUnavailableError(f"unknown device {name!r}: use one of auto, cpu, cuda, cuda:N, mps "
                                     "(DV_DEVICE or --device)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {name!r} (DV_DEVICE or --device) asks for CUDA but torch sees no "
                                     "CUDA GPU here; use --device cpu "
                                     "or auto (on Colab: Runtime > Change runtime type > GPU)")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceUnavailableError(f"device {name!r} (DV_DEVICE or --device) asks for Apple MPS but it is not "
                                     "available; use --device cpu or auto")
    try:
        return torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceUnavailableError(f"unknown device {name!r}: use one of auto, cpu, cuda, cuda:N, mps "
                                     "(DV_DEVICE or --device)") from None


def free_memory_bytes(device: torch.device) -> int:
    """Memory free for new tensors on ``device`` (CUDA: driver's free memory; CPU/MPS: available RAM)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
    return int(pages * os.sysconf("SC_PAGE_SIZE")) if pages else 4 << 30


def batch_windows(device: torch.device, bytes_per_window: int, *, cap: int = 8, share: float = 0.5,
                  free: int | None = None) -> int:
    """How many windows to run at once: as many as fit in ``share`` of the free memory, 1 to ``cap``.

    On the CPU more than two windows per batch buys nothing (the matrix products are already large), so
    the CPU is capped at 2; a GPU gets up to ``cap``.
    """
    if bytes_per_window <= 0:
        raise ValueError(f"bytes_per_window must be positive, got {bytes_per_window}")
    free = free_memory_bytes(device) if free is None else free
    fit = int(free * share) // bytes_per_window
    limit = cap if device.type in ("cuda", "mps") else min(cap, 2)
    return max(1, min(limit, fit))
