"""The WikiText-103 stream as the paper uses it, and prompt encoding without silent truncation.

DS-A (paper-claims §4): the raw test split, blank rows dropped, the remaining rows kept unmodified and
joined with ``"\\n\\n"``, tokenised once as one stream, cut into back-to-back 1,024-token windows. No
BOS token is prepended. The target of position j in window k is ``tokens[1024k + j + 1]``, so the last
position of a window predicts the first token of the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from darkness_visible.config.settings import setting
from darkness_visible.config.sizes import windows_setting
from darkness_visible.errors import ContextLengthError, CorpusError, SettingError, one_line
from darkness_visible.io import hub

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

Split = Literal["test", "train"]
Source = Literal["auto", "hub", "local"]
Construction = Literal["DS-A", "DS-B"]

#: DS-B (paper-claims §4): the first rows of the train split, joined with single spaces.
DSB_ROWS = 5000

__all__ = ["ContextLengthError", "CorpusSpec", "corpus_rows", "corpus_spec", "dsb_comparison", "encode", "join_rows",
           "split_setting", "token_stream", "windows"]


@dataclass(frozen=True)
class CorpusSpec:
    """Which slice of WikiText-103 a run reads.

    ``split="test"`` is the paper's DS-A (crossover, cross-layer, lens); ``"train"`` is the same
    construction on the train split (the recommended stand-in for the paper's unpublished train
    array behind the 31.79 perplexity). ``source="auto"`` uses the hub through ``datasets`` when it is
    reachable and the shipped test file otherwise.
    """

    split: Split = "test"
    n_windows: int = 200
    window: int = 1024
    source: Source = "auto"
    construction: Construction = "DS-A"

    def __post_init__(self) -> None:
        for name, low in (("n_windows", 1), ("window", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                flag = "--windows / DV_WINDOWS" if name == "n_windows" else "--window"
                raise SettingError(f"{name} must be a whole number, at least {low}, got {value!r}: set {flag} to "
                                   f"{low} or more")
        for name, allowed in (("split", ("test", "train")), ("source", ("auto", "hub", "local")),
                              ("construction", ("DS-A", "DS-B"))):
            if getattr(self, name) not in allowed:
                raise SettingError(f"corpus {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")

    @property
    def n_tokens(self) -> int:
        """Scored positions (every window position, targets crossing into the next window)."""
        return self.n_windows * self.window

    def describe(self) -> str:
        """E.g. ``"WikiText-103 test, 200 × 1,024 = 204,800 tokens"``."""
        what = f"WikiText-103 {self.split}"
        if self.construction == "DS-B":
            what += f" head (DS-B: first {DSB_ROWS:,} rows joined with spaces)"
        return f"{what}, {self.n_windows} × {self.window:,} = {self.n_tokens:,} tokens"


def split_setting(explicit: str | None = None) -> str:
    """The WikiText-103 split a run reads: ``explicit``, ``$DV_SPLIT``, ``_config.yml``'s ``split``, ``"test"``."""
    value = str(setting("split", "DV_SPLIT", explicit, "test"))
    if value not in ("test", "train"):
        raise SettingError(f"DV_SPLIT / split must be test or train, got {value!r}")
    return value


def corpus_spec(n_windows: int | None = None, split: str | None = None, window: int = 1024,
                source: str | None = None) -> CorpusSpec:
    """A :class:`CorpusSpec` with the window count, split and source read from the settings."""
    src = str(setting("corpus_source", "DV_CORPUS_SOURCE", source, "auto"))
    if src not in ("auto", "hub", "local"):
        raise SettingError(f"corpus source (DV_CORPUS_SOURCE / --corpus-source) must be auto, hub or local, "
                           f"got {src!r}")
    return CorpusSpec(split_setting(split), windows_setting(n_windows), window, src)  # type: ignore[arg-type]


#: DS-B's shape (paper-claims §4): 195 windows of 256 tokens (49,920 tokens).
DSB_WINDOWS, DSB_WINDOW = 195, 256


def train_windows_comparison(corpus: dict, n_windows: int, window: int, theirs: str) -> str:
    """``""`` when a harvest's ``meta["corpus"]`` is ``n_windows`` windows of ``window`` tokens of the *train*
    split (the DS-C reconstructions: E17's harness, 200 x 1,024; E18's predecessor, 488 x 1,024), else the
    "different corpus" note naming ``theirs`` (what the paper ran on)."""
    if (corpus.get("split"), corpus.get("n_windows"), corpus.get("window")) == ("train", n_windows, window):
        return ""
    return f"different corpus: {corpus.get('describe')} vs {theirs} (the train split needs the hub)"


def dsb_comparison(corpus: CorpusSpec | dict | None, missing: str = "the controls' corpus (not recorded)") -> str:
    """``""`` when ``corpus`` is DS-B itself (195 × 256 tokens of the train head), else the "different corpus"
    note for the rows of the controls that the paper ran on DS-B (E11-E13).

    ``corpus``: a :class:`CorpusSpec`, a harvest's ``meta["corpus"]`` dict, or ``None`` (never DS-B; ``missing``
    says what it stands for). The offline fallback (256-token windows of the test split) and a DS-B slice of
    another size are not DS-B. The one rule for E11, E12 and E13.
    """
    if corpus is None:
        what = missing
    elif isinstance(corpus, dict):
        if (corpus.get("construction"), corpus.get("n_windows"), corpus.get("window")) == ("DS-B", DSB_WINDOWS,
                                                                                            DSB_WINDOW):
            return ""
        what = corpus.get("describe", "another corpus")
    else:
        if (corpus.construction, corpus.n_windows, corpus.window) == ("DS-B", DSB_WINDOWS, DSB_WINDOW):
            return ""
        what = corpus.describe()
    return f"different corpus: {what} vs DS-B (first 5,000 train rows, 195 x 256; needs the hub)"


def hub_corpus_available(source: str) -> bool:
    """True when ``source`` allows the hub and the hub answers (the train split needs it)."""

    return source != "local" and hub.reachable()


def local_test_file() -> Path:
    """The shipped WikiText-103 (= WikiText-2) raw test split."""
    return Path(str(resources.files("darkness_visible") / "assets" / "wikitext" / "wiki.test.raw"))


def _rows_from_hub(split: Split) -> list[str]:
    from datasets import load_dataset

    return list(load_dataset("wikitext", "wikitext-103-raw-v1", split=split)["text"])


def corpus_rows(split: Split = "test", source: Source = "auto") -> tuple[list[str], str]:
    """The split's rows exactly as Hugging Face serves them, and where they came from.

    Each row of the raw file is one line with its trailing newline, which is what the hub rows are.
    """

    reachable = source != "local" and hub.reachable()
    if source == "hub" and not reachable:
        raise CorpusError("DV_CORPUS_SOURCE=hub (or --corpus-source hub) but the Hugging Face hub is out of reach: "
                          "use DV_CORPUS_SOURCE=local (the shipped WikiText-103 test split) or auto")
    if reachable:
        try:
            return _rows_from_hub(split), "hub: wikitext/wikitext-103-raw-v1"
        except Exception as error:  # noqa: BLE001 - network and dataset errors: one line, or the shipped copy
            if source == "hub" or split != "test":
                raise CorpusError(f"cannot read WikiText-103 {split} from the hub ({one_line(error)}): "
                                  "retry when the hub answers, or use DV_CORPUS_SOURCE=local with the test split"
                                  ) from error
            import warnings

            warnings.warn(f"the hub did not serve WikiText-103 ({type(error).__name__}); using the shipped test split",
                          stacklevel=2)
    if split != "test":
        raise CorpusError(
            "the WikiText-103 train split needs the Hugging Face hub (no local copy ships with the "
            "book); connect, or use the test split (split='test', --split test, DV_SPLIT=test)."
        )
    text = local_test_file().read_text(encoding="utf-8")
    return text.splitlines(keepends=True), f"local file {local_test_file().name}"


def join_rows(rows: list[str]) -> str:
    """Drop blank rows, keep the others unmodified, join with ``"\\n\\n"`` (DS-A)."""
    return "\n\n".join(row for row in rows if row.strip())


def token_stream(tokenizer: PreTrainedTokenizerBase, spec: CorpusSpec, *,
                 whole: bool = False) -> tuple[np.ndarray, str]:
    """Tokenise the joined split as one stream: ``int32 [n_stream]`` and a provenance string.

    Only a head of the joined text long enough for the requested windows is tokenised (the train split
    is ~540 MB), unless ``whole``. The head is cut at a row boundary well past the last needed token, so
    the tokens used are identical to those of tokenising the whole text (BPE never merges across that
    boundary): a longer head only appends tokens.
    """
    rows, origin = corpus_rows(spec.split, spec.source)
    if spec.construction == "DS-B":  # the controls' corpus: first rows, blank ones dropped, joined with " "
        text = " ".join(row for row in rows[:DSB_ROWS] if row.strip())
    else:
        text = join_rows(rows)
    need = spec.n_tokens + 1
    chars = len(text) if whole else max(need * 8, 100_000)
    while True:
        cut = text.find("\n\n", chars)
        head = text if cut < 0 else text[:cut]
        ids = tokenizer(head, add_special_tokens=False, verbose=False)["input_ids"]
        if cut < 0 or len(ids) > need + 64:
            return np.asarray(ids, dtype=np.int32), origin
        chars *= 2


def windows(stream: np.ndarray, spec: CorpusSpec) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets, both ``int64 [n_windows, window]``.

    Raises ``ValueError`` if the stream is too short for the requested windows (+1 target token).
    """
    need = spec.n_windows * spec.window + 1
    if len(stream) < need:
        available = max(0, (len(stream) - 1) // spec.window)
        if available == 0:
            raise CorpusError(
                f"the corpus has {len(stream):,} tokens, not enough for one window of {spec.window} tokens plus its "
                "last target: check the corpus source (DV_CORPUS_SOURCE) and split, or use a shorter --window."
            )
        raise CorpusError(
            f"the corpus has {len(stream):,} tokens, enough for {available} windows of {spec.window}, "
            f"not {spec.n_windows}; lower DV_WINDOWS (or windows=) to at most {available}."
        )
    flat = stream[:need].astype(np.int64)
    inputs = flat[:-1].reshape(spec.n_windows, spec.window)
    targets = flat[1:].reshape(spec.n_windows, spec.window)
    return inputs, targets


def encode(tokenizer: PreTrainedTokenizerBase, text: str, n_ctx: int) -> list[int]:
    """Token ids of ``text`` (no BOS); ``ContextLengthError`` if longer than ``n_ctx``."""
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    if len(ids) > n_ctx:
        raise ContextLengthError(
            f"the text is {len(ids):,} tokens but the model's context is {n_ctx:,}; it would be "
            "truncated. Split it into pieces of at most that length (or use the corpus windows)."
        )
    if not ids:
        raise SettingError(f"the text {text!r} is empty after tokenisation: give at least one word")
    return ids
