from darkness_visible.results import ResultRow, save_rows
from darkness_visible.scorecard import EXPERIMENTS, collect, save


def test_collect_merges_chapter_rows_and_lists_what_did_not_run(tmp_path):
    rows = [ResultRow("03", "E3.level4.mean", "mean ΔP at 4/7", 0.01383, 0.0139, 0.002, "gpt2", True),
            ResultRow("03", "E3.level5.mean", "mean ΔP at 5/7", -0.00439, 0.01, 0.002, "gpt2", True)]
    save_rows(rows, tmp_path / "03.json")
    table = collect(tmp_path)
    e3 = table[table.experiment == "E3"]
    assert list(e3.verdict) == ["replicated", "differs"]
    others = table[table.experiment != "E3"]
    assert len(others) == len(EXPERIMENTS) - 1 and set(others.verdict) == {"not run"}
    assert list(table.experiment[:2]) == ["E1", "E2"], "ordered as in the specification"
    json_path, csv_path = save(table, tmp_path)
    assert json_path.exists() and csv_path.exists()
    assert len(collect(tmp_path)) == len(table), "the scorecard's own files are not read back as chapters"
