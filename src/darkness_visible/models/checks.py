"""Checks that run before any heavy work: is this checkpoint usable, and can this run start at all?

:func:`check_checkpoint` reads a checkpoint's ``config.json`` (never its weights) and the headers of its
weight files, and refuses, in one line naming the fix, what would otherwise fail later with a traceback:
an invalid ``config.json``, an architecture outside the GPT-2 family, a vocabulary smaller than the GPT-2
tokenizer's, a context too short for the run, and corrupt, truncated or empty weight files.

:func:`preflight` is what the book build (``book/_ext/preflight.py``) and the chapter commands call before
starting a kernel: it resolves every setting (reading ``_config.yml``), checks that the model can be had and
passes :func:`check_checkpoint`, that the corpus can be read and that the cache folder is writable.
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darkness_visible.errors import CheckpointError, ContextLengthError, CorpusError, one_line
from darkness_visible.io import hub

#: What :func:`check_config` accepts, for messages.
SUPPORTED_FAMILIES = (
    "the GPT-2 family (config model_type 'gpt2'): openai-community/gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
    "distilbert/distilgpt2, or a folder saved from one of them"
)
#: Tokens in the GPT-2 tokenizer shipped with the package; a model must embed every one of them.
TOKENIZER_VOCAB = 50257
#: The paper's window; chapters use ``min(PAPER_WINDOW, n_ctx)``.
PAPER_WINDOW = 1024
#: A model must see at least a token and its successor.
MIN_CONTEXT = 2


@dataclass(frozen=True)
class CheckpointInfo:
    """The shape of a GPT-2-family checkpoint, from its configuration."""

    n_layers: int
    n_ctx: int
    vocab_size: int
    d_model: int
    n_head: int
    d_mlp: int

    @property
    def window(self) -> int:
        """The corpus window chapters use on this model: the paper's 1,024 tokens, or the context if shorter."""
        return min(PAPER_WINDOW, self.n_ctx)


def note_skip(message: str) -> None:
    """Say, in one printed line, what a chapter skips on this model and why (printed: the book keeps stdout)."""
    print(f"skipped: {message}", flush=True)


def default_window(n_ctx: int) -> int:
    """``min(1024, n_ctx)``: the window length a chapter uses on a model with context ``n_ctx``."""
    return min(PAPER_WINDOW, int(n_ctx))


def read_config(folder: Path) -> dict[str, Any]:
    """A checkpoint folder's ``config.json`` as a dict; :class:`CheckpointError` if it is not valid JSON."""
    path = Path(folder) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}): re-save the "
            "checkpoint with model.save_pretrained(folder), or restore config.json from where it came from"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"cannot read {path} ({error}): restore config.json in that folder") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a JSON {type(data).__name__}, not a model configuration object: "
                              "re-save the checkpoint with model.save_pretrained(folder)")
    return data


def _positive(config: dict[str, Any], key: str, default: int, where: str) -> int:
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointError(f"{where}: config.json has {key} = {value!r}, not a positive whole number: "
                              "re-save the checkpoint with model.save_pretrained(folder)")
    return value


def check_config(config: dict[str, Any], where: str, min_context: int = MIN_CONTEXT) -> CheckpointInfo:
    """Check a model configuration (a ``config.json`` dict) and return its shape.

    Raises :class:`~darkness_visible.errors.CheckpointError` for an architecture outside the GPT-2 family
    (listing the supported ones), a vocabulary smaller than the tokenizer's, a malformed size, or a context
    shorter than ``min_context``. Missing sizes take ``GPT2Config``'s defaults, as ``from_pretrained`` does.
    """
    model_type = config.get("model_type")
    if model_type != "gpt2":
        arch = ", ".join(config.get("architectures") or []) or "unknown architecture"
        raise CheckpointError(
            f"{where} is a {model_type!r} model ({arch}), not GPT-2: this book reads the MLP neurons of "
            f"{SUPPORTED_FAMILIES}; pick one of those"
        )
    n_embd = _positive(config, "n_embd", 768, where)
    info = CheckpointInfo(
        n_layers=_positive(config, "n_layer", 12, where), n_ctx=_positive(config, "n_positions", 1024, where),
        vocab_size=_positive(config, "vocab_size", 50257, where), d_model=n_embd,
        n_head=_positive(config, "n_head", 12, where), d_mlp=_positive(config, "n_inner", 4 * n_embd, where),
    )
    if info.vocab_size < TOKENIZER_VOCAB:
        raise CheckpointError(
            f"{where} embeds {info.vocab_size:,} tokens, fewer than the GPT-2 tokenizer's {TOKENIZER_VOCAB:,}: "
            "token ids past its vocabulary would index outside the embedding; use a checkpoint with GPT-2's "
            "vocabulary (vocab_size 50257)"
        )
    if info.n_ctx < min_context:
        raise ContextLengthError(
            f"{where} has a context of {info.n_ctx} tokens; this run needs windows of {min_context}: use a "
            f"shorter --window (at most {info.n_ctx}) or a model with a longer context"
        )
    return info


def _check_safetensors(path: Path) -> set[str]:
    size = path.stat().st_size
    fix = f"re-save or re-download the checkpoint ({path.name} must come from model.save_pretrained)"
    if size < 8:
        raise CheckpointError(f"{path} is {'empty' if size == 0 else 'truncated'} ({size} bytes): {fix}")
    with path.open("rb") as handle:
        (n,) = struct.unpack("<Q", handle.read(8))
        if n > size - 8 or n > 100 * 2**20:
            raise CheckpointError(f"{path} is corrupt or truncated (its header claims {n:,} bytes of a "
                                  f"{size:,}-byte file): {fix}")
        raw = handle.read(n)
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError("not an object")
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (ValueError, KeyError, TypeError, IndexError):
        raise CheckpointError(f"{path} is corrupt (its header is not a valid safetensors header): {fix}") from None
    data = size - 8 - n
    if max(ends, default=0) != data:
        raise CheckpointError(f"{path} is {'truncated' if max(ends, default=0) > data else 'corrupt'}: its header "
                              f"describes {max(ends, default=0):,} bytes of tensors, the file holds {data:,}: {fix}")
    return {k for k in header if k != "__metadata__"}


def _check_bin(path: Path) -> None:
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty: re-save or re-download the checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise CheckpointError(f"{path} is corrupt or truncated (not a readable PyTorch archive): re-save or "
                              "re-download the checkpoint") from None


def _bin_names(path: Path) -> set[str]:
    """The parameter names a ``pytorch_model.bin`` holds, read memory-mapped with ``weights_only`` (no pickle
    code runs and the weights are not read into memory)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # noqa: BLE001 - any failure to read the archive is the file's fault
        raise CheckpointError(f"{path} cannot be read as a PyTorch state dict ({one_line(error)}): re-save or "
                              "re-download the checkpoint") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict of named tensors: re-save "
                              "it with model.save_pretrained(folder)")
    return {str(name) for name in state}


def expected_tensors(info: CheckpointInfo) -> list[str]:
    """The parameter names a GPT-2 checkpoint of shape ``info`` must hold (without the ``transformer.`` prefix;
    the unembedding is tied to ``wte`` and is not stored)."""
    block = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
             "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
             "mlp.c_proj.weight", "mlp.c_proj.bias")
    return (["wte.weight", "wpe.weight"] + [f"h.{i}.{name}" for i in range(info.n_layers) for name in block]
            + ["ln_f.weight", "ln_f.bias"])


def check_tensor_names(names: set[str], info: CheckpointInfo, where: str) -> None:
    """Raise :class:`~darkness_visible.errors.CheckpointError` naming the parameters ``info`` implies that the
    weight files do not hold (``from_pretrained`` would fill them with random values and run)."""
    stored = {name.removeprefix("transformer.") for name in names}
    missing = [name for name in expected_tensors(info) if name not in stored]
    if not missing:
        return
    shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
    raise CheckpointError(
        f"{where}: the weight files lack {len(missing)} tensor(s) its config.json implies ({shown}); loading "
        f"would fill them with random values: re-save the checkpoint with model.save_pretrained(folder), or "
        f"fix n_layer in config.json (it says {info.n_layers} layers)"
    )


def check_weights(folder: Path, info: CheckpointInfo | None = None) -> None:
    """Check the headers of a folder's weight files (``*.safetensors`` first, else ``pytorch_model.bin``).

    Reads a few kilobytes, not the weights: empty, truncated and corrupt-header files raise
    :class:`~darkness_visible.errors.CheckpointError`; with ``info`` (the shape ``config.json`` implies),
    so do weight files (safetensors or ``pytorch_model.bin``) that lack a parameter of that shape
    (:func:`check_tensor_names`).
    """
    folder = Path(folder)
    safetensors = sorted(folder.glob("*.safetensors"))
    if safetensors:
        names: set[str] = set()
        for path in safetensors:
            names |= _check_safetensors(path)
        if info is not None:
            check_tensor_names(names, info, str(folder))
    elif (folder / "pytorch_model.bin").is_file():
        _check_bin(folder / "pytorch_model.bin")
        if info is not None:
            check_tensor_names(_bin_names(folder / "pytorch_model.bin"), info, str(folder))


def _hub_config(spec: Any) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(spec.name, "config.json", revision=spec.revision)
    return Path(found) if isinstance(found, str) else None


def checkpoint_folder(spec: Any) -> Path | None:
    """Where a checkpoint's files are on this machine: the folder, or the hub model's cached snapshot (if any)."""
    if spec.kind == "local":
        return Path(spec.name)
    if spec.kind == "hub":
        config = _hub_config(spec)
        return None if config is None else config.parent
    return None


def check_corpus_source(split: str, source: str) -> None:
    """Raise :class:`~darkness_visible.errors.CorpusError` if the corpus cannot be read from ``source``.

    ``source="hub"`` needs the hub; the train split is only on the hub (``auto`` falls back to the shipped test
    split, not to the train split).
    """

    if source == "hub" and not hub.reachable():
        raise CorpusError("DV_CORPUS_SOURCE=hub (or --corpus-source hub) but the Hugging Face hub is out of reach: "
                          "use DV_CORPUS_SOURCE=local (the shipped WikiText-103 test split) or auto")
    if split == "train" and (source == "local" or not hub.reachable()):
        raise CorpusError("the WikiText-103 train split needs the Hugging Face hub (no local copy ships with the "
                          "book): connect, or use the test split (--split test, DV_SPLIT=test)")


def check_layer_arg(layer: int | None, info: Any) -> None:
    """Refuse a ``--layer`` outside the checkpoint's depth (``info``: :func:`check_checkpoint`'s result, or
    ``None`` when the depth is not known before loading), in one line, before the model is loaded."""
    if layer is None or info is None:
        return
    n = info.n_layers
    if not -n <= layer < n:
        from darkness_visible.errors import LayerError

        raise LayerError(f"--layer {layer} is out of range: this model has {n} layers (0..{n - 1}, or "
                         f"-{n}..-1 from the end)")
