from darkness_visible import settings


def test_precedence_argument_env_config_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DV_MODEL", raising=False)
    assert settings.model_setting() == "openai-community/gpt2"
    (tmp_path / "_config.yml").write_text("replication:\n  model: tiny\n  windows: 7\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)  # notebooks execute in their own folder
    assert settings.model_setting() == "tiny"
    assert settings.windows_setting() == 7
    monkeypatch.setenv("DV_MODEL", "standin")
    assert settings.model_setting() == "standin"
    assert settings.model_setting("standin:3") == "standin:3"


def test_bad_window_setting_is_explained(monkeypatch):
    import pytest

    monkeypatch.setenv("DV_WINDOWS", "many")
    with pytest.raises(ValueError, match="whole number"):
        settings.windows_setting()
