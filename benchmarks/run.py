"""Benchmark harness: ratios against plain PyTorch (or the paper's procedure), measured in one run.

Each benchmark returns ``{name: (ratio, target, explanation)}``; the harness writes RESULTS.md and prints
all ratios on its last line. Nothing here is a test: a missed target is reported, not failed.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
Result = dict[str, tuple[float, str, str]]


def _timed(fn: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_harvest(n_windows: int = 6, batch: int = 2) -> Result:
    """The traced pass vs a plain ``inference_mode`` forward of the same batches (stand-in, 1,024 tokens)."""
    from darkness_visible.corpus import CorpusSpec, token_stream, windows
    from darkness_visible.harvest import HarvestConfig, Variant, summarise_batch, trace_batch
    from darkness_visible.model import load_model

    subject = load_model("standin")
    corpus = CorpusSpec(n_windows=n_windows, source="local")
    stream, _ = token_stream(subject.tokenizer, corpus)
    inputs, targets = (torch.from_numpy(a) for a in windows(stream, corpus))
    batches = [(inputs[i:i + batch], targets[i:i + batch]) for i in range(0, n_windows, batch)]

    def plain() -> None:
        with torch.inference_mode():
            for ids, _ in batches:
                subject.hf(ids)

    def traced(config: HarvestConfig) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for ids, tgt in batches:
                    summarise_batch(subject, trace_batch(subject, ids), tgt, config, 11)
        return run

    masks = HarvestConfig(variants=(), tiers=())
    no_mlp = HarvestConfig(variants=(Variant("no_mlp", whole_mlp=True),), tiers=())
    full = HarvestConfig()
    plain()  # warm-up
    t_plain = _timed(plain, 2)
    t_masks = _timed(traced(masks), 2)
    t_nomlp = _timed(traced(no_mlp), 2)
    t_full = _timed(traced(full), 1)
    tokens = n_windows * 1024
    return {
        "harvest_masks_vs_plain": (t_plain / t_masks, ">= 0.95", f"plain {tokens / t_plain:.0f} tok/s, "
                                   f"acts+masks+target stats {tokens / t_masks:.0f} tok/s"),
        "harvest_no_mlp_vs_plain": (t_plain / t_nomlp, ">= 0.70", f"+ no-MLP log-probs {tokens / t_nomlp:.0f} tok/s"),
        "harvest_all_variants_vs_plain": (t_plain / t_full, "(none)", f"all 6 variants + tier norms "
                                          f"{tokens / t_full:.0f} tok/s (7 unembeddings per token)"),
    }


def bench_memory(windows: tuple[int, int] = (4, 12)) -> Result:
    """Peak resident memory of the harvest (subprocesses), extrapolated to 512,000 tokens."""
    peaks = []
    for n in windows:
        code = (
            "import resource, sys\n"
            "from darkness_visible.model import load_model\n"
            "from darkness_visible.corpus import CorpusSpec\n"
            "from darkness_visible.harvest import harvest\n"
            f"H = harvest(load_model('standin'), CorpusSpec(n_windows={n}, source='local'),\n"
            "            cache=False, progress=False)\n"
            "print(sum(a.nbytes for a in H.arrays.values()) / H.n_tokens)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        per_token, peak_kib = float(out[0]), float(out[1])
        peaks.append(peak_kib / 2**20)
    stored = per_token * 512_000 / 2**30
    # The peak is set by the model and one batch's logits; the results grow on top of it, and at the end
    # of a run they exist twice for a moment (the chunks and their concatenation).
    at_512k = max(peaks) + 2 * stored
    return {
        "memory_512k_GiB": (at_512k, "<= 4", f"peak RSS {peaks[0]:.2f} GiB at {windows[0]} windows, {peaks[1]:.2f} GiB "
                            f"at {windows[1]}; {per_token:.0f} stored bytes/token = {stored:.2f} GiB of results "
                            "at 512,000 tokens (bit-packed masks); estimate = measured peak + 2 x results"),
    }


def bench_book(windows: int = 4) -> Result:
    """The whole book executed on the stand-in (``DV_WINDOWS`` windows, empty cache), as CI builds it."""
    import tempfile

    root = HERE.parent
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DV_MODEL": "standin", "DV_WINDOWS": str(windows), "DV_CORPUS_SOURCE": "local",
               "DV_CACHE": f"{tmp}/cache", "DV_RESULTS": f"{tmp}/results", "HF_HUB_OFFLINE": "1"}
        start = time.perf_counter()
        subprocess.run(["jupyter-book", "build", str(root), "--path-output", tmp, "-W", "--keep-going"], env=env,
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
    return {"book_seconds_standin": (seconds, "(none)", f"jupyter-book build on the stand-in, {windows} windows, "
                                     "empty harvest cache, every notebook executed")}


def _book_build(root: Path, out: Path, env: dict[str, str], log: Path) -> tuple[int, float, float, dict[str, float]]:
    """One ``jupyter-book build -W``: exit code, seconds, peak RSS of any process in it (GiB), seconds per page."""
    import re
    import resource

    start = time.perf_counter()
    with log.open("w") as handle:
        code = subprocess.run(["jupyter-book", "build", str(root), "--path-output", str(out), "-W", "--keep-going"],
                              env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    # ru_maxrss of RUSAGE_CHILDREN: the largest resident set of any waited-for descendant (kernels included)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    pages = {m.group(1): float(m.group(2)) for m in
             re.finditer(r"([\w.-]+)\.ipynb: Executed notebook in ([\d.]+) seconds", log.read_text())}
    return code, seconds, peak, pages


def bench_fullsize() -> Result:
    """The whole book at ``paper`` size on the stand-in: cold (empty cache), then warm. Fails if any cell fails.

    Writes the logs, per-chapter times and the harvest's throughput to ``_build/bench-fullsize/``; a chapter
    that fails is executed again by its chapter command, which saves it, failing cell included, and says where.
    """
    import shutil

    root = HERE.parent
    out = root / "_build" / "bench-fullsize"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "DV_MODEL": "standin", "DV_SIZE": "paper", "DV_CORPUS_SOURCE": "local",
           "DV_CACHE": str(out / "cache"), "DV_RESULTS": str(out / "results"), "HF_HUB_OFFLINE": "1"}
    env.pop("DV_WINDOWS", None)
    timings: dict[str, dict[str, float]] = {}
    totals: dict[str, float] = {}
    peak = 0.0
    for phase in ("cold", "warm"):
        print(f"   {phase} build (log: {out / f'{phase}.log'})", flush=True)
        code, seconds, peak_phase, pages = _book_build(root, out / phase, env, out / f"{phase}.log")
        peak = max(peak, peak_phase)
        timings[phase], totals[phase] = pages, seconds
        if code != 0:
            failed = sorted(set(_failed_pages(out / phase)))
            for name in failed:  # save the failing notebook, failing cell included (the command says where)
                command = name.split("_", 1)[1].replace("_", "-")
                subprocess.run([sys.executable, "-m", "darkness_visible", command], env=env, cwd=root)
            raise SystemExit(f"fullsize: the {phase} build failed (exit {code}) in {failed or 'an unknown page'}; "
                             f"log {out / f'{phase}.log'}; executed notebooks under {root / '_build' / 'executed'}")
    harvest = _harvest_throughput(out / "cache")
    summary = {"timings": timings, "totals_s": totals, "peak_rss_GiB": peak, "harvest": harvest}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    chapters = ", ".join(f"{k} {v / 60:.1f}" for k, v in sorted(timings["cold"].items()))
    tps = harvest.get("tokens_per_s")
    return {
        "book_paper_cold_minutes": (totals["cold"] / 60, "<= 45", f"stand-in, DV_SIZE=paper, empty cache; minutes per "
                                    f"chapter: {chapters}; peak RSS {peak:.2f} GiB; harvest {tps} tok/s"),
        "book_paper_warm_minutes": (totals["warm"] / 60, "<= 5", "same build again with the cache filled: " + ", ".join(
            f"{k} {v / 60:.1f}" for k, v in sorted(timings["warm"].items()))),
    }


def _failed_pages(out: Path) -> list[str]:
    reports = out / "_build" / "html" / "reports"
    return [p.name.split(".")[0] for p in reports.glob("**/*.err.log")] if reports.exists() else []


def _harvest_throughput(cache: Path) -> dict[str, object]:
    """The ``throughput`` block of the paper-size harvest's manifest (the largest harvest in the cache)."""
    best: dict[str, object] = {}
    for manifest in cache.glob("harvest-*/manifest.json"):
        meta = json.loads(manifest.read_text())["meta"]
        block = meta.get("throughput") or {}
        if block.get("tokens_computed", 0) > best.get("tokens_computed", 0):
            best = block
    return best


BENCHMARKS: dict[str, Callable[[], Result]] = {"harvest": bench_harvest, "memory": bench_memory, "book": bench_book,
                                               "fullsize": bench_fullsize}


def _optional() -> None:
    try:
        from extra import EXTRA  # benchmarks that need chapter modules

        BENCHMARKS.update(EXTRA)
    except ImportError:
        pass


def machine() -> dict[str, str]:
    import nnsight
    import transformers

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(), "torch": torch.__version__, "torch threads": str(torch.get_num_threads()),
        "nnsight": nnsight.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    _optional()
    chosen = argv or [name for name in BENCHMARKS if name != "fullsize"]  # fullsize takes an hour or more: ask for it
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    previous = HERE / "results.json"
    results: Result = {}
    if argv and previous.exists():  # a partial run updates its rows and keeps the others
        results = {k: tuple(v) for k, v in json.loads(previous.read_text())["results"].items()}
    for name in chosen:
        print(f"== {name}", flush=True)
        results.update(BENCHMARKS[name]())
    info = machine()
    lines = ["# Benchmark results", "", "Written by `python benchmarks/run.py`; ratios > 1 mean faster than the "
             "reference (memory: GiB).", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "| benchmark | ratio | target | detail |", "|---|---|---|---|"]
    lines += [f"| {k} | {r:.3g} | {t} | {d} |" for k, (r, t, d) in results.items()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    (HERE / "results.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))
    print("ratios: " + ", ".join(f"{k}={r:.3g}" for k, (r, _, _) in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
