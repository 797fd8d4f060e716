import numpy as np
import pytest

from darkness_visible.data.corpus import (
    ContextLengthError,
    CorpusSpec,
    corpus_rows,
    encode,
    join_rows,
    token_stream,
    windows,
)
from darkness_visible.models.loading import load_tokenizer


def test_rows_are_kept_unmodified_and_blank_rows_dropped():
    rows = [" = Title = \n", " \n", "\n", " Body text .\n"]
    assert join_rows(rows) == " = Title = \n\n\n Body text .\n"


def test_local_test_split_looks_like_wikitext():
    rows, origin = corpus_rows("test", "local")
    assert "local" in origin
    assert len(rows) == 4358
    assert rows[1] == " = Robert Boulter = \n"


def test_stream_is_long_enough_for_the_papers_200_windows():
    stream, _ = token_stream(load_tokenizer(), CorpusSpec(source="local"))
    assert len(stream) >= 204_801
    assert stream.dtype == np.int32
    assert 50256 not in stream[:10], "no BOS / end-of-text token is prepended"


def test_windows_targets_are_next_tokens_across_window_boundaries():
    stream = np.arange(100, dtype=np.int32)
    inputs, targets = windows(stream, CorpusSpec(n_windows=3, window=10))
    assert inputs.shape == targets.shape == (3, 10)
    assert np.array_equal(targets, inputs + 1)
    assert targets[0, -1] == inputs[1, 0], "the last position predicts the next window's first token"


def test_too_few_tokens_names_the_fix():
    with pytest.raises(ValueError, match="at most 9"):
        windows(np.arange(100, dtype=np.int32), CorpusSpec(n_windows=20, window=10))


def test_encode_refuses_to_truncate():
    tok = load_tokenizer()
    assert encode(tok, "The capital of France is", n_ctx=1024) == [464, 3139, 286, 4881, 318]
    with pytest.raises(ContextLengthError, match="Split it"):
        encode(tok, "word " * 2000, n_ctx=1024)


def test_train_split_offline_says_what_to_do():
    with pytest.raises(FileNotFoundError, match="needs the Hugging Face hub"):
        corpus_rows("train", "local")


def test_head_tokenisation_equals_whole_text_tokenisation():
    tok = load_tokenizer()
    rows, _ = corpus_rows("test", "local")
    whole = np.asarray(tok(join_rows(rows), add_special_tokens=False, verbose=False)["input_ids"])
    head, _ = token_stream(tok, CorpusSpec(n_windows=3, window=1024, source="local"))
    assert 3 * 1024 + 1 < len(head) < len(whole)
    assert np.array_equal(head[: 3 * 1024 + 1], whole[: 3 * 1024 + 1])


def test_dsb_joins_the_first_rows_with_spaces(monkeypatch):
    from darkness_visible.data import corpus as C

    rows = [" = A = \n", "\n", " first row .\n", " second row .\n"] * 3000
    monkeypatch.setattr(C, "corpus_rows", lambda split, source: (rows, "fake hub"))
    tok = load_tokenizer()
    spec = CorpusSpec("train", 2, 16, "hub", construction="DS-B")
    stream, origin = C.token_stream(tok, spec)
    expected = " ".join(r for r in rows[: C.DSB_ROWS] if r.strip())
    want = tok(expected, add_special_tokens=False)["input_ids"]
    assert np.array_equal(stream, want[: len(stream)]) and len(stream) > 33
    assert "DS-B" in spec.describe() and "DS-B" not in CorpusSpec().describe()


def test_controls_fall_back_to_the_test_stream_offline(monkeypatch):
    from darkness_visible.analysis import controls

    monkeypatch.setattr(controls, "hub_corpus_available", lambda source: False)
    offline = controls.controls_corpus(CorpusSpec(n_windows=200))
    assert (offline.split, offline.n_windows, offline.window, offline.construction) == ("test", 195, 256, "DS-A")
    monkeypatch.setattr(controls, "hub_corpus_available", lambda source: True)
    online = controls.controls_corpus(CorpusSpec(n_windows=200))
    assert (online.split, online.construction, online.n_tokens) == ("train", "DS-B", 49_920)
