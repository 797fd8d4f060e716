"""Discovery on a model: one layer (the ``discover`` command) or every layer (the depth page).

:func:`discover_layer` runs the one traced pass of :func:`darkness_visible.tracing.harvest.harvest` at a layer
(cached like every harvest) and hands its two firing masks to :func:`darkness_visible.discovery.discover.discover`.
:func:`discover_layers` reads every layer's masks in one pass (:func:`darkness_visible.tracing.layers.layer_masks`)
and runs the discovery at each: the paper's question "where does the exception handler sit?" asked of any
GPT-2-family checkpoint, with :func:`depth_table` and :func:`depth_figure` to read the answer.

From the shell::

    python -m darkness_visible discover --model openai-community/gpt2-medium --layer -1 --json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only light imports at module level: the CLI imports this module to register its command.
if TYPE_CHECKING:
    import pandas as pd

    from darkness_visible.data.corpus import CorpusSpec
    from darkness_visible.discovery.discover import DiscoverConfig, HandlerReport
    from darkness_visible.models.loading import Subject


@dataclass(frozen=True)
class LayerRun:
    """The discovery at one layer of one model, with where the numbers come from."""

    report: HandlerReport
    layer: int
    model: str
    label: str
    is_pretrained: bool

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "layer": self.layer, "pretrained": self.is_pretrained, "source": self.label,
                **self.report.to_json()}


def _subject(model: str | Subject | None) -> Subject:
    from darkness_visible.models.loading import Subject, load_model

    return model if isinstance(model, Subject) else load_model(model)


def _corpus(subject: Subject, corpus: CorpusSpec | None, windows: int | None = None) -> CorpusSpec:
    from darkness_visible.data.corpus import CorpusSpec, corpus_spec

    base = corpus or corpus_spec(windows, window=min(1024, subject.n_ctx))
    if base.window > subject.n_ctx:
        base = CorpusSpec(base.split, base.n_windows, subject.n_ctx, base.source, base.construction)
    return base


def discover_layer(model: str | Subject | None = None, corpus: CorpusSpec | None = None, layer: int | None = None,
                   config: DiscoverConfig | None = None, *, cache: str | Path | bool | None = None,
                   progress: bool = False) -> LayerRun:
    """Discovery at one layer (default: the last) of a model (a setting, e.g. ``"standin"``, or a subject).

    The masks come from one cached harvest pass at that layer recording both firing rules and nothing
    else; the bootstrap resamples whole windows of ``corpus`` (default: the settings' windows).
    """
    from darkness_visible.discovery.discover import DiscoverConfig, discover
    from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS
    from darkness_visible.tracing.harvest import HarvestConfig, harvest

    subject = _subject(model)
    corpus = _corpus(subject, corpus)
    L = subject.layer_index(layer)
    H = harvest(subject, corpus, HarvestConfig(layer=L, rules=(FIRE_ABS, FIRE_POS), record=(), tiers=(), variants=()),
                cache=cache, progress=progress)
    report = discover(H.mask(FIRE_POS), H.mask(FIRE_ABS), H.window_index, config or DiscoverConfig(),
                      tokens=H.arrays["input_ids"])
    return LayerRun(report, L, subject.spec.describe(), H.label, H.is_pretrained)


@dataclass(frozen=True)
class DepthResult:
    """Discovery at every layer: one :class:`HandlerReport` per layer and the table of :func:`depth_table`."""

    model: str
    label: str
    is_pretrained: bool
    reports: tuple[HandlerReport, ...] = field(repr=False)
    table: pd.DataFrame = field(repr=False, compare=False, default=None)

    @property
    def layers_with_handler(self) -> list[int]:
        """Layers whose own MLP neurons form a handler (found, and not downstream of an earlier one)."""
        return [int(r.layer) for r in self.table.itertuples() if r.handler]

    @property
    def downstream(self) -> dict[int, int]:
        """Layer -> the earlier layer whose handler its structure echoes."""
        return {int(r.layer): int(r.downstream_of) for r in self.table.itertuples() if r.downstream_of >= 0}


def echo_origins(masks: Any, reports: list[HandlerReport] | tuple[HandlerReport, ...],
                 config: DiscoverConfig | None = None, written: Any = None) -> list[int | None]:
    """Per layer, the earlier layer whose handler the structure found there is downstream of (``None``: none).

    A handler found at layer ``L`` is an *echo* of an earlier layer ``K`` with a handler when its indicator's
    firing is predicted by what ``K`` did, by either of two criteria (the log relative risk of one given the
    other has a lower bound above ``strong_log_rr``, the bar a strong Core partner must pass in
    :func:`~darkness_visible.discovery.discover.discover`; Bonferroni over every test made):

    1. *firing*: the firing of a member of ``K``'s handler (indicator, Core, Differentiators, Specialists)
       predicts ``L``'s indicator, or the reverse;
    2. *residual direction* (when ``written`` is given): the tokens on which ``L``'s MLP input projects most
       onto the direction ``K``'s handler wrote into the residual stream (as many tokens as ``L``'s indicator
       fires on) predict ``L``'s indicator. ``written(K, L)`` returns that projection per token (``float [N]``;
       :func:`written_projections`).

    Random weights reading the residual stream that ``K``'s handler wrote fire as a function of what ``K``
    wrote, so their "indicator" is tied to ``K``'s neurons or to ``K``'s output direction this strongly; a
    handler formed by ``L``'s own neurons on its own condition is not. The origin reported is the first layer
    of the chain (an echo of an echo names the handler both come from).

    ``masks``: a callable ``layer -> bool [N, F]`` (signed rule) or a sequence of such masks.
    """
    import numpy as np

    from darkness_visible.discovery.discover import DiscoverConfig, bonferroni_z, cofire_two, log_rr_bounds

    config = config or DiscoverConfig()
    get = masks if callable(masks) else (lambda L: masks[L])
    origin: list[int | None] = [None] * len(reports)
    found = [L for L, r in enumerate(reports) if r.found]
    n_tests = sum(2 * len(reports[K].handler) + (written is not None) for i, L in enumerate(found)
                  for K in found[:i]) or 1
    z = bonferroni_z(config.alpha, n_tests)
    cache: dict[int, np.ndarray] = {}

    def mask(L: int) -> np.ndarray:
        if L not in cache:
            cache[L] = np.asarray(get(L), dtype=bool)
        return cache[L]

    for i, L in enumerate(found):
        col = mask(L)[:, [reports[L].indicator]]
        n = float(col.shape[0])
        n_ind = float(col.sum())
        for K in found[:i]:
            members = np.array(reports[K].handler, dtype=np.int64)
            if not len(members):
                continue
            BK = mask(K)
            joint = cofire_two(BK, col, members, np.array([0]))[:, 0]
            n_mem = BK[:, members].sum(0).astype(np.float64)
            _, forward, _ = log_rr_bounds(joint, n_mem, n_ind, n, z)   # P(ind_L | member) / P(ind_L | not)
            _, backward, _ = log_rr_bounds(joint, n_ind, n_mem, n, z)  # P(member | ind_L) / P(member | not)
            echo = max(float(forward.max()), float(backward.max())) > config.strong_log_rr
            if not echo and written is not None:
                echo = direction_echo(np.asarray(written(K, L), dtype=np.float64), col[:, 0], z) \
                    > config.strong_log_rr
            if echo:
                origin[L] = origin[K] if origin[K] is not None else K
                break
    return origin


def direction_echo(projection: Any, indicator: Any, z: float) -> float:
    """Lower bound of the log relative risk that ``indicator`` (``bool [N]``) fires on the tokens with the
    largest ``projection`` (as many as it fires on) against the other tokens (``-inf`` when it never fires)."""
    import numpy as np

    from darkness_visible.discovery.discover import log_rr_bounds

    e = np.asarray(indicator, dtype=bool)
    k = int(e.sum())
    if k == 0 or k == len(e):
        return -np.inf
    top = np.zeros(len(e), dtype=bool)
    top[np.argsort(-np.asarray(projection), kind="stable")[:k]] = True
    _, lower, _ = log_rr_bounds(np.array([float((top & e).sum())]), float(k), float(k), float(len(e)), z)
    return float(lower[0])


def written_projections(subject: Subject, inputs: Any, reports: list[HandlerReport] | tuple[HandlerReport, ...],
                        masks: Any, batch: int = 8):
    """``(K, L) -> float [N]``: per token, layer ``L``'s MLP input (``ln_2`` output) projected on the direction
    layer ``K``'s handler writes into the residual stream: its members' output ``act[:, H] @ W_out[H]``,
    averaged where ``K``'s indicator fires (``masks(K)``, signed rule) minus averaged elsewhere. One forward
    pass with plain PyTorch hooks over ``inputs`` (``int [n_windows, T]``, the windows the masks were read on),
    run on first use."""
    import numpy as np
    import torch

    found = [K for K, r in enumerate(reports) if r.found]
    store: dict[str, dict[int, torch.Tensor]] = {}

    def run() -> None:
        blocks = subject.hf.transformer.h
        acts: dict[int, list[torch.Tensor]] = {K: [] for K in found}
        xhat: dict[int, list[torch.Tensor]] = {L: [] for L in found[1:]}  # only layers the echo test reads
        members = {K: torch.tensor(reports[K].handler, dtype=torch.long) for K in found}
        handles = [blocks[K].mlp.act.register_forward_hook(
            lambda _m, _i, out, K=K: acts[K].append(out.detach().reshape(-1, out.shape[-1])[:, members[K]]
                                                    .double().cpu())) for K in found]
        handles += [blocks[L].ln_2.register_forward_hook(
            lambda _m, _i, out, L=L: xhat[L].append(out.detach().reshape(-1, out.shape[-1]).double().cpu()))
            for L in xhat]
        try:
            ids = torch.as_tensor(np.asarray(inputs, dtype=np.int64))
            with torch.inference_mode():
                for lo in range(0, len(ids), batch):
                    subject.hf(ids[lo:lo + batch].to(subject.device))
        finally:
            for h in handles:
                h.remove()
        store["direction"] = {}
        for K in found:
            wrote = torch.cat(acts[K]) @ blocks[K].mlp.c_proj.weight.detach()[members[K]].double().cpu()
            e = torch.from_numpy(np.asarray(masks(K), dtype=bool)[:, reports[K].indicator])
            store["direction"][K] = wrote[e].mean(0) - wrote[~e].mean(0)
        store["xhat"] = {L: torch.cat(v) for L, v in xhat.items()}

    def projection(K: int, L: int) -> np.ndarray:
        if not store:
            run()
        return (store["xhat"][L] @ store["direction"][K]).numpy()

    return projection


def depth_table(reports: list[HandlerReport] | tuple[HandlerReport, ...],
                origins: list[int | None] | None = None) -> pd.DataFrame:
    """One row per layer: ``layer, found`` (the discovery found a structure), ``downstream_of`` (the earlier
    layer it echoes, :func:`echo_origins`; -1: none), ``handler`` (found and not downstream: a handler of this
    layer's own), ``indicator, indicator_rate, indicator_share`` (bootstrap stability), ``core_size,
    core_stability`` (mean over the Core), ``n_differentiators, n_specialists, n_consensus, margin, runner_up,
    n_warnings, warnings``."""
    import numpy as np
    import pandas as pd

    origins = origins if origins is not None else [None] * len(reports)
    rows = []
    for L, r in enumerate(reports):
        core_stab = [r.stability.get(n, np.nan) for n in r.core[1:]]
        up = origins[L]
        rows.append({
            "layer": L, "found": r.found, "downstream_of": -1 if up is None else int(up),
            "handler": bool(r.found and up is None), "indicator": r.indicator if r.found else None,
            "indicator_rate": r.indicator_rate, "indicator_share": r.indicator_share,
            "core_size": len(r.core),
            "core_stability": float(np.nanmean(core_stab)) if np.isfinite(core_stab).any() else np.nan,
            "n_differentiators": len(r.differentiators), "n_specialists": len(r.specialists),
            "n_consensus": len(r.consensus), "margin": r.margin, "runner_up": r.runner_up,
            "n_warnings": len(r.warnings), "warnings": " | ".join(r.warnings)})
    return pd.DataFrame(rows)


def discover_layers(model: str | Subject | None = None, corpus: CorpusSpec | None = None,
                    config: DiscoverConfig | None = None, *, cache: str | Path | bool | None = None,
                    progress: bool = False, echo_directions: bool = True) -> DepthResult:
    """Discovery at every layer from one all-layer pass (both firing rules); see :func:`depth_table`.

    ``echo_directions``: the echo test (:func:`echo_origins`) also checks the residual direction each handler
    wrote (one more forward pass, only when two or more layers have a structure).

    ``model``: a setting (``"standin"``, a hub id, a folder) or a loaded subject; ``corpus``: default the
    settings' windows, shortened to the model's context if needed.
    """
    import numpy as np
    from tqdm import tqdm

    from darkness_visible.discovery.discover import DiscoverConfig, discover
    from darkness_visible.tracing.firing import FIRE_ABS, FIRE_POS
    from darkness_visible.tracing.layers import CrossLayerConfig, layer_masks

    config = config or DiscoverConfig()
    subject = _subject(model)
    corpus = _corpus(subject, corpus)
    masks = layer_masks(subject, corpus, CrossLayerConfig(rules=(FIRE_POS, FIRE_ABS)), cache=cache, progress=progress)
    ids = getattr(masks, "arrays", {}).get("input_ids")  # the token types, the strong-partner bound's clusters
    tokens = None if ids is None else np.asarray(ids)
    reports = tuple(discover(masks.mask(L, FIRE_POS), masks.mask(L, FIRE_ABS), corpus.window, config, tokens=tokens,
                             cache=cache)
                    for L in tqdm(range(masks.n_layers), desc="discover", disable=not progress))
    pos = _memo(lambda L: masks.mask(L, FIRE_POS))
    written = None
    if echo_directions and sum(r.found for r in reports) > 1:
        from darkness_visible.tracing.layers import masks_plan

        written = written_projections(subject, masks_plan(subject, corpus, None, False).inputs, reports, pos)
    origins = echo_origins(pos, reports, config, written)
    return DepthResult(subject.spec.describe(), masks.label, masks.is_pretrained, reports,
                       depth_table(reports, origins))


def _memo(get):
    """``get`` (``layer -> array``) with each layer computed once."""
    seen: dict[int, Any] = {}

    def cached(L: int):
        if L not in seen:
            seen[L] = get(L)
        return seen[L]

    return cached


def describe(run: LayerRun) -> str:
    """A few lines for the terminal: the answer, the margins and the warnings."""
    import numpy as np

    r = run.report
    lines = [f"model: {run.model}", f"source: {run.label}", f"layer: {run.layer}"]
    if not r.found:
        lines.append("no handler: " + "; ".join(r.warnings))
        return "\n".join(lines)

    def names(ns: tuple[int, ...]) -> str:
        return ", ".join(f"N{n} ({r.stability.get(n, float('nan')):.2f})" for n in ns) or "none"

    lines += [f"indicator: N{r.indicator} (fires on {r.indicator_rate:.1%}; chosen in {r.indicator_share:.0%} "
              f"of window resamples; runner-up {('N' + str(r.runner_up)) if r.runner_up is not None else 'none'}, "
              f"margin {r.margin:.1%})",
              "core (stability): " + names(r.core), "differentiators: " + names(r.differentiators),
              "specialists: " + names(r.specialists), "consensus: " + names(r.consensus),
              "cuts: " + ", ".join(f"{k} {v:.3g}" for k, v in r.cuts.items() if np.isfinite(v))]
    lines += [f"warning: {w}" for w in r.warnings]
    if not run.is_pretrained:
        lines.append("NOTE: random-weight model; these numbers are not GPT-2's.")
    return "\n".join(lines)


def add_command(sub: Any, common: Any) -> None:
    """Register ``discover`` on the CLI's subparsers (``common`` adds the shared model/corpus flags)."""
    p = sub.add_parser("discover", help="find an exception handler at one layer from firing statistics alone",
                       description="Discover an exception indicator, its Core, Differentiators, Specialists and "
                                   "consensus group at one layer of any GPT-2-family model, with bootstrap "
                                   "stability over windows (issue 16).")
    common(p)
    p.add_argument("--layer", type=int, default=None, help="layer (default: the last; negative counts from the end)")
    p.add_argument("--boot", type=int, default=None, help="window resamples for the stability scores (default 50)")
    p.add_argument("--all-layers", action="store_true", help="run every layer from one pass (the depth table)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """The ``discover`` command: text or ``--json`` on stdout; exit code 0 whether or not a handler is found.

    Windows: ``--windows``, else the size preset's (``windows`` for one layer, ``survey_windows`` for
    ``--all-layers``). Settings, model and layer are checked before any pass, as by the other commands.
    """
    from darkness_visible.config.sizes import resolve_size
    from darkness_visible.data.corpus import corpus_spec
    from darkness_visible.discovery.discover import DiscoverConfig
    from darkness_visible.errors import SettingError
    from darkness_visible.models.checks import check_layer_arg, default_window
    from darkness_visible.models.loading import load_model
    from darkness_visible.models.preflight import preflight

    if args.boot is not None and args.boot < 0:
        raise SettingError(f"--boot must be 0 or more, got {args.boot}")
    size = resolve_size(args.size, args.windows)
    # --windows is honoured with --all-layers too; without it the sweep reads the preset's survey windows
    windows = args.windows if args.windows is not None else (size.survey_windows if args.all_layers else size.windows)
    checked = preflight(args.model, windows=windows, split=args.split, source=args.corpus_source, cache=args.cache)
    check_layer_arg(args.layer, checked.info)
    subject = load_model(checked.spec, device=args.device)
    corpus = corpus_spec(windows, split=args.split, window=default_window(subject.n_ctx), source=args.corpus_source)
    config = DiscoverConfig() if args.boot is None else DiscoverConfig(n_boot=args.boot)
    progress = not (args.quiet or args.json)
    if args.all_layers:
        result = discover_layers(subject, corpus, config, cache=args.cache, progress=progress)
        if args.json:
            print(json.dumps({"model": result.model, "pretrained": result.is_pretrained, "source": result.label,
                              "layers": [{"layer": L, **r.to_json(),
                                          "downstream_of": result.downstream.get(L)}
                                         for L, r in enumerate(result.reports)]}, indent=1))
        else:
            cols = ["layer", "found", "downstream_of", "indicator", "indicator_rate", "indicator_share", "core_size",
                    "n_differentiators", "n_specialists", "n_consensus", "margin"]
            print(result.label)
            print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
            print("layers with a handler:", result.layers_with_handler or "none")
            for L, K in result.downstream.items():
                print(f"layer {L}: downstream of layer {K} (its structure echoes the handler of layer {K})")
        return 0
    run = discover_layer(subject, corpus, args.layer, config, cache=args.cache, progress=progress)
    print(json.dumps(run.to_json(), indent=1) if args.json else describe(run))
    return 0


def command(model: str, windows: int = 20, all_layers: bool = True) -> str:
    """The shell command that runs the discovery on ``model`` (every layer by default)."""
    return f"python -m darkness_visible discover --model {model} --windows {windows}" + (
        " --all-layers" if all_layers else "")


__all__ = ["DepthResult", "LayerRun", "add_command", "command", "depth_table", "describe",
           "direction_echo", "discover_layer", "discover_layers", "echo_origins", "run_command",
           "written_projections"]
