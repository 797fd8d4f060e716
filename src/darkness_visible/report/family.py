"""Rows and prose of the depth prediction across the GPT-2 family (chapter 06's depth section).

The paper predicts that in deeper GPT-2s "similar structures will crystallize at the final layer" (paper-claims
E10, Discussion). :func:`darkness_visible.discovery.family.book_prediction` runs discovery at every layer of
each family member it can (the real checkpoint when it is cached, else random and planted weights of its
shape); this module turns its table into testable rows, one per model and weights:

* real weights (``hub``): ``NEW.depth.<model>.last_layer_only``, paper value 1 (the prediction: a handler at the
  last layer and at no earlier one), this run's 1 or 0;
* planted weights (a handler planted at the last layer): the same claim as a check of the procedure, marked
  "different procedure" (planted weights), so it never reads as a test of GPT-2;
* random weights: ``NEW.depth.<model>.random.layers_with_handler``, expected 0 (the null), same marking.
"""

from __future__ import annotations

from typing import Any

from darkness_visible.report.results import ResultRow

#: The paper's prediction as a row value: 1 = a handler at the last layer, at no earlier one.
PREDICTION_HOLDS = 1.0


def depth_rows(table: Any, label: str, pretrained: bool, chapter: str = "06_crystallization") -> list[ResultRow]:
    """One row per model and weights of a ``book_prediction`` table (columns of ``family.prediction_row``).

    ``label``/``pretrained``: the run's model (every row is stamped with it when saved); the rows of
    other weights than the hub's carry their own "different procedure" comparison."""
    rows = []
    for r in table.itertuples():
        layers = ", ".join(f"L{L}" for L in r.handler_layers) or "none"
        note = f"{r.n_layers} layers; handler at {layers} ({r.outcome})"
        if r.weights == "random":
            rows.append(ResultRow(chapter, f"NEW.depth.{r.model}.random.layers_with_handler",
                                  f"random weights of {r.model}'s shape: layers with a handler (the null: none "
                                  "expected; not in the paper)", 0.0, float(len(r.handler_layers)), None, label,
                                  pretrained, note=note,
                                  comparison="different procedure: random weights check the procedure, not GPT-2"))
            continue
        claim = f"NEW.depth.{r.model}.last_layer_only" + ("" if r.weights == "hub" else f".{r.weights}")
        what = "the real checkpoint" if r.weights == "hub" else f"{r.weights} weights of its shape"
        rows.append(ResultRow(chapter, claim, f"{r.model} ({what}): a handler at the last layer and at no earlier "
                              "one (1 = yes; the paper's prediction for the GPT-2 family)", PREDICTION_HOLDS,
                              float(bool(r.holds)), None, label, pretrained, note=note,
                              comparison="" if r.weights == "hub" else
                              "different procedure: a handler planted at the last layer checks the procedure, "
                              "not GPT-2"))
    return rows


def depth_prose(table: Any) -> dict[str, str]:
    """Glue values of the depth section: which weights ran (``fam_weights``), how many of the real checkpoints
    and of the planted models hold the prediction, and the random models' handler count."""
    def count(weights: str) -> str:
        part = table[table.weights == weights]
        if not len(part):
            return "none run"
        return f"{int(part.holds.sum())} of {len(part)}"

    random = table[table.weights == "random"]
    found = sum(len(layers) for layers in random.handler_layers) if len(random) else 0
    hub = table[table.weights == "hub"]
    return {"fam_models": ", ".join(dict.fromkeys(table.model)),
            "fam_weights": ("the real checkpoints (in the local cache)" if len(hub) == len(table) else
                            "random and planted weights of their shapes (the real checkpoints are not in the local "
                            "cache)" if not len(hub) else "the real checkpoints where cached, else random and "
                            "planted weights"),
            "fam_hub": count("hub"), "fam_planted": count("planted"),
            "fam_random": "no layer" if not len(random) or found == 0 else
                          f"{found} layer{'s' if found != 1 else ''}"}
