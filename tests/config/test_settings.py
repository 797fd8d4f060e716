from darkness_visible.config import settings
from darkness_visible.config.sizes import windows_setting


def test_precedence_argument_env_config_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DV_MODEL", raising=False)
    assert settings.model_setting() == "openai-community/gpt2"
    (tmp_path / "_config.yml").write_text("replication:\n  model: tiny\n  windows: 7\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)  # notebooks execute in their own folder
    assert settings.model_setting() == "tiny"
    assert windows_setting() == 7
    monkeypatch.setenv("DV_MODEL", "standin")
    assert settings.model_setting() == "standin"
    assert settings.model_setting("standin:3") == "standin:3"


def test_bad_window_setting_is_explained(monkeypatch):
    import pytest

    monkeypatch.setenv("DV_WINDOWS", "many")
    with pytest.raises(ValueError, match="whole number"):
        windows_setting()


def test_invalid_yaml_names_the_line(tmp_path, monkeypatch):
    import pytest

    from darkness_visible.errors import SettingError

    (tmp_path / "_config.yml").write_text("title: x\nreplication:\n  model: tiny\n  windows: [2\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingError, match=r"_config.yml is not valid YAML at line \d+"):
        settings.model_setting()


def test_a_relative_cache_in_the_book_config_is_read_from_the_book_root(tmp_path, monkeypatch):
    (tmp_path / "_config.yml").write_text("replication:\n  cache: .dv-cache\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("DV_CACHE", raising=False)
    for where in (tmp_path, tmp_path / "notebooks"):  # the CLI and the kernels agree
        monkeypatch.chdir(where)
        assert settings.cache_dir() == tmp_path / ".dv-cache"
