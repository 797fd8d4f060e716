"""Student and instructor copies from one chapter source: solutions out of the student copy, MyST turned into
plain markdown, every solution checked, and a student copy filled with the solutions runs top to bottom."""

import re
from pathlib import Path

import nbformat
import pytest

from darkness_visible.tools import make_notebooks as mk

ROOT = Path(__file__).resolve().parents[2]
BIB = ROOT / "book" / "references.bib"

EXERCISE_MD = """## Exercises

(ex-anchor)=
:::{exercise}
:label: ex-fires

**(easy, 10 min)** Write `fires(a, threshold, signed)`; see {doc}`02_other` and {term}`GELU`.
The rate was {glue:text}`rate_value` as {cite:t}`balogh2026darkness` report {cite:p}`dai2022knowledge`.
:::

:::{solution} ex-fires
:class: dropdown

```python
SECRET_MARKDOWN_SOLUTION = abs(a) > threshold
```
:::
"""
SOLUTION_CODE = """import numpy as np
from darkness_visible.exercises.tracing import check_fires

def fires(a, threshold, signed):
    return np.asarray(a > threshold) if signed else np.asarray(np.abs(a) > threshold)

check_fires(fires)
"""


def _chapter(folder: Path, solution: str = SOLUTION_CODE, name: str = "01_chapter") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [
        nbformat.v4.new_markdown_cell("# A chapter\n\n:::{note}\nRead {doc}`02_other` first.\n:::\n\nAs "
                                      "{ref}`paper-claims §3 <spec-s3>` says; see {ref}`the table <tab-x>`."),
        nbformat.v4.new_code_cell("x = 1 + 1"),
        nbformat.v4.new_markdown_cell(EXERCISE_MD, metadata={"tags": ["exercise"]}),
        nbformat.v4.new_markdown_cell("Compare `signed` with `abs`.", metadata={"tags": ["hint"]}),
        nbformat.v4.new_code_cell(solution, metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Because the negative GELU band dips below zero, hidden reason here.",
                                      metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Teach this in 10 minutes.", metadata={"tags": ["instructor"]}),
        nbformat.v4.new_code_cell("assert x == 2"),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    nb.cells = cells
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    other = nbformat.v4.new_notebook()
    other.cells = [nbformat.v4.new_markdown_cell("# Other")]
    other.cells[0]["id"] = "other-0"
    nbformat.write(other, folder / "02_other.ipynb")
    return path


def _write(folder: Path) -> dict[Path, str]:
    if not (folder / "01_chapter.ipynb").exists():
        _chapter(folder)
    written = mk.build(folder, BIB)
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return written


def _text(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def test_student_copy_has_no_solution_and_keeps_the_check_call(tmp_path):
    _write(tmp_path)
    student = nbformat.read(tmp_path / "student" / "01_chapter.ipynb", as_version=4)
    text = _text(student)
    assert "np.abs(a) > threshold" not in text and "SECRET_MARKDOWN_SOLUTION" not in text
    assert "hidden reason" not in text and "Teach this" not in text
    [answer] = [c for c in student.cells if "answer" in c.metadata.get("tags", [])]
    assert answer.source.splitlines()[0] == mk.ANSWER_HEADER
    assert "from darkness_visible.exercises.tracing import check_fires" in answer.source
    assert "check_fires(fires)" in answer.source and "def fires" not in answer.source
    assert "<details><summary>Hint</summary>" in text  # hints stay, folded
    assert mk.solution_leaks(nbformat.read(tmp_path / "01_chapter.ipynb", as_version=4), student) == []


def test_a_hint_already_folded_opens_with_one_click(tmp_path):
    """Issue 26.7: a hint cell that is a <details> block was wrapped in a second one (two clicks to read it)."""
    path = _chapter(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = "<details><summary>Hints (click to open)</summary>\n\n1. Compare `signed`.\n\n</details>"
    nbformat.write(nb, path)
    _write(tmp_path)
    for kind in ("student", "instructor"):
        hint = next(c.source for c in nbformat.read(tmp_path / kind / "01_chapter.ipynb", as_version=4).cells
                    if "Compare `signed`" in c.source)
        assert hint.count("<details>") == 1 and hint.startswith("<details><summary>Hints (click to open)"), kind


def test_instructor_copy_has_everything_and_no_myst_syntax(tmp_path):
    _write(tmp_path)
    instructor = nbformat.read(tmp_path / "instructor" / "01_chapter.ipynb", as_version=4)
    text = _text(instructor)
    assert "np.abs(a) > threshold" in text and "SECRET_MARKDOWN_SOLUTION" in text and "Teach this" in text
    assert "<summary>Solution to exercise 1</summary>" in text and "**Exercise 1**" in text
    for kind in ("student", "instructor"):
        nb = nbformat.read(tmp_path / kind / "01_chapter.ipynb", as_version=4)
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for myst in ("{glue", "{doc}", "{cite", "{term}", ":::", "(ex-anchor)=", ":label:"):
            assert myst not in markdown, (kind, myst)
        assert "[02_other](02_other.ipynb)" in markdown and "*GELU*" in markdown and "`rate_value`" in markdown
        assert "Balogh (2026a) report (Dai et al., 2022)" in markdown
        assert "> **Note:** Read [02_other](02_other.ipynb) first." in markdown
        # a specification section links to the page of the specification that holds it; any other {ref}
        # keeps its text
        assert "As [paper-claims §3](../../book/specification/s3.md) says; see the table." in markdown
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_filled_student_copy_runs_top_to_bottom_and_so_does_an_unanswered_one(tmp_path):
    from nbclient import NotebookClient

    _write(tmp_path)
    student = nbformat.read(tmp_path / "student" / "01_chapter.ipynb", as_version=4)
    instructor = nbformat.read(tmp_path / "instructor" / "01_chapter.ipynb", as_version=4)
    filled = mk.fill_answers(student, instructor)
    run = {"timeout": 120, "kernel_name": "python3", "resources": {"metadata": {"path": str(tmp_path)}}}
    NotebookClient(filled, **run).execute()
    assert any("check_fires(fires)" in c.source and not any(o.get("output_type") == "error" for o in c.outputs)
               for c in filled.cells if c.cell_type == "code")
    NotebookClient(student, **run).execute()  # unanswered: "Run all" goes on, the check says so, no NameError
    outputs = [o for c in student.cells if c.cell_type == "code" for o in c.outputs]
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert any("Not answered yet: `fires` is not defined" in o.get("text", "") for o in outputs)


def test_guard_keeps_the_cell_and_its_last_expression():
    code = "ex.check_x(f)\nprint(f(1))\nf(2) + 1\n"
    guarded = mk.guard(code, ["f"])
    assert guarded.startswith(mk.GUARD_IMPORT) and "if answered('f'):\n    ex.check_x(f)\n" in guarded
    assert "    display(f(2) + 1)" in guarded and "from IPython.display import display" in guarded
    assert mk.guard(code, []) == code
    ns = {}
    exec(mk.guard("y = f(2)", ["f"]), ns)  # undefined f: no NameError, y never set
    assert "y" not in ns
    assert mk.defined_names("import numpy as np\ndef f(x):\n    return x\na, b = 1, 2\n") == {"f", "a", "b"}


def test_a_wrong_solution_fails_its_check_when_run(tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    wrong = SOLUTION_CODE.replace("np.abs(a) > threshold", "a > threshold")
    _chapter(tmp_path, solution=wrong)
    _write(tmp_path)
    instructor = nbformat.read(tmp_path / "instructor" / "01_chapter.ipynb", as_version=4)
    with pytest.raises(CellExecutionError, match="AssertionError"):
        NotebookClient(instructor, timeout=120, kernel_name="python3").execute()


def test_solution_without_a_check_call_is_refused(tmp_path):
    _chapter(tmp_path, solution="def fires(a, threshold, signed):\n    return a > threshold\n")
    with pytest.raises(mk.NotebookError, match="calls no check_"):
        mk.build(tmp_path, BIB)


def test_unknown_citation_is_refused(tmp_path):
    _chapter(tmp_path)
    path = tmp_path / "01_chapter.ipynb"
    path.write_text(path.read_text().replace("dai2022knowledge", "nobody1999"))
    with pytest.raises(mk.NotebookError, match="nobody1999"):
        mk.build(tmp_path, BIB)


def test_check_finds_stale_and_leaking_copies_and_passes_fresh_ones(tmp_path, capsys):
    _chapter(tmp_path)
    assert any("missing" in p for p in mk.check(tmp_path, BIB))
    _write(tmp_path)
    assert mk.check(tmp_path, BIB) == []
    assert mk.main(["--notebooks", str(tmp_path), "--bib", str(BIB), "--check"]) == 0
    student = tmp_path / "student" / "01_chapter.ipynb"
    leak = "    return np.asarray(a > threshold) if signed else np.asarray(np.abs(a) > threshold)"
    nb = nbformat.read(student, as_version=4)
    nb.cells[-1].source += "\n" + leak
    nbformat.write(nb, student)
    problems = mk.check(tmp_path, BIB)
    assert any("out of date" in p for p in problems) and any("contains solutions" in p for p in problems)
    assert mk.main(["--notebooks", str(tmp_path), "--bib", str(BIB), "--check"]) == 1


def test_no_chapters_is_a_clear_error(tmp_path, capsys):
    assert mk.main(["--notebooks", str(tmp_path), "--check"]) == 2
    assert "no chapter notebooks" in capsys.readouterr().err


def test_the_committed_copies_are_up_to_date():
    assert mk.check(ROOT / "notebooks", BIB) == []


@pytest.mark.chapter
@pytest.mark.slow
@pytest.mark.parametrize("chapter", ["01_tracing", "03_consensus_crossover", "05_garden_path"])
def test_a_real_student_copy_filled_with_the_solutions_runs_top_to_bottom(chapter, monkeypatch, tmp_path):
    """What a student does: open the student copy in plain Jupyter, answer, run all. Here the answers are the
    solutions, on the stand-in at the quick size (the three chapters that run in about a minute each; the
    book build runs every chapter's solutions through their checks)."""
    from nbclient import NotebookClient

    for name, value in {"DV_MODEL": "standin", "DV_SIZE": "quick", "DV_WINDOWS": "2", "DV_CORPUS_SOURCE": "local",
                        "DV_RESULTS": str(tmp_path / "results")}.items():
        monkeypatch.setenv(name, value)
    student = nbformat.read(ROOT / "notebooks" / "student" / f"{chapter}.ipynb", as_version=4)
    instructor = nbformat.read(ROOT / "notebooks" / "instructor" / f"{chapter}.ipynb", as_version=4)
    filled = mk.fill_answers(student, instructor)
    assert any("answer" in mk.tags(c) for c in student.cells), "the student copy has answer cells"
    NotebookClient(filled, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks" / "student")}}).execute()
    checks = [c for c in filled.cells if c.cell_type == "code" and "check" in c.source]
    assert checks and not any(o.get("output_type") == "error" for c in filled.cells for o in c.get("outputs", []))


# -- issue 27 --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["student", "instructor"])
def test_a_generated_folder_as_input_is_refused_and_nothing_is_written(kind, tmp_path, capsys):
    import shutil

    source = tmp_path / "notebooks" / kind
    shutil.copytree(ROOT / "notebooks" / kind, source)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert mk.main(["--notebooks", str(source), "--bib", str(BIB)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "generated copies" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_malformed_bib_is_one_line(tmp_path, capsys):
    bib = tmp_path / "bad.bib"
    bib.write_text("@article{broken, author = {Someone, title = {unclosed}\n")
    capsys.readouterr()
    assert mk.main(["--notebooks", str(ROOT / "notebooks"), "--bib", str(bib), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "bad.bib" in err and "--bib" in err


@pytest.mark.parametrize("where", ["missing.bib", "."])
def test_a_bib_that_is_not_a_file_is_one_line_naming_it(where, tmp_path, capsys):
    """``--bib`` naming a folder or a missing file was read as "no citations" and blamed the first {cite} key."""
    capsys.readouterr()
    assert mk.main(["--notebooks", str(ROOT / "notebooks"), "--bib", str(tmp_path / where), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --bib {tmp_path / where}") and "not a file" in err and "\n" not in err


def test_a_cell_magic_stays_the_first_line_of_generated_cells():
    from darkness_visible.tools.make_notebooks import split_magic, with_magic

    assert split_magic("%%needs_handler paper\nx = 1\n") == ("%%needs_handler paper", "x = 1\n")
    assert split_magic("x = 1\n") == ("", "x = 1\n")
    assert with_magic(*split_magic("%%needs_handler\ny = 2")) == "%%needs_handler\ny = 2"
    for path in (ROOT / "notebooks" / "student").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            assert "\n%%" not in cell["source"], f"{path.name}: a cell magic below the first line"


def test_every_specification_reference_of_the_chapters_has_a_page():
    pages = mk.spec_pages(ROOT / "book" / "specification")
    assert pages["spec-s3"] == "s3.md" and pages["spec-e9"] == "s6.md" and pages["spec-appendix-a"] == "appendix-a.md"
    refs = set()
    for chapter in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        refs |= set(re.findall(r"<(spec-[\w-]+)>`", chapter.read_text(encoding="utf-8")))
    assert refs and refs <= set(pages), sorted(refs - set(pages))
