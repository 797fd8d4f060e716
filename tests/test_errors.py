"""The user-error family (:mod:`darkness_visible.errors`): one ``error:`` line on the command line and in IPython."""

from __future__ import annotations

import pytest

from darkness_visible.errors import DVUserError, SettingError


@pytest.fixture
def ipython(tmp_path, monkeypatch):
    """An in-process IPython shell, as a chapter's kernel runs cells (no history, profile in a temporary folder)."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


@pytest.mark.parametrize("cell, words", [
    ("import os; os.environ['DV_SIZE'] = 'huge'\nfrom darkness_visible import book\nbook.start('tiny', show=False)",
     "unknown size 'huge': choose one of paper, quick"),
    ("open('_config.yml', 'w').write('replication:\\n  size: 3\\n')\n"
     "from darkness_visible import book\nbook.start('tiny', show=False)", "unknown size '3'"),
    ("from darkness_visible import book\nbook.start('tiny:99999999999999999999999', show=False)", "out of range"),
    ("from darkness_visible.discovery.discover import DiscoverConfig\nDiscoverConfig(core_level='0.9')",
     "core_level must be a finite number"),
])
def test_a_user_error_inside_a_chapter_kernel_is_one_error_line(cell, words, ipython, capsys, tmp_path,
                                                                monkeypatch):
    """Issue 27: DV_SIZE=huge or ``size: 3`` inside a chapter's kernel (jupyter-book build, a notebook) showed a
    traceback through three frames; IPython now shows the one line the command line prints."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DV_SIZE", raising=False)
    result = ipython.run_cell(cell)
    out = capsys.readouterr().out.strip()
    assert isinstance(result.error_in_exec, DVUserError)
    assert out.startswith("error: ") and words in out and "\n" not in out and "Traceback" not in out, out


def test_other_exceptions_keep_their_traceback(ipython, capsys):
    ipython.run_cell("def f():\n    raise KeyError('a bug')\nf()")
    out = capsys.readouterr().out
    assert "Traceback" in out and "KeyError" in out and "error: " not in out


def test_the_command_line_and_ipython_say_the_same():
    assert SettingError("x: fix it")._render_traceback_() == ["error: x: fix it"]
