from darkness_visible.book import banner_html, banner_markdown
from darkness_visible.corpus import CorpusSpec
from darkness_visible.model import ModelSpec


def test_standin_banner_warns_and_names_the_model():
    text = banner_markdown(ModelSpec.parse("standin:2"), CorpusSpec(n_windows=4))
    assert text.startswith(":::{warning}")
    assert "not GPT-2" in text and "seed 2" in text and "4 × 1,024" in text


def test_real_model_banner_is_a_note():
    text = banner_markdown(ModelSpec.parse("openai-community/gpt2"))
    assert text.startswith(":::{note}") and "607a30d" in text


def test_html_banner_is_a_theme_admonition():
    text = banner_html(ModelSpec.parse("standin"), CorpusSpec(n_windows=4))
    assert 'class="admonition warning' in text and "<strong>Numbers on this page" in text
    assert "not GPT-2" in text
    assert 'class="admonition note' in banner_html(ModelSpec.parse("openai-community/gpt2"))


def _record_glue(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display)))
    return calls


def test_glue_all_glues_every_value_hidden(monkeypatch):
    from darkness_visible import book

    glued = _record_glue(monkeypatch)
    values = {"a": "1.0", "b": "is not"}
    assert book.glue_all(values) is values
    assert glued == [("a", "1.0", False), ("b", "is not", False)]


def test_glue_figure_glues_visibly_and_closes(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from darkness_visible import book

    glued = _record_glue(monkeypatch)
    fig, _ = plt.subplots()
    assert book.glue_figure("fig_x", fig) is None  # a cell ending with the call shows the figure once
    assert glued == [("fig_x", fig, True)]
    assert fig.number not in plt.get_fignums()
