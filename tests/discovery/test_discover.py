"""Discovery from firing statistics alone: the statistics equal their library versions; a handler built in
the masks is recovered role by role; noise gives "no handler"; competitors and copies are reported."""

from __future__ import annotations

import json
import types

import numpy as np
import pandas as pd
import pytest

from darkness_visible.discovery.discover import (
    DiscoverConfig,
    HandlerReport,
    anchored_cluster,
    discover,
    log_odds_bounds,
    mixture_1d,
    null_reference,
    phi_from_counts,
    score_roles,
    within_phi,
)

FAST = DiscoverConfig(n_boot=20)
NO_BOOT = DiscoverConfig(n_boot=0)


def synthetic_handler(seed: int = 0, n_windows: int = 24, window: int = 200, n_background: int = 120,
                      offset: int = 0, n_neurons: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Masks with a handler written in by hand (no model): an indicator on ~10 % of tokens, a Core that fires
    on 97-100 % of its tokens and elsewhere on its own, two Differentiator pairs sharing a latent switch, three
    Specialists firing independently inside the exception, five default-ON consensus neurons switched off on
    the exception path, and independent background neurons. Returns ``(pos, abs, windows, key)``."""
    rng = np.random.default_rng(seed)
    N = n_windows * window
    e = rng.random(N) < 0.10
    cols, key = [], {"core": [], "differentiator": [], "specialist": [], "consensus": [], "groups": []}

    def add(col: np.ndarray, role: str | None) -> int:
        cols.append(col)
        if role:
            key[role].append(offset + len(cols) - 1)
        return offset + len(cols) - 1

    key["indicator"] = add(e, "core")
    for _ in range(3):
        add(np.where(e, rng.random(N) < 0.99, rng.random(N) < 0.06), "core")
    for _ in range(2):
        switch = rng.random(N) < 0.5
        group = [add(e & switch & (rng.random(N) < p), "differentiator") for p in (0.95, 0.8)]
        key["groups"].append(tuple(group))
    for p in (0.3, 0.5, 0.7):
        add(e & (rng.random(N) < p), "specialist")
    pos_bg = [rng.random(N) < rng.uniform(0.02, 0.5) for _ in range(n_background)]
    n_handler = len(cols)
    abs_cols = [rng.random(N) < 0.5 for _ in range(n_handler)]  # |GELU| firing of the handler: irrelevant here
    for _ in range(5):
        idx = add(rng.random(N) < 0.02, "consensus")  # rarely positive, default-ON under |GELU|
        abs_cols.append(np.where(e, rng.random(N) < 0.3, rng.random(N) < 0.95))
        assert idx == offset + len(cols) - 1
    cols += pos_bg
    abs_cols += [rng.random(N) < rng.uniform(0.3, 0.95) for _ in range(n_background)]
    pos = np.stack(cols, 1)
    ab = np.stack(abs_cols, 1)
    if n_neurons is not None:  # pad with silent neurons, to place two handlers side by side
        pad = n_neurons - pos.shape[1]
        pos = np.concatenate([pos, np.zeros((N, pad), bool)], 1)
        ab = np.concatenate([ab, np.zeros((N, pad), bool)], 1)
    return pos, ab, np.arange(N) // window, key


def as_key(key: dict) -> types.SimpleNamespace:
    return types.SimpleNamespace(indicators=(key["indicator"],), roles={r: tuple(key[r]) for r in
                                                                        ("core", "differentiator", "specialist",
                                                                         "consensus")})


def test_log_odds_bounds_equal_statsmodels() -> None:
    from scipy.stats import norm
    from statsmodels.stats.contingency_tables import Table2x2

    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(50, 500))
        row, col = int(rng.integers(1, n)), int(rng.integers(1, n))
        joint = int(rng.integers(max(0, row + col - n), min(row, col) + 1))
        table = np.array([[joint, row - joint], [col - joint, n - row - col + joint]], dtype=float) + 0.5
        ref = Table2x2(table, shift_zeros=False)
        z = float(norm.isf(0.01))
        log_or, lo, hi = log_odds_bounds(np.array(joint, float), row, col, n, z)
        assert log_or == pytest.approx(ref.log_oddsratio)
        assert lo == pytest.approx(ref.log_oddsratio - z * ref.log_oddsratio_se)
        assert hi == pytest.approx(ref.log_oddsratio + z * ref.log_oddsratio_se)


def test_phi_equals_pearson_correlation_of_the_columns() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((400, 6)) < rng.uniform(0.1, 0.7, 6)
    X[:, 1] = X[:, 0] ^ (rng.random(400) < 0.1)
    counts = X.T.astype(float) @ X.astype(float)
    d = np.diag(counts)
    phi = phi_from_counts(counts, d[:, None], d[None, :], 400)
    assert np.allclose(phi, np.corrcoef(X.T.astype(float)))
    assert np.allclose(within_phi(counts, 400), np.corrcoef(X.T.astype(float)))
    X[:, 2] = True  # constant: phi 0 with everything (corrcoef would give NaN)
    counts = X.T.astype(float) @ X.astype(float)
    assert np.all(within_phi(counts, 400)[2, [0, 1, 3]] == 0)


def test_mixture_finds_the_clusters_and_the_anchor_its_own() -> None:
    rng = np.random.default_rng(2)
    low, high = rng.normal(0.1, 0.03, 15), rng.normal(0.8, 0.05, 6)
    fit = mixture_1d(np.concatenate([low, high]))
    assert len(np.unique(fit.labels)) == 2
    in_zero, _ = anchored_cluster(np.concatenate([low, high]), 0.0)
    assert in_zero[:15].all() and not in_zero[15:].any()
    one = mixture_1d(rng.normal(0.5, 0.05, 30))
    assert len(np.unique(one.labels)) == 1


def test_a_handler_written_into_the_masks_is_recovered_role_by_role() -> None:
    pos, ab, win, key = synthetic_handler()
    found = discover(pos, ab, win, FAST)
    assert found.indicator == key["indicator"]
    assert set(found.core) == set(key["core"])
    assert set(found.differentiators) == set(key["differentiator"])
    assert set(found.specialists) == set(key["specialist"])
    assert set(found.consensus) == set(key["consensus"])
    assert set(found.groups) == set(key["groups"])
    assert found.indicator_share == 1.0 and found.stability[found.indicator] == 1.0
    assert not any("not separated" in w for w in found.warnings)
    assert found.cuts["core_lowest"] >= 0.9 > found.cuts["below_core"]
    score = score_roles(found, as_key(key)).set_index("role")
    assert (score.precision == 1).all() and (score.recall == 1).all()
    # the members table carries the statistics behind each role
    row = found.members.set_index("neuron").loc[key["core"][1]]
    e = pos[:, key["indicator"]]
    assert row.cond_rate == pytest.approx(pos[e, key["core"][1]].mean())
    assert row.role == "core"


def test_a_copy_of_the_indicator_is_reported_as_interchangeable() -> None:
    pos, ab, win, key = synthetic_handler(seed=3)
    pos = np.concatenate([pos, pos[:, [key["indicator"]]]], 1)
    ab = np.concatenate([ab, ab[:, [key["indicator"]]]], 1)
    copy = pos.shape[1] - 1
    found = discover(pos, ab, win, FAST)
    assert set(found.interchangeable) == {key["indicator"], copy}
    assert found.indicator in found.interchangeable and copy in found.core
    assert any("interchangeable" in w for w in found.warnings)
    answer = types.SimpleNamespace(indicators=(copy,), roles=as_key(key).roles)
    assert score_roles(found, answer).set_index("role").loc["indicator", "hits"] == 1


def test_independent_noise_has_no_handler() -> None:
    rng = np.random.default_rng(4)
    pos = rng.random((4000, 150)) < rng.uniform(0.01, 0.45, 150)
    ab = rng.random((4000, 150)) < rng.uniform(0.3, 0.95, 150)
    found = discover(pos, ab, 200, FAST)
    assert found.indicator is None and not found.found
    assert found.core == () and "no handler" in found.warnings[0]
    assert json.loads(json.dumps(found.to_json()))["indicator"] is None
    ref = null_reference(pos)
    assert ref["max_lower"] < DiscoverConfig().strong_log_rr


def test_two_equal_handlers_are_not_separated_and_the_report_says_so() -> None:
    a = synthetic_handler(seed=5, n_background=20)
    b = synthetic_handler(seed=5, n_background=20)  # the same statistics, on other neurons and other tokens
    rng = np.random.default_rng(6)
    perm = rng.permutation(a[0].shape[0])
    pos = np.concatenate([a[0], b[0][perm]], 1)
    ab = np.concatenate([a[1], b[1][perm]], 1)
    found = discover(pos, ab, a[2], DiscoverConfig(n_boot=40))
    other = {a[3]["indicator"], a[0].shape[1] + b[3]["indicator"]}
    assert found.indicator in other
    assert found.indicator_share < DiscoverConfig().stable_share
    assert found.runner_up in other - {found.indicator}
    assert any("not separated" in w and f"N{found.runner_up}" in w for w in found.warnings)


def test_score_roles_counts_extras_and_misses() -> None:
    found = HandlerReport(3, core=(3, 4, 9), differentiators=(5, 6), specialists=(), consensus=(1,))
    key = types.SimpleNamespace(indicators=(3,), roles={"core": (3, 4), "differentiator": (5, 7),
                                                        "specialist": (8,), "consensus": (1, 2)})
    t = score_roles(found, key).set_index("role")
    assert t.loc["core", ["hits", "extras", "missed"]].tolist() == [2, 1, 0]
    assert t.loc["core", "precision"] == pytest.approx(2 / 3) and t.loc["core", "recall"] == 1.0
    assert t.loc["differentiator", "precision"] == 0.5 and t.loc["differentiator", "recall"] == 0.5
    assert np.isnan(t.loc["specialist", "precision"]) and t.loc["specialist", "recall"] == 0.0
    assert t.loc["handler", "n_true"] == 5 and t.loc["handler", "hits"] == 3 and t.loc["handler", "extras"] == 2
    assert t.loc["indicator", "hits"] == 1


def test_report_json_has_the_documented_keys() -> None:
    pos, ab, win, key = synthetic_handler(seed=7)
    data = json.loads(json.dumps(discover(pos, ab, win, DiscoverConfig(n_boot=5)).to_json()))
    assert {"indicator", "core", "differentiators", "specialists", "consensus", "stability"} <= set(data)
    assert isinstance(data["indicator"], int) and data["core"][0] == data["indicator"]
    assert all(isinstance(n, int) for role in ("core", "differentiators", "specialists", "consensus")
               for n in data[role])
    assert set(data["stability"]) == {str(n) for r in ("core", "differentiators", "specialists", "consensus")
                                      for n in data[r]}


def test_paper_key_holds_the_paper_lists() -> None:
    from darkness_visible.data import neurons
    from darkness_visible.discovery.discover import paper_key

    key = paper_key()
    assert key.indicators == (2123,) and key.roles["core"] == neurons.CORE
    assert len(key.handler) == 20 and key.roles["consensus"] == neurons.CONSENSUS


def test_a_cached_discovery_reads_back_exactly_and_is_keyed_by_the_masks(tmp_path, monkeypatch) -> None:
    import darkness_visible.discovery.discover as module

    pos, ab, win, _ = synthetic_handler(seed=3, n_windows=8)
    fresh = discover(pos, ab, win, FAST)
    first = discover(pos, ab, win, FAST, cache=tmp_path)
    assert len(list(tmp_path.glob("discover-*.json"))) == 1
    assert first.to_state() == fresh.to_state()

    def refuse(*args, **kwargs):
        raise AssertionError("a cached discovery must not run the procedure again")

    monkeypatch.setattr(module, "window_ids", refuse)  # the procedure's first step
    again = discover(pos, ab, win, FAST, cache=tmp_path)
    assert again.to_state() == fresh.to_state() and again.indicator == fresh.indicator
    pd.testing.assert_frame_equal(again.members, first.members)
    monkeypatch.undo()
    flipped = pos.copy()
    flipped[0, 0] = ~flipped[0, 0]  # one bit of one mask: another entry
    discover(flipped, ab, win, FAST, cache=tmp_path)
    assert len(list(tmp_path.glob("discover-*.json"))) == 2


@pytest.mark.parametrize("field, value", [("core_level", float("nan")), ("alpha", float("inf")),
                                          ("core_level", "0.9"), ("min_tokens", 0), ("n_boot", -1),
                                          ("rate_window", (0.5, 0.1)), ("shortlist", True)])
def test_discover_config_refuses_bad_thresholds_in_one_line(field, value):
    from darkness_visible.errors import SettingError

    with pytest.raises(SettingError, match=f"DiscoverConfig.{field}"):
        DiscoverConfig(**{field: value})


def test_a_window_length_of_zero_is_refused_not_one_window():
    from darkness_visible.errors import SettingError

    mask = np.zeros((10, 4), dtype=bool)
    with pytest.raises(SettingError, match="window length"):
        discover(mask, None, 0)


def test_all_layers_honours_windows(monkeypatch, tmp_path):
    seen = {}

    def fake_preflight(model, windows=None, **kwargs):
        seen["windows"] = windows
        raise SystemExit(0)

    monkeypatch.setattr("darkness_visible.models.preflight.preflight", fake_preflight)
    from darkness_visible.cli import main

    with pytest.raises(SystemExit):
        main(["discover", "--model", "tiny", "--windows", "3", "--all-layers", "--size", "paper",
              "--cache", str(tmp_path)])
    assert seen["windows"] == 3  # not the preset's 100 survey windows


@pytest.mark.parametrize("text", ["{}", "[]", "null", '{"format": 1, "value": {}}', '{"format": 1, "value": null}',
                                  '{"format": 1, "value": []}', "drop indicator", "core of text"])
def test_a_cached_discovery_of_another_shape_is_recomputed(text, tmp_path) -> None:
    """A discover-*.json (the discovery and depth-sweep caches) holding valid JSON of another shape, whole-file or
    inside the cache's own wrapper, is discarded with a warning and recomputed: never a KeyError or TypeError."""
    import json

    pos, ab, win, _ = synthetic_handler(seed=3, n_windows=8)
    fresh = discover(pos, ab, win, FAST, cache=tmp_path)
    (path,) = tmp_path.glob("discover-*.json")
    stored = json.loads(path.read_text())
    if text == "drop indicator":
        del stored["value"]["indicator"]
        text = json.dumps(stored)
    elif text == "core of text":
        stored["value"]["core"] = "abc"
        text = json.dumps(stored)
    path.write_text(text)
    with pytest.warns(UserWarning, match="discarding an unreadable cache file"):
        again = discover(pos, ab, win, FAST, cache=tmp_path)
    assert again.to_state() == fresh.to_state()
    assert json.loads(path.read_text())["value"] == fresh.to_state()


def test_design_effect_is_one_for_independent_tokens_and_large_when_types_decide() -> None:
    """The strong-partner bound's clustering (issue 24, the null bar): tokens drawn independently have a design
    effect near 1; firing decided by the token type (as in a random-weight layer, where a covering pair is
    carried by a few frequent types) has a large one, so the pair is a few observations, not thousands."""
    from darkness_visible.discovery.discover import Clusters

    rng = np.random.default_rng(0)
    N = 6000
    x = rng.random(N) < 0.1
    y = x | (rng.random(N) < 0.2)
    iid = Clusters(np.stack([x, y], 1), [rng.integers(0, 500, N)]).design_effect(0, np.array([1]))
    assert 1.0 <= iid[0] < 1.5
    types = rng.choice(40, N, p=np.r_[0.3, 0.2, np.full(38, 0.5 / 38)])  # two frequent types, many rare ones
    x = np.isin(types, [0])
    y = np.isin(types, [0, 1])
    typed = Clusters(np.stack([x, y], 1), [types]).design_effect(0, np.array([1]))
    assert typed[0] > 20


def test_a_pair_carried_by_two_token_types_is_no_handler_but_a_handler_on_many_types_is() -> None:
    """With ``tokens`` the discovery treats one token type as one unit of evidence: a rare neuron covered by a
    wider one only because both fire on the same two frequent types is not a handler; the synthetic handler,
    whose tokens are spread over many types, is still found whole."""
    rng = np.random.default_rng(1)
    pos, ab, win, key = synthetic_handler(seed=1)
    N = pos.shape[0]
    tokens = rng.integers(0, 3000, N)
    assert discover(pos, ab, win, NO_BOOT, tokens=tokens).indicator == key["indicator"]
    types = rng.choice(200, N, p=np.r_[0.06, 0.05, np.full(198, 0.89 / 198)])
    noise = rng.random((N, 60)) < rng.uniform(0.05, 0.4, 60)
    pair = np.stack([types == 0, np.isin(types, [0, 1]) | (rng.random(N) < 0.05)], 1)
    masks = np.concatenate([noise, pair], 1)
    plain = discover(masks, None, 200, NO_BOOT)
    assert plain.indicator == 60  # on token counts alone the pair looks like an indicator and its Core
    assert discover(masks, None, 200, NO_BOOT, tokens=types).indicator is None
