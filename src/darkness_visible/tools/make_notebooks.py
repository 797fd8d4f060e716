"""Student and instructor notebooks, generated from the chapter sources by one command.

``python -m darkness_visible.tools.make_notebooks`` reads ``notebooks/*.ipynb`` (the book's chapters) and
writes ``notebooks/student/<chapter>.ipynb`` and ``notebooks/instructor/<chapter>.ipynb``;
``--check`` writes nothing and fails (exit 1, one line per problem) when a committed copy is out of date, a
student copy contains a solution, or a solution cell has no check call. The copies are committed so that the
Colab and Binder buttons can open them at a stable path; CI runs ``--check``.

Cell tags (cell metadata ``tags``, as in nbgrader and Jupyter Book; set them in Jupyter's property inspector
or with ``jupytext``), in the chapter sources:

=============  ===========  =====================================================================================
tag            cell type    student copy / instructor copy
=============  ===========  =====================================================================================
``exercise``   markdown     the task (title line with difficulty and minutes, then the text): both copies.
``hint``       markdown     both copies, folded once: ``<details><summary>Hint</summary>…`` (kept as it is
                            when the cell is already a ``<details>`` block).
``solution``   code         instructor: as written. Student: an answer cell that keeps only the cell's imports
                            from ``darkness_visible`` and its top-level ``check_*(...)`` calls, after a
                            ``# Your answer`` line; every other line is removed. The chapter (and so the book
                            build) runs the solution, so its check call proves the solution passes.
``solution``   markdown     instructor: folded ``<details><summary>Solution</summary>``; student: removed.
``check``      code         both copies, unchanged (a check call kept apart from its solution cell).
``instructor`` any          instructor copy only (teaching notes, timings).
=============  ===========  =====================================================================================

In a student copy every ``check`` cell, and the check calls kept in an answer cell, run under
``if answered("name", ...):`` (:func:`darkness_visible.exercises.answered`) for the names the chapter's
solutions define and the cell reads: an unanswered exercise prints "Not answered yet" and "Run all" goes on,
instead of stopping at a ``NameError``.

A ``solution`` code cell must call a checker (``check_...(...)``), in itself or in the ``check`` cell right
after it. The MyST-only syntax of the book is turned into markdown that plain Jupyter and Colab render, with
the same parser MyST uses (``markdown-it-py`` and its colon-fence plugin): ``:::{exercise}`` becomes
"**Exercise N**", ``:::{solution}`` blocks are removed from student copies (folded in instructor copies),
admonitions become quotes, ``dropdown``/``toggle`` become ``<details>``; roles: ``{glue:text}`x``` → ```x```
(the code above it computes the value and, outside a book build, shows ``x = value`` under its cell:
:func:`darkness_visible.book.glue`), ``{doc}`` → a link to the sibling notebook, ``{cite:t}``/
``{cite:p}`` → "Author (year)" / "(Author, year)" from ``book/references.bib``, ``{term}`` → *italic*,
``{math}`` → ``$…$``, ``{ref}`` → its text (for a ``spec-…`` label, a link to the page of
``book/specification/`` that holds it); ``(label)=`` targets and ``%`` comments are dropped. Outputs are not kept.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

TAG_EXERCISE, TAG_HINT, TAG_SOLUTION, TAG_CHECK, TAG_INSTRUCTOR = "exercise", "hint", "solution", "check", "instructor"
ANSWER_HEADER = "# Your answer: write the code the exercise above asks for, then run this cell (the check is below)."
PLAIN_NOTE = ("*Generated from the book's chapter by `python -m darkness_visible.tools.make_notebooks` "
              "({kind} copy); do not edit. Names in `code` in the text stand for numbers the code cells "
              "compute: run the cells and each one shows `name = value` under it (the book puts the values "
              "into the text).*")
ADMONITIONS = {"note", "warning", "tip", "important", "caution", "attention", "danger", "error", "hint", "seealso",
               "admonition", "margin", "sidebar", "topic"}
FOLDED = {"dropdown", "toggle", "details"}
ROLE = re.compile(r"\{(?P<name>[a-zA-Z][\w:.-]*)\}`(?P<body>[^`]*)`")
TARGET = re.compile(r"^\(([^()\s]+)\)=\s*$")
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")


class NotebookError(ValueError):
    """A chapter's tags or syntax that cannot be turned into student/instructor copies."""


@dataclass
class Context:
    """What the conversion of one chapter needs: citations, the chapter names, exercise numbers."""

    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (authors, year)
    chapters: set[str] = field(default_factory=set)
    exercises: dict[str, int] = field(default_factory=dict)  # label -> number within the chapter
    spec_pages: dict[str, str] = field(default_factory=dict)  # spec-… label -> its page, e.g. "s3.md"

    def number(self, label: str) -> int:
        if label not in self.exercises:
            self.exercises[label] = len(self.exercises) + 1
        return self.exercises[label]


# ------------------------------------------------------------------ citations


def load_citations(bib: Path) -> dict[str, tuple[str, str]]:
    """``key -> (authors, year)`` for each entry of a BibTeX file, with a/b suffixes for equal author-years."""
    from pybtex.database import parse_file

    try:
        data = parse_file(str(bib), bib_format="bibtex")
    except Exception as error:  # noqa: BLE001 - pybtex's syntax errors share no base class with its I/O errors
        from darkness_visible.errors import one_line

        raise NotebookError(f"{bib} is not a readable BibTeX file ({one_line(error, 200)}): fix that entry, or "
                            "pass another file with --bib") from None
    raw: dict[str, tuple[str, str]] = {}
    for key, entry in data.entries.items():
        people = entry.persons.get("author", [])
        last = [" ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "") for p in people]
        authors = last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."
        raw[key] = (authors, entry.fields.get("year", "n.d."))
    groups: dict[tuple[str, str], list[str]] = {}
    for key, value in raw.items():
        groups.setdefault(value, []).append(key)
    out = dict(raw)
    for (authors, year), keys in groups.items():
        if len(keys) > 1:
            for i, key in enumerate(keys):
                out[key] = (authors, year + "abcdefghijklmnopqrstuvwxyz"[i])
    return out


# ------------------------------------------------------------------ MyST -> plain markdown


def _role(match: re.Match[str], ctx: Context) -> str:
    name, body = match["name"], match["body"]
    text, _, target = body.partition(" <")
    target = target.rstrip(">") if target else text
    if name in ("glue:text", "glue", "glue:any", "glue:md"):
        return f"`{body.split(':')[0]}`"
    if name == "doc":
        stem = Path(target).name
        label = text if body.endswith(">") else stem
        if stem in ctx.chapters:
            return f"[{label}]({stem}.ipynb)"
        return f"[{label}](../../{target.lstrip('./').removeprefix('../')}.md)" if target.startswith("..") else label
    if name.startswith("cite"):
        keys = [k.strip() for k in body.split(",")]
        found = []
        for key in keys:
            if key not in ctx.citations:
                raise NotebookError(f"{{cite}} key {key!r} is not in book/references.bib: add it there or fix the key")
            found.append(ctx.citations[key])
        if name == "cite:t":
            return "; ".join(f"{a} ({y})" for a, y in found)
        return "(" + "; ".join(f"{a}, {y}" for a, y in found) + ")"
    if name in ("math", "m"):
        return f"${body}$"
    if name == "term":
        return f"*{text}*"
    if name in ("eq",):
        return f"({target})"
    if name == "ref" and target.startswith("spec-"):  # a section of the specification: the page that holds it
        return f"[{text}](../../book/specification/{ctx.spec_pages.get(target, 'index.md')})"
    return text  # ref, numref, abbr, download, ...: the visible text


def convert_inline(text: str, ctx: Context) -> str:
    """Roles, targets and comments of plain (non-fenced) MyST text."""
    lines = []
    for line in text.split("\n"):
        if TARGET.match(line.strip()) or (line.startswith("%") and not line.startswith("%%")):
            continue
        lines.append(ROLE.sub(lambda m: _role(m, ctx), line))
    return "\n".join(lines)


def _split_options(body: str) -> tuple[dict[str, str], str]:
    lines = body.split("\n")
    options: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            for line in lines[1:end]:
                key, _, value = line.partition(":")
                options[key.strip()] = value.strip()
            return options, "\n".join(lines[end + 1:]).strip("\n")
    i = 0
    while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
        key, _, value = lines[i][1:].partition(":")
        options[key] = value.strip()
        i += 1
    return options, "\n".join(lines[i:]).strip("\n")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def _directive(name: str, argument: str, body: str, ctx: Context, student: bool) -> str:
    options, content = _split_options(body)
    inner = convert_markdown(content, ctx, student=student)
    if name == "exercise":
        label = options.get("label") or argument or f"exercise-{len(ctx.exercises) + 1}"
        title = f"**Exercise {ctx.number(label)}**" + (f" ({argument})" if argument and argument != label else "")
        return f"{title}\n\n{inner}"
    if name == "solution":
        if student:
            return ""
        number = ctx.exercises.get(argument)
        title = f"Solution to exercise {number}" if number else "Solution"
        return f"<details><summary>{title}</summary>\n\n{inner}\n\n</details>"
    if name in FOLDED or "dropdown" in options.get("class", ""):
        title = argument or name.capitalize()
        return f"<details><summary>{title}</summary>\n\n{inner}\n\n</details>"
    if name in ADMONITIONS:
        title = argument if name == "admonition" and argument else name.capitalize()
        return _quote(f"**{title}:** {inner}" if inner else f"**{title}**")
    if name in ("figure", "image"):
        alt = options.get("alt", "figure")
        path = argument if "://" in argument else f"../{argument}"
        return f"![{alt}]({path})" + (f"\n\n*{inner}*" if inner else "")
    if name == "math":
        return f"$$\n{content}\n$$"
    if name in ("code-block", "code", "sourcecode"):
        return f"```{argument}\n{content}\n```"
    return inner  # an unknown directive: its content, without the MyST wrapper


def convert_markdown(text: str, ctx: Context, *, student: bool) -> str:
    """A MyST markdown cell as markdown that plain Jupyter renders (see the module docstring)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.colon_fence import colon_fence_plugin

    tokens = MarkdownIt("commonmark").use(colon_fence_plugin).parse(text)
    lines = text.split("\n")
    parts: list[str] = []
    pos = 0
    for tok in tokens:
        if tok.level != 0 or tok.map is None or tok.type not in ("fence", "colon_fence"):
            continue
        start, end = tok.map
        parts.append(convert_inline("\n".join(lines[pos:start]), ctx))
        info = tok.info.strip()
        directive = re.match(r"^\{([\w:-]+)\}\s*(.*)$", info)
        if directive:
            parts.append(_directive(directive[1], directive[2].strip(), tok.content.rstrip("\n"), ctx, student))
        else:
            parts.append("\n".join(lines[start:end]))  # a code block: verbatim
        pos = end
    parts.append(convert_inline("\n".join(lines[pos:]), ctx))
    joined = "\n".join(p for p in parts)
    return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


# ------------------------------------------------------------------ cells


def tags(cell: Any) -> set[str]:
    """A cell's metadata tags."""
    return set(cell.get("metadata", {}).get("tags", []))


def split_magic(source: str) -> tuple[str, str]:
    """A cell's leading cell magic (``%%needs_handler ...``: it must stay the cell's first line) and the Python
    after it; ``("", source)`` when there is none."""
    if source.startswith("%%"):
        first, _, rest = source.partition("\n")
        return first, rest
    return "", source


def with_magic(magic: str, source: str) -> str:
    """``source`` with ``magic`` (from :func:`split_magic`) put back as its first line."""
    return f"{magic}\n{source}" if magic else source


def kept_lines(source: str) -> list[str]:
    """What a student's answer cell keeps of a solution: imports from darkness_visible and ``check_*`` calls."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise NotebookError(f"a solution cell is not valid Python (line {error.lineno}): fix it in the chapter") \
            from None
    kept = []
    for node in tree.body:
        segment = ast.get_source_segment(source, node) or ""
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("darkness_visible"):
            kept.append(segment)
        elif isinstance(node, ast.Import) and any(a.name.startswith("darkness_visible") for a in node.names):
            kept.append(segment)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and CHECK_CALL.search(segment):
            kept.append(segment)
    return kept


GUARD_IMPORT = "from darkness_visible.exercises import answered"


def defined_names(source: str) -> set[str]:
    """Names a solution cell defines at top level (functions, classes, assignments), not its imports."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.With):
            targets = node.targets if isinstance(node, ast.Assign) else [
                getattr(node, "target", None), *[i.optional_vars for i in getattr(node, "items", [])]]
            for target in targets:
                if target is not None:
                    names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def used_names(source: str) -> list[str]:
    """Names a cell reads, in order of first use."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            seen.setdefault(node.id, None)
    return sorted(seen, key=lambda n: min(getattr(x, "lineno", 0) * 10000 + getattr(x, "col_offset", 0)
                                          for x in ast.walk(tree) if isinstance(x, ast.Name) and x.id == n))


def guard(source: str, names: Iterable[str]) -> str:
    """``source`` run only when the exercise's ``names`` are defined (:func:`darkness_visible.exercises.answered`):
    an unanswered exercise prints "not answered yet" instead of stopping "Run all" with a ``NameError``. A
    trailing expression is passed to ``display`` so the cell still shows it."""
    names = list(dict.fromkeys(names))
    if not names:
        return source
    lines = source.rstrip("\n").split("\n")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not (isinstance(last.value, ast.Call) and isinstance(last.value.func, ast.Name)
                                           and last.value.func.id in ("print", "display")):
        segment = ast.get_source_segment(source, last) or ""
        lines[last.lineno - 1:last.end_lineno] = f"display({segment})".split("\n")
    imports = [GUARD_IMPORT]
    if any(line.startswith("display(") for line in lines):
        imports.append("from IPython.display import display")
    body = "\n".join("    " + line if line.strip() else "" for line in lines)
    call = ", ".join(repr(n) for n in names)
    return "\n".join(imports) + f"\n\nif answered({call}):\n" + body + "\n"


def _clean(cell: Any, source: str) -> Any:
    out = nbformat.from_dict(dict(cell))
    out["source"] = source
    if out["cell_type"] == "code":
        out["outputs"], out["execution_count"] = [], None
    out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k in ("tags",)}
    return out


def make_copy(source_nb: Any, kind: str, ctx: Context) -> Any:
    """The ``kind`` ("student" or "instructor") copy of a chapter notebook."""
    if kind not in ("student", "instructor"):
        raise NotebookError(f"unknown copy {kind!r}: use 'student' or 'instructor'")
    student = kind == "student"
    ctx.exercises.clear()
    nb = nbformat.v4.new_notebook(metadata={k: v for k, v in source_nb.metadata.items()
                                            if k in ("kernelspec", "language_info")})
    nb.metadata.pop("language_info", None)
    note = nbformat.v4.new_markdown_cell(PLAIN_NOTE.format(kind=kind))
    note["id"] = f"generated-{kind}-note"
    nb.cells.append(note)
    cells = source_nb.cells
    answers: set[str] = set()  # names the chapter's solutions define so far (a student's answers must)
    for i, cell in enumerate(cells):
        t = tags(cell)
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if TAG_INSTRUCTOR in t and student:
            continue
        if cell["cell_type"] == "markdown":
            if TAG_SOLUTION in t:
                if student:
                    continue
                text = f"<details><summary>Solution</summary>\n\n{text}\n\n</details>"
            converted = convert_markdown(text, ctx, student=student)
            if TAG_HINT in t and not converted.lstrip().startswith("<details"):  # folded once: one click opens it
                converted = f"<details><summary>Hint</summary>\n\n{converted}\n\n</details>"
            if converted.strip():
                nb.cells.append(_clean(cell, converted))
            continue
        magic, body = split_magic(text) if cell["cell_type"] == "code" else ("", text)
        if cell["cell_type"] == "code" and TAG_SOLUTION in t:
            kept = kept_lines(body)
            following = cells[i + 1] if i + 1 < len(cells) else None
            if not any(CHECK_CALL.search(k) for k in kept) and not (
                    following is not None and TAG_CHECK in tags(following) and CHECK_CALL.search(
                        "".join(following["source"]))):
                raise NotebookError(f"cell {i} is tagged 'solution' but calls no check_*(...) and no 'check' cell "
                                    "follows it: add the exercise's check call")
            if student:
                answers |= defined_names(body)
                imports = [k for k in kept if not CHECK_CALL.search(k)]
                calls = "\n".join(k for k in kept if CHECK_CALL.search(k))
                if calls:
                    imports.append(guard(calls, [n for n in used_names(calls) if n in answers]).rstrip("\n"))
                answer = _clean(cell, with_magic(magic, "\n\n".join([ANSWER_HEADER, *imports]) + "\n"))
                answer["id"] = f"{cell.get('id', i)}-answer"[:64]
                answer["metadata"] = {"tags": ["answer"]}
                nb.cells.append(answer)
                continue
        if student and cell["cell_type"] == "code" and TAG_CHECK in t:
            text = with_magic(magic, guard(body, [n for n in used_names(body)
                                                  if n in answers and n not in defined_names(body)]))
        nb.cells.append(_clean(cell, text))
    return nb


# ------------------------------------------------------------------ the command


def chapters(folder: Path) -> list[Path]:
    """The chapter notebooks in ``folder`` (not the generated copies)."""
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def render(nb: Any) -> str:
    """A notebook as the text written to disk (deterministic, so CI can compare)."""
    return nbformat.writes(nb) + "\n"


LABEL = re.compile(r"^\((spec-[\w-]+)\)=\s*$", re.M)


def spec_pages(folder: Path) -> dict[str, str]:
    """Which page of the specification (``book/specification/*.md``) holds each ``spec-…`` label."""
    pages: dict[str, str] = {}
    for page in sorted(Path(folder).glob("*.md")):
        for label in LABEL.findall(page.read_text(encoding="utf-8")):
            pages[label] = page.name
    return pages


def build(folder: Path, bib: Path | None) -> dict[Path, str]:
    """Every generated file's path and text for the chapters in ``folder``."""
    if Path(folder).resolve().name in ("student", "instructor"):
        raise NotebookError(f"{folder} holds generated copies, and the copies would be written inside it "
                            f"({Path(folder) / 'student'}): pass the chapters' folder, e.g. --notebooks "
                            f"{Path(folder).parent}")
    ctx = Context(citations=load_citations(bib) if bib and bib.is_file() else {},
                  spec_pages=spec_pages(Path(bib).parent / "specification") if bib else {})
    sources = chapters(folder)
    if not sources:
        raise NotebookError(f"no chapter notebooks in {folder}: pass the folder with the chapters' .ipynb files")
    ctx.chapters = {p.stem for p in sources}
    out: dict[Path, str] = {}
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        for kind in ("student", "instructor"):
            try:
                out[folder / kind / path.name] = render(make_copy(nb, kind, ctx))
            except NotebookError as error:
                raise NotebookError(f"{path}: {error}") from None
    return out


def solution_leaks(source_nb: Any, student_nb: Any) -> list[str]:
    """Lines of the chapter's solutions found in a student copy (empty when there are none)."""
    secret: set[str] = set()
    for cell in source_nb.cells:
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if TAG_SOLUTION not in tags(cell):
            continue
        magic, body = split_magic(text) if cell["cell_type"] == "code" else ("", text)
        kept = "\n".join([magic, *kept_lines(body)]) if cell["cell_type"] == "code" else ""
        secret |= {line.strip() for line in text.split("\n") if len(line.strip()) >= 12 and line.strip() not in kept}
    for match in re.finditer(r"^(:::+|```+)\{solution\}[^\n]*\n(.*?)^\1\s*$",
                             "\n".join("".join(c["source"]) for c in source_nb.cells if c["cell_type"] == "markdown"),
                             re.M | re.S):
        secret |= {line.strip() for line in match[2].split("\n") if len(line.strip()) >= 12}
    open_text = "\n".join("".join(c["source"]) if not isinstance(c["source"], str) else c["source"]
                          for c in source_nb.cells if TAG_SOLUTION not in tags(c))
    open_text = re.sub(r"^(:::+|```+)\{solution\}.*?^\1\s*$", "", open_text, flags=re.M | re.S)
    secret = {s for s in secret if s not in open_text and not s.startswith(":")}
    leaks = []
    for cell in student_nb.cells:
        if TAG_SOLUTION in tags(cell):
            leaks.append("a cell tagged 'solution'")
        body = cell["source"]
        leaks += [line for line in secret if line in body]
        if "{solution}" in body or "<summary>Solution" in body:
            leaks.append("a solution block")
    return leaks


def check(folder: Path, bib: Path | None) -> list[str]:
    """Problems with the committed copies: out of date, missing, or a student copy holding a solution."""
    problems = []
    for path, text in build(folder, bib).items():
        if not path.is_file():
            problems.append(f"{path} is missing: run python -m darkness_visible.tools.make_notebooks")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path} is out of date: run python -m darkness_visible.tools.make_notebooks")
    for path in chapters(folder):
        student = folder / "student" / path.name
        if student.is_file():
            leaks = solution_leaks(nbformat.read(path, as_version=4), nbformat.read(student, as_version=4))
            if leaks:
                problems.append(f"{student} contains solutions: {sorted(set(leaks))[:3]}")
    return problems


def fill_answers(student_nb: Any, instructor_nb: Any) -> Any:
    """The student copy with each answer cell replaced by its solution (to test that it runs top to bottom)."""
    solutions = {c.get("id"): c["source"] for c in instructor_nb.cells}
    filled = nbformat.from_dict(dict(student_nb))
    for cell in filled.cells:
        if "answer" in tags(cell):
            sid = str(cell.get("id", "")).removesuffix("-answer")
            if sid not in solutions:
                raise NotebookError(f"answer cell {cell.get('id')} has no solution in the instructor copy: regenerate")
            cell["source"] = solutions[sid]
    return filled


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m darkness_visible.tools.make_notebooks",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="the chapters' folder")
    parser.add_argument("--bib", type=Path, default=None, help="the book's BibTeX file (default: "
                        "book/references.bib, if there is one)")
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a copy is stale or leaks")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.bib is not None and not args.bib.is_file():  # read as "no citations", it blamed the first {cite} key
        print(f"error: --bib {args.bib} is not a file: pass the book's BibTeX file, e.g. --bib book/references.bib",
              file=sys.stderr)
        return 2
    args.bib = Path("book/references.bib") if args.bib is None else args.bib
    try:
        if args.check:
            problems = check(args.notebooks, args.bib)
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"student/instructor notebooks: {'ok' if not problems else f'{len(problems)} problem(s)'}")
            return 1 if problems else 0
        written = build(args.notebooks, args.bib)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(written)} notebooks under {args.notebooks}/student and {args.notebooks}/instructor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
