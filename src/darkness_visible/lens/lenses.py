"""Logit lens and tuned lens over every layer, first lock-in, and the three-phase arc (paper-claims E14).

States follow the spec's index convention: state 0 is the embedding output (``transformer.drop``), state
``i + 1`` the output of block ``i`` (before ``ln_f``), so a 12-layer model has 13 states (Emb, L0..L11).

* **Logit lens** (nostalgebraist 2020): ``argmax(lm_head(ln_f(h_s)))``. At the last state it
  is the model's own prediction, so its top-1 accuracy equals the model's accuracy.
* **Tuned lens** (Belrose et al. 2023): an affine translator per state, ``h -> h + A_s h + b_s``, then
  the same unembedding, trained to minimise KL(final distribution || lens distribution). The paper used
  the ``tuned-lens`` package's pretrained GPT-2 lens (downloaded from the hub); :func:`train_tuned_lens`
  trains the translators here, on a slice of the corpus disjoint from the evaluation windows. They start
  from the least-squares map of each state onto the final state (Din et al. 2023, "Jump to
  Conclusions"), which a CPU can solve in seconds, instead of the package's identity start, and the KL
  training then refines them. The last state uses the identity, as in the package.
* **First lock-in** of a token: the smallest state whose prediction hits the target ("never" if none).

All tracing is one nnsight trace per batch reading every block's output in forward order.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from darkness_visible.data.corpus import CorpusSpec, windows
from darkness_visible.io import hub
from darkness_visible.io.cache import atomic_write, cache_folder, chunk_cache, releases_locks
from darkness_visible.models.loading import Subject, output_tensor
from darkness_visible.tracing.layers import corpus_stream, stream_digest


def state_labels(n_layers: int) -> list[str]:
    """``["Emb", "L0", ..., "L{n-1}"]``: the labels of the ``n_layers + 1`` lens states."""
    return ["Emb"] + [f"L{i}" for i in range(n_layers)]


def trace_states(subject: Subject, input_ids: torch.Tensor) -> list[torch.Tensor]:
    """One nnsight trace; the ``n_layers + 1`` residual states, each ``[B, T, d_model]``.

    State 0 = ``transformer.drop.output`` (embeddings), state ``i + 1`` = ``transformer.h[i].output``.
    """
    model = subject.model
    saved: list[Any] = []
    input_ids = input_ids.to(subject.device)
    with model.trace(input_ids) as tracer:
        saved.append(model.transformer.drop.output.save())
        for i in range(subject.n_layers):
            saved.append(model.transformer.h[i].output.save())
        tracer.stop()  # the lens unembeds the states itself: skip ln_f and the model's own unembedding
    return [output_tensor(s) for s in saved]


class Translators(torch.nn.Module):
    """Affine translators of the tuned lens, one per non-final state: ``h + h @ A_s.T + b_s``.

    Initialised to zero, i.e. to the identity (the logit lens); :func:`least_squares_init` sets them to
    the least-squares map onto the final state instead.
    """

    def __init__(self, n_states: int, d_model: int) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(d_model, d_model) for _ in range(n_states))
        for layer in self.layers:
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor, state: int) -> torch.Tensor:
        """Translate a state-``state`` residual ``[..., d_model]``; the final state passes unchanged."""
        if state >= len(self.layers):
            return h
        return h + self.layers[state](h)


#: What the tuned lens is, for pages and scorecard notes.
PUBLISHED_LENS = "the published GPT-2 tuned lens (tuned-lens package, as in the paper)"
OWN_LENS = "a tuned lens trained here (offline fallback, not the published lens)"


def translators_from_layers(layers: Any) -> Translators:
    """Copy affine translators ``h + W h + b`` (e.g. the ``tuned-lens`` package's ``layer_translators``, a list
    of ``nn.Linear(d, d)``) into this module's :class:`Translators`; ``[d, d]`` weights, ``[d]`` biases."""
    layers = list(layers)
    if not layers:
        raise ValueError("no translators to copy")
    d = layers[0].weight.shape[1]
    out = Translators(len(layers), d)
    with torch.no_grad():
        for mine, theirs in zip(out.layers, layers, strict=True):
            mine.weight.copy_(theirs.weight.detach())
            mine.bias.copy_(theirs.bias.detach() if theirs.bias is not None else torch.zeros(d))
    return out.eval()


def published_translators(subject: Subject) -> tuple[Translators | None, str]:
    """The paper's tuned lens, ``TunedLens.from_model_and_pretrained`` of the ``tuned-lens`` package, as
    :class:`Translators`; ``(None, why)`` when it cannot be had (not GPT-2 Small, hub out of reach, package
    missing), in which case the chapter trains its own lens and labels it :data:`OWN_LENS`."""

    if not subject.spec.is_gpt2_small:
        return None, f"{OWN_LENS}; the published lens is GPT-2 Small's and this model is not"
    if not hub.reachable():
        return None, f"{OWN_LENS}; the hub is out of reach"
    try:
        from tuned_lens.nn.lenses import TunedLens
    except ImportError:
        return None, f"{OWN_LENS}; install the tuned-lens package to use the published lens"
    try:
        package_lens = TunedLens.from_model_and_pretrained(subject.hf)
    except Exception as error:  # noqa: BLE001 - any download or format failure falls back, and says why
        from darkness_visible.errors import one_line

        return None, f"{OWN_LENS}; the published lens did not load ({one_line(error, 120)})"
    return translators_from_layers(package_lens.layer_translators).to(subject.device), PUBLISHED_LENS


@dataclass(frozen=True)
class TunedLensConfig:
    """How the translators are trained (the tuned-lens objective, a budget a CPU can afford).

    ``train_windows`` windows of ``window`` tokens are taken from the *end* of the split's token stream,
    so they do not overlap the evaluation windows at its start; the last ``holdout_tokens`` positions of
    them are held out, never trained on. ``init="lsq"`` starts each translator at the least-squares map of
    its state onto the final state (:func:`least_squares_init`, Din et al. 2023); ``"identity"`` starts
    at the logit lens, as the ``tuned-lens`` package does. Then ``tokens_per_step`` random positions
    form each step's batch, shared by all states; Adam with learning rate ``lr`` for at most ``steps``.

    Training stops early by either of two measured criteria (the budget is set by the run, not by a
    guessed step count; the chapter shows the curve and how many steps ran):

    * the loss: the mean loss of the last ``converge_window`` steps improves on the mean of the
      ``converge_window`` before by less than ``converge_tol`` (relative);
    * the decisions (early stopping with patience): the lens's top-1 agreement with the model's own
      final top-1 on the held-out positions, over all translated states, is measured before training
      and every ``check_every`` steps; once ``patience`` checks in a row have not beaten the best
      earlier check by more than ``agree_tol`` (0.1 pp, the precision of the paper's lens table), more
      steps no longer make the lens predict better. A lens is scored by its top-1 (E14), so this is the
      relevant plateau even while the KL creeps down.
    """

    steps: int = 200
    tokens_per_step: int = 256
    lr: float = 1e-3
    train_windows: int = 8
    window: int = 1024
    seed: int = 0
    converge_window: int = 25
    converge_tol: float = 0.01
    check_every: int = 25
    holdout_tokens: int = 1024
    agree_tol: float = 0.001
    patience: int = 2
    init: str = "lsq"

    def __post_init__(self) -> None:
        if self.init not in ("lsq", "identity"):
            raise ValueError(f"TunedLensConfig.init must be 'lsq' or 'identity', not {self.init!r}")
        if self.patience < 1:
            raise ValueError(f"TunedLensConfig.patience must be at least 1, not {self.patience}")

    def key(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_size(cls, size: Any) -> TunedLensConfig:
        """The training budget of a size preset (:class:`darkness_visible.config.sizes.Size`)."""
        return cls(steps=size.lens_max_steps, tokens_per_step=size.lens_tokens_per_step,
                   train_windows=size.lens_train_windows)

    def converged(self, losses: list[float]) -> bool:
        """True when the last ``converge_window`` losses improve on the window before by less than the tolerance."""
        w = self.converge_window
        if len(losses) < 2 * w:
            return False
        before, last = float(np.mean(losses[-2 * w:-w])), float(np.mean(losses[-w:]))
        return before - last < self.converge_tol * abs(before)

    def settled(self, agreement: list[float]) -> bool:
        """True when none of the last ``patience`` held-out top-1 agreements (fractions) beats the best
        earlier one by more than ``agree_tol``."""
        k = self.patience
        if len(agreement) <= k:
            return False
        return max(agreement[-k:]) <= max(agreement[:-k]) + self.agree_tol


def kl_to_final(final_logits: torch.Tensor, lens_logits: torch.Tensor) -> torch.Tensor:
    """Mean over tokens of KL(softmax(final) || softmax(lens)); inputs ``[M, vocab]``, returns a scalar."""
    p_log = torch.log_softmax(final_logits, dim=-1)
    q_log = torch.log_softmax(lens_logits, dim=-1)
    return (p_log.exp() * (p_log - q_log)).sum(-1).mean()


def least_squares_init(translators: Translators, states: torch.Tensor, ridge: float = 1e-8) -> None:
    """Set each translator to the least-squares affine map of its state onto the final state, in place.

    ``states``: residual states ``[M, n_states + 1, d_model]``, the last being the final state. For each
    translated state ``s`` this solves ``min ||h_s + h_s @ A_s.T + b_s - h_final||^2`` over the M rows (Din
    et al. 2023's linear shortcut), in float64 with a ridge of ``ridge`` times the mean diagonal of the
    Gram matrix so that a rank-deficient state (fewer rows than ``d_model + 1``, a constant direction)
    still has a unique answer. When ``h_final`` is an exact affine function of ``h_s`` it is recovered.
    """
    n_states = len(translators.layers)
    if states.shape[1] != n_states + 1:
        raise ValueError(f"states has {states.shape[1]} states; the translators need {n_states} + the final one")
    final = states[:, n_states].double()
    ones = torch.ones(states.shape[0], 1, dtype=torch.float64, device=states.device)
    with torch.no_grad():
        for s, layer in enumerate(translators.layers):
            x = torch.cat([states[:, s].double(), ones], dim=1)  # [M, d + 1]
            gram = x.T @ x
            gram += ridge * gram.diagonal().mean() * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
            w = torch.linalg.solve(gram, x.T @ (final - states[:, s].double()))  # [d + 1, d]
            layer.weight.copy_(w[:-1].T.to(layer.weight.dtype))
            layer.bias.copy_(w[-1].to(layer.bias.dtype))


def _train_states(subject: Subject, corpus: CorpusSpec, config: TunedLensConfig) -> torch.Tensor:
    """Residual states of the training slice, ``[M, n_states, d_model]`` (M = train_windows × window)."""
    stream, _ = corpus_stream(subject, corpus, whole=corpus.split == "test")  # the train split: its head only
    window = min(config.window, subject.n_ctx)
    n = config.train_windows * window
    eval_end = corpus.n_windows * corpus.window + 1
    if len(stream) - n < eval_end:
        raise ValueError(
            f"the stream has {len(stream):,} tokens: not enough for {config.train_windows} training windows of "
            f"{window} after the {corpus.n_windows} evaluation windows; lower train_windows or the corpus windows"
        )
    ids = torch.from_numpy(stream[len(stream) - n:].astype(np.int64)).reshape(config.train_windows, window)
    out = []
    with torch.inference_mode():
        for k in range(config.train_windows):
            states = trace_states(subject, ids[k: k + 1])
            out.append(torch.stack([s[0] for s in states], dim=1).clone())
    return torch.cat(out)


def train_tuned_lens(subject: Subject, corpus: CorpusSpec, config: TunedLensConfig | None = None,
                     *, cache: str | Path | bool | None = None,
                     progress: bool = True) -> tuple[Translators, list[float]]:
    """Train (or load from cache) the tuned-lens translators of ``subject``; returns them and the loss curve.

    The objective is the tuned lens's: the mean over states and tokens of KL(final || lens).
    """
    config = config or TunedLensConfig()
    material = {"model": subject.spec.key(), "split": corpus.split, "source": corpus.source,
                "eval_windows": corpus.n_windows, "config": config.key()}
    if corpus.construction != "DS-A":  # the training tokens follow the construction; DS-A keys stay as they were
        material["construction"] = corpus.construction
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:16]
    folder = cache_folder(cache)
    path = None if folder is None else folder / f"tuned-lens-{digest}.pt"
    n_states, d_model = subject.n_layers, subject.hf.config.n_embd
    translators = Translators(n_states, d_model).to(subject.device)
    if path is not None and path.exists():
        try:
            saved = torch.load(path, weights_only=True, map_location=subject.device)
            translators.load_state_dict(saved["state"])
            return translators, list(saved["losses"])
        except Exception as error:  # unreadable or from another shape: retrain
            warnings.warn(f"discarding an unreadable tuned-lens cache {path.name} and retraining: {error}",
                          stacklevel=2)
            path.unlink(missing_ok=True)
    states = _train_states(subject, corpus, config).to(subject.device)
    n_hold = min(config.holdout_tokens, states.shape[0] // 4)
    states, held = states[:states.shape[0] - n_hold], states[states.shape[0] - n_hold:]
    with torch.no_grad():
        held_top = subject.unembed(held[:, n_states]).argmax(-1)
    if config.init == "lsq":
        least_squares_init(translators, states)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(translators.parameters(), lr=config.lr)
    hf = subject.hf
    for p in hf.parameters():
        p.requires_grad_(False)
    losses: list[float] = []
    agreement: list[float] = [held_out_agreement(subject, translators, held, held_top)]  # the starting lens
    from tqdm import tqdm

    for step in tqdm(range(config.steps), desc="tuned lens", disable=not progress):
        pick = torch.randint(0, states.shape[0], (config.tokens_per_step,), generator=gen)
        batch = states[pick]
        with torch.no_grad():
            final = subject.unembed(batch[:, n_states])
        opt.zero_grad()
        total = 0.0
        for s in range(n_states):
            loss = kl_to_final(final, subject.unembed(translators(batch[:, s], s)))
            loss.backward()
            total += float(loss.detach())
        opt.step()
        losses.append(total / n_states)
        if (step + 1) % config.check_every == 0:
            agreement.append(held_out_agreement(subject, translators, held, held_top))
        if config.converged(losses) or config.settled(agreement):
            break
    translators.eval()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda h: torch.save({"state": translators.state_dict(), "losses": losses,
                                                 "agreement": agreement, "material": material}, h))
    return translators, losses


def held_out_agreement(subject: Subject, translators: Translators, held: torch.Tensor,
                       final_top: torch.Tensor) -> float:
    """Fraction of (position, translated state) pairs whose tuned-lens top-1 is the model's final top-1.

    ``held``: residual states ``[M, n_states + 1, d_model]`` (the last is the final state); ``final_top``:
    the model's top-1 token per position ``[M]``. The translated states are ``0 .. n_states - 1``.
    """
    n_states = held.shape[1] - 1
    with torch.no_grad():
        hits = [(subject.unembed(translators(held[:, s], s)).argmax(-1) == final_top).float().mean()
                for s in range(n_states)]
    return float(torch.stack(hits).mean())


@dataclass(frozen=True)
class LensConfig:
    """Which positions the lens scores: every ``stride``-th position whose target is in the window.

    ``stride=1`` is the paper's 1,023 positions per window; a larger stride is a subsample (for a CPU).
    """

    stride: int = 1
    batch_size: int = field(default=1, compare=False)


@dataclass
class LensResult:
    """Per-token lens hits: ``logit`` and ``tuned`` are ``bool [N, n_states]``; ``label`` names model/corpus."""

    logit: np.ndarray
    tuned: np.ndarray | None
    n_layers: int
    label: str
    is_pretrained: bool
    model_top1: np.ndarray  # bool [N]: the model's own prediction (from its logits) hits the target

    @property
    def labels(self) -> list[str]:
        return state_labels(self.n_layers)

    @property
    def n_tokens(self) -> int:
        return int(self.logit.shape[0])


#: Tokens of the model's own top-k whose logits are tried first against the target's (see :func:`top1_hits`).
PRUNE_CANDIDATES = 16
#: A candidate must beat the target by this many logits to settle a miss without the full unembedding
#: (far above fp32 rounding of a 768-term dot product; closer calls take the full product).
PRUNE_MARGIN = 1e-3


def top1_hits(subject: Subject, h: torch.Tensor, targets: torch.Tensor, candidates: torch.Tensor | None = None,
              counts: dict[str, int] | None = None) -> torch.Tensor:
    """``argmax(lm_head(ln_f(h))) == targets`` per row, ``bool [M]``, exactly, mostly without the full product.

    ``h [M, d_model]``, ``targets [M]``, ``candidates [M, k]`` token ids likely to out-score the target (the
    model's own top-k). A row where some candidate's logit beats the target's by more than
    :data:`PRUNE_MARGIN` is a miss whatever the other tokens do; only the remaining rows (the hits and
    the near-misses) need the 768 × vocab product. The answer equals the full argmax's. ``counts``, if
    given, accumulates ``rows`` and ``full_rows`` (rows that took the full product).
    """
    x = subject.hf.transformer.ln_f(h)
    if candidates is None:
        return subject.hf.lm_head(x).argmax(-1) == targets
    w_u = subject.w_u
    bias = getattr(subject.hf.lm_head, "bias", None)
    pick = torch.cat([targets[:, None], candidates], dim=1)  # [M, 1 + k]
    z = torch.einsum("md,mkd->mk", x, w_u[pick])
    if bias is not None:
        z = z + bias[pick]
    settled = (z[:, 1:] > z[:, :1] + PRUNE_MARGIN).any(dim=1)  # some token beats the target: a miss
    hits = torch.zeros(len(targets), dtype=torch.bool, device=h.device)
    rest = (~settled).nonzero().squeeze(1)
    if counts is not None:
        counts["rows"] = counts.get("rows", 0) + len(targets)
        counts["full_rows"] = counts.get("full_rows", 0) + len(rest)
    if len(rest):
        hits[rest] = subject.hf.lm_head(x[rest]).argmax(-1) == targets[rest]
    return hits


def lens_hits(subject: Subject, states: list[torch.Tensor], targets: torch.Tensor,
              translators: Translators | None, candidates: torch.Tensor | None = None,
              counts: dict[str, int] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Top-1 hits of the logit lens (and tuned lens) at every state: ``bool [M, n_states]`` each.

    ``states``: ``n_layers + 1`` tensors ``[M, d_model]``; ``targets``: ``[M]``; ``candidates``: see
    :func:`top1_hits` (default: the final state's top :data:`PRUNE_CANDIDATES` tokens, which prunes
    most rows of the early states).
    """
    last = len(states) - 1
    final = subject.unembed(states[last])
    if candidates is None:
        candidates = final.topk(PRUNE_CANDIDATES, dim=-1).indices
    final_hits = final.argmax(-1) == targets
    del final
    logit_hits, tuned_hits = [], []
    for s, h in enumerate(states):
        logit_hits.append(final_hits if s == last else top1_hits(subject, h, targets, candidates, counts))
        if translators is not None:
            tuned_hits.append(final_hits if s == last else
                              top1_hits(subject, translators(h, s), targets, candidates, counts))
    return torch.stack(logit_hits, -1), (torch.stack(tuned_hits, -1) if translators is not None else None)


@dataclass
class LensPlan:
    """Where the lens over a corpus is cached and what it reads (``inputs``/``targets`` ``[n_windows, T]``,
    the scored positions ``keep``); shared by :func:`run_lens` and
    :func:`darkness_visible.analysis.window_pass.fill`."""

    store: Any
    inputs: np.ndarray
    targets: np.ndarray
    keep: np.ndarray
    origin: str


def lens_plan(subject: Subject, corpus: CorpusSpec, translators: Translators | None = None,
              config: LensConfig | None = None, cache: str | Path | bool | None = None) -> LensPlan:
    """The cache entry (``None`` store without a cache; key: model, corpus slice and its tokens, stride and the
    translators' weights) and the inputs of the lens over ``corpus``."""
    config = config or LensConfig()
    stream, origin = corpus_stream(subject, corpus)
    inputs, targets = windows(stream, corpus)
    keep = np.arange(0, corpus.window - 1, config.stride)
    tdigest = None
    if translators is not None:
        h = hashlib.sha256()
        for value in translators.state_dict().values():
            h.update(value.detach().cpu().numpy().tobytes())
        tdigest = h.hexdigest()[:16]
    material = {"model": subject.spec.key(), "corpus": asdict(corpus), "stride": config.stride,
                "translators": tdigest, "stream_sha": stream_digest(stream, corpus)}
    return LensPlan(chunk_cache(cache, material, prefix="lens", n_chunks=corpus.n_windows), inputs, targets, keep,
                    origin)


def lens_chunk(subject: Subject, states: list[torch.Tensor], targets: np.ndarray, keep: np.ndarray,
               translators: Translators | None, counts: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """One window's lens hits: ``states`` are its ``n_layers + 1`` residual states ``[1, T, d_model]``,
    ``targets [T]`` its next tokens; only positions ``keep`` are scored. ``logit`` (and ``tuned``) ``bool
    [len(keep), n_states]``."""
    tgt = torch.from_numpy(targets[keep]).to(states[0].device)
    logit, tuned = lens_hits(subject, [s[0, keep] for s in states], tgt, translators, counts=counts)
    chunk = {"logit": logit.cpu().numpy()}
    if tuned is not None:
        chunk["tuned"] = tuned.cpu().numpy()
    return chunk


@releases_locks
def run_lens(subject: Subject, corpus: CorpusSpec, translators: Translators | None = None,
             config: LensConfig | None = None, *, cache: str | Path | bool | None = None,
             progress: bool = True) -> LensResult:
    """Logit-lens (and tuned-lens) top-1 hits over the corpus slice, cached on disk.

    Positions: every ``config.stride``-th position ``j < window - 1`` of each window (target inside the window).
    """
    config = config or LensConfig()
    plan = lens_plan(subject, corpus, translators, config, cache)
    store, inputs, targets, keep, origin = plan.store, plan.inputs, plan.targets, plan.keep, plan.origin
    loaded = store.load_complete() if store is not None else None
    chunks = None if loaded is None else loaded[1]
    if chunks is None:
        if store is not None:
            store.prepare()
        chunks = []
        counts: dict[str, int] = {}
        import time

        from tqdm import tqdm

        started = time.perf_counter()
        for k in tqdm(range(corpus.n_windows), desc="lens", disable=not progress):
            if store is not None and store.has_chunk(k):
                chunks.append(store.read_chunk(k))
                continue
            with torch.inference_mode():
                states = trace_states(subject, torch.from_numpy(inputs[k: k + 1]))
                chunk = lens_chunk(subject, states, targets[k], keep, translators, counts)
            if store is not None:
                store.write_chunk(k, chunk)
            chunks.append(chunk)
        if store is not None:  # what the pruning saved, for the benchmark's FLOP count
            store.finalize(corpus.n_windows, {"origin": origin, "seconds": round(time.perf_counter() - started, 2),
                                              **counts})
    logit = np.concatenate([c["logit"] for c in chunks])
    tuned = np.concatenate([c["tuned"] for c in chunks]) if "tuned" in chunks[0] else None
    label = f"{subject.spec.describe()}; {corpus.describe()}"
    if config.stride > 1:
        label += f" (every {config.stride}th position)"
    return LensResult(logit, tuned, subject.n_layers, label, subject.spec.is_pretrained, logit[:, -1].copy())


def top1_pct(hits: np.ndarray) -> np.ndarray:
    """Top-1 accuracy per state in percent: ``float [n_states]`` from ``bool [N, n_states]``."""
    return 100.0 * hits.mean(axis=0)


def first_lockin(hits: np.ndarray) -> np.ndarray:
    """Per token, the first state with a hit, or ``-1`` for never: ``int [N]``."""
    any_hit = hits.any(axis=1)
    return np.where(any_hit, hits.argmax(axis=1), -1)


def lockin_pct(hits: np.ndarray) -> tuple[np.ndarray, float]:
    """Share of tokens first locking in at each state, and the never share, in percent (they sum to 100)."""
    first = first_lockin(hits)
    counts = np.bincount(first[first >= 0], minlength=hits.shape[1])
    return 100.0 * counts / len(first), 100.0 * float((first < 0).mean())


@dataclass(frozen=True)
class ArcSpec:
    """The spec's index conventions for the three-phase arc (state indices, Emb = 0).

    ``scaffold`` gain = (pct[6] - pct[1]) / 5 (L0 -> L5); ``decision`` gain = (pct[9] - pct[7]) / 2, which is
    L6 -> L8 although the original code's comment says L7 -> L9 (paper-claims E14); ``early`` boost = mean
    tuned - logit over states 1..4 (L0-L3); ``late`` over states 8..12 (L7-L11).
    """

    scaffold: tuple[int, int] = (1, 6)
    decision: tuple[int, int] = (7, 9)
    early: tuple[int, int] = (1, 5)
    late: tuple[int, int] = (8, 13)

    @classmethod
    def for_layers(cls, n_layers: int) -> ArcSpec:
        """The 12-layer convention; other depths scale each boundary by ``n_layers / 12`` (rounded)."""
        if n_layers == 12:
            return cls()

        def sc(i: int) -> int:
            return max(0, min(n_layers + 1, round(i * n_layers / 12)))

        base = cls()
        return cls(*[(sc(a), max(sc(a) + 1, sc(b))) for a, b in (base.scaffold, base.decision, base.early, base.late)])


def arc(logit_pct: np.ndarray, tuned_pct: np.ndarray | None, spec: ArcSpec | None = None) -> dict[str, float | bool]:
    """The arc summaries of E14 from per-state accuracies in percent (``[n_states]`` each)."""
    spec = spec or ArcSpec.for_layers(len(logit_pct) - 1)

    def gain(pct: np.ndarray, span: tuple[int, int]) -> float:
        a, b = span
        return float((pct[b] - pct[a]) / (b - a))

    out: dict[str, float | bool] = {
        "scaffold_gain_logit": gain(logit_pct, spec.scaffold),
        "decision_gain_logit": gain(logit_pct, spec.decision),
    }
    if tuned_pct is not None:
        out["scaffold_gain_tuned"] = gain(tuned_pct, spec.scaffold)
        out["decision_gain_tuned"] = gain(tuned_pct, spec.decision)
        out["arc_holds"] = bool(out["decision_gain_tuned"] > out["scaffold_gain_tuned"])
        diff = tuned_pct - logit_pct
        out["early_boost_pp"] = float(diff[spec.early[0]: spec.early[1]].mean())
        out["late_boost_pp"] = float(diff[spec.late[0]: spec.late[1]].mean())
    return out


def lens_table(result: LensResult) -> Any:
    """A tidy ``pandas.DataFrame``: state, lens, top-1 %, first lock-in %."""
    import pandas as pd

    rows = []
    for name, hits in (("logit", result.logit), ("tuned", result.tuned)):
        if hits is None:
            continue
        pct = top1_pct(hits)
        lock, _ = lockin_pct(hits)
        for s, label in enumerate(result.labels):
            rows.append({"state": label, "index": s, "lens": name, "top1_pct": pct[s], "lockin_pct": lock[s]})
    return pd.DataFrame(rows)
