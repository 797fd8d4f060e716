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


def interleaved(variants: dict[str, Callable[[], object]], rounds: int = 3) -> dict[str, list[float]]:
    """Time each variant once per round, in the order given (A B C A B C ...): shared-machine noise hits all alike.

    Returns the seconds of every round per variant; compare them with :func:`round_ratios`.
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def round_ratios(reference: list[float], other: list[float]) -> tuple[float, str]:
    """Median of the per-round speed ratios ``reference / other`` and their spread (min-max), as text."""
    ratios = np.asarray(reference) / np.asarray(other)
    return float(np.median(ratios)), f"median of {len(ratios)} rounds, spread {ratios.min():.3g}-{ratios.max():.3g}"


def bench_harvest(n_windows: int = 4, batch: int = 2, rounds: int = 3) -> Result:
    """The traced pass vs a plain ``inference_mode`` forward of the same batches (stand-in, 1,024 tokens).

    Interleaved rounds (plain, masks, no-MLP, all variants, plain, ...); the ratio is the median per round.
    """
    from darkness_visible.data.corpus import CorpusSpec, token_stream, windows
    from darkness_visible.models.loading import load_model
    from darkness_visible.tracing.harvest import HarvestConfig, Variant, rank_updates, summarise_batch, trace_batch

    subject = load_model("standin", device="cpu")
    corpus = CorpusSpec(n_windows=n_windows, source="local")
    stream, _ = token_stream(subject.tokenizer, corpus)
    inputs, targets = (torch.from_numpy(a) for a in windows(stream, corpus))
    batches = [(inputs[i:i + batch], targets[i:i + batch]) for i in range(0, n_windows, batch)]

    def plain() -> None:
        with torch.inference_mode():
            for ids, _ in batches:
                subject.hf(ids)

    def traced(config: HarvestConfig) -> Callable[[], None]:
        with torch.inference_mode():
            updates = rank_updates(subject, config, 11)

        def run() -> None:
            with torch.inference_mode():
                for ids, tgt in batches:
                    summarise_batch(subject, trace_batch(subject, ids), tgt, config, 11, updates)
        return run

    masks = HarvestConfig(variants=(), tiers=())
    no_mlp = HarvestConfig(variants=(Variant("no_mlp", whole_mlp=True),), tiers=())
    full = HarvestConfig()
    plain()  # warm-up
    times = interleaved({"plain": plain, "masks": traced(masks), "no_mlp": traced(no_mlp), "full": traced(full)},
                        rounds)
    tokens = n_windows * 1024
    rate = {k: tokens / float(np.median(v)) for k, v in times.items()}
    out: Result = {}
    for key, name, target, what in (
            ("harvest_masks_vs_plain", "masks", ">= 0.95", "acts+masks+target stats"),
            ("harvest_no_mlp_vs_plain", "no_mlp", ">= 0.70", "+ no-MLP log-probs"),
            ("harvest_all_variants_vs_plain", "full", ">= 0.6", "all 6 variants + tier norms (2 unembeddings, "
             "4 rank-|S| updates)")):
        ratio, spread = round_ratios(times["plain"], times[name])
        out[key] = (ratio, target, f"plain {rate['plain']:.0f} tok/s, {what} {rate[name]:.0f} tok/s; {spread}")
    return out


def _rss_of_harvest(n_windows: int) -> tuple[float, float]:
    """Peak RSS (GiB) and stored bytes per token of one harvest in a fresh process (see :func:`bench_memory`)."""
    import tempfile

    code = f"""
import resource, numpy as np, dataclasses
import darkness_visible.tracing.harvest as hv
from darkness_visible.models.loading import gpt2_small_config, random_model, load_tokenizer, Subject, ModelSpec
from darkness_visible.data.corpus import CorpusSpec, token_stream
from nnsight import TransformersModel
cfg = gpt2_small_config(); cfg.n_layer = 1
subject = Subject(TransformersModel(random_model(cfg, 0), tokenizer=load_tokenizer()), ModelSpec("standin", "standin"))
corpus = CorpusSpec(n_windows={n_windows}, source="local")
base, origin = token_stream(subject.tokenizer, dataclasses.replace(corpus, n_windows=200))
tiled = np.resize(base, corpus.n_tokens + 1)  # the test split holds 286K tokens: repeat it
hv.token_stream = lambda tok, spec, **kw: (tiled, origin + " (tiled)")
config = hv.HarvestConfig(variants=(), logits=False)
H = hv.harvest(subject, corpus, config, cache={{cache!r}}, progress=False)
total = sum(int(np.prod(a.shape)) * a.dtype.itemsize for a in H.arrays.values())
touched = sum(float(a[i:i + 65536].sum()) for a in H.arrays.values() for i in range(0, len(a), 65536))  # every page
print(total / H.n_tokens, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, touched)
"""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code.replace("{cache!r}", repr(tmp))], capture_output=True,
                             text=True, check=True).stdout.split()
    return float(out[1]) / 2**20, float(out[0])


def bench_memory(windows: tuple[int, ...] = (200, 2000)) -> Result:
    """Peak resident memory of a harvest at 200 and 2,000 windows (2,048,000 tokens), each in a fresh process.

    The results stream to disk chunk by chunk and come back memory-mapped, so memory should not grow with
    the corpus. To make 2,000 windows affordable here the pass uses a GPT-2-Small-wide model with one layer
    (same 3,072-neuron masks, 27 recorded neurons and tier norms per token: the stored bytes are the
    paper's) and no unembedding, over the test stream repeated to 2,048,001 tokens; the unembedding's
    transient memory is measured by the full-size book build (``fullsize``).
    """
    peaks = {n: _rss_of_harvest(n) for n in windows}
    (p_small, per_token), (p_big, _) = peaks[windows[0]], peaks[windows[-1]]
    return {
        "peak_rss_2000_windows_GiB": (p_big, "<= 3", f"peak RSS {p_small:.2f} GiB at {windows[0]} windows, "
                                      f"{p_big:.2f} GiB at {windows[-1]} ({windows[-1] * 1024:,} tokens); "
                                      f"{per_token:.0f} stored bytes/token, memory-mapped from the cache"),
    }


def bench_book() -> Result:
    """The whole book executed on the stand-in at the ``quick`` size (empty cache), as CI builds it."""
    import tempfile

    root = HERE.parent
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DV_MODEL": "standin", "DV_SIZE": "quick", "DV_CORPUS_SOURCE": "local",
               "DV_CACHE": f"{tmp}/cache", "DV_RESULTS": f"{tmp}/results", "HF_HUB_OFFLINE": "1"}
        start = time.perf_counter()
        subprocess.run(["jupyter-book", "build", str(root), "--path-output", tmp, "-W", "--keep-going"], env=env,
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
    return {"book_seconds_standin": (seconds, "(none)", "jupyter-book build on the stand-in, DV_SIZE=quick, "
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


def bench_ci() -> Result:
    """``bash .ci/run`` on a fresh clone of this checkout's HEAD, as CI runs it (limit: 90 minutes; target: 30 on
    an idle machine). Records the total and each stage's minutes, and the load average before and after, since
    a loaded machine makes every stage slower. The clone re-points the editable install; this checkout is
    installed again afterwards."""
    import re
    import tempfile

    root = HERE.parent
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
                                text=True).stdout.strip()  # the clone's, not HEAD's at the end of the run
        env = {k: v for k, v in os.environ.items() if not k.startswith("DV_")}
        load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
        start = time.perf_counter()
        done = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
        log = done.stdout + done.stderr
    (root / "_build").mkdir(exist_ok=True)
    (root / "_build" / "bench-ci.log").write_text(log)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(root)], check=False)
    if done.returncode != 0:
        raise SystemExit(f"ci: .ci/run failed (exit {done.returncode}) after {seconds / 60:.1f} min; log "
                         f"{root / '_build' / 'bench-ci.log'}")
    book = re.search(r"book built in (\d+) s", log)
    tests = re.search(r"=+ (.*(?:passed|failed).*) in ([\d.]+)s", log)
    detail = (f"fresh clone of {commit}: book {int(book.group(1)) / 60:.1f} min" if book else "book time not found")
    if tests:
        detail += f", pytest {float(tests.group(2)) / 60:.1f} min ({tests.group(1)})"
    detail += f"; load average {load_before} before, {load_after} after"
    return {"ci_fresh_clone_minutes": (seconds / 60, "<= 30", detail)}


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
    flops, counts = build_flops(out / "cache")
    gflops = gemm_gflops()
    as_run = sum(v for k, v in flops.items() if k != "lens (24 lens decodings, dense)")
    dense = sum(v for k, v in flops.items() if k != "lens (24 lens decodings, as run)")
    floor_min = as_run * 1e3 / gflops / 60
    summary = {"timings": timings, "totals_s": totals, "peak_rss_GiB": peak, "harvest": harvest, "tflop": flops,
               "counts": counts, "gemm_gflops": gflops, "floor_minutes": floor_min,
               "dense_floor_minutes": dense * 1e3 / gflops / 60}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    chapters = ", ".join(f"{k} {v / 60:.1f}" for k, v in sorted(timings["cold"].items()))
    tps = harvest.get("tokens_per_s")
    return {
        "flop_floor_paper_minutes": (floor_min, "(floor)", f"{as_run:.0f} TFLOP of the build's heavy passes as run "
                                     f"({dense:.0f} TFLOP with a dense lens) at the measured {gflops:.0f} GFLOP/s of "
                                     f"fp32 matrix products; cold build / floor = "
                                     f"{totals['cold'] / 60 / floor_min:.2f}"),
        "book_paper_cold_minutes": (totals["cold"] / 60, "<= 45", f"stand-in, DV_SIZE=paper, empty cache; minutes per "
                                    f"chapter: {chapters}; peak RSS {peak:.2f} GiB; harvest {tps} tok/s"),
        "book_paper_warm_minutes": (totals["warm"] / 60, "<= 5", "same build again with the cache filled: " + ", ".join(
            f"{k} {v / 60:.1f}" for k, v in sorted(timings["warm"].items()))),
    }


def bench_fullsize_warm() -> Result:
    """The warm rebuild alone, on the cache ``fullsize`` left: a first build brings the cache up to date with
    the code (entries keyed by the source of the code that changed are computed again), then the timed one.

    For when only the rebuild path changed since the last ``fullsize`` run; its cold figure stays as measured.
    """
    root = HERE.parent
    out = root / "_build" / "bench-fullsize"
    if not (out / "cache").is_dir():
        raise SystemExit(f"fullsize_warm: no cache at {out / 'cache'}; run `python benchmarks/run.py fullsize` first")
    env = {**os.environ, "DV_MODEL": "standin", "DV_SIZE": "paper", "DV_CORPUS_SOURCE": "local",
           "DV_CACHE": str(out / "cache"), "DV_RESULTS": str(out / "results"), "HF_HUB_OFFLINE": "1"}
    env.pop("DV_WINDOWS", None)
    import shutil

    seconds, pages = 0.0, {}
    for phase in ("refill", "warm"):
        shutil.rmtree(out / phase, ignore_errors=True)  # a fresh Sphinx output: every page is executed, none skipped
        print(f"   {phase} build (log: {out / f'{phase}.log'})", flush=True)
        code, seconds, _, pages = _book_build(root, out / phase, env, out / f"{phase}.log")
        if code != 0:
            raise SystemExit(f"fullsize_warm: the {phase} build failed (exit {code}); log {out / f'{phase}.log'}")
        if len(pages) != len(list((root / "notebooks").glob("[0-9]*.ipynb"))):
            raise SystemExit(f"fullsize_warm: the {phase} build executed {len(pages)} chapters, not all of them")
    return {"book_paper_warm_minutes": (seconds / 60, "<= 5", "the whole book at DV_SIZE=paper on the stand-in "
                                        "again with the cache filled: " + ", ".join(
                                            f"{k} {v / 60:.1f}" for k, v in sorted(pages.items())))}


def gemm_gflops(seconds: float = 3.0) -> float:
    """Measured fp32 matrix-product throughput of this machine: the unembedding's shape, 1,024 x 768 x 50,257."""
    a, b = torch.randn(1024, 768), torch.randn(768, 50257)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2 * 1024 * 768 * 50257 * n / (time.perf_counter() - start) / 1e9


def build_flops(cache: Path, size_name: str = "paper") -> tuple[dict[str, float], dict[str, float]]:
    """FLOPs (in TFLOP) of the full build's heavy passes on GPT-2 Small's shape, from the sizes and the caches.

    Per token: ``forward`` = 2 x 85M weight MACs + causal attention (2 x 2 x T/2 x 768 per layer) at T = 1,024;
    ``unembed`` = 2 x 768 x 50,257. The lens counts the rows that really took the full product (from its
    cache); the tuned lens the steps it really trained and its held-out checks (from its cache). Chapter
    04-05's prompts are small and left out.
    """
    from darkness_visible.config.sizes import PRESETS

    size = PRESETS[size_name]
    d, vocab, layers, T = 768, 50257, 12, 1024
    weights = layers * (4 * d * d + 2 * d * 4 * d)
    attn = lambda t: layers * 2 * 2 * (t / 2) * d  # noqa: E731 - QK^T and AV, causal
    fwd = lambda t: 2 * weights + attn(t)  # noqa: E731 - without the unembedding
    unembed = 2 * d * vocab
    lens_meta: dict[str, float] = {}
    for manifest in cache.glob("lens-*/manifest.json"):
        meta = json.loads(manifest.read_text())["meta"]
        if meta.get("rows", 0) > lens_meta.get("rows", 0):
            lens_meta = meta
    steps, checks = size.lens_max_steps, 1 + size.lens_max_steps // 25
    for path in cache.glob("tuned-lens-*.pt"):
        saved = torch.load(path, weights_only=True)
        steps, checks = len(saved["losses"]), len(saved.get("agreement", []))
    n = size.windows * T
    lens_rows = size.lens_windows * (T - 1) // size.lens_stride
    full_share = lens_meta.get("full_rows", 24 * lens_rows) / max(lens_meta.get("rows", 24 * lens_rows), 1)
    parts = {
        "harvest (forward + 3 unembeddings)": n * (fwd(T) + 3 * unembed),
        # chapter 06 traces its windows once for the survey, L11H7's statistics and the lens (window_pass)
        "chapter 06 shared pass (forward)": max(size.survey_windows, size.sink_windows, size.lens_windows) * T * fwd(T),
        "lens (final unembedding of scored positions)": lens_rows * unembed,
        "lens (24 lens decodings, dense)": lens_rows * 24 * unembed,
        "tuned-lens training": steps * size.lens_tokens_per_step * 12 * 2 * unembed
        + checks * 1024 * 12 * unembed + size.lens_train_windows * T * fwd(T)  # steps, held-out checks, states
        + 12 * 2 * size.lens_train_windows * T * (d + 1) ** 2,  # the least-squares start
        "controls (6 models x DS-B)": (1 + len(size.null_seeds)) * size.controls_windows * 256 * fwd(256),
    }
    out = {k: v / 1e12 for k, v in parts.items()}
    out["lens (24 lens decodings, as run)"] = out["lens (24 lens decodings, dense)"] * full_share
    return out, {"lens share taking the full product": full_share, "tuned-lens steps": steps}


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
                                               "fullsize": bench_fullsize, "fullsize_warm": bench_fullsize_warm,
                                               "ci": bench_ci}


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
        "commit": _commit(),
    }


def _commit() -> str:
    """The checkout's commit (with ``+`` if it has uncommitted changes), or ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "notebooks", "benchmarks/run.py"],
                               cwd=HERE.parent, capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(results: Result) -> None:
    """Write ``results.json`` and ``RESULTS.md`` (with the machine's facts) from ``{name: (value, target, detail)}``."""
    info = machine()
    lines = ["# Benchmark results", "", "Written by `python benchmarks/run.py`; ratios > 1 mean faster than the "
             "reference (memory: GiB).", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "| benchmark | ratio | target | detail |", "|---|---|---|---|"]
    lines += [f"| {k} | {r:.3g} | {t} | {d} |" for k, (r, t, d) in results.items()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    (HERE / "results.json").write_text(json.dumps({"machine": info, "results": results}, indent=1))


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    _optional()
    # the book builds and CI on a fresh clone take minutes to an hour: ask for them by name
    chosen = argv or [name for name in BENCHMARKS if not name.startswith("fullsize") and name != "ci"]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    previous = HERE / "results.json"
    results: Result = {}
    if argv and previous.exists():  # a partial run updates its rows and keeps the others
        try:
            stored = json.loads(previous.read_text())
            results = {str(k): tuple(v) for k, v in stored["results"].items()
                       if isinstance(v, list) and len(v) == 3}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            print(f"error: {previous} is not a results file of this script ({type(error).__name__}: "
                  f"{' '.join(str(error).split())[:200]}): delete it, or run every benchmark (no names) to "
                  "rewrite it", file=sys.stderr)
            return 2
    for name in chosen:
        print(f"== {name}", flush=True)
        results.update(BENCHMARKS[name]())
    write_results(results)
    print("ratios: " + ", ".join(f"{k}={r:.3g}" for k, (r, _, _) in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
