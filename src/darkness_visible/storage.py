"""Per-token results on disk, memory-mapped: a run's memory does not grow with its corpus.

A finished :class:`~darkness_visible.cache.ChunkCache` of per-token arrays (every array's first axis is the
token) is consolidated once into one ``.npy`` file per array under ``<cache>/arrays/``, filled chunk by
chunk (each chunk's SHA-256 checked against the manifest as it is read), then opened with
``np.load(mmap_mode="r")``; the chunk files are then deleted (one copy on disk). Pages of a memory map are
read on demand and can be dropped by the OS, so a harvest over 2,000 windows costs about what one over 20
does in resident memory. An ``index.json`` written last (atomically) records the manifest's digest and every
file's dtype, shape and SHA-256 (checked when opened): a consolidation that was killed, one left from
another manifest, or a damaged file is detected, and the harvest is recomputed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .cache import ChunkCache, CorruptCacheError, atomic_write


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name(key: str) -> str:
    return key.replace("/", "__") + ".npy"


def _open(folder: Path, index: dict[str, Any]) -> dict[str, np.ndarray]:
    arrays = {}
    for key, info in index["arrays"].items():
        if _file_sha(folder / _name(key)) != info["sha256"]:
            raise CorruptCacheError(f"{folder / _name(key)} does not match its recorded checksum")
        array = np.load(folder / _name(key), mmap_mode="r")
        if str(array.dtype) != info["dtype"] or list(array.shape) != info["shape"]:
            raise CorruptCacheError(f"{folder / _name(key)} does not have the recorded dtype and shape")
        arrays[key] = array
    return arrays


def consolidated(store: ChunkCache, n_tokens: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and memory-mapped arrays ``{name: [n_tokens, ...]}`` of a complete chunk cache.

    Consolidates on first use (chunk by chunk, never all in memory). Raises :class:`CorruptCacheError`
    when the manifest, a chunk or the consolidated files do not check out (the caller rebuilds).
    """
    manifest_path = store.folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        n_chunks, expected = int(manifest["n_chunks"]), list(manifest["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CorruptCacheError(f"unreadable manifest in {store.folder}: {error}") from error
    if len(expected) != n_chunks:
        raise CorruptCacheError(f"{manifest_path} lists {len(expected)} checksums for {n_chunks} chunks")
    folder = store.folder / "arrays"
    digest = _file_sha(manifest_path)
    index_path = folder / "index.json"
    if index_path.exists():
        try:
            index = json.loads(index_path.read_text())
            if index.get("manifest") == digest and index.get("n_tokens") == n_tokens:
                return manifest["meta"], _open(folder, index)
        except (OSError, ValueError, CorruptCacheError):
            pass
    folder.mkdir(parents=True, exist_ok=True)
    index_path.unlink(missing_ok=True)
    maps: dict[str, np.ndarray] = {}
    row = 0
    for i in range(n_chunks):
        path = store.chunk_path(i)
        if not path.exists() or _file_sha(path) != expected[i]:
            raise CorruptCacheError(f"chunk {path.name} is missing or its checksum does not match")
        chunk = store.read_chunk(i)
        rows = len(next(iter(chunk.values())))
        if i == 0:
            for key, value in chunk.items():
                (folder / _name(key)).unlink(missing_ok=True)  # a new file: maps of an older one stay intact
                maps[key] = np.lib.format.open_memmap(folder / _name(key), mode="w+", dtype=value.dtype,
                                                      shape=(n_tokens, *value.shape[1:]))
        if row + rows > n_tokens or set(chunk) != set(maps):
            raise CorruptCacheError(f"chunk {path.name} does not fit the {n_tokens:,} tokens of this cache")
        for key, value in chunk.items():
            maps[key][row:row + rows] = value
        row += rows
    if row != n_tokens:
        raise CorruptCacheError(f"the chunks hold {row:,} tokens, not {n_tokens:,}")
    for m in maps.values():
        m.flush()
    index = {"manifest": digest, "n_tokens": n_tokens,
             "arrays": {k: {"dtype": str(m.dtype), "shape": list(m.shape), "sha256": _file_sha(folder / _name(k))}
                        for k, m in maps.items()}}
    del maps
    atomic_write(index_path, lambda h: h.write(json.dumps(index, indent=1).encode()))
    for i in range(n_chunks):  # the arrays hold everything now: keep one copy on disk, not two
        store.chunk_path(i).unlink(missing_ok=True)
    return manifest["meta"], _open(folder, index)
