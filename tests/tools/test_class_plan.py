"""The class plan in book/instructors.md is generated from the chapters' exercise metadata, and up to date."""

from pathlib import Path

import pytest

from darkness_visible.tools import class_plan as cp

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_class_plan_is_up_to_date():
    page = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    assert cp.updated(page, cp.chapters_in(ROOT / "notebooks")) == page, \
        "run python -m darkness_visible.tools.class_plan"
    assert cp.main(["--notebooks", str(ROOT / "notebooks"), "--page", str(ROOT / "book" / "instructors.md"),
                    "--check"]) == 0


def test_the_plan_names_every_exercise_with_its_minutes_and_links_the_copies():
    chapters = cp.chapters_in(ROOT / "notebooks")
    page = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    assert chapters["01_tracing"].read_minutes == 30 and chapters["04_knowledge_neurons"].exercise_minutes == 100
    for ch in chapters.values():
        for e in ch.exercises:
            assert f"{e.number} {cp._cell(e.title)}" in page
    assert "notebooks/student" in page and "notebooks/instructor" in page
    planned = {stem for session in cp.COURSE for stem, _ in session}
    assert planned == set(chapters), "every chapter is in the course"


@pytest.mark.parametrize("plan", [cp.TASTER, *cp.COURSE])
def test_no_session_is_longer_than_its_slot(plan):
    rows = cp._plan(cp.chapters_in(ROOT / "notebooks"), plan)
    assert sum(m for _, _, m in rows) <= cp.SESSION


def test_a_changed_exercise_time_makes_the_page_stale(tmp_path):
    import shutil

    for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"):
        shutil.copy(p, tmp_path / p.name)
    page = tmp_path / "instructors.md"
    shutil.copy(ROOT / "book" / "instructors.md", page)
    nb = tmp_path / "01_tracing.ipynb"
    nb.write_text(nb.read_text().replace("**Time** 30 min", "**Time** 35 min"))
    assert cp.main(["--notebooks", str(tmp_path), "--page", str(page), "--check"]) == 1
    assert cp.main(["--notebooks", str(tmp_path), "--page", str(page)]) == 0
    assert "20 + 35 + 10 = 65 min" in page.read_text()
