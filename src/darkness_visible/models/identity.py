"""Whose numbers these are: is the model under study GPT-2 Small at the pinned revision?

Only GPT-2 Small earns a verdict against the paper (replicated / differs). It is recognised two ways:

* the hub id ``openai-community/gpt2`` at the pinned revision (:data:`~darkness_visible.models.identity.GPT2_REVISION`),
  whose snapshot in the Hugging Face cache, once there, is checked like any folder (below): a cache folder at
  the pinned revision that holds other weights is not GPT-2 Small (:func:`hub_snapshot`);
* a local folder whose weight file's SHA-256 equals that revision's published checksum
  (:data:`PUBLISHED_SHA256`, the hub's LFS object id of ``model.safetensors`` at the pinned commit), or a
  checksum that ``python -m darkness_visible download`` recorded when it fetched the pinned files
  (:func:`record_download`).

Everything else (the random-weight stand-in, the tiny test model, planted folders, another checkpoint or
size, a folder whose files cannot be matched) is "not verified as GPT-2": its rows get the verdict
"other model" and every page says which model it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Published SHA-256 (LFS oid, also the hub's ``x-linked-etag``) and size of the weight file at the pinned
#: revision 607a30d of ``openai-community/gpt2``.
PUBLISHED_SHA256: dict[str, tuple[str, int]] = {
    "model.safetensors": ("248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707", 548_105_171),
}

#: File (in the package's cache folder) where ``download`` records the checksums of the files it fetched.
#: The ``openai-community/gpt2`` commit the book is pinned to.
GPT2_REVISION = "607a30d783dfa663caf39e06633721c8d4cfcd7e"


RECORD_NAME = "gpt2-pinned-checksums.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ModelIdentity:
    """What a model was identified as.

    ``gpt2_small``: True only for GPT-2 Small at the pinned revision (hub id, or checksum-matched folder);
    ``name``: the model named for pages (e.g. ``"random-weight stand-in ... NOT GPT-2"``);
    ``how``: one line saying how it was (or why it was not) identified.
    """

    gpt2_small: bool
    name: str
    how: str

    @property
    def label(self) -> str:
        """``"GPT-2 Small (verified: ...)"`` or ``"<name> (not verified as GPT-2: ...)"``."""
        if self.gpt2_small:
            return f"GPT-2 Small ({self.how})"
        return f"{self.name} (not verified as GPT-2: {self.how})"


def _record_path() -> Path:
    from darkness_visible.config.settings import cache_dir

    return cache_dir() / RECORD_NAME


def recorded_checksums(path: Path | None = None) -> dict[str, str]:
    """``{sha256: file name}`` recorded by :func:`record_download` (empty if nothing was recorded)."""
    path = path or _record_path()
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.get("sha256", {}).items()} if isinstance(data, dict) else {}


def record_download(folder: Path, revision: str, path: Path | None = None) -> dict[str, str]:
    """Hash the weight files that ``download`` fetched at the pinned revision and record them.

    Returns ``{file name: sha256}``. A ``model.safetensors`` whose hash differs from the published one is
    not recorded (the download is then not the pinned file) and raises :class:`CheckpointError`.
    """
    from darkness_visible.errors import CheckpointError
    from darkness_visible.io.cache import atomic_write, file_sha256

    if revision != GPT2_REVISION:
        return {}
    found: dict[str, str] = {}
    for name in WEIGHT_FILES:
        file = Path(folder) / name
        if file.is_file():
            found[name] = file_sha256(file)
    published = PUBLISHED_SHA256["model.safetensors"][0]
    if "model.safetensors" in found and found["model.safetensors"] != published:
        raise CheckpointError(f"{folder}/model.safetensors does not match the published checksum of revision "
                              f"{GPT2_REVISION[:7]}: delete it and run download again")
    path = path or _record_path()
    known = recorded_checksums(path)
    known.update({digest: name for name, digest in found.items()})
    body = json.dumps({"revision": GPT2_REVISION, "sha256": known}, indent=1, sort_keys=True).encode()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), lambda h: h.write(body))
    return found


def folder_matches(folder: Path, record: Path | None = None) -> tuple[bool, str]:
    """Whether a checkpoint folder's weight file is the pinned GPT-2 Small file, and why (one line)."""
    from darkness_visible.io.cache import file_sha256

    folder = Path(folder)
    allowed = {sha: name for name, (sha, _) in PUBLISHED_SHA256.items()}
    allowed.update(recorded_checksums(record))
    files = [folder / n for n in WEIGHT_FILES if (folder / n).is_file()]
    if not files:
        return False, f"no weight file in {folder}"
    for file in files:
        size = PUBLISHED_SHA256.get(file.name, (None, None))[1]
        if size is not None and file.stat().st_size != size:
            continue  # cheap rejection: a file of another size cannot have the published hash
        if file_sha256(file) in allowed:
            return True, f"{file.name} matches the published SHA-256 of revision 607a30d"
    return False, (f"{', '.join(f.name for f in files)} in {folder} match no published or recorded checksum "
                   "of GPT-2 Small at revision 607a30d")


def hub_snapshot(spec: Any) -> Path | None:
    """The folder of a hub model's snapshot in the Hugging Face cache that holds a weight file, or ``None``
    (not downloaded yet, or ``huggingface_hub`` missing)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of transformers
        return None
    for name in WEIGHT_FILES:
        found = try_to_load_from_cache(spec.name, name, revision=spec.revision)
        if isinstance(found, str):
            return Path(found).parent
    return None


def identify(spec: Any) -> ModelIdentity:
    """Identify a :class:`~darkness_visible.models.loading.ModelSpec` (no weights are loaded).

    A folder's weight file, and the cached snapshot's of the pinned hub id, is hashed once and remembered by
    path, size and modification time in the cache folder (:func:`darkness_visible.io.cache.file_sha256`). The pinned
    hub id before its download is GPT-2 Small by its revision; once downloaded (when the chapter's rows are
    stamped), its snapshot must match the published checksum.
    """
    from darkness_visible.config.settings import DEFAULT_MODEL

    name = spec.describe()
    if spec.kind == "hub":
        if spec.name == DEFAULT_MODEL and spec.revision == GPT2_REVISION:
            pinned = f"hub id {DEFAULT_MODEL} at the pinned revision {GPT2_REVISION[:7]}"
            snapshot = hub_snapshot(spec)
            if snapshot is None:
                return ModelIdentity(True, name, f"{pinned} (not in the local cache yet: fetched by that revision)")
            ok, how = folder_matches(snapshot)
            if ok:
                return ModelIdentity(True, name, f"{pinned}; its cached snapshot's {how}")
            return ModelIdentity(False, name, f"the cached snapshot of {pinned} holds other weights: {how}")
        if spec.name == DEFAULT_MODEL:
            pinned = GPT2_REVISION[:7]
            return ModelIdentity(False, name, f"revision {spec.revision or 'main'} is not the pinned {pinned}")
        return ModelIdentity(False, name, f"{spec.name} is not {DEFAULT_MODEL}")
    if spec.kind == "local":
        ok, how = folder_matches(Path(spec.name))
        return ModelIdentity(ok, name, how)
    return ModelIdentity(False, name, "random weights")
