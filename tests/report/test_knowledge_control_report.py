"""Words and scorecard rows of report/knowledge_control.py (moved from tests/analysis/test_knowledge_control.py)."""

from __future__ import annotations

from darkness_visible.analysis import knowledge_control as kc
from darkness_visible.models.loading import ModelSpec
from darkness_visible.report import knowledge_control as knowledge_control_report
from darkness_visible.report.results import stamp


def test_rows_carry_values_on_any_model_and_no_verdict(tiny):
    rows = knowledge_control_report.scorecard_rows(kc.control_table(tiny), "tiny", False)
    rows = stamp(rows, ModelSpec.parse("tiny"))
    claims = {r.claim: r for r in rows}
    assert {f"E7.base_prob.{i}" for i in range(1, 13)} <= set(claims)
    assert "E7.water.context_rank.3045" in claims and claims["E7.water.context_rank.3045"].value >= 1
    assert all(r.value is not None for r in rows)
    assert {r.verdict for r in rows} <= {"other model", "no paper number"}
