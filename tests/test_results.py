from darkness_visible.results import ResultRow, load_rows, save_rows


def _row(**kw):
    base = dict(chapter="c", claim="E0.x", description="d", paper=1.0, value=1.05, tolerance=0.1,
                model="m", pretrained=True)
    base.update(kw)
    return ResultRow(**base)


def test_verdicts():
    assert _row().verdict == "replicated"
    assert _row(value=2.0).verdict == "differs"
    assert _row(value=2.0, ci=(0.5, 2.5)).verdict == "replicated"
    assert _row(pretrained=False).verdict == "not run on GPT-2"
    assert _row(value=None).verdict == "not run"


def test_round_trip(tmp_path):
    rows = [_row(), _row(claim="E0.y", ci=(0.9, 1.2))]
    path = save_rows(rows, tmp_path / "r" / "c.json")
    assert load_rows(path) == rows
    assert not list(path.parent.glob(".tmp-*"))
