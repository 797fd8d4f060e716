import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.io import cache
from darkness_visible.io.cache import ChunkCache, CorruptCacheError
from darkness_visible.models.loading import load_model
from darkness_visible.tracing import harvest as hv
from darkness_visible.tracing.firing import FIRE_ABS
from darkness_visible.tracing.harvest import HarvestConfig, Variant, harvest

CONFIG = HarvestConfig(record=(1,), tiers=(), rules=(FIRE_ABS,), variants=(Variant("no_mlp", whole_mlp=True),))
CORPUS = CorpusSpec(n_windows=9, window=32, source="local")  # 3 chunks of 4, 4 and 1 windows


def _same(a, b):
    assert a.arrays.keys() == b.arrays.keys()
    for k in a.arrays:
        assert np.array_equal(a[k], b[k]), k


def _count_traces(monkeypatch):
    calls = {"n": 0}
    real = hv.trace_batch

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(hv, "trace_batch", counting)
    return calls


def test_round_trip_loads_without_running_the_model(tiny, tmp_path, monkeypatch):
    first = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    calls = _count_traces(monkeypatch)
    second = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    assert calls["n"] == 0
    _same(first, second)
    assert second.meta["corpus"]["n_windows"] == 9


def test_other_settings_never_reuse_a_cache(tiny, tmp_path):
    harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    other = HarvestConfig(record=(2,), tiers=(), rules=(FIRE_ABS,), variants=CONFIG.variants)
    harvest(tiny, CORPUS, other, cache=tmp_path, progress=False)
    harvest(tiny, CorpusSpec(n_windows=8, window=32, source="local"), CONFIG, cache=tmp_path, progress=False)
    from darkness_visible.models.loading import load_model

    harvest(load_model("tiny:1"), CORPUS, CONFIG, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("harvest-*"))) == 4
    # batch size is not part of the key: same cache
    harvest(tiny, CORPUS, HarvestConfig(**{**CONFIG.__dict__, "batch_size": 3}), cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("harvest-*"))) == 4


def test_results_are_memory_mapped_from_one_file_per_array(tiny, tmp_path, monkeypatch):
    """A cached harvest is consolidated into one .npy per array and read through memory maps; arrays that
    cannot be trusted are rebuilt from the chunks without a new forward pass."""
    clean = harvest(tiny, CORPUS, CONFIG, cache=False, progress=False)
    first = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = next(tmp_path.glob("harvest-*"))
    assert all(isinstance(a, np.memmap) for a in first.arrays.values())
    _same(clean, first)
    calls = _count_traces(monkeypatch)
    (folder / "arrays" / "index.json").unlink()  # a consolidation killed before its index: not trusted
    _same(clean, harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False))
    assert (folder / "arrays" / "index.json").is_file()
    array = folder / "arrays" / "logprob__full.npy"
    data = bytearray(array.read_bytes())
    data[len(data) // 2] ^= 0xFF
    array.write_bytes(bytes(data))  # a damaged array file fails its checksum
    _same(clean, harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False))
    assert calls["n"] == 0, "rebuilt from the chunks, not recomputed"


def test_corrupt_cache_is_detected_and_rebuilt(tiny, tmp_path):
    clean = harvest(tiny, CORPUS, CONFIG, cache=False, progress=False)
    harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = next(tmp_path.glob("harvest-*"))
    (folder / "arrays" / "index.json").unlink()
    chunk = folder / "chunk-00001.npz"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="corrupt"):
        rebuilt = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    _same(clean, rebuilt)


def test_interrupted_harvest_leaves_no_manifest_and_resumes(tiny, tmp_path, monkeypatch):
    clean = harvest(tiny, CORPUS, CONFIG, cache=False, progress=False)
    real = hv.summarise_batch
    state = {"n": 0}

    def dies_on_third_batch(*args, **kwargs):
        state["n"] += 1
        if state["n"] == 3:
            raise KeyboardInterrupt("killed mid-run")
        return real(*args, **kwargs)

    monkeypatch.setattr(hv, "summarise_batch", dies_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = next(tmp_path.glob("harvest-*"))
    assert not (folder / "manifest.json").exists()
    assert sorted(p.name for p in folder.glob("chunk-*.npz")) == ["chunk-00000.npz"]
    (folder / ".tmp-stray").write_bytes(b"half a chunk")
    monkeypatch.setattr(hv, "summarise_batch", real)
    calls = _count_traces(monkeypatch)
    resumed = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    assert calls["n"] == 3, "only the two unfinished chunks (2 + 1 batches of 2) are recomputed"
    assert not list(folder.glob(".tmp-*"))
    _same(clean, resumed)


def test_chunk_cache_spec_mismatch(tmp_path):
    a = ChunkCache(tmp_path, {"x": 1})
    a.open()
    (a.folder / "spec.json").write_text('{"format": 1, "x": 2}')
    with pytest.raises(CorruptCacheError, match="other settings"):
        a.open()


# -- issue 15: the cache never returns wrong data, heals what it can, one writer at a time ------------------



TOKENS = CORPUS.n_windows * CORPUS.window


def _folder(root):
    (folder,) = root.glob("harvest-*")
    return folder


def _manifest(root):
    return json.loads((_folder(root) / "manifest.json").read_text())


def test_a_manifest_listing_too_few_chunks_is_not_trusted(tiny, tmp_path, monkeypatch):
    clean = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    manifest = _manifest(tmp_path)
    manifest["n_chunks"], manifest["sha256"] = 2, manifest["sha256"][:2]
    (_folder(tmp_path) / "manifest.json").write_text(json.dumps(manifest))
    calls = _count_traces(monkeypatch)
    with pytest.warns(UserWarning, match="corrupt cache manifest"):
        again = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    assert again.n_tokens == TOKENS
    _same(clean, again)
    assert calls["n"] == 0, "the three chunks on disk are whole: the manifest is rewritten, nothing recomputed"
    assert len(_manifest(tmp_path)["sha256"]) == 3


def test_a_manifest_without_checksums_is_healed(tiny, tmp_path, monkeypatch):
    clean = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    manifest = _manifest(tmp_path)
    del manifest["sha256"]
    (_folder(tmp_path) / "manifest.json").write_text(json.dumps(manifest))
    calls = _count_traces(monkeypatch)
    with pytest.warns(UserWarning, match="corrupt cache manifest"):
        healed = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    _same(clean, healed)
    assert calls["n"] == 0
    assert len(_manifest(tmp_path)["sha256"]) == 3
    _same(clean, harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False))  # and reads cleanly after


def test_one_damaged_chunk_is_rebuilt_alone(tiny, tmp_path, monkeypatch):
    clean = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = _folder(tmp_path)
    untouched = {i: folder.joinpath(f"chunk-0000{i}.npz").stat().st_mtime_ns for i in (0, 2)}
    # the memory-mapped arrays (checksummed) serve reads; the chunks are read when the arrays are rebuilt
    (folder / "arrays" / "index.json").unlink()
    chunk = folder / "chunk-00001.npz"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    calls = _count_traces(monkeypatch)
    with pytest.warns(UserWarning, match="chunk-00001.npz"):
        rebuilt = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    _same(clean, rebuilt)
    assert calls["n"] == 2, "only chunk 1 (4 windows, batches of 2) is recomputed"
    assert {i: folder.joinpath(f"chunk-0000{i}.npz").stat().st_mtime_ns for i in (0, 2)} == untouched


@pytest.mark.parametrize("manifest", ["{\"schema\": 2, \"n_ch", "delete"])
def test_a_damaged_manifest_and_an_altered_readable_chunk_are_rebuilt_not_served(manifest, tiny, tmp_path,
                                                                                  monkeypatch):
    """The double fault of issue 27: with the manifest gone or unreadable, a chunk whose numbers were changed
    (a readable npz) is checked against its own recorded checksum and recomputed alone, not republished."""
    clean = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = _folder(tmp_path)
    shutil.rmtree(folder / "arrays")  # the arrays are rebuilt from the chunks
    chunk = folder / "chunk-00001.npz"
    with np.load(chunk) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["logprob/no_mlp"] = arrays["logprob/no_mlp"] + 1.0
    with chunk.open("wb") as handle:
        np.savez(handle, **arrays)
    if manifest == "delete":
        (folder / "manifest.json").unlink()
    else:
        (folder / "manifest.json").write_text(manifest)
    calls = _count_traces(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        healed = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    _same(clean, healed)
    assert calls["n"] == 2, "only chunk 1 (4 windows, batches of 2) is recomputed"


def test_layer_11_minus_1_and_default_share_one_cache(tiny, tmp_path, monkeypatch):
    config = HarvestConfig(layer=None, record=(1,), tiers=(), rules=(FIRE_ABS,), variants=())
    first = harvest(tiny, CORPUS, config, cache=tmp_path, progress=False)
    calls = _count_traces(monkeypatch)
    for layer in (-1, tiny.n_layers - 1):
        again = harvest(tiny, CORPUS, HarvestConfig(**{**config.__dict__, "layer": layer}), cache=tmp_path,
                        progress=False)
        _same(first, again)
    assert calls["n"] == 0 and len(list(tmp_path.glob("harvest-*"))) == 1


def test_new_weights_in_the_same_folder_never_reuse_the_cache(tmp_path):
    folder, cache = tmp_path / "ckpt", tmp_path / "cache"
    load_model("tiny:0").hf.save_pretrained(folder)
    first = harvest(load_model(str(folder)), CORPUS, CONFIG, cache=cache, progress=False)
    load_model("tiny:1").hf.save_pretrained(folder)  # other weights, same path
    subject = load_model(str(folder))
    second = harvest(subject, CORPUS, CONFIG, cache=cache, progress=False)
    truth = harvest(subject, CORPUS, CONFIG, cache=False, progress=False)
    _same(truth, second)
    assert not np.array_equal(first["logprob/full"], second["logprob/full"])
    assert len(list(cache.glob("harvest-*"))) == 2


def test_file_hashes_are_memoised_by_size_and_mtime(tmp_path, monkeypatch):
    from darkness_visible.io import cache as dvc

    calls = {"n": 0}
    real = dvc._sha256

    def counting(path):
        calls["n"] += 1
        return real(path)

    monkeypatch.setattr(dvc, "_sha256", counting)
    monkeypatch.setattr(dvc, "_DIGESTS", {})
    memo = tmp_path / "memo.json"
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 1000)
    first = dvc.file_sha256(weights, memo=memo)
    assert dvc.file_sha256(weights, memo=memo) == first and calls["n"] == 1
    monkeypatch.setattr(dvc, "_DIGESTS", {})  # a new process: the memo file answers
    assert dvc.file_sha256(weights, memo=memo) == first and calls["n"] == 1
    weights.write_bytes(b"b" * 1000)  # same size, rewritten: new mtime
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    second = dvc.file_sha256(weights, memo=memo)
    assert calls["n"] == 2 and second != first


def test_temp_files_of_live_writers_are_kept(tmp_path):
    store = ChunkCache(tmp_path, {"x": 1})
    store.open()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        live_tmp = store.folder / f".tmp-{alive.pid}-abc"
        dead_tmp = store.folder / f".tmp-{dead.pid}-def"
        for path in (live_tmp, dead_tmp):
            path.write_bytes(b"half a chunk")
        store.open()  # what a writer does first: clear the strays of killed runs
        assert live_tmp.exists(), "another live process's temporary file must not be deleted"
        assert not dead_tmp.exists()
    finally:
        alive.kill()
        alive.wait()


def test_an_interrupted_writer_releases_its_lock(tiny, tmp_path, monkeypatch):
    import fcntl

    def dies(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-run")

    monkeypatch.setattr(hv, "summarise_batch", dies)
    with pytest.raises(KeyboardInterrupt):
        harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    (lock,) = tmp_path.glob(".harvest-*.lock")
    with lock.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if still held


WRITER = """
import sys, time, pathlib
import numpy as np
real, ready, go = np.savez, pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def slow(handle, **arrays):  # the first chunk's temporary file stays open until the test says go
    real(handle, **arrays)
    if not ready.exists():
        ready.touch()
        deadline = time.time() + 120
        while not go.exists() and time.time() < deadline:
            time.sleep(0.05)
np.savez = slow
from darkness_visible.cli import main
sys.exit(main(sys.argv[3:]))
"""
READER = """
import sys
from darkness_visible.tracing import harvest as hv
from darkness_visible.cli import main
calls = [0]
real = hv.trace_batch
def counting(*args, **kwargs):
    calls[0] += 1
    return real(*args, **kwargs)
hv.trace_batch = counting
code = main(sys.argv[1:])
print("TRACES", calls[0])
sys.exit(code)
"""


def test_two_processes_harvesting_one_entry_do_not_collide(tiny, tmp_path):
    """A second harvest of the same entry starts while the first is writing a chunk: it waits for the first,
    then reads its result; neither deletes the other's files."""
    cache, ready, go = tmp_path / "cache", tmp_path / "ready", tmp_path / "go"
    args = ["harvest", "--model", "tiny", "--windows", "6", "--cache", str(cache), "--quiet", "--batch-size", "2"]
    env = {**os.environ, "DV_CORPUS_SOURCE": "local", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(hv.__file__).resolve().parents[2]),  # this very package
                                          os.environ.get("PYTHONPATH", "")])}
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(ready), str(go), *args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = None
    try:
        deadline = time.time() + 240
        while not ready.exists() and writer.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the writer never wrote a chunk"
        reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(READER), *args], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in reader.stderr:  # until the reader says it waits (or ends without waiting)
            seen.append(line)
            if "waiting for process" in line:
                break
        go.touch()
        w_out, w_err = writer.communicate(timeout=300)
        r_out, r_err = reader.communicate(timeout=300)
    finally:
        for proc in (writer, reader):
            if proc is not None:
                proc.kill()
    assert writer.returncode == 0, w_err[-2000:]
    assert reader.returncode == 0, ("".join(seen) + r_err)[-2000:]
    assert any(f"waiting for process {writer.pid}" in line for line in seen)
    assert "TRACES 0" in r_out, "the second process reads the first one's result instead of recomputing it"
    folder = _folder(cache)
    assert not list(folder.glob(".tmp-*"))
    corpus = CorpusSpec(n_windows=6, window=128, source="local")
    clean = harvest(tiny, corpus, HarvestConfig.for_model(tiny), cache=False, progress=False)
    _same(clean, harvest(tiny, corpus, HarvestConfig.for_model(tiny), cache=cache, progress=False))


# -- the manifest as a space: whatever it says, a load returns the right chunks or nothing ---------------------

CHUNKS = [{"a": np.arange(4) + 10 * i} for i in range(3)]


def _written(root: Path) -> ChunkCache:
    store = ChunkCache(root, {"x": 1}, n_chunks=3)
    if not store.complete:
        store.prepare()
        for i, chunk in enumerate(CHUNKS):
            store.write_chunk(i, chunk)
        store.finalize(3, {"m": 1})
    return store


HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5) | HEX,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4), max_leaves=10)


@st.composite
def mutated_manifests(draw):
    """A valid manifest with some fields dropped, replaced or truncated, or arbitrary JSON."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(JSONISH)
    valid = {"schema": 2, "n_chunks": 3, "sha256": None, "meta": {"m": 1}}
    for key in draw(st.lists(st.sampled_from(sorted(valid)), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "replace", "truncate", "extend"]))
        if action == "drop":
            valid.pop(key)
        elif action == "replace":
            valid[key] = draw(JSONISH)
        else:
            valid[key] = (action, draw(st.integers(0, 4)), draw(HEX))
    return valid


def _realise(manifest, hashes):
    if isinstance(manifest, dict):
        value = manifest.get("sha256", "absent")
        if value is None:
            manifest["sha256"] = list(hashes)
        elif isinstance(value, tuple):
            action, k, extra = value
            manifest["sha256"] = list(hashes)[:k] if action == "truncate" else [*hashes, *[extra] * k]
    return manifest


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=mutated_manifests())
def test_any_manifest_yields_the_right_chunks_or_a_rebuild(tmp_path_factory, manifest):
    root = tmp_path_factory.mktemp("m")
    store = _written(root)
    hashes = json.loads((store.folder / "manifest.json").read_text())["sha256"]
    manifest = _realise(manifest, hashes)
    (store.folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = store.load_complete()
    intact = manifest == {"schema": 2, "n_chunks": 3, "sha256": hashes, "meta": {"m": 1}}
    if loaded is None:
        assert not intact
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store.prepare()  # heals: whatever is left is resumable and whole
        assert all(store.has_chunk(i) for i in range(3))
        store.finalize(3, {"m": 1})
        loaded = store.load_complete()
    meta, chunks = loaded
    assert len(chunks) == 3
    for got, want in zip(chunks, CHUNKS, strict=True):
        assert np.array_equal(got["a"], want["a"])


# --- cached_arrays: small results computed in one go -----------------------------------------------------------


def test_cached_arrays_computes_once_per_material_and_never_reuses_other_material(tmp_path):
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return {"x": np.arange(3) * value, "name": np.array(["a", "b"])}
        return run

    first = cache.cached_arrays(tmp_path, {"m": 1}, "demo", compute(1))
    again = cache.cached_arrays(tmp_path, {"m": 1}, "demo", compute(99))  # same material: read, not run
    other = cache.cached_arrays(tmp_path, {"m": 2}, "demo", compute(2))
    assert calls == [1, 2]
    np.testing.assert_array_equal(again["x"], first["x"])
    assert list(again["name"]) == ["a", "b"]
    np.testing.assert_array_equal(other["x"], [0, 2, 4])
    assert len(list(tmp_path.glob("demo-*.npz"))) == 2
    assert not list(tmp_path.glob(".tmp-*"))
    assert cache.cached_arrays(False, {"m": 1}, "demo", compute(5))["x"][1] == 5  # no cache: always computed


def test_cached_arrays_recomputes_an_unreadable_file(tmp_path):
    cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.ones(4)})
    (path,) = tmp_path.glob("demo-*.npz")
    path.write_bytes(path.read_bytes()[:40])  # a truncated file, as a killed copy would leave
    with pytest.warns(UserWarning, match="unreadable cache file"):
        out = cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.zeros(4)})
    np.testing.assert_array_equal(out["x"], np.zeros(4))
    np.testing.assert_array_equal(cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.ones(4)})["x"],
                                  np.zeros(4))  # the recomputed file is the one kept


def test_array_digest_follows_content_dtype_and_shape():
    import numpy as np

    from darkness_visible.io.cache import array_digest

    a = np.arange(12, dtype=np.int32)
    assert array_digest(a) == array_digest(a.copy()) == array_digest(a[::-1][::-1])
    assert array_digest(a) != array_digest(a.astype(np.int64))
    assert array_digest(a) != array_digest(a.reshape(3, 4))
    b = a.copy()
    b[5] += 1
    assert array_digest(a) != array_digest(b)
    assert array_digest(a, None) != array_digest(a) and array_digest(None) == array_digest(None)
    assert array_digest(np.zeros((4, 3), bool).T) == array_digest(np.ascontiguousarray(np.zeros((3, 4), bool)))


# -- issue 27: nothing is written outside the chosen cache folder --------------------------------------------


def test_the_file_hash_memo_lives_in_the_chosen_cache_folder(save_gpt2, tmp_path, monkeypatch, capsys):
    """--cache X puts the weights' hash memo in X, not in ~/.cache/darkness-visible (nor DV_CACHE's folder)."""
    from darkness_visible.cli import main

    home, elsewhere, chosen = tmp_path / "home", tmp_path / "dv-cache-env", tmp_path / "chosen"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("DV_CACHE", str(elsewhere))
    monkeypatch.chdir(tmp_path)
    folder = save_gpt2()
    assert main(["harvest", "--model", str(folder), "--windows", "1", "--cache", str(chosen), "--quiet"]) == 0
    assert (chosen / "file-sha256.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen"], "written outside the chosen cache folder"


def test_the_python_cache_argument_also_chooses_the_memo_folder(tmp_path):
    chosen = tmp_path / "chosen"
    cache.cache_folder(chosen)
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x" * 10)
    cache.file_sha256(weights)
    assert (chosen / "file-sha256.json").is_file()


@pytest.mark.parametrize("xdg", ["", "relative/cache"])
def test_an_empty_or_relative_xdg_cache_home_is_ignored(xdg, tmp_path, monkeypatch):
    from darkness_visible.config.settings import cache_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.delenv("DV_CACHE")
    monkeypatch.chdir(tmp_path)
    assert cache_dir() == tmp_path / "home" / ".cache" / "darkness-visible"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "darkness-visible"


# -- issue 27: a cache reader recomputes anything it did not write ---------------------------------------------

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=_JSON)
def test_cached_json_recomputes_arbitrary_json_it_did_not_write(stored, tmp_path):
    import warnings

    folder = tmp_path / "arbitrary"
    cache.cached_json(folder, {"m": 1}, "demo", lambda: {"a": 1})
    (path,) = folder.glob("demo-*.json")
    path.write_text(json.dumps(stored))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cache.cached_json(folder, {"m": 1}, "demo", lambda: {"a": 1},
                                valid=lambda v: isinstance(v, dict) and set(v) == {"a"})
    written_by_us = (isinstance(stored, dict) and set(stored) == {"format", "value"}
                     and stored["format"] == cache.CACHE_FORMAT and isinstance(stored["value"], dict)
                     and set(stored["value"]) == {"a"})
    assert got == (stored["value"] if written_by_us else {"a": 1})


@pytest.mark.parametrize("text", ["{}", "[]", "null", "3", '"x"', "{not json", ""])
def test_cached_json_recomputes_unexpected_files_with_a_warning(text, tmp_path):
    cache.cached_json(tmp_path, {"m": 1}, "demo", lambda: [1, 2])
    (path,) = tmp_path.glob("demo-*.json")
    path.write_text(text)
    with pytest.warns(UserWarning, match="recomputing"):
        assert cache.cached_json(tmp_path, {"m": 1}, "demo", lambda: [1, 2]) == [1, 2]
    assert cache.cached_json(tmp_path, {"m": 1}, "demo", lambda: [9]) == [1, 2], "healed: read back now"


def test_cached_arrays_recomputes_an_npz_with_other_keys(tmp_path):
    cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.ones(3)})
    (path,) = tmp_path.glob("demo-*.npz")
    np.savez(path.with_suffix(""), y=np.zeros(3))  # np.savez appends .npz
    with pytest.warns(UserWarning, match="recomputing"):
        out = cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.ones(3)})
    assert set(out) == {"x"}
    assert set(cache.cached_arrays(tmp_path, {"m": 1}, "demo", lambda: {"x": np.zeros(3)})) == {"x"}


def _harvest_cli(cache_folder):
    from darkness_visible.cli import main

    return main(["harvest", "--model", "tiny", "--windows", "1", "--cache", str(cache_folder), "--quiet"])


@pytest.mark.parametrize("kind", ["file in the way", "read-only"])
def test_an_unwritable_arrays_folder_is_one_line(kind, tmp_path, capsys):
    import shutil

    if kind == "read-only" and hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    assert _harvest_cli(tmp_path / "c") == 0
    (arrays,) = (tmp_path / "c").glob("harvest-*/arrays")
    shutil.rmtree(arrays)
    if kind == "file in the way":
        arrays.write_text("x")
    else:
        arrays.mkdir()
        arrays.chmod(0o500)
    capsys.readouterr()
    try:
        assert _harvest_cli(tmp_path / "c") == 2
    finally:
        if arrays.is_dir():
            arrays.chmod(0o700)
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write to the cache folder") and "\n" not in err, err
    assert "arrays" in err


@pytest.mark.parametrize("text", ["{}", "[]", "null", '{"chunks": [], "n_tokens": 1, "arrays": {"x": 3}}'])
def test_an_arrays_index_of_another_shape_is_rebuilt(text, tmp_path, tiny):
    corpus = CorpusSpec(n_windows=1, window=128, source="local")
    first = harvest(tiny, corpus, HarvestConfig.for_model(tiny), cache=tmp_path, progress=False)
    (index,) = tmp_path.glob("harvest-*/arrays/index.json")
    index.write_text(text)
    again = harvest(tiny, corpus, HarvestConfig.for_model(tiny), cache=tmp_path, progress=False)
    for key in first.arrays:
        assert np.array_equal(first[key], again[key]), key
    assert json.loads(index.read_text())["arrays"]
