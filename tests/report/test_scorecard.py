import json

import pandas as pd
import pytest

from darkness_visible.config.sizes import PRESETS
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.models.loading import ModelSpec
from darkness_visible.report import scorecard
from darkness_visible.report.results import VERDICTS, ResultRow, save_rows
from darkness_visible.report.scorecard import (
    EXPERIMENTS,
    HEADLINES,
    collect,
    details_html,
    headline_table,
    save,
    summary_html,
    summary_sentence,
    verdict_counts,
)
from darkness_visible.report.tolerances import VERDICT_RULE_VERSION

#: The paper's run: every size of the paper preset, DS-A.
PAPER_RUN = {"size": PRESETS["paper"], "corpus": CorpusSpec()}


def _rows():
    return [ResultRow("03", "E3.level4.mean", "mean ΔP at 4/7", 0.01383, 0.0139, None, "gpt2", True),
            ResultRow("03", "E3.level5.mean", "mean ΔP at 5/7", -0.00439, 0.01, None, "gpt2", True),
            ResultRow("03", "E3.crossover", "crossover", 4.5, 1.72, None, "gpt2", True, ci=(0.86, 4.12)),
            ResultRow("03", "E2.level7.share", "7/7 share", 40.3, 40.3, None, "gpt2", True,
                      comparison="different corpus: test split"),
            ResultRow("05", "E9.power.min_d", "power", 0.78, 0.7801, None, "statsmodels", True, model_free=True)]


def test_collect_merges_chapter_rows_and_lists_what_did_not_run(tmp_path):
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), **PAPER_RUN)
    table = collect(tmp_path)
    e3 = table[table.experiment == "E3"].set_index("claim")
    assert e3.verdict.to_dict() == {"E3.crossover": "differs", "E3.level4.mean": "replicated",
                                    "E3.level5.mean": "differs"}
    assert e3.loc["E3.crossover", "consistent_ci"] == False  # noqa: E712 - the paper's 4.5 is outside the CI
    assert table.set_index("claim").loc["E2.level7.share", "verdict"] == "not comparable"
    others = table[~table.experiment.isin(["E2", "E3", "E9"])]
    assert len(others) == len(EXPERIMENTS) - 3 and set(others.verdict) == {"not run"}
    assert list(table.experiment[:2]) == ["E0", "E1"], "ordered as in the specification"
    json_path, csv_path = save(table, tmp_path)
    assert len(collect(tmp_path)) == len(table), "the scorecard's own files are not read back as chapters"
    record = json.loads(json_path.read_text())[0]
    assert {"identity", "preset", "verdict_rule", "gpt2_small"} <= set(record)
    assert record["verdict_rule"] == VERDICT_RULE_VERSION
    assert "verdict_rule" in csv_path.read_text().splitlines()[0]


def test_on_the_standin_nothing_is_replicated_but_model_free_rows(tmp_path):
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("standin"), **PAPER_RUN)
    table = collect(tmp_path)
    replicated = table[table.verdict == "replicated"]
    assert list(replicated.claim) == ["E9.power.min_d"] and replicated.model_free.all()
    assert set(table[table.experiment == "E3"].verdict) == {"other model"}
    assert table.identity.str.contains("not verified as GPT-2").any()


def test_headline_table_has_one_line_per_claim_and_its_rows_verdict(tmp_path):
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), **PAPER_RUN)
    heads = headline_table(collect(tmp_path))
    assert len(heads) == len(HEADLINES) >= 25
    assert list(heads.columns[:5]) == ["experiment", "claim", "paper", "this run", "verdict"]
    by_row = heads.set_index("row")
    assert by_row.loc["E3.crossover", "verdict"] == "differs" and by_row.loc["E3.crossover", "this run"] == "1.7"
    assert by_row.loc["E18.gradient_pp", "verdict"] == "not run"
    assert {h.experiment for h in HEADLINES} >= {"E0", "E7", "E17", "E18"}


def test_counts_add_up_and_the_sentence_lists_every_verdict(tmp_path):
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), **PAPER_RUN)
    table = collect(tmp_path)
    counts = verdict_counts(table)
    assert sum(counts[v] for v in VERDICTS) == counts["total"] == len(table)
    sentence = summary_sentence(counts)
    assert sentence.startswith(f"Of {len(table)} rows") and all(v in sentence for v in VERDICTS)
    with pytest.raises(ValueError, match="unknown verdicts"):
        verdict_counts(table.assign(verdict="not run on GPT-2"))


def test_summary_badges_list_every_verdict_in_the_tables_colours(tmp_path):
    """Issue 26.6: the counts at the top of the scorecard are badges with the verdict cells' classes."""
    import re

    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), **PAPER_RUN)
    table = collect(tmp_path)
    counts = verdict_counts(headline_table(table))
    html = summary_html(counts)
    assert html.startswith('<div class="dv-verdict-counts"') and f"Of {counts['total']} claims of the paper" in html
    badges = re.findall(r'<span class="dv-count (dv-v-\w+)[^"]*"><strong>(\d+)</strong> ([^<]+)</span>', html)
    assert [b[2] for b in badges] == list(VERDICTS)  # every verdict, zeros included, in the rule's order
    assert sum(int(b[1]) for b in badges) == counts["total"]
    assert {b[2]: int(b[1]) for b in badges} == {v: counts[v] for v in VERDICTS}
    import pandas as pd

    from darkness_visible.report.scorecard import html_table

    cells = html_table(pd.DataFrame({"verdict": list(VERDICTS)}), ["verdict"])
    for cls, _, verdict in badges:  # each badge has the class (so the colour) of its verdict's table cell
        assert f'<td class="{cls}">{verdict}</td>' in cells


def test_details_are_grouped_by_chapter_and_collapsed(tmp_path):
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), **PAPER_RUN)
    html = details_html(collect(tmp_path))
    assert html.count("<details>") == len(collect(tmp_path).chapter.unique())
    assert '<td class="dv-v-ok">replicated</td>' in html


@pytest.mark.parametrize("size, corpus", [(PRESETS["quick"], CorpusSpec(n_windows=4)),
                                          (PRESETS["paper"].capped(20), CorpusSpec(n_windows=20))],
                         ids=["DV_SIZE=quick", "DV_WINDOWS=20"])
def test_gpt2_rows_at_a_smaller_size_get_no_verdict_on_the_scorecard(tmp_path, size, corpus):
    """Issue 25: a GPT-2-labelled row set computed at the quick size (or with DV_WINDOWS) is never
    "replicated" or "differs"; the scorecard says why in the scope column."""
    save_rows(_rows(), tmp_path / "03.json", spec=ModelSpec.parse("openai-community/gpt2"), size=size, corpus=corpus)
    table = collect(tmp_path)
    model_rows = table[~table.model_free.fillna(False).astype(bool) & (table.verdict != "not run")]
    assert len(model_rows) == 4 and set(model_rows.verdict) == {"not comparable"}
    assert model_rows.scope.str.contains("not the paper's sizes").all()
    assert set(headline_table(table).verdict) <= {"not comparable", "not run", "replicated"}
    assert "replicated" not in set(table[table.claim.str.startswith("E3")].verdict)
    assert "differs" not in set(table.verdict)


@pytest.mark.parametrize(("value", "unit", "places", "text"), [
    (25160.3, "", None, "25,160"),            # was "2.516e+04"
    (34155.0, "", 0, "34,155"),               # a count: thousands separated
    (11.3, "%", 2, "11.30 %"),                # the unit is written, the paper's decimals kept
    (9.4731, "%", 2, "9.47 %"),               # was "9.473" beside "11.55 %"
    (-0.02, "", 3, "\u22120.020"),            # a minus sign, the printed "−0.020"
    (0.5463917526, "", 3, "0.546"),
    (8.94e-08, "", 5, "8.94×10⁻⁸"),           # only tiny magnitudes in powers of ten
    (-0.0389414973, "", 1, "\u22120.03894"),  # the row's 1 decimal would print 0.0: significant figures instead
    (94.3, "pp", 1, "94.3 pp"),
    (0.0, "", 3, "0.000"),
    (1386.0, "", None, "1,386"),
    (None, "%", 2, ""),
    (float("nan"), "", None, ""),
])
def test_numbers_are_formatted_one_way(value, unit, places, text):
    assert scorecard.format_value(value, unit, places) == text


def test_a_row_writes_paper_value_and_ci_with_the_papers_decimals():
    assert scorecard.row_decimals(0.838, 0.0005) == 3
    assert scorecard.row_decimals(3.80987292, 0.005) == 2, "derived from printed counts: the printed 3.81"
    assert scorecard.row_decimals(None) is None
    assert scorecard.format_ci((0.0138399559, 0.0640493388), "", 4) == "[0.0138, 0.0640]"
    assert scorecard.format_ci((0.0435, 0.1), "%", 1) == "[0.0435, 0.1000] %", "both ends with the same decimals"
    assert scorecard.format_ci(None) == ""
    table = pd.DataFrame([{"claim": "E4.all.lost_pct", "paper": 3.80987292, "value": 0.5, "ci": [0.25, 0.75],
                           "unit": "%", "tolerance": 0.005, "tolerance_source": "printed", "relation": "=",
                           "verdict": "differs"}])
    shown = scorecard.display_rows(table).iloc[0]
    assert (shown.paper, shown.value, shown.ci) == ("3.81 %", "0.50 %", "[0.25, 0.75] %")
    assert shown.tolerance == "within ±0.005 pp"


def test_a_headline_printed_as_a_percentage_shows_this_runs_fraction_as_one():
    table = pd.DataFrame([{"claim": "E11.random.exception_fire_rate", "paper": 0.646, "value": 0.58691, "unit": "",
                           "tolerance": 0.05, "verdict": "other model", "consistent_ci": None}])
    heads = scorecard.headline_table(table).set_index("row")
    assert heads.loc["E11.random.exception_fire_rate", "paper"] == "64.6 %"
    assert heads.loc["E11.random.exception_fire_rate", "this run"] == "58.7 %"
