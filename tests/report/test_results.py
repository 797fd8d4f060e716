"""The one verdict rule: only GPT-2 Small gets one; the point estimate decides; the CI is a separate column."""

import pytest

from darkness_visible.config.sizes import PRESETS, resolve_size
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.models.loading import ModelSpec
from darkness_visible.report.results import ResultRow, load_rows, run_scope, save_rows, stamp
from darkness_visible.report.tolerances import ToleranceError


def _row(**kw):
    base = dict(chapter="c", claim="E3.level4.mean", description="d", paper=0.01383, value=0.0145,
                tolerance=None, model="m", pretrained=True, gpt2_small=True)
    base.update(kw)
    return ResultRow(**base)


def test_the_point_estimate_decides():
    assert _row().tolerance == 0.002 and _row().verdict == "replicated"
    assert _row(value=0.01383 + 0.0021).verdict == "differs"


def test_a_wide_interval_never_makes_a_replication():
    # the case: crossover 1.72 with CI 0.86-4.12 against the paper's 4.5
    row = _row(claim="E3.crossover", paper=4.5, value=1.72, ci=(0.86, 4.12))
    assert row.verdict == "differs" and row.consistent_ci is False
    row = _row(value=0.02, ci=(0.0, 0.03))
    assert row.verdict == "differs" and row.consistent_ci is True


def test_only_gpt2_small_gets_a_verdict():
    assert _row(gpt2_small=False).verdict == "other model"
    assert _row(gpt2_small=False, pretrained=False).verdict == "other model"
    assert ResultRow("c", "E3.level4.mean", "d", 0.01383, 0.01383, None, "m", True).verdict == "other model", \
        "an unstamped row is never a replication"


def test_model_free_rows_keep_their_verdict_on_any_model():
    row = _row(claim="E9.power.min_d", paper=0.78, value=0.7801, gpt2_small=False, model_free=True)
    assert row.verdict == "replicated"


def test_rows_on_another_corpus_are_not_comparable():
    assert _row(comparison="different corpus: test split").verdict == "not comparable"


def test_missing_values():
    assert _row(value=None).verdict == "not run"
    assert _row(paper=None).verdict == "no paper number"


def test_a_tolerance_wider_than_the_spec_fails():
    with pytest.raises(ToleranceError):
        _row(tolerance=0.5)


def test_stamp_writes_the_models_identity():
    rows = stamp([_row(gpt2_small=True)], ModelSpec.parse("standin"))
    assert rows[0].gpt2_small is False and "not verified as GPT-2" in rows[0].identity
    assert rows[0].verdict == "other model"
    rows = stamp([_row(gpt2_small=False)], ModelSpec.parse("openai-community/gpt2"), PRESETS["paper"], CorpusSpec())
    assert rows[0].gpt2_small and rows[0].verdict == "replicated" and rows[0].scope == ""
    assert "200 × 1,024" in rows[0].corpus and rows[0].preset.startswith("paper")


def test_a_run_whose_size_or_corpus_is_not_recorded_gets_no_verdict():
    rows = stamp([_row(gpt2_small=False)], ModelSpec.parse("openai-community/gpt2"))
    assert rows[0].gpt2_small and rows[0].verdict == "not comparable"
    assert "size preset not recorded" in rows[0].scope and "corpus not recorded" in rows[0].scope


@pytest.mark.parametrize("size, corpus, why", [
    (PRESETS["quick"], CorpusSpec(n_windows=4), "size quick"),
    (resolve_size("paper", windows=50), CorpusSpec(n_windows=50), "smaller than the paper's"),
    (PRESETS["paper"], CorpusSpec(split="train"), "split 'train'"),
    (PRESETS["paper"], CorpusSpec(window=512), "window 512"),
])
def test_gpt2_rows_at_another_size_or_corpus_are_not_comparable(size, corpus, why):
    """Issue 25: the verdict depends on the size preset and the corpus, not only on the model."""
    assert run_scope(size, corpus) and why in run_scope(size, corpus)
    rows = stamp([_row(), _row(claim="E3.crossover", paper=4.5, value=1.0)], ModelSpec.parse("openai-community/gpt2"),
                 size, corpus)
    assert {r.verdict for r in rows} == {"not comparable"}
    assert all(why in r.scope for r in rows), "the reason is in the row"
    free = stamp([_row(claim="E9.power.min_d", paper=0.78, value=0.7801, model_free=True)], None, size, corpus)
    assert free[0].verdict == "replicated", "a row that needs no model keeps its verdict"


def test_the_paper_run_is_the_paper_preset_on_ds_a():
    assert run_scope(PRESETS["paper"], CorpusSpec()) == ""
    assert run_scope(resolve_size("paper", windows=200), CorpusSpec()) == "", "DV_WINDOWS=200 is the paper's run"


def test_rows_written_before_the_scope_field_get_no_verdict(tmp_path):
    import json

    path = save_rows([_row()], tmp_path / "c.json")
    data = json.loads(path.read_text())
    del data[0]["scope"]
    path.write_text(json.dumps(data))
    assert load_rows(path)[0].verdict == "not comparable"


def test_round_trip(tmp_path):
    rows = [_row(), _row(claim="E3.level5.mean", ci=(0.9, 1.2))]
    path = save_rows(rows, tmp_path / "r" / "c.json")
    assert load_rows(path) == rows
    assert not list(path.parent.glob(".tmp-*"))


def test_a_gpt2_shaped_folder_with_other_weights_gets_no_verdict(save_gpt2):
    folder = save_gpt2()
    rows = stamp([_row(), _row(claim="E3.crossover", paper=4.5, value=4.5)], ModelSpec.parse(str(folder)))
    assert {r.verdict for r in rows} == {"other model"}
    assert all(str(folder) in r.identity and "not verified as GPT-2" in r.identity for r in rows)


def test_a_claim_with_no_counterpart_on_the_model_is_not_applicable(tmp_path):
    """Issue 23: a row naming GPT-2 Small's own neurons or layers, on a model whose neurons were discovered, says
    "not applicable" and why; it keeps no value, and it survives a round trip; it never replicates or differs."""
    from darkness_visible.report.results import VERDICTS, not_applicable_row, not_applicable_rows

    assert "not applicable" in VERDICTS
    row = not_applicable_rows([_row(ci=(0.01, 0.02))], "names GPT-2 Small's N584")[0]
    assert row.verdict == "not applicable" and row.value is None and row.ci is None
    assert row.not_applicable == "names GPT-2 Small's N584"
    assert _row(gpt2_small=True, not_applicable="the paper's layer pair").verdict == "not applicable"
    one = not_applicable_row("c", "E17.bypass_L7_L11.ppl_delta", "d", 11.8, "the paper's layer pair")
    path = save_rows([row, one], tmp_path / "c.json")
    assert [r.verdict for r in load_rows(path)] == ["not applicable"] * 2
    with pytest.raises(ValueError):
        not_applicable_rows([_row()], "")
