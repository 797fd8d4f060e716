"""The package's shape: grouped by concern, no import cycles (function-level imports included), lower layers
never importing higher ones, and a public API that resolves."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import darkness_visible as dv

PKG = Path(dv.__file__).resolve().parent

#: Each concern's rank: a module may import only from its own rank or a lower one.
#: ``report`` (words, scorecard rows, tolerances) and ``plotting`` sit above the computations they describe and
#: draw (a row or a figure takes an analysis' result), and nothing that computes imports either.
RANK = {"errors": 0, "config": 1, "io": 2, "stats": 2, "data": 3, "models": 4, "tracing": 5,
        "discovery": 6, "lens": 6, "analysis": 7, "report": 7.2, "plotting": 7.5, "book": 8, "exercises": 9, "tools": 9,
        "cli": 10, "__main__": 11, "__init__": 12}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (function-level imports included)."""
    modules = {_module(f): f for f in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in modules and d not in (name, "darkness_visible")}
    return graph


def _concern(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_at_most_fifteen_modules_at_the_top_level():
    top = [p.name for p in PKG.glob("*.py")]
    assert len(top) <= 15, top
    assert not (PKG / "discovery.py").exists() and (PKG / "discovery" / "discover.py").exists()


def test_no_import_cycles():
    graph = import_graph()
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for dep in graph[node]:
            if seen.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in seen:
                visit(dep, [*path, dep])
        seen[node] = 2

    for node in graph:
        if node not in seen:
            visit(node, [node])


def test_lower_layers_never_import_higher_ones():
    bad = [f"{m} -> {d}" for m, deps in import_graph().items() for d in deps
           if RANK[_concern(d)] > RANK[_concern(m)]]
    assert not bad, bad


def _imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names


def test_only_plotting_draws():
    """Computation, rows and prose never import matplotlib or seaborn: every figure lives in ``plotting``
    (``book`` only glues a finished figure into the page, ``tools`` renders pages)."""
    drawing = {"matplotlib", "seaborn"}
    offenders = [str(f.relative_to(PKG)) for f in PKG.rglob("*.py")
                 if _concern(_module(f)) not in ("plotting", "book", "tools") and _imports_of(f) & drawing]
    assert not offenders, offenders


def test_the_chapters_draw_no_figure_inline():
    """A chapter calls a ``plotting`` function for each figure: no axes built, sized or styled in a cell."""
    import json
    import re

    inline = re.compile(r"plt\.subplots|figsize|plt\.figure\(|\bax\.set\(|sns\.(?!set_theme)\w+\(")
    found = {}
    for nb in sorted((PKG.parents[1] / "notebooks").glob("[0-9]*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and inline.search(source):
                found.setdefault(nb.name, []).append(inline.search(source).group(0))
    assert not found, found


def test_the_cycle_check_catches_a_cycle(tmp_path, monkeypatch):
    """The check above can fail: a planted two-module cycle is reported."""
    pkg = tmp_path / "darkness_visible"
    (pkg / "io").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "io" / "__init__.py").write_text("")
    (pkg / "io" / "a.py").write_text("def f():\n    from darkness_visible.io import b\n")
    (pkg / "io" / "b.py").write_text("from .a import f\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", pkg)
    graph = import_graph()
    assert "darkness_visible.io.b" in graph["darkness_visible.io.a"]
    assert "darkness_visible.io.a" in graph["darkness_visible.io.b"]
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_import_cycles()


def test_the_public_api_resolves_lazily():
    import subprocess

    code = ("import sys, darkness_visible as dv; assert 'torch' not in sys.modules; "
            "assert callable(dv.load_model) and callable(dv.harvest) and callable(dv.discover); "
            "assert dv.EXCEPTION_NEURON == 2123 and len(dv.CORE) == 5 and dv.FIRE_ABS.threshold == 0.1; "
            "import darkness_visible.analysis.tiers")
    subprocess.run([sys.executable, "-c", code], check=True)
    for name in dv.__all__:
        assert getattr(dv, name) is not None
    with pytest.raises(AttributeError):
        dv.no_such_name  # noqa: B018


def test_test_files_have_unique_names():
    """pytest's default import mode needs one basename per test file across the mirrored folders."""
    names = [p.name for p in Path(__file__).parent.rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_each_statistic_has_one_kernel():
    """A statistic computed in one place: the co-firing kernels and the consensus level are defined once, and no
    two modules define a public function of the same name (``scorecard_rows``, ``main`` and the per-chapter
    ``command``/``chapters`` entry points aside)."""
    import collections

    defined = collections.defaultdict(list)
    for f in PKG.rglob("*.py"):
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                defined[node.name].append(_module(f))
    for kernel in ("cofire_counts", "jaccard_matrix", "jaccard_with", "fisher_greater", "rate_enrichment",
                   "consensus_level"):
        assert len(defined[kernel]) == 1, (kernel, defined[kernel])
    allowed = {"scorecard_rows", "main", "command", "chapters", "check", "render", "fire_rates", "rate_by_level",
               "add_command", "run_command"}
    twice = {name: mods for name, mods in defined.items() if len(mods) > 1 and name not in allowed}
    assert not twice, twice


def test_no_function_over_eighty_lines():
    """Issue 22: a function a newcomer can read in one screen; longer ones are split into named steps."""
    long = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                long.append(f"{path.relative_to(PKG)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long, long
