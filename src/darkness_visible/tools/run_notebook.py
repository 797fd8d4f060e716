"""Execute notebooks headless and fail on the first error: ``python -m darkness_visible.tools.run_notebook NB...``.

Uses the same engine as the book build (nbclient), with the working directory set to the notebook's
folder, so a notebook that passes here passes in ``jupyter-book build``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place of a copy; returns seconds taken. Raises on a cell error."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: python -m darkness_visible.tools.run_notebook NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path}: {run(path):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
