"""Per-token results on disk, memory-mapped: a run's memory does not grow with its corpus.

A :class:`~darkness_visible.io.cache.ChunkCache` of per-token arrays (every array's first axis is the token) is
consolidated, by its writer and under its lock, into one ``.npy`` file per array under ``<entry>/arrays/``:
filled chunk by chunk, never all in memory. Readers open those files with ``np.load(mmap_mode="r")``;
pages of a memory map are read on demand and can be dropped by the OS, so a harvest over 2,000 windows
costs about what one over 20 does in resident memory. ``index.json``, written last (atomically), records
the chunks' SHA-256s it was built from and every file's dtype, shape and SHA-256: arrays that do not match
the manifest's chunks, or that fail their checksum, are never read (the writer rebuilds them from the
chunks, which the cache itself heals one by one).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from darkness_visible.errors import CacheUnwritableError
from darkness_visible.io.cache import ChunkCache, CorruptCacheError, atomic_write
from darkness_visible.io.cache import _sha256 as _file_sha


def _name(key: str) -> str:
    return key.replace("/", "__") + ".npy"


def open_arrays(store: ChunkCache, n_tokens: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and memory-mapped arrays ``{name: [n_tokens, ...]}`` of a complete, consolidated entry.

    Read-only. Raises :class:`CorruptCacheError` if the manifest fails validation, the arrays were built
    from other chunks, or a file does not match its recorded dtype, shape or checksum.
    """
    manifest = store.manifest()
    folder = store.folder / "arrays"
    try:
        index = json.loads((folder / "index.json").read_text())
    except (OSError, ValueError) as error:
        raise CorruptCacheError(f"no consolidated arrays in {store.folder.name}: {error}") from error
    if not _index_shaped(index):
        raise CorruptCacheError(f"the arrays index of {store.folder.name} is not one this package wrote")
    if index.get("chunks") != manifest["sha256"] or index.get("n_tokens") != n_tokens:
        raise CorruptCacheError(f"the arrays of {store.folder.name} were built from other chunks")
    arrays = {}
    for key, info in index["arrays"].items():
        path = folder / _name(key)
        if not path.is_file() or _file_sha(path) != info["sha256"]:
            raise CorruptCacheError(f"{path} is missing or does not match its recorded checksum")
        array = np.load(path, mmap_mode="r")
        if str(array.dtype) != info["dtype"] or list(array.shape) != info["shape"]:
            raise CorruptCacheError(f"{path} does not have the recorded dtype and shape")
        arrays[key] = array
    return manifest["meta"], arrays


def _index_shaped(index: Any) -> bool:
    """``index.json`` as :func:`build_arrays` writes it: chunks, a token count and each array's dtype, shape
    and checksum (anything else, ``{}``, ``[]`` or ``null`` included, is rebuilt, never read)."""
    if not (isinstance(index, dict) and isinstance(index.get("chunks"), list)
            and isinstance(index.get("n_tokens"), int) and isinstance(index.get("arrays"), dict)):
        return False
    return all(isinstance(info, dict) and isinstance(info.get("dtype"), str) and isinstance(info.get("sha256"), str)
               and isinstance(info.get("shape"), list) for info in index["arrays"].values())


def build_arrays(store: ChunkCache, n_chunks: int, n_tokens: int) -> None:
    """Consolidate the entry's ``n_chunks`` chunks into one ``.npy`` per array (call as its writer).

    Raises :class:`CorruptCacheError` if a chunk is unreadable or the chunks do not hold ``n_tokens`` rows,
    :class:`CacheUnwritableError` (one line) if ``arrays/`` cannot be written (read-only, a file in the way).
    """
    try:
        _build_arrays(store, n_chunks, n_tokens)
    except OSError as error:
        if isinstance(error, CorruptCacheError):
            raise
        reason = error.strerror or type(error).__name__
        raise CacheUnwritableError(
            f"cannot write to the cache folder {store.folder / 'arrays'} ({reason}): make it writable (or delete "
            "it: it is rebuilt), or point DV_CACHE (or --cache) at a writable folder"
        ) from None


def _build_arrays(store: ChunkCache, n_chunks: int, n_tokens: int) -> None:
    folder = store.folder / "arrays"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.json").unlink(missing_ok=True)
    maps: dict[str, np.ndarray] = {}
    shas, row = [], 0
    for i in range(n_chunks):
        shas.append(_file_sha(store.chunk_path(i)))
        chunk = store.read_chunk(i)
        rows = len(next(iter(chunk.values())))
        if i == 0:
            for key, value in chunk.items():
                (folder / _name(key)).unlink(missing_ok=True)  # a new file: maps of an older one stay intact
                maps[key] = np.lib.format.open_memmap(folder / _name(key), mode="w+", dtype=value.dtype,
                                                      shape=(n_tokens, *value.shape[1:]))
        if row + rows > n_tokens or set(chunk) != set(maps):
            raise CorruptCacheError(f"chunk {store.chunk_path(i).name} does not fit the {n_tokens:,} tokens")
        for key, value in chunk.items():
            maps[key][row:row + rows] = value
        row += rows
    if row != n_tokens:
        raise CorruptCacheError(f"the chunks hold {row:,} tokens, not {n_tokens:,}")
    for m in maps.values():
        m.flush()
    index = {"chunks": shas, "n_tokens": n_tokens,
             "arrays": {k: {"dtype": str(m.dtype), "shape": list(m.shape), "sha256": _file_sha(folder / _name(k))}
                        for k, m in maps.items()}}
    del maps
    atomic_write(folder / "index.json", lambda h: h.write(json.dumps(index, indent=1).encode()))
