import pytest

from darkness_visible.cli import build_parser, main


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


@pytest.mark.slow
def test_a_chapter_runs_from_the_command_line(capsys, tmp_path):
    assert main(["tracing", "--model", "tiny", "--windows", "1", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "executed 01_tracing.ipynb" in out and "_build/executed/01_tracing.ipynb" in out


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

