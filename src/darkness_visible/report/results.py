"""Scorecard rows: a claim of the paper, this run's value, and the verdict, never typed by hand.

Each chapter's analysis returns :class:`ResultRow` objects built from computed values; the scorecard
page gathers them. The verdict rule (:data:`darkness_visible.report.tolerances.VERDICT_RULE`):

* only a model identified as GPT-2 Small at the pinned revision (:mod:`darkness_visible.models.identity`) earns a
  verdict; any other model's rows say ``"other model"`` (rows that need no model are ``model_free``);
* a row that only makes sense on GPT-2 Small's own lists or layers (a paper-specific neuron, the paper's layer
  pair, a control built on the paper's indices) is ``"not applicable"`` on a model whose neurons under study are
  not the paper's; it carries the reason in ``not_applicable`` and no value (:func:`not_applicable_rows`);
* a row computed at another size than the paper's (``DV_SIZE=quick``, a ``DV_WINDOWS`` override) or on
  another corpus than the paper's run (DS-A: WikiText-103 test, 200 windows of 1,024 tokens) says how in
  ``scope`` and is ``"not comparable"`` (:func:`run_scope`; rows that need no model keep their verdict);
  a row whose own corpus or procedure differs from the paper's says how in ``comparison`` and is
  ``"not comparable"`` too;
* otherwise ``"replicated"`` when ``|value - paper| <= tolerance`` and ``"differs"`` when not. The
  tolerance comes from :mod:`darkness_visible.report.tolerances` (the specification, or the paper's printed
  precision); the confidence interval decides only :attr:`ResultRow.consistent_ci`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from darkness_visible.report.tolerances import ToleranceError
from darkness_visible.report.tolerances import check as check_tolerance

Verdict = Literal["replicated", "differs", "other model", "not comparable", "not applicable", "no paper number",
                  "not run"]
VERDICTS: tuple[str, ...] = ("replicated", "differs", "other model", "not comparable", "not applicable",
                             "no paper number", "not run")


@dataclass(frozen=True)
class ResultRow:
    """One quantitative claim compared with this run.

    ``claim``: an id from ``paper-claims.md`` (e.g. ``"E3.level4.mean"``); ``tolerance``: ``None`` (the
    specification's, :func:`darkness_visible.report.tolerances.allowed`) or a tighter one; a wider one raises
    :class:`~darkness_visible.report.tolerances.ToleranceError`. ``ci``: this run's 95 % interval, if any (shown, and
    used only for :attr:`consistent_ci`); ``model``: one-line description of the model and corpus;
    ``pretrained``: a trained checkpoint (informative only); ``gpt2_small``: the model was identified as GPT-2
    Small (stamped by :func:`save_rows` from the run's model; False by default, so an unstamped row never
    claims a replication); ``comparison``: empty when corpus and procedure are the paper's, else what differs
    (e.g. ``"different corpus: ..."``); ``model_free``: the value needs no model (e.g. a power analysis);
    ``relation``: ``"="`` (the paper reports a value) or ``"<="``/``">="`` (the paper states a bound, e.g. an
    error below 6e-5: replicated when ``value <= paper + tolerance``); ``not_applicable``: why the claim has no
    counterpart on this run's model (e.g. it names GPT-2 Small's neurons): the row is then "not applicable".
    """

    chapter: str
    claim: str
    description: str
    paper: float | None
    value: float | None
    tolerance: float | None
    model: str
    pretrained: bool
    ci: tuple[float, float] | None = None
    unit: str = ""
    note: str = ""
    preset: str = ""
    comparison: str = ""
    corpus: str = ""
    scope: str = ""
    model_free: bool = False
    gpt2_small: bool = False
    identity: str = ""
    relation: Literal["=", "<=", ">="] = "="
    not_applicable: str = ""
    tolerance_source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        tol, source = check_tolerance(self.claim, self.paper, self.tolerance)
        object.__setattr__(self, "tolerance", tol)
        object.__setattr__(self, "tolerance_source", source)

    @property
    def consistent_ci(self) -> bool | None:
        """Whether the paper's number lies inside this run's interval (``None`` without an interval)."""
        if self.ci is None or self.paper is None or not all(math.isfinite(c) for c in self.ci):
            return None
        return bool(self.ci[0] <= self.paper <= self.ci[1])

    @property
    def verdict(self) -> Verdict:
        if self.not_applicable:
            return "not applicable"
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "not run"
        if self.paper is None:
            return "no paper number"
        if not (self.gpt2_small or self.model_free):
            return "other model"
        if self.comparison or (self.scope and not self.model_free):
            return "not comparable"
        assert self.tolerance is not None  # set in __post_init__
        if self.relation == "<=":
            ok = self.value <= self.paper + self.tolerance
        elif self.relation == ">=":
            ok = self.value >= self.paper - self.tolerance
        else:
            ok = abs(self.value - self.paper) <= self.tolerance
        return "replicated" if ok else "differs"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        data["consistent_ci"] = self.consistent_ci
        return data


def not_applicable_rows(rows: list[ResultRow], reason: str) -> list[ResultRow]:
    """``rows`` marked "not applicable" with ``reason`` (one sentence: why the claim has no counterpart on this
    model); their values and intervals are dropped, so nothing computed on another model's neurons sits beside a
    paper number that names GPT-2 Small's."""
    if not reason:
        raise ValueError("a not-applicable row needs its reason")
    return [replace(r, value=None, ci=None, not_applicable=reason) for r in rows]


def paper_only_reason(claim: str, table: dict[str, str]) -> str:
    """Why ``claim`` is not applicable off GPT-2 Small's lists, or ``""``: ``table`` maps a regular expression over
    claim ids to its reason (e.g. ``report.tiers.PAPER_ONLY_02``); the first pattern that matches gives it."""
    return next((why for pattern, why in table.items() if re.search(pattern, claim)), "")


def not_applicable_row(chapter: str, claim: str, description: str, paper: float | None, reason: str,
                       model: str = "", pretrained: bool = False, unit: str = "") -> ResultRow:
    """One "not applicable" row of a claim that was not computed on this model (``reason``: why)."""
    return not_applicable_rows([ResultRow(chapter, claim, description, paper, None, None, model, pretrained,
                                          unit=unit)], reason)[0]


#: The paper's run (paper-claims §4, DS-A): the WikiText-103 test stream in 200 windows of 1,024 tokens.
PAPER_CORPUS = {"split": "test", "construction": "DS-A", "window": 1024, "n_windows": 200}


def run_scope(size: Any = None, corpus: Any = None) -> str:
    """``""`` when a run's size preset (a :class:`~darkness_visible.config.sizes.Size`) is the paper's
    (:attr:`~darkness_visible.config.sizes.Size.is_paper`) and its corpus (a
    :class:`~darkness_visible.data.corpus.CorpusSpec`) is the paper's DS-A (:data:`PAPER_CORPUS`), else the
    reasons, e.g. ``"run at size quick (...; smaller than the paper's)"``. ``None`` (not recorded) is never
    the paper's run."""
    reasons = []
    if size is None:
        reasons.append("size preset not recorded")
    elif not size.is_paper:
        reasons.append(f"run at size {size.describe()}, not the paper's sizes")
    if corpus is None:
        reasons.append("corpus not recorded")
    else:
        differs = [f"{k} {getattr(corpus, k, None)!r} (paper {v!r})" for k, v in PAPER_CORPUS.items()
                   if getattr(corpus, k, None) != v]
        if differs:
            what = corpus.describe() if hasattr(corpus, "describe") else str(corpus)
            reasons.append(f"run corpus {what} differs from the paper's DS-A: {', '.join(differs)}")
    return "; ".join(reasons)


def stamp(rows: list[ResultRow], spec: Any = None, size: Any = None, corpus: Any = None) -> list[ResultRow]:
    """Rows with the run's model identity (``spec``, a :class:`~darkness_visible.models.loading.ModelSpec`), size
    preset and corpus written into them, and the run's :func:`run_scope` (why its size or corpus is not the
    paper's: a size or corpus not given counts as not the paper's). With none of the three, rows are returned
    as they are."""
    if spec is None and size is None and corpus is None:
        return list(rows)
    changes: dict[str, Any] = {"scope": run_scope(size, corpus)}
    if spec is not None:
        ident = spec.identity
        changes.update(gpt2_small=ident.gpt2_small, identity=ident.label)
    if size is not None:
        changes["preset"] = size.describe()
    if corpus is not None:
        changes["corpus"] = corpus.describe() if hasattr(corpus, "describe") else str(corpus)
    return [replace(r, **changes) for r in rows]


def save_rows(rows: list[ResultRow], path: str | Path, size: Any = None, spec: Any = None,
              corpus: Any = None) -> Path:
    """Write rows as JSON (atomically) and return the path; ``size`` (a :class:`~darkness_visible.config.sizes.Size`),
    ``spec`` (the run's :class:`~darkness_visible.models.loading.ModelSpec`) and ``corpus`` (its
    :class:`~darkness_visible.data.corpus.CorpusSpec`) stamp every row with the preset it ran at, the identity of
    the model and the corpus (see :func:`stamp`)."""
    from darkness_visible.io.cache import atomic_write

    rows = stamp(rows, spec, size, corpus)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda h: h.write(json.dumps([r.as_dict() for r in rows], indent=1).encode()))
    return path


def load_rows(path: str | Path) -> list[ResultRow]:
    """Read rows written by :func:`save_rows`."""
    rows = []
    for item in json.loads(Path(path).read_text()):
        item.pop("verdict", None)
        item.pop("consistent_ci", None)
        item.pop("tolerance_source", None)
        item.setdefault("scope", "written by an older version of the book: size preset and corpus not recorded")
        if item.get("ci") is not None:
            item["ci"] = tuple(item["ci"])
        try:
            rows.append(ResultRow(**item))
        except (ToleranceError, TypeError) as error:
            raise ToleranceError(f"{path} was written by an older version of the book ({error}): re-run the "
                                 f"chapter {item.get('chapter', '')} to rewrite it") from error
    return rows
