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

from darkness_visible.errors import DVUserError


def run(path: Path, timeout: int = 14400, save_to: Path | None = None) -> float:
    """Execute a copy of one notebook; returns seconds taken. Raises on a cell error.

    ``save_to``: where to write the executed copy (with outputs); the source notebook is never changed. It
    is written on failure too, the failing cell and its traceback included, and the error says where.
    """
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute()
    except CellExecutionError as error:
        if save_to is None:
            raise
        _save(nb, save_to)
        raise NotebookFailed(f"{path.name} failed; the executed notebook, failing cell included, is at "
                             f"{save_to}\n{error}") from error
    if save_to is not None:
        _save(nb, save_to)
    return time.perf_counter() - start


class NotebookFailed(DVUserError, RuntimeError):
    """A chapter notebook raised in one of its cells (the message says where its executed copy is)."""


def _save(nb: nbformat.NotebookNode, path: Path) -> None:
    from darkness_visible.io.cache import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda h: h.write(nbformat.writes(nb).encode()))


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
