import numpy as np
import pytest

from darkness_visible import harvest as hv
from darkness_visible.cache import ChunkCache, CorruptCacheError
from darkness_visible.corpus import CorpusSpec
from darkness_visible.firing import FIRE_ABS
from darkness_visible.harvest import HarvestConfig, Variant, harvest

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
    from darkness_visible.model import load_model

    harvest(load_model("tiny:1"), CORPUS, CONFIG, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("harvest-*"))) == 4
    # batch size is not part of the key: same cache
    harvest(tiny, CORPUS, HarvestConfig(**{**CONFIG.__dict__, "batch_size": 3}), cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("harvest-*"))) == 4


def test_results_are_memory_mapped_from_one_file_per_array(tiny, tmp_path):
    """A cached harvest is consolidated into .npy files (chunks removed) and read through memory maps."""
    clean = harvest(tiny, CORPUS, CONFIG, cache=False, progress=False)
    first = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    folder = next(tmp_path.glob("harvest-*"))
    assert not list(folder.glob("chunk-*")), "one copy on disk"
    assert all(isinstance(a, np.memmap) for a in first.arrays.values())
    _same(clean, first)
    (folder / "arrays" / "index.json").unlink()  # a consolidation killed before its index: not trusted
    with pytest.warns(UserWarning, match="corrupt"):
        again = harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    _same(clean, again)


def test_corrupt_cache_is_detected_and_rebuilt(tiny, tmp_path):
    clean = harvest(tiny, CORPUS, CONFIG, cache=False, progress=False)
    harvest(tiny, CORPUS, CONFIG, cache=tmp_path, progress=False)
    chunk = next(tmp_path.glob("harvest-*/arrays/logprob__full.npy"))
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
    assert sorted(p.name for p in folder.glob("chunk-*")) == ["chunk-00000.npz"]
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
