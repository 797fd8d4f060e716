"""Held-out evaluation of the discovery: recovery role by role on two independent planted constructions.

For every seed a model is built by one of the two constructions (``"random"``:
:mod:`~darkness_visible.discovery.planted_random`, roles at random indices; ``"alt"``:
:mod:`~darkness_visible.discovery.planted_alt`, at random indices or at the paper's §2 indices), with the handler
in the last block or in a middle block with random blocks after it. ``discover_layers`` runs on every layer
(one pass; the echo test of :func:`~darkness_visible.discovery.depth.echo_origins`) and the row records, at the
planted layer, precision and recall of every role (``score_roles``),
whether the named indicator is the planted one (``indicator_exact``) or a planted Core neuron
(``indicator_core``, the issue's bar), and over the other layers how many are reported as a handler of their own:
the layers *after* the planted one (random weights reading the stream it changed: ``false_downstream``) and the
layers *before* it (random weights the plant cannot reach: ``false_upstream``). A negative control per seed, the
same random model with nothing planted (``control=True``), gives the "no handler" rate.

:func:`evaluation_table` runs a grid of settings and caches each row (:func:`darkness_visible.io.cache.cached_json`,
keyed by the setting, the seed and the source of the modules that build and discover);
:func:`evaluation_summary` is the table the chapter shows. From the shell::

    python -m darkness_visible.discovery.evaluate --seeds 100 --out evaluation.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Construction = Literal["random", "alt"]
ROLE_COLUMNS = ("core", "differentiator", "specialist", "consensus")


@dataclass(frozen=True)
class Setting:
    """One cell of the evaluation grid: construction, where the handler sits, whether at the paper's indices."""

    construction: Construction
    where: Literal["last", "middle"]
    paper_indices: bool = False

    @property
    def label(self) -> str:
        return f"{self.construction}/{self.where}/{'paper' if self.paper_indices else 'random'} indices"


#: The grid the chapter and the test read (the paper's indices need the alt construction's 3,072-wide MLP).
GRID: tuple[Setting, ...] = (Setting("random", "last"), Setting("random", "middle"), Setting("alt", "last"),
                             Setting("alt", "middle"), Setting("alt", "last", True), Setting("alt", "middle", True))
#: Seeds of the evaluation (never used while the procedure was designed: the design used seeds below 100).
EVAL_SEEDS: tuple[int, ...] = tuple(range(5000, 5100))


def _build(setting: Setting, seed: int):
    """``(subject, key, draw summary, corpus)`` of one planted model."""
    if setting.construction == "alt":
        from darkness_visible.discovery.planted_alt import alt_corpus, build_alt_planted

        p = build_alt_planted(seed, where=setting.where, paper_indices=setting.paper_indices)
        return p.subject, p.key, p.draw.summary(), alt_corpus()
    if setting.paper_indices:
        raise ValueError("the random construction places its roles at random indices only")
    from darkness_visible.discovery.planted_random import SMALL_SHAPES, build_random_planted, discovery_corpus

    deep = [s for s in SMALL_SHAPES if s.n_layers >= 3]
    rng = np.random.default_rng([seed, 26])
    shape = deep[int(rng.integers(len(deep)))] if setting.where == "middle" else None
    layer = -1 if setting.where == "last" else int(rng.integers(1, shape.n_layers - 1))
    p = build_random_planted(seed, shape=shape, layer=layer)
    return p.subject, p.key, p.draw.summary(), discovery_corpus(p)


def _control(subject, seed: int):
    """The same architecture with fresh random weights and nothing planted (the negative control)."""
    from nnsight import TransformersModel

    from darkness_visible.discovery.planted import PlantedSpec
    from darkness_visible.models.loading import Subject, load_tokenizer, random_model

    cfg = subject.hf.config
    module = random_model(cfg.__class__(**cfg.to_dict()), 9000 + seed)
    spec = PlantedSpec("tiny", f"control-{cfg.n_layer}L-m{cfg.n_inner}-{seed}", None, seed, n_layers=cfg.n_layer,
                       layer=cfg.n_layer - 1)
    return Subject(TransformersModel(module, tokenizer=load_tokenizer()), spec)


def evaluate_seed(setting: Setting, seed: int, config=None) -> dict[str, object]:
    """One row: the planted model's scores (see the module docstring) and its negative control's answer."""
    from darkness_visible.discovery.depth import discover_layers
    from darkness_visible.discovery.discover import DiscoverConfig, score_roles

    config = config or DiscoverConfig(n_boot=0)
    start = time.perf_counter()
    subject, key, summary, corpus = _build(setting, seed)
    result = discover_layers(subject, corpus, config, cache=False)
    t = result.table.set_index("layer")
    L = key.layer
    report = result.reports[L]
    score = score_roles(report, key).set_index("role")
    row: dict[str, object] = {"setting": setting.label, "construction": setting.construction, "where": setting.where,
                              "paper_indices": setting.paper_indices, **summary, "seed": seed, "planted_layer": L,
                              "n_layers": int(len(t))}
    row["handler_at_planted"] = bool(t.loc[L, "handler"])
    row["indicator"] = report.indicator
    row["indicator_exact"] = bool(row["handler_at_planted"] and score.loc["indicator", "hits"])
    row["indicator_core"] = bool(row["handler_at_planted"] and report.indicator in key.core)
    for role in ROLE_COLUMNS:
        row[f"{role}_precision"] = float(score.loc[role, "precision"])
        row[f"{role}_recall"] = float(score.loc[role, "recall"])
    after, before = t.loc[t.index > L], t.loc[t.index < L]
    row["n_downstream"] = int(len(after))
    row["false_downstream"] = int(after.handler.sum())
    row["flagged_downstream"] = int((after.downstream_of >= 0).sum())
    row["n_upstream"] = int(len(before))
    row["false_upstream"] = int(before.handler.sum())
    control = discover_layers(_control(subject, seed), corpus, config, cache=False)
    row["control_layers"] = int(len(control.table))
    row["control_handlers"] = int(control.table.found.sum())
    row["passed"] = bool(row["indicator_core"] and row["core_precision"] >= 0.9 and row["core_recall"] >= 0.9)
    row["seconds"] = time.perf_counter() - start
    return row


def evaluation_table(seeds=EVAL_SEEDS, grid: tuple[Setting, ...] = GRID, *, config=None,
                     cache: str | Path | bool | None = None, progress: bool = False):
    """:func:`evaluate_seed` for every setting of ``grid`` and every seed: a ``pandas.DataFrame``, one row each,
    each row cached (``cache`` as for the harvest: ``None`` = ``DV_CACHE``, ``False`` = none)."""
    import pandas as pd
    from tqdm import tqdm

    from darkness_visible.discovery import depth, discover, planted, planted_alt, planted_random
    from darkness_visible.io.cache import cached_json, source_digest
    from darkness_visible.tracing import firing, harvest, layers

    code = source_digest(discover, depth, planted, planted_alt, planted_random, firing, harvest, layers,
                         sys.modules[__name__])
    rows = []
    jobs = [(s, int(seed)) for seed in seeds for s in grid]  # seed-major: a partial run covers every setting
    for setting, seed in tqdm(jobs, desc="evaluation", disable=not progress):
        material = {"what": "discovery evaluation", "setting": asdict(setting), "seed": seed,
                    "config": None if config is None else asdict(config), "code": code}
        rows.append(cached_json(cache, material, "evaluation",
                                lambda setting=setting, seed=seed: evaluate_seed(setting, seed, config)))
    return pd.DataFrame(rows)


def evaluation_summary(table):
    """Per setting: seeds, indicator accuracy (a planted Core neuron; the planted indicator itself), mean
    precision and recall per role, the share of seeds passing the issue's bar, the false-handler rate on the
    layers downstream of the plant (and upstream of it) and the "no handler" rate of the negative controls
    (share of their layers with no handler)."""
    import pandas as pd

    out = []
    for label, part in table.groupby("setting", sort=False):
        row = {"setting": label, "seeds": len(part), "indicator_accuracy": part.indicator_core.mean(),
               "indicator_exact": part.indicator_exact.mean(), "passed": part.passed.mean()}
        for role in ROLE_COLUMNS:
            row[f"{role}_precision"] = part[f"{role}_precision"].mean()
            row[f"{role}_recall"] = part[f"{role}_recall"].mean()
        down = part.n_downstream.sum()
        row["downstream_layers"] = int(down)
        row["false_handler_rate"] = part.false_downstream.sum() / down if down else np.nan
        up = part.n_upstream.sum()
        row["upstream_false_rate"] = part.false_upstream.sum() / up if up else np.nan
        layers = part.control_layers.sum()
        row["no_handler_rate"] = 1 - part.control_handlers.sum() / layers if layers else np.nan
        out.append(row)
    return pd.DataFrame(out)


def evaluation_markdown(summary, *, commit: str, seeds: int, seconds: float | None = None) -> str:
    """The per-setting summary as a markdown page: what ran (commit, seeds per setting, the seeds' range) and
    one row per setting (indicator accuracy, precision and recall of every role, the share passing the issue's
    bar, the false-handler rate downstream of the plant and the "no handler" rate of the unplanted controls)."""
    cols = [("seeds", "seeds", "{:d}"), ("indicator_accuracy", "indicator (Core)", "{:.3f}"),
            ("indicator_exact", "indicator (exact)", "{:.3f}"), ("passed", "passed", "{:.3f}")]
    for role, short in (("core", "Core"), ("differentiator", "Diff"), ("specialist", "Spec"),
                        ("consensus", "cons")):
        cols += [(f"{role}_precision", f"{short} P", "{:.3f}"), (f"{role}_recall", f"{short} R", "{:.3f}")]
    cols += [("false_handler_rate", "false handler (downstream)", "{:.3f}"),
             ("upstream_false_rate", "false handler (upstream)", "{:.3f}"),
             ("no_handler_rate", "no handler (controls)", "{:.3f}")]

    def cell(value, fmt: str) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return "n/a"
        return fmt.format(int(value) if fmt == "{:d}" else float(value))

    lines = ["# Discovery: held-out evaluation", "",
             f"`python -m darkness_visible.discovery.evaluate --seeds {seeds}` at commit `{commit}`: {seeds} seeds "
             f"per setting (seeds {EVAL_SEEDS[0]}-{EVAL_SEEDS[0] + seeds - 1}), each a planted model and an unplanted "
             "control of the same shape" + (f"; {seconds / 60:.0f} min" if seconds else "") + ".", "",
             "Rates are shares of seeds (indicator, passed: a planted Core neuron named, Core precision and recall "
             ">= 0.9), means over seeds (precision, recall), or shares of layers (false handler: layers after / "
             "before the planted one reported as a handler of their own; no handler: control layers with none).",
             "", "| setting | " + " | ".join(c[1] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for row in summary.to_dict("records"):
        lines.append(f"| {row['setting']} | " + " | ".join(cell(row.get(k), f) for k, _, f in cols) + " |")
    return "\n".join(lines) + "\n"


def chapter_evaluation(n_seeds: int | None = None, *, cache: str | Path | bool | None = None,
                       progress: bool = False):
    """The summary the chapter shows: :func:`evaluation_summary` over the first ``n_seeds`` of
    :data:`EVAL_SEEDS` (default: the size preset's ``evaluation_seeds``, 10 at the paper size and 1 at the quick
    one; the table states the count; ``python -m darkness_visible.discovery.evaluate --seeds 100`` runs 100)."""
    if n_seeds is None:
        from darkness_visible.config.sizes import resolve_size

        n_seeds = resolve_size().evaluation_seeds  # 10 at the paper size: 100 take an hour (the CLI)
    return evaluation_summary(evaluation_table(EVAL_SEEDS[:n_seeds], cache=cache, progress=progress))


def main(argv: list[str] | None = None) -> int:
    """``python -m darkness_visible.discovery.evaluate [--seeds N] [--out rows.csv] [--cache DIR]``."""
    import pandas as pd

    parser = argparse.ArgumentParser(prog="python -m darkness_visible.discovery.evaluate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per setting (default 100)")
    parser.add_argument("--setting", action="append", default=None,
                        help="only these settings, e.g. alt/middle/random (construction/where/indices)")
    parser.add_argument("--cache", default=None, help="cache folder (default: DV_CACHE)")
    parser.add_argument("--out", default=None, help="write the per-seed rows to this CSV file")
    parser.add_argument("--markdown", default=None, help="write the per-setting summary to this markdown file")
    parser.add_argument("--commit", default="unknown", help="the commit the markdown names (default: unknown)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    grid = GRID
    if args.setting:
        wanted = {tuple(s.split("/")) for s in args.setting}
        grid = tuple(s for s in GRID if (s.construction, s.where, "paper" if s.paper_indices else "random") in wanted)
    table = evaluation_table(EVAL_SEEDS[: args.seeds], grid, cache=args.cache, progress=True)
    if args.out:
        table.to_csv(args.out, index=False)
    summary = evaluation_summary(table)
    if args.markdown:
        Path(args.markdown).write_text(evaluation_markdown(summary, commit=args.commit, seeds=args.seeds,
                                                           seconds=time.perf_counter() - start))
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(summary.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
