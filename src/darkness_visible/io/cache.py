"""An on-disk cache of harvest chunks that is never read half-written, wrong or from another model.

A cache folder is named by a hash of everything that determines its content (the model's weights by the
SHA-256 of their files, corpus slice, normalised layer, firing rules, recorded neurons, variants, format
version); ``spec.json`` inside holds that material in full and is compared on load, so a cache from another
model or other settings is never reused.

Writing. One process at a time writes a cache entry: :meth:`ChunkCache.prepare` takes an exclusive lock
(``.<folder>.lock`` beside the folder, released by :meth:`ChunkCache.finalize`, by :func:`releases_locks` when
the writing function ends, or by the OS when the process dies); a second process waits for it and then reads
the finished chunks. Each chunk is written to a temporary file named after its writer's process id and renamed
into place, so a killed run leaves only whole chunks; its stray temporary files are removed by the next writer,
never those of a live process. The run ends by writing ``manifest.json`` (schema, chunk count, every chunk's
SHA-256, metadata).

Reading. :meth:`ChunkCache.load_complete` checks the manifest's schema, that it lists exactly the expected
number of chunks, and every chunk's checksum. A damaged manifest (or one without checksums) is healed and a
damaged chunk is rebuilt alone: :meth:`ChunkCache.prepare` removes only what failed, and the resumed run
recomputes only the missing chunks.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from darkness_visible.errors import CacheUnwritableError, CorruptCacheError

__all__ = ["CACHE_FORMAT", "MANIFEST_SCHEMA", "CacheUnwritableError", "ChunkCache", "CorruptCacheError",
           "atomic_write", "cache_folder", "cached_arrays", "cached_json", "chunk_cache", "ensure_writable",
           "file_sha256", "files_digest", "releases_locks", "source_digest"]

#: Bump when the stored arrays change meaning; old caches are then ignored.
CACHE_FORMAT = 1
#: Version of ``manifest.json``'s layout (2: ``schema``, ``n_chunks``, ``sha256``, ``meta``).
MANIFEST_SCHEMA = 2
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TMP = re.compile(r"\.tmp-(\d+)-")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, write: Any) -> None:
    """Write a file through ``write(handle)`` into a temporary file renamed into place: never half-written.

    The temporary file (``.tmp-<pid>-*`` in the same folder) belongs to this process; cache writers remove
    only those of processes that are gone.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no cheap, harmless liveness probe: assume alive, never delete another's file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def ensure_writable(folder: Path) -> Path:
    """Create ``folder`` if needed and check that files can be written in it; returns it.

    Raises :class:`CacheUnwritableError` naming the fix (another folder, or no cache) otherwise.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CacheUnwritableError(
            f"cannot write to the cache folder {folder} ({reason}): point DV_CACHE (or --cache) at a writable "
            "folder, e.g. DV_CACHE=/tmp/dv-cache, or pass cache=False in Python"
        ) from error
    return folder


# -- file content hashes, memoised by (path, size, mtimes) ----------------------------------------------------

_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}
_MEMO_NAME = "file-sha256.json"


#: The cache folder last chosen by an explicit ``cache=`` path or ``--cache`` (:func:`cache_folder`); the memo
#: lives there, not in the default folder, so nothing is written outside the folder the user chose.
_CHOSEN: list[Path] = []


def _memo_path() -> Path | None:
    try:
        from darkness_visible.config.settings import cache_dir

        return (_CHOSEN[-1] if _CHOSEN else cache_dir()) / _MEMO_NAME
    except Exception:  # noqa: BLE001 - the memo is an optimisation; a broken setting is reported elsewhere
        return None


def _read_memo(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return {k: v for k, v in data.items() if isinstance(v, str) and _HEX64.fullmatch(v)}
    except (OSError, ValueError, AttributeError):
        return {}


def _memo_key(key: tuple[str, int, int, int, int]) -> str:
    return "|".join(str(part) for part in key)


def file_sha256(path: Path, *, memo: Path | None | bool = True) -> str:
    """SHA-256 of a file's content, computed once per ``(path, size, mtime_ns, ctime_ns, inode)``.

    The result is memoised in this process and, with ``memo=True``, in ``file-sha256.json`` of the cache
    folder (the one last passed as ``cache=``/``--cache``, else the setting), so a multi-GB checkpoint is
    hashed once, not at every run; a rewritten file gets a new size, modification time or inode-change time
    (which no tool can set back) and is hashed again. ``memo``: a
    memo file, ``True`` (the cache folder's) or ``False`` (this process only).
    """
    resolved = Path(path).resolve()
    st = resolved.stat()
    key = (str(resolved), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if key in _DIGESTS:
        return _DIGESTS[key]
    memo_file = _memo_path() if memo is True else (memo or None)
    stored = _read_memo(memo_file)
    digest = stored.get(_memo_key(key)) or _sha256(resolved)
    _DIGESTS[key] = digest
    if memo_file is not None and _memo_key(key) not in stored:
        stored = {k: v for k, v in stored.items() if not k.startswith(f"{key[0]}|")}  # drop stale versions
        stored[_memo_key(key)] = digest
        with contextlib.suppress(OSError):
            memo_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(memo_file, lambda h: h.write(json.dumps(stored, indent=1, sort_keys=True).encode()))
    return digest


def files_digest(paths: Iterable[Path]) -> dict[str, str]:
    """``{file name: sha256}`` of some files (sorted by name), each through :func:`file_sha256`."""
    return {Path(p).name: file_sha256(Path(p)) for p in sorted(paths, key=lambda p: Path(p).name)}


# -- one writer per cache entry --------------------------------------------------------------------------------


class _Lock:
    """An exclusive, blocking lock on a file (``flock`` on POSIX, ``msvcrt.locking`` on Windows).

    The OS releases it when the process dies, so a killed writer never blocks the next run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _try(self, fd: int) -> bool:
        try:
            if os.name == "posix":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def acquire(self, on_wait: Callable[[str], None] | None = None, poll: float = 0.2) -> None:
        """Block until this process holds the lock; ``on_wait(holder)`` is called once if it has to wait."""
        if self.held:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise CacheUnwritableError(
                f"cannot create the lock file {self.path} ({error.strerror}): point DV_CACHE (or --cache) at a "
                "writable folder"
            ) from error
        told = False
        while not self._try(fd):
            if not told and on_wait is not None:
                holder = ""
                with contextlib.suppress(OSError):
                    os.lseek(fd, 0, os.SEEK_SET)
                    holder = os.read(fd, 64).decode(errors="replace").strip()
                on_wait(holder or "(unknown)")
                told = True
            time.sleep(poll)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (no-op if not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if os.name == "posix":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
            else:  # pragma: no cover - Windows
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)


_HELD = threading.local()
F = TypeVar("F", bound=Callable[..., Any])


def _held() -> list[_Lock]:
    if not hasattr(_HELD, "locks"):
        _HELD.locks = []
    return _HELD.locks


def releases_locks(func: F) -> F:
    """Decorator: cache locks taken during ``func`` are released when it returns or raises.

    Put on every function that writes a :class:`ChunkCache` (an interrupted notebook cell must not keep
    other processes waiting).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = len(_held())
        try:
            return func(*args, **kwargs)
        finally:
            held = _held()
            while len(held) > before:
                held.pop().release()

    return wrapper  # type: ignore[return-value]


def _wait_message(folder: Path) -> Callable[[str], None]:
    def tell(holder: str) -> None:
        print(f"waiting for process {holder}, which is writing the cache {folder.name}; this run then reads "
              "its result", file=sys.stderr, flush=True)

    return tell


# -- the manifest ------------------------------------------------------------------------------------------------


def validate_manifest(manifest: Any, n_chunks: int | None = None) -> dict[str, Any]:
    """Check a parsed ``manifest.json``: schema, chunk count (``n_chunks`` if given) and checksum format.

    Returns it; raises :class:`CorruptCacheError` saying what is wrong.
    """
    if not isinstance(manifest, dict):
        raise CorruptCacheError(f"the manifest is a {type(manifest).__name__}, not an object")
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise CorruptCacheError(f"manifest schema {manifest.get('schema')!r} is not {MANIFEST_SCHEMA}")
    count = manifest.get("n_chunks")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise CorruptCacheError(f"manifest chunk count {count!r} is not a positive whole number")
    if n_chunks is not None and count != n_chunks:
        raise CorruptCacheError(f"manifest lists {count} chunks; this cache has {n_chunks}")
    hashes = manifest.get("sha256")
    if not isinstance(hashes, list) or len(hashes) != count:
        have = len(hashes) if isinstance(hashes, list) else "no"
        raise CorruptCacheError(f"manifest has {have} chunk checksums for {count} chunks")
    if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
        raise CorruptCacheError("manifest has a malformed chunk checksum")
    if not isinstance(manifest.get("meta"), dict):
        raise CorruptCacheError("manifest has no metadata object")
    return manifest


class ChunkCache:
    """Chunks of arrays under ``root/<prefix>-<hash>/``, keyed by ``material`` (JSON-able).

    ``n_chunks``: how many chunks a complete entry has (checked against the manifest when given).
    """

    def __init__(self, root: Path, material: dict[str, Any], prefix: str = "harvest",
                 n_chunks: int | None = None) -> None:
        self.material = {"format": CACHE_FORMAT, **material}
        text = json.dumps(self.material, sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.folder = Path(root) / f"{prefix}-{self.key}"
        self.n_chunks = n_chunks
        self._lock = _Lock(Path(root) / f".{prefix}-{self.key}.lock")

    # -- writing -----------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the folder, check its spec and clear stray temporary files of writers that are gone."""
        ensure_writable(self.folder)
        spec = self.folder / "spec.json"
        if spec.exists():
            try:
                stored = json.loads(spec.read_text())
            except (OSError, ValueError):
                stored = None
            if stored != json.loads(json.dumps(self.material, default=str)):
                raise CorruptCacheError(f"{spec} describes other settings than this run")
        else:
            atomic_write(spec, lambda h: h.write(json.dumps(self.material, indent=1, default=str).encode()))
        for stray in self.folder.glob(".tmp-*"):
            owner = _TMP.match(stray.name)
            if owner is None or (int(owner.group(1)) == os.getpid() and self._lock.held) \
                    or not _pid_alive(int(owner.group(1))):
                stray.unlink(missing_ok=True)

    def chunk_path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.npz"

    def checksum_path(self, index: int) -> Path:
        """The chunk's own recorded SHA-256 (``chunk-NNNNN.sha256``), written after the chunk: what healing
        checks a chunk against when the manifest cannot be trusted."""
        return self.folder / f"chunk-{index:05d}.sha256"

    def write_chunk(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one chunk atomically, then its checksum (a chunk without one is never reused)."""
        atomic_write(self.chunk_path(index), lambda h: np.savez(h, **arrays))
        self._record_checksum(index, _sha256(self.chunk_path(index)))

    def _record_checksum(self, index: int, sha: str) -> None:
        atomic_write(self.checksum_path(index), lambda h: h.write(sha.encode()))

    def read_chunk(self, index: int) -> dict[str, np.ndarray]:
        """Read one chunk; :class:`CorruptCacheError` if it cannot be read."""
        try:
            with np.load(self.chunk_path(index)) as data:
                return {name: data[name] for name in data.files}
        except Exception as error:  # zip, pickle and OS errors all mean the same here
            raise CorruptCacheError(f"unreadable chunk {self.chunk_path(index)}: {error}") from error

    def has_chunk(self, index: int) -> bool:
        """True if the chunk exists, matches its own recorded checksum and reads cleanly (a resumed run skips
        it); otherwise it is removed, to be recomputed: a readable chunk altered after it was written is never
        reused, with or without a manifest."""
        path, record = self.chunk_path(index), self.checksum_path(index)
        if not path.exists():
            return False
        try:
            if not record.is_file() or record.read_text().strip() != _sha256(path):
                raise CorruptCacheError(f"chunk {path.name} does not match its recorded checksum")
            self.read_chunk(index)
            return True
        except (CorruptCacheError, OSError):
            path.unlink(missing_ok=True)
            record.unlink(missing_ok=True)
            return False

    def finalize(self, n_chunks: int, meta: dict[str, Any]) -> None:
        """Record checksums and metadata (the cache counts as complete only after this); release the lock."""
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "n_chunks": n_chunks,
            "sha256": [_sha256(self.chunk_path(i)) for i in range(n_chunks)],
            "meta": meta,
        }
        try:
            atomic_write(self.folder / "manifest.json",
                         lambda h: h.write(json.dumps(manifest, indent=1, default=str).encode()))
        finally:
            self.release()

    def release(self) -> None:
        """Let other processes write this entry (done by :meth:`finalize` and :func:`releases_locks`)."""
        self._lock.release()
        with contextlib.suppress(ValueError):
            _held().remove(self._lock)

    # -- reading -----------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return (self.folder / "manifest.json").exists()

    def manifest(self, n_chunks: int | None = None) -> dict[str, Any]:
        """The validated manifest (:func:`validate_manifest`); :class:`CorruptCacheError` if it fails."""
        try:
            manifest = json.loads((self.folder / "manifest.json").read_text())
        except (OSError, ValueError) as error:
            raise CorruptCacheError(f"unreadable manifest in {self.folder}: {error}") from error
        return validate_manifest(manifest, self.n_chunks if n_chunks is None else n_chunks)

    def damaged_chunks(self, manifest: dict[str, Any]) -> list[int]:
        """Indices of the chunks that are missing or whose checksum differs from ``manifest``'s."""
        return [i for i, expected in enumerate(manifest["sha256"])
                if not self.chunk_path(i).is_file() or _sha256(self.chunk_path(i)) != expected]

    def load(self, n_chunks: int | None = None) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]]:
        """Metadata and all chunks of a complete cache, manifest and checksums verified.

        Raises :class:`CorruptCacheError` on any failure (nothing is deleted here).
        """
        manifest = self.manifest(n_chunks)
        try:
            stored = json.loads((self.folder / "spec.json").read_text())
        except (OSError, ValueError) as error:
            raise CorruptCacheError(f"unreadable spec in {self.folder}: {error}") from error
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

    def load_complete(self, n_chunks: int | None = None
                      ) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]] | None:
        """Metadata and chunks of a complete, intact cache; ``None`` otherwise.

        Read-only: a damaged cache is left to :meth:`prepare`, which repairs it under the writer's lock.
        """
        if not self.complete:
            return None
        try:
            return self.load(n_chunks)
        except CorruptCacheError:
            return None

    def prepare(self) -> None:
        """Become this entry's only writer and make it resumable.

        Waits for the lock (another process writing the same entry finishes first), then :meth:`open` (a
        folder written for other settings is deleted, with a warning) and heals what :meth:`load_complete`
        refused: a manifest that fails validation is removed (the chunks are kept: the resumed run reuses those
        that match their own recorded checksum, :meth:`has_chunk`, recomputes the others and writes a new
        manifest); chunks whose checksum does not match are removed alone,
        with a warning, so only they are recomputed.
        """
        ensure_writable(self.folder.parent)
        self._lock.acquire(on_wait=_wait_message(self.folder))
        if self._lock not in _held():
            _held().append(self._lock)
        try:
            self.open()
        except CorruptCacheError as error:
            warnings.warn(f"discarding a mismatched cache: {error}", stacklevel=3)
            self.clear()
            self.open()
        if not self.complete:
            return
        try:
            manifest = self.manifest()
        except CorruptCacheError as error:
            warnings.warn(f"corrupt cache manifest in {self.folder.name} ({error}); keeping the chunks "
                          "that match their own recorded checksums and writing a new manifest", stacklevel=3)
            (self.folder / "manifest.json").unlink(missing_ok=True)
            return
        bad = self.damaged_chunks(manifest)
        if bad:
            for i, sha in enumerate(manifest["sha256"]):  # the intact chunks, verified by the manifest
                if i not in bad and not self.checksum_path(i).is_file():
                    self._record_checksum(i, sha)
            names = ", ".join(self.chunk_path(i).name for i in bad)
            warnings.warn(f"corrupt cache chunk(s) in {self.folder.name}: {names} (missing or checksum mismatch); "
                          "rebuilding only those", stacklevel=3)
            (self.folder / "manifest.json").unlink(missing_ok=True)
            for i in bad:
                self.chunk_path(i).unlink(missing_ok=True)


def chunk_cache(setting: str | Path | bool | None, material: dict[str, Any],
                prefix: str = "harvest", n_chunks: int | None = None) -> ChunkCache | None:
    """The cache for ``material`` in the folder chosen by ``setting`` (``n_chunks``: chunks when complete).

    ``False``: no cache; ``None`` or ``True``: the cache setting (``DV_CACHE``); a path: that folder.
    """
    folder = cache_folder(setting)
    return None if folder is None else ChunkCache(folder, material, prefix, n_chunks)


def cache_folder(setting: str | Path | bool | None) -> Path | None:
    """The cache folder for a ``cache=`` argument: ``None`` for ``False``, the setting for ``None``/``True``."""
    if setting is False:
        return None
    from darkness_visible.config.settings import cache_dir

    if setting in (None, True):
        return cache_dir()
    folder = cache_dir(setting)
    _CHOSEN[:] = [folder]
    return folder


def _entry(setting: str | Path | bool | None, material: dict[str, Any], prefix: str, suffix: str) -> Path | None:
    """The file of one small cached result: ``<prefix>-<digest of material>.<suffix>``, or ``None`` (no cache)."""
    folder = cache_folder(setting)
    if folder is None:
        return None
    text = json.dumps({"format": CACHE_FORMAT, "prefix": prefix, **material}, sort_keys=True, default=str)
    return ensure_writable(folder) / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.{suffix}"


def _discard(path: Path, error: Exception) -> None:
    warnings.warn(f"discarding an unreadable cache file {path.name} and recomputing it: {error}", stacklevel=3)
    path.unlink(missing_ok=True)


_KEYS = "__keys__"


def cached_arrays(setting: str | Path | bool | None, material: dict[str, Any], prefix: str,
                  compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``compute()``'s arrays, stored once as ``<prefix>-<key>.npz`` in the cache folder and read back after.

    For small results computed in one go (integrated gradients of a prompt set, for example), where the
    chunked :class:`ChunkCache` would be overkill. ``material`` is everything the arrays depend on (model
    key with its weight digest, inputs, configuration); its JSON digest names the file, so a change of any of
    it computes afresh. The file is written atomically (never half-written) and read without pickle, with the
    list of its arrays' names: a file that cannot be read, or whose arrays are not exactly the ones written
    (an npz with other keys), is discarded with a warning and recomputed. ``setting`` as in
    :func:`cache_folder` (``False``: compute, store nothing).
    """
    path = _entry(setting, material, prefix, "npz")
    if path is None:
        return compute()
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                names = set(data.files) - {_KEYS}
                if _KEYS not in data.files or {str(k) for k in data[_KEYS].tolist()} != names:
                    raise ValueError(f"its arrays {sorted(names)} are not the ones written")
                return {name: data[name] for name in sorted(names)}
        except Exception as error:  # noqa: BLE001 - any unreadable file is recomputed, never trusted
            _discard(path, error)
    arrays = {name: np.asarray(value) for name, value in compute().items()}
    if _KEYS in arrays:
        raise ValueError(f"{_KEYS} is reserved in cached_arrays")
    keys = np.array(sorted(arrays), dtype=np.str_) if arrays else np.zeros(0, dtype="<U1")
    atomic_write(path, lambda handle: np.savez(handle, **arrays, **{_KEYS: keys}))
    return arrays


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists, for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def cached_json(setting: str | Path | bool | None, material: dict[str, Any], prefix: str,
                compute: Callable[[], Any], valid: Callable[[Any], bool] | None = None) -> Any:
    """``compute()``'s JSON-able result (numbers, strings, lists, dicts; numpy scalars are converted), stored
    once as ``<prefix>-<key>.json`` like :func:`cached_arrays`, and returned as read back from JSON (so the
    first call and later ones return the same types).

    The file holds ``{"format": CACHE_FORMAT, "value": result}``; anything else read back (``{}``, ``[]``,
    ``null``, a file of another version, text that is not JSON), or a value ``valid`` (if given) refuses, is
    discarded with a warning and recomputed."""
    path = _entry(setting, material, prefix, "json")
    if path is None:
        return json.loads(json.dumps(compute(), default=_plain))
    if path.exists():
        try:
            data = json.loads(path.read_text())
            if not (isinstance(data, dict) and set(data) == {"format", "value"} and data["format"] == CACHE_FORMAT):
                raise ValueError("not a cached result of this version")
            if valid is not None and not valid(data["value"]):
                raise ValueError("its value has an unexpected shape")
            return data["value"]
        except Exception as error:  # noqa: BLE001 - any unreadable file is recomputed, never trusted
            _discard(path, error)
    text = json.dumps({"format": CACHE_FORMAT, "value": compute()}, default=_plain)
    atomic_write(path, lambda handle: handle.write(text.encode()))
    return json.loads(text)["value"]


def array_digest(*arrays: Any) -> str:
    """A digest of arrays' contents (dtype, shape and bytes; ``None`` allowed): the part of a cache key that
    names a result computed *from* arrays, e.g. a discovery on firing masks, whatever produced them."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a.reshape(-1)).cast("B"))
    return digest.hexdigest()


def source_digest(*modules: Any) -> str:
    """A digest of the source files of ``modules``: part of a cache key for results whose meaning is the
    code that computed them (a discovery procedure, say), so that editing that code computes them afresh."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]
