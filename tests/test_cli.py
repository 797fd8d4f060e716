import errno
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkness_visible.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["harvest", "--help"])
    out = capsys.readouterr().out
    for option in ("--model", "--windows", "--split", "--corpus-source", "--cache", "--layer", "--batch-size"):
        assert option in out
    assert "standin" in out and "NOT GPT-2" in out


def test_harvest_on_tiny_prints_where_results_went(capsys, tmp_path, monkeypatch):
    code = main(["harvest", "--model", "tiny", "--windows", "2", "--cache", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert str(tmp_path) in out and "2 × 128" in out and "not GPT-2" in out
    assert list(tmp_path.glob("harvest-*/manifest.json"))


def test_offline_real_model_is_one_clear_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert main(["harvest", "--windows", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load openai-community/gpt2") and "DV_MODEL=standin" in err


def test_parser_has_the_documented_commands():
    names = build_parser()._subparsers._group_actions[0].choices
    assert {"harvest", "download", "info"} <= set(names)


def test_every_chapter_has_a_command_and_offline_real_model_fails_first(capsys, monkeypatch, tmp_path):
    from darkness_visible.cli import chapters

    names = set(chapters())
    assert {"tracing", "exception-handler", "consensus-crossover", "knowledge-neurons", "garden-path",
            "crystallization", "scorecard"} <= names
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert main(["garden-path"]) == 2
    assert "DV_MODEL=standin" in capsys.readouterr().err


@pytest.mark.chapter
@pytest.mark.slow
def test_a_chapter_runs_from_the_command_line(capsys, tmp_path):
    """It writes its executed notebook and rows under --build-dir, nothing into the checkout."""
    checkout = ROOT / "_build"
    before = {p: p.stat().st_mtime_ns for p in checkout.rglob("*")} if checkout.exists() else {}
    build = tmp_path / "build"
    assert main(["tracing", "--model", "tiny", "--windows", "1", "--cache", str(tmp_path / "c"),
                 "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert "executed 01_tracing.ipynb" in out and str(build / "executed" / "01_tracing.ipynb") in out
    assert (build / "executed" / "01_tracing.ipynb").is_file()
    after = {p: p.stat().st_mtime_ns for p in checkout.rglob("*")} if checkout.exists() else {}
    assert after == before, "the checkout's _build/ was written to"


# -- issue 15: every user error is one line naming the fix, before any work; bugs keep their traceback ------



def _cli_error(capsys, argv):
    """Run the command line: exit status 2 and exactly one line on stderr, no traceback."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def no_model_load(monkeypatch):
    """Loading a model fails the test: the argument must be refused first."""
    import darkness_visible.models.loading as dvm

    def loads(*args, **kwargs):
        raise AssertionError("the model was loaded before the argument was checked")

    monkeypatch.setattr(dvm, "load_model", loads)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["--batch-size", "--window", "--windows"]), value=st.integers(-10**6, 6))
def test_sizes_below_one_are_refused_before_loading_and_others_run(flag, value, capsys, tmp_path_factory):
    cache = tmp_path_factory.mktemp("c")
    args = ["harvest", "--model", "tiny", "--windows", "1", "--cache", str(cache), "--quiet", flag, str(value)]
    if value >= 1:
        assert main(args) == 0
        return
    import darkness_visible.models.loading as dvm

    real, dvm.load_model = dvm.load_model, None  # loading would fail: the argument must be refused first
    try:
        err = _cli_error(capsys, args)
    finally:
        dvm.load_model = real
    assert flag in err and "at least 1" in err
    assert not list(cache.iterdir()), "nothing written"


def test_window_zero_is_not_the_context(capsys, tmp_path):
    """``--window 0`` used to become the model's context silently."""
    args = ["harvest", "--model", "tiny", "--windows", "1", "--window", "0", "--cache", str(tmp_path)]
    assert "--window must be at least 1" in _cli_error(capsys, args)


@pytest.mark.parametrize("layer", [0, -2, 1, None])
def test_any_layer_harvests_with_the_variants_that_exist_there(layer, capsys, tmp_path):
    args = ["harvest", "--model", "tiny", "--windows", "1", "--cache", str(tmp_path), "--quiet"]
    assert main(args + ([] if layer is None else ["--layer", str(layer)])) == 0
    out = capsys.readouterr().out
    last = layer in (1, None)
    assert f"layer:  {1 if last else 0}" in out
    assert ("no_mlp" in out) is last and "lens_prev_block" in out


def test_a_layer_outside_the_model_is_refused_before_loading(capsys, no_model_load):
    assert "this model has 2 layers" in _cli_error(capsys, ["harvest", "--model", "tiny", "--layer", "5"])


def test_a_read_only_cache_folder_is_one_line(capsys, tmp_path, monkeypatch, no_model_load):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # as on a read-only file system (tests may run as root)
    err = _cli_error(capsys, ["harvest", "--model", "tiny", "--windows", "1", "--cache", str(tmp_path)])
    assert "cannot write to the cache folder" in err and "Read-only file system" in err and "DV_CACHE" in err


def test_a_file_where_the_cache_folder_should_be_is_one_line(capsys, tmp_path, no_model_load):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    err = _cli_error(capsys, ["harvest", "--model", "tiny", "--windows", "1", "--cache", str(blocker / "cache")])
    assert "cannot write to the cache folder" in err


def test_invalid_yaml_in_the_book_config_is_one_line(capsys, tmp_path, monkeypatch):
    (tmp_path / "_config.yml").write_text("replication:\n  model: tiny\n   windows: [2\n")
    monkeypatch.chdir(tmp_path)
    err = _cli_error(capsys, ["info"])
    assert "_config.yml is not valid YAML at line" in err


def test_hub_corpus_offline_is_one_line_without_trying(capsys, monkeypatch, tmp_path):
    import darkness_visible.data.corpus as dvc

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DV_CORPUS_SOURCE", "hub")
    monkeypatch.setattr(dvc, "_rows_from_hub", lambda split: pytest.fail("tried the hub while offline"))
    err = _cli_error(capsys, ["harvest", "--model", "tiny", "--windows", "1", "--cache", str(tmp_path)])
    assert "DV_CORPUS_SOURCE=local" in err


def test_a_missing_relative_folder_is_not_taken_for_a_hub_id(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = _cli_error(capsys, ["harvest", "--model", "runs/gpt2/final", "--windows", "1"])
    assert f"model folder {tmp_path / 'runs' / 'gpt2' / 'final'} does not exist" in err
    err = _cli_error(capsys, ["harvest", "--model", "./ckpt", "--windows", "1"])
    assert str(tmp_path / "ckpt") in err


def test_the_download_fix_is_quoted_and_keeps_the_revision(monkeypatch, tmp_path):
    from darkness_visible.models.loading import ModelUnavailableError, load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelUnavailableError) as info:
        load_model("gpt2-medium@my branch")
    assert "download --model 'gpt2-medium@my branch'" in str(info.value)
    with pytest.raises(ModelUnavailableError) as info:
        load_model("openai-community/gpt2@abc123")
    assert "download --model openai-community/gpt2@abc123\n" in str(info.value)


def test_internal_bugs_keep_their_traceback(monkeypatch):
    import darkness_visible.data.corpus as dvc

    def bug(*args, **kwargs):
        raise IndexError("an internal bug")

    monkeypatch.setattr(dvc, "corpus_spec", bug)
    with pytest.raises(IndexError, match="an internal bug"):
        main(["info"])


# -- chapter commands ------------------------------------------------------------------------------------------


@pytest.fixture
def fake_kernel(monkeypatch):
    """Replace notebook execution: record the notebook and the environment a kernel would get."""
    import darkness_visible.tools.run_notebook as rn

    seen = {}

    def run(path, timeout=7200, save_to=None):
        seen.update(path=Path(path), save_to=save_to, env=dict(os.environ))
        return 0.0

    monkeypatch.setattr(rn, "run", run)
    for name in ("DV_SPLIT", "DV_MODEL", "DV_WINDOWS"):
        monkeypatch.delenv(name, raising=False)
    return seen


def test_chapter_commands_pass_split_and_absolute_paths_to_the_kernel(fake_kernel, tmp_path, monkeypatch, capsys):

    monkeypatch.setattr("darkness_visible.io.hub.reachable", lambda timeout=3.0: True)  # the train split needs the hub
    monkeypatch.chdir(tmp_path)
    assert main(["tracing", "--model", "tiny", "--windows", "1", "--split", "train", "--corpus-source", "auto",
                 "--cache", "rel-cache",
                 "--build-dir", "out"]) == 0
    env = fake_kernel["env"]
    assert env["DV_SPLIT"] == "train"
    assert env["DV_CACHE"] == str(tmp_path / "rel-cache"), "relative to the caller, not to notebooks/"
    assert fake_kernel["save_to"] == tmp_path / "out" / "executed" / "01_tracing.ipynb"
    assert env["DV_RESULTS"] == str(tmp_path / "out" / "results")


def test_chapter_split_reaches_the_chapter_settings(monkeypatch):
    from darkness_visible.book import start

    monkeypatch.setenv("DV_SPLIT", "train")
    assert start("tiny", 1, show=False).corpus.split == "train"


def test_chapter_commands_work_outside_the_repository(fake_kernel, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from darkness_visible.cli import chapters

    assert {"tracing", "crystallization", "scorecard"} <= set(chapters())
    assert main(["tracing", "--model", "tiny", "--windows", "1", "--build-dir", str(tmp_path / "b")]) == 0
    assert fake_kernel["path"] == ROOT / "notebooks" / "01_tracing.ipynb"


def test_chapter_commands_without_the_notebooks_say_where_to_get_them(capsys, monkeypatch, tmp_path):
    import darkness_visible.cli as cli

    monkeypatch.setattr(cli, "book_root", lambda: None)
    assert "inside the book's checkout" in _cli_error(capsys, ["garden-path", "--model", "tiny"])


def test_chapter_preflight_runs_before_the_kernel(fake_kernel, capsys, save_gpt2):
    folder = save_gpt2(vocab_size=1000)
    assert "fewer than the GPT-2 tokenizer" in _cli_error(capsys, ["tracing", "--model", str(folder)])
    assert "path" not in fake_kernel, "no kernel was started"


def test_size_and_device_options(capsys):
    import json

    assert main(["info", "--model", "standin", "--size", "quick", "--device", "cpu"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size"]["name"] == "quick" and info["size"]["windows"] == 4 and info["device"] == "cpu -> cpu"
    assert main(["info", "--model", "standin"]) == 0
    assert json.loads(capsys.readouterr().out)["size"]["name"] == "paper"
    assert main(["info", "--model", "standin", "--device", "tpu"]) == 2
    assert "auto, cpu, cuda" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["info", "--size", "huge"])


def test_harvest_size_preset_sets_the_windows(capsys, tmp_path):
    assert main(["harvest", "--model", "tiny", "--size", "quick", "--cache", str(tmp_path), "--quiet"]) == 0
    assert "4 × 128" in capsys.readouterr().out



# -- issue 27: every setting of a chapter command is checked before a kernel starts ---------------------------


@pytest.fixture
def no_kernel(monkeypatch):
    """Notebook execution fails the test: every check must come before it. The settings the command exports
    are restored afterwards."""
    import darkness_visible.tools.run_notebook as rn

    def run(*args, **kwargs):
        raise AssertionError("a kernel started before the settings were checked")

    monkeypatch.setattr(rn, "run", run)
    for name in ("DV_SPLIT", "DV_MODEL", "DV_WINDOWS", "DV_SIZE", "DV_DEVICE", "DV_RESULTS", "DV_CACHE"):
        monkeypatch.setenv(name, "")  # recorded, so what the command exports is undone after the test
        monkeypatch.delenv(name)


@pytest.mark.parametrize("device, words", [("cuda", "'cuda' (DV_DEVICE or --device) asks for CUDA"),
                                           ("bogus", "unknown device"), ("cpu:x", "unknown device")])
def test_a_chapter_with_a_device_not_here_fails_before_the_kernel(device, words, no_kernel, capsys, monkeypatch,
                                                                  tmp_path):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    err = _cli_error(capsys, ["tracing", "--model", "tiny", "--windows", "1", "--device", device,
                                   "--cache", str(tmp_path / "c"), "--build-dir", str(tmp_path / "b")])
    assert words in err


def test_a_chapter_with_an_unknown_size_names_the_presets(no_kernel, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DV_SIZE", "huge")
    err = _cli_error(capsys, ["tracing", "--model", "tiny", "--cache", str(tmp_path / "c"),
                                   "--build-dir", str(tmp_path / "b")])
    assert "'huge'" in err and "paper" in err and "quick" in err


def test_a_size_number_in_config_yml_names_the_presets(no_kernel, capsys, monkeypatch, tmp_path):
    from darkness_visible.config.sizes import resolve_size
    from darkness_visible.errors import SettingError

    (tmp_path / "_config.yml").write_text("replication:\n  size: 3\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingError, match="paper, quick"):
        resolve_size()
    err = _cli_error(capsys, ["harvest", "--model", "tiny", "--cache", str(tmp_path / "c")])
    assert "'3'" in err and "paper, quick" in err


@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", str(2**32)])
def test_a_random_model_seed_out_of_range_is_one_line(seed, no_kernel, capsys, tmp_path):
    err = _cli_error(capsys, ["tracing", "--model", f"tiny:{seed}", "--windows", "1",
                                   "--cache", str(tmp_path / "c"), "--build-dir", str(tmp_path / "b")])
    assert "out of range" in err or "bad seed" in err


def test_the_largest_seed_builds_a_model():
    from darkness_visible.models.loading import MAX_SEED, ModelSpec, random_model, tiny_config

    spec = ModelSpec.parse(f"tiny:{MAX_SEED}")
    assert spec.seed == MAX_SEED
    random_model(tiny_config(), spec.seed)


def _read_only(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    return folder


#: a folder nobody can create, root included (Linux's /proc takes no new entries): the unwritable case where
#: chmod-based tests skip because root writes into read-only folders
UNCREATABLE = Path("/proc/dv-unwritable")
needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
needs_permissions = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                                       reason="root writes into read-only folders")


@pytest.mark.parametrize("make", [
    lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile",
    pytest.param(lambda tmp: _read_only(tmp / "ro"), marks=needs_permissions),
    pytest.param(lambda tmp: UNCREATABLE, marks=needs_proc, id="uncreatable even by root"),
])
def test_a_chapter_with_an_unusable_build_dir_fails_before_the_kernel(make, no_kernel, capsys, tmp_path):
    build = make(tmp_path)
    try:
        err = _cli_error(capsys, ["tracing", "--model", "tiny", "--windows", "1",
                                       "--cache", str(tmp_path / "c"), "--build-dir", str(build)])
    finally:
        if build.is_dir():
            build.chmod(0o700)
    assert "--build-dir" in err and str(build) in err


@pytest.mark.parametrize("make", [
    lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile",
    pytest.param(lambda tmp: _read_only(tmp / "ro"), marks=needs_permissions),
    pytest.param(lambda tmp: UNCREATABLE, marks=needs_proc, id="uncreatable even by root"),
])
def test_a_chapter_with_unwritable_dv_results_fails_before_the_kernel(make, no_kernel, capsys, monkeypatch,
                                                                      tmp_path):
    results = make(tmp_path)
    monkeypatch.setenv("DV_RESULTS", str(results))
    try:
        err = _cli_error(capsys, ["tracing", "--model", "tiny", "--windows", "1",
                                       "--cache", str(tmp_path / "c")])
    finally:
        if results.is_dir():
            results.chmod(0o700)
    assert "DV_RESULTS" in err and str(results) in err


def test_download_records_its_checksums_in_the_cache_given(capsys, tmp_path, monkeypatch):
    """``download --cache X`` records the pinned files' checksums in X (where ``harvest --cache X`` looks for
    them), not in the default cache folder, and the setting ends with the command."""
    from darkness_visible.models import identity, loading

    monkeypatch.delenv("DV_CACHE", raising=False)
    monkeypatch.setattr(loading, "download", lambda model: identity._record_path())
    assert main(["download", "--cache", str(tmp_path / "mine")]) == 0
    assert capsys.readouterr().out.strip() == str((tmp_path / "mine" / identity.RECORD_NAME).resolve())
    assert "DV_CACHE" not in __import__("os").environ
