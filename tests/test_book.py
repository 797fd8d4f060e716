import json
import re
from pathlib import Path

import pytest

from darkness_visible.book import banner_html, banner_markdown
from darkness_visible.data.corpus import CorpusSpec
from darkness_visible.models.loading import ModelSpec


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


def test_glue_all_glues_every_value_once(monkeypatch):
    from darkness_visible import book

    seen = _record_glue(monkeypatch)
    values = {"a": "1.0 %", "b": "is not"}
    assert book.glue_all(values) is values
    assert seen == [("a", "1.0 %", False), ("b", "is not", False)]


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


# ---------------------------------------------------------------- the chapter shape (issue 17), on every chapter

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COURSE_CHAPTERS = ["01_tracing", "02_exception_handler", "03_consensus_crossover", "04_knowledge_neurons",
                   "05_garden_path", "06_crystallization"]
MYST_ONLY = re.compile(r"\{(glue|doc|cite|ref|numref|eq)(:[a-z]+)?\}`|^:::|^```\{", re.MULTILINE)


def _cells(name: str) -> list[dict]:
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    for c in cells:
        c["text"] = "".join(c["source"])
        c["tags"] = c.get("metadata", {}).get("tags", [])
    return cells


@pytest.mark.parametrize("name", COURSE_CHAPTERS)
def test_chapter_opens_with_question_objectives_prerequisites_and_time(name):
    cells = _cells(name)
    head = cells[0]["text"]
    for part in ("**The question.**", "**Prerequisites.**", "**Time:**"):
        assert part in head, (name, part)
    assert "**You will learn to**" in head or "**Learning objectives.**" in head, name
    first_result = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and (
        "token_heatmap_html(" in c["text"] or "glue_figure(" in c["text"] or "model.trace(" in c["text"]))
    assert first_result <= 5, f"{name}: the first result is cell {first_result}, more than a screen down"
    assert any("## What to take away" in c["text"] for c in cells[-4:]), name  # at the end (before "Related")


@pytest.mark.parametrize("name", COURSE_CHAPTERS)
def test_every_exercise_has_hints_an_answer_cell_and_a_check_in_plain_markdown(name):
    cells = _cells(name)
    starts = [i for i, c in enumerate(cells) if "exercise" in c["tags"]]
    assert starts, f"{name} has no exercise"
    for i in starts:
        prompt, hint, solution, check = cells[i:i + 4]
        assert prompt["cell_type"] == "markdown" and "**Difficulty**" in prompt["text"] and "**Time**" in prompt["text"]
        assert "**Importance**" in prompt["text"]
        # one badge style in every chapter (issue 26.7): difficulty ★★☆ and importance ●●○, three places each
        badges = re.search(r"\*\*Difficulty\*\* (\S+) · .*\*\*Importance\*\* (\S+)", prompt["text"])
        assert badges and re.fullmatch(r"★+☆*", badges[1]) and len(badges[1]) == 3, (name, prompt["text"][:120])
        assert re.fullmatch(r"●+○*", badges[2]) and len(badges[2]) == 3, (name, prompt["text"][:120])
        assert hint["cell_type"] == "markdown" and "hint" in hint["tags"] and "<details>" in hint["text"]
        assert solution["cell_type"] == "code" and "solution" in solution["tags"]
        assert check["cell_type"] == "code" and "check" in check["tags"]
        for cell in (prompt, hint, check):  # student copies keep these: they must read cleanly in plain Jupyter
            assert not MYST_ONLY.search(cell["text"]), (name, cell["text"][:80])
        bound = re.findall(r"^def (\w+)\(|^([\w, ]+?)\s*(?::[^=\n]+)?=(?!=)", solution["text"], re.MULTILINE)
        defined = {n.strip() for f, v in bound for n in (f or v).split(",") if n.strip()}
        used = [d for d in defined if re.search(rf"\b{d}\b", check["text"])]
        assert used, (name, "the check uses nothing the answer cell defines", sorted(defined))
        earlier = "\n".join(c["text"] for c in cells[:i] if c["cell_type"] == "code")
        for d in used:  # an empty answer cell must not pass the check with a name defined earlier
            assert not re.search(rf"(\bimport\b[^\n]*\b{d}\b|^def {d}\(|^[\w, ]*\b{d}\b[\w, ]*\s*=(?!=))", earlier,
                                 re.MULTILINE), (name, d)
    # exercises are inline, beside their sections: no "Exercises" section, and content sections follow the first one
    assert not any(c["text"].startswith("## Exercises") for c in cells), name
    later = [c["text"] for c in cells[starts[0] + 4:] if c["cell_type"] == "markdown" and "exercise" not in c["tags"]]
    assert any(re.search(r"^## (?!What to take away)", t, re.MULTILINE) for t in later), name


@pytest.mark.parametrize("name", COURSE_CHAPTERS)
def test_every_glued_figure_is_captioned_named_and_described(name):
    cells = _cells(name)
    markdown = "\n".join(c["text"] for c in cells if c["cell_type"] == "markdown")
    figures = [(c, f) for c in cells if c["cell_type"] == "code"
               for f in re.findall(r'glue_figure\("([^"]+)"', c["text"])]
    assert figures, name
    for cell, fig in figures:
        assert "remove-output" in cell["tags"], (name, fig)  # shown once, in the captioned figure
        block = re.search(r"```\{glue:figure\} " + re.escape(fig) + r"\n(.*?)```", markdown, re.DOTALL)
        assert block, (name, fig)
        assert re.search(r":name: \S+", block.group(1)) and re.search(r":alt: \S.{40,}", block.group(1)), (name, fig)
        caption = block.group(1).split("\n\n", 1)[-1]
        assert len(caption.split()) > 15, (name, fig)  # a caption that says what to look at


def test_an_unverified_folder_gets_a_warning_naming_it(save_gpt2):
    folder = save_gpt2()
    spec = ModelSpec.parse(str(folder))
    text = banner_markdown(spec)
    assert text.startswith(":::{warning}") and "not verified as GPT-2 Small" in text and str(folder) in text
    html = banner_html(spec)
    assert 'class="admonition warning dv-banner"' in html and "Not verified as GPT-2" in html
