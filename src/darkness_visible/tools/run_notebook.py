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


def run(path: Path, timeout: int = 7200, save_to: Path | None = None) -> float:
    """Execute a copy of one notebook; returns seconds taken. Raises on a cell error.

    ``save_to``: where to write the executed copy (with outputs); the source notebook is never changed.
    """
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute()
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save_to)
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
