"""An on-disk cache of harvest chunks that is never read half-written.

A cache folder is named by a hash of everything that determines its content (model weights, corpus
slice, layer, firing rules, recorded neurons, variants, format version); ``spec.json`` inside holds that
material in full and is compared on load, so a cache from another model or other settings is never
reused. Each chunk is written to a temporary file and renamed into place, so a killed run leaves only
whole chunks (and stray ``.tmp-*`` files, removed on the next run); a rerun resumes from them. The run
ends by writing ``manifest.json`` with every chunk's SHA-256; loading checks it, and a mismatch raises
:class:`CorruptCacheError` (the harvest then rebuilds).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the stored arrays change meaning; old caches are then ignored.
CACHE_FORMAT = 1


class CorruptCacheError(RuntimeError):
    """A cache folder failed its checks (bad checksum, unreadable chunk, mismatched spec)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, write: Any) -> None:
    """Write a file through ``write(handle)`` into a temporary file renamed into place: never half-written."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ChunkCache:
    """Chunks of arrays under ``root/<prefix>-<hash>/``, keyed by ``material`` (JSON-able)."""

    def __init__(self, root: Path, material: dict[str, Any], prefix: str = "harvest") -> None:
        self.material = {"format": CACHE_FORMAT, **material}
        text = json.dumps(self.material, sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.folder = Path(root) / f"{prefix}-{self.key}"

    # -- writing -----------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the folder, check its spec and clear stray temporary files of a killed run."""
        self.folder.mkdir(parents=True, exist_ok=True)
        spec = self.folder / "spec.json"
        if spec.exists():
            if json.loads(spec.read_text()) != json.loads(json.dumps(self.material, default=str)):
                raise CorruptCacheError(f"{spec} describes other settings than this run")
        else:
            atomic_write(spec, lambda h: h.write(json.dumps(self.material, indent=1, default=str).encode()))
        for stray in self.folder.glob(".tmp-*"):
            stray.unlink(missing_ok=True)

    def chunk_path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.npz"

    def write_chunk(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one chunk atomically."""
        atomic_write(self.chunk_path(index), lambda h: np.savez(h, **arrays))

    def read_chunk(self, index: int) -> dict[str, np.ndarray]:
        """Read one chunk; :class:`CorruptCacheError` if it cannot be read."""
        try:
            with np.load(self.chunk_path(index)) as data:
                return {name: data[name] for name in data.files}
        except Exception as error:  # zip, pickle and OS errors all mean the same here
            raise CorruptCacheError(f"unreadable chunk {self.chunk_path(index)}: {error}") from error

    def has_chunk(self, index: int) -> bool:
        """True if the chunk exists and reads cleanly (a resumed run skips it)."""
        if not self.chunk_path(index).exists():
            return False
        try:
            self.read_chunk(index)
            return True
        except CorruptCacheError:
            self.chunk_path(index).unlink(missing_ok=True)
            return False

    def finalize(self, n_chunks: int, meta: dict[str, Any]) -> None:
        """Record checksums and metadata; the cache counts as complete only after this."""
        manifest = {
            "n_chunks": n_chunks,
            "sha256": [_sha256(self.chunk_path(i)) for i in range(n_chunks)],
            "meta": meta,
        }
        atomic_write(
            self.folder / "manifest.json", lambda h: h.write(json.dumps(manifest, indent=1, default=str).encode())
        )

    # -- reading -----------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return (self.folder / "manifest.json").exists()

    def load(self) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]]:
        """Metadata and all chunks of a complete cache, checksums verified."""
        try:
            manifest = json.loads((self.folder / "manifest.json").read_text())
            stored = json.loads((self.folder / "spec.json").read_text())
        except (OSError, ValueError) as error:
            raise CorruptCacheError(f"unreadable manifest or spec in {self.folder}: {error}") from error
        if stored != json.loads(json.dumps(self.material, default=str)):
            raise CorruptCacheError(f"{self.folder} was written for other settings")
        chunks = []
        for i, expected in enumerate(manifest["sha256"]):
            path = self.chunk_path(i)
            if not path.exists() or _sha256(path) != expected:
                raise CorruptCacheError(f"chunk {path.name} is missing or its checksum does not match")
            chunks.append(self.read_chunk(i))
        return manifest["meta"], chunks

    def clear(self) -> None:
        """Delete this cache folder."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def load_complete(self) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]] | None:
        """Metadata and chunks of a complete, intact cache; ``None`` otherwise.

        A corrupt cache is deleted, with a warning, so that the caller rebuilds it.
        """
        if not self.complete:
            return None
        try:
            return self.load()
        except CorruptCacheError as error:
            warnings.warn(f"discarding a corrupt cache and rebuilding it: {error}", stacklevel=3)
            self.clear()
            return None

    def prepare(self) -> None:
        """:meth:`open` for writing; a folder written for other settings is deleted first, with a warning."""
        try:
            self.open()
        except CorruptCacheError as error:
            warnings.warn(f"discarding a mismatched cache: {error}", stacklevel=3)
            self.clear()
            self.open()


def chunk_cache(setting: str | Path | bool | None, material: dict[str, Any],
                prefix: str = "harvest") -> ChunkCache | None:
    """The cache for ``material`` in the folder chosen by ``setting``.

    ``False``: no cache; ``None`` or ``True``: the cache setting (``DV_CACHE``); a path: that folder.
    """
    folder = cache_folder(setting)
    return None if folder is None else ChunkCache(folder, material, prefix)


def cache_folder(setting: str | Path | bool | None) -> Path | None:
    """The cache folder for a ``cache=`` argument: ``None`` for ``False``, the setting for ``None``/``True``."""
    if setting is False:
        return None
    from .settings import cache_dir

    return cache_dir(None if setting in (None, True) else setting)
