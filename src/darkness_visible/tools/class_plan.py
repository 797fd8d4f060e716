"""The class plan of ``book/instructors.md``, generated from the chapters' own exercise metadata.

``python -m darkness_visible.tools.class_plan`` reads every chapter's exercises (the ``exercise``-tagged
markdown cells: "### Exercise N.M · Title" and "**Time** about N min") and its "**Time:** about N minutes to
read and run", and rewrites the text between ``<!-- class-plan:start -->`` and ``<!-- class-plan:end -->``
in ``book/instructors.md``: the per-chapter table (walk-through, exercises with their minutes, total, links to
the student and instructor notebooks) and the session plans, whose minutes are added up here, never by hand.
``--check`` writes nothing and fails when the page is out of date (the test suite runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

START, END = "<!-- class-plan:start -->", "<!-- class-plan:end -->"
REPO = "https://github.com/darkness-visible/darkness-visible/blob/main"
SESSION = 90
TITLE = re.compile(r"^#+\s*Exercise\s+(\d+\.\d+)\s*·\s*(.+?)\s*$", re.M)
MINUTES = re.compile(r"\*\*Time\*\*\s*(?:about\s*)?(\d+)\s*min")
READ = re.compile(r"\*\*Time:\*\*\s*about\s*(\d+)\s*min(?:utes)?\s+to\s+read", re.S)

#: The six-session course: per session, the chapters and the exercises done in class (the rest are homework).
COURSE: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...] = (
    (("01_tracing", ("1.1", "1.2", "1.3")),),
    (("02_exception_handler", ("2.1", "2.2", "2.3")),),
    (("03_consensus_crossover", ("3.1", "3.2", "3.3")),),
    (("04_knowledge_neurons", ("4.2", "4.4")),),
    (("05_garden_path", ("5.1", "5.2", "5.3")),),
    (("06_crystallization", ("6.1", "6.2")), ("99_scorecard", ())),
)
#: The 90-minute taster: two chapters, one short exercise each.
TASTER: tuple[tuple[str, tuple[str, ...]], ...] = (("01_tracing", ("1.3",)), ("03_consensus_crossover", ("3.1",)))


@dataclass(frozen=True)
class Exercise:
    number: str
    title: str
    minutes: int


@dataclass(frozen=True)
class Chapter:
    stem: str
    read_minutes: int
    exercises: tuple[Exercise, ...]

    @property
    def exercise_minutes(self) -> int:
        return sum(e.minutes for e in self.exercises)

    def exercise(self, number: str) -> Exercise:
        return next(e for e in self.exercises if e.number == number)


def read_chapter(path: Path) -> Chapter:
    """A chapter's walk-through time and exercises, from its cells."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    read = READ.search(text)
    exercises = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "exercise" in cell.metadata.get("tags", []):
            title, minutes = TITLE.search(cell.source), MINUTES.search(cell.source)
            if not (title and minutes):
                raise ValueError(f"{path.name}: an exercise cell without '### Exercise N.M · Title' and "
                                 f"'**Time** N min': {cell.source[:60]!r}")
            exercises.append(Exercise(title[1], title[2], int(minutes[1])))
    return Chapter(path.stem, int(read[1]) if read else 10, tuple(sorted(exercises, key=lambda e: e.number)))


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|")


def _links(stem: str) -> str:
    return (f"[student]({REPO}/notebooks/student/{stem}.ipynb) · "
            f"[instructor]({REPO}/notebooks/instructor/{stem}.ipynb)")


def _plan(chapters: dict[str, Chapter], plan: Iterable[tuple[str, tuple[str, ...]]]) -> list[tuple[str, str, int]]:
    rows = []
    for stem, numbers in plan:
        ch = chapters[stem]
        done = [ch.exercise(n) for n in numbers]
        rest = [e for e in ch.exercises if e.number not in numbers]
        what = "; ".join(f"{e.number} {_cell(e.title)} ({e.minutes} min)" for e in done)
        if rest:
            what += "; homework: " + ", ".join(f"{e.number} ({e.minutes} min)" for e in rest)
        rows.append((stem, what, ch.read_minutes + sum(e.minutes for e in done)))
    return rows


def render(chapters: dict[str, Chapter]) -> str:
    """The generated part of the page."""
    out = ["| chapter | read and run | exercises (their estimates) | total | notebooks |", "|---|---|---|---|---|"]
    for ch in chapters.values():
        ex = " + ".join(str(e.minutes) for e in ch.exercises)
        names = "; ".join(f"{e.number} {_cell(e.title)}" for e in ch.exercises)
        ex_cell = f"{names}: {ex} = {ch.exercise_minutes} min" if ch.exercises else "none"
        out.append(f"| {{doc}}`../notebooks/{ch.stem}` | {ch.read_minutes} min | {ex_cell} | "
                   f"{ch.read_minutes + ch.exercise_minutes} min | {_links(ch.stem)} |")
    out += ["", f"### One {SESSION}-minute session (a taster)", "",
            "| chapter | in class | minutes |", "|---|---|---|"]
    taster = _plan(chapters, TASTER)
    out += [f"| {{doc}}`../notebooks/{s}` | {w} | {m} |" for s, w, m in taster]
    out += [f"| total | | {sum(m for _, _, m in taster)} |", "",
            f"### A course of {len(COURSE)} {SESSION}-minute sessions", "",
            "| session | chapters | in class (read and run, then these exercises) | minutes |", "|---|---|---|---|"]
    for i, session in enumerate(COURSE, 1):
        rows = _plan(chapters, session)
        where = ", ".join(f"{{doc}}`../notebooks/{stem}`" for stem, _, _ in rows)
        what = " / ".join(w or "the scorecard" for _, w, _ in rows)
        sums = " + ".join(str(m) for _, _, m in rows)
        total = sum(m for _, _, m in rows)
        out.append(f"| {i} | {where} | {what} | {sums + ' = ' if len(rows) > 1 else ''}{total} |")
    return "\n".join(out)


def chapters_in(folder: Path) -> dict[str, Chapter]:
    return {p.stem: read_chapter(p) for p in sorted(folder.glob("[0-9]*.ipynb"))}


def updated(page: str, chapters: dict[str, Chapter]) -> str:
    """``page`` with its class-plan block regenerated."""
    if START not in page or END not in page:
        raise ValueError(f"the page has no {START} ... {END} block")
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render(chapters)}\n{END}{tail}"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m darkness_visible.tools.class_plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    parser.add_argument("--page", type=Path, default=Path("book/instructors.md"))
    parser.add_argument("--check", action="store_true", help="write nothing; fail if the page is out of date")
    args = parser.parse_args(list(argv) if argv is not None else None)
    page = args.page.read_text(encoding="utf-8")
    new = updated(page, chapters_in(args.notebooks))
    if args.check:
        if new != page:
            print(f"{args.page} is out of date: run python -m darkness_visible.tools.class_plan", file=sys.stderr)
            return 1
        print("class plan: ok")
        return 0
    args.page.write_text(new, encoding="utf-8")
    print(f"wrote the class plan in {args.page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
