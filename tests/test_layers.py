"""The house's layers: imports point down only, and no module imports itself
back through another. Read from the source (every import, the lazy ones
inside functions too), so a new upward import fails here before it can
become a cycle at run time."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom first. A module belongs to the entry that names it or its package.
LAYERS = [
    ("maths and data", {"charrnn", "charrnn.config", "charrnn.settings", "charrnn.data",
                        "charrnn.model", "charrnn.bptt", "charrnn.generate", "charrnn.events",
                        "charrnn.threads", "charrnn.weights", "charrnn.i18n", "charrnn.options",
                        "charrnn.units", "charrnn.clipping", "charrnn.cliff"}),
    ("training", {"charrnn.train", "charrnn.spectrum", "charrnn.cuda_graph"}),
    ("runs and storage", {"charrnn.runs", "charrnn.worker", "charrnn.store", "charrnn.log",
                          "charrnn.export", "charrnn.results", "charrnn.memory",
                          "charrnn.checkpoint", "charrnn.sweep", "charrnn.__main__"}),
    ("figures", {"charrnn.figures", "charrnn.style", "charrnn.diagram"}),
    ("streamlit", {"charrnn.ui"}),
    ("pages", {"app", "pages"}),
]
# third-party packages a layer may not import: figures are pure (data in, a
# figure out), and only the Streamlit layer and the pages talk to Streamlit
FORBIDDEN = {
    "maths and data": {"streamlit", "plotly"},
    "training": {"streamlit", "plotly"},
    "runs and storage": {"streamlit", "plotly"},
    "figures": {"streamlit", "torch"},
}


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for charrnn, app.py and pages/."""
    files = {"app": root / "app.py"}
    for f in sorted((root / "charrnn").rglob("*.py")) + sorted((root / "pages").glob("*.py")):
        name = ".".join(f.relative_to(root).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = f
    return files


def imports_of(name: str, path: Path, known) -> set[str]:
    """The modules (of `known`) and top-level packages `name` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            # `from charrnn import ui` imports the module charrnn.ui
            subs = [f"{root}.{a.name}" for a in node.names if f"{root}.{a.name}" in known]
            targets = subs or [root]
        else:
            continue
        for t in targets:
            while t not in known and "." in t:
                t = t.rpartition(".")[0]
            if t != name:
                found.add(t)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    return {name: imports_of(name, f, files) for name, f in files.items()}


def layer_of(module: str) -> int | None:
    best = None
    for i, (_, names) in enumerate(LAYERS):
        for n in names:
            # the package root holds only itself: a new module must be placed
            if module == n or (n != "charrnn" and module.startswith(n + ".")):
                if best is None or len(n) > best[1]:
                    best = (i, len(n))
    return best[0] if best else None


def problems(graph: dict[str, set[str]]) -> list[str]:
    """Upward imports, forbidden packages, modules in no layer, and cycles."""
    out = []
    for mod, targets in sorted(graph.items()):
        here = layer_of(mod)
        if here is None:
            out.append(f"{mod} is in no layer: add it to LAYERS in tests/test_layers.py")
            continue
        name = LAYERS[here][0]
        for t in sorted(targets):
            if t in graph:
                there = layer_of(t)
                if there is not None and there > here:
                    out.append(f"{mod} ({name}) imports {t} ({LAYERS[there][0]}): upward")
                if name == "pages" and layer_of(t) == here:
                    out.append(f"{mod} imports {t}: pages and app.py import only the layers below")
            elif t.split(".")[0] in FORBIDDEN.get(name, ()):
                out.append(f"{mod} ({name}) imports {t}")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), except a package with
    its own submodules (its __init__ importing them is no cycle of files)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph or v.startswith(w + "."):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_imports_point_down_and_never_round():
    assert problems(import_graph()) == []


def test_the_check_sees_an_upward_import_a_lazy_one_and_a_cycle(tmp_path):
    """The same check on a copy of the tree with three faults put in."""
    graph = import_graph()
    assert "charrnn.events" in graph["charrnn.train"]   # it reads what is there
    for rel in ["app.py", "charrnn/model.py", "charrnn/store.py", "charrnn/log.py",
                "charrnn/figures/__init__.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((ROOT / rel).read_text("utf-8"))
    (tmp_path / "pages").mkdir()
    with open(tmp_path / "charrnn/model.py", "a") as f:   # maths reaching up into the runs
        f.write("\n\ndef _late():\n    from .store import save_log\n")
    with open(tmp_path / "charrnn/log.py", "a") as f:     # log <-> store
        f.write("\nfrom . import store\n")
    with open(tmp_path / "charrnn/figures/__init__.py", "a") as f:
        f.write("\nimport streamlit\n")
    found = problems(import_graph(tmp_path))
    assert any("charrnn.model (maths and data) imports charrnn.store" in p for p in found)
    assert any("charrnn.figures (figures) imports streamlit" in p for p in found)
    assert any(p.startswith("import cycle") and "charrnn.log" in p and "charrnn.store" in p
               for p in found)
