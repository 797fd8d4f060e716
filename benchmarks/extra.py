"""Benchmarks that need the chapter modules: the crossover pipeline and integrated gradients."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

Result = dict[str, tuple[float, str, str]]


def _clock(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def paper_style_token_bootstrap(values: np.ndarray, levels: np.ndarray, n_resamples: int = 10_000) -> dict:
    """The released code's procedure, re-implemented as it runs: a Python loop of np.random.choice per resample."""
    out = {}
    for level in np.unique(levels):
        sample = values[levels == level]
        means = [np.random.choice(sample, size=len(sample), replace=True).mean() for _ in range(n_resamples)]
        out[int(level)] = (sample.mean(), np.percentile(means, 2.5), np.percentile(means, 97.5))
    return out


def bench_crossover(n_windows: int = 4) -> Result:
    """Harvest + ΔP + bootstraps vs two forward passes per window and the Python-loop bootstrap."""
    from darkness_visible.analysis.consensus import FAITHFUL, STATED, consensus_level, crossover, delta_p
    from darkness_visible.data.corpus import CorpusSpec, token_stream, windows
    from darkness_visible.data.neurons import CONSENSUS
    from darkness_visible.models.loading import load_model
    from darkness_visible.tracing.firing import FIRE_ABS
    from darkness_visible.tracing.harvest import HarvestConfig, Variant, harvest

    subject = load_model("standin")
    corpus = CorpusSpec(n_windows=n_windows, source="local")
    config = HarvestConfig(rules=(FIRE_ABS,), record=CONSENSUS, tiers=(), variants=(Variant("no_mlp", whole_mlp=True),))

    def ours() -> object:
        H = harvest(subject, corpus, config, cache=False, progress=False)
        levels, dp = consensus_level(H), delta_p(H)
        return crossover(levels, dp, H.window_index, FAITHFUL.seeded(0)), levels, dp, H.window_index

    t_ours, (_, levels, dp, win) = _clock(ours)

    def paper() -> object:
        stream, _ = token_stream(subject.tokenizer, corpus)
        inputs, targets = windows(stream, corpus)
        mlp = subject.hf.transformer.h[11].mlp
        acts: dict[str, torch.Tensor] = {}
        values, lv = [], []
        for k in range(n_windows):
            ids = torch.from_numpy(inputs[k:k + 1])
            tgt = torch.from_numpy(targets[k])
            with torch.no_grad():
                h = mlp.act.register_forward_hook(lambda m, a, o: acts.__setitem__("a", o))
                p_full = subject.hf(ids).logits[0].softmax(-1)[torch.arange(1024), tgt]
                h.remove()
                h = mlp.register_forward_hook(lambda m, a, o: torch.zeros_like(o))
                p_no = subject.hf(ids).logits[0].softmax(-1)[torch.arange(1024), tgt]
                h.remove()
            values.append((p_full - p_no).numpy())
            lv.append((acts["a"][0][:, list(CONSENSUS)].abs() > 0.1).sum(-1).numpy())
        return paper_style_token_bootstrap(np.concatenate(values), np.concatenate(lv))

    t_paper, _ = _clock(paper)
    # the bootstraps at the paper's size: this run's values tiled to 200 windows (204,800 tokens)
    reps = 200 // n_windows
    big_levels, big_dp = np.tile(levels, reps), np.tile(dp, reps)
    big_win = np.concatenate([win + r * n_windows for r in range(reps)])
    t_tok, _ = _clock(lambda: crossover(big_levels, big_dp, big_win, FAITHFUL.seeded(0)))
    t_seq, _ = _clock(lambda: crossover(big_levels, big_dp, big_win, STATED))
    t_loop, _ = _clock(lambda: paper_style_token_bootstrap(big_dp, big_levels))
    n = n_windows * 1024
    return {
        "crossover_pipeline_vs_paper": (t_paper / t_ours, ">= 1.5", f"{n:,} tokens: ours {t_ours:.1f} s (one pass, "
                                        f"re-unembedding, vectorised bootstrap), paper-style {t_paper:.1f} s"),
        "sequence_bootstrap_seconds": (t_seq, "< 1", "10,000 resamples of 200 windows, 8 levels, 204,800 tokens"),
        "token_bootstrap_vs_paper_loop": (t_loop / t_tok, ">= 10", f"204,800 tokens: ours {t_tok:.2f} s vs "
                                          f"np.random.choice loop {t_loop:.2f} s"),
    }


def bench_ig(n_prompts: int = 20, loop_prompts: int = 2) -> Result:
    """IG, 50 steps, logit target: one batched trace per prompt vs one forward+backward per step."""
    from darkness_visible.analysis.knowledge import IGConfig, integrated_gradients, integrated_gradients_loop
    from darkness_visible.data.prompts import FACT_PROMPTS
    from darkness_visible.models.loading import load_model

    subject = load_model("standin")
    config = IGConfig(scores=("logit",))
    prompts = FACT_PROMPTS[:n_prompts]
    t_batched, _ = _clock(lambda: [integrated_gradients(subject, p.prompt, p.target, config) for p in prompts])
    loop = prompts[:loop_prompts]
    t_loop, _ = _clock(lambda: [integrated_gradients_loop(subject, p.prompt, p.target, config) for p in loop])
    per_prompt_loop = t_loop / len(loop)
    return {
        "ig_batched_vs_per_step": (per_prompt_loop / (t_batched / len(prompts)), "(none)",
                                   f"{len(prompts)} prompts x 50 steps batched: {t_batched:.1f} s; per-step loop "
                                   f"{per_prompt_loop:.1f} s per prompt (timed on {len(loop)} prompts)"),
    }


EXTRA: dict[str, Callable[[], Result]] = {"crossover": bench_crossover, "ig": bench_ig}
