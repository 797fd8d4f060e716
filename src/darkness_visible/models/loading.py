"""Loading the model under study as an nnsight ``TransformersModel``.

Four kinds of model, one setting (:func:`darkness_visible.config.settings.model_setting`):

``openai-community/gpt2`` (default, pinned revision) or any hub id, optionally ``id@revision``
    The real checkpoint, from the Hugging Face cache or the hub.
a local folder
    A saved checkpoint (``config.json`` plus ``model.safetensors`` or ``pytorch_model.bin``).
``standin`` / ``standin:SEED``
    A randomly initialised GPT-2 of exactly GPT-2 Small's shape with the real tokenizer. It exercises
    every procedure offline; **its numbers are not GPT-2's**.
``tiny`` / ``tiny:SEED``
    A 2-layer, 64-wide GPT-2 with the real tokenizer, for fast tests.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from darkness_visible.config.settings import DEFAULT_MODEL, model_setting
from darkness_visible.errors import CheckpointError, LayerError, ModelUnavailableError, SettingError, one_line
from darkness_visible.io import hub
from darkness_visible.models.checks import (
    MIN_CONTEXT,
    CheckpointInfo,
    check_config,
    check_weights,
    checkpoint_folder,
    read_config,
)
from darkness_visible.models.identity import GPT2_REVISION

if TYPE_CHECKING:
    from nnsight import TransformersModel
    from transformers import GPT2Config, PreTrainedModel, PreTrainedTokenizerBase

    from darkness_visible.models.identity import ModelIdentity


Kind = Literal["hub", "local", "standin", "tiny"]
__all__ = ["GPT2_REVISION", "ModelSpec", "ModelUnavailableError", "Subject", "check_available", "download",
           "load_model", "looks_like_path", "weights_digest"]

#: A Hugging Face hub id: ``name`` or ``org/name`` (letters, digits, ``-``, ``_``, ``.``), optionally ``@revision``.
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


#: The largest seed of a random-weight model (``numpy`` and ``torch`` both take it; one more overflows some).
MAX_SEED = 2**32 - 1


def looks_like_path(text: str) -> bool:
    """True if a model setting names a folder rather than a hub id.

    A folder: anything that exists on disk; anything starting with ``.``, ``/`` or ``~`` (``./ckpt``,
    ``../ckpt``, ``~/ckpt``); anything with a backslash or the OS's separator used in a way no hub id is
    (two or more separators as in ``runs/gpt2/final``, a trailing one, spaces or other characters hub ids
    never contain). ``org/name`` that does not exist on disk is a hub id; the error for a missing hub model
    then says that no such folder exists either.
    """
    if Path(text).expanduser().exists() or text.startswith((".", "/", "~")):
        return True
    if "\\" in text or (os.sep != "/" and os.sep in text):
        return True
    return HUB_ID.fullmatch(text.partition("@")[0]) is None


@dataclass(frozen=True)
class ModelSpec:
    """Which model to run. Build one with :meth:`parse`.

    ``weights``: a digest of the weight files' content (:func:`weights_digest`), filled in by
    :func:`load_model`; it is part of :meth:`key`, so a cache never outlives the weights it was made from.
    """

    kind: Kind
    name: str
    revision: str | None = None
    seed: int = 0
    weights: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse ``"standin"``, ``"standin:3"``, ``"tiny"``, a folder, ``"hub/id"`` or ``"hub/id@rev"``.

        See :func:`looks_like_path` for how a folder is told from a hub id.
        """
        text = text.strip()
        if not text:
            raise SettingError("empty model setting: use a hub id, a local folder, 'standin' or 'tiny'")
        head, _, seed = text.partition(":")
        if head in ("standin", "tiny"):
            try:
                number = int(seed or 0)
            except ValueError:
                raise SettingError(f"bad seed in {text!r}: write e.g. '{head}:3'") from None
            if not 0 <= number <= MAX_SEED:
                raise SettingError(f"seed {number} in {text!r} is out of range: use a whole number from 0 to "
                                   f"{MAX_SEED:,} (2**32 - 1), e.g. '{head}:3'")
            return cls(head, head, None, number)  # type: ignore[arg-type]
        if looks_like_path(text):
            return cls("local", str(Path(text).expanduser().resolve()))
        name, _, revision = text.partition("@")
        if revision == "" and name == DEFAULT_MODEL:
            revision = GPT2_REVISION
        return cls("hub", name, revision or None)

    @property
    def is_pretrained(self) -> bool:
        """True for real checkpoints (hub or folder), False for random-weight models."""
        return self.kind in ("hub", "local")

    @property
    def is_gpt2_small(self) -> bool:
        """True only for the checkpoint the paper studies: the pinned hub revision, or a folder whose weight
        file matches its published checksum (:func:`darkness_visible.models.identity.identify`)."""
        return self.identity.gpt2_small

    @property
    def identity(self) -> ModelIdentity:
        """What this model was identified as (GPT-2 Small or not, and how); see
        :mod:`darkness_visible.models.identity`."""
        from darkness_visible.models.identity import identify

        return identify(self)

    def describe(self) -> str:
        """One line for pages and result files."""
        if self.kind == "hub":
            return f"{self.name} @ {(self.revision or 'main')[:7]}"
        if self.kind == "local":
            return f"local checkpoint {self.name}"
        if self.kind == "standin":
            return f"random-weight stand-in with GPT-2 Small's shape (seed {self.seed}); NOT GPT-2"
        return f"tiny 2-layer test model (seed {self.seed}); NOT GPT-2"

    @property
    def setting(self) -> str:
        """The model setting that parses back to this spec (``id@revision`` for hub models, a folder's path)."""
        if self.kind in ("standin", "tiny"):
            return f"{self.kind}:{self.seed}"
        if self.kind == "hub" and self.revision and not (self.name == DEFAULT_MODEL and self.revision == GPT2_REVISION):
            return f"{self.name}@{self.revision}"
        return self.name

    def key(self) -> dict[str, object]:
        """What identifies the weights, for cache keys: the setting and, for checkpoints, their files' content."""
        key: dict[str, object] = {"kind": self.kind, "name": self.name, "revision": self.revision, "seed": self.seed}
        if self.is_pretrained:
            key["weights"] = self.weights or weights_digest(self)
        return key


def output_tensor(value: Any) -> torch.Tensor:
    """A module's output as one tensor: the first element when the module returns a tuple (a GPT-2 block
    does in some transformers versions), else the output itself."""
    return value[0] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Subject:
    """A loaded model: the nnsight wrapper plus what it is and a few weight accessors."""

    model: TransformersModel
    spec: ModelSpec

    @property
    def hf(self) -> PreTrainedModel:
        """The underlying ``GPT2LMHeadModel`` (for plain-PyTorch checks and weight reads)."""
        return self.model._module

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The GPT-2 tokenizer (no BOS is ever added by this package)."""
        return self.model.tokenizer

    @property
    def n_layers(self) -> int:
        return int(self.hf.config.n_layer)

    @property
    def d_mlp(self) -> int:
        cfg = self.hf.config
        return int(cfg.n_inner or 4 * cfg.n_embd)

    @property
    def n_ctx(self) -> int:
        return int(self.hf.config.n_positions)

    @property
    def device(self) -> torch.device:
        """Where the weights live (inputs are moved here; reduced results come back to the CPU)."""
        return next(self.hf.parameters()).device

    def layer_index(self, layer: int | None) -> int:
        """Normalise a layer index (``None`` or negative count from the end); check its range."""
        n = self.n_layers
        index = n - 1 if layer is None else (layer + n if layer < 0 else layer)
        if not 0 <= index < n:
            raise LayerError(f"layer {layer} is out of range: this model has {n} layers (0..{n - 1}, or -{n}..-1 "
                             "from the end); pick one of those")
        return index

    def w_out(self, layer: int | None = None) -> torch.Tensor:
        """Output vectors of the MLP neurons, ``[d_mlp, d_model]`` (row n = neuron n's w_n)."""
        return self.hf.transformer.h[self.layer_index(layer)].mlp.c_proj.weight.detach()

    def b_out(self, layer: int | None = None) -> torch.Tensor:
        """The MLP output bias ``[d_model]``."""
        return self.hf.transformer.h[self.layer_index(layer)].mlp.c_proj.bias.detach()

    @property
    def w_u(self) -> torch.Tensor:
        """The (tied) unembedding ``[vocab, d_model]``."""
        return self.hf.lm_head.weight.detach()

    def unembed(self, resid: torch.Tensor) -> torch.Tensor:
        """Logits of a final-layer residual: ``ln_f(resid) @ W_U.T``, ``[..., d_model] -> [..., vocab]``."""
        return self.hf.lm_head(self.hf.transformer.ln_f(resid))


def tokenizer_dir() -> Path:
    """Folder of the GPT-2 tokenizer files shipped with this package."""
    return Path(str(resources.files("darkness_visible") / "assets" / "gpt2-tokenizer"))


def load_tokenizer() -> PreTrainedTokenizerBase:
    """The real GPT-2 tokenizer from the shipped files (works offline)."""
    from transformers import GPT2TokenizerFast

    return GPT2TokenizerFast.from_pretrained(str(tokenizer_dir()))


def gpt2_small_config() -> GPT2Config:
    """GPT-2 Small's exact configuration (12 layers, 768 wide, 3,072 MLP neurons, 1,024 context)."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
        activation_function="gelu_new", layer_norm_epsilon=1e-5,
    )


def tiny_config() -> GPT2Config:
    """A 2-layer, 64-wide, 256-neuron GPT-2 with the real vocabulary and a 128-token context."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=50257, n_positions=128, n_embd=64, n_layer=2, n_head=4, n_inner=256,
        activation_function="gelu_new", layer_norm_epsilon=1e-5,
    )


def random_model(config: GPT2Config, seed: int) -> PreTrainedModel:
    """A seeded, randomly initialised ``GPT2LMHeadModel`` in eval mode with dropout off."""
    from transformers import GPT2LMHeadModel

    for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
        setattr(config, name, 0.0)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        module = GPT2LMHeadModel(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return module.eval()


def weights_digest(spec: ModelSpec) -> str | None:
    """A digest of a checkpoint's files (``config.json`` and the weights) by content, or ``None``.

    ``None`` for random-weight models (their seed identifies them) and for hub models not in the local cache.
    Each file's SHA-256 is memoised by path, size and modification times
    (:func:`darkness_visible.io.cache.file_sha256`), so only new or rewritten files are read.
    """
    import hashlib
    import json

    from darkness_visible.io.cache import files_digest

    folder = checkpoint_folder(spec) if spec.kind in ("local", "hub") else None
    if folder is None or not folder.is_dir():
        return None
    files = [p for pattern in ("config.json", "*.safetensors", "*.bin", "*.index.json") for p in folder.glob(pattern)
             if p.is_file()]
    digests = files_digest(files)
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()[:32] if digests else None


def _how_to_fix(name: str) -> str:
    return (
        "How to fix it:\n"
        f"  * with internet access, run once: python -m darkness_visible download --model {shlex.quote(name)}\n"
        "    (it fills the Hugging Face cache; later runs work offline);\n"
        "  * or point the model setting at a folder holding a saved checkpoint:\n"
        "    DV_MODEL=/path/to/gpt2 (config.json + model.safetensors);\n"
        "  * or run the random-weight stand-in to check that the code runs: DV_MODEL=standin\n"
        "    (its numbers are NOT GPT-2's and every page will say so)."
    )


def _check_local_folder(folder: Path) -> None:
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ModelUnavailableError(
            f"model folder {folder} {what}: check the path (relative paths are read from {Path.cwd()}), save a "
            "checkpoint there with model.save_pretrained(folder), or pick another model (a hub id, 'standin')")
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    if not any((folder / f).is_file() for f in ("model.safetensors", "pytorch_model.bin")):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if missing:
        raise ModelUnavailableError(
            f"model folder {folder} is missing {', '.join(missing)}: save a checkpoint there with "
            "model.save_pretrained(folder), or pick another model (a hub id, 'standin')"
        )


def _not_a_folder_either(spec: ModelSpec) -> str:
    if "/" not in spec.name or spec.name == DEFAULT_MODEL:
        return ""
    return f" No folder {Path(spec.name)} exists under {Path.cwd()} either (write ./{spec.name} for a folder)."


def _offline_error(spec: ModelSpec) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"cannot load {spec.describe()}: its weights are not in the local Hugging Face cache "
        "and the hub is out of reach (offline, or HF_HUB_OFFLINE=1)."
        + ("" if spec.name == DEFAULT_MODEL else f" Check the id too: the paper's model is {DEFAULT_MODEL!r}.")
        + _not_a_folder_either(spec)
        + "\n" + _how_to_fix(spec.setting)
    )


def check_available(spec: ModelSpec) -> None:
    """Raise :class:`ModelUnavailableError` (with the fix) if ``spec`` cannot be loaded, without loading it.

    Random-weight models are always available; a folder must hold a checkpoint; a hub model must be in
    the Hugging Face cache or the hub must be reachable.
    """
    if spec.kind == "local":
        _check_local_folder(Path(spec.name))
    elif spec.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        cached = any(
            isinstance(try_to_load_from_cache(spec.name, f, revision=spec.revision), str)
            for f in ("model.safetensors", "pytorch_model.bin")
        )
        if not cached and not hub.reachable():
            raise _offline_error(spec)


def check_checkpoint(spec: Any, min_context: int = MIN_CONTEXT) -> CheckpointInfo | None:
    """Check a model without loading its weights; its shape, or ``None`` for a hub model not cached yet.

    Local folders: the files must exist (:func:`check_available`), ``config.json``
    must describe a usable GPT-2 (:func:`check_config`) and the weight files must be whole
    (:func:`check_weights`). Cached hub models: the same on the cached snapshot. Random-weight models: their
    configuration.
    """
    if spec.kind in ("standin", "tiny"):
        config = (gpt2_small_config() if spec.kind == "standin" else tiny_config()).to_dict()
        return check_config(config, spec.describe(), min_context)
    check_available(spec)
    folder = checkpoint_folder(spec)
    if folder is None:
        return None
    where = str(folder) if spec.kind == "local" else spec.describe()
    info = check_config(read_config(folder), where, min_context)
    check_weights(folder, info)
    return info


def _load_pretrained(spec: ModelSpec, **kwargs: object) -> PreTrainedModel:
    from transformers import AutoModelForCausalLM

    if spec.kind == "local":

        check_checkpoint(spec)  # configuration, architecture, vocabulary, weight headers: one line each
        try:
            return AutoModelForCausalLM.from_pretrained(spec.name, **kwargs)
        except Exception as error:  # noqa: BLE001 - whatever the loader says, the folder's files are at fault
            raise CheckpointError(
                f"cannot load the checkpoint in {spec.name} ({one_line(error)}): re-save it with "
                "model.save_pretrained(folder) or re-download it"
            ) from error
    try:  # the cache first: no network, no retries
        return AutoModelForCausalLM.from_pretrained(
            spec.name, revision=spec.revision, local_files_only=True, **kwargs
        )
    except OSError:
        pass
    if not hub.reachable():
        raise _offline_error(spec)
    try:
        return AutoModelForCausalLM.from_pretrained(spec.name, revision=spec.revision, **kwargs)
    except OSError as error:
        text = str(error)
        if "not a valid model identifier" in text or "Repository Not Found" in text or "404" in text:
            raise ModelUnavailableError(
                f"{spec.name!r} is not a model on the Hugging Face hub (or is private). Check the "
                f"spelling; the paper's model is {DEFAULT_MODEL!r}. Other choices: a local folder, "
                "'standin' or 'tiny'." + _not_a_folder_either(spec)
            ) from error
        if "revision" in text.lower():
            raise ModelUnavailableError(
                f"revision {spec.revision!r} of {spec.name} does not exist; write {spec.name}@<commit>."
            ) from error
        raise ModelUnavailableError(f"cannot load {spec.describe()}: {text}\n" + _how_to_fix(spec.setting)) from error


def load_model(model: str | ModelSpec | None = None, *, attn_implementation: str | None = None,
               device: str | torch.device | None = None) -> Subject:
    """Load the model to study and wrap it in nnsight's ``TransformersModel``.

    Args:
        model: hub id (``"openai-community/gpt2"``, optionally ``@revision``), a local folder,
            ``"standin[:seed]"`` or ``"tiny[:seed]"``; ``None`` reads the setting
            (``DV_MODEL``, then ``_config.yml``), whose default is the real GPT-2 Small.
        attn_implementation: e.g. ``"eager"`` when attention weights are needed.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda[:N]"``, ``"mps"``; ``None`` reads
            the setting (``DV_DEVICE``, then ``_config.yml``, default ``auto``).

    Raises:
        ModelUnavailableError: with the fix spelled out, when the weights cannot be had.
    """
    from nnsight import TransformersModel

    from darkness_visible.config.device import resolve_device

    where = resolve_device(device)
    spec = model if isinstance(model, ModelSpec) else ModelSpec.parse(model_setting(model))
    kwargs: dict[str, object] = {"dtype": torch.float32}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if spec.kind in ("standin", "tiny"):
        config = gpt2_small_config() if spec.kind == "standin" else tiny_config()
        if attn_implementation:
            config._attn_implementation = attn_implementation
        module = random_model(config, spec.seed)
        tokenizer = load_tokenizer()
    else:
        module = _load_pretrained(spec, **kwargs).eval()
        tokenizer = load_tokenizer()
        _check_loaded(module, spec)
        spec = replace(spec, weights=weights_digest(spec))  # what was loaded, by content: the cache key
    module = module.to(where)
    return Subject(TransformersModel(module, tokenizer=tokenizer), spec)


def _check_loaded(module: PreTrainedModel, spec: ModelSpec) -> None:
    """The checks of :func:`darkness_visible.models.checks.check_config` on a loaded model (a hub model not cached
    before loading is checked here)."""

    check_config(module.config.to_dict(), spec.describe())


def download(model: str = DEFAULT_MODEL) -> Path:
    """Fetch a checkpoint into the Hugging Face cache (needs the hub); returns the snapshot folder."""
    from huggingface_hub import snapshot_download

    spec = ModelSpec.parse(model)
    if spec.kind != "hub":
        raise SettingError(f"only hub models can be downloaded, not {spec.describe()}: give a hub id, e.g. "
                           f"--model {DEFAULT_MODEL}")
    if not hub.reachable():
        raise ModelUnavailableError("the Hugging Face hub is out of reach from this machine.\n"
                                    + _how_to_fix(spec.setting))
    patterns = ["*.json", "*.safetensors", "*.txt"]
    folder = Path(snapshot_download(spec.name, revision=spec.revision, allow_patterns=patterns))
    if spec.name == DEFAULT_MODEL and spec.revision:
        from darkness_visible.models.identity import record_download

        record_download(folder, spec.revision)  # a copy of these files elsewhere is then recognised as GPT-2
    return folder
