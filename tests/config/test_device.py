"""Device selection and batch sizing: the device-generic code, exercised on the CPU."""

from __future__ import annotations

import pytest
import torch

from darkness_visible.config.device import DeviceUnavailableError, batch_windows, device_setting, resolve_device
from darkness_visible.models.loading import load_model


def test_auto_picks_what_torch_sees(monkeypatch):
    monkeypatch.delenv("DV_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device().type == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"


def test_setting_precedence_and_clear_errors(monkeypatch):
    monkeypatch.setenv("DV_DEVICE", "CPU")
    assert device_setting() == "cpu" and resolve_device() == torch.device("cpu")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailableError, match="--device cpu"):
        resolve_device("cuda:0")
    with pytest.raises(DeviceUnavailableError, match="auto, cpu, cuda"):
        resolve_device("tpu")


def test_batch_windows_follow_free_memory():
    gpu, cpu = torch.device("cuda"), torch.device("cpu")
    assert batch_windows(gpu, 1 << 30, free=16 << 30) == 8  # capped
    assert batch_windows(gpu, 1 << 30, free=6 << 30) == 3  # half of 6 GiB
    assert batch_windows(gpu, 1 << 30, free=1 << 29) == 1  # never below one window
    assert batch_windows(cpu, 1 << 20, free=64 << 30) == 2  # a CPU gains nothing past two windows
    with pytest.raises(ValueError):
        batch_windows(cpu, 0)


def test_models_load_on_the_chosen_device_and_traces_follow():
    from darkness_visible.tracing.harvest import trace_batch

    subject = load_model("tiny", device="cpu")
    assert subject.device.type == "cpu"
    with torch.inference_mode():
        traced = trace_batch(subject, torch.tensor([[464, 3139, 286]]))
    assert traced.act.device == subject.device
