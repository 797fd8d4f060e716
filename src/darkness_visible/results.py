"""Scorecard rows: a claim of the paper, this run's value, and the verdict, never typed by hand.

Each chapter's analysis returns :class:`ResultRow` objects built from computed values; the scorecard
page gathers them. A row from a random-weight model gets the verdict ``"not run on GPT-2"`` whatever its
value, because only GPT-2's trained weights can confirm or refute a claim about them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["replicated", "differs", "not run on GPT-2", "not run"]


@dataclass(frozen=True)
class ResultRow:
    """One quantitative claim compared with this run.

    ``claim``: an id from ``paper-claims.md`` (e.g. ``"E3.level4.mean"``); ``tolerance``: the absolute
    difference accepted as a replication (stated with the row); ``ci``: this run's 95 % interval, if any;
    ``model``: one-line description of the model and corpus; ``pretrained``: False on a stand-in.
    """

    chapter: str
    claim: str
    description: str
    paper: float | None
    value: float | None
    tolerance: float
    model: str
    pretrained: bool
    ci: tuple[float, float] | None = None
    unit: str = ""
    note: str = ""
    preset: str = ""

    @property
    def verdict(self) -> Verdict:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "not run"
        if not self.pretrained:
            return "not run on GPT-2"
        if self.paper is None:
            return "not run"
        if abs(self.value - self.paper) <= self.tolerance:
            return "replicated"
        if self.ci is not None and self.ci[0] - self.tolerance <= self.paper <= self.ci[1] + self.tolerance:
            return "replicated"
        return "differs"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return data


def save_rows(rows: list[ResultRow], path: str | Path, size: Any = None) -> Path:
    """Write rows as JSON (atomically) and return the path; ``size`` (a :class:`~darkness_visible.sizes.Size`)
    stamps every row with the preset it ran at."""
    from dataclasses import replace

    from .cache import atomic_write

    if size is not None:
        rows = [replace(r, preset=size.describe()) for r in rows]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda h: h.write(json.dumps([r.as_dict() for r in rows], indent=1).encode()))
    return path


def load_rows(path: str | Path) -> list[ResultRow]:
    """Read rows written by :func:`save_rows`."""
    rows = []
    for item in json.loads(Path(path).read_text()):
        item.pop("verdict", None)
        if item.get("ci") is not None:
            item["ci"] = tuple(item["ci"])
        rows.append(ResultRow(**item))
    return rows
