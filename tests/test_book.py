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


def test_an_unverified_folder_gets_a_warning_naming_it(save_gpt2):
    folder = save_gpt2()
    spec = ModelSpec.parse(str(folder))
    text = banner_markdown(spec)
    assert text.startswith(":::{warning}") and "not verified as GPT-2 Small" in text and str(folder) in text
    html = banner_html(spec)
    assert 'class="admonition warning dv-banner"' in html and "Not verified as GPT-2" in html
