"""The docs say what the code does: files named exist, every loss kind is listed, nothing points outside the repo."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "tfodkit"
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# A backquoted repo path: a file with one of these suffixes, or a folder (ending in "/"), possibly nested.
PATH_TOKEN = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.(?:py|md|toml)|(?:[\w.-]+/)+)`")
SNAKE = re.compile(r"[a-z][a-z0-9_]*")


# ------------------------------------------------------------------------------------------- paths named
def _named_paths(text: str) -> list[str]:
    """Backquoted paths in ``text``; ``formats/NAME.py`` (a placeholder in upper case) is not a path."""
    return sorted({name for name in PATH_TOKEN.findall(text) if not re.search(r"[A-Z]{3}", name)})


def _exists(name: str) -> bool:
    """A path is taken from the repo root, from ``src/tfodkit/`` (how docs/architecture.md names package files),
    or from ``src/tfodkit/formats/`` (a format module named after its folder)."""
    return any((base / name).exists() for base in (ROOT, PACKAGE, PACKAGE / "formats"))


def test_every_path_named_in_the_architecture_doc_exists() -> None:
    names = _named_paths(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(names) > 30, names  # the pattern still finds the paths
    missing = [name for name in names if not _exists(name)]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_the_path_check_can_fail() -> None:
    assert _named_paths("see `pipeline.py`, `formats/`, `docs/nowhere.md`, `formats/NAME.py`, `label_map.pbtxt`") == [
        "docs/nowhere.md",
        "formats/",
        "pipeline.py",
    ]
    assert _exists("pipeline.py") and _exists("formats/") and _exists("docs/formats.md")
    assert not _exists("docs/nowhere.md")


def test_readme_links_point_at_files_in_the_repo() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README.read_text(encoding="utf-8"))
    assert "docs/architecture.md" in links
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing, missing


# ------------------------------------------------------------------------------------------ standing alone
def _texts() -> list[Path]:
    files = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("*.py"))]
    files += sorted((ROOT / "bench").glob("*.py")) + sorted(PACKAGE.rglob("*.py"))
    return files


@pytest.mark.parametrize("pattern", ["../shared", "design §", "design.md", "design notes"])
def test_nothing_points_outside_the_repo(pattern: str) -> None:
    found = [str(path.relative_to(ROOT)) for path in _texts() if pattern in path.read_text(encoding="utf-8")]
    assert not found, f"{pattern!r} in {found}: the repo must stand alone"


# --------------------------------------------------------------------------------------------- loss kinds
def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` constants (``CLIPPED_KIND = "box_clipped"``)."""
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _kind_text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """A kind argument as text: a literal, a module constant, or an f-string with ``<name>`` for each hole."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                hole = value.value if isinstance(value, ast.FormattedValue) else value
                parts.append(f"<{ast.unparse(hole)}>")
        return "".join(parts)
    return None


def _call_name(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def loss_kinds_in(source: str, where: str) -> set[str]:
    """The loss kinds ``source`` reports: kind arguments of ``report_loss``, and of a tally's
    ``.add("kind", message, …)``. A kind passed through a parameter of the
    enclosing function, or a variable in losses.py (the plumbing), is the caller's; any other unknown kind fails
    the test."""
    tree = ast.parse(source)
    constants = _module_strings(tree)
    parameters: dict[ast.AST, set[str]] = {}  # call -> parameter names of the functions around it
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
            for node in ast.walk(function):
                parameters.setdefault(node, set()).update(names)
    kinds: set[str] = set()
    for call in [node for node in ast.walk(tree) if isinstance(node, ast.Call)]:
        name = _call_name(call)
        argument: ast.expr | None = None
        if name == "report_loss":
            keywords = {keyword.arg: keyword.value for keyword in call.keywords}
            argument = call.args[0] if call.args else keywords.get("kind")
            if argument is None:
                continue
        elif name == "add" and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant):
            argument = call.args[0]  # Tally.add(kind, message, count)
            if not (isinstance(argument.value, str) and SNAKE.fullmatch(argument.value)):
                continue
        else:
            continue
        if (
            isinstance(argument, ast.Name)
            and (argument.id in parameters.get(call, set()) or where.endswith("losses.py"))
            and argument.id not in constants
        ):
            continue  # passed through: the caller names the kind
        text = _kind_text(argument, constants)
        assert text is not None, f"{where}:{call.lineno}: cannot tell the loss kind {ast.unparse(argument)}"
        kinds.add(text)
    return kinds


def reported_loss_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        kinds |= loss_kinds_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return kinds


def _in_readme(kind: str, readme: str) -> bool:
    """``kind`` written in backquotes; a kind made from a name (``cvat_<kind>_skipped``) with any ``<hole>``."""
    pattern = re.sub(r"<[^>]*>", r"<\\w+>", re.escape(kind))
    return re.search(f"`{pattern}`", readme) is not None


def test_every_loss_kind_reported_in_src_is_in_the_readme() -> None:
    kinds = reported_loss_kinds()
    # the scan still finds kinds of each route: literal, module constant, f-string, tally
    assert {"unlabeled_object", "box_clipped", "cvat_<kind>_skipped", "polygon_not_exported", "rle_not_kept"} <= kinds
    readme = README.read_text(encoding="utf-8")
    losses = readme.split("## Losses", 1)[1].split("\n## ", 1)[0]
    missing = sorted(kind for kind in kinds if not _in_readme(kind, losses))
    assert not missing, f"loss kinds reported in src/ but not listed in the README's Losses section: {missing}"


def test_the_loss_kind_scan_can_fail() -> None:
    source = (
        'KIND = "from_constant"\n'
        "def reader(tally, kind):\n"
        '    report_loss("literal_kind", 1, "m")\n'
        "    report_loss(KIND, 1, 'm')\n"
        '    report_loss(f"cvat_{tag}_skipped", 1, "m")\n'
        "    report_loss(kind, 1, 'm')\n"
        '    tally.add("tallied_kind", "m", 2)\n'
        '    used.add("not a kind")\n'
    )
    assert loss_kinds_in(source, "x.py") == {
        "literal_kind",
        "from_constant",
        "cvat_<tag>_skipped",
        "tallied_kind",
    }
    with pytest.raises(AssertionError, match="cannot tell the loss kind"):
        loss_kinds_in("def f():\n    report_loss(compute(), 1, 'm')\n", "x.py")
    assert _in_readme("cvat_<kind>_skipped", "`cvat_<tag>_skipped`")
    assert not _in_readme("polygon_as_box", "polygon_as_box without backquotes")


# -------------------------------------------------------------------------------------------- benchmarks
def _run_all(monkeypatch: pytest.MonkeyPatch, results: Path) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("run_all_under_test", ROOT / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys.modules["results"], "RESULTS", results)
    return module


def test_bench_table_leaves_out_figures_with_no_saved_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run_all = _run_all(monkeypatch, tmp_path)
    bench = run_all.Bench("bench_masks.py", ".venv", {"P3": "masks", "P5": "workers"})
    assert run_all.saved_rows(bench) == []
    (tmp_path / "P3.json").write_text(
        json.dumps({"title": "", "result": "1.2 s", "target": "<= 0.125 of Datumaro", "met": True}), encoding="utf-8"
    )
    assert run_all.saved_rows(bench) == [("P3", "masks", "1.2 s", "<= 0.125 of Datumaro", "✓")]


def test_readme_bench_table_has_a_target_on_every_row() -> None:
    table = README.read_text(encoding="utf-8").split("<!-- bench:start -->", 1)[1].split("<!-- bench:end -->", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"\| [A-Z]\d ", line)]
    assert rows
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[3] and cells[4] in ("✓", "✗"), row


# ------------------------------------------------------------------------------------------------ demo
def test_the_demo_keeps_every_object_and_image(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "polygons not exported" not in done.stderr  # --masks polygons keeps them
    assert "cvat-tfrecord -> cvat: 6 images, 21 objects" in done.stdout
    assert "6/6 embedded images are byte-identical to the originals" in done.stdout
